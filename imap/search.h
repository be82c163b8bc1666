/*
 * SEARCH's keys (RFC 3501 6.4.4) as a small expression tree, and the
 * test of one message against it (docs/imap.md, SEARCH).
 *
 * imap_search_parse reads the key list from a command's values into a
 * tree of AND (a parenthesized list, and the whole list), OR, NOT and
 * leaf keys, without recursion and within limits on nesting and size, so
 * a hostile client can neither blow the stack nor make it allocate much.
 * The children of AND and OR are ordered cheapest first.
 *
 * imap_search_match decides for one message with what is at hand, in
 * three steps of cost: what the replica holds (flags, INTERNALDATE, UID,
 * sequence number), then the summary (header section and size: no body
 * needed), then the whole message decrypted in memory. Keys are
 * three-valued (yes, no, not known yet) and short-circuit, so a message
 * is only decrypted when the cheaper keys leave its fate open; the
 * caller loads what it is asked for and asks again.
 *
 * Search strings and message text are secrets here: nothing of them may
 * reach a log (imap_search_describe is for tests only).
 */
#ifndef SB_IMAP_SEARCH_H
#define SB_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/charset.h"
#include "common/compiler.h"
#include "imap/parser.h"
#include "imap/seqset.h"

/* NOT, OR and parenthesized lists nested deeper are BAD. */
#define IMAP_SEARCH_MAX_DEPTH 32
/* Keys in one command, the operators included. */
#define IMAP_SEARCH_MAX_NODES 4096
/* Decoded text of one message searched by BODY and TEXT; the rest is not. */
#define IMAP_SEARCH_TEXT_MAX (32u * 1024 * 1024)

/* What a key needs, cheapest first. */
enum imap_search_cost {
	IMAP_SEARCH_COST_REPLICA, /* flags, dates, UID, sequence number */
	IMAP_SEARCH_COST_SUMMARY, /* the header section, the size */
	IMAP_SEARCH_COST_MESSAGE, /* the whole message, decrypted */
};

enum imap_search_op {
	IMAP_SEARCH_AND, /* a list of keys, the whole command's too */
	IMAP_SEARCH_OR,  /* two keys */
	IMAP_SEARCH_NOT, /* one key */
	/* Leaves. */
	IMAP_SEARCH_CONST,   /* ALL, OLD: true; RECENT, NEW: false */
	IMAP_SEARCH_KEYWORD, /* \Seen and the others as $seen ..., KEYWORD */
	IMAP_SEARCH_DELETED, /* this mailbox's \Deleted */
	IMAP_SEARCH_SEQ,     /* a sequence set */
	IMAP_SEARCH_UID,
	IMAP_SEARCH_BEFORE, /* INTERNALDATE, in days */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE, /* the Date: header, in days */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER, /* RFC822.SIZE */
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_MODSEQ, /* RFC 7162 3.1.5: the message's modseq, at least */
	IMAP_SEARCH_HEADER, /* FROM, TO, CC, BCC, SUBJECT, HEADER */
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_TEXT,
};

/* No node: the end of a list of children. */
#define IMAP_SEARCH_NONE UINT32_MAX

struct imap_search_node {
	enum imap_search_op op;
	enum imap_search_cost cost; /* of its most expensive key */
	uint32_t child;             /* AND, OR, NOT: the first child */
	uint32_t next;              /* the next sibling */
	/* Leaves: UNSEEN, UNKEYWORD ... are their key, negated. */
	bool negate;
	bool value; /* CONST */
	/*
	 * KEYWORD: the keyword. HEADER, BODY, TEXT: the search string,
	 * UTF-8, case-folded (imap_search_fold). Owned; a secret.
	 */
	char *str;
	size_t len;
	char *field;            /* HEADER: the field name, lower case (owned) */
	uint64_t number;        /* LARGER, SMALLER, MODSEQ */
	int64_t day;            /* dates: days since 1970-01-01 */
	struct imap_seqset set; /* SEQ, UID */
};

struct imap_search {
	struct imap_search_node *nodes; /* nodes[0] is the root AND */
	size_t count, alloc;
	/* A MODSEQ key was given: the answer carries (MODSEQ n). */
	bool modseq;
};

/* What "*" stands for in the command's sequence sets. */
struct imap_search_params {
	uint32_t messages; /* sequence numbers: the message count */
	uint32_t max_uid;  /* UIDs: the highest one, or 1 when empty */
};

enum imap_search_error {
	IMAP_SEARCH_ERR_SYNTAX,  /* BAD */
	IMAP_SEARCH_ERR_CHARSET, /* NO [BADCHARSET (US-ASCII UTF-8)] */
};

/*
 * Parses SEARCH's arguments: [CHARSET astring] search-key *(SP
 * search-key), RFC 3501's keys and RFC 7162's MODSEQ (its entry name,
 * "/flags/...", is read and ignored: a message has one modseq). CHARSET may be
 * US-ASCII or UTF-8 (any case); a search string must be UTF-8 either way
 * (US-ASCII text is). Sequence sets are read with `p`; "$" (RFC 5182) is not
 * offered. Returns 0 with an owned tree, or -1 with *kind_r and *error_r
 * (static text for the answer).
 */
int imap_search_parse(const struct imap_value *args, size_t count,
                      const struct imap_search_params *p,
                      struct imap_search **search_r,
                      enum imap_search_error *kind_r,
                      const char **error_r) SB_WUR;
/* Frees (wiping the search strings) and sets *search to NULL. */
void imap_search_free(struct imap_search **search);

/*
 * For tests: the tree as text, in the order it is evaluated, such as
 * (and keyword:$seen (not header:subject:"caf\xc3\xa9")). It holds the
 * search strings: never log it.
 */
void imap_search_describe(const struct imap_search *search, struct sb_buf *out);

/*
 * Folds case in place, keeping the length: ASCII, and the Latin-1,
 * Latin Extended-A, Greek, Cyrillic and Armenian letters whose folded
 * form is as long in UTF-8. Bytes that are not UTF-8 stay as they are.
 */
void imap_search_fold(char *p, size_t len);

/* ---- One message ---- */

struct imap_search_msg {
	/* From the replica: always set. */
	uint32_t seq, uid;
	const char *keywords; /* space-separated, "$seen" for \Seen */
	bool deleted;
	int64_t received_at; /* INTERNALDATE, seconds since the epoch */
	uint64_t modseq;
	/* The summary: set by the caller when asked for. */
	bool have_summary;
	const char *headers; /* the header section */
	size_t headers_len;
	uint64_t size; /* RFC822.SIZE */
	/* The whole message: set by the caller when asked for. */
	bool have_message;
	const char *message;
	size_t message_len;

	/* Private: text decoded for TEXT and BODY, wiped when freed. */
	struct sb_buf header_text_, body_text_, scratch_;
	bool have_header_text_, have_body_text_;
	struct sb_charset_cache charsets_;
};

/* Clears m for a message; the caller then sets the replica's fields. */
void imap_search_msg_init(struct imap_search_msg *m);
/* Wipes and frees what matching decoded; m can be initialized again. */
void imap_search_msg_free(struct imap_search_msg *m);

enum imap_search_result {
	IMAP_SEARCH_NO,
	IMAP_SEARCH_YES,
	/* Not known yet: load what *need_r says and ask again. */
	IMAP_SEARCH_NEED,
};

/*
 * Tests m against the tree with what it holds. NEED comes with the
 * cheapest step that could decide (SUMMARY when the summary is not
 * loaded and would help, else MESSAGE); a message loaded serves the
 * summary's keys too.
 */
enum imap_search_result imap_search_match(const struct imap_search *search,
                                          struct imap_search_msg *m,
                                          enum imap_search_cost *need_r);

#endif
