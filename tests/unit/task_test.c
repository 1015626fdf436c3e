/*
 * mr_task (firmware/core/state/task.c): a job begun on its own thread is
 * there once taken; one that could not start runs in line when taken, and
 * not at all when dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mr_task.h"

static void
count(void *arg)
{
	(*(int *)arg)++;
}

static void
test_end_takes_the_thread(void **state)
{
	mr_task t = { 0 };
	int runs = 0;

	(void)state;
	assert_false(mr_task_pending(&t));
	mr_task_begin(&t, count, &runs);
	assert_true(mr_task_pending(&t));
	mr_task_end(&t);
	assert_int_equal(runs, 1);
	assert_false(mr_task_pending(&t));
}

static void
test_drop_waits_for_the_thread(void **state)
{
	mr_task t = { 0 };
	int runs = 0;

	(void)state;
	mr_task_begin(&t, count, &runs);
	assert_int_equal(mr_task_drop(&t), 1);
	assert_int_equal(runs, 1);
	assert_false(mr_task_pending(&t));
	/* Nothing begun: nothing to drop. */
	assert_int_equal(mr_task_drop(&t), 0);
}

/* As mr_task_begin leaves a job no thread could start (state 2). */
static void
test_without_a_thread(void **state)
{
	int runs = 0;
	mr_task t = { .state = 2, .fn = count, .arg = &runs };

	(void)state;
	assert_true(mr_task_pending(&t));
	mr_task_end(&t);
	assert_int_equal(runs, 1);
	t = (mr_task){ .state = 2, .fn = count, .arg = &runs };
	assert_int_equal(mr_task_drop(&t), 0);
	assert_int_equal(runs, 1);
	assert_false(mr_task_pending(&t));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_takes_the_thread),
		cmocka_unit_test(test_drop_waits_for_the_thread),
		cmocka_unit_test(test_without_a_thread),
	};

	return cmocka_run_group_tests_name("task", tests, NULL, NULL);
}
