/*
 * Base64 and quoted-printable decoders: any input, fed whole and in
 * chunks of a size the input chooses, must decode the same; encoders must
 * round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX (1 << 20)

static void
decode(bool qp, const uint8_t *data, size_t size, size_t step,
       struct sb_buf *out, unsigned int *flags)
{
	struct sb_base64_decoder b;
	struct sb_qp_decoder q;
	size_t i, n;

	sb_base64_decoder_init(&b, out);
	sb_qp_decoder_init(&q, out);
	for (i = 0; i < size; i += n) {
		n = size - i < step ? size - i : step;
		if ((qp ? sb_qp_decoder_feed(&q, data + i, n)
		        : sb_base64_decoder_feed(&b, data + i, n)) < 0)
			abort();
	}
	if ((qp ? sb_qp_decoder_finish(&q) : sb_base64_decoder_finish(&b)) != 0)
		abort();
	*flags = qp ? q.flags : b.flags;
}

static void
check_chunking(bool qp, const uint8_t *data, size_t size, size_t step)
{
	struct sb_buf whole, chunked;
	unsigned int f1, f2;

	sb_buf_init(&whole, FUZZ_MAX);
	sb_buf_init(&chunked, FUZZ_MAX);
	decode(qp, data, size, size == 0 ? 1 : size, &whole, &f1);
	decode(qp, data, size, step, &chunked, &f2);
	if (f1 != f2 || whole.len != chunked.len ||
	    (whole.len > 0 && memcmp(whole.data, chunked.data, whole.len) != 0))
		abort();
	sb_buf_free(&whole);
	sb_buf_free(&chunked);
}

static void
check_roundtrip(const uint8_t *data, size_t size)
{
	struct sb_buf enc, dec;
	unsigned int flags;

	sb_buf_init(&enc, FUZZ_MAX);
	sb_buf_init(&dec, FUZZ_MAX);
	if (sb_base64_encode(data, size, &enc) != 0 ||
	    sb_base64_decode(enc.data, enc.len, &dec, &flags) != 0 ||
	    flags != 0 || dec.len != size ||
	    (size > 0 && memcmp(dec.data, data, size) != 0))
		abort();
	sb_buf_reset(&enc);
	sb_buf_reset(&dec);
	if (sb_qp_encode(data, size, SB_QP_ENCODE_BINARY, &enc) != 0 ||
	    sb_qp_decode(enc.data, enc.len, &dec, &flags) != 0 || flags != 0 ||
	    dec.len != size || (size > 0 && memcmp(dec.data, data, size) != 0))
		abort();
	sb_buf_reset(&enc);
	sb_buf_reset(&dec);
	/* Text mode too decodes cleanly, if not always to the same bytes. */
	if (sb_qp_encode(data, size, 0, &enc) != 0 ||
	    sb_qp_decode(enc.data, enc.len, &dec, &flags) != 0 || flags != 0)
		abort();
	sb_buf_free(&enc);
	sb_buf_free(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 16) + 1;
	data++;
	size--;
	check_chunking(false, data, size, step);
	check_chunking(true, data, size, step);
	check_roundtrip(data, size);
	return 0;
}
