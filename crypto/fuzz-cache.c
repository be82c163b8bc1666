/*
 * Fuzzes the records of a cache value (crypto/cache.h). Whatever decodes
 * must encode back to the same bytes (the format is canonical), every
 * record it holds must be refused as a second one of its type, and the
 * set sealed under a fixed key must open to it again. Each strict prefix
 * of a decoded input is refused (the end record marks the whole).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cache.h"

static const unsigned char fuzz_key[SB_KEY_BYTES] = {5, 5, 5};

static void
fuzz_records(const uint8_t *data, size_t size)
{
	struct sb_cache_records rs;
	struct sb_cache_verdict v;
	struct sb_buf out, sealed;
	const char *error;
	size_t i;

	if (sb_cache_records_decode(data, size, &rs, &error) != 0)
		return;
	sb_buf_init(&out, 64 << 20);
	if (sb_cache_records_encode(&rs, &out) != 0 || out.len != size ||
	    memcmp(out.data, data, size) != 0)
		abort();
	for (i = 0; i < rs.count; i++) {
		if (sb_cache_records_add(&rs, rs.r[i].type, rs.r[i].value,
		                         rs.r[i].len, &error) != 0)
			abort();
		if (rs.r[i].type == SB_CACHE_VERDICT &&
		    sb_cache_verdict_decode(rs.r[i].value, rs.r[i].len, &v,
		                            &error) != 0)
			abort();
	}
	if (size > 0 &&
	    sb_cache_records_decode(data, size - 1, &rs, &error) == 0)
		abort();
	sb_buf_init(&sealed, 64 << 20);
	sb_buf_reset(&out);
	if (sb_cache_seal(fuzz_key, "cache:1", data, size, &sealed) != 0 ||
	    sb_cache_open(fuzz_key, "cache:1", sealed.data, sealed.len, &out,
	                  &error) != 0 ||
	    out.len != size || (size > 0 && memcmp(out.data, data, size) != 0))
		abort();
	sb_buf_free(&sealed);
	sb_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sb_cache_verdict v;
	const char *error;

	if (!ready) {
		if (sb_crypto_init() != 0)
			abort();
		ready = 1;
	}
	fuzz_records(data, size);
	/* The same bytes as a verdict record's value alone. */
	if (sb_cache_verdict_decode(data, size, &v, &error) == 0 &&
	    (v.field_len != size - 2 ||
	     !sb_cache_field_valid(v.field, v.field_len)))
		abort();
	return 0;
}
