/*
 * Benchmark tool (not a test): writes N requests straight onto media,
 * DIR/meshroot/requests/<prefix><i>.csr, each with a fresh key, made by
 * the host's own code (host/keygen.c, as `meshroot cluster new` makes
 * them). The keys are discarded. One process instead of one openssl run
 * per request: a thousand requests take a second, not minutes, and the
 * appliance side can be measured at any size whatever the host workspace
 * accepts.
 *
 *   csr_batch DIR N [PREFIX] [ec-p256|ec-p384|rsa-3072|rsa-4096]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keygen.h"
#include "mr_pem.h"

static int
make_dirs(const char *media)
{
	char path[4096];
	int r = 0;

	snprintf(path, sizeof(path), "%s/meshroot", media);
	if (mkdir(media, 0755) != 0 && errno != EEXIST)
		r = -1;
	if (r == 0 && mkdir(path, 0755) != 0 && errno != EEXIST)
		r = -1;
	snprintf(path, sizeof(path), "%s/meshroot/requests", media);
	if (r == 0 && mkdir(path, 0755) != 0 && errno != EEXIST)
		r = -1;
	if (r != 0)
		fprintf(stderr, "error: %s: %s\n", path, strerror(errno));
	return r;
}

/* Plain writes: the media is set up once and then copied, so no fsync. */
static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	int r = f != NULL && fwrite(data, 1, len, f) == len ? 0 : -1;

	if (f != NULL && fclose(f) != 0)
		r = -1;
	return r;
}

int
main(int argc, char **argv)
{
	static mr_keygen_result kr;
	char name[64], path[4096], pem[8192];
	size_t pem_len;
	long n;
	const char *prefix;
	mr_key_type type;
	mr_diag d;
	int r = 0;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: csr_batch DIR N [PREFIX] [KEY_TYPE]\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	prefix = argc > 3 ? argv[3] : "c";
	type = mr_key_type_parse(argc > 4 ? argv[4] : "ec-p256");
	if (n <= 0 || n > 100000 || type == MR_KEY_UNKNOWN || strlen(prefix) > 40) {
		fprintf(stderr, "error: bad N, PREFIX or KEY_TYPE\n");
		return 2;
	}
	if (make_dirs(argv[1]) != 0)
		return 1;
	mr_diag_clear(&d);
	for (long i = 1; i <= n && r == 0; i++) {
		/* Zero-padded: names sort as numbers, as the parser takes them. */
		snprintf(name, sizeof(name), "%s%05ld", prefix, i);
		snprintf(path, sizeof(path), "%s/meshroot/requests/%s.csr", argv[1], name);
		if (mr_keygen_cluster(type, name, &kr, &d) != MR_OK ||
		    mr_pem_write("CERTIFICATE REQUEST", kr.csr_der, kr.csr_der_len, pem, sizeof(pem),
			&pem_len) != MR_OK ||
		    write_file(path, pem, pem_len) != 0) {
			fprintf(stderr, "error: %s: %s\n", name, mr_diag_text(&d, MR_E_IO));
			r = 1;
		}
	}
	return r;
}
