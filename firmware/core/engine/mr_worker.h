/*
 * A thread that lives as long as the process and runs one job at a time
 * for it. The engine keeps two (issue.c): the token's signing thread and
 * the read-back thread. Kept, not made per window, because what a thread
 * builds stays with it: wolfSSL's point tables and RNG are per thread, and
 * a new thread would build them again for every window.
 *
 * The thread carries the worker's name (in ps -L and /proc/PID/task) and
 * runs `at_start` first (where it runs: mr_cpus.h).
 *
 * Signals stay with the thread that posts: the worker starts with all of
 * them blocked. A forked child has no worker (post starts one of its own
 * if it needs it). At exit the worker ends, calling `at_end` on its own
 * thread first (to free what it built), unless a job is still running.
 */
#ifndef MR_WORKER_H
#define MR_WORKER_H

#include <pthread.h>
#include <sys/types.h>

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int state;              /* 0 not started, 1 running, -1 cannot start */
	pid_t pid;              /* the process that started it */
	void (*fn)(void *);     /* the job; NULL: idle */
	void *arg;
	int quit;
	void (*at_end)(void);
	const char *name;       /* at most 15 characters */
	void (*at_start)(void); /* or NULL */
	/* The job queued behind fn (mr_worker_queue), run the moment fn
	 * ends; jobs are numbered in the order they were handed over. */
	void (*next_fn)(void *);
	void *next_arg;
	unsigned long handed, finished;
} mr_worker;

#define MR_WORKER_INIT(name, at_start, at_end) \
	{ PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, NULL, 0, (at_end), \
	  (name), (at_start), NULL, NULL, 0, 0 }

/* Hands the worker fn(arg), after its job before, and returns at once: 0.
 * -1 when no thread can run (the caller runs fn itself). */
int mr_worker_post(mr_worker *w, void (*fn)(void *), void *arg);

/*
 * Hands the worker fn(arg) to run as soon as its job under way ends (at
 * once when it has none), and returns at once with the job's number; it
 * waits only while another job is queued already. 0 when no thread can
 * run (the caller runs fn itself). The thread goes from one job to the
 * next without waiting for the caller to come back.
 */
unsigned long mr_worker_queue(mr_worker *w, void (*fn)(void *), void *arg);
/* 1 once job number `job` of mr_worker_queue has ended. */
int mr_worker_job_done(mr_worker *w, unsigned long job);
/* Returns when job number `job` has ended (the next may be running). */
void mr_worker_wait_job(mr_worker *w, unsigned long job);

/* 1 while the worker runs a job (or has one waiting). */
int mr_worker_busy(mr_worker *w);

/* Returns when the worker has no job. */
void mr_worker_wait(mr_worker *w);

#endif
