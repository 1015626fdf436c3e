/*
 * The token opened while the state dir loads (mr_app_token_open_early).
 *
 * Opening a PKCS#11 module is dlopen, C_Initialize and a search of its
 * slots: SoftHSM2 loads libcrypto and reads its token files, about 11 ms
 * of CPU. Loading the state (the root's parse and self-check, the audit
 * log, the database) needs none of it, so a batch's first signature need
 * not wait for both one after the other. The thread only opens; what
 * depends on the state (the PIN gate, the login and its audit record)
 * stays with the caller.
 */
#include <stdlib.h>

#include "mr_app.h"
#include "mr_task.h"

struct mr_app_early {
	mr_task task;
	/* Taken on the caller's thread before the thread starts: the app is
	 * not read from two threads. */
	const char *module, *module_args, *selector;
	mr_token *tok;
	int r;
	mr_diag d;
};

static void
open_token(void *arg)
{
	struct mr_app_early *e = arg;

	mr_diag_clear(&e->d);
	e->r = mr_token_open_args(&e->tok, e->module, e->module_args, e->selector, &e->d);
}

void
mr_app_token_open_early(mr_app *app)
{
	struct mr_app_early *e;

	if (app->tok != NULL || app->early != NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->module = app->module;
	e->module_args = mr_app_module_args(app);
	e->selector = app->token;
	/* Without a thread, mr_app_token_open opens it in line. */
	mr_task_begin(&e->task, open_token, e);
	app->early = e;
}

int
mr_app_token_early_join(mr_app *app, mr_diag *d)
{
	struct mr_app_early *e = app->early;
	int r;

	if (e == NULL)
		return mr_diag_set(d, MR_E_INTERNAL, "no token opening was begun");
	mr_task_end(&e->task);
	app->early = NULL;
	app->tok = e->tok;
	r = e->r;
	if (r != MR_OK && d != NULL)
		*d = e->d;
	free(e);
	return r;
}

void
mr_app_token_early_drop(mr_app *app)
{
	struct mr_app_early *e = app->early;

	if (e == NULL)
		return;
	(void)mr_task_drop(&e->task); /* e->tok stays NULL if it never ran */
	app->early = NULL;
	mr_token_close(e->tok);
	free(e);
}
