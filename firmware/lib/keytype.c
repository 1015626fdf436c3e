#include <string.h>

#include "mr_keytype.h"

static const struct {
	mr_key_type type;
	const char *name;
	unsigned bits;
} key_types[] = {
	{ MR_KEY_EC_P256, "ec-p256", 256 },
	{ MR_KEY_EC_P384, "ec-p384", 384 },
	{ MR_KEY_RSA_2048, "rsa-2048", 2048 },
	{ MR_KEY_RSA_3072, "rsa-3072", 3072 },
	{ MR_KEY_RSA_4096, "rsa-4096", 4096 },
};

const char *
mr_key_type_name(mr_key_type t)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].type == t)
			return key_types[i].name;
	return t == MR_KEY_ED25519 ? "ed25519" : "unknown";
}

mr_key_type
mr_key_type_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcmp(key_types[i].name, name) == 0)
			return key_types[i].type;
	return MR_KEY_UNKNOWN;
}

int
mr_key_type_is_ec(mr_key_type t)
{
	return t == MR_KEY_EC_P256 || t == MR_KEY_EC_P384;
}

unsigned
mr_key_type_bits(mr_key_type t)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].type == t)
			return key_types[i].bits;
	return t == MR_KEY_ED25519 ? 256 : 0;
}
