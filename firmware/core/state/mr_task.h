/*
 * One job on a thread of its own, begun early and taken later (task.c):
 * the start loads independent parts side by side (the token's opening,
 * the database, the audit log's tree). Where no thread can be made, the
 * job runs in line when it is taken, so the caller sees the same results
 * either way, only later.
 */
#ifndef MR_TASK_H
#define MR_TASK_H

#include <pthread.h>

typedef struct {
	pthread_t th;
	int state;              /* 0 nothing begun, 1 on its thread, 2 to run in line */
	void (*fn)(void *);
	void *arg;
} mr_task;

/* Starts fn(arg) on a thread (or keeps it for mr_task_end to run). */
void mr_task_begin(mr_task *t, void (*fn)(void *), void *arg);
/* 1 from mr_task_begin until mr_task_end or mr_task_drop. */
int mr_task_pending(const mr_task *t);
/* Waits for the job, or runs it now if it never started. */
void mr_task_end(mr_task *t);
/* Waits for the job if it is on its thread; one that never started is
 * not run. 1 when the job ran (its results are there to free). */
int mr_task_drop(mr_task *t);

#endif
