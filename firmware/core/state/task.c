#include "mr_task.h"

static void *
task_main(void *arg)
{
	mr_task *t = arg;

	t->fn(t->arg);
	return NULL;
}

void
mr_task_begin(mr_task *t, void (*fn)(void *), void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->state = pthread_create(&t->th, NULL, task_main, t) == 0 ? 1 : 2;
}

int
mr_task_pending(const mr_task *t)
{
	return t->state != 0;
}

void
mr_task_end(mr_task *t)
{
	if (t->state == 1)
		pthread_join(t->th, NULL);
	else if (t->state == 2)
		t->fn(t->arg);
	t->state = 0;
}

int
mr_task_drop(mr_task *t)
{
	int ran = t->state == 1;

	if (ran)
		pthread_join(t->th, NULL);
	t->state = 0;
	return ran;
}
