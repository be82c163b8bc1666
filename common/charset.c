#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char sb_replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t SB_WUR
sb_utf8_seq_len(const unsigned char *p, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
sb_utf8_valid(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0, n;

	while (i < len) {
		n = sb_utf8_seq_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Copies UTF-8 input, replacing each invalid byte by U+FFFD. */
static int SB_WUR
sb_utf8_copy(const unsigned char *p, size_t len, struct sb_buf *out)
{
	size_t i = 0, start = 0, n;
	int replaced = 0;

	while (i < len) {
		n = sb_utf8_seq_len(p + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		if (sb_buf_add(out, p + start, i - start) != 0 ||
		    sb_buf_add_str(out, sb_replacement) != 0)
			return -1;
		replaced = 1;
		start = ++i;
	}
	if (sb_buf_add(out, p + start, i - start) != 0)
		return -1;
	return replaced;
}

static bool
sb_charset_is_utf8(const char *charset)
{
	return strcasecmp(charset, "utf-8") == 0 ||
	       strcasecmp(charset, "utf8") == 0;
}

static bool
sb_charset_is_ascii(const char *charset)
{
	return strcasecmp(charset, "us-ascii") == 0 ||
	       strcasecmp(charset, "ascii") == 0;
}

void
sb_charset_cache_init(struct sb_charset_cache *cache)
{
	memset(cache, 0, sizeof(*cache));
}

void
sb_charset_cache_deinit(struct sb_charset_cache *cache)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(cache->slot); i++) {
		if (cache->slot[i].name[0] != '\0' &&
		    cache->slot[i].cd != (void *)-1)
			iconv_close((iconv_t)cache->slot[i].cd);
	}
	sb_charset_cache_init(cache);
}

/*
 * The conversion from charset to UTF-8, from the cache when it holds one
 * (reset to its initial state) or newly opened; (iconv_t)-1 when the
 * charset is unknown. *owned_r says whether the caller must close it.
 */
static iconv_t
sb_charset_open(const char *charset, struct sb_charset_cache *cache,
                bool *owned_r)
{
	size_t i, len = strlen(charset);
	iconv_t cd;

	*owned_r = false;
	if (cache != NULL && len > 0 && len <= SB_CHARSET_CACHE_NAME) {
		for (i = 0; i < SB_N_ELEMENTS(cache->slot); i++) {
			if (strcasecmp(cache->slot[i].name, charset) != 0)
				continue;
			cd = (iconv_t)cache->slot[i].cd;
			if (cd != (iconv_t)-1)
				iconv(cd, NULL, NULL, NULL, NULL);
			return cd;
		}
	}
	cd = iconv_open("UTF-8", charset);
	if (cache == NULL || len == 0 || len > SB_CHARSET_CACHE_NAME) {
		*owned_r = cd != (iconv_t)-1;
		return cd;
	}
	i = cache->next;
	cache->next = (cache->next + 1) % SB_N_ELEMENTS(cache->slot);
	if (cache->slot[i].name[0] != '\0' && cache->slot[i].cd != (void *)-1)
		iconv_close((iconv_t)cache->slot[i].cd);
	memcpy(cache->slot[i].name, charset, len + 1);
	cache->slot[i].cd = (void *)cd;
	return cd;
}

/* Runs the conversion over all of in; -1 when out passed its maximum. */
static int SB_WUR
sb_charset_iconv(iconv_t cd, const void *in, size_t len, struct sb_buf *out)
{
	char chunk[1024], *src = (char *)in, *dst;
	size_t src_left = len, dst_left;
	int replaced = 0;

	while (src_left > 0) {
		dst = chunk;
		dst_left = sizeof(chunk);
		if (iconv(cd, &src, &src_left, &dst, &dst_left) == (size_t)-1 &&
		    errno != E2BIG) {
			/* EILSEQ or EINVAL: skip one byte, mark it. */
			if (sb_buf_add(out, chunk, sizeof(chunk) - dst_left) !=
			    0)
				return -1;
			if (sb_buf_add_str(out, sb_replacement) != 0)
				return -1;
			replaced = 1;
			src++;
			src_left--;
			iconv(cd, NULL, NULL, NULL, NULL);
			continue;
		}
		if (sb_buf_add(out, chunk, sizeof(chunk) - dst_left) != 0)
			return -1;
	}
	/* Flush any shift state (ISO-2022-JP). */
	dst = chunk;
	dst_left = sizeof(chunk);
	iconv(cd, NULL, NULL, &dst, &dst_left);
	if (sb_buf_add(out, chunk, sizeof(chunk) - dst_left) != 0)
		return -1;
	return replaced;
}

int
sb_charset_to_utf8_ex(const char *charset, const void *in, size_t len,
                      struct sb_buf *out, struct sb_charset_cache *cache,
                      enum sb_charset_error *error_r)
{
	enum sb_charset_error dummy;
	bool owned;
	iconv_t cd;
	int ret;

	if (error_r == NULL)
		error_r = &dummy;
	*error_r = SB_CHARSET_ERR_NONE;
	/*
	 * US-ASCII is read as UTF-8: real mail labelled us-ascii often holds
	 * 8-bit text, and UTF-8 is the likeliest reading of it.
	 */
	if (sb_charset_is_utf8(charset) || sb_charset_is_ascii(charset)) {
		ret = sb_utf8_copy(in, len, out);
		if (ret < 0)
			*error_r = SB_CHARSET_ERR_FULL;
		return ret;
	}
	/* ISO-8859-1 is decoded as windows-1252, its superset in practice. */
	if (strcasecmp(charset, "iso-8859-1") == 0 ||
	    strcasecmp(charset, "latin1") == 0)
		charset = "WINDOWS-1252";
	cd = sb_charset_open(charset, cache, &owned);
	if (cd == (iconv_t)-1) {
		*error_r = SB_CHARSET_ERR_UNKNOWN;
		return -1;
	}
	ret = sb_charset_iconv(cd, in, len, out);
	if (owned)
		iconv_close(cd);
	if (ret < 0)
		*error_r = SB_CHARSET_ERR_FULL;
	return ret;
}

int
sb_charset_to_utf8(const char *charset, const void *in, size_t len,
                   struct sb_buf *out)
{
	return sb_charset_to_utf8_ex(charset, in, len, out, NULL, NULL);
}
