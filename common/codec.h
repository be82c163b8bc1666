/*
 * MIME content transfer encodings (RFC 2045): base64 and quoted-printable.
 *
 * The decoders are incremental: a decoder is fed chunks of any size, down to
 * one byte, and produces the same output as one feed of the whole input.
 * Output goes to a sink (a caller's sb_buf, or a callback), so a
 * multi-megabyte attachment never has to be in memory whole. Broken input
 * is never fatal: what can be decoded is, and the decoder's `flags` say
 * what was wrong.
 */
#ifndef SB_CODEC_H
#define SB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compiler.h"

/*
 * Where bytes go: appended to buf when it is set, otherwise handed to fn,
 * which returns 0 to go on or -1 to stop the codec with an error.
 */
struct sb_codec_sink {
	struct sb_buf *buf;
	int (*fn)(void *context, const void *data, size_t len);
	void *context;
};

/* What a decoder found wrong; the bits accumulate in its `flags`. */
enum sb_codec_flag {
	/* A byte outside the alphabet (skipped) or a bad =XY (kept). */
	SB_CODEC_INVALID_CHAR = 1 << 0,
	/* base64: the data stopped with bits short of a byte (dropped). */
	SB_CODEC_TRUNCATED = 1 << 1,
	/* base64: the final quantum lacked its '=' padding. */
	SB_CODEC_MISSING_PADDING = 1 << 2,
	/* base64: characters followed the padding (ignored). */
	SB_CODEC_DATA_AFTER_END = 1 << 3,
	/* QP: a soft line break ended in a bare CR. */
	SB_CODEC_BAD_LINE_BREAK = 1 << 4,
};

/*
 * The base64 digits (RFC 4648, 4): A-Z, a-z, 0-9, '+' and, for 63, c63:
 * '/' in MIME, ',' in IMAP's modified UTF-7 (RFC 3501, 5.1.3), which
 * shares them but nothing else of these codecs. The value (0..63) of
 * digit c, or -1 when c is not one.
 */
int sb_base64_digit_value(unsigned char c, char c63) SB_WUR;
/* The digit of value v & 63. */
char sb_base64_digit(unsigned int v, char c63);

/* Decoded bytes are collected here and passed to the sink in chunks. */
#define SB_CODEC_CHUNK 512

struct sb_base64_decoder {
	struct sb_codec_sink sink;
	uint32_t bits;      /* the sextets of the current quantum */
	unsigned int count; /* sextets held in bits, 0..3 */
	unsigned int pad;   /* '=' seen in the final quantum */
	bool ended;         /* the padding is complete */
	unsigned int flags; /* enum sb_codec_flag bits */
	size_t out_len;
	unsigned char out[SB_CODEC_CHUNK];
};

/* Starts a decoder that appends to out. */
void sb_base64_decoder_init(struct sb_base64_decoder *d, struct sb_buf *out);
/* Starts a decoder that passes its output to fn. */
void sb_base64_decoder_init_fn(struct sb_base64_decoder *d,
                               int (*fn)(void *context, const void *data,
                                         size_t len),
                               void *context);
/*
 * Decodes len more bytes. Line breaks and other whitespace are ignored,
 * bytes outside the alphabet are skipped and flagged. Returns 0 when more
 * input is welcome, 1 once the '=' padding has ended the data (what
 * follows is ignored, and flagged unless it is whitespace), and -1 when
 * the sink failed (out passed its maximum).
 */
int sb_base64_decoder_feed(struct sb_base64_decoder *d, const void *data,
                           size_t len) SB_WUR;
/*
 * Ends the input: decodes a final quantum that lacks its padding and
 * passes on what is left. Returns 0, or -1 when the sink failed.
 */
int sb_base64_decoder_finish(struct sb_base64_decoder *d) SB_WUR;

enum sb_qp_state {
	SB_QP_TEXT,
	SB_QP_EQ,       /* after '=' */
	SB_QP_EQ_HEX,   /* after '=' and one hex digit */
	SB_QP_EQ_SPACE, /* after '=' and whitespace: maybe a soft break */
	SB_QP_EQ_CR,    /* after "=\r" or "=<spaces>\r" */
	SB_QP_CR,       /* after a CR in text */
};

/* Trailing-whitespace runs longer than this are taken as text. */
#define SB_QP_MAX_SPACE 128

struct sb_qp_decoder {
	struct sb_codec_sink sink;
	enum sb_qp_state state;
	unsigned char hex;  /* the first digit after '=' */
	unsigned int flags; /* enum sb_codec_flag bits */
	size_t space_len;   /* whitespace held back until we know it is */
	unsigned char space[SB_QP_MAX_SPACE]; /* not trailing */
	size_t out_len;
	unsigned char out[SB_CODEC_CHUNK];
};

void sb_qp_decoder_init(struct sb_qp_decoder *d, struct sb_buf *out);
void sb_qp_decoder_init_fn(struct sb_qp_decoder *d,
                           int (*fn)(void *context, const void *data,
                                     size_t len),
                           void *context);
/*
 * Decodes len more bytes of quoted-printable text (RFC 2045 6.7): "=XY"
 * with hex digits of either case becomes a byte, "=" before a line break
 * (with or without CR, with or without whitespace between) is a soft break
 * and vanishes, whitespace at the end of a line is removed, and a broken
 * "=" sequence is kept as it was and flagged. Hard line breaks are passed
 * on as written ("\r\n" or "\n"). Returns 0, or -1 when the sink failed.
 */
int sb_qp_decoder_feed(struct sb_qp_decoder *d, const void *data,
                       size_t len) SB_WUR;
/* Ends the input; a final lone "=" is a soft break. 0 or -1 as above. */
int sb_qp_decoder_finish(struct sb_qp_decoder *d) SB_WUR;

/*
 * One-shot decoding of a whole input, appended to out. flags_r (may be
 * NULL) receives the enum sb_codec_flag bits. Returns 0, or -1 when out
 * passed its maximum.
 */
int sb_base64_decode(const void *in, size_t len, struct sb_buf *out,
                     unsigned int *flags_r) SB_WUR;
int sb_qp_decode(const void *in, size_t len, struct sb_buf *out,
                 unsigned int *flags_r) SB_WUR;

/*
 * The length of the base64 form of len bytes, without line breaks. It
 * saturates: SIZE_MAX when that length does not fit in a size_t (len
 * above about 3/4 of SIZE_MAX), which no buffer maximum admits.
 */
size_t sb_base64_encoded_len(size_t len);

struct sb_base64_encoder {
	struct sb_codec_sink sink;
	size_t line_len; /* 0: one long line; else a multiple of 4 */
	size_t line_pos; /* characters on the current line */
	size_t held;     /* input bytes waiting for a full triple */
	unsigned char in[3];
	size_t out_len;
	unsigned char out[SB_CODEC_CHUNK];
};

/*
 * Starts an encoder. line_len 0 writes one long line (SASL, JSON); a MIME
 * body uses 76, which puts "\r\n" after every 76 characters. line_len is
 * rounded down to a multiple of 4.
 */
void sb_base64_encoder_init(struct sb_base64_encoder *e, size_t line_len,
                            struct sb_buf *out);
void sb_base64_encoder_init_fn(struct sb_base64_encoder *e, size_t line_len,
                               int (*fn)(void *context, const void *data,
                                         size_t len),
                               void *context);
/* Encodes len more bytes. Returns 0, or -1 when the sink failed. */
int sb_base64_encoder_feed(struct sb_base64_encoder *e, const void *data,
                           size_t len) SB_WUR;
/* Pads the last quantum; with line_len set, ends the last line too. */
int sb_base64_encoder_finish(struct sb_base64_encoder *e) SB_WUR;

/* One-shot base64 with no line breaks, appended to out. 0 or -1. */
int sb_base64_encode(const void *in, size_t len, struct sb_buf *out) SB_WUR;

enum sb_qp_encode_flag {
	/* Encode CR and LF too, for data that is not text. */
	SB_QP_ENCODE_BINARY = 1 << 0,
};

/*
 * Quoted-printable encoding of a whole input, appended to out: lines of at
 * most 76 characters joined by soft breaks, line breaks ("\r\n" or "\n")
 * written as "\r\n", '=' and bytes that are not printable ASCII as =XY,
 * whitespace before a line break encoded, and a '.' or "From " opening a
 * line encoded so that no transport alters it. 0, or -1 when out passed
 * its maximum.
 */
int sb_qp_encode(const void *in, size_t len, unsigned int flags,
                 struct sb_buf *out) SB_WUR;

#endif
