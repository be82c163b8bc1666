#include "codec.h"

#include <stdint.h>
#include <string.h>

#include "sv.h"

/* The digits of values 0 to 62; 63's is the caller's. */
static const char sb_base64_digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+";
static const char sb_hex_upper[] = "0123456789ABCDEF";

static int SB_WUR
sb_sink_write(const struct sb_codec_sink *sink, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (sink->buf != NULL)
		return sb_buf_add(sink->buf, data, len);
	return sink->fn(sink->context, data, len) == 0 ? 0 : -1;
}

/* Passes the collected chunk on and empties it. */
static int SB_WUR
sb_chunk_flush(const struct sb_codec_sink *sink, unsigned char *out,
               size_t *out_len)
{
	size_t n = *out_len;

	*out_len = 0;
	return sb_sink_write(sink, out, n);
}

/* Adds one byte to the chunk, passing the chunk on when it is full. */
static int SB_WUR
sb_chunk_put(const struct sb_codec_sink *sink, unsigned char *out,
             size_t *out_len, unsigned char c)
{
	out[(*out_len)++] = c;
	if (*out_len < SB_CODEC_CHUNK)
		return 0;
	return sb_chunk_flush(sink, out, out_len);
}

static int SB_WUR
sb_chunk_put_mem(const struct sb_codec_sink *sink, unsigned char *out,
                 size_t *out_len, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		if (sb_chunk_put(sink, out, out_len, p[i]) != 0)
			return -1;
	}
	return 0;
}

int
sb_base64_digit_value(unsigned char c, char c63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == (unsigned char)c63)
		return 63;
	return -1;
}

char
sb_base64_digit(unsigned int v, char c63)
{
	v &= 63;
	return v == 63 ? c63 : sb_base64_digits[v];
}

static bool
sb_codec_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

void
sb_base64_decoder_init(struct sb_base64_decoder *d, struct sb_buf *out)
{
	memset(d, 0, sizeof(*d));
	d->sink.buf = out;
}

void
sb_base64_decoder_init_fn(struct sb_base64_decoder *d,
                          int (*fn)(void *context, const void *data,
                                    size_t len),
                          void *context)
{
	memset(d, 0, sizeof(*d));
	d->sink.fn = fn;
	d->sink.context = context;
}

/*
 * Emits the bytes of a partial quantum of `count` sextets (2 or 3) held in
 * d->bits; the caller has seen '=' or the end of the input.
 */
static int SB_WUR
sb_base64_put_partial(struct sb_base64_decoder *d)
{
	uint32_t bits = d->bits;

	if (d->count == 2) {
		return sb_chunk_put(&d->sink, d->out, &d->out_len,
		                    (unsigned char)(bits >> 4));
	}
	if (sb_chunk_put(&d->sink, d->out, &d->out_len,
	                 (unsigned char)(bits >> 10)) != 0)
		return -1;
	return sb_chunk_put(&d->sink, d->out, &d->out_len,
	                    (unsigned char)(bits >> 2));
}

/* Handles one '=' in the data. */
static int SB_WUR
sb_base64_padding(struct sb_base64_decoder *d)
{
	if (d->pad > 0) {
		/* The second '=' after two sextets. */
		d->ended = true;
		return 0;
	}
	switch (d->count) {
	case 0:
		d->flags |= SB_CODEC_INVALID_CHAR;
		d->ended = true;
		return 0;
	case 1:
		d->flags |= SB_CODEC_TRUNCATED;
		d->ended = true;
		d->count = 0;
		return 0;
	case 2:
		d->pad = 1;
		break;
	default:
		d->ended = true;
		break;
	}
	if (sb_base64_put_partial(d) != 0)
		return -1;
	d->count = 0;
	return 0;
}

/* Handles one byte; never needs to see the next one. */
static int SB_WUR
sb_base64_byte(struct sb_base64_decoder *d, unsigned char c)
{
	uint32_t bits;
	int v;

	if (sb_codec_is_space(c))
		return 0;
	if (d->ended) {
		d->flags |= SB_CODEC_DATA_AFTER_END;
		return 0;
	}
	if (c == '=')
		return sb_base64_padding(d);
	v = sb_base64_digit_value(c, '/');
	if (v < 0) {
		d->flags |= SB_CODEC_INVALID_CHAR;
		return 0;
	}
	if (d->pad > 0) {
		/* "xx=" followed by data: the padding was cut short. */
		d->flags |= SB_CODEC_DATA_AFTER_END;
		d->ended = true;
		return 0;
	}
	d->bits = (d->bits << 6) | (uint32_t)v;
	if (++d->count < 4)
		return 0;
	bits = d->bits;
	d->count = 0;
	d->bits = 0;
	if (sb_chunk_put(&d->sink, d->out, &d->out_len,
	                 (unsigned char)(bits >> 16)) != 0 ||
	    sb_chunk_put(&d->sink, d->out, &d->out_len,
	                 (unsigned char)(bits >> 8)) != 0 ||
	    sb_chunk_put(&d->sink, d->out, &d->out_len, (unsigned char)bits) !=
	            0)
		return -1;
	return 0;
}

int
sb_base64_decoder_feed(struct sb_base64_decoder *d, const void *data,
                       size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		if (sb_base64_byte(d, p[i]) != 0)
			return -1;
	}
	if (sb_chunk_flush(&d->sink, d->out, &d->out_len) != 0)
		return -1;
	return d->ended ? 1 : 0;
}

int
sb_base64_decoder_finish(struct sb_base64_decoder *d)
{
	if (!d->ended) {
		if (d->pad > 0) {
			d->flags |= SB_CODEC_MISSING_PADDING;
		} else if (d->count == 1) {
			d->flags |= SB_CODEC_TRUNCATED;
		} else if (d->count > 1) {
			d->flags |= SB_CODEC_MISSING_PADDING;
			if (sb_base64_put_partial(d) != 0)
				return -1;
		}
		d->count = 0;
		d->ended = true;
	}
	return sb_chunk_flush(&d->sink, d->out, &d->out_len);
}

int
sb_base64_decode(const void *in, size_t len, struct sb_buf *out,
                 unsigned int *flags_r)
{
	struct sb_base64_decoder d;

	sb_base64_decoder_init(&d, out);
	if (sb_base64_decoder_feed(&d, in, len) < 0 ||
	    sb_base64_decoder_finish(&d) != 0)
		return -1;
	if (flags_r != NULL)
		*flags_r = d.flags;
	return 0;
}

void
sb_qp_decoder_init(struct sb_qp_decoder *d, struct sb_buf *out)
{
	memset(d, 0, sizeof(*d));
	d->sink.buf = out;
}

void
sb_qp_decoder_init_fn(struct sb_qp_decoder *d,
                      int (*fn)(void *context, const void *data, size_t len),
                      void *context)
{
	memset(d, 0, sizeof(*d));
	d->sink.fn = fn;
	d->sink.context = context;
}

static int SB_WUR
sb_qp_put(struct sb_qp_decoder *d, unsigned char c)
{
	return sb_chunk_put(&d->sink, d->out, &d->out_len, c);
}

/* Emits the whitespace held back: it turned out not to end a line. */
static int SB_WUR
sb_qp_put_space(struct sb_qp_decoder *d)
{
	size_t n = d->space_len;

	d->space_len = 0;
	return sb_chunk_put_mem(&d->sink, d->out, &d->out_len, d->space, n);
}

/* Holds one space or tab back; a run too long to be padding is text. */
static int SB_WUR
sb_qp_hold_space(struct sb_qp_decoder *d, unsigned char c)
{
	if (d->space_len == SB_QP_MAX_SPACE && sb_qp_put_space(d) != 0)
		return -1;
	d->space[d->space_len++] = c;
	return 0;
}

/* One byte of text outside any '=' sequence. */
static int SB_WUR
sb_qp_text(struct sb_qp_decoder *d, unsigned char c)
{
	switch (c) {
	case ' ':
	case '\t':
		return sb_qp_hold_space(d, c);
	case '\r':
		d->state = SB_QP_CR;
		return 0;
	case '\n':
		/* The whitespace before a line break is dropped. */
		d->space_len = 0;
		return sb_qp_put(d, '\n');
	case '=':
		d->state = SB_QP_EQ;
		return sb_qp_put_space(d);
	default:
		if (sb_qp_put_space(d) != 0)
			return -1;
		return sb_qp_put(d, c);
	}
}

/*
 * Gives up on an '=' sequence that is not an escape or a soft break: it is
 * kept as it was written (the '=', a first hex digit if any, whitespace).
 */
static int SB_WUR
sb_qp_literal_eq(struct sb_qp_decoder *d, bool with_hex)
{
	d->flags |= SB_CODEC_INVALID_CHAR;
	d->state = SB_QP_TEXT;
	if (sb_qp_put(d, '=') != 0)
		return -1;
	if (with_hex && sb_qp_put(d, d->hex) != 0)
		return -1;
	return sb_qp_put_space(d);
}

/*
 * Runs the state machine on one byte. Returns 1 when the byte was used,
 * 0 when it must be seen again in the new state, -1 when the sink failed.
 */
static int SB_WUR
sb_qp_step(struct sb_qp_decoder *d, unsigned char c)
{
	switch (d->state) {
	case SB_QP_TEXT:
		return sb_qp_text(d, c) == 0 ? 1 : -1;
	case SB_QP_CR:
		d->state = SB_QP_TEXT;
		if (c == '\n') {
			d->space_len = 0;
			return sb_qp_put(d, '\r') == 0 &&
			                       sb_qp_put(d, '\n') == 0
			               ? 1
			               : -1;
		}
		/* A bare CR is text. */
		if (sb_qp_put_space(d) != 0 || sb_qp_put(d, '\r') != 0)
			return -1;
		return 0;
	case SB_QP_EQ:
		if (sb_hex_digit(c) >= 0) {
			d->hex = c;
			d->state = SB_QP_EQ_HEX;
			return 1;
		}
		if (c == ' ' || c == '\t') {
			d->state = SB_QP_EQ_SPACE;
			return sb_qp_hold_space(d, c) == 0 ? 1 : -1;
		}
		if (c == '\r') {
			d->state = SB_QP_EQ_CR;
			return 1;
		}
		if (c == '\n') {
			d->state = SB_QP_TEXT;
			return 1;
		}
		return sb_qp_literal_eq(d, false) == 0 ? 0 : -1;
	case SB_QP_EQ_HEX:
		if (sb_hex_digit(c) < 0)
			return sb_qp_literal_eq(d, true) == 0 ? 0 : -1;
		d->state = SB_QP_TEXT;
		return sb_qp_put(d, (unsigned char)(sb_hex_digit(d->hex) * 16 +
		                                    sb_hex_digit(c))) == 0
		               ? 1
		               : -1;
	case SB_QP_EQ_SPACE:
		if ((c == ' ' || c == '\t') && d->space_len < SB_QP_MAX_SPACE) {
			d->space[d->space_len++] = c;
			return 1;
		}
		if (c == '\r' || c == '\n') {
			d->space_len = 0;
			d->state = c == '\r' ? SB_QP_EQ_CR : SB_QP_TEXT;
			return 1;
		}
		return sb_qp_literal_eq(d, false) == 0 ? 0 : -1;
	case SB_QP_EQ_CR:
		d->state = SB_QP_TEXT;
		if (c == '\n')
			return 1;
		/* "=\r" and no LF: still a soft break, but a broken one. */
		d->flags |= SB_CODEC_BAD_LINE_BREAK;
		return 0;
	}
	return -1;
}

int
sb_qp_decoder_feed(struct sb_qp_decoder *d, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;
	int ret;

	while (i < len) {
		ret = sb_qp_step(d, p[i]);
		if (ret < 0)
			return -1;
		i += (size_t)ret;
	}
	return sb_chunk_flush(&d->sink, d->out, &d->out_len);
}

int
sb_qp_decoder_finish(struct sb_qp_decoder *d)
{
	int ret = 0;

	switch (d->state) {
	case SB_QP_TEXT:
	case SB_QP_EQ:
	case SB_QP_EQ_SPACE:
		/* Trailing whitespace and a final soft break vanish. */
		d->space_len = 0;
		break;
	case SB_QP_CR:
		ret = sb_qp_put_space(d) != 0 || sb_qp_put(d, '\r') != 0 ? -1
		                                                         : 0;
		break;
	case SB_QP_EQ_HEX:
		ret = sb_qp_literal_eq(d, true);
		break;
	case SB_QP_EQ_CR:
		d->flags |= SB_CODEC_BAD_LINE_BREAK;
		break;
	}
	d->state = SB_QP_TEXT;
	if (ret != 0)
		return -1;
	return sb_chunk_flush(&d->sink, d->out, &d->out_len);
}

int
sb_qp_decode(const void *in, size_t len, struct sb_buf *out,
             unsigned int *flags_r)
{
	struct sb_qp_decoder d;

	sb_qp_decoder_init(&d, out);
	if (sb_qp_decoder_feed(&d, in, len) != 0 ||
	    sb_qp_decoder_finish(&d) != 0)
		return -1;
	if (flags_r != NULL)
		*flags_r = d.flags;
	return 0;
}

size_t
sb_base64_encoded_len(size_t len)
{
	size_t quanta = len / 3 + (len % 3 != 0 ? 1 : 0);

	if (quanta > SIZE_MAX / 4)
		return SIZE_MAX; /* saturates: see codec.h */
	return quanta * 4;
}

void
sb_base64_encoder_init(struct sb_base64_encoder *e, size_t line_len,
                       struct sb_buf *out)
{
	memset(e, 0, sizeof(*e));
	e->sink.buf = out;
	e->line_len = line_len / 4 * 4;
}

void
sb_base64_encoder_init_fn(struct sb_base64_encoder *e, size_t line_len,
                          int (*fn)(void *context, const void *data,
                                    size_t len),
                          void *context)
{
	memset(e, 0, sizeof(*e));
	e->sink.fn = fn;
	e->sink.context = context;
	e->line_len = line_len / 4 * 4;
}

/* Writes one quantum for n (1..3) input bytes, breaking lines as set. */
static int SB_WUR
sb_base64_put_quantum(struct sb_base64_encoder *e, const unsigned char *in,
                      size_t n)
{
	unsigned char q[4];
	uint32_t v;

	if (e->line_len > 0 && e->line_pos == e->line_len) {
		if (sb_chunk_put_mem(&e->sink, e->out, &e->out_len, "\r\n",
		                     2) != 0)
			return -1;
		e->line_pos = 0;
	}
	v = (uint32_t)in[0] << 16;
	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	q[0] = (unsigned char)sb_base64_digit(v >> 18, '/');
	q[1] = (unsigned char)sb_base64_digit(v >> 12, '/');
	q[2] = n > 1 ? (unsigned char)sb_base64_digit(v >> 6, '/') : '=';
	q[3] = n > 2 ? (unsigned char)sb_base64_digit(v, '/') : '=';
	e->line_pos += 4;
	return sb_chunk_put_mem(&e->sink, e->out, &e->out_len, q, 4);
}

int
sb_base64_encoder_feed(struct sb_base64_encoder *e, const void *data,
                       size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		e->in[e->held++] = p[i];
		if (e->held < 3)
			continue;
		e->held = 0;
		if (sb_base64_put_quantum(e, e->in, 3) != 0)
			return -1;
	}
	return sb_chunk_flush(&e->sink, e->out, &e->out_len);
}

int
sb_base64_encoder_finish(struct sb_base64_encoder *e)
{
	if (e->held > 0 && sb_base64_put_quantum(e, e->in, e->held) != 0)
		return -1;
	e->held = 0;
	if (e->line_len > 0 && e->line_pos > 0) {
		if (sb_chunk_put_mem(&e->sink, e->out, &e->out_len, "\r\n",
		                     2) != 0)
			return -1;
		e->line_pos = 0;
	}
	return sb_chunk_flush(&e->sink, e->out, &e->out_len);
}

int
sb_base64_encode(const void *in, size_t len, struct sb_buf *out)
{
	struct sb_base64_encoder e;

	sb_base64_encoder_init(&e, 0, out);
	if (sb_base64_encoder_feed(&e, in, len) != 0)
		return -1;
	return sb_base64_encoder_finish(&e);
}

/* Length of the line break at p (2 for CRLF, 1 for LF), else 0. */
static size_t
sb_line_break_len(const unsigned char *p, size_t left)
{
	if (left >= 1 && p[0] == '\n')
		return 1;
	if (left >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	return 0;
}

/*
 * How byte p[0] is written at column col: as itself (1) or as =XY (3).
 * Whitespace before a line break or the end, '.' or "From " opening a
 * line, and anything that is not printable ASCII is escaped.
 */
static size_t
sb_qp_encoded_width(const unsigned char *p, size_t left, size_t col,
                    bool binary)
{
	unsigned char c = p[0];

	if (c == ' ' || c == '\t') {
		if (left == 1)
			return 3;
		return !binary && sb_line_break_len(p + 1, left - 1) > 0 ? 3
		                                                         : 1;
	}
	if (c < 33 || c > 126 || c == '=')
		return 3;
	if (col == 0 && c == '.')
		return 3;
	if (col == 0 && c == 'F' && left >= 5 && memcmp(p, "From ", 5) == 0)
		return 3;
	return 1;
}

int
sb_qp_encode(const void *in, size_t len, unsigned int flags, struct sb_buf *out)
{
	const unsigned char *p = in;
	bool binary = (flags & SB_QP_ENCODE_BINARY) != 0;
	size_t i = 0, col = 0, width, brk;
	char esc[3];

	while (i < len) {
		brk = binary ? 0 : sb_line_break_len(p + i, len - i);
		if (brk > 0) {
			if (sb_buf_add(out, "\r\n", 2) != 0)
				return -1;
			col = 0;
			i += brk;
			continue;
		}
		width = sb_qp_encoded_width(p + i, len - i, col, binary);
		/* Keep room for the '=' of a soft break: 76 in all. */
		if (col + width > 75) {
			if (sb_buf_add(out, "=\r\n", 3) != 0)
				return -1;
			col = 0;
			width = sb_qp_encoded_width(p + i, len - i, col,
			                            binary);
		}
		if (width == 1) {
			if (sb_buf_add_char(out, (char)p[i]) != 0)
				return -1;
		} else {
			esc[0] = '=';
			esc[1] = sb_hex_upper[p[i] >> 4];
			esc[2] = sb_hex_upper[p[i] & 15];
			if (sb_buf_add(out, esc, 3) != 0)
				return -1;
		}
		col += width;
		i++;
	}
	return 0;
}
