/* The API's error types, their statuses and their JSON form. */
#include "api.h"

#include <string.h>

#include "common/alloc.h"
#include "api-private.h"

static const struct {
	const char *name;
	unsigned status;
} api_errors[API_ERR_COUNT] = {
        [API_ERR_INVALID_REQUEST] = {"invalid_request", 400},
        [API_ERR_UNAUTHORIZED] = {"unauthorized", 401},
        [API_ERR_TOKEN_EXPIRED] = {"token_expired", 401},
        [API_ERR_INVALID_CREDENTIALS] = {"invalid_credentials", 401},
        [API_ERR_FORBIDDEN] = {"forbidden", 403},
        [API_ERR_NOT_FOUND] = {"not_found", 404},
        [API_ERR_CONFLICT] = {"conflict", 409},
        [API_ERR_IDEMPOTENCY_KEY_REUSED] = {"idempotency_key_reused", 409},
        [API_ERR_CANNOT_CALCULATE_CHANGES] = {"cannot_calculate_changes", 410},
        [API_ERR_TOO_LARGE] = {"too_large", 413},
        [API_ERR_OVER_QUOTA] = {"over_quota", 413},
        [API_ERR_RANGE_NOT_SATISFIABLE] = {"range_not_satisfiable", 416},
        [API_ERR_UNKNOWN_RECIPIENT] = {"unknown_recipient", 422},
        [API_ERR_RATE_LIMITED] = {"rate_limited", 429},
        [API_ERR_SERVER_ERROR] = {"server_error", 500},
        [API_ERR_UNAVAILABLE] = {"unavailable", 503},
};

const char *
api_error_name(enum api_error_type type)
{
	return (unsigned)type < API_ERR_COUNT ? api_errors[type].name : NULL;
}

unsigned
api_error_status(enum api_error_type type)
{
	return (unsigned)type < API_ERR_COUNT ? api_errors[type].status : 500;
}

int
api_error_parse_name(const char *name, enum api_error_type *type_r)
{
	unsigned i;

	for (i = 0; i < API_ERR_COUNT; i++) {
		if (strcmp(api_errors[i].name, name) == 0) {
			*type_r = (enum api_error_type)i;
			return 0;
		}
	}
	return -1;
}

struct json_object *
api_error_to_json(enum api_error_type type, const char *message)
{
	struct json_object *root = json_object_new_object();
	struct json_object *err = json_object_new_object();

	api_json_add_string(err, "type", api_error_name(type));
	api_json_add_string(err, "message", message);
	json_object_object_add(root, "error", err);
	return root;
}

int
api_error_decode(struct json_object *obj, enum api_error_type *type_r,
                 char **message_r, const char **error_r)
{
	struct json_object *err;
	const char *type = NULL, *message = NULL;

	if (api_json_get_object(obj, "error", true, &err, error_r) != 0 ||
	    api_json_get_string(err, "type", true, 1, 64, &type, error_r) !=
	            0 ||
	    api_json_get_string(err, "message", true, 0, 4096, &message,
	                        error_r) != 0)
		return -1;
	if (api_error_parse_name(type, type_r) != 0) {
		/* A type of a later version: treat it as a server fault. */
		*type_r = API_ERR_SERVER_ERROR;
	}
	*message_r = sb_strdup(message);
	return 0;
}
