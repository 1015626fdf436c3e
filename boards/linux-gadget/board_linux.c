/*
 * The linux-gadget board: an air-gapped Linux board with a USB device
 * port. Its console is the terminal (a serial console or an attached screen
 * and keyboard: boards/common/console_tty.c); its approve button a GPIO key.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "board_api.h"

const char *
board_name(void)
{
	return "linux-gadget";
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
