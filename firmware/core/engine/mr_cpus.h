/*
 * Where the batch's threads run. The token's signing is the limit of a
 * batch; everything else (the CSR checks, the read-back, the records, the
 * answers) is meant to run beside it. Left to the scheduler, those threads
 * share the token's core in turns: the token's thread waits in the run
 * queue in the middle of a signature (about 0.1 ms of each 0.7 ms one on a
 * two-core machine) and moves between cores. So the token's thread gets
 * one of the process's cores to itself and every other thread of the
 * batch the others (docs/performance.md measures it).
 *
 * The token's core is the one that has served the fewest device
 * interrupts (/proc/interrupts): a batch's own writes make the disk
 * interrupt its core at every sync, and the handler and the completion
 * work run there, in the middle of a signature. Where that cannot be read,
 * or on a tie, it is the last core the process may use. With fewer than
 * two cores, or when the kernel refuses, nothing is moved: the same work,
 * in turns.
 */
#ifndef MR_CPUS_H
#define MR_CPUS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* cpu_set_t */
#endif
#include <sched.h>
#include <stdio.h>

/* The calling thread moves to the token's core, or to the others (once:
 * entering again where it already is does nothing). The split is taken
 * once per process, from the cores it may use then. */
void mr_cpus_enter_token(void);
void mr_cpus_enter_rest(void);

/* Of the cores in allowed, the one with the fewest device interrupts in
 * f, a text in the format of /proc/interrupts (a header of CPUn columns,
 * then a line an interrupt; only the numbered ones, the devices', count);
 * the last such core on a tie. -1 when f has no header, or no column is
 * an allowed core. */
int mr_cpus_quietest(FILE *f, const cpu_set_t *allowed);

#endif
