#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_api.h"
#include "mr_custody.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_record.h"

#define SHARE_FILE_MAX 8192
#define DIR_FILES_MAX 64

static const char check_domain[] = "meshroot-pin-check";

void
mr_custody_pin_text(const uint8_t secret[MR_CUSTODY_SECRET_LEN], char pin[MR_CUSTODY_PIN_LEN + 1])
{
	mr_hex_encode(secret, MR_CUSTODY_SECRET_LEN, pin);
}

void
mr_custody_pin_check(const uint8_t set_id[MR_SHARE_SET_ID_LEN],
    const uint8_t secret[MR_CUSTODY_SECRET_LEN], uint8_t out[MR_CUSTODY_CHECK_LEN])
{
	uint8_t buf[sizeof(check_domain) - 1 + MR_SHARE_SET_ID_LEN + MR_CUSTODY_SECRET_LEN];
	uint8_t fp[MR_FP_SHA256_LEN];
	size_t o = 0;

	memcpy(buf, check_domain, sizeof(check_domain) - 1);
	o += sizeof(check_domain) - 1;
	memcpy(buf + o, set_id, MR_SHARE_SET_ID_LEN);
	o += MR_SHARE_SET_ID_LEN;
	memcpy(buf + o, secret, MR_CUSTODY_SECRET_LEN);
	mr_fp_sha256(buf, sizeof(buf), fp);
	memcpy(out, fp, MR_CUSTODY_CHECK_LEN);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(fp, sizeof(fp));
}

static int
get_uint(const char *line, size_t n, const char *key, unsigned max, unsigned *out)
{
	char v[16], *end;
	unsigned long x;

	if (mr_record_get(line, n, key, v, sizeof(v)) != MR_OK || v[0] < '0' || v[0] > '9')
		return MR_E_STATE;
	x = strtoul(v, &end, 10);
	if (*end != '\0' || x > max)
		return MR_E_STATE;
	*out = (unsigned)x;
	return MR_OK;
}

int
mr_custody_load(const char *path, mr_custody *c, mr_diag *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char hex[2 * MR_CUSTODY_CHECK_LEN + 1];
	int r;

	memset(c, 0, sizeof(*c));
	r = mr_file_read(path, 1024, &text, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_STATE,
		    "%s is missing: split custody is on but the ceremony set up no shares", path);
	}
	if (r != MR_OK)
		return r;
	r = MR_E_STATE;
	if (mr_record_get((const char *)text, len, "set_id", hex, sizeof(hex)) != MR_OK ||
	    strlen(hex) != 2 * MR_SHARE_SET_ID_LEN ||
	    mr_hex_decode(hex, c->set_id, MR_SHARE_SET_ID_LEN) != MR_OK ||
	    mr_record_get((const char *)text, len, "pin_check", hex, sizeof(hex)) != MR_OK ||
	    strlen(hex) != 2 * MR_CUSTODY_CHECK_LEN ||
	    mr_hex_decode(hex, c->pin_check, MR_CUSTODY_CHECK_LEN) != MR_OK ||
	    get_uint((const char *)text, len, "threshold", MR_SHAMIR_MAX_SHARES, &c->threshold) ||
	    get_uint((const char *)text, len, "shares", MR_SHAMIR_MAX_SHARES, &c->shares) ||
	    c->threshold < 2 || c->threshold > c->shares) {
		mr_diag_set(d, MR_E_STATE, "%s is malformed", path);
		goto out;
	}
	r = MR_OK;
out:
	free(text);
	return r;
}

int
mr_custody_store(const char *path, const mr_custody *c, mr_diag *d)
{
	mr_record rec;

	mr_record_init(&rec);
	mr_record_add_hex(&rec, "set_id", c->set_id, MR_SHARE_SET_ID_LEN);
	mr_record_addf(&rec, "threshold", "%u", c->threshold);
	mr_record_addf(&rec, "shares", "%u", c->shares);
	mr_record_add_hex(&rec, "pin_check", c->pin_check, MR_CUSTODY_CHECK_LEN);
	if (mr_record_finish(&rec) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "custody record too long");
	return mr_file_write_atomic(path, rec.buf, rec.len, 0600, d);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted regular-file names in dir (not starting with '.'). */
static int
list_dir(const char *dir, char **names, size_t cap, size_t *n, mr_diag *d)
{
	DIR *dh = opendir(dir);
	struct dirent *e;

	*n = 0;
	if (dh == NULL)
		return mr_diag_set(d, MR_E_IO, "--shares-from %s: cannot open the directory", dir);
	while ((e = readdir(dh)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			closedir(dh);
			return mr_diag_set(d, MR_E_RANGE, "--shares-from %s: more than %zu files",
			    dir, cap);
		}
		if ((names[*n] = strdup(e->d_name)) == NULL) {
			closedir(dh);
			return mr_diag_set(d, MR_E_NOMEM, "out of memory");
		}
		(*n)++;
	}
	closedir(dh);
	qsort(names, *n, sizeof(names[0]), name_cmp);
	return MR_OK;
}

/* One custodian types a share at the console: lines until an empty one. */
static int
console_share(unsigned pos, unsigned threshold, char *text, size_t cap, size_t *len)
{
	char prompt[160], line[512];
	size_t o = 0;

	snprintf(prompt, sizeof(prompt),
	    "Custodian %u of %u: type your share's words (any line breaks), then an empty line.\n",
	    pos, threshold);
	board_console_write(prompt);
	for (;;) {
		int n = board_console_read_secret("  share> ", line, sizeof(line));
		if (n < 0) {
			explicit_bzero(line, sizeof(line));
			return MR_E_CANCELLED;
		}
		if (n == 0)
			break;
		if (o + (size_t)n + 2 > cap) {
			explicit_bzero(line, sizeof(line));
			return MR_E_RANGE;
		}
		memcpy(text + o, line, (size_t)n);
		o += (size_t)n;
		text[o++] = '\n';
	}
	explicit_bzero(line, sizeof(line));
	text[o] = '\0';
	*len = o;
	return MR_OK;
}

int
mr_custody_read_pin(const mr_custody *c, const char *dir, char *pin, size_t cap, size_t *len,
    mr_diag *d)
{
	mr_share shares[MR_SHAMIR_MAX_SHARES];
	char *names[DIR_FILES_MAX];
	uint8_t secret[MR_SHAMIR_MAX_SECRET], check[MR_CUSTODY_CHECK_LEN];
	char text[SHARE_FILE_MAX];
	size_t nnames = 0, total, slen = 0;
	unsigned diff = 0;
	int r = MR_E_PIN;

	memset(names, 0, sizeof(names));
	if (cap < MR_CUSTODY_PIN_LEN + 1)
		return mr_diag_set(d, MR_E_INTERNAL, "PIN buffer too small");
	if (dir != NULL) {
		if ((r = list_dir(dir, names, DIR_FILES_MAX, &nnames, d)) != MR_OK)
			goto out;
		total = nnames;
		if (total < c->threshold) {
			r = mr_diag_set(d, MR_E_PIN, "--shares-from %s holds %zu share%s, %u needed",
			    dir, total, total == 1 ? "" : "s", c->threshold);
			goto out;
		}
	} else {
		total = c->threshold;
	}
	if (total > MR_SHAMIR_MAX_SHARES) {
		r = mr_diag_set(d, MR_E_PIN, "too many shares");
		goto out;
	}
	/* Each share is checked on its own first: a typo is named before any
	 * other share is even asked for, and long before the token. */
	for (size_t i = 0; i < total; i++) {
		size_t tl = 0;
		char what[300];

		if (dir != NULL) {
			char path[4096];
			uint8_t *data = NULL;
			snprintf(what, sizeof(what), "share %zu (%s)", i + 1, names[i]);
			if (mr_path_join(path, sizeof(path), dir, names[i]) != MR_OK) {
				r = mr_diag_set(d, MR_E_RANGE, "%s: path too long", what);
				goto out;
			}
			/* The message names the file: no prefix. */
			if ((r = mr_file_read_private(path, "share file", SHARE_FILE_MAX - 1, &data,
				 &tl, d)) != MR_OK)
				goto out;
			memcpy(text, data, tl);
			explicit_bzero(data, tl);
			free(data);
		} else {
			snprintf(what, sizeof(what), "share %zu", i + 1);
			if (console_share((unsigned)i + 1, c->threshold, text, sizeof(text), &tl) !=
			    MR_OK) {
				r = mr_diag_set(d, MR_E_PIN, "%s: not entered", what);
				goto out;
			}
		}
		if (mr_share_decode(text, tl, &shares[i], d) != MR_OK) {
			mr_diag_prefix(d, "%s", what);
			r = MR_E_PIN;
			goto out;
		}
		if (memcmp(shares[i].set_id, c->set_id, MR_SHARE_SET_ID_LEN) != 0) {
			char got[9], want[9];
			mr_share_set_id_hex(shares[i].set_id, got);
			mr_share_set_id_hex(c->set_id, want);
			r = mr_diag_set(d, MR_E_PIN,
			    "%s: from share set %s, but this token's shares are set %s "
			    "(a share retired by `ceremony reshare`?)", what, got, want);
			goto out;
		}
		if (shares[i].threshold != c->threshold || shares[i].len != MR_CUSTODY_SECRET_LEN) {
			r = mr_diag_set(d, MR_E_PIN, "%s: does not fit this token's custody (%u of %u)",
			    what, c->threshold, c->shares);
			goto out;
		}
	}
	if (mr_share_combine(shares, (unsigned)total, secret, sizeof(secret), &slen, d) != MR_OK) {
		r = MR_E_PIN;
		goto out;
	}
	mr_custody_pin_check(c->set_id, secret, check);
	for (size_t k = 0; k < MR_CUSTODY_CHECK_LEN; k++)
		diff |= (unsigned)(check[k] ^ c->pin_check[k]);
	if (diff != 0) {
		r = mr_diag_set(d, MR_E_PIN,
		    "the shares do not combine to this token's PIN (a share was altered): "
		    "no login tried");
		goto out;
	}
	mr_custody_pin_text(secret, pin);
	*len = MR_CUSTODY_PIN_LEN;
	r = MR_OK;
out:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	explicit_bzero(shares, sizeof(shares));
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(text, sizeof(text));
	return r;
}

int
mr_custody_present(const mr_share *s, unsigned n, const char *dir, const char *who,
    int confirm, mr_diag *d)
{
	char words[MR_SHARE_TEXT_MAX], file[MR_SHARE_TEXT_MAX + 512], set[9], line[64];
	int r = MR_E_INTERNAL;

	mr_share_set_id_hex(s[0].set_id, set);
	if (dir != NULL && (r = mr_mkdirs(dir, 0700, d)) != MR_OK)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		int fl;

		if (mr_share_encode(&s[i], words, sizeof(words)) != MR_OK) {
			r = mr_diag_set(d, MR_E_INTERNAL, "cannot encode share %u", i + 1);
			goto out;
		}
		fl = snprintf(file, sizeof(file),
		    "# meshroot custody share %u of %u (any %u unlock token %s)\n"
		    "# share set %s. Keep it sealed; never type it anywhere but the appliance.\n"
		    "%s\n",
		    s[i].index, n, s[i].threshold, who, set, words);
		if (fl < 0 || (size_t)fl >= sizeof(file)) {
			r = mr_diag_set(d, MR_E_INTERNAL, "share %u text too long", i + 1);
			goto out;
		}
		if (confirm) {
			board_console_write("\nCustodian ");
			snprintf(line, sizeof(line), "%u", i + 1);
			board_console_write(line);
			board_console_write(": only you look at the screen now. Press Enter to show your share.\n");
			(void)board_console_read_line(line, sizeof(line));
		}
		board_console_write("\n");
		board_console_write(file);
		if (confirm) {
			board_console_write("Write it down, check it word by word, then press Enter.\n");
			(void)board_console_read_line(line, sizeof(line));
		}
		if (dir != NULL) {
			char path[4096], name[32];
			snprintf(name, sizeof(name), "share-%u.txt", s[i].index);
			if (mr_path_join(path, sizeof(path), dir, name) != MR_OK) {
				r = mr_diag_set(d, MR_E_RANGE, "--shares-dir path too long");
				goto out;
			}
			if ((r = mr_file_create_atomic(path, file, (size_t)fl, 0600, d)) != MR_OK)
				goto out;
		}
	}
	r = MR_OK;
out:
	explicit_bzero(words, sizeof(words));
	explicit_bzero(file, sizeof(file));
	return r;
}
