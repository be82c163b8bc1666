#include "rfc2047.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

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

static int
sb_rfc2047_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
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
		           (hi = sb_rfc2047_hex(
		                    (unsigned char)text.p[i + 1])) >= 0 &&
		           (lo = sb_rfc2047_hex(
		                    (unsigned char)text.p[i + 2])) >= 0) {
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

/*
 * Appends plain text: folding line breaks are dropped and bytes that are
 * not UTF-8 become U+FFFD.
 */
static int SB_WUR
sb_rfc2047_put_text(const char *p, size_t len, struct sb_buf *out,
                    unsigned int *flags)
{
	size_t i = 0, start;
	int ret;

	while (i < len) {
		start = i;
		while (i < len && p[i] != '\r' && p[i] != '\n')
			i++;
		ret = sb_charset_to_utf8("UTF-8", p + start, i - start, out);
		if (ret < 0)
			return -1;
		if (ret > 0)
			*flags |= SB_RFC2047_REPLACED;
		while (i < len && (p[i] == '\r' || p[i] == '\n'))
			i++;
	}
	return 0;
}

/*
 * Converts the pending group to UTF-8 and appends it to out; a group in an
 * unknown charset is appended as it was written.
 */
static int SB_WUR
sb_rfc2047_flush(struct sb_rfc2047_group *g, struct sb_buf *out,
                 unsigned int *flags)
{
	struct sb_buf utf8;
	int ret;

	if (!g->active)
		return 0;
	g->active = false;
	/* No charset turns one byte into more than 8 bytes of UTF-8. */
	sb_buf_init(&utf8, g->raw.len * 8 + 64);
	ret = sb_charset_to_utf8(g->charset,
	                         g->raw.data == NULL ? "" : g->raw.data,
	                         g->raw.len, &utf8);
	sb_buf_reset(&g->raw);
	if (ret < 0) {
		sb_buf_free(&utf8);
		*flags |= SB_RFC2047_UNKNOWN_CHARSET;
		return sb_rfc2047_put_text(
		        g->start, (size_t)(g->end - g->start), out, flags);
	}
	if (ret > 0)
		*flags |= SB_RFC2047_REPLACED;
	ret = sb_buf_add(out, sb_buf_str(&utf8), utf8.len);
	sb_buf_free(&utf8);
	return ret;
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
	sb_buf_init(&g.raw, raw_max);
	sb_buf_init(&word_raw, raw_max);
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
 * Writes `sep` spaces and then a token of `next` characters, folding the
 * line first when the token would pass its end and something already
 * stands on it.
 */
static int SB_WUR
sb_rfc2047_put_token(struct sb_rfc2047_out *o, size_t sep, const char *tok,
                     size_t tok_len)
{
	size_t i;

	if (sep > 0 && o->col > 0 && o->col + sep + tok_len > SB_RFC2047_LINE) {
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

/*
 * The end of the run of words needing encoding that starts with the word
 * p[i..end): later such words join it when only spaces stand between.
 */
static size_t
sb_rfc2047_run_end(const char *p, size_t len, size_t end)
{
	size_t next, next_end;

	for (;;) {
		next = end;
		while (next < len && p[next] == ' ')
			next++;
		if (next == len)
			return end;
		next_end = sb_rfc2047_word_end(p, len, next);
		if (!sb_rfc2047_needs_encoding(p + next, next_end - next))
			return end;
		end = next_end;
	}
}

int
sb_rfc2047_encode(const char *in, size_t len, size_t column,
                  enum sb_rfc2047_encoding encoding, struct sb_buf *out,
                  const char **error_r)
{
	struct sb_rfc2047_out o = {out, column};
	size_t i = 0, sep, end;
	int ret = 0;

	if (in == NULL)
		in = "";
	if (!sb_utf8_valid(in, len)) {
		*error_r = "header value is not UTF-8";
		return -1;
	}
	while (i < len && ret == 0) {
		sep = i;
		while (i < len && in[i] == ' ')
			i++;
		sep = i - sep;
		if (i == len) {
			ret = sb_rfc2047_put_token(&o, sep, "", 0);
			break;
		}
		end = sb_rfc2047_word_end(in, len, i);
		if (!sb_rfc2047_needs_encoding(in + i, end - i)) {
			ret = sb_rfc2047_put_token(&o, sep, in + i, end - i);
		} else {
			end = sb_rfc2047_run_end(in, len, end);
			ret = sb_rfc2047_put_run(&o, sep, in + i, end - i,
			                         encoding);
		}
		i = end;
	}
	if (ret != 0) {
		sb_buf_free(out);
		*error_r = "encoded header value is too long";
		return -1;
	}
	return 0;
}
