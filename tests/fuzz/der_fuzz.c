/* DER reader (firmware/lib/der.c): walks any input as nested TLVs without
 * recursion, and tries every primitive decoder on every element. */
#include <string.h>

#include "fuzz.h"
#include "mr_der.h"

#define MAX_DEPTH 16

static void
primitives(uint8_t tag, mr_der content)
{
	mr_der bytes;
	unsigned long v;
	time_t t;
	int b;

	IGNORE(mr_der_bits(content, &bytes));
	IGNORE(mr_der_bool(content, &b));
	IGNORE(mr_der_uint(content, &v));
	IGNORE(mr_der_time(tag, content, &t));
	IGNORE(mr_der_time(MR_DER_UTC_TIME, content, &t));
	IGNORE(mr_der_time(MR_DER_GENERALIZED_TIME, content, &t));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_der stack[MAX_DEPTH];
	size_t depth = 1;
	mr_der content;
	unsigned steps = 0;

	if (size > 0)
		IGNORE(mr_der_whole(data, size, data[0], &content));
	stack[0] = mr_der_view(data, size);
	while (depth > 0 && steps++ < 4096) {
		mr_der *top = &stack[depth - 1], whole, before = *top;
		uint8_t tag;
		int peek = mr_der_peek(top);

		if (mr_der_next(top, &tag, &content, &whole) != MR_OK) {
			/* The view MUST be unchanged on failure. */
			if (top->p != before.p || top->n != before.n)
				__builtin_trap();
			depth--;
			continue;
		}
		if (peek != tag || whole.n < content.n ||
		    content.p + content.n != whole.p + whole.n ||
		    whole.p != before.p || top->n + whole.n != before.n)
			__builtin_trap();
		IGNORE(mr_der_equal(content, whole));
		primitives(tag, content);
		if ((tag & 0x20) != 0 && depth < MAX_DEPTH)
			stack[depth++] = content;
	}
	/* The writer on what was read: it must never overflow its buffer. */
	{
		uint8_t out[512];
		const uint8_t *o;
		size_t olen;
		mr_dw w;
		size_t mark;

		mr_dw_init(&w, out, sizeof(out));
		mark = mr_dw_len(&w);
		mr_dw_uint_bytes(&w, data, size < 64 ? size : 64);
		mr_dw_raw(&w, data, size < 300 ? size : 300);
		mr_dw_wrap(&w, MR_DER_SEQUENCE, mark);
		IGNORE(mr_dw_finish(&w, &o, &olen));
	}
	return 0;
}
