#define _GNU_SOURCE /* pthread_setname_np */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "mr_worker.h"

static void *
worker_main(void *arg)
{
	mr_worker *w = arg;

	(void)pthread_setname_np(pthread_self(), w->name);
	if (w->at_start != NULL)
		w->at_start();
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->fn == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->fn == NULL)
			break;
		void (*fn)(void *) = w->fn;
		void *job = w->arg;
		pthread_mutex_unlock(&w->mu);
		fn(job);
		pthread_mutex_lock(&w->mu);
		w->finished++;
		w->fn = w->next_fn;
		w->arg = w->next_arg;
		w->next_fn = NULL;
		w->next_arg = NULL;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (w->at_end != NULL)
		w->at_end();
	return NULL;
}

static void
stop(mr_worker *w)
{
	if (w->state != 1 || w->pid != getpid())
		return;
	pthread_mutex_lock(&w->mu);
	if (w->fn != NULL) {
		/* exit() in the middle of a job: it may wait for what never
		 * comes; what the thread built goes with the process. */
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	w->state = 0;
}

/* At exit of the process that started them (a forked child has no such
 * threads): each worker ends, the last started first. */
static mr_worker *started[4];
static size_t n_started;
static pid_t registered;

static void
stop_all(void)
{
	while (n_started > 0)
		stop(started[--n_started]);
}

/* Without the handler what the threads built simply goes with the process. */
static void
remember(mr_worker *w)
{
	if (registered != getpid()) {
		n_started = 0; /* a forked child's list is its parent's */
		if (atexit(stop_all) != 0)
			return;
		registered = getpid();
	}
	for (size_t i = 0; i < n_started; i++)
		if (started[i] == w)
			return;
	if (n_started < sizeof(started) / sizeof(started[0]))
		started[n_started++] = w;
}

static int
start(mr_worker *w)
{
	/* A forked child inherits the state, not the thread. */
	if (w->state == 1 && w->pid != getpid())
		w->state = 0;
	if (w->state == 0) {
		sigset_t all, old;
		w->pid = getpid();
		w->fn = NULL;
		w->next_fn = NULL;
		w->handed = w->finished = 0;
		w->quit = 0;
		/* Signals (Ctrl-C, SIGTERM) stay the caller's. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		w->state = pthread_create(&w->th, NULL, worker_main, w) == 0 ? 1 : -1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (w->state == 1)
			remember(w);
	}
	return w->state == 1 ? 0 : -1;
}

int
mr_worker_post(mr_worker *w, void (*fn)(void *), void *arg)
{
	if (start(w) != 0)
		return -1;
	pthread_mutex_lock(&w->mu);
	while (w->fn != NULL)
		pthread_cond_wait(&w->cv, &w->mu);
	w->fn = fn;
	w->arg = arg;
	w->handed++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

unsigned long
mr_worker_queue(mr_worker *w, void (*fn)(void *), void *arg)
{
	unsigned long job;

	if (start(w) != 0)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (w->next_fn != NULL)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->fn == NULL) {
		w->fn = fn;
		w->arg = arg;
	} else {
		w->next_fn = fn;
		w->next_arg = arg;
	}
	job = ++w->handed;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return job;
}

int
mr_worker_job_done(mr_worker *w, unsigned long job)
{
	int done;

	if (w->state != 1 || w->pid != getpid())
		return 1;
	pthread_mutex_lock(&w->mu);
	done = w->finished >= job;
	pthread_mutex_unlock(&w->mu);
	return done;
}

void
mr_worker_wait_job(mr_worker *w, unsigned long job)
{
	if (w->state != 1 || w->pid != getpid())
		return;
	pthread_mutex_lock(&w->mu);
	while (w->finished < job)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

int
mr_worker_busy(mr_worker *w)
{
	int busy;

	if (w->state != 1 || w->pid != getpid())
		return 0;
	pthread_mutex_lock(&w->mu);
	busy = w->fn != NULL;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

void
mr_worker_wait(mr_worker *w)
{
	if (w->state != 1 || w->pid != getpid())
		return;
	pthread_mutex_lock(&w->mu);
	while (w->fn != NULL)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}
