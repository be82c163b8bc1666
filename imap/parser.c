/*
 * Stage 2 of the IMAP parser: a framed command to a tag, a name and a
 * tree of values (RFC 3501 section 9), and the accessors that read values
 * as the kinds the commands expect.
 *
 * Lists are built without recursion: the values of the open lists sit on
 * a scratch stack, and when a list closes its elements move, in order, to
 * the final array, where they stay contiguous. All text is copied into one
 * arena allocated up front at its largest possible size, so pointers into
 * it never move; the arena is wiped when the command is freed.
 */
#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

/* A value while parsing: lists refer to the final array by index. */
struct node {
	enum imap_value_type type;
	const char *str;
	size_t len;
	uint64_t number;
	size_t first; /* LIST: index of the first element in final */
	size_t count;
	enum imap_literal_kind literal;
	bool literal_sync;
	bool attached;
};

struct node_vec {
	struct node *v;
	size_t len;
	size_t alloc;
};

struct parser {
	const struct imap_reader_command *in;
	unsigned part; /* the LINE part being read */
	const char *line;
	size_t line_len;
	size_t pos;

	char *arena;
	size_t arena_len;
	size_t arena_size;

	struct node_vec scratch; /* values of the lists still open */
	struct node_vec final;   /* values of closed lists, then the args */
	unsigned values;
	unsigned max_values;
	bool partial;
	const char *error;
};

/* ---- Characters ---- */

/* ATOM-CHAR: any CHAR except atom-specials. */
static bool
atom_char(int c)
{
	return c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '%' && c != '*' && c != '"' && c != '\\' && c != ']';
}

/* What an atom token may hold: ATOM-CHAR, "]" and the list-wildcards. */
static bool
token_char(int c)
{
	return atom_char(c) || c == ']' || c == '%' || c == '*';
}

/* tag = 1*<any ASTRING-CHAR except "+"> */
static bool
tag_char(int c)
{
	return (atom_char(c) || c == ']') && c != '+';
}

static char
ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* ---- Arena ---- */

static size_t
arena_begin(struct parser *ps)
{
	return ps->arena_len;
}

static void
arena_add(struct parser *ps, const char *p, size_t n)
{
	/* The arena was sized for the whole command: see parse_init. */
	if (n >= ps->arena_size - ps->arena_len) {
		sb_log_error("imap parser: arena overflow");
		abort();
	}
	memcpy(ps->arena + ps->arena_len, p, n);
	ps->arena_len += n;
}

/* NUL-terminates the string begun at start and returns it. */
static const char *
arena_end(struct parser *ps, size_t start, size_t *len_r)
{
	arena_add(ps, "", 0);
	ps->arena[ps->arena_len++] = '\0';
	*len_r = ps->arena_len - start - 1;
	return ps->arena + start;
}

static const char *
arena_dup(struct parser *ps, const char *p, size_t n, size_t *len_r)
{
	size_t start = arena_begin(ps);

	arena_add(ps, p, n);
	return arena_end(ps, start, len_r);
}

/* ---- Nodes ---- */

static int
parse_fail(struct parser *ps, const char *error)
{
	if (ps->error == NULL)
		ps->error = error;
	return -1;
}

static void
vec_push(struct node_vec *vec, const struct node *n)
{
	if (vec->len == vec->alloc) {
		vec->alloc = vec->alloc == 0 ? 16 : vec->alloc * 2;
		vec->v = sb_reallocarray(vec->v, vec->alloc, sizeof(*vec->v));
	}
	vec->v[vec->len++] = *n;
}

static int
push_node(struct parser *ps, const struct node *n)
{
	if (++ps->values > ps->max_values)
		return parse_fail(ps, "Too many values in command");
	vec_push(&ps->scratch, n);
	return 0;
}

/* Moves the elements of the list begun at scratch[start] to final. */
static int
close_list(struct parser *ps, size_t start)
{
	struct node list = {.type = IMAP_VALUE_LIST};

	list.first = ps->final.len;
	list.count = ps->scratch.len - start;
	for (size_t i = start; i < ps->scratch.len; i++)
		vec_push(&ps->final, &ps->scratch.v[i]);
	ps->scratch.len = start;
	return push_node(ps, &list);
}

/* ---- Lines ---- */

static void
parse_set_line(struct parser *ps, unsigned part)
{
	const struct imap_part *p = &ps->in->parts[part];

	ps->part = part;
	ps->line = ps->in->data + p->offset;
	ps->line_len = p->len;
	ps->pos = 0;
}

/* The next byte of the line, or -1 at its end. */
static int
peek(const struct parser *ps)
{
	if (ps->pos >= ps->line_len)
		return -1;
	return (unsigned char)ps->line[ps->pos];
}

static bool
last_line(const struct parser *ps)
{
	return ps->part + 1 >= ps->in->count;
}

/* ---- Tokens ---- */

static int
parse_quoted(struct parser *ps)
{
	struct node n = {.type = IMAP_VALUE_QUOTED};
	size_t start = arena_begin(ps);
	char ch;
	int c;

	ps->pos++;
	for (;;) {
		c = peek(ps);
		if (c < 0)
			return parse_fail(ps, "Unterminated quoted string");
		ps->pos++;
		if (c == '"')
			break;
		if (c == '\\') {
			c = peek(ps);
			if (c != '"' && c != '\\')
				return parse_fail(
				        ps, "Invalid escape in quoted string");
			ps->pos++;
		} else if (c == '\r' || c == '\n' || c == '\0') {
			return parse_fail(ps,
			                  "Invalid character in quoted string");
		}
		ch = (char)c;
		arena_add(ps, &ch, 1);
	}
	n.str = arena_end(ps, start, &n.len);
	return push_node(ps, &n);
}

/* An atom of digits that fits in 64 bits, or -1. */
static int
atom_number(const char *p, size_t len, uint64_t *value_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*value_r = v;
	return 0;
}

static int
parse_atom(struct parser *ps, bool attached)
{
	struct node n = {.type = IMAP_VALUE_ATOM, .attached = attached};
	size_t start = ps->pos;

	if (peek(ps) == '\\')
		ps->pos++;
	while (token_char(peek(ps)))
		ps->pos++;
	if (ps->pos == start ||
	    (ps->pos == start + 1 && ps->line[start] == '\\'))
		return parse_fail(ps, "Unexpected character");
	n.str = arena_dup(ps, ps->line + start, ps->pos - start, &n.len);
	if (atom_number(n.str, n.len, &n.number) == 0)
		n.type = IMAP_VALUE_NUMBER;
	else if (n.len == 3 && ascii_upper(n.str[0]) == 'N' &&
	         ascii_upper(n.str[1]) == 'I' && ascii_upper(n.str[2]) == 'L')
		n.type = IMAP_VALUE_NIL;
	return push_node(ps, &n);
}

/*
 * "{" number ["+"] "}" at the end of the line, then the literal part. The
 * reader made sure the size fits in 64 bits; here it is checked anyway,
 * and against the part that follows.
 */
static int
parse_literal(struct parser *ps)
{
	struct node n = {.type = IMAP_VALUE_LITERAL};
	const struct imap_part *lit;
	uint64_t size = 0;
	size_t digits = 0;
	int c;

	ps->pos++;
	while ((c = peek(ps)) >= '0' && c <= '9') {
		if (size > (UINT64_MAX - (unsigned)(c - '0')) / 10)
			return parse_fail(ps, "Literal size too large");
		size = size * 10 + (unsigned)(c - '0');
		digits++;
		ps->pos++;
	}
	n.literal_sync = true;
	if (c == '+') {
		n.literal_sync = false;
		ps->pos++;
	}
	if (digits == 0 || peek(ps) != '}')
		return parse_fail(ps, "Invalid literal marker");
	ps->pos++;
	if (peek(ps) >= 0)
		return parse_fail(ps, "Literal marker not at the end of line");
	if (last_line(ps))
		return parse_fail(ps, "Literal missing");
	lit = &ps->in->parts[ps->part + 1];
	if (lit->type == IMAP_PART_LINE || lit->size != size ||
	    (lit->type == IMAP_PART_LITERAL && lit->len != size))
		return parse_fail(ps, "Literal does not match its marker");
	n.number = size;
	n.str = "";
	switch (lit->type) {
	case IMAP_PART_LITERAL:
		n.literal = IMAP_LITERAL_BUFFERED;
		n.str = arena_dup(ps, ps->in->data + lit->offset, lit->len,
		                  &n.len);
		break;
	case IMAP_PART_STREAMED:
		n.literal = IMAP_LITERAL_STREAMED;
		break;
	case IMAP_PART_PENDING:
	case IMAP_PART_LINE:
		n.literal = IMAP_LITERAL_PENDING;
		if (ps->part + 2 != ps->in->count)
			return parse_fail(ps, "Pending literal not last");
		ps->partial = true;
		return push_node(ps, &n);
	}
	if (ps->part + 2 >= ps->in->count ||
	    ps->in->parts[ps->part + 2].type != IMAP_PART_LINE)
		return parse_fail(ps, "Line missing after literal");
	parse_set_line(ps, ps->part + 2);
	return push_node(ps, &n);
}

static int
parse_value(struct parser *ps)
{
	switch (peek(ps)) {
	case '"':
		return parse_quoted(ps);
	case '{':
		return parse_literal(ps);
	case -1:
		return parse_fail(ps, "Missing value");
	default:
		return parse_atom(ps, false);
	}
}

/* Counts "[" against "]": true when a section is still open. */
static bool
section_open(const struct node *n)
{
	int depth = 0;

	if (n->type != IMAP_VALUE_ATOM || n->attached)
		return false;
	for (size_t i = 0; i < n->len; i++) {
		if (n->str[i] == '[')
			depth++;
		else if (n->str[i] == ']')
			depth--;
	}
	return depth > 0;
}

/*
 * After a list closed at the level beginning at scratch[start]: may a "]"
 * follow it directly? Only when the atom just before the list opened a
 * section: "BODY[HEADER.FIELDS" (list) "]<0.9>".
 */
static bool
section_close_allowed(const struct parser *ps, size_t start)
{
	size_t len = ps->scratch.len;

	return len >= start + 2 && section_open(&ps->scratch.v[len - 2]);
}

/* ---- Arguments ---- */

static int
parse_finish(struct parser *ps, size_t *level_start, unsigned depth)
{
	/* A partial command ends inside its lists: close them. */
	for (; depth > 0; depth--)
		if (close_list(ps, level_start[depth]) != 0)
			return -1;
	return 0;
}

/* What may follow a value: ")", a section's "]", a space or the end. */
static int
parse_after_value(struct parser *ps, size_t *level_start, unsigned *depth,
                  bool *done)
{
	bool just_closed = false;
	int c;

	*done = false;
	for (;;) {
		c = peek(ps);
		if (c == ')') {
			if (*depth == 0)
				return parse_fail(ps, "Unexpected )");
			ps->pos++;
			if (close_list(ps, level_start[*depth]) != 0)
				return -1;
			(*depth)--;
			just_closed = true;
		} else if (c == ']' && just_closed &&
		           section_close_allowed(ps, level_start[*depth])) {
			if (parse_atom(ps, true) != 0)
				return -1;
			just_closed = false;
		} else {
			break;
		}
	}
	if (c < 0) {
		if (!last_line(ps))
			return parse_fail(ps, "Literal missing");
		if (*depth > 0)
			return parse_fail(ps, "Missing )");
		*done = true;
		return 0;
	}
	if (c != ' ')
		return parse_fail(ps, "Expected a space");
	ps->pos++;
	c = peek(ps);
	if (c < 0 || c == ' ' || c == ')')
		return parse_fail(ps, "Extra space");
	return 0;
}

static int
parse_args(struct parser *ps)
{
	size_t level_start[IMAP_MAX_DEPTH + 1];
	unsigned depth = 0;
	bool done = false;

	level_start[0] = 0;
	while (!done) {
		if (peek(ps) == '(') {
			if (depth == IMAP_MAX_DEPTH)
				return parse_fail(ps,
				                  "Lists nested too deeply");
			ps->pos++;
			level_start[++depth] = ps->scratch.len;
			if (peek(ps) < 0)
				return parse_fail(ps, "Missing )");
			if (peek(ps) != ')')
				continue;
			/* "()": parse_after_value closes it. */
		} else {
			if (parse_value(ps) != 0)
				return -1;
			if (ps->partial)
				return parse_finish(ps, level_start, depth);
		}
		if (parse_after_value(ps, level_start, &depth, &done) != 0)
			return -1;
	}
	return 0;
}

/* tag SP name [SP "UID" name]: leaves pos after the name. */
static int
parse_head(struct parser *ps, struct imap_command *cmd)
{
	size_t i, start, len;
	char *name;

	if (ps->line_len == 0)
		return parse_fail(ps, "Empty command line");
	for (i = 0; i < ps->line_len && tag_char(ps->line[i]); i++)
		;
	if (i == 0 || (i < ps->line_len && ps->line[i] != ' '))
		return parse_fail(ps, "Missing or invalid tag");
	cmd->tag = arena_dup(ps, ps->line, i, &len);
	ps->pos = i;
	for (int word = 0; word < 2; word++) {
		if (peek(ps) != ' ')
			return parse_fail(
			        ps, word == 0 ? "Missing command name"
			                      : "Missing command after UID");
		ps->pos++;
		start = ps->pos;
		while (atom_char(peek(ps)))
			ps->pos++;
		if (ps->pos == start || (peek(ps) >= 0 && peek(ps) != ' '))
			return parse_fail(ps, "Invalid command name");
		name = (char *)arena_dup(ps, ps->line + start, ps->pos - start,
		                         &len);
		for (i = 0; i < len; i++)
			name[i] = ascii_upper(name[i]);
		cmd->name = name;
		if (word > 0 || strcmp(name, "UID") != 0)
			break;
		cmd->uid = true;
		cmd->name = NULL;
	}
	return 0;
}

/* The largest arena the command can need (see arena_add's callers). */
static size_t
parse_arena_size(const struct imap_reader_command *in)
{
	size_t size = 16;

	for (unsigned i = 0; i < in->count; i++) {
		const struct imap_part *p = &in->parts[i];

		/* Every token has at least one byte of the input besides its
		   text (a space, a quote, a marker...), but the last one of
		   a line: one NUL per part covers those. */
		if (p->type == IMAP_PART_LINE || p->type == IMAP_PART_LITERAL)
			size += p->len;
		size += 1;
	}
	return size;
}

/* Turns the final nodes into values with pointers. */
static void
parse_build(struct parser *ps, struct imap_command *cmd, size_t args_first,
            size_t arg_count)
{
	struct imap_value *values;
	size_t n = ps->final.len;

	values = sb_calloc(n > 0 ? n : 1, sizeof(*values));
	for (size_t i = 0; i < n; i++) {
		const struct node *src = &ps->final.v[i];
		struct imap_value *v = &values[i];

		v->type = src->type;
		v->str = src->str != NULL ? src->str : "";
		v->len = src->len;
		v->number = src->number;
		v->count = src->type == IMAP_VALUE_LIST ? src->count : 0;
		v->list = v->count > 0 ? values + src->first : NULL;
		v->literal = src->literal;
		v->literal_sync = src->literal_sync;
		v->attached = src->attached;
	}
	cmd->values_ = values;
	cmd->value_count_ = n;
	cmd->args = arg_count > 0 ? values + args_first : NULL;
	cmd->arg_count = arg_count;
}

int
imap_parse_command(const struct imap_reader_command *in,
                   struct imap_command *cmd, const char **error_r)
{
	struct parser ps;
	size_t args_first;
	int ret = -1;

	memset(cmd, 0, sizeof(*cmd));
	memset(&ps, 0, sizeof(ps));
	ps.in = in;
	ps.max_values = in->limits != NULL ? in->limits->max_values : 16384;
	ps.arena_size = parse_arena_size(in);
	ps.arena = sb_malloc(ps.arena_size);
	cmd->arena_ = ps.arena;
	cmd->arena_size_ = ps.arena_size;

	if (in->count == 0 || in->parts[0].type != IMAP_PART_LINE) {
		parse_fail(&ps, "Empty command line");
		goto out;
	}
	parse_set_line(&ps, 0);
	if (parse_head(&ps, cmd) != 0)
		goto out;
	if (peek(&ps) < 0) {
		if (!last_line(&ps)) {
			parse_fail(&ps, "Literal missing");
			goto out;
		}
	} else {
		/* parse_head left a space here. */
		ps.pos++;
		if (peek(&ps) < 0 || peek(&ps) == ' ') {
			parse_fail(&ps, "Extra space");
			goto out;
		}
		if (parse_args(&ps) != 0)
			goto out;
	}
	/* The arguments are what is left on the scratch stack. */
	args_first = ps.final.len;
	for (size_t i = 0; i < ps.scratch.len; i++)
		vec_push(&ps.final, &ps.scratch.v[i]);
	parse_build(&ps, cmd, args_first, ps.scratch.len);
	cmd->partial = ps.partial;
	ret = 0;
out:
	free(ps.scratch.v);
	free(ps.final.v);
	if (ret != 0)
		*error_r = ps.error != NULL ? ps.error : "Invalid command";
	return ret;
}

void
imap_command_free(struct imap_command *cmd)
{
	if (cmd->arena_ != NULL) {
		explicit_bzero(cmd->arena_, cmd->arena_size_);
		free(cmd->arena_);
	}
	free(cmd->values_);
	memset(cmd, 0, sizeof(*cmd));
}

/* ---- Reading values ---- */

static int
value_fail(const char **error_r, const char *error)
{
	*error_r = error;
	return -1;
}

static bool
is_atom_type(const struct imap_value *v)
{
	return v->type == IMAP_VALUE_ATOM || v->type == IMAP_VALUE_NUMBER ||
	       v->type == IMAP_VALUE_NIL;
}

/* True when every byte of the atom passes accept. */
static bool
atom_all(const struct imap_value *v, bool (*accept)(int c))
{
	for (size_t i = 0; i < v->len; i++)
		if (!accept((unsigned char)v->str[i]))
			return false;
	return v->len > 0;
}

static bool
astring_char(int c)
{
	return atom_char(c) || c == ']';
}

static bool
list_char(int c)
{
	return token_char(c);
}

static bool
seqset_char(int c)
{
	return (c >= '0' && c <= '9') || c == ':' || c == ',' || c == '*' ||
	       c == '$';
}

bool
imap_value_is_atom(const struct imap_value *v, const char *name)
{
	return is_atom_type(v) && sb_sv_eq_cstr_ci(sb_sv(v->str, v->len), name);
}

int
imap_value_atom(const struct imap_value *v, struct sb_sv *atom_r,
                const char **error_r)
{
	if (!is_atom_type(v))
		return value_fail(error_r, "Expected an atom");
	*atom_r = sb_sv(v->str, v->len);
	return 0;
}

int
imap_value_string(const struct imap_value *v, struct sb_sv *str_r,
                  const char **error_r)
{
	if (v->type == IMAP_VALUE_LITERAL &&
	    v->literal != IMAP_LITERAL_BUFFERED)
		return value_fail(error_r, "Literal not available");
	if (v->type != IMAP_VALUE_QUOTED && v->type != IMAP_VALUE_LITERAL)
		return value_fail(error_r, "Expected a string");
	*str_r = sb_sv(v->str, v->len);
	return 0;
}

int
imap_value_astring(const struct imap_value *v, struct sb_sv *str_r,
                   const char **error_r)
{
	if (!is_atom_type(v))
		return imap_value_string(v, str_r, error_r);
	if (!atom_all(v, astring_char))
		return value_fail(error_r, "Invalid character in atom");
	*str_r = sb_sv(v->str, v->len);
	return 0;
}

int
imap_value_nstring(const struct imap_value *v, struct sb_sv *str_r,
                   const char **error_r)
{
	if (v->type == IMAP_VALUE_NIL) {
		*str_r = sb_sv(NULL, 0);
		return 0;
	}
	return imap_value_string(v, str_r, error_r);
}

int
imap_value_number(const struct imap_value *v, uint64_t *number_r,
                  const char **error_r)
{
	if (v->type == IMAP_VALUE_NUMBER) {
		*number_r = v->number;
		return 0;
	}
	if (v->type == IMAP_VALUE_ATOM && v->str[0] >= '0' &&
	    v->str[0] <= '9' && strspn(v->str, "0123456789") == v->len)
		return value_fail(error_r, "Number too large");
	return value_fail(error_r, "Expected a number");
}

int
imap_value_nz_number(const struct imap_value *v, uint64_t *number_r,
                     const char **error_r)
{
	if (imap_value_number(v, number_r, error_r) != 0)
		return -1;
	if (*number_r == 0 || v->str[0] == '0')
		return value_fail(error_r, "Expected a non-zero number");
	return 0;
}

int
imap_value_seqset(const struct imap_value *v, struct sb_sv *set_r,
                  const char **error_r)
{
	if (!is_atom_type(v) || !atom_all(v, seqset_char))
		return value_fail(error_r, "Expected a sequence set");
	*set_r = sb_sv(v->str, v->len);
	return 0;
}

int
imap_value_mailbox(const struct imap_value *v, struct sb_sv *name_r,
                   const char **error_r)
{
	return imap_value_astring(v, name_r, error_r);
}

int
imap_value_list_mailbox(const struct imap_value *v, struct sb_sv *pat_r,
                        const char **error_r)
{
	if (!is_atom_type(v))
		return imap_value_string(v, pat_r, error_r);
	if (!atom_all(v, list_char))
		return value_fail(error_r, "Invalid character in mailbox");
	*pat_r = sb_sv(v->str, v->len);
	return 0;
}

int
imap_value_flag(const struct imap_value *v, struct sb_sv *flag_r,
                const char **error_r)
{
	size_t i = 0;

	if (!is_atom_type(v))
		return value_fail(error_r, "Expected a flag");
	if (v->str[0] == '\\')
		i = 1;
	if (i == v->len)
		return value_fail(error_r, "Invalid flag");
	for (; i < v->len; i++)
		if (!atom_char((unsigned char)v->str[i]))
			return value_fail(error_r, "Invalid flag");
	*flag_r = sb_sv(v->str, v->len);
	return 0;
}

int
imap_value_flag_list(const struct imap_value *v, const char **error_r)
{
	struct sb_sv flag;

	if (v->type != IMAP_VALUE_LIST)
		return value_fail(error_r, "Expected a flag list");
	for (size_t i = 0; i < v->count; i++)
		if (imap_value_flag(&v->list[i], &flag, error_r) != 0)
			return -1;
	return 0;
}

int
imap_value_date(const struct imap_value *v, time_t *time_r,
                const char **error_r)
{
	if (v->type != IMAP_VALUE_ATOM && v->type != IMAP_VALUE_QUOTED)
		return value_fail(error_r, "Expected a date");
	if (sb_date_parse_imap_date(v->str, v->len, time_r, error_r) != 0)
		return value_fail(error_r, "Invalid date");
	return 0;
}

int
imap_value_datetime(const struct imap_value *v, struct sb_date *date_r,
                    const char **error_r)
{
	if (v->type != IMAP_VALUE_QUOTED)
		return value_fail(error_r, "Expected a quoted date-time");
	if (sb_date_parse_imap_datetime(v->str, v->len, date_r, error_r) != 0)
		return value_fail(error_r, "Invalid date-time");
	return 0;
}
