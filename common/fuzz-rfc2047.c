/*
 * RFC 2047 decoding of any header value gives valid UTF-8 without control
 * characters within the bound; encoding valid UTF-8 gives words that
 * decode back to it (control characters are refused); a phrase encoded
 * for a display name stays one display name in an address list.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/address.h"
#include "common/charset.h"
#include "common/rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
has_control(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((c[i] < 0x20 && c[i] != '\t') || c[i] == 0x7f)
			return true;
	}
	return false;
}

/* A phrase, as a display name, makes exactly one address. */
static void
check_phrase(const uint8_t *data, size_t size)
{
	struct sb_address_list *list;
	const char *error;
	struct sb_buf out;

	sb_buf_init(&out, 1 << 18);
	if (sb_rfc2047_encode_phrase((const char *)data, size, size % 30,
	                             (enum sb_rfc2047_encoding)(size % 3), &out,
	                             &error) != 0 ||
	    sb_buf_add_str(&out, " <a@b.test>") != 0)
		abort();
	list = sb_address_list_parse_new(out.data, out.len, 10);
	if (list->count != 1 || (list->flags & ~SB_ADDRESS_ERR_TOO_LONG) != 0 ||
	    strcmp(list->addrs[0].mailbox, "a") != 0 ||
	    strcmp(list->addrs[0].domain, "b.test") != 0)
		abort();
	sb_address_list_free(&list);
	sb_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_buf out, back;
	const char *error;
	unsigned int flags;

	sb_buf_init(&out, 1 << 16);
	if (sb_rfc2047_decode((const char *)data, size, &out, &flags) == 0 &&
	    (!sb_utf8_valid(sb_buf_str(&out), out.len) ||
	     has_control(sb_buf_str(&out), out.len)))
		abort();
	sb_buf_free(&out);

	if (!sb_utf8_valid(data, size))
		return 0;
	sb_buf_init(&out, 1 << 18);
	if (has_control(data, size)) {
		/* Refused, in both modes. */
		if (sb_rfc2047_encode((const char *)data, size, 0,
		                      SB_RFC2047_AUTO, &out, &error) == 0 ||
		    sb_rfc2047_encode_phrase((const char *)data, size, 0,
		                             SB_RFC2047_AUTO, &out,
		                             &error) == 0)
			abort();
		sb_buf_free(&out);
		return 0;
	}
	sb_buf_init(&back, 1 << 18);
	if (sb_rfc2047_encode((const char *)data, size, size % 30,
	                      (enum sb_rfc2047_encoding)(size % 3), &out,
	                      &error) != 0 ||
	    sb_rfc2047_decode(out.data, out.len, &back, &flags) != 0 ||
	    flags != 0 || back.len != size ||
	    (size > 0 && memcmp(back.data, data, size) != 0))
		abort();
	sb_buf_free(&out);
	sb_buf_free(&back);
	check_phrase(data, size);
	return 0;
}
