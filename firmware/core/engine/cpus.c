#define _GNU_SOURCE /* sched_setaffinity, cpu_set_t */
#include <ctype.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_cpus.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cpu_set_t token_set, rest_set;
static int split; /* 1 once both sets hold a core */

/* The header's columns: the core of each, in order. Returns how many. */
static size_t
header_columns(const char *line, int *core, size_t cap)
{
	size_t n = 0;
	const char *p = line;

	while (n < cap && (p = strstr(p, "CPU")) != NULL) {
		char *end;
		long c = strtol(p + 3, &end, 10);
		if (end == p + 3 || c < 0 || c >= CPU_SETSIZE)
			break;
		core[n++] = (int)c;
		p = end;
	}
	return n;
}

/* A device's line ("  36:  0  117650  PCI-MSIX ..."): its count on each
 * column added to sum. Other lines (NMI, LOC, the totals) are left. */
static void
add_device_line(const char *line, unsigned long long *sum, size_t ncol)
{
	const char *p = line;
	char *end;

	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != ':')
		return;
	for (size_t i = 0; i < ncol; i++) {
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			return; /* fewer columns than the header (a short line) */
		sum[i] += v;
		p = end;
	}
}

int
mr_cpus_quietest(FILE *f, const cpu_set_t *allowed)
{
	int *core = calloc(CPU_SETSIZE, sizeof(*core));
	unsigned long long *sum = calloc(CPU_SETSIZE, sizeof(*sum));
	char *line = NULL;
	size_t cap = 0, ncol = 0;
	int best = -1, quiet;

	if (core != NULL && sum != NULL && getline(&line, &cap, f) > 0)
		ncol = header_columns(line, core, CPU_SETSIZE);
	while (ncol > 0 && getline(&line, &cap, f) > 0)
		add_device_line(line, sum, ncol);
	free(line);
	for (size_t i = 0; i < ncol; i++) {
		if (!CPU_ISSET((size_t)core[i], allowed))
			continue;
		if (best < 0 || sum[i] <= sum[best])
			best = (int)i;
	}
	quiet = best < 0 ? -1 : core[best];
	free(core);
	free(sum);
	return quiet;
}

static void
take_split(void)
{
	cpu_set_t allowed;
	size_t token = 0;
	int quiet = -1;
	FILE *f;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2)
		return;
	for (size_t c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			token = c; /* the last, unless the interrupts say better */
	if ((f = fopen("/proc/interrupts", "re")) != NULL) {
		quiet = mr_cpus_quietest(f, &allowed);
		fclose(f);
	}
	if (quiet >= 0)
		token = (size_t)quiet;
	CPU_ZERO(&token_set);
	CPU_SET(token, &token_set);
	rest_set = allowed;
	CPU_CLR(token, &rest_set);
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
