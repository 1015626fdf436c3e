/*
 * p11-kit's URI functions (RFC 7512), loaded when a token is selected by a
 * PKCS#11 URI, never before. Linked into the program, p11-kit's
 * relocations and constructor alone keep about 430 KiB resident in every
 * run (and libffi, which it needs, 40 KiB more): 3% of a batch's peak, for
 * what a selection by label never uses (docs/performance.md). Internal to
 * firmware/token (token_p11.h).
 */
#ifndef TOKEN_P11KIT_H
#define TOKEN_P11KIT_H

#include <p11-kit/uri.h>

#include "mr_diag.h"

/* Each pointer has the type of the function of the same name in
 * <p11-kit/uri.h>, so that the compiler checks every call. */
typedef struct {
	__typeof__(p11_kit_uri_new) *uri_new;
	__typeof__(p11_kit_uri_parse) *uri_parse;
	__typeof__(p11_kit_uri_message) *uri_message;
	__typeof__(p11_kit_uri_get_pin_value) *uri_get_pin_value;
	__typeof__(p11_kit_uri_get_pin_source) *uri_get_pin_source;
	__typeof__(p11_kit_uri_any_unrecognized) *uri_any_unrecognized;
	__typeof__(p11_kit_uri_get_module_name) *uri_get_module_name;
	__typeof__(p11_kit_uri_get_module_path) *uri_get_module_path;
	__typeof__(p11_kit_uri_get_slot_id) *uri_get_slot_id;
	__typeof__(p11_kit_uri_match_module_info) *uri_match_module_info;
	__typeof__(p11_kit_uri_match_slot_info) *uri_match_slot_info;
	__typeof__(p11_kit_uri_match_token_info) *uri_match_token_info;
	__typeof__(p11_kit_uri_free) *uri_free;
} mr_p11kit;

/* The functions, p11-kit loaded on the first call (thread-safe; it stays
 * loaded). NULL, and a one-line diag naming the library, when it cannot
 * be loaded or lacks one of them. */
const mr_p11kit *mr_p11kit_get(mr_diag *d);

#endif
