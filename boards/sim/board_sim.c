/*
 * The sim board: the appliance as a host process. Its console is the
 * terminal (boards/common/console_tty.c) and its approve button a key on
 * that console.
 */
#include <string.h>

#include "board_api.h"

const char *
board_name(void)
{
	return "sim";
}

/* The sim board's approve button is a key on its console: Enter, 'a' or
 * 'y' presses it; 'r' or 'n' is the refuse button. Anything else is
 * ignored. */
int
board_button_read(void)
{
	return 0;
}

int
board_button_wait(int timeout_ms)
{
	char line[16];
	int n;

	if (board_console_wait(timeout_ms) == 0)
		return 0;
	n = board_console_read_line(line, sizeof(line));
	if (n == -1)
		return -1;
	if (n < 0)
		return 0;
	if (n == 0 || strcmp(line, "a") == 0 || strcmp(line, "y") == 0)
		return 1;
	if (strcmp(line, "r") == 0 || strcmp(line, "n") == 0)
		return 2;
	return 0;
}
