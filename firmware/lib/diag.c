#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mr_diag.h"
#include "mr_err.h"

void
mr_diag_clear(mr_diag *d)
{
	if (d != NULL)
		d->msg[0] = '\0';
}

int
mr_diag_set(mr_diag *d, int err, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL || d->msg[0] != '\0')
		return err;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return err;
}

void
mr_diag_prefix(mr_diag *d, const char *fmt, ...)
{
	char prefix[128];
	char old[sizeof(d->msg)];
	va_list ap;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, d->msg, sizeof(old));
	if (old[0] == '\0')
		snprintf(d->msg, sizeof(d->msg), "%s", prefix);
	else if (snprintf(d->msg, sizeof(d->msg), "%s: %s", prefix, old) < 0)
		d->msg[0] = '\0';
}

const char *
mr_diag_text(const mr_diag *d, int err)
{
	if (d != NULL && d->msg[0] != '\0')
		return d->msg;
	return mr_strerror(err);
}
