/*
 * IMAP sequence sets (RFC 3501 section 9, RFC 9051 section 9:
 * sequence-set, seq-range, seq-number): "1:*", "3,5:7,9", "*:4".
 *
 * A set is kept as sorted, disjoint ranges with no two adjacent ("2,3"
 * is the one range 2:3), however the client wrote it, so membership is a
 * binary search and the formatter writes the compact form ("1:3,7") that
 * COPYUID, APPENDUID and VANISHED answers use.
 *
 * Every set has a maximum number of ranges; the parser also refuses
 * input with more elements than that, so a client cannot make it sort
 * more than the maximum.
 */
#ifndef SB_IMAP_SEQSET_H
#define SB_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"

/* The maximum number of ranges when imap_seqset_init is given 0. */
#define IMAP_SEQSET_DEFAULT_MAX_RANGES 100000

struct imap_seqset_range {
	uint32_t first;
	uint32_t last; /* first <= last */
};

struct imap_seqset {
	struct imap_seqset_range *ranges; /* sorted, disjoint, apart */
	size_t count;
	size_t alloc;
	size_t max_ranges;
};

/* What "*" stands for, and whether numbers past it are allowed. */
enum imap_seqset_kind {
	/*
	 * Message sequence numbers: "*" is the message count. A number
	 * greater than it, and "*" in an empty mailbox (count 0), are
	 * errors (RFC 9051 seq-number: the server answers BAD).
	 */
	IMAP_SEQSET_SEQ,
	/*
	 * UIDs: "*" is the highest UID in use, or UIDNEXT when the mailbox
	 * is empty (RFC 9051 seq-number), so never 0; any number is
	 * allowed. "559:*" is then 4:559 when the highest UID is 4, and
	 * includes it, as the RFC says.
	 */
	IMAP_SEQSET_UID,
};

/* An empty set of at most max_ranges ranges (0: the default). */
void imap_seqset_init(struct imap_seqset *set, size_t max_ranges);
/* Frees the ranges; the set is empty and can be used again. */
void imap_seqset_free(struct imap_seqset *set);
/* Empties the set, keeping its memory. */
void imap_seqset_clear(struct imap_seqset *set);

/*
 * Parses a sequence-set into set, replacing its contents, with "*"
 * standing for `star` (see enum imap_seqset_kind). Numbers are nz-number:
 * 1..4294967295 without leading zeros. A range may be reversed ("5:3" is
 * 3:5). Returns 0, or -1 with error_r (a static string for a BAD answer)
 * and the set empty when the input is not a sequence set, has more
 * elements than the set's maximum number of ranges, uses "*" when star
 * is 0, or (IMAP_SEQSET_SEQ) names a number greater than star.
 */
int imap_seqset_parse(struct imap_seqset *set, const char *in, size_t len,
                      enum imap_seqset_kind kind, uint32_t star,
                      const char **error_r) SB_WUR;

/*
 * Adds first..last (in either order, 0 is not allowed) to the set,
 * merging it with the ranges it overlaps or touches. Cheap when the
 * range lies after all others, as when a caller adds UIDs in order.
 * Returns 0, or -1 (the set unchanged) when the range holds 0 or the set
 * would pass its maximum number of ranges.
 */
int imap_seqset_add(struct imap_seqset *set, uint32_t first,
                    uint32_t last) SB_WUR;

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* How many numbers the set holds (at most 4294967295). */
uint64_t imap_seqset_count(const struct imap_seqset *set);

/*
 * Appends the compact form ("1:3,7", a single number alone, ranges in
 * increasing order) to out; nothing for an empty set, which is no valid
 * sequence-set: callers check imap_seqset_count first. Returns 0, or -1
 * when out passed its maximum (out is then freed, see common/buf.h).
 */
int imap_seqset_format(const struct imap_seqset *set,
                       struct sb_buf *out) SB_WUR;

/* Walks the numbers of a set in increasing order. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	size_t range;
	uint64_t next; /* the next number within ranges[range] */
};

void imap_seqset_iter_init(struct imap_seqset_iter *it,
                           const struct imap_seqset *set);
/* Gives the next number in n_r; false at the end. */
bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r);

#endif
