#include "utf7.h"

#include <stdint.h>

#include "common/charset.h"
#include "common/codec.h"

/* RFC 3501 5.1.3: base64 with ',' in place of '/'. */
#define UTF7_B64_63 ','

static bool
utf7_is_direct(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* C0, DEL and C1 controls. */
static bool
utf7_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool
imap_utf8_name_valid(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;

	if (!sb_utf8_valid(name, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		/* U+0080..U+009F are C2 80..C2 9F. */
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

static int
utf7_add_utf8(uint32_t cp, struct sb_buf *out)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return sb_buf_add(out, b, n);
}

/* Why a shift was refused, or that out filled up. */
enum utf7_result {
	UTF7_OK,
	UTF7_INVALID,
	UTF7_FULL,
};

/* One UTF-16 unit of a shift; *high holds a pending high surrogate. */
static enum utf7_result
utf7_decode_unit(uint32_t unit, uint32_t *high, struct sb_buf *out,
                 const char **error_r)
{
	uint32_t cp;

	if (unit >= 0xd800 && unit <= 0xdbff) {
		if (*high != 0) {
			*error_r = "mailbox name has an unpaired surrogate";
			return UTF7_INVALID;
		}
		*high = unit;
		return UTF7_OK;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff) {
		if (*high == 0) {
			*error_r = "mailbox name has an unpaired surrogate";
			return UTF7_INVALID;
		}
		cp = 0x10000 + ((*high - 0xd800) << 10) + (unit - 0xdc00);
		*high = 0;
	} else {
		if (*high != 0) {
			*error_r = "mailbox name has an unpaired surrogate";
			return UTF7_INVALID;
		}
		cp = unit;
	}
	if (cp < 0x80 && utf7_is_direct((unsigned char)cp)) {
		*error_r = "mailbox name encodes printable ASCII in base64";
		return UTF7_INVALID;
	}
	if (utf7_is_control(cp)) {
		*error_r = "mailbox name has a control character";
		return UTF7_INVALID;
	}
	return utf7_add_utf8(cp, out) == 0 ? UTF7_OK : UTF7_FULL;
}

/*
 * Decodes the base64 of a shift that starts at *pos (just after its '&')
 * up to and including its '-', and leaves *pos after it.
 */
static enum utf7_result
utf7_decode_shift(const char *in, size_t len, size_t *pos, struct sb_buf *out,
                  const char **error_r)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t i = *pos;
	enum utf7_result r;

	for (;;) {
		int v;

		if (i >= len) {
			*error_r = "mailbox name has an unterminated shift";
			return UTF7_INVALID;
		}
		if (in[i] == '-')
			break;
		v = sb_base64_digit_value((unsigned char)in[i++], UTF7_B64_63);
		if (v < 0) {
			*error_r =
			        "mailbox name has an invalid base64 character";
			return UTF7_INVALID;
		}
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		r = utf7_decode_unit((bits >> nbits) & 0xffff, &high, out,
		                     error_r);
		if (r != UTF7_OK)
			return r;
		bits &= (1u << nbits) - 1;
	}
	/* Whole characters leave 0, 2 or 4 bits, all zero. */
	if (nbits >= 6 || bits != 0) {
		*error_r = "mailbox name has a shift that is not minimal";
		return UTF7_INVALID;
	}
	if (high != 0) {
		*error_r = "mailbox name has an unpaired surrogate";
		return UTF7_INVALID;
	}
	*pos = i + 1;
	return UTF7_OK;
}

int
imap_utf7_to_utf8(const char *in, size_t len, struct sb_buf *out,
                  const char **error_r)
{
	size_t start_len = out->len, i = 0;
	size_t shift_end = SIZE_MAX; /* just after the last shift's '-' */
	enum utf7_result r = UTF7_OK;

	while (i < len && r == UTF7_OK) {
		unsigned char c = (unsigned char)in[i];

		if (!utf7_is_direct(c)) {
			*error_r = "mailbox name has a byte that is not "
			           "printable ASCII";
			r = UTF7_INVALID;
		} else if (c != '&') {
			r = sb_buf_add_char(out, (char)c) == 0 ? UTF7_OK
			                                       : UTF7_FULL;
			i++;
		} else if (i + 1 < len && in[i + 1] == '-') {
			r = sb_buf_add_char(out, '&') == 0 ? UTF7_OK
			                                   : UTF7_FULL;
			i += 2;
		} else if (i == shift_end) {
			/* RFC 3501 5.1.3: null shifts are not permitted. */
			*error_r = "mailbox name has a shift right after "
			           "another";
			r = UTF7_INVALID;
		} else {
			i++;
			r = utf7_decode_shift(in, len, &i, out, error_r);
			shift_end = i;
		}
	}
	if (r == UTF7_INVALID)
		sb_buf_truncate(out, start_len);
	if (r == UTF7_FULL)
		*error_r = "mailbox name too long";
	return r == UTF7_OK ? 0 : -1;
}

/* The next character of valid UTF-8 at *pos. */
static uint32_t
utf7_utf8_next(const unsigned char *s, size_t *pos)
{
	size_t i = *pos;
	uint32_t cp;

	if (s[i] < 0x80) {
		*pos = i + 1;
		return s[i];
	}
	if (s[i] < 0xe0) {
		cp = ((uint32_t)(s[i] & 0x1f) << 6) | (s[i + 1] & 0x3f);
		*pos = i + 2;
	} else if (s[i] < 0xf0) {
		cp = ((uint32_t)(s[i] & 0x0f) << 12) |
		     ((uint32_t)(s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
		*pos = i + 3;
	} else {
		cp = ((uint32_t)(s[i] & 0x07) << 18) |
		     ((uint32_t)(s[i + 1] & 0x3f) << 12) |
		     ((uint32_t)(s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f);
		*pos = i + 4;
	}
	return cp;
}

/* Base64 state of the shift being written. */
struct utf7_encoder {
	uint32_t bits;
	unsigned nbits;
};

static int
utf7_encode_unit(struct utf7_encoder *e, uint32_t unit, struct sb_buf *out)
{
	e->bits = (e->bits << 16) | unit;
	e->nbits += 16;
	while (e->nbits >= 6) {
		e->nbits -= 6;
		if (sb_buf_add_char(out, sb_base64_digit(e->bits >> e->nbits,
		                                         UTF7_B64_63)) != 0)
			return -1;
	}
	e->bits &= (1u << e->nbits) - 1;
	return 0;
}

/* Writes the last bits, padded with zeros, and the closing '-'. */
static int
utf7_encode_end(struct utf7_encoder *e, struct sb_buf *out)
{
	if (e->nbits > 0 &&
	    sb_buf_add_char(out, sb_base64_digit(e->bits << (6 - e->nbits),
	                                         UTF7_B64_63)) != 0)
		return -1;
	e->bits = 0;
	e->nbits = 0;
	return sb_buf_add_char(out, '-');
}

int
imap_utf8_to_utf7(const char *in, size_t len, struct sb_buf *out,
                  const char **error_r)
{
	const unsigned char *s = (const unsigned char *)in;
	struct utf7_encoder e = {0, 0};
	bool shifted = false;
	size_t i = 0;
	int ret = 0;

	if (!imap_utf8_name_valid(in, len)) {
		*error_r = "mailbox name is not UTF-8 without control "
		           "characters";
		return -1;
	}
	while (i < len && ret == 0) {
		uint32_t cp;

		if (utf7_is_direct(s[i])) {
			if (shifted)
				ret = utf7_encode_end(&e, out);
			shifted = false;
			if (ret == 0)
				ret = s[i] == '&' ? sb_buf_add_str(out, "&-")
				                  : sb_buf_add_char(out, in[i]);
			i++;
			continue;
		}
		cp = utf7_utf8_next(s, &i);
		if (!shifted)
			ret = sb_buf_add_char(out, '&');
		shifted = true;
		if (ret == 0 && cp >= 0x10000) {
			cp -= 0x10000;
			ret = utf7_encode_unit(&e, 0xd800 + (cp >> 10), out);
			if (ret == 0)
				ret = utf7_encode_unit(
				        &e, 0xdc00 + (cp & 0x3ff), out);
		} else if (ret == 0) {
			ret = utf7_encode_unit(&e, cp, out);
		}
	}
	if (ret == 0 && shifted)
		ret = utf7_encode_end(&e, out);
	if (ret != 0)
		*error_r = "mailbox name too long";
	return ret;
}
