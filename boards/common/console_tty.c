/*
 * The terminal console shared by the Linux-hosted boards (sim and
 * linux-gadget): the controlling terminal of the process, stdout for
 * display, stdin for answers, /dev/tty with echo off for secrets (stdin
 * when there is no terminal, as under tests).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "board_api.h"

void
board_console_write(const char *text)
{
	fputs(text, stdout);
	fflush(stdout);
}

int
board_console_is_terminal(void)
{
	return isatty(STDOUT_FILENO);
}

static int
read_line_from(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	int c, too_long = 0;

	if (cap == 0)
		return -2;
	while ((c = fgetc(f)) != EOF && c != '\n') {
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			too_long = 1;
	}
	buf[n] = '\0';
	if (c == EOF && n == 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return too_long ? -2 : (int)n;
}

int
board_console_read_line(char *buf, size_t cap)
{
	return read_line_from(stdin, buf, cap);
}

int
board_console_read_secret(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int n, restore = 0;

	if (tty == NULL) {
		board_console_write(prompt);
		/* Unbuffered, so no copy of the secret stays in stdio's buffer. */
		setvbuf(stdin, NULL, _IONBF, 0);
		return read_line_from(stdin, buf, cap);
	}
	/* Unbuffered: a buffered FILE would keep a copy of the secret in
	 * memory that fclose frees without wiping. */
	setvbuf(tty, NULL, _IONBF, 0);
	fputs(prompt, tty);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	n = read_line_from(tty, buf, cap);
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return n;
}

/* stdin unbuffered: a line poll() saw is still there for the next read,
 * never hidden in stdio's buffer. */
static void
console_unbuffered(void)
{
	static int done;

	if (!done) {
		setvbuf(stdin, NULL, _IONBF, 0);
		done = 1;
	}
}

int
board_console_wait(int timeout_ms)
{
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	int r;

	console_unbuffered();
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 1 : 0;
}
