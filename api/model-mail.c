/* The mail side of the model: mailboxes, messages, updates, changes,
 * submissions. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/charset.h"
#include "api-private.h"

static const char *const api_roles[] = {"inbox", "drafts",  "sent", "trash",
                                        "junk",  "archive", NULL};

bool
api_is_role(const char *s)
{
	const char *const *r;

	for (r = api_roles; *r != NULL; r++) {
		if (strcmp(*r, s) == 0)
			return true;
	}
	return false;
}

bool
api_is_mailbox_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > API_NAME_MAX || !sb_utf8_valid(s, len))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

bool
api_check_id(const char *s, size_t len)
{
	return api_is_id(s, len);
}

/* Copies an optional string field into a malloc'd string or NULL. */
static char *
api_dup_or_null(const char *s)
{
	return s != NULL ? sb_strdup(s) : NULL;
}

static const char *const api_mailbox_fields[] = {
        "id", "name", "parent_id", "role", "total", "unread", NULL};

int
api_mailbox_decode(struct json_object *obj, enum api_mode mode,
                   struct api_mailbox *m, const char **error_r)
{
	const char *id = NULL, *name = NULL, *parent = NULL, *role = NULL;
	struct json_object *val;

	memset(m, 0, sizeof(*m));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_mailbox_fields, error_r) != 0) ||
	    api_json_get_id(obj, "id", true, &id, error_r) != 0 ||
	    api_json_get_string(obj, "name", true, 1, API_NAME_MAX, &name,
	                        error_r) != 0 ||
	    api_json_get_id_or_null(obj, "parent_id", &parent, error_r) != 0 ||
	    api_json_get_u64(obj, "total", true, 0, UINT32_MAX, &m->total,
	                     error_r) != 0 ||
	    api_json_get_u64(obj, "unread", true, 0, UINT32_MAX, &m->unread,
	                     error_r) != 0)
		return -1;
	if (!api_is_mailbox_name(name, strlen(name))) {
		*error_r = "field 'name' is not a valid mailbox name";
		return -1;
	}
	if (json_object_object_get_ex(obj, "role", &val) && val != NULL) {
		if (api_json_get_string(obj, "role", true, 1, 16, &role,
		                        error_r) != 0)
			return -1;
		if (!api_is_role(role)) {
			*error_r = "field 'role' is not a known role";
			return -1;
		}
	}
	m->id = sb_strdup(id);
	m->name = sb_strdup(name);
	m->parent_id = api_dup_or_null(parent);
	m->role = api_dup_or_null(role);
	return 0;
}

struct json_object *
api_mailbox_to_json(const struct api_mailbox *m)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "id", m->id);
	api_json_add_string(o, "name", m->name);
	api_json_add_string_or_null(o, "parent_id", m->parent_id);
	api_json_add_string_or_null(o, "role", m->role);
	api_json_add_u64(o, "total", m->total);
	api_json_add_u64(o, "unread", m->unread);
	return o;
}

void
api_mailbox_free(struct api_mailbox *m)
{
	free(m->id);
	free(m->name);
	free(m->parent_id);
	free(m->role);
	memset(m, 0, sizeof(*m));
}

/* A summary must start "SBMS" version 1; a key packet "SBKP" version 1. */
static int
api_check_magic(const void *p, size_t len, const char *magic, const char *name,
                const char **error_r)
{
	if (len < 5 || memcmp(p, magic, 4) != 0 ||
	    ((const unsigned char *)p)[4] != 1) {
		*error_r = api_errorf("field '%s' is not a %s of version 1",
		                      name, magic);
		return -1;
	}
	return 0;
}

/* The summary and key packet every message-like object carries. */
int
api_get_sealed(struct json_object *obj, const char *summary_name,
               const char *packet_name, struct sb_buf *summary,
               unsigned char packet[API_KEY_PACKET_BYTES], const char **error_r)
{
	if (api_json_get_bytes(obj, summary_name, true, 5 + 24 + 16,
	                       API_MAX_SUMMARY, summary, error_r) != 0 ||
	    api_check_magic(summary->data, summary->len, "SBMS", summary_name,
	                    error_r) != 0 ||
	    api_json_get_fixed(obj, packet_name, true, packet,
	                       API_KEY_PACKET_BYTES, error_r) != 0 ||
	    api_check_magic(packet, API_KEY_PACKET_BYTES, "SBKP", packet_name,
	                    error_r) != 0)
		return -1;
	return 0;
}

void
api_message_init(struct api_message *m)
{
	memset(m, 0, sizeof(*m));
	sb_buf_init(&m->summary, API_MAX_SUMMARY);
}

static const char *const api_message_fields[] = {
        "id",         "blob_id",     "size",     "received_at", "summary",
        "key_packet", "mailbox_ids", "keywords", NULL};

int
api_message_decode(struct json_object *obj, enum api_mode mode,
                   struct api_message *m, const char **error_r)
{
	const char *id = NULL, *blob = NULL;

	api_message_init(m);
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_message_fields, error_r) != 0) ||
	    api_json_get_id(obj, "id", true, &id, error_r) != 0 ||
	    api_json_get_id(obj, "blob_id", true, &blob, error_r) != 0 ||
	    api_json_get_u64(obj, "size", true, 0, UINT64_C(1) << 40, &m->size,
	                     error_r) != 0 ||
	    api_json_get_u64(obj, "received_at", true, 0, UINT64_C(1) << 40,
	                     &m->received_at, error_r) != 0 ||
	    api_get_sealed(obj, "summary", "key_packet", &m->summary,
	                   m->key_packet, error_r) != 0 ||
	    api_json_get_strings(obj, "mailbox_ids", true, API_MAX_KEYWORDS,
	                         api_check_id, &m->mailbox_ids, error_r) != 0 ||
	    api_json_get_strings(obj, "keywords", true, API_MAX_KEYWORDS,
	                         api_is_keyword, &m->keywords, error_r) != 0) {
		api_message_free(m);
		return -1;
	}
	m->id = sb_strdup(id);
	m->blob_id = sb_strdup(blob);
	return 0;
}

struct json_object *
api_message_to_json(const struct api_message *m)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "id", m->id);
	api_json_add_string(o, "blob_id", m->blob_id);
	api_json_add_u64(o, "size", m->size);
	api_json_add_u64(o, "received_at", m->received_at);
	api_json_add_bytes(o, "summary", m->summary.data, m->summary.len);
	api_json_add_bytes(o, "key_packet", m->key_packet,
	                   API_KEY_PACKET_BYTES);
	json_object_object_add(o, "mailbox_ids",
	                       api_strings_to_json(&m->mailbox_ids));
	json_object_object_add(o, "keywords",
	                       api_strings_to_json(&m->keywords));
	return o;
}

void
api_message_free(struct api_message *m)
{
	free(m->id);
	free(m->blob_id);
	sb_buf_free(&m->summary);
	api_strings_free(&m->mailbox_ids);
	api_strings_free(&m->keywords);
	m->id = m->blob_id = NULL;
}

void
api_import_init(struct api_import *im)
{
	memset(im, 0, sizeof(*im));
	sb_buf_init(&im->summary, API_MAX_SUMMARY);
}

static const char *const api_import_fields[] = {
        "blob_id",  "summary",     "key_packet", "mailbox_ids",
        "keywords", "received_at", NULL};

int
api_import_decode(struct json_object *obj, enum api_mode mode,
                  struct api_import *im, const char **error_r)
{
	const char *blob = NULL;

	api_import_init(im);
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_import_fields, error_r) != 0) ||
	    api_json_get_id(obj, "blob_id", true, &blob, error_r) != 0 ||
	    api_get_sealed(obj, "summary", "key_packet", &im->summary,
	                   im->key_packet, error_r) != 0 ||
	    api_json_get_strings(obj, "mailbox_ids", true, API_MAX_KEYWORDS,
	                         api_check_id, &im->mailbox_ids,
	                         error_r) != 0 ||
	    api_json_get_strings(obj, "keywords", false, API_MAX_KEYWORDS,
	                         api_is_keyword, &im->keywords, error_r) != 0 ||
	    api_json_get_u64(obj, "received_at", false, 1, UINT64_C(1) << 40,
	                     &im->received_at, error_r) != 0)
		goto fail;
	if (im->mailbox_ids.count == 0) {
		*error_r = "field 'mailbox_ids' must not be empty";
		goto fail;
	}
	im->blob_id = sb_strdup(blob);
	return 0;
fail:
	api_import_free(im);
	return -1;
}

struct json_object *
api_import_to_json(const struct api_import *im)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "blob_id", im->blob_id);
	api_json_add_bytes(o, "summary", im->summary.data, im->summary.len);
	api_json_add_bytes(o, "key_packet", im->key_packet,
	                   API_KEY_PACKET_BYTES);
	json_object_object_add(o, "mailbox_ids",
	                       api_strings_to_json(&im->mailbox_ids));
	json_object_object_add(o, "keywords",
	                       api_strings_to_json(&im->keywords));
	if (im->received_at != 0)
		api_json_add_u64(o, "received_at", im->received_at);
	return o;
}

void
api_import_free(struct api_import *im)
{
	free(im->blob_id);
	im->blob_id = NULL;
	sb_buf_free(&im->summary);
	api_strings_free(&im->mailbox_ids);
	api_strings_free(&im->keywords);
}

static const char *const api_patch_fields[] = {
        "keywords",    "add_keywords",    "remove_keywords",
        "mailbox_ids", "add_mailbox_ids", "remove_mailbox_ids",
        NULL};

/* Decodes one message's patch: either the replacing or the patching form. */
static int SB_WUR
api_patch_decode(struct json_object *obj, enum api_mode mode,
                 struct api_patch *p, const char **error_r)
{
	struct json_object *val;

	if (mode == API_STRICT &&
	    api_json_only(obj, api_patch_fields, error_r) != 0)
		return -1;
	p->replace_keywords = json_object_object_get_ex(obj, "keywords", &val);
	p->replace_mailboxes =
	        json_object_object_get_ex(obj, "mailbox_ids", &val);
	if (api_json_get_strings(obj, "keywords", false, API_MAX_KEYWORDS,
	                         api_is_keyword, &p->keywords, error_r) != 0 ||
	    api_json_get_strings(obj, "add_keywords", false, API_MAX_KEYWORDS,
	                         api_is_keyword, &p->add_keywords,
	                         error_r) != 0 ||
	    api_json_get_strings(obj, "remove_keywords", false,
	                         API_MAX_KEYWORDS, api_is_keyword,
	                         &p->remove_keywords, error_r) != 0 ||
	    api_json_get_strings(obj, "mailbox_ids", false, API_MAX_KEYWORDS,
	                         api_check_id, &p->mailbox_ids, error_r) != 0 ||
	    api_json_get_strings(obj, "add_mailbox_ids", false,
	                         API_MAX_KEYWORDS, api_check_id,
	                         &p->add_mailbox_ids, error_r) != 0 ||
	    api_json_get_strings(obj, "remove_mailbox_ids", false,
	                         API_MAX_KEYWORDS, api_check_id,
	                         &p->remove_mailbox_ids, error_r) != 0)
		return -1;
	if ((p->replace_keywords &&
	     (p->add_keywords.count > 0 || p->remove_keywords.count > 0)) ||
	    (p->replace_mailboxes && (p->add_mailbox_ids.count > 0 ||
	                              p->remove_mailbox_ids.count > 0))) {
		*error_r = "a message's update either replaces or patches, "
		           "not both";
		return -1;
	}
	if (p->replace_mailboxes && p->mailbox_ids.count == 0) {
		*error_r = "field 'mailbox_ids' must not be empty";
		return -1;
	}
	return 0;
}

static void
api_patch_free(struct api_patch *p)
{
	free(p->id);
	api_strings_free(&p->keywords);
	api_strings_free(&p->add_keywords);
	api_strings_free(&p->remove_keywords);
	api_strings_free(&p->mailbox_ids);
	api_strings_free(&p->add_mailbox_ids);
	api_strings_free(&p->remove_mailbox_ids);
}

static const char *const api_update_fields[] = {"update", NULL};

int
api_update_decode(struct json_object *obj, enum api_mode mode,
                  struct api_update *u, const char **error_r)
{
	struct json_object *map;
	size_t n;

	memset(u, 0, sizeof(*u));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_update_fields, error_r) != 0) ||
	    api_json_get_object(obj, "update", true, &map, error_r) != 0)
		return -1;
	n = (size_t)json_object_object_length(map);
	if (n == 0 || n > API_MAX_BATCH) {
		*error_r = "field 'update' must name 1 to 500 messages";
		return -1;
	}
	u->patches = sb_calloc(n, sizeof(*u->patches));
	json_object_object_foreach(map, id, val)
	{
		struct api_patch *p = &u->patches[u->count++];

		if (!api_is_id(id, strlen(id)) ||
		    !json_object_is_type(val, json_type_object)) {
			*error_r = "field 'update' maps ids to objects";
			api_update_free(u);
			return -1;
		}
		p->id = sb_strdup(id);
		if (api_patch_decode(val, mode, p, error_r) != 0) {
			api_update_free(u);
			return -1;
		}
	}
	return 0;
}

static void
api_patch_add(struct json_object *o, const char *name, bool present,
              const struct api_strings *list)
{
	if (present || list->count > 0)
		json_object_object_add(o, name, api_strings_to_json(list));
}

struct json_object *
api_update_to_json(const struct api_update *u)
{
	struct json_object *root = json_object_new_object();
	struct json_object *map = json_object_new_object();
	size_t i;

	for (i = 0; i < u->count; i++) {
		const struct api_patch *p = &u->patches[i];
		struct json_object *o = json_object_new_object();

		api_patch_add(o, "keywords", p->replace_keywords, &p->keywords);
		api_patch_add(o, "add_keywords", false, &p->add_keywords);
		api_patch_add(o, "remove_keywords", false, &p->remove_keywords);
		api_patch_add(o, "mailbox_ids", p->replace_mailboxes,
		              &p->mailbox_ids);
		api_patch_add(o, "add_mailbox_ids", false, &p->add_mailbox_ids);
		api_patch_add(o, "remove_mailbox_ids", false,
		              &p->remove_mailbox_ids);
		json_object_object_add(map, p->id, o);
	}
	json_object_object_add(root, "update", map);
	return root;
}

void
api_update_free(struct api_update *u)
{
	size_t i;

	for (i = 0; i < u->count; i++)
		api_patch_free(&u->patches[i]);
	free(u->patches);
	u->patches = NULL;
	u->count = 0;
}

static const char *const api_ids_fields[] = {"created", "updated", "destroyed",
                                             NULL};

static int SB_WUR
api_change_ids_decode(struct json_object *obj, const char *name,
                      enum api_mode mode, struct api_change_ids *c,
                      const char **error_r)
{
	struct json_object *o;

	if (api_json_get_object(obj, name, true, &o, error_r) != 0 ||
	    (mode == API_STRICT &&
	     api_json_only(o, api_ids_fields, error_r) != 0) ||
	    api_json_get_strings(o, "created", true, API_MAX_CHANGES,
	                         api_check_id, &c->created, error_r) != 0 ||
	    api_json_get_strings(o, "updated", true, API_MAX_CHANGES,
	                         api_check_id, &c->updated, error_r) != 0 ||
	    api_json_get_strings(o, "destroyed", true, API_MAX_CHANGES,
	                         api_check_id, &c->destroyed, error_r) != 0)
		return -1;
	return 0;
}

static const char *const api_changes_fields[] = {
        "old_state", "new_state", "has_more", "messages", "mailboxes", NULL};

int
api_changes_decode(struct json_object *obj, enum api_mode mode,
                   struct api_changes *c, const char **error_r)
{
	const char *old_state = NULL, *new_state = NULL;

	memset(c, 0, sizeof(*c));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_changes_fields, error_r) != 0) ||
	    api_json_get_string(obj, "old_state", true, 1, API_ID_MAX,
	                        &old_state, error_r) != 0 ||
	    api_json_get_string(obj, "new_state", true, 1, API_ID_MAX,
	                        &new_state, error_r) != 0 ||
	    api_json_get_bool(obj, "has_more", true, &c->has_more, error_r) !=
	            0 ||
	    api_change_ids_decode(obj, "messages", mode, &c->messages,
	                          error_r) != 0 ||
	    api_change_ids_decode(obj, "mailboxes", mode, &c->mailboxes,
	                          error_r) != 0) {
		api_changes_free(c);
		return -1;
	}
	c->old_state = sb_strdup(old_state);
	c->new_state = sb_strdup(new_state);
	return 0;
}

static struct json_object *
api_change_ids_to_json(const struct api_change_ids *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "created", api_strings_to_json(&c->created));
	json_object_object_add(o, "updated", api_strings_to_json(&c->updated));
	json_object_object_add(o, "destroyed",
	                       api_strings_to_json(&c->destroyed));
	return o;
}

struct json_object *
api_changes_to_json(const struct api_changes *c)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "old_state", c->old_state);
	api_json_add_string(o, "new_state", c->new_state);
	json_object_object_add(o, "has_more",
	                       json_object_new_boolean(c->has_more));
	json_object_object_add(o, "messages",
	                       api_change_ids_to_json(&c->messages));
	json_object_object_add(o, "mailboxes",
	                       api_change_ids_to_json(&c->mailboxes));
	return o;
}

static void
api_change_ids_free(struct api_change_ids *c)
{
	api_strings_free(&c->created);
	api_strings_free(&c->updated);
	api_strings_free(&c->destroyed);
}

void
api_changes_free(struct api_changes *c)
{
	free(c->old_state);
	free(c->new_state);
	c->old_state = c->new_state = NULL;
	api_change_ids_free(&c->messages);
	api_change_ids_free(&c->mailboxes);
}
