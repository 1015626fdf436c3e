/*
 * mr_worker (firmware/core/engine/worker.c): a job queued behind the one
 * under way runs the moment that one ends, on the worker's own initiative,
 * and each job's number says when it is done.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mr_worker.h"

static mr_worker worker = MR_WORKER_INIT("mr-test", NULL, NULL);

/* A job that runs until its gate opens, then notes its place. */
typedef struct {
	atomic_int gate_open;
	atomic_int started;
	int place;
} gated;

static atomic_int order;

static void
gated_job(void *arg)
{
	gated *g = arg;

	atomic_store(&g->started, 1);
	while (!atomic_load(&g->gate_open))
		usleep(200);
	g->place = atomic_fetch_add(&order, 1) + 1;
}

static void
init_gated(gated *g, int open)
{
	atomic_init(&g->gate_open, open);
	atomic_init(&g->started, 0);
	g->place = 0;
}

/* Two jobs, their gates open or shut, the order counted from 1 again. */
static void
init_pair(gated *a, int a_open, gated *b, int b_open)
{
	atomic_store(&order, 0);
	init_gated(a, a_open);
	init_gated(b, b_open);
}

/* Polls done(job) for up to 10 s: 1 once it is, 0 if never. */
static int
becomes_done(unsigned long job)
{
	for (int i = 0; i < 50000; i++) {
		if (mr_worker_job_done(&worker, job))
			return 1;
		usleep(200);
	}
	return 0;
}

static void
test_queue_runs_next_without_the_caller(void **state)
{
	gated a, b;
	unsigned long ja, jb;

	(void)state;
	init_pair(&a, 0, &b, 1);
	ja = mr_worker_queue(&worker, gated_job, &a);
	assert_true(ja > 0);
	while (!atomic_load(&a.started))
		usleep(200);
	/* Queued while a runs: returns at once, a number after a's. */
	jb = mr_worker_queue(&worker, gated_job, &b);
	assert_int_equal(jb, ja + 1);
	assert_false(mr_worker_job_done(&worker, ja));
	assert_false(mr_worker_job_done(&worker, jb));
	assert_true(mr_worker_busy(&worker));
	/* a ends; b runs with nothing more asked of the worker. */
	atomic_store(&a.gate_open, 1);
	assert_true(becomes_done(jb));
	assert_true(mr_worker_job_done(&worker, ja));
	assert_int_equal(a.place, 1);
	assert_int_equal(b.place, 2);
	mr_worker_wait(&worker);
	assert_false(mr_worker_busy(&worker));
}

static void
test_wait_job_returns_while_the_next_runs(void **state)
{
	gated a, b;
	unsigned long ja, jb;

	(void)state;
	init_pair(&a, 1, &b, 0);
	ja = mr_worker_queue(&worker, gated_job, &a);
	jb = mr_worker_queue(&worker, gated_job, &b);
	/* a's end is waited for while b still runs (its gate is shut). */
	mr_worker_wait_job(&worker, ja);
	assert_int_equal(a.place, 1);
	assert_false(mr_worker_job_done(&worker, jb));
	atomic_store(&b.gate_open, 1);
	mr_worker_wait_job(&worker, jb);
	assert_int_equal(b.place, 2);
}

/* A job handed over with mr_worker_post counts in the same numbering. */
static void
test_post_and_queue_share_numbers(void **state)
{
	gated a, b;
	unsigned long jb;

	(void)state;
	init_pair(&a, 1, &b, 1);
	assert_int_equal(mr_worker_post(&worker, gated_job, &a), 0);
	jb = mr_worker_queue(&worker, gated_job, &b);
	mr_worker_wait_job(&worker, jb);
	assert_int_equal(a.place, 1);
	assert_int_equal(b.place, 2);
	assert_true(mr_worker_job_done(&worker, jb - 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_runs_next_without_the_caller),
		cmocka_unit_test(test_wait_job_returns_while_the_next_runs),
		cmocka_unit_test(test_post_and_queue_share_numbers),
	};

	return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
