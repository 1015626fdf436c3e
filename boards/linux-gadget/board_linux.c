/*
 * The linux-gadget board console is the controlling terminal (a serial
 * console or an attached screen and keyboard), as on the sim board:
 * stdout for display, stdin for answers, /dev/tty with echo off for
 * secrets (stdin when there is no terminal, as under tests).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "board_api.h"

const char *
board_name(void)
{
	return "linux-gadget";
}

void
board_console_write(const char *text)
{
	fputs(text, stdout);
	fflush(stdout);
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

/*
 * The approve button: a push button on a GPIO, declared to the kernel as a
 * gpio-keys device (README.md), so it arrives as key events on an evdev
 * node: MESHROOT_BUTTON (default /dev/input/meshroot-button, a udev
 * symlink). KEY_ENTER (or BTN_0) approves; KEY_ESC (or BTN_1), from an
 * optional second button, refuses. No library: struct input_event reads.
 */
static int
button_fd(void)
{
	static int fd = -2;
	const char *path;

	if (fd == -2) {
		path = getenv("MESHROOT_BUTTON");
		fd = open(path != NULL ? path : "/dev/input/meshroot-button", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	}
	return fd;
}

int
board_button_read(void)
{
	unsigned char keys[KEY_MAX / 8 + 1];
	int fd = button_fd();

	if (fd < 0)
		return -1;
	memset(keys, 0, sizeof(keys));
	if (ioctl(fd, EVIOCGKEY(sizeof(keys)), keys) < 0)
		return -1;
	return (keys[KEY_ENTER / 8] & (1 << (KEY_ENTER % 8))) ||
	    (keys[BTN_0 / 8] & (1 << (BTN_0 % 8))) ? 1 : 0;
}

int
board_button_wait(int timeout_ms)
{
	struct pollfd p;
	struct input_event ev;
	int fd = button_fd(), r;

	if (fd < 0)
		return -1;
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	/* Drain what is there; a press (value 1) decides. */
	while (read(fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev)) {
		if (ev.type != EV_KEY || ev.value != 1)
			continue;
		if (ev.code == KEY_ENTER || ev.code == BTN_0)
			return 1;
		if (ev.code == KEY_ESC || ev.code == BTN_1)
			return 2;
	}
	return 0;
}
