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
 * The token's core is the last one the process may use: core 0 is where
 * many systems send device interrupts. With fewer than two cores, or when
 * the kernel refuses, nothing is moved: the same work, in turns.
 */
#ifndef MR_CPUS_H
#define MR_CPUS_H

/* The calling thread moves to the token's core, or to the others (once:
 * entering again where it already is does nothing). The split is taken
 * once per process, from the cores it may use then. */
void mr_cpus_enter_token(void);
void mr_cpus_enter_rest(void);

#endif
