#include "mr_err.h"
#include "mr_exit.h"
#include "mr_exitcode.h"

int
mr_exit_code(int err)
{
	int rc = MR_EXIT_FAIL;

	switch (err) {
	case MR_OK: rc = MR_EXIT_OK; break;
	case MR_E_IN_USE: rc = MR_EXIT_IN_USE; break;
	case MR_E_PIN:
	case MR_E_TOKEN:
	case MR_E_KEY_MISMATCH: rc = MR_EXIT_TOKEN; break;
	case MR_E_MEDIA:
	case MR_E_ARG: rc = MR_EXIT_INPUT; break;
	default: break;
	}
	return rc;
}
