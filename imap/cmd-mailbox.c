/*
 * Mailboxes: LIST, LSUB (RFC 3501 6.3.8-9, with the CHILDREN attributes of
 * RFC 3348 and the SPECIAL-USE ones of RFC 6154), CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, STATUS, and NAMESPACE (RFC 2342). Changes go
 * through the replica's local-first calls, which queue them for the
 * service.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "imap-private.h"

/* The account's mailboxes, sorted by path. */
struct imap_boxes {
	struct store_mailbox *list;
	size_t count;
};

static int SB_WUR
imap_boxes_get(struct imap_session *s, struct imap_boxes *b,
               const char **error_r)
{
	return store_mailbox_list(s->st, s->account_id, &b->list, &b->count,
	                          error_r);
}

static void
imap_boxes_free(struct imap_boxes *b)
{
	store_mailbox_list_free(&b->list, b->count);
}

static bool
imap_has_children(const struct imap_boxes *b, const struct store_mailbox *mb)
{
	size_t i;

	for (i = 0; i < b->count; i++) {
		if (b->list[i].parent_id == mb->id)
			return true;
	}
	return false;
}

/* Reads a mailbox argument as the replica's path; BAD on failure. */
static bool
imap_arg_path(struct imap_session *s, const struct imap_command *c, size_t i,
              char **path_r)
{
	struct sb_sv name;
	const char *why;

	if (imap_value_mailbox(&c->args[i], &name, &why) < 0) {
		imap_bad_args(s, c, why);
		return false;
	}
	if (imap_name_to_path(name.p, name.len, path_r, &why) < 0) {
		imap_reply(s, "%s NO %s", c->tag, why);
		return false;
	}
	return true;
}

/* The mailbox at path: 1 found, 0 answered NO [NONEXISTENT], -1 NO'd. */
static int
imap_find(struct imap_session *s, const struct imap_command *c,
          const char *path, struct store_mailbox *mb_r)
{
	const char *error;
	int ret = store_mailbox_find_path(s->st, s->account_id, path, mb_r,
	                                  &error);

	if (ret < 0) {
		imap_store_failed(s, c, error);
		return -1;
	}
	if (ret == 0)
		imap_reply(s, "%s NO [NONEXISTENT] No such mailbox", c->tag);
	return ret;
}

int
imap_mailbox_arg(struct imap_session *s, const struct imap_command *c, size_t i,
                 const char *missing, struct store_mailbox *mb_r)
{
	const char *error;
	char *path;
	int ret;

	if (!imap_arg_path(s, c, i, &path))
		return 0;
	ret = store_mailbox_find_path(s->st, s->account_id, path, mb_r, &error);
	free(path);
	if (ret < 0)
		imap_store_failed(s, c, error);
	else if (ret == 0)
		imap_reply(s, "%s NO [%s] No such mailbox", c->tag, missing);
	return ret > 0 ? 1 : 0;
}

static bool imap_status_items_ok(struct imap_session *s,
                                 const struct imap_value *items, size_t n);
static int imap_status_line(struct imap_session *s,
                            const struct store_mailbox *mb,
                            const struct imap_value *items, size_t n,
                            const char **error_r);

/* What a LIST asks (RFC 3501, and RFC 5258, 5819, 6154's extensions). */
struct imap_list_req {
	bool lsub;
	bool sel_subscribed, sel_special, recursive; /* selection options */
	bool ret_subscribed;                         /* RETURN (SUBSCRIBED) */
	const struct imap_value *status;             /* RETURN (STATUS (...)) */
	struct sb_sv ref;
	const struct imap_value *patterns; /* one value or a list's items */
	size_t n_patterns;
};

/* Reads the arguments; 0, or -1 with *why_r. */
static int
imap_list_parse(struct imap_session *s, const struct imap_command *c,
                struct imap_list_req *r, const char **why_r)
{
	const struct imap_value *v;
	struct sb_sv pat;
	size_t i = 0, k;

	*why_r = "LIST takes a reference and a pattern";
	if (!r->lsub && c->arg_count > 0 &&
	    c->args[0].type == IMAP_VALUE_LIST) {
		v = &c->args[i++];
		for (k = 0; k < v->count; k++) {
			if (imap_value_is_atom(&v->list[k], "SUBSCRIBED"))
				r->sel_subscribed = true;
			else if (imap_value_is_atom(&v->list[k], "SPECIAL-USE"))
				r->sel_special = true;
			else if (imap_value_is_atom(&v->list[k],
			                            "RECURSIVEMATCH"))
				r->recursive = true;
			else if (!imap_value_is_atom(&v->list[k], "REMOTE"))
				return -1;
		}
		/* RECURSIVEMATCH alone is an error (RFC 5258 3). */
		if (r->recursive && !r->sel_subscribed && !r->sel_special)
			return -1;
	}
	if (i + 2 > c->arg_count ||
	    imap_value_mailbox(&c->args[i], &r->ref, why_r) < 0)
		return -1;
	v = &c->args[i + 1];
	if (!r->lsub && v->type == IMAP_VALUE_LIST) {
		r->patterns = v->list;
		r->n_patterns = v->count;
	} else {
		r->patterns = v;
		r->n_patterns = 1;
	}
	for (k = 0; k < r->n_patterns; k++) {
		if (imap_value_list_mailbox(&r->patterns[k], &pat, why_r) < 0)
			return -1;
	}
	i += 2;
	if (i == c->arg_count)
		return 0;
	if (r->lsub || i + 2 != c->arg_count ||
	    !imap_value_is_atom(&c->args[i], "RETURN") ||
	    c->args[i + 1].type != IMAP_VALUE_LIST)
		return -1;
	v = &c->args[i + 1];
	for (k = 0; k < v->count; k++) {
		if (imap_value_is_atom(&v->list[k], "SUBSCRIBED")) {
			r->ret_subscribed = true;
		} else if (imap_value_is_atom(&v->list[k], "STATUS") &&
		           k + 1 < v->count &&
		           v->list[k + 1].type == IMAP_VALUE_LIST &&
		           imap_status_items_ok(s, v->list[k + 1].list,
		                                v->list[k + 1].count)) {
			r->status = &v->list[++k];
		} else if (!imap_value_is_atom(&v->list[k], "CHILDREN") &&
		           !imap_value_is_atom(&v->list[k], "SPECIAL-USE")) {
			*why_r = "Unknown LIST return option";
			return -1;
		}
	}
	return 0;
}

/* True when the mailbox's name matches one of the patterns. */
static bool
imap_list_matches(const struct imap_list_req *r, const char *name)
{
	struct sb_buf full;
	struct sb_sv pat;
	const char *why;
	size_t k;
	bool ok = false;

	sb_buf_init(&full, SIZE_MAX);
	for (k = 0; k < r->n_patterns && !ok; k++) {
		if (imap_value_list_mailbox(&r->patterns[k], &pat, &why) < 0)
			continue;
		sb_buf_reset(&full);
		if (sb_buf_add(&full, r->ref.p, r->ref.len) < 0 ||
		    sb_buf_add(&full, pat.p, pat.len) < 0)
			abort();
		ok = imap_list_match(sb_buf_str(&full), name);
	}
	sb_buf_free(&full);
	return ok;
}

/* True when a subscribed mailbox is below mb (RECURSIVEMATCH). */
static bool
imap_subscribed_below(const struct imap_boxes *b,
                      const struct store_mailbox *mb)
{
	size_t i, n = strlen(mb->path);

	for (i = 0; i < b->count; i++) {
		const struct store_mailbox *o = &b->list[i];

		if (o->subscribed && strncmp(o->path, mb->path, n) == 0 &&
		    o->path[n] == STORE_MAILBOX_SEP)
			return true;
	}
	return false;
}

static void
imap_list_common(struct imap_session *s, const struct imap_command *c,
                 bool lsub)
{
	struct imap_list_req r;
	struct imap_boxes b;
	struct sb_buf name, line;
	struct sb_sv pat;
	const char *error;
	bool childinfo;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.lsub = lsub;
	if (imap_list_parse(s, c, &r, &error) < 0) {
		imap_bad_args(s, c, error);
		return;
	}
	if (r.n_patterns == 1 &&
	    imap_value_list_mailbox(&r.patterns[0], &pat, &error) == 0 &&
	    pat.len == 0) {
		/* The hierarchy separator and the root (RFC 3501 6.3.8). */
		imap_reply(s, "* %s (\\Noselect) \"/\" \"\"",
		           lsub ? "LSUB" : "LIST");
		imap_reply(s, "%s OK %s completed", c->tag, c->name);
		return;
	}
	if (imap_boxes_get(s, &b, &error) < 0) {
		imap_store_failed(s, c, error);
		return;
	}
	sb_buf_init(&name, SIZE_MAX);
	sb_buf_init(&line, SIZE_MAX);
	for (i = 0; i < b.count; i++) {
		const struct store_mailbox *mb = &b.list[i];
		const char *use = imap_role_attribute(mb->role);
		bool subscribed = mb->subscribed;

		childinfo = false;
		if ((lsub || r.sel_subscribed) && !subscribed) {
			/* A parent of a subscribed one, with RECURSIVEMATCH. */
			if (!r.recursive || !imap_subscribed_below(&b, mb))
				continue;
			childinfo = true;
		}
		if (r.sel_special && use == NULL)
			continue;
		sb_buf_reset(&name);
		if (imap_path_name(mb->path, &name) < 0)
			continue; /* not a name a client can use */
		if (!imap_list_matches(&r, sb_buf_str(&name)))
			continue;
		sb_buf_reset(&line);
		if (sb_buf_add_printf(
		            &line, "* %s (%s%s%s%s) \"/\" ",
		            lsub ? "LSUB" : "LIST",
		            imap_has_children(&b, mb) ? "\\HasChildren"
		                                      : "\\HasNoChildren",
		            (r.sel_subscribed || r.ret_subscribed) && subscribed
		                    ? " \\Subscribed"
		                    : "",
		            use != NULL ? " " : "",
		            use != NULL ? use : "") < 0 ||
		    imap_write_mailbox(mb->path, &line) < 0 ||
		    (childinfo &&
		     sb_buf_add_str(&line, " (\"CHILDINFO\" "
		                           "(\"SUBSCRIBED\"))") < 0) ||
		    sb_buf_add_str(&line, "\r\n") < 0)
			abort();
		imap_reply_raw(s, line.data, line.len);
		/* LIST-STATUS: the mailbox's STATUS right after it. */
		if (r.status != NULL &&
		    imap_status_line(s, mb, r.status->list, r.status->count,
		                     &error) < 0) {
			imap_store_failed(s, c, error);
			goto out;
		}
	}
	imap_reply(s, "%s OK %s completed", c->tag, c->name);
out:
	sb_buf_free(&line);
	sb_buf_free(&name);
	imap_boxes_free(&b);
}

void
imap_cmd_list(struct imap_session *s, const struct imap_command *c)
{
	imap_list_common(s, c, false);
}

void
imap_cmd_lsub(struct imap_session *s, const struct imap_command *c)
{
	imap_list_common(s, c, true);
}

void
imap_cmd_namespace(struct imap_session *s, const struct imap_command *c)
{
	if (c->arg_count != 0) {
		imap_bad_args(s, c, "NAMESPACE takes no arguments");
		return;
	}
	imap_reply(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_reply(s, "%s OK NAMESPACE completed", c->tag);
}

/*
 * The replica's id of the parent a path needs, making the missing levels
 * above it (RFC 3501 6.3.3: a server SHOULD). 0 at the top; -1 answered.
 */
static int64_t
imap_parents(struct imap_session *s, const struct imap_command *c, char *path)
{
	struct store_mailbox mb;
	const char *error;
	int64_t parent = 0, id;
	char *sep = path;
	int ret;

	while ((sep = strchr(sep, STORE_MAILBOX_SEP)) != NULL) {
		*sep = '\0';
		ret = store_mailbox_find_path(s->st, s->account_id, path, &mb,
		                              &error);
		if (ret > 0) {
			id = mb.id;
			store_mailbox_free_contents(&mb);
		} else if (ret == 0) {
			ret = store_local_mailbox_create(
			        s->st, s->account_id, parent,
			        strrchr(path, STORE_MAILBOX_SEP) != NULL
			                ? strrchr(path, STORE_MAILBOX_SEP) + 1
			                : path,
			        time(NULL), &id, &error);
		}
		*sep = STORE_MAILBOX_SEP;
		if (ret < 0) {
			imap_reply(s, "%s NO %s", c->tag, error);
			return -1;
		}
		parent = id;
		sep++;
	}
	return parent;
}

void
imap_cmd_create(struct imap_session *s, const struct imap_command *c)
{
	struct store_mailbox mb;
	const char *error, *leaf;
	char *path;
	int64_t parent, id;
	int ret;

	if (c->arg_count != 1) {
		imap_bad_args(s, c, "CREATE takes a mailbox name");
		return;
	}
	if (!imap_arg_path(s, c, 0, &path))
		return;
	ret = store_mailbox_find_path(s->st, s->account_id, path, &mb, &error);
	if (ret != 0) {
		if (ret > 0) {
			store_mailbox_free_contents(&mb);
			imap_reply(s, "%s NO [ALREADYEXISTS] Mailbox exists",
			           c->tag);
		} else {
			imap_store_failed(s, c, error);
		}
		free(path);
		return;
	}
	parent = imap_parents(s, c, path);
	if (parent >= 0) {
		leaf = strrchr(path, STORE_MAILBOX_SEP);
		leaf = leaf != NULL ? leaf + 1 : path;
		if (store_local_mailbox_create(s->st, s->account_id, parent,
		                               leaf, time(NULL), &id,
		                               &error) < 0)
			imap_reply(s, "%s NO %s", c->tag, error);
		else
			imap_reply(s, "%s OK CREATE completed", c->tag);
	}
	free(path);
}

void
imap_cmd_delete(struct imap_session *s, const struct imap_command *c)
{
	struct store_mailbox mb;
	const char *error;
	char *path;

	if (c->arg_count != 1) {
		imap_bad_args(s, c, "DELETE takes a mailbox name");
		return;
	}
	if (!imap_arg_path(s, c, 0, &path))
		return;
	if (imap_find(s, c, path, &mb) > 0) {
		if (s->state == IMAP_STATE_SELECTED &&
		    s->view.mailbox_id == mb.id)
			imap_reply(s, "%s NO [INUSE] The mailbox is selected",
			           c->tag);
		else if (mb.role != NULL)
			imap_reply(s, "%s NO [CANNOT] %s stays: it has a role",
			           c->tag, mb.path);
		else if (store_local_mailbox_delete(s->st, mb.id, time(NULL),
		                                    &error) < 0)
			imap_reply(s, "%s NO [CANNOT] %s", c->tag, error);
		else
			imap_reply(s, "%s OK DELETE completed", c->tag);
		store_mailbox_free_contents(&mb);
	}
	free(path);
}

void
imap_cmd_rename(struct imap_session *s, const struct imap_command *c)
{
	struct store_mailbox mb, other;
	const char *error, *leaf;
	char *from = NULL, *to = NULL;
	int64_t parent;
	int ret;

	if (c->arg_count != 2) {
		imap_bad_args(s, c, "RENAME takes two mailbox names");
		return;
	}
	if (!imap_arg_path(s, c, 0, &from) || !imap_arg_path(s, c, 1, &to))
		goto out;
	if (imap_find(s, c, from, &mb) <= 0)
		goto out;
	ret = store_mailbox_find_path(s->st, s->account_id, to, &other, &error);
	if (ret != 0) {
		if (ret > 0) {
			store_mailbox_free_contents(&other);
			imap_reply(s, "%s NO [ALREADYEXISTS] Mailbox exists",
			           c->tag);
		} else {
			imap_store_failed(s, c, error);
		}
	} else if (mb.role != NULL) {
		/* INBOX too: its messages cannot move out of it this way. */
		imap_reply(s, "%s NO [CANNOT] %s keeps its name: it has a role",
		           c->tag, mb.path);
	} else if ((parent = imap_parents(s, c, to)) >= 0) {
		leaf = strrchr(to, STORE_MAILBOX_SEP);
		leaf = leaf != NULL ? leaf + 1 : to;
		if (store_local_mailbox_rename(s->st, mb.id, parent, leaf,
		                               time(NULL), &error) < 0)
			imap_reply(s, "%s NO %s", c->tag, error);
		else
			imap_reply(s, "%s OK RENAME completed", c->tag);
	}
	store_mailbox_free_contents(&mb);
out:
	free(from);
	free(to);
}

static void
imap_subscription(struct imap_session *s, const struct imap_command *c, bool on)
{
	struct store_mailbox mb;
	const char *error;
	char *path;

	if (c->arg_count != 1) {
		imap_bad_args(s, c, "It takes a mailbox name");
		return;
	}
	if (!imap_arg_path(s, c, 0, &path))
		return;
	if (imap_find(s, c, path, &mb) > 0) {
		if (store_mailbox_set_subscribed(s->st, mb.id, on, &error) < 0)
			imap_store_failed(s, c, error);
		else
			imap_reply(s, "%s OK %s completed", c->tag, c->name);
		store_mailbox_free_contents(&mb);
	}
	free(path);
}

void
imap_cmd_subscribe(struct imap_session *s, const struct imap_command *c)
{
	imap_subscription(s, c, true);
}

void
imap_cmd_unsubscribe(struct imap_session *s, const struct imap_command *c)
{
	imap_subscription(s, c, false);
}

/* True when every STATUS item is one this server gives. */
static bool
imap_status_items_ok(struct imap_session *s, const struct imap_value *items,
                     size_t n)
{
	static const char *const known[] = {"MESSAGES", "RECENT",
	                                    "UIDNEXT",  "UIDVALIDITY",
	                                    "UNSEEN",   "HIGHESTMODSEQ"};
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < SB_N_ELEMENTS(known); k++) {
			if (imap_value_is_atom(&items[i], known[k]))
				break;
		}
		if (k == SB_N_ELEMENTS(known))
			return false;
		/* A CONDSTORE enabling command (RFC 7162 3.1). */
		if (k == 5)
			s->condstore = true;
	}
	return n > 0;
}

/* "* STATUS name (items)" of one mailbox; -1 on a replica error. */
static int
imap_status_line(struct imap_session *s, const struct store_mailbox *mb,
                 const struct imap_value *items, size_t n, const char **error_r)
{
	struct store_mailbox_status st;
	struct sb_buf line;
	size_t i;
	int ret;

	if (store_mailbox_status(s->st, mb->id, &st, error_r) < 0)
		return -1;
	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_str(&line, "* STATUS ") < 0 ||
	    imap_write_mailbox(mb->path, &line) < 0 ||
	    sb_buf_add_str(&line, " (") < 0)
		abort();
	for (i = 0; i < n; i++) {
		const char *sp = i > 0 ? " " : "";

		if (imap_value_is_atom(&items[i], "MESSAGES"))
			ret = sb_buf_add_printf(&line, "%sMESSAGES %u", sp,
			                        st.messages);
		else if (imap_value_is_atom(&items[i], "RECENT"))
			ret = sb_buf_add_printf(&line, "%sRECENT 0", sp);
		else if (imap_value_is_atom(&items[i], "UIDNEXT"))
			/* Past the last UID there is none to give. */
			ret = sb_buf_add_printf(
			        &line, "%sUIDNEXT %llu", sp,
			        (unsigned long long)(st.uidnext > UINT32_MAX
			                                     ? UINT32_MAX
			                                     : st.uidnext));
		else if (imap_value_is_atom(&items[i], "UIDVALIDITY"))
			ret = sb_buf_add_printf(&line, "%sUIDVALIDITY %u", sp,
			                        st.uidvalidity);
		else if (imap_value_is_atom(&items[i], "HIGHESTMODSEQ"))
			ret = sb_buf_add_printf(
			        &line, "%sHIGHESTMODSEQ %llu", sp,
			        (unsigned long long)st.highestmodseq);
		else
			ret = sb_buf_add_printf(&line, "%sUNSEEN %u", sp,
			                        st.unseen);
		if (ret < 0)
			abort();
	}
	if (sb_buf_add_str(&line, ")\r\n") < 0)
		abort();
	imap_reply_raw(s, line.data, line.len);
	sb_buf_free(&line);
	return 0;
}

void
imap_cmd_status(struct imap_session *s, const struct imap_command *c)
{
	struct store_mailbox mb;
	const char *error;
	char *path;

	if (c->arg_count != 2 || c->args[1].type != IMAP_VALUE_LIST ||
	    !imap_status_items_ok(s, c->args[1].list, c->args[1].count)) {
		imap_bad_args(
		        s, c,
		        "STATUS takes a mailbox and a list of known items");
		return;
	}
	if (!imap_arg_path(s, c, 0, &path))
		return;
	if (imap_find(s, c, path, &mb) > 0) {
		if (imap_status_line(s, &mb, c->args[1].list, c->args[1].count,
		                     &error) < 0)
			imap_store_failed(s, c, error);
		else
			imap_reply(s, "%s OK STATUS completed", c->tag);
		store_mailbox_free_contents(&mb);
	}
	free(path);
}
