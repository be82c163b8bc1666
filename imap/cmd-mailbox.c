/*
 * Mailboxes: LIST, LSUB (RFC 3501 6.3.8-9, with the CHILDREN attributes of
 * RFC 3348 and the SPECIAL-USE ones of RFC 6154), CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, STATUS, and NAMESPACE (RFC 2342). Changes go
 * through the replica's local-first calls, which queue them for the
 * service.
 */
#include <stdlib.h>
#include <string.h>
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

static void
imap_list_common(struct imap_session *s, const struct imap_command *c,
                 bool lsub)
{
	struct sb_sv ref, pat;
	struct imap_boxes b;
	struct sb_buf name, pattern, line;
	const char *error;
	size_t i;

	if (c->arg_count != 2 ||
	    imap_value_mailbox(&c->args[0], &ref, &error) < 0 ||
	    imap_value_list_mailbox(&c->args[1], &pat, &error) < 0) {
		imap_bad_args(s, c, "LIST takes a reference and a pattern");
		return;
	}
	if (pat.len == 0) {
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
	sb_buf_init(&pattern, SIZE_MAX);
	if (sb_buf_add(&pattern, ref.p, ref.len) < 0 ||
	    sb_buf_add(&pattern, pat.p, pat.len) < 0 ||
	    sb_buf_add_char(&pattern, '\0') < 0)
		abort();
	sb_buf_init(&name, SIZE_MAX);
	sb_buf_init(&line, SIZE_MAX);
	for (i = 0; i < b.count; i++) {
		const struct store_mailbox *mb = &b.list[i];
		const char *use = imap_role_attribute(mb->role);

		if (lsub && !mb->subscribed)
			continue;
		name.len = 0;
		if (imap_path_name(mb->path, &name) < 0 ||
		    sb_buf_add_char(&name, '\0') < 0)
			continue; /* not a name a client can use */
		if (!imap_list_match(pattern.data, name.data))
			continue;
		line.len = 0;
		if (sb_buf_add_printf(&line, "* %s (%s%s%s) \"/\" ",
		                      lsub ? "LSUB" : "LIST",
		                      imap_has_children(&b, mb)
		                              ? "\\HasChildren"
		                              : "\\HasNoChildren",
		                      use != NULL ? " " : "",
		                      use != NULL ? use : "") < 0 ||
		    imap_write_mailbox(mb->path, &line) < 0 ||
		    sb_buf_add_str(&line, "\r\n") < 0)
			abort();
		imap_reply_raw(s, line.data, line.len);
	}
	sb_buf_free(&line);
	sb_buf_free(&name);
	sb_buf_free(&pattern);
	imap_boxes_free(&b);
	imap_reply(s, "%s OK %s completed", c->tag, c->name);
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
			imap_reply(s, "%s NO [CANNOT] The %s mailbox stays",
			           c->tag, mb.role);
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
		imap_reply(s, "%s NO [CANNOT] The %s mailbox keeps its name",
		           c->tag, mb.role);
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

void
imap_cmd_status(struct imap_session *s, const struct imap_command *c)
{
	struct store_mailbox_status st;
	struct store_mailbox mb;
	const struct imap_value *items;
	struct sb_buf line;
	const char *error;
	char *path;
	size_t i;

	if (c->arg_count != 2 || c->args[1].type != IMAP_VALUE_LIST ||
	    c->args[1].count == 0) {
		imap_bad_args(s, c,
		              "STATUS takes a mailbox and a list of items");
		return;
	}
	items = c->args[1].list;
	for (i = 0; i < c->args[1].count; i++) {
		if (!imap_value_is_atom(&items[i], "MESSAGES") &&
		    !imap_value_is_atom(&items[i], "RECENT") &&
		    !imap_value_is_atom(&items[i], "UIDNEXT") &&
		    !imap_value_is_atom(&items[i], "UIDVALIDITY") &&
		    !imap_value_is_atom(&items[i], "UNSEEN") &&
		    !imap_value_is_atom(&items[i], "HIGHESTMODSEQ")) {
			imap_bad_args(s, c, "Unknown STATUS item");
			return;
		}
		/* A CONDSTORE enabling command (RFC 7162 3.1). */
		if (imap_value_is_atom(&items[i], "HIGHESTMODSEQ"))
			s->condstore = true;
	}
	if (!imap_arg_path(s, c, 0, &path))
		return;
	if (imap_find(s, c, path, &mb) <= 0) {
		free(path);
		return;
	}
	if (store_mailbox_status(s->st, mb.id, &st, &error) < 0) {
		imap_store_failed(s, c, error);
		goto out;
	}
	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_str(&line, "* STATUS ") < 0 ||
	    imap_write_mailbox(mb.path, &line) < 0 ||
	    sb_buf_add_str(&line, " (") < 0)
		abort();
	for (i = 0; i < c->args[1].count; i++) {
		const char *sp = i > 0 ? " " : "";
		int ret;

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
	imap_reply(s, "%s OK STATUS completed", c->tag);
out:
	store_mailbox_free_contents(&mb);
	free(path);
}
