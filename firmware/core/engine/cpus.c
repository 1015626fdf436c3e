#define _GNU_SOURCE /* sched_setaffinity, cpu_set_t */
#include <pthread.h>
#include <sched.h>

#include "mr_cpus.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cpu_set_t token_set, rest_set;
static int split; /* 1 once both sets hold a core */

static void
take_split(void)
{
	cpu_set_t allowed;
	size_t last = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2)
		return;
	for (size_t c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			last = c;
	CPU_ZERO(&token_set);
	CPU_SET(last, &token_set);
	rest_set = allowed;
	CPU_CLR(last, &rest_set);
	split = 1;
}

static __thread const cpu_set_t *entered; /* the calling thread's set */

static void
enter(const cpu_set_t *set)
{
	if (entered == set)
		return; /* a caller that enters once per window costs nothing */
	entered = set;
	pthread_once(&once, take_split);
	/* A refusal (a cpuset changed under us) leaves the thread where it
	 * was: slower, the same work. */
	if (split)
		(void)sched_setaffinity(0, sizeof(*set), set);
}

void
mr_cpus_enter_token(void)
{
	enter(&token_set);
}

void
mr_cpus_enter_rest(void)
{
	enter(&rest_set);
}
