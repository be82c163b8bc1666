/*
 * Fuzz target for modified UTF-7. The input is decoded as a mailbox name:
 * when that succeeds, the name must be valid UTF-8 without controls and
 * encode back to exactly the input (the decoder accepts one spelling per
 * name). The input is also encoded as a UTF-8 name: when that succeeds,
 * the result must be printable ASCII and decode back to the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-utf7: %s\n", what);
	abort();
}

static bool
fuzz_same(const struct sb_buf *b, const uint8_t *data, size_t size)
{
	return b->len == size &&
	       (size == 0 || memcmp(b->data, data, size) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct sb_buf utf8, utf7;
	const char *error = NULL;

	sb_buf_init(&utf8, 4 * size + 16);
	sb_buf_init(&utf7, 4 * size + 16);
	if (imap_utf7_to_utf8(in, size, &utf8, &error) == 0) {
		if (!imap_utf8_name_valid(sb_buf_str(&utf8), utf8.len))
			fuzz_fail("decoded name not valid");
		if (imap_utf8_to_utf7(sb_buf_str(&utf8), utf8.len, &utf7,
		                      &error) != 0)
			fuzz_fail("decoded name does not encode");
		if (!fuzz_same(&utf7, data, size))
			fuzz_fail("decode then encode differs");
	} else if (error == NULL || utf8.len != 0) {
		fuzz_fail("decode error without a message, or output");
	}
	sb_buf_reset(&utf8);
	sb_buf_reset(&utf7);
	if (imap_utf8_to_utf7(in, size, &utf7, &error) == 0) {
		for (size_t i = 0; i < utf7.len; i++) {
			if (utf7.data[i] < 0x20 || utf7.data[i] > 0x7e)
				fuzz_fail("encoded name not printable ASCII");
		}
		if (imap_utf7_to_utf8(sb_buf_str(&utf7), utf7.len, &utf8,
		                      &error) != 0)
			fuzz_fail("encoded name does not decode");
		if (!fuzz_same(&utf8, data, size))
			fuzz_fail("encode then decode differs");
	} else if (imap_utf8_name_valid(in, size)) {
		fuzz_fail("valid name refused");
	}
	sb_buf_free(&utf8);
	sb_buf_free(&utf7);
	return 0;
}
