/* Strict JSON parsing and field validators for the API model. */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/charset.h"
#include "common/codec.h"
#include "api-private.h"

static _Thread_local char api_error_text[256];

const char *
api_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(api_error_text, sizeof(api_error_text), fmt, ap);
	va_end(ap);
	return api_error_text;
}

int
api_json_parse(const void *data, size_t len, struct json_object **obj_r,
               const char **error_r)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;

	if (len > API_MAX_JSON_BODY || len > INT32_MAX) {
		*error_r = "the JSON body is too large";
		return -1;
	}
	tok = json_tokener_new_ex(API_JSON_MAX_DEPTH);
	if (tok == NULL)
		sb_oom(sizeof(*tok));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* Strict mode: the text must be complete as given. */
		json_object_put(obj);
		obj = NULL;
		*error_r = "the JSON body is incomplete";
	} else if (jerr != json_tokener_success) {
		*error_r = api_errorf("the body is not valid JSON: %s",
		                      json_tokener_error_desc(jerr));
	} else if (json_tokener_get_parse_end(tok) != len) {
		json_object_put(obj);
		obj = NULL;
		*error_r = "the JSON body has bytes after its end";
	} else if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
		*error_r = "the JSON body must be an object";
	}
	json_tokener_free(tok);
	if (obj == NULL)
		return -1;
	*obj_r = obj;
	return 0;
}

const char *
api_json_text(struct json_object *obj, size_t *len_r)
{
	return json_object_to_json_string_length(
	        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	        len_r);
}

int
api_json_only(struct json_object *obj, const char *const *allowed,
              const char **error_r)
{
	const char *const *a;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		for (a = allowed; *a != NULL; a++) {
			if (strcmp(*a, key) == 0)
				break;
		}
		if (*a == NULL) {
			*error_r = api_errorf("unknown field '%.64s'", key);
			return -1;
		}
	}
	return 0;
}

/*
 * Looks a field up. Returns 1 with *val_r, 0 when it is missing (an error
 * only when required), -1 with error_r.
 */
static int
api_field(struct json_object *obj, const char *name, bool required,
          enum json_type type, struct json_object **val_r, const char **error_r)
{
	struct json_object *val;

	if (!json_object_object_get_ex(obj, name, &val)) {
		if (!required)
			return 0;
		*error_r = api_errorf("field '%s' is missing", name);
		return -1;
	}
	if (!json_object_is_type(val, type)) {
		*error_r = api_errorf("field '%s' must be %s", name,
		                      json_type_to_name(type));
		return -1;
	}
	*val_r = val;
	return 1;
}

int
api_json_get_string(struct json_object *obj, const char *name, bool required,
                    size_t min, size_t max, const char **value_r,
                    const char **error_r)
{
	struct json_object *val;
	const char *s;
	size_t len;
	int ret;

	ret = api_field(obj, name, required, json_type_string, &val, error_r);
	if (ret <= 0)
		return ret;
	s = json_object_get_string(val);
	len = (size_t)json_object_get_string_len(val);
	if (len < min || len > max) {
		*error_r = api_errorf("field '%s' must be %zu to %zu bytes",
		                      name, min, max);
		return -1;
	}
	if (strlen(s) != len) {
		*error_r = api_errorf("field '%s' must not contain NUL", name);
		return -1;
	}
	*value_r = s;
	return 0;
}

bool
api_is_id(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > API_ID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
api_json_get_id(struct json_object *obj, const char *name, bool required,
                const char **value_r, const char **error_r)
{
	const char *s = NULL;

	if (api_json_get_string(obj, name, required, 1, API_ID_MAX, &s,
	                        error_r) != 0)
		return -1;
	if (s != NULL && !api_is_id(s, strlen(s))) {
		*error_r = api_errorf("field '%s' is not a valid id", name);
		return -1;
	}
	if (s != NULL)
		*value_r = s;
	return 0;
}

int
api_json_get_id_or_null(struct json_object *obj, const char *name,
                        const char **value_r, const char **error_r)
{
	struct json_object *val;

	if (json_object_object_get_ex(obj, name, &val) && val == NULL) {
		*value_r = NULL;
		return 0;
	}
	*value_r = NULL;
	return api_json_get_id(obj, name, false, value_r, error_r);
}

bool
api_is_email(const char *s, size_t len)
{
	const char *at;
	size_t i;

	if (len < 3 || len > API_EMAIL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' ||
		    c == ',' || c == '"' || c == '\\' || c == '(' || c == ')')
			return false;
	}
	at = memchr(s, '@', len);
	/* One '@', with something on both sides. */
	return at != NULL && at != s && at != s + len - 1 &&
	       memchr(at + 1, '@', (size_t)(s + len - at - 1)) == NULL &&
	       sb_utf8_valid(s, len);
}

int
api_json_get_email(struct json_object *obj, const char *name, bool required,
                   char **value_r, const char **error_r)
{
	const char *s = NULL;
	char *copy;
	size_t i;

	if (api_json_get_string(obj, name, required, 1, API_EMAIL_MAX, &s,
	                        error_r) != 0)
		return -1;
	if (s == NULL)
		return 0;
	if (!api_is_email(s, strlen(s))) {
		*error_r = api_errorf("field '%s' is not an address", name);
		return -1;
	}
	copy = sb_strdup(s);
	for (i = 0; copy[i] != '\0'; i++) {
		if (copy[i] >= 'A' && copy[i] <= 'Z')
			copy[i] = (char)(copy[i] - 'A' + 'a');
	}
	*value_r = copy;
	return 0;
}

int
api_json_get_u64(struct json_object *obj, const char *name, bool required,
                 uint64_t min, uint64_t max, uint64_t *value_r,
                 const char **error_r)
{
	struct json_object *val;
	int64_t v;
	int ret;

	ret = api_field(obj, name, required, json_type_int, &val, error_r);
	if (ret <= 0)
		return ret;
	v = json_object_get_int64(val);
	/* json-c keeps values past INT64_MAX as unsigned: refuse them. */
	if (v < 0 || (uint64_t)v < min || (uint64_t)v > max ||
	    json_object_get_uint64(val) != (uint64_t)v) {
		*error_r = api_errorf("field '%s' must be %llu to %llu", name,
		                      (unsigned long long)min,
		                      (unsigned long long)max);
		return -1;
	}
	*value_r = (uint64_t)v;
	return 0;
}

int
api_json_get_bool(struct json_object *obj, const char *name, bool required,
                  bool *value_r, const char **error_r)
{
	struct json_object *val;
	int ret;

	ret = api_field(obj, name, required, json_type_boolean, &val, error_r);
	if (ret <= 0)
		return ret;
	*value_r = json_object_get_boolean(val) != 0;
	return 0;
}

/* Strict base64: the standard alphabet, padded, no white space. */
static bool
api_is_base64(const char *s, size_t len)
{
	size_t i, pad = 0;

	if (len % 4 != 0)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return pad <= 2;
}

int
api_json_get_bytes(struct json_object *obj, const char *name, bool required,
                   size_t min, size_t max, struct sb_buf *out,
                   const char **error_r)
{
	const char *s = NULL;
	unsigned int flags = 0;
	size_t len;

	/* The longest base64 text that can hold max bytes. */
	size_t text_max = max > SIZE_MAX / 2 ? SIZE_MAX : (max + 2) / 3 * 4;

	if (api_json_get_string(obj, name, required, 0, text_max, &s,
	                        error_r) != 0)
		return -1;
	if (s == NULL)
		return 0;
	len = strlen(s);
	sb_buf_reset(out);
	if (!api_is_base64(s, len) ||
	    sb_base64_decode(s, len, out, &flags) != 0 || flags != 0) {
		sb_buf_free(out);
		*error_r = api_errorf("field '%s' is not valid base64", name);
		return -1;
	}
	if (out->len < min || out->len > max) {
		sb_buf_free(out);
		*error_r = api_errorf("field '%s' must hold %zu to %zu bytes",
		                      name, min, max);
		return -1;
	}
	return 0;
}

int
api_json_get_fixed(struct json_object *obj, const char *name, bool required,
                   void *out, size_t len, const char **error_r)
{
	struct sb_buf b;
	int ret;

	sb_buf_init(&b, len);
	ret = api_json_get_bytes(obj, name, required, len, len, &b, error_r);
	if (ret == 0 && b.data != NULL)
		memcpy(out, b.data, len);
	sb_buf_free_wipe(&b);
	return ret;
}

int
api_json_get_object(struct json_object *obj, const char *name, bool required,
                    struct json_object **value_r, const char **error_r)
{
	struct json_object *val;
	int ret;

	ret = api_field(obj, name, required, json_type_object, &val, error_r);
	if (ret <= 0)
		return ret;
	*value_r = val;
	return 0;
}

bool
api_is_keyword(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > API_KEYWORD_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z') ||
		    strchr("(){ %*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

void
api_strings_add(struct api_strings *list, const char *s)
{
	list->items =
	        sb_reallocarray(list->items, list->count + 1, sizeof(char *));
	list->items[list->count++] = sb_strdup(s);
}

bool
api_strings_has(const struct api_strings *list, const char *s)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (strcmp(list->items[i], s) == 0)
			return true;
	}
	return false;
}

void
api_strings_free(struct api_strings *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int
api_json_get_strings(struct json_object *obj, const char *name, bool required,
                     size_t max, bool (*check)(const char *s, size_t len),
                     struct api_strings *list_r, const char **error_r)
{
	struct json_object *val, *item;
	size_t i, n;
	int ret;

	ret = api_field(obj, name, required, json_type_array, &val, error_r);
	if (ret <= 0)
		return ret;
	n = json_object_array_length(val);
	if (n > max) {
		*error_r = api_errorf("field '%s' has more than %zu items",
		                      name, max);
		return -1;
	}
	api_strings_free(list_r);
	for (i = 0; i < n; i++) {
		const char *s;

		item = json_object_array_get_idx(val, i);
		if (!json_object_is_type(item, json_type_string) ||
		    !check(s = json_object_get_string(item),
		           (size_t)json_object_get_string_len(item)) ||
		    strlen(s) != (size_t)json_object_get_string_len(item)) {
			api_strings_free(list_r);
			*error_r = api_errorf("field '%s' has an invalid item",
			                      name);
			return -1;
		}
		if (api_strings_has(list_r, s)) {
			api_strings_free(list_r);
			*error_r =
			        api_errorf("field '%s' repeats an item", name);
			return -1;
		}
		api_strings_add(list_r, s);
	}
	return 0;
}

struct json_object *
api_strings_to_json(const struct api_strings *list)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < list->count; i++)
		json_object_array_add(arr,
		                      json_object_new_string(list->items[i]));
	return arr;
}

void
api_json_add_bytes(struct json_object *obj, const char *name, const void *data,
                   size_t len)
{
	struct sb_buf b;

	sb_buf_init(&b, SIZE_MAX);
	if (sb_base64_encode(data, len, &b) != 0)
		abort();
	json_object_object_add(
	        obj, name,
	        json_object_new_string_len(sb_buf_str(&b), (int)b.len));
	sb_buf_free(&b);
}

void
api_json_add_string(struct json_object *obj, const char *name,
                    const char *value)
{
	json_object_object_add(obj, name, json_object_new_string(value));
}

void
api_json_add_string_or_null(struct json_object *obj, const char *name,
                            const char *value)
{
	json_object_object_add(obj, name,
	                       value != NULL ? json_object_new_string(value)
	                                     : NULL);
}

void
api_json_add_u64(struct json_object *obj, const char *name, uint64_t value)
{
	json_object_object_add(obj, name,
	                       json_object_new_int64((int64_t)value));
}
