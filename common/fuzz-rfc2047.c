/*
 * RFC 2047 decoding of any header value gives valid UTF-8 within the
 * bound; encoding valid UTF-8 gives words that decode back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/charset.h"
#include "common/rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_buf out, back;
	const char *error;
	unsigned int flags;

	sb_buf_init(&out, 1 << 16);
	if (sb_rfc2047_decode((const char *)data, size, &out, &flags) == 0 &&
	    !sb_utf8_valid(sb_buf_str(&out), out.len))
		abort();
	sb_buf_free(&out);

	if (!sb_utf8_valid(data, size))
		return 0;
	sb_buf_init(&out, 1 << 18);
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
	return 0;
}
