/*
 * Fuzzes the API model: any bytes go through the strict JSON parser, and
 * every object decoder in both modes, the answers only a client reads
 * too. Whatever decodes and has an encoder must encode and decode again
 * to the same JSON text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/calls.h"

/* Decodes, re-encodes and re-decodes one kind of object. */
#define FUZZ_KIND(type, decode, to_json, free_fn, init)                      \
	static void fuzz_##type(struct json_object *obj, enum api_mode mode) \
	{                                                                    \
		struct type a, b;                                            \
		const char *error;                                           \
		struct json_object *j1, *j2, *j3;                            \
		init;                                                        \
		if (decode(obj, mode, &a, &error) != 0)                      \
			return;                                              \
		j1 = to_json(&a);                                            \
		/* Decoding may wipe secrets inside j1: compare anew. */     \
		if (decode(j1, API_STRICT, &b, &error) != 0)                 \
			abort();                                             \
		j2 = to_json(&b);                                            \
		j3 = to_json(&a);                                            \
		if (strcmp(json_object_to_json_string(j3),                   \
		           json_object_to_json_string(j2)) != 0)             \
			abort();                                             \
		json_object_put(j1);                                         \
		json_object_put(j2);                                         \
		json_object_put(j3);                                         \
		free_fn(&a);                                                 \
		free_fn(&b);                                                 \
	}

FUZZ_KIND(api_signup, api_signup_decode, api_signup_to_json, api_signup_free,
          (void)0)
FUZZ_KIND(api_session, api_session_decode, api_session_to_json,
          api_session_free, (void)0)
FUZZ_KIND(api_mailbox, api_mailbox_decode, api_mailbox_to_json,
          api_mailbox_free, (void)0)
FUZZ_KIND(api_message, api_message_decode, api_message_to_json,
          api_message_free, (void)0)
FUZZ_KIND(api_import, api_import_decode, api_import_to_json, api_import_free,
          (void)0)
FUZZ_KIND(api_update, api_update_decode, api_update_to_json, api_update_free,
          (void)0)
FUZZ_KIND(api_changes, api_changes_decode, api_changes_to_json,
          api_changes_free, (void)0)
FUZZ_KIND(api_submission, api_submission_decode, api_submission_to_json,
          api_submission_free, (void)0)
FUZZ_KIND(api_account, api_account_decode, api_account_to_json,
          api_account_free, (void)0)
FUZZ_KIND(api_mailbox_list, api_mailbox_list_decode, api_mailbox_list_to_json,
          api_mailbox_list_free, (void)0)
FUZZ_KIND(api_message_page, api_message_page_decode, api_message_page_to_json,
          api_message_page_free, (void)0)
FUZZ_KIND(api_key_lookup, api_key_lookup_decode, api_key_lookup_to_json,
          api_key_lookup_free, (void)0)

/* Answers only a client reads: decoded, never encoded. */
static void
fuzz_answers(struct json_object *obj, enum api_mode mode)
{
	struct api_set_result set;
	struct api_submission_result sub;
	const char *error;

	if (api_set_result_decode(obj, mode, "updated", "not_updated", &set,
	                          &error) == 0)
		api_set_result_free(&set);
	if (api_set_result_decode(obj, mode, "destroyed", "not_destroyed", &set,
	                          &error) == 0)
		api_set_result_free(&set);
	if (api_submission_result_decode(obj, mode, &sub, &error) == 0)
		api_submission_result_free(&sub);
}

static void
fuzz_error(struct json_object *obj)
{
	enum api_error_type type;
	char *message = NULL;
	const char *error;

	if (api_error_decode(obj, &type, &message, &error) == 0)
		free(message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj;
	const char *error;
	int mode;

	if (api_json_parse(data, size, &obj, &error) != 0)
		return 0;
	for (mode = API_STRICT; mode <= API_LENIENT; mode++) {
		fuzz_api_signup(obj, mode);
		fuzz_api_session(obj, mode);
		fuzz_api_mailbox(obj, mode);
		fuzz_api_message(obj, mode);
		fuzz_api_import(obj, mode);
		fuzz_api_update(obj, mode);
		fuzz_api_changes(obj, mode);
		fuzz_api_submission(obj, mode);
		fuzz_api_key_lookup(obj, mode);
		fuzz_api_account(obj, mode);
		fuzz_api_mailbox_list(obj, mode);
		fuzz_api_message_page(obj, mode);
		fuzz_answers(obj, mode);
	}
	fuzz_error(obj);
	json_object_put(obj);
	return 0;
}
