/* The list answers of the model: mailboxes, and a page of messages. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "api-private.h"

/* A state string: as the change feed's, 1 to 64 bytes. */
static int SB_WUR
api_get_state(struct json_object *obj, char **state_r, const char **error_r)
{
	const char *state = NULL;

	if (api_json_get_string(obj, "state", true, 1, API_ID_MAX, &state,
	                        error_r) != 0)
		return -1;
	*state_r = sb_strdup(state);
	return 0;
}

/*
 * The array field name of obj, of at most max items: returns its length
 * in *n_r and the array in *arr_r.
 */
static int SB_WUR
api_get_array(struct json_object *obj, const char *name, size_t max,
              struct json_object **arr_r, size_t *n_r, const char **error_r)
{
	if (!json_object_object_get_ex(obj, name, arr_r) ||
	    !json_object_is_type(*arr_r, json_type_array)) {
		*error_r = api_errorf("field '%s' must be an array", name);
		return -1;
	}
	*n_r = json_object_array_length(*arr_r);
	if (*n_r > max) {
		*error_r = api_errorf("field '%s' has more than %zu items",
		                      name, max);
		return -1;
	}
	return 0;
}

static const char *const api_mailbox_list_fields[] = {"mailboxes", "state",
                                                      NULL};

int
api_mailbox_list_decode(struct json_object *obj, enum api_mode mode,
                        struct api_mailbox_list *l, const char **error_r)
{
	struct json_object *arr, *item;
	size_t i, j, n;

	memset(l, 0, sizeof(*l));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_mailbox_list_fields, error_r) != 0) ||
	    api_get_array(obj, "mailboxes", API_MAX_MAILBOXES, &arr, &n,
	                  error_r) != 0)
		return -1;
	l->items = sb_calloc(n + 1, sizeof(*l->items));
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object)) {
			*error_r = "field 'mailboxes' holds a non-object";
			goto fail;
		}
		if (api_mailbox_decode(item, mode, &l->items[i], error_r) != 0)
			goto fail;
		l->count++;
		for (j = 0; j < i; j++) {
			if (strcmp(l->items[j].id, l->items[i].id) == 0) {
				*error_r = "field 'mailboxes' repeats an id";
				goto fail;
			}
		}
	}
	if (api_get_state(obj, &l->state, error_r) != 0)
		goto fail;
	return 0;
fail:
	api_mailbox_list_free(l);
	return -1;
}

struct json_object *
api_mailbox_list_to_json(const struct api_mailbox_list *l)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < l->count; i++)
		json_object_array_add(arr, api_mailbox_to_json(&l->items[i]));
	json_object_object_add(o, "mailboxes", arr);
	api_json_add_string(o, "state", l->state);
	return o;
}

void
api_mailbox_list_free(struct api_mailbox_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		api_mailbox_free(&l->items[i]);
	free(l->items);
	free(l->state);
	memset(l, 0, sizeof(*l));
}

/* A cursor: 1 to API_CURSOR_MAX bytes of printable ASCII, or null. */
static int SB_WUR
api_get_cursor(struct json_object *obj, char **cursor_r, const char **error_r)
{
	struct json_object *val;
	const char *s = NULL;
	size_t i;

	*cursor_r = NULL;
	if (!json_object_object_get_ex(obj, "next_cursor", &val)) {
		*error_r = "field 'next_cursor' is missing";
		return -1;
	}
	if (val == NULL)
		return 0;
	if (api_json_get_string(obj, "next_cursor", true, 1, API_CURSOR_MAX, &s,
	                        error_r) != 0)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			*error_r = "field 'next_cursor' must be printable "
			           "ASCII";
			return -1;
		}
	}
	*cursor_r = sb_strdup(s);
	return 0;
}

static const char *const api_page_fields[] = {"messages", "next_cursor",
                                              "state", NULL};

int
api_message_page_decode(struct json_object *obj, enum api_mode mode,
                        struct api_message_page *p, const char **error_r)
{
	struct json_object *arr, *item;
	size_t i, n;

	memset(p, 0, sizeof(*p));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_page_fields, error_r) != 0) ||
	    api_get_array(obj, "messages", API_MAX_PAGE, &arr, &n, error_r) !=
	            0)
		return -1;
	p->items = sb_calloc(n + 1, sizeof(*p->items));
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object)) {
			*error_r = "field 'messages' holds a non-object";
			goto fail;
		}
		if (api_message_decode(item, mode, &p->items[i], error_r) != 0)
			goto fail;
		p->count++;
	}
	if (api_get_cursor(obj, &p->next_cursor, error_r) != 0 ||
	    api_get_state(obj, &p->state, error_r) != 0)
		goto fail;
	return 0;
fail:
	api_message_page_free(p);
	return -1;
}

struct json_object *
api_message_page_to_json(const struct api_message_page *p)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < p->count; i++)
		json_object_array_add(arr, api_message_to_json(&p->items[i]));
	json_object_object_add(o, "messages", arr);
	api_json_add_string_or_null(o, "next_cursor", p->next_cursor);
	api_json_add_string(o, "state", p->state);
	return o;
}

void
api_message_page_free(struct api_message_page *p)
{
	size_t i;

	for (i = 0; i < p->count; i++)
		api_message_free(&p->items[i]);
	free(p->items);
	free(p->next_cursor);
	free(p->state);
	memset(p, 0, sizeof(*p));
}
