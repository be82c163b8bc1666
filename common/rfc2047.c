#include "rfc2047.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "charset.h"
#include "codec.h"
#include "sv.h"

static const char sb_hex_upper[] = "0123456789ABCDEF";

/* One encoded word as found in the input. */
struct sb_rfc2047_word {
	struct sb_sv charset; /* without an RFC 2231 language */
	char encoding;        /* 'B' or 'Q' */
	struct sb_sv text;
	size_t len; /* of the whole word in the input */
};

/* Adjacent words in one charset, waiting to be converted together. */
struct sb_rfc2047_group {
	struct sb_buf raw; /* decoded bytes, still in the charset */
	char charset[SB_RFC2047_MAX_CHARSET + 1];
	const char *start; /* the words as written, kept when they fail */
	const char *end;
	bool active;
	struct sb_charset_cache *cache;
};

/* A character allowed in a charset name (RFC 2047's token). */
static bool
sb_rfc2047_token_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/*
 * Recognises an encoded word at p (which starts with "=?"). Only its shape
 * is checked here; whether its text decodes is found out later.
 */
static bool
sb_rfc2047_parse_word(const char *p, size_t left, struct sb_rfc2047_word *w)
{
	size_t i = 2, start = 2, star = 0;

	while (i < left && sb_rfc2047_token_char((unsigned char)p[i])) {
		if (p[i] == '*' && star == 0)
			star = i;
		i++;
	}
	if (i == start || i - start > SB_RFC2047_MAX_CHARSET || i >= left ||
	    p[i] != '?')
		return false;
	w->charset = sb_sv(p + start, (star != 0 ? star : i) - start);
	if (w->charset.len == 0 || i + 2 >= left || p[i + 2] != '?')
		return false;
	w->encoding = p[i + 1] == 'b' || p[i + 1] == 'B'   ? 'B'
	              : p[i + 1] == 'q' || p[i + 1] == 'Q' ? 'Q'
	                                                   : 0;
	if (w->encoding == 0)
		return false;
	i += 3;
	start = i;
	while (i < left && p[i] != '?' && p[i] > 32 && p[i] < 127)
		i++;
	if (i + 1 >= left || p[i] != '?' || p[i + 1] != '=')
		return false;
	w->text = sb_sv(p + start, i - start);
	w->len = i + 2;
	return true;
}

/* Decodes Q text ('_' is a space, a broken "=XY" stays as it is). */
static int SB_WUR
sb_rfc2047_decode_q(struct sb_sv text, struct sb_buf *raw)
{
	size_t i;
	int hi, lo;
	char c;

	for (i = 0; i < text.len; i++) {
		c = text.p[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < text.len &&
		           (hi = sb_hex_digit((unsigned char)text.p[i + 1])) >=
		                   0 &&
		           (lo = sb_hex_digit((unsigned char)text.p[i + 2])) >=
		                   0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (sb_buf_add_char(raw, c) != 0)
			return -1;
	}
	return 0;
}

/*
 * Appends the bytes a word stands for to raw. Returns 0, 1 when its text
 * is broken (raw is then as it was), or -1 when raw passed its maximum.
 */
static int SB_WUR
sb_rfc2047_decode_word(const struct sb_rfc2047_word *w, struct sb_buf *raw)
{
	size_t old_len = raw->len;
	unsigned int flags;

	if (w->encoding == 'Q')
		return sb_rfc2047_decode_q(w->text, raw);
	if (sb_base64_decode(w->text.p, w->text.len, raw, &flags) != 0)
		return -1;
	if ((flags & (SB_CODEC_INVALID_CHAR | SB_CODEC_TRUNCATED |
	              SB_CODEC_DATA_AFTER_END)) != 0) {
		sb_buf_truncate(raw, old_len);
		return 1;
	}
	return 0;
}

/* A byte that must not reach decoded text: C0 but TAB, and DEL. */
static bool
sb_rfc2047_is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Replaces the control characters appended to out from offset `from` on:
 * CR and LF by a space, the others by U+FFFD. In UTF-8 these bytes are
 * always characters of their own.
 */
static int SB_WUR
sb_rfc2047_sanitise(struct sb_buf *out, size_t from, unsigned int *flags)
{
	size_t i, n;
	char *tail;
	int ret = 0;

	for (i = from; i < out->len; i++) {
		if (sb_rfc2047_is_control((unsigned char)out->data[i]))
			break;
	}
	if (i == out->len)
		return 0;
	*flags |= SB_RFC2047_CONTROL;
	n = out->len - i;
	tail = sb_memdup(out->data + i, n);
	sb_buf_truncate(out, i);
	for (i = 0; i < n && ret == 0; i++) {
		unsigned char c = (unsigned char)tail[i];

		if (c == '\r' || c == '\n')
			ret = sb_buf_add_char(out, ' ');
		else if (sb_rfc2047_is_control(c))
			ret = sb_buf_add(out, "\xef\xbf\xbd", 3);
		else
			ret = sb_buf_add_char(out, (char)c);
	}
	free(tail);
	return ret;
}

/*
 * Appends plain text: folding line breaks are dropped, bytes that are
 * not UTF-8 become U+FFFD and control characters are replaced.
 */
static int SB_WUR
sb_rfc2047_put_text(const char *p, size_t len, struct sb_buf *out,
                    unsigned int *flags)
{
	size_t i = 0, start, from;
	int ret;

	while (i < len) {
		start = i;
		while (i < len && p[i] != '\r' && p[i] != '\n')
			i++;
		from = out->len;
		ret = sb_charset_to_utf8("UTF-8", p + start, i - start, out);
		if (ret < 0 || sb_rfc2047_sanitise(out, from, flags) != 0)
			return -1;
		if (ret > 0)
			*flags |= SB_RFC2047_REPLACED;
		while (i < len && (p[i] == '\r' || p[i] == '\n'))
			i++;
	}
	return 0;
}

/*
 * Converts the pending group to UTF-8 straight into out; a group in an
 * unknown charset is appended as it was written.
 */
static int SB_WUR
sb_rfc2047_flush(struct sb_rfc2047_group *g, struct sb_buf *out,
                 unsigned int *flags)
{
	enum sb_charset_error err;
	size_t from = out->len;
	int ret;

	if (!g->active)
		return 0;
	g->active = false;
	ret = sb_charset_to_utf8_ex(g->charset,
	                            g->raw.data == NULL ? "" : g->raw.data,
	                            g->raw.len, out, g->cache, &err);
	sb_buf_reset(&g->raw);
	if (ret < 0 && err == SB_CHARSET_ERR_UNKNOWN) {
		*flags |= SB_RFC2047_UNKNOWN_CHARSET;
		return sb_rfc2047_put_text(
		        g->start, (size_t)(g->end - g->start), out, flags);
	}
	if (ret < 0)
		return -1; /* out passed its maximum */
	if (ret > 0)
		*flags |= SB_RFC2047_REPLACED;
	return sb_rfc2047_sanitise(out, from, flags);
}

static bool
sb_rfc2047_all_space(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	}
	return true;
}

/*
 * Takes a decoded word into the group: joins it to the pending words when
 * only whitespace separates them and the charset is the same, else
 * flushes them and the text in between first. `gap` is that text.
 */
static int SB_WUR
sb_rfc2047_take_word(struct sb_rfc2047_group *g,
                     const struct sb_rfc2047_word *w, const char *word,
                     struct sb_sv gap, struct sb_buf *out, unsigned int *flags)
{
	bool joined = g->active && sb_rfc2047_all_space(gap.p, gap.len);

	if (joined && !sb_sv_eq_cstr_ci(w->charset, g->charset)) {
		/* The whitespace between the words still goes. */
		if (sb_rfc2047_flush(g, out, flags) != 0)
			return -1;
	} else if (!joined) {
		if (sb_rfc2047_flush(g, out, flags) != 0 ||
		    sb_rfc2047_put_text(gap.p, gap.len, out, flags) != 0)
			return -1;
	}
	if (!g->active) {
		memcpy(g->charset, w->charset.p, w->charset.len);
		g->charset[w->charset.len] = '\0';
		g->start = word;
		g->active = true;
	}
	g->end = word + w->len;
	return 0;
}

int
sb_rfc2047_decode(const char *in, size_t len, struct sb_buf *out,
                  unsigned int *flags_r)
{
	struct sb_charset_cache cache;
	struct sb_rfc2047_group g;
	struct sb_rfc2047_word w;
	struct sb_buf word_raw;
	size_t i = 0, text_start = 0, raw_max;
	unsigned int flags = 0;
	int ret = 0;

	if (in == NULL)
		in = ""; /* an empty value may come without a pointer */
	raw_max = out->max < SIZE_MAX / 2 - 64 ? out->max * 2 + 64 : SIZE_MAX;
	memset(&g, 0, sizeof(g));
	sb_charset_cache_init(&cache);
	g.cache = &cache;
	/* Decoded text, maybe of a decrypted message: wiped when freed. */
	sb_buf_init_secret(&g.raw, raw_max);
	sb_buf_init_secret(&word_raw, raw_max);
	while (i < len) {
		if (in[i] != '=' || i + 1 >= len || in[i + 1] != '?' ||
		    !sb_rfc2047_parse_word(in + i, len - i, &w)) {
			i++;
			continue;
		}
		sb_buf_reset(&word_raw);
		ret = sb_rfc2047_decode_word(&w, &word_raw);
		if (ret > 0) {
			/* Kept as text: scan on after its "=?". */
			flags |= SB_RFC2047_BROKEN_WORD;
			ret = 0;
			i += 2;
			continue;
		}
		if (ret < 0)
			break;
		ret = sb_rfc2047_take_word(
		        &g, &w, in + i, sb_sv(in + text_start, i - text_start),
		        out, &flags);
		if (ret == 0)
			ret = sb_buf_add(&g.raw, sb_buf_str(&word_raw),
			                 word_raw.len);
		if (ret != 0)
			break;
		i += w.len;
		text_start = i;
	}
	if (ret == 0)
		ret = sb_rfc2047_flush(&g, out, &flags);
	if (ret == 0)
		ret = sb_rfc2047_put_text(in + text_start, len - text_start,
		                          out, &flags);
	sb_buf_free(&g.raw);
	sb_buf_free(&word_raw);
	sb_charset_cache_deinit(&cache);
	if (ret != 0) {
		sb_buf_free(out);
		return -1;
	}
	if (flags_r != NULL)
		*flags_r = flags;
	return 0;
}

/* Output position while encoding. */
struct sb_rfc2047_out {
	struct sb_buf *buf;
	size_t col;
};

/* "=?UTF-8?Q?" and "?=" around the encoded text. */
#define SB_RFC2047_OVERHEAD 12
#define SB_RFC2047_MAX_TEXT (SB_RFC2047_MAX_WORD - SB_RFC2047_OVERHEAD)

/* A word that cannot stay as it is in a header. */
static bool
sb_rfc2047_needs_encoding(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126)
			return true;
		if (p[i] == '=' && i + 1 < len && p[i + 1] == '?')
			return true;
	}
	return false;
}

/* Characters a Q word may carry as they are, even in a phrase. */
static bool
sb_rfc2047_q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	       c == '-' || c == '/';
}

static size_t
sb_rfc2047_q_width(unsigned char c)
{
	return sb_rfc2047_q_plain(c) || c == ' ' ? 1 : 3;
}

static size_t
sb_utf8_char_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/*
 * Writes `sep` spaces and then a token of `tok_len` characters, folding
 * the line first when the token would pass its end and something already
 * stands on it.
 */
static int SB_WUR
sb_rfc2047_put_token(struct sb_rfc2047_out *o, size_t sep, const char *tok,
                     size_t tok_len)
{
	size_t i;

	/* Spaces alone never go to a line of their own. */
	if (sep > 0 && tok_len > 0 && o->col > 0 &&
	    o->col + sep + tok_len > SB_RFC2047_LINE) {
		if (sb_buf_add(o->buf, "\r\n", 2) != 0)
			return -1;
		o->col = 0;
	}
	for (i = 0; i < sep; i++) {
		if (sb_buf_add_char(o->buf, ' ') != 0)
			return -1;
	}
	o->col += sep + tok_len;
	return sb_buf_add(o->buf, tok, tok_len);
}

/* Builds one encoded word for the bytes p[0..len) into word. */
static int SB_WUR
sb_rfc2047_build_word(const char *p, size_t len, char encoding,
                      struct sb_buf *word)
{
	unsigned char c;
	size_t i;

	sb_buf_reset(word);
	if (sb_buf_add_str(word, encoding == 'B' ? "=?UTF-8?B?" : "=?UTF-8?Q?"))
		return -1;
	if (encoding == 'B') {
		if (sb_base64_encode(p, len, word) != 0)
			return -1;
	} else {
		for (i = 0; i < len; i++) {
			c = (unsigned char)p[i];
			if (c == ' ' ? sb_buf_add_char(word, '_') != 0
			    : sb_rfc2047_q_plain(c)
			            ? sb_buf_add_char(word, (char)c) != 0
			            : sb_buf_add_printf(word, "=%c%c",
			                                sb_hex_upper[c >> 4],
			                                sb_hex_upper[c & 15]) !=
			                      0)
				return -1;
		}
	}
	return sb_buf_add_str(word, "?=");
}

/* The least encoded text a word gets: a 4-byte character in Q. */
#define SB_RFC2047_MIN_TEXT 12

/*
 * How many characters of encoded text the next word may have so that it
 * ends within the line: on this line after `sep` spaces, or on the next
 * when it will be folded there.
 */
static size_t
sb_rfc2047_text_budget(const struct sb_rfc2047_out *o, size_t sep)
{
	size_t col = o->col + sep, avail;

	if (sep > 0 && o->col > 0 &&
	    col + SB_RFC2047_OVERHEAD + SB_RFC2047_MIN_TEXT > SB_RFC2047_LINE)
		col = sep;
	avail = SB_RFC2047_LINE > col + SB_RFC2047_OVERHEAD
	                ? SB_RFC2047_LINE - col - SB_RFC2047_OVERHEAD
	                : 0;
	if (avail > SB_RFC2047_MAX_TEXT)
		avail = SB_RFC2047_MAX_TEXT;
	return avail < SB_RFC2047_MIN_TEXT ? SB_RFC2047_MIN_TEXT : avail;
}

/*
 * How many bytes of p[0..len) (whole characters, at least one) fit in
 * `budget` characters of encoded text.
 */
static size_t
sb_rfc2047_chunk(const char *p, size_t len, char enc, size_t budget)
{
	size_t n = 0, width = 0, cl, k, cw;

	while (n < len) {
		cl = sb_utf8_char_len((unsigned char)p[n]);
		if (enc == 'B') {
			if (n > 0 && sb_base64_encoded_len(n + cl) > budget)
				break;
		} else {
			for (k = 0, cw = 0; k < cl; k++)
				cw += sb_rfc2047_q_width(
				        (unsigned char)p[n + k]);
			if (n > 0 && width + cw > budget)
				break;
			width += cw;
		}
		n += cl;
	}
	return n;
}

/*
 * Writes a run of words that need encoding (with the spaces inside it) as
 * encoded words that each hold whole characters.
 */
static int SB_WUR
sb_rfc2047_put_run(struct sb_rfc2047_out *o, size_t sep, const char *p,
                   size_t len, enum sb_rfc2047_encoding encoding)
{
	size_t i, q_len = 0, start, n, word_sep;
	struct sb_buf word;
	char enc;
	int ret = 0;

	for (i = 0; i < len; i++)
		q_len += sb_rfc2047_q_width((unsigned char)p[i]);
	if (encoding == SB_RFC2047_AUTO)
		enc = q_len <= sb_base64_encoded_len(len) ? 'Q' : 'B';
	else
		enc = encoding == SB_RFC2047_B ? 'B' : 'Q';
	sb_buf_init(&word, SB_RFC2047_MAX_WORD);
	for (start = 0; start < len && ret == 0; start += n) {
		word_sep = start == 0 ? sep : 1;
		n = sb_rfc2047_chunk(p + start, len - start, enc,
		                     sb_rfc2047_text_budget(o, word_sep));
		ret = sb_rfc2047_build_word(p + start, n, enc, &word);
		if (ret == 0)
			ret = sb_rfc2047_put_token(o, word_sep, word.data,
			                           word.len);
	}
	sb_buf_free(&word);
	return ret;
}

/* The end of the word at p[i] (the next space or the end). */
static size_t
sb_rfc2047_word_end(const char *p, size_t len, size_t i)
{
	while (i < len && p[i] != ' ')
		i++;
	return i;
}

/* An RFC 5322 special: a word holding one cannot stand in a phrase. */
static bool
sb_rfc2047_has_special(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (strchr("()<>[]:;@\\,.\"", p[i]) != NULL && p[i] != '\0')
			return true;
	}
	return false;
}

/* How the words of one value are written. */
struct sb_rfc2047_mode {
	enum sb_rfc2047_encoding encoding;
	bool phrase; /* words with specials are encoded too */
};

static bool
sb_rfc2047_word_needs(const struct sb_rfc2047_mode *m, const char *p,
                      size_t len)
{
	return sb_rfc2047_needs_encoding(p, len) ||
	       (m->phrase && sb_rfc2047_has_special(p, len));
}

/*
 * The end of the run of words needing encoding that starts with the word
 * p[i..end): later such words join it when only spaces stand between.
 * Spaces that end the value join it too.
 */
static size_t
sb_rfc2047_run_end(const struct sb_rfc2047_mode *m, const char *p, size_t len,
                   size_t end)
{
	size_t next, next_end;

	for (;;) {
		next = end;
		while (next < len && p[next] == ' ')
			next++;
		if (next == len)
			return len;
		next_end = sb_rfc2047_word_end(p, len, next);
		if (!sb_rfc2047_word_needs(m, p + next, next_end - next))
			return end;
		end = next_end;
	}
}

/* The length of p without the spaces that end it. */
static size_t
sb_rfc2047_trimmed_len(const char *p, size_t len)
{
	while (len > 0 && p[len - 1] == ' ')
		len--;
	return len;
}

/*
 * Writes a phrase of printable ASCII as one quoted string, folded at its
 * spaces (folding whitespace inside quotes unfolds to the same spaces).
 */
static int SB_WUR
sb_rfc2047_put_quoted(struct sb_rfc2047_out *o, const char *in, size_t len)
{
	size_t i = 0, sep, end, k, trimmed = sb_rfc2047_trimmed_len(in, len);
	struct sb_buf tok;
	int ret;

	sb_buf_init(&tok, 2 * len + 2);
	ret = sb_rfc2047_put_token(o, 0, "\"", 1);
	while (i < trimmed && ret == 0) {
		sep = i;
		while (in[i] == ' ')
			i++;
		sep = i - sep;
		end = sb_rfc2047_word_end(in, len, i);
		sb_buf_reset(&tok);
		for (k = i; k < end && ret == 0; k++) {
			if (in[k] == '"' || in[k] == '\\')
				ret = sb_buf_add_char(&tok, '\\');
			if (ret == 0)
				ret = sb_buf_add_char(&tok, in[k]);
		}
		if (end == trimmed && ret == 0)
			ret = sb_buf_add(&tok, in + end, len - end);
		if (ret == 0)
			ret = sb_rfc2047_put_token(o, sep, tok.data, tok.len);
		i = end;
	}
	sb_buf_free(&tok);
	if (ret == 0)
		ret = sb_rfc2047_put_token(o, 0, "\"", 1);
	return ret;
}

/* True when a phrase goes out as a quoted string: see rfc2047.h. */
static bool
sb_rfc2047_quote_phrase(const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)in[i] < 32 || (unsigned char)in[i] > 126)
			return false;
		if (in[i] == '=' && i + 1 < len && in[i + 1] == '?')
			return false;
	}
	return sb_rfc2047_has_special(in, len);
}

/* Control characters but TAB, and DEL: refused in a header value. */
static bool
sb_rfc2047_has_control(const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (sb_rfc2047_is_control((unsigned char)in[i]))
			return true;
	}
	return false;
}

static int SB_WUR
sb_rfc2047_encode_words(struct sb_rfc2047_out *o,
                        const struct sb_rfc2047_mode *m, const char *in,
                        size_t len)
{
	size_t i = 0, sep, end, trimmed = sb_rfc2047_trimmed_len(in, len);
	int ret = 0;

	while (i < len && ret == 0) {
		sep = i;
		while (i < len && in[i] == ' ')
			i++;
		sep = i - sep;
		if (i == len) {
			/* The value is spaces only. */
			ret = sb_rfc2047_put_token(o, sep, "", 0);
			break;
		}
		end = sb_rfc2047_word_end(in, len, i);
		if (!sb_rfc2047_word_needs(m, in + i, end - i)) {
			/* The last word carries the spaces after it. */
			if (end == trimmed)
				end = len;
			ret = sb_rfc2047_put_token(o, sep, in + i, end - i);
		} else {
			end = sb_rfc2047_run_end(m, in, len, end);
			ret = sb_rfc2047_put_run(o, sep, in + i, end - i,
			                         m->encoding);
		}
		i = end;
	}
	return ret;
}

static int SB_WUR
sb_rfc2047_encode_mode(const char *in, size_t len, size_t column,
                       const struct sb_rfc2047_mode *m, struct sb_buf *out,
                       const char **error_r)
{
	struct sb_rfc2047_out o = {out, column};
	int ret;

	if (in == NULL)
		in = "";
	if (!sb_utf8_valid(in, len)) {
		*error_r = "header value is not UTF-8";
		return -1;
	}
	if (sb_rfc2047_has_control(in, len)) {
		*error_r = "header value has control characters";
		return -1;
	}
	if (m->phrase && sb_rfc2047_quote_phrase(in, len))
		ret = sb_rfc2047_put_quoted(&o, in, len);
	else
		ret = sb_rfc2047_encode_words(&o, m, in, len);
	if (ret != 0) {
		sb_buf_free(out);
		*error_r = "encoded header value is too long";
		return -1;
	}
	return 0;
}

int
sb_rfc2047_encode(const char *in, size_t len, size_t column,
                  enum sb_rfc2047_encoding encoding, struct sb_buf *out,
                  const char **error_r)
{
	struct sb_rfc2047_mode m = {encoding, false};

	return sb_rfc2047_encode_mode(in, len, column, &m, out, error_r);
}

int
sb_rfc2047_encode_phrase(const char *in, size_t len, size_t column,
                         enum sb_rfc2047_encoding encoding, struct sb_buf *out,
                         const char **error_r)
{
	struct sb_rfc2047_mode m = {encoding, true};

	return sb_rfc2047_encode_mode(in, len, column, &m, out, error_r);
}
