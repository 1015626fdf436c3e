#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/memory.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pemfile.h"

static const char begin_tag[] = "-----BEGIN ";
static const char end_tag[] = "-----END ";
static const char dashes[] = "-----";

/* One line of the text: [p, p + n) without the '\n', trailing blanks cut. */
typedef struct {
	const uint8_t *p;
	size_t n;
} line_view;

static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* Takes the line starting at *pos; advances *pos past its '\n'. */
static line_view
next_line(const uint8_t *text, size_t len, size_t *pos)
{
	line_view l = { text + *pos, 0 };
	const uint8_t *nl = memchr(l.p, '\n', len - *pos);
	size_t raw = nl != NULL ? (size_t)(nl - l.p) : len - *pos;

	*pos += nl != NULL ? raw + 1 : raw;
	l.n = raw;
	/* Go's getLine trims trailing spaces, tabs and the CR of CRLF files. */
	while (l.n > 0 && (l.p[l.n - 1] == ' ' || l.p[l.n - 1] == '\t' ||
	    l.p[l.n - 1] == '\r'))
		l.n--;
	return l;
}

static int
starts_with(line_view l, const char *s)
{
	size_t n = strlen(s);

	return l.n >= n && memcmp(l.p, s, n) == 0;
}

/*
 * "-----BEGIN LABEL-----" / "-----END LABEL-----": copies LABEL into label.
 * Returns 0 when the line has that shape and the label is printable ASCII
 * of acceptable length, -1 otherwise.
 */
static int
tag_label(line_view l, const char *tag, char label[MR_PEMFILE_LABEL_MAX + 1])
{
	size_t t = strlen(tag), d = strlen(dashes);
	size_t n;

	if (!starts_with(l, tag) || l.n < t + d)
		return -1;
	if (memcmp(l.p + l.n - d, dashes, d) != 0)
		return -1;
	n = l.n - t - d;
	if (n == 0 || n > MR_PEMFILE_LABEL_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = l.p[t + i];
		if (c < 0x20 || c > 0x7e || c == '-')
			return -1;
	}
	memcpy(label, l.p + t, n);
	label[n] = '\0';
	return 0;
}

static int
is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/*
 * Parses one block whose BEGIN line has been read; *pos is at the next line.
 * b64 is scratch space of at least len bytes.
 */
static int
parse_block(const uint8_t *text, size_t len, size_t *pos, size_t index,
    mr_pemfile_block *b, uint8_t *b64, mr_diag *d)
{
	char end_label[MR_PEMFILE_LABEL_MAX + 1];
	size_t b64_len = 0;
	int in_headers = 1;
	word32 der_len;

	for (;;) {
		line_view l;

		if (*pos >= len)
			return mr_diag_set(d, MR_E_PEM,
			    "block %zu (%s): no END line", index, b->label);
		l = next_line(text, len, pos);
		if (starts_with(l, end_tag)) {
			if (tag_label(l, end_tag, end_label) != 0 ||
			    strcmp(end_label, b->label) != 0)
				return mr_diag_set(d, MR_E_PEM,
				    "block %zu (%s): END line does not match BEGIN",
				    index, b->label);
			break;
		}
		if (in_headers) {
			/* RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") end with a
			 * blank line; a line without ':' starts the body. */
			if (memchr(l.p, ':', l.n) != NULL) {
				b->has_headers = 1;
				continue;
			}
			in_headers = 0;
			if (l.n == 0)
				continue;
		}
		for (size_t i = 0; i < l.n; i++) {
			uint8_t c = l.p[i];
			if (c == ' ' || c == '\t')
				continue;
			if (!is_b64(c))
				return mr_diag_set(d, MR_E_PEM,
				    "block %zu (%s): invalid base64 character",
				    index, b->label);
			b64[b64_len++] = c;
		}
	}
	if (b64_len == 0 || b64_len % 4 != 0)
		return mr_diag_set(d, MR_E_PEM,
		    "block %zu (%s): base64 body is empty or truncated", index,
		    b->label);
	b->der = malloc(b64_len / 4 * 3);
	if (b->der == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	/* The capacity until decoded, so that a failure wipes all of it. */
	b->der_len = b64_len / 4 * 3;
	der_len = (word32)b->der_len;
	if (Base64_Decode(b64, (word32)b64_len, b->der, &der_len) != 0 ||
	    der_len == 0)
		return mr_diag_set(d, MR_E_PEM, "block %zu (%s): invalid base64",
		    index, b->label);
	b->der_len = der_len;
	return MR_OK;
}

int
mr_pemfile_parse(const uint8_t *text, size_t len, mr_pemfile *out, mr_diag *d)
{
	mr_pemfile f = { NULL, 0 };
	uint8_t *b64 = NULL;
	size_t pos = 0;
	int r = MR_E_INTERNAL;

	out->blocks = NULL;
	out->n = 0;
	if (len > MR_PEMFILE_MAX_SIZE) {
		r = mr_diag_set(d, MR_E_RANGE, "larger than %u bytes",
		    MR_PEMFILE_MAX_SIZE);
		goto out;
	}
	/* The base64 of a block is never longer than the whole text. */
	if ((b64 = malloc(len + 1)) == NULL ||
	    (f.blocks = calloc(MR_PEMFILE_MAX_BLOCKS, sizeof(*f.blocks))) == NULL) {
		r = mr_diag_set(d, MR_E_NOMEM, "out of memory");
		goto out;
	}
	while (pos < len) {
		line_view l = next_line(text, len, &pos);
		mr_pemfile_block *b;

		if (!starts_with(l, begin_tag))
			continue; /* text around blocks, as Go's pem.Decode */
		if (f.n == MR_PEMFILE_MAX_BLOCKS) {
			r = mr_diag_set(d, MR_E_RANGE, "more than %u PEM blocks",
			    MR_PEMFILE_MAX_BLOCKS);
			goto out;
		}
		b = &f.blocks[f.n++];
		if (tag_label(l, begin_tag, b->label) != 0) {
			r = mr_diag_set(d, MR_E_PEM, "block %zu: malformed BEGIN line",
			    f.n);
			goto out;
		}
		if ((r = parse_block(text, len, &pos, f.n, b, b64, d)) != MR_OK)
			goto out;
	}
	*out = f;
	f.blocks = NULL;
	f.n = 0;
	r = MR_OK;
out:
	if (b64 != NULL) {
		wipe(b64, len + 1);
		free(b64);
	}
	/* f.n counts the failed block too: it may hold half a key. */
	mr_pemfile_free(&f);
	return r;
}

int
mr_pemfile_read(const char *path, mr_pemfile *out, mr_diag *d)
{
	FILE *fp = NULL;
	struct stat st;
	uint8_t *text = NULL;
	size_t len = 0, cap = 0;
	int r = MR_E_INTERNAL;

	out->blocks = NULL;
	out->n = 0;
	if ((fp = fopen(path, "rb")) == NULL) {
		r = mr_diag_set(d, errno == ENOENT ? MR_E_NOTFOUND : MR_E_IO,
		    "%s", strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &st) != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = mr_diag_set(d, MR_E_IO, "not a regular file");
		goto out;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > MR_PEMFILE_MAX_SIZE) {
		r = mr_diag_set(d, MR_E_RANGE, "larger than %u bytes",
		    MR_PEMFILE_MAX_SIZE);
		goto out;
	}
	/* Sized by the file, not the limit: a fleet's worth of small files
	 * must not each cost a megabyte to map and wipe. One byte more than
	 * its size, to notice a file that grew meanwhile. */
	cap = (size_t)st.st_size + 1;
	if ((text = malloc(cap)) == NULL) {
		r = mr_diag_set(d, MR_E_NOMEM, "out of memory");
		goto out;
	}
	len = fread(text, 1, cap, fp);
	if (ferror(fp)) {
		r = mr_diag_set(d, MR_E_IO, "read error");
		goto out;
	}
	if (len == cap) {
		r = mr_diag_set(d, MR_E_IO, "changed while being read");
		goto out;
	}
	r = mr_pemfile_parse(text, len, out, d);
out:
	if (text != NULL) {
		wipe(text, cap);
		free(text);
	}
	if (fp != NULL)
		fclose(fp);
	return r;
}

void
mr_pemfile_free(mr_pemfile *f)
{
	if (f == NULL || f->blocks == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (f->blocks[i].der != NULL) {
			wipe(f->blocks[i].der, f->blocks[i].der_len);
			free(f->blocks[i].der);
		}
	}
	free(f->blocks);
	f->blocks = NULL;
	f->n = 0;
}
