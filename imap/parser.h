/*
 * The IMAP command parser, in two stages. It knows nothing of the network
 * or the store, writes nothing and logs nothing.
 *
 * Stage 1, framing (struct imap_reader): the client's bytes are fed in
 * pieces of any size and come out as events. A command is one or more
 * lines; a line that ends with a literal marker "{N}" (synchronizing) or
 * "{N+}" (LITERAL+, RFC 7888) is followed by N raw bytes and then by
 * another line of the same command. The reader stops at every marker,
 * before any byte of the literal is taken, so that the session can check
 * the size (and, with a partial parse, the command) and then accept the
 * literal, kept in the command or streamed out to the session, or reject
 * it. Lines end in CRLF; a bare LF is accepted as well (as by most
 * servers: some clients and scripts send it), a CR anywhere else is an
 * error. Feeding one byte at a time gives the same events as feeding
 * everything at once, except that streamed literal bytes come out in
 * pieces whose sizes follow the feeding.
 *
 * Stage 2, grammar (imap_parse_command): a complete command is parsed
 * into its tag, its name and a small tree of values (RFC 3501 section 9):
 * atoms, numbers, quoted strings, literals, NIL and parenthesized lists.
 * Commands read the values they expect with the accessors below (astring,
 * string, nstring, number, sequence set, mailbox, flag list, date, ...);
 * FETCH and STORE have parsers of their own for their data items.
 *
 * Memory: the reader keeps at most one command (bounded by struct
 * imap_limits) and wipes it when it is done with it, since LOGIN and
 * AUTHENTICATE carry passwords. A parsed command owns copies of all its
 * bytes and is freed (and wiped) by imap_command_free. No recursion:
 * lists nest at most IMAP_MAX_DEPTH deep.
 *
 * Nothing here may be logged as it is: commands carry credentials and
 * literals carry mail. See sb_log_redact_command() in common/log.h.
 */
#ifndef SB_IMAP_PARSER_H
#define SB_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/compiler.h"
#include "common/date.h"
#include "common/sv.h"

/* Lists nested deeper than this are an error, never a deeper stack. */
#define IMAP_MAX_DEPTH 32

/* ---- Limits ---- */

struct imap_limits {
	/* One line of a command, without its CRLF. */
	size_t max_line;
	/* All lines and buffered literals of one command together. */
	size_t max_command;
	/* One literal kept in the command (IMAP_LITERAL_BUFFER). */
	size_t max_literal;
	/* Literal markers in one command, buffered or streamed. */
	unsigned max_literals;
	/*
	 * Bytes of rejected non-synchronizing literals the reader reads and
	 * throws away per command; past this the connection must close.
	 */
	size_t max_discard;
	/* Values (atoms, strings, lists, ...) of one parsed command. */
	unsigned max_values;
};

/* Limits for a session that has logged in. */
void imap_limits_default(struct imap_limits *limits_r);
/* Tighter limits for a session that has not logged in yet. */
void imap_limits_prelogin(struct imap_limits *limits_r);

/* ---- Stage 1: the reader ---- */

/* One piece of a command as the reader framed it. */
enum imap_part_type {
	/* A line without its CRLF, literal marker included. */
	IMAP_PART_LINE,
	/* The bytes of a literal kept in the command. */
	IMAP_PART_LITERAL,
	/* A literal that was handed out to the session (size only). */
	IMAP_PART_STREAMED,
	/* The literal announced by an IMAP_EV_LITERAL event (size only). */
	IMAP_PART_PENDING,
};

struct imap_part {
	enum imap_part_type type;
	size_t offset; /* LINE, LITERAL: of its bytes in data */
	size_t len;    /* LINE, LITERAL: bytes in data */
	uint64_t size; /* LITERAL, STREAMED, PENDING: the announced size */
};

/*
 * A command as framed: lines and literals alternate, starting and ending
 * with a line (or ending with the PENDING literal while one is waiting).
 */
struct imap_reader_command {
	const char *data; /* the LINE and LITERAL bytes */
	size_t len;
	const struct imap_part *parts;
	unsigned count;
	/* The limits it was read under; imap_parse_command obeys them. */
	const struct imap_limits *limits;
};

enum imap_event_type {
	/* All bytes given were taken: feed more. */
	IMAP_EV_NEED_MORE,
	/* A literal was announced: accept or reject it before feeding on. */
	IMAP_EV_LITERAL,
	/* Bytes of a literal accepted in IMAP_LITERAL_STREAM mode. */
	IMAP_EV_LITERAL_DATA,
	/* A complete command: parse it with imap_parse_command. */
	IMAP_EV_COMMAND,
	/* The line asked for with imap_reader_set_raw_line. */
	IMAP_EV_RAW_LINE,
	/* A command (or raw line) was bad; see struct imap_event. */
	IMAP_EV_ERROR,
};

enum imap_reader_error {
	IMAP_READER_ERR_NONE,
	IMAP_READER_ERR_LINE_TOO_LONG,
	IMAP_READER_ERR_COMMAND_TOO_LONG,
	IMAP_READER_ERR_TOO_MANY_LITERALS,
	/* The size of a literal marker does not fit in 64 bits. */
	IMAP_READER_ERR_LITERAL_SIZE,
	IMAP_READER_ERR_NUL,
	/* A CR that is not right before an LF. */
	IMAP_READER_ERR_BARE_CR,
	/* Rejected non-synchronizing literals passed max_discard. */
	IMAP_READER_ERR_DISCARD_LIMIT,
};

struct imap_event {
	enum imap_event_type type;
	/*
	 * LITERAL, ERROR: the command's tag when its first line had a valid
	 * one (len 0 otherwise). Not NUL-terminated.
	 */
	struct sb_sv tag;
	/*
	 * LITERAL: the command so far, ending with a PENDING part for this
	 * literal; imap_parse_command parses it as a partial command.
	 * COMMAND: the complete command.
	 */
	const struct imap_reader_command *command;

	/* LITERAL */
	uint64_t literal_size;
	bool literal_sync; /* "{N}": the session sends "+ " when accepting */
	/* True when IMAP_LITERAL_BUFFER mode would be within the limits. */
	bool literal_fits;
	unsigned literal_index; /* 0 for the command's first literal */

	/* LITERAL_DATA: bytes of the caller's buffer; then left to come */
	struct sb_sv data;
	uint64_t literal_left;

	/* RAW_LINE: the line without its CRLF, NUL-terminated */
	struct sb_sv line;

	/* ERROR */
	enum imap_reader_error error;
	const char *error_text; /* static, fit for a "BAD" reply */
	/*
	 * The stream cannot be followed any more (a non-synchronizing
	 * literal that is too large to read through): say BYE and close.
	 * Otherwise reply BAD (tagged when tag.len > 0) and feed on: the
	 * reader has skipped, or will skip, the rest of the bad command.
	 */
	bool must_close;
};

enum imap_literal_mode {
	/* The bytes are kept in the command (at most max_literal). */
	IMAP_LITERAL_BUFFER,
	/* The bytes come out as IMAP_EV_LITERAL_DATA events. */
	IMAP_LITERAL_STREAM,
};

struct imap_reader;

/* A reader with the given limits (copied; nonsense limits abort). */
struct imap_reader *imap_reader_new(const struct imap_limits *limits);
/* Frees (and wipes) the reader and sets *r to NULL. NULL is fine. */
void imap_reader_free(struct imap_reader **r);

/*
 * New limits, from the next command on (the one being read keeps its
 * own). The session calls it after LOGIN or AUTHENTICATE succeeded.
 */
void imap_reader_set_limits(struct imap_reader *r,
                            const struct imap_limits *limits);

/*
 * Takes bytes from data until the next event, which it returns and
 * describes in *ev_r; *consumed_r is how many bytes were taken (the rest
 * is for the next call, after the event was handled). Views in the event
 * stay valid until the next call of imap_reader_feed, except the
 * LITERAL_DATA bytes, which are the caller's. len may be 0.
 *
 * After IMAP_EV_LITERAL the next call must be imap_reader_literal_accept
 * or _reject; feeding before that returns the same event again, taking
 * nothing. After an error with must_close every call returns that error.
 */
enum imap_event_type imap_reader_feed(struct imap_reader *r, const void *data,
                                      size_t len, size_t *consumed_r,
                                      struct imap_event *ev_r) SB_WUR;

/*
 * Accepts the literal of the last IMAP_EV_LITERAL event. For a
 * synchronizing literal the session then sends "+ ..." itself. Returns
 * -1 with *error_r when mode is BUFFER and the literal does not fit the
 * limits (ev.literal_fits was false): nothing changed, reject it instead.
 * A literal of size 0 gives no LITERAL_DATA event.
 */
int imap_reader_literal_accept(struct imap_reader *r,
                               enum imap_literal_mode mode,
                               const char **error_r) SB_WUR;

/*
 * Rejects the literal of the last IMAP_EV_LITERAL event and with it the
 * whole command; the session replies with a tagged BAD (or NO). For a
 * synchronizing literal the client sends nothing more for the command.
 * A non-synchronizing one is on its way already: the reader reads its
 * bytes and the rest of the command and throws them away when they fit
 * max_discard, and returns 0: go on. Otherwise it returns -1: the
 * connection must close (RFC 7888 leaves a server these two choices).
 */
int imap_reader_literal_reject(struct imap_reader *r) SB_WUR;

/*
 * The next line is returned as one IMAP_EV_RAW_LINE event, not parsed as
 * a command: the client's answer to an AUTHENTICATE challenge, or IDLE's
 * "DONE". Call it between commands only (right after an event that ended
 * one); calling it in the middle of a command aborts. A raw line that is
 * too long or holds a NUL or bare CR gives IMAP_EV_ERROR without a tag.
 */
void imap_reader_set_raw_line(struct imap_reader *r);

/* True while part of a command (or raw line) has been read. */
bool imap_reader_in_command(const struct imap_reader *r);

/* ---- Stage 2: the grammar ---- */

enum imap_value_type {
	IMAP_VALUE_ATOM,
	/* An atom of 1 to 20 digits whose value fits in 64 bits. */
	IMAP_VALUE_NUMBER,
	IMAP_VALUE_QUOTED,
	IMAP_VALUE_LITERAL,
	/* The atom NIL, any case. */
	IMAP_VALUE_NIL,
	IMAP_VALUE_LIST,
};

enum imap_literal_kind {
	IMAP_LITERAL_BUFFERED, /* str and len hold its bytes */
	IMAP_LITERAL_STREAMED, /* given to the session; str is "" */
	IMAP_LITERAL_PENDING,  /* partial command: not accepted yet */
};

/*
 * A value. An atom may hold what RFC 3501 allows in atoms, astrings,
 * list-mailboxes and sequence sets: any ATOM-CHAR, "]", "%" and "*", and a
 * leading "\" (a flag such as \Seen). The accessors below check the
 * stricter syntax a command expects.
 */
struct imap_value {
	enum imap_value_type type;
	/*
	 * ATOM, NUMBER, NIL: the atom as written. QUOTED: unescaped.
	 * LITERAL: its bytes. Always NUL-terminated; may hold NULs only as a
	 * literal (len counts the bytes).
	 */
	const char *str;
	size_t len;
	/* NUMBER: the value. LITERAL: the announced size. */
	uint64_t number;
	/* LIST: the elements. */
	const struct imap_value *list;
	size_t count;
	/* LITERAL */
	enum imap_literal_kind literal;
	bool literal_sync;
	/*
	 * ATOM: it followed a list with no space between, which the grammar
	 * allows only to close a section: in BODY[HEADER.FIELDS (A B)]<0.9>
	 * the values are the atom "BODY[HEADER.FIELDS", the list (A B) and
	 * the attached atom "]<0.9>".
	 */
	bool attached;
};

struct imap_command {
	/* NULL when the line had no valid tag. */
	const char *tag;
	/* Upper-cased; without the UID prefix. NULL on some errors. */
	const char *name;
	/* The command was "UID <name>". */
	bool uid;
	/*
	 * Parsed from an IMAP_EV_LITERAL event's command: the last value is
	 * the PENDING literal and the lists around it are closed early.
	 */
	bool partial;
	const struct imap_value *args;
	size_t arg_count;

	/* Private. */
	char *arena_;
	size_t arena_size_;
	struct imap_value *values_;
	size_t value_count_;
};

/*
 * Parses a framed command:
 *   tag SP name [SP value *(SP value)], or tag SP "UID" SP name [...]
 * with values separated by exactly one space (RFC 3501: no tabs, no
 * extra spaces). Returns 0, or -1 with *error_r (static text, fit for a
 * BAD reply) and cmd->tag set when the tag was read, so the reply can be
 * tagged. Either way cmd must be freed with imap_command_free.
 */
int imap_parse_command(const struct imap_reader_command *in,
                       struct imap_command *cmd_r, const char **error_r) SB_WUR;
/* Frees and wipes what the command holds; it can be parsed into again. */
void imap_command_free(struct imap_command *cmd);

/* ---- Reading values ----
 *
 * Each returns 0, or -1 with *error_r (static text) when the value is not
 * of that kind. Views point into the command and are NUL-terminated.
 */

/* True when v is an atom (or number, or NIL) equal to name, any case. */
bool imap_value_is_atom(const struct imap_value *v, const char *name);
/* An atom of any kind (ATOM, NUMBER, NIL) as written. */
int imap_value_atom(const struct imap_value *v, struct sb_sv *atom_r,
                    const char **error_r) SB_WUR;
/* astring = 1*ASTRING-CHAR / string (the atom NIL is the string "NIL"). */
int imap_value_astring(const struct imap_value *v, struct sb_sv *str_r,
                       const char **error_r) SB_WUR;
/* string = quoted / literal (a buffered one). */
int imap_value_string(const struct imap_value *v, struct sb_sv *str_r,
                      const char **error_r) SB_WUR;
/* nstring = string / NIL; NIL gives str_r->p == NULL. */
int imap_value_nstring(const struct imap_value *v, struct sb_sv *str_r,
                       const char **error_r) SB_WUR;
/* number = 1*DIGIT (up to 2^64 - 1: larger is an error). */
int imap_value_number(const struct imap_value *v, uint64_t *number_r,
                      const char **error_r) SB_WUR;
/* nz-number: a number other than 0, without leading zeros. */
int imap_value_nz_number(const struct imap_value *v, uint64_t *number_r,
                         const char **error_r) SB_WUR;
/*
 * A sequence set's text: an atom of digits, ":", ",", "*" and "$" (RFC
 * 5182). Its structure is checked by seqset.h's parser.
 */
int imap_value_seqset(const struct imap_value *v, struct sb_sv *set_r,
                      const char **error_r) SB_WUR;
/* mailbox = astring (INBOX's case and modified UTF-7 are the caller's). */
int imap_value_mailbox(const struct imap_value *v, struct sb_sv *name_r,
                       const char **error_r) SB_WUR;
/* list-mailbox = 1*list-char / string: an astring that may hold % and *. */
int imap_value_list_mailbox(const struct imap_value *v, struct sb_sv *pat_r,
                            const char **error_r) SB_WUR;
/* flag = "\" atom / atom (a keyword). */
int imap_value_flag(const struct imap_value *v, struct sb_sv *flag_r,
                    const char **error_r) SB_WUR;
/* flag-list = "(" [flag *(SP flag)] ")": checks every element. */
int imap_value_flag_list(const struct imap_value *v,
                         const char **error_r) SB_WUR;
/*
 * date = date-text / DQUOTE date-text DQUOTE ("1-Jul-2003", SEARCH):
 * the start of that day in UTC.
 */
int imap_value_date(const struct imap_value *v, time_t *time_r,
                    const char **error_r) SB_WUR;
/* date-time, quoted ("01-Jul-2003 10:52:37 +0200", APPEND). */
int imap_value_datetime(const struct imap_value *v, struct sb_date *date_r,
                        const char **error_r) SB_WUR;

/* ---- FETCH data items (RFC 3501 6.4.5, RFC 7162 MODSEQ) ---- */

#define IMAP_SECTION_MAX_PARTS 32

enum imap_fetch_item {
	IMAP_FETCH_ENVELOPE = 1u << 0,
	IMAP_FETCH_FLAGS = 1u << 1,
	IMAP_FETCH_INTERNALDATE = 1u << 2,
	IMAP_FETCH_RFC822 = 1u << 3,
	IMAP_FETCH_RFC822_HEADER = 1u << 4,
	IMAP_FETCH_RFC822_SIZE = 1u << 5,
	IMAP_FETCH_RFC822_TEXT = 1u << 6,
	IMAP_FETCH_BODY = 1u << 7, /* BODY without a section */
	IMAP_FETCH_BODYSTRUCTURE = 1u << 8,
	IMAP_FETCH_UID = 1u << 9,
	IMAP_FETCH_MODSEQ = 1u << 10,
};

enum imap_section_text {
	IMAP_SECTION_WHOLE, /* no text part: the whole message or part */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

/* One BODY[section]<partial> or BODY.PEEK[...]. */
struct imap_fetch_body {
	bool peek;
	unsigned part_count;
	uint32_t parts[IMAP_SECTION_MAX_PARTS]; /* "1.2" is {1, 2} */
	enum imap_section_text text;
	/* HEADER.FIELDS[.NOT]: the field names (views into the command). */
	struct sb_sv *fields;
	size_t field_count;
	bool partial;
	uint64_t origin; /* <origin.count> */
	uint64_t count;  /* not 0 */
};

struct imap_fetch_atts {
	unsigned items; /* enum imap_fetch_item bits; macros expanded */
	struct imap_fetch_body *bodies;
	size_t body_count;
};

/*
 * Parses FETCH's data items from args (the values after the sequence
 * set): a macro (ALL, FAST, FULL), one item, or a list of items.
 * *used_r is how many values they took: usually 1, or 3 for an unlisted
 * BODY[HEADER.FIELDS (...)]; what follows are the modifiers (RFC 4466),
 * such as (CHANGEDSINCE 1 VANISHED). The result refers to the command's
 * values: free it with imap_fetch_atts_free before the command.
 */
int imap_parse_fetch_atts(const struct imap_value *args, size_t count,
                          struct imap_fetch_atts *atts_r, size_t *used_r,
                          const char **error_r) SB_WUR;
void imap_fetch_atts_free(struct imap_fetch_atts *atts);

/* ---- STORE's flags item ---- */

enum imap_store_op {
	IMAP_STORE_REPLACE, /* FLAGS */
	IMAP_STORE_ADD,     /* +FLAGS */
	IMAP_STORE_REMOVE,  /* -FLAGS */
};

struct imap_store_flags {
	enum imap_store_op op;
	bool silent; /* .SILENT */
	/* The flags, each checked with imap_value_flag. */
	const struct imap_value *flags;
	size_t count;
};

/*
 * Parses store-att-flags from args (the values after the sequence set
 * and any modifier list): (["+" / "-"] "FLAGS" [".SILENT"]) followed by a
 * flag-list or by one or more flags. All of args must be used.
 */
int imap_parse_store_flags(const struct imap_value *args, size_t count,
                           struct imap_store_flags *store_r,
                           const char **error_r) SB_WUR;

#endif
