/* Internals shared by the api/ files. */
#ifndef SB_API_PRIVATE_H
#define SB_API_PRIVATE_H

#include <json-c/json.h>

#include "common/compiler.h"

/* Formats a sentence into the thread's error buffer (json.c). */
const char *api_errorf(const char *fmt, ...) SB_PRINTF(1, 2);

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* api_is_id with the signature list checks take (model-mail.c). */
bool api_check_id(const char *s, size_t len);
/* An address already in lower case (model-submit.c). */
bool api_check_email(const char *s, size_t len);
/* Reads a summary and a key packet field, checking their magic. */
int api_get_sealed(struct json_object *obj, const char *summary_name,
                   const char *packet_name, struct sb_buf *summary,
                   unsigned char packet[85], const char **error_r) SB_WUR;

#endif
