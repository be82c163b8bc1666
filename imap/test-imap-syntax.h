/*
 * A strict reader of the IMAP text that envelope.h and bodystructure.h
 * write, after RFC 3501's formal syntax (section 9), for the tests and
 * the fuzz targets: it accepts exactly one body or envelope and nothing
 * after it, and reports each part's section number, size and line count
 * so that a caller can check them against the message's bytes.
 */
#ifndef SB_IMAP_TEST_IMAP_SYNTAX_H
#define SB_IMAP_TEST_IMAP_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A part of a body that is not a multipart, as the text describes it. */
struct tis_part {
	const char *section; /* "1", "2.1", ... (RFC 3501 6.4.5 numbering) */
	bool message;        /* "MESSAGE" "RFC822": envelope and body follow */
	bool text;           /* "TEXT": a line count follows */
	uint64_t size;
	uint64_t lines; /* 0 unless message or text */
};

/* Called for every part in the order the text gives them; may be NULL. */
typedef void tis_part_fn(void *context, const struct tis_part *part);

/*
 * Checks that [p, p + len) is one body (RFC 3501 "body") with the
 * extension data of BODYSTRUCTURE when extended, else without any.
 * Returns 0, or -1 with error_r naming the first problem.
 */
int tis_check_body(const char *p, size_t len, bool extended, tis_part_fn *fn,
                   void *context, const char **error_r);

/* Same for one envelope (RFC 3501 "envelope"), groups balanced. */
int tis_check_envelope(const char *p, size_t len, const char **error_r);

/*
 * The weaker check: parentheses balance, every quoted string ends, and
 * every literal has its announced bytes.
 */
int tis_check_balanced(const char *p, size_t len, const char **error_r);

#endif
