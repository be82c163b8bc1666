/*
 * Mailbox names as clients see them (modified UTF-7, RFC 3501 5.1.3, with
 * "/" between levels and INBOX in any case) and as the replica keeps
 * them (UTF-8 paths), and LIST's patterns (RFC 3501 6.3.8).
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "imap-private.h"
#include "imap/quote.h"
#include "imap/utf7.h"

/* Longest name taken from a client, in bytes. */
#define IMAP_NAME_MAX 1024

static bool
imap_is_inbox(const char *s, size_t len)
{
	return len == 5 && strncasecmp(s, "INBOX", 5) == 0;
}

int
imap_name_to_path(const char *name, size_t len, char **path_r,
                  const char **why_r)
{
	struct sb_buf out;
	size_t i;

	/* A trailing separator names the same mailbox (RFC 3501 6.3.3). */
	while (len > 0 && name[len - 1] == STORE_MAILBOX_SEP)
		len--;
	if (len == 0 || len > IMAP_NAME_MAX) {
		*why_r = "Not a mailbox name";
		return -1;
	}
	/* INBOX, in any case, also as the first level. */
	if (len >= 5 && imap_is_inbox(name, 5) &&
	    (len == 5 || name[5] == STORE_MAILBOX_SEP)) {
		sb_buf_init(&out, SIZE_MAX);
		if (sb_buf_add_str(&out, "INBOX") < 0 ||
		    (len > 5 &&
		     imap_utf7_to_utf8(name + 5, len - 5, &out, why_r) < 0)) {
			sb_buf_free(&out);
			*why_r = "Not a mailbox name in modified UTF-7";
			return -1;
		}
	} else {
		sb_buf_init(&out, SIZE_MAX);
		if (imap_utf7_to_utf8(name, len, &out, why_r) < 0) {
			sb_buf_free(&out);
			*why_r = "Not a mailbox name in modified UTF-7";
			return -1;
		}
	}
	if (sb_buf_add_char(&out, '\0') < 0)
		abort();
	out.len--;
	/* No empty level: "a//b", "/a". */
	for (i = 0; i < out.len; i++) {
		if (out.data[i] == STORE_MAILBOX_SEP &&
		    (i == 0 || out.data[i - 1] == STORE_MAILBOX_SEP)) {
			sb_buf_free(&out);
			*why_r = "A mailbox name has an empty level";
			return -1;
		}
	}
	*path_r = sb_buf_take(&out, NULL);
	return 0;
}

int
imap_path_name(const char *path, struct sb_buf *out)
{
	const char *error;

	return imap_utf8_to_utf7(path, strlen(path), out, &error);
}

int
imap_write_mailbox(const char *path, struct sb_buf *out)
{
	struct sb_buf name;
	int ret;

	sb_buf_init(&name, SIZE_MAX);
	ret = imap_path_name(path, &name);
	if (ret == 0)
		ret = imap_write_astring(name.data != NULL ? name.data : "",
		                         name.len, out);
	sb_buf_free(&name);
	return ret;
}

/*
 * LIST's wildcards: "*" matches anything, "%" anything but the
 * separator. A table of which pattern prefixes match which name prefixes,
 * one row at a time: no recursion, no blow-up on many wildcards. INBOX
 * (only the name itself, and as the first level) matches in any case.
 */
bool
imap_list_match(const char *pattern, const char *name)
{
	size_t m = strlen(pattern), n = strlen(name), i, j;
	bool *prev, *cur, *t, ok, fold;

	fold = (n >= 5 && imap_is_inbox(name, 5) &&
	        (n == 5 || name[5] == STORE_MAILBOX_SEP));
	prev = sb_calloc(n + 1, sizeof(*prev));
	cur = sb_calloc(n + 1, sizeof(*cur));
	prev[0] = true;
	for (i = 1; i <= m; i++) {
		char p = pattern[i - 1];

		cur[0] = prev[0] && (p == '*' || p == '%');
		for (j = 1; j <= n; j++) {
			char c = name[j - 1];

			if (p == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (p == '%')
				cur[j] = prev[j] ||
				         (cur[j - 1] && c != STORE_MAILBOX_SEP);
			else if (fold && j <= 5 && ((p | 0x20) == (c | 0x20)))
				cur[j] = prev[j - 1];
			else
				cur[j] = prev[j - 1] && p == c;
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	ok = prev[n];
	free(prev);
	free(cur);
	return ok;
}

const char *
imap_role_attribute(const char *role)
{
	static const struct {
		const char *role, *attr;
	} map[] = {
	        {"drafts", "\\Drafts"},   {"sent", "\\Sent"},
	        {"trash", "\\Trash"},     {"junk", "\\Junk"},
	        {"archive", "\\Archive"}, {STORE_ROLE_ALL, "\\All"},
	};
	size_t i;

	for (i = 0; role != NULL && i < SB_N_ELEMENTS(map); i++) {
		if (strcmp(map[i].role, role) == 0)
			return map[i].attr;
	}
	return NULL;
}
