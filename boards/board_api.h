/*
 * The board API: the small set of services the appliance core needs from
 * the hardware it runs on. The core never includes board code; each board
 * under boards/<name>/ implements these functions (boards/sim runs the
 * appliance as a host process).
 */
#ifndef MR_BOARD_API_H
#define MR_BOARD_API_H

#include <stddef.h>

/* Board name, for status and the audit log. */
const char *board_name(void);

/* Writes operator-facing text to the appliance console. */
void board_console_write(const char *text);

/* 1 when the console is a terminal that can redraw a line ("\r"): a
 * progress meter updates in place there, and prints periodic plain lines
 * elsewhere (a log, a serial capture). */
int board_console_is_terminal(void);

/*
 * Reads one line typed by the operator (without the newline). Returns its
 * length, or -1 at end of input. Longer lines are consumed and rejected
 * with -2 so that pasted junk never reads as an answer.
 */
int board_console_read_line(char *buf, size_t cap);

/*
 * Reads a secret (a PIN) with echo off where the console allows it. The
 * caller wipes buf after use. Returns its length, -1 at end of input.
 */
int board_console_read_secret(const char *prompt, char *buf, size_t cap);

/*
 * Waits at most timeout_ms (-1: forever) until board_console_read_line
 * would not block. 1 ready (a line or end of input), 0 timeout. Lets the
 * appliance keep serving its link while an operator decides.
 */
int board_console_wait(int timeout_ms);

/*
 * The approve button. board_button_read: 1 while pressed, 0 released, -1
 * when the board has none. board_button_wait waits at most timeout_ms
 * (-1: forever) for a press: 1 approve, 2 refuse (a second button, or the
 * sim console's 'r'), 0 timeout, -1 no button (or its input closed).
 */
int board_button_read(void);
int board_button_wait(int timeout_ms);

#endif
