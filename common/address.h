/*
 * RFC 5322 address lists (section 3.4, with the obsolete syntax of 4.4),
 * parsed best-effort into entries that an IMAP ENVELOPE (RFC 3501) can
 * render directly: a mailbox is (name, route, mailbox, domain), a group is
 * a start entry carrying its name and an end entry.
 */
#ifndef SB_ADDRESS_H
#define SB_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "compiler.h"

enum sb_address_type {
	SB_ADDRESS_MAILBOX,
	/* "name:" of a group: mailbox holds the name, domain is NULL. */
	SB_ADDRESS_GROUP_START,
	/* The ";" ending a group: every string is NULL. */
	SB_ADDRESS_GROUP_END,
};

/* What was wrong in the input; the parse still gives its best result. */
enum sb_address_flag {
	/* Stray specials, junk after an address, words out of place. */
	SB_ADDRESS_ERR_SYNTAX = 1 << 0,
	/* An address without "@domain"; its domain is "". */
	SB_ADDRESS_ERR_NO_DOMAIN = 1 << 1,
	/* A '<' never closed by '>'. */
	SB_ADDRESS_ERR_NO_ANGLE = 1 << 2,
	/* A quoted string, comment or domain literal never closed. */
	SB_ADDRESS_ERR_UNTERMINATED = 1 << 3,
	/* A group without ';', a group in a group, or a stray ';'. */
	SB_ADDRESS_ERR_GROUP = 1 << 4,
	/* A part cut at SB_ADDRESS_MAX_PART, or too many words in one. */
	SB_ADDRESS_ERR_TOO_LONG = 1 << 5,
	/* Addresses past the maximum were dropped. */
	SB_ADDRESS_ERR_TOO_MANY = 1 << 6,
	/* Comments nested deeper than SB_ADDRESS_MAX_COMMENT_DEPTH. */
	SB_ADDRESS_ERR_DEPTH = 1 << 7,
	/* A NUL byte in a part; it became U+FFFD. */
	SB_ADDRESS_ERR_NUL = 1 << 8,
};

/* The longest name, route, mailbox or domain kept (a header line). */
#define SB_ADDRESS_MAX_PART 998
/*
 * Deeper comment nesting is flagged (SB_ADDRESS_ERR_DEPTH); it is still
 * counted, so every ')' closes what a '(' opened.
 */
#define SB_ADDRESS_MAX_COMMENT_DEPTH 32
/* Words and specials in one address; more are dropped. */
#define SB_ADDRESS_MAX_TOKENS 4096

struct sb_address {
	enum sb_address_type type;
	/*
	 * The display name as written, unfolded, quotes and quoted-pairs
	 * removed, encoded words kept (what ENVELOPE sends). Without one, a
	 * comment after a bare addr-spec ("a@b.example (Name)") serves; a
	 * comment before or inside an address never does. NULL if none.
	 */
	char *name;
	/*
	 * The name (or a group's name) decoded to UTF-8, always valid UTF-8
	 * without control characters but TAB; NULL if none. When decoding would
	 * pass SB_ADDRESS_MAX_PART * 4 bytes, the name as written with
	 * U+FFFD for what is not UTF-8, cut there (SB_ADDRESS_ERR_TOO_LONG).
	 */
	char *display_name;
	/* An obsolete source route such as "@a.example,@b.example". */
	char *route;
	/*
	 * The local part, unquoted; a group's name; NULL for a group end.
	 * Folding line breaks are removed from every part (a CR or LF after
	 * a backslash too), and a NUL becomes U+FFFD.
	 */
	char *mailbox;
	/*
	 * The domain; "" when missing; NULL for a group start or end. A
	 * domain literal keeps its brackets, without folding whitespace.
	 */
	char *domain;
	unsigned int flags; /* enum sb_address_flag: this entry's problems */
};

struct sb_address_list {
	struct sb_address *addrs;
	size_t count;
	unsigned int flags; /* enum sb_address_flag: all problems met */
};

/*
 * Parses the value of an address header (From, To, Cc, Reply-To, ...),
 * which may still hold folding line breaks. Never fails: broken input
 * gives the best result it allows, with flags set. At most max_addresses
 * entries are made (group starts and ends count; at least 2); a group is
 * always closed by its end entry. Returns an owned list.
 */
struct sb_address_list *sb_address_list_parse_new(const char *value, size_t len,
                                                  size_t max_addresses);
void sb_address_list_free(struct sb_address_list **list);

/*
 * Appends "mailbox@domain" to out, quoting the local part when it is not
 * a dot-atom; just the mailbox when the domain is empty. Returns 0, or -1
 * (out unchanged) when the entry is not a mailbox, its local part holds a
 * control character (C0 or DEL: it cannot be written safely even quoted),
 * or its domain is neither a dot-atom nor a domain literal of dtext; or -1
 * when out passed its maximum (out is then freed, see buf.h).
 */
int sb_address_write_addr_spec(const struct sb_address *addr,
                               struct sb_buf *out) SB_WUR;

#endif
