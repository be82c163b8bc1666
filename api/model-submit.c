/* The submission object of POST /api/v1/submissions. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "api-private.h"

bool
api_check_email(const char *s, size_t len)
{
	size_t i;

	if (!api_is_email(s, len))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			return false;
	}
	return true;
}

void
api_submission_init(struct api_submission *s)
{
	memset(s, 0, sizeof(*s));
	sb_buf_init(&s->summary, API_MAX_SUMMARY);
	sb_buf_init(&s->sent_summary, API_MAX_SUMMARY);
}

static const char *const api_recipient_fields[] = {"email", "key_packet", NULL};

static int SB_WUR
api_recipients_decode(struct json_object *obj, enum api_mode mode,
                      struct api_submission *s, const char **error_r)
{
	struct json_object *arr, *item;
	size_t i, j, n;

	if (!json_object_object_get_ex(obj, "recipients", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		*error_r = "field 'recipients' must be an array";
		return -1;
	}
	n = json_object_array_length(arr);
	if (n > API_MAX_BATCH) {
		*error_r = "field 'recipients' has too many items";
		return -1;
	}
	s->recipients = sb_calloc(n == 0 ? 1 : n, sizeof(*s->recipients));
	for (i = 0; i < n; i++) {
		struct api_recipient *r = &s->recipients[i];

		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object)) {
			*error_r = "field 'recipients' holds objects";
			return -1;
		}
		s->n_recipients++;
		if ((mode == API_STRICT &&
		     api_json_only(item, api_recipient_fields, error_r) != 0) ||
		    api_json_get_email(item, "email", true, &r->email,
		                       error_r) != 0 ||
		    api_json_get_fixed(item, "key_packet", true, r->key_packet,
		                       API_KEY_PACKET_BYTES, error_r) != 0)
			return -1;
		if (memcmp(r->key_packet, "SBKP\x01", 5) != 0) {
			*error_r = "a recipient's key packet is not SBKP "
			           "version 1";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(s->recipients[j].email, r->email) == 0) {
				*error_r = "field 'recipients' repeats an "
				           "address";
				return -1;
			}
		}
	}
	return 0;
}

static const char *const api_message_part_fields[] = {"blob_id", "summary",
                                                      NULL};
static const char *const api_external_fields[] = {"blob_id", "recipients",
                                                  NULL};
static const char *const api_sent_fields[] = {"blob_id", "summary",
                                              "key_packet", "keywords", NULL};

/* The optional "external" and "sent_copy" parts. */
static int SB_WUR
api_submission_parts(struct json_object *obj, enum api_mode mode,
                     struct api_submission *s, const char **error_r)
{
	struct json_object *ext = NULL, *sent = NULL;
	const char *blob = NULL;

	if (api_json_get_object(obj, "external", false, &ext, error_r) != 0 ||
	    api_json_get_object(obj, "sent_copy", false, &sent, error_r) != 0)
		return -1;
	if (ext != NULL) {
		if ((mode == API_STRICT &&
		     api_json_only(ext, api_external_fields, error_r) != 0) ||
		    api_json_get_id(ext, "blob_id", true, &blob, error_r) !=
		            0 ||
		    api_json_get_strings(ext, "recipients", true, API_MAX_BATCH,
		                         api_check_email, &s->external,
		                         error_r) != 0)
			return -1;
		if (s->external.count == 0) {
			*error_r = "field 'external.recipients' is empty";
			return -1;
		}
		s->external_blob_id = sb_strdup(blob);
	}
	if (sent != NULL) {
		blob = NULL;
		if ((mode == API_STRICT &&
		     api_json_only(sent, api_sent_fields, error_r) != 0) ||
		    api_json_get_id(sent, "blob_id", true, &blob, error_r) !=
		            0 ||
		    api_get_sealed(sent, "summary", "key_packet",
		                   &s->sent_summary, s->sent_key_packet,
		                   error_r) != 0 ||
		    api_json_get_strings(sent, "keywords", false,
		                         API_MAX_KEYWORDS, api_is_keyword,
		                         &s->sent_keywords, error_r) != 0)
			return -1;
		s->has_sent_copy = true;
		s->sent_blob_id = sb_strdup(blob);
	}
	return 0;
}

static const char *const api_submission_fields[] = {
        "from", "message", "recipients", "external", "sent_copy", NULL};

int
api_submission_decode(struct json_object *obj, enum api_mode mode,
                      struct api_submission *s, const char **error_r)
{
	struct json_object *msg;
	const char *blob = NULL;

	api_submission_init(s);
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_submission_fields, error_r) != 0) ||
	    api_json_get_email(obj, "from", true, &s->from, error_r) != 0 ||
	    api_json_get_object(obj, "message", true, &msg, error_r) != 0 ||
	    (mode == API_STRICT &&
	     api_json_only(msg, api_message_part_fields, error_r) != 0) ||
	    api_json_get_id(msg, "blob_id", true, &blob, error_r) != 0 ||
	    api_json_get_bytes(msg, "summary", true, 45, API_MAX_SUMMARY,
	                       &s->summary, error_r) != 0 ||
	    api_recipients_decode(obj, mode, s, error_r) != 0 ||
	    api_submission_parts(obj, mode, s, error_r) != 0)
		goto fail;
	if (memcmp(s->summary.data, "SBMS\x01", 5) != 0) {
		*error_r = "field 'message.summary' is not SBMS version 1";
		goto fail;
	}
	if (s->n_recipients == 0 && s->external.count == 0) {
		*error_r = "a submission needs at least one recipient";
		goto fail;
	}
	s->blob_id = sb_strdup(blob);
	return 0;
fail:
	api_submission_free(s);
	return -1;
}

struct json_object *
api_submission_to_json(const struct api_submission *s)
{
	struct json_object *o = json_object_new_object();
	struct json_object *msg = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	size_t i;

	api_json_add_string(o, "from", s->from);
	api_json_add_string(msg, "blob_id", s->blob_id);
	api_json_add_bytes(msg, "summary", s->summary.data, s->summary.len);
	json_object_object_add(o, "message", msg);
	for (i = 0; i < s->n_recipients; i++) {
		struct json_object *r = json_object_new_object();

		api_json_add_string(r, "email", s->recipients[i].email);
		api_json_add_bytes(r, "key_packet", s->recipients[i].key_packet,
		                   API_KEY_PACKET_BYTES);
		json_object_array_add(arr, r);
	}
	json_object_object_add(o, "recipients", arr);
	if (s->external_blob_id != NULL) {
		struct json_object *ext = json_object_new_object();

		api_json_add_string(ext, "blob_id", s->external_blob_id);
		json_object_object_add(ext, "recipients",
		                       api_strings_to_json(&s->external));
		json_object_object_add(o, "external", ext);
	}
	if (s->has_sent_copy) {
		struct json_object *sent = json_object_new_object();

		api_json_add_string(sent, "blob_id", s->sent_blob_id);
		api_json_add_bytes(sent, "summary", s->sent_summary.data,
		                   s->sent_summary.len);
		api_json_add_bytes(sent, "key_packet", s->sent_key_packet,
		                   API_KEY_PACKET_BYTES);
		json_object_object_add(sent, "keywords",
		                       api_strings_to_json(&s->sent_keywords));
		json_object_object_add(o, "sent_copy", sent);
	}
	return o;
}

void
api_submission_free(struct api_submission *s)
{
	size_t i;

	for (i = 0; i < s->n_recipients; i++)
		free(s->recipients[i].email);
	free(s->recipients);
	free(s->from);
	free(s->blob_id);
	free(s->external_blob_id);
	free(s->sent_blob_id);
	sb_buf_free(&s->summary);
	sb_buf_free(&s->sent_summary);
	api_strings_free(&s->external);
	api_strings_free(&s->sent_keywords);
	memset(s, 0, sizeof(*s));
}
