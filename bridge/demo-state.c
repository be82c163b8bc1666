/*
 * saltbridge demo's state file (demo-private.h): the accounts' passwords,
 * saltmaild's port and the samples delivered, so that the next run finds
 * the same service, the same accounts and no second copy of the samples.
 */
#include "bridge/demo-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/file.h"
#include "crypto/crypto.h"

const char *const demo_emails[DEMO_ACCOUNTS] = {
        "alice@demo.test",
        "bob@demo.test",
};

void
demo_state_clear(struct demo_state *st)
{
	size_t i;

	for (i = 0; i < DEMO_ACCOUNTS; i++) {
		if (st->passwords[i] != NULL)
			sb_secure_free(&st->passwords[i]);
	}
	memset(st, 0, sizeof(*st));
}

/* A password as the file keeps it: printable ASCII without spaces. */
static bool
demo_password_valid(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > DEMO_PASSWORD_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] > '~')
			return false;
	}
	return true;
}

/* A decimal number up to max, the whole of [p, p + len). */
static int SB_WUR
demo_number(const char *p, size_t len, unsigned max, unsigned *v_r)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > max)
		return -1;
	*v_r = (unsigned)v;
	return 0;
}

/* The length of the word at p: up to a space, or len. */
static size_t
demo_word(const char *p, size_t len)
{
	const char *sp = memchr(p, ' ', len);

	return sp != NULL ? (size_t)(sp - p) : len;
}

/* One "key value..." line, without its line end. */
static int SB_WUR
demo_state_line(const char *line, size_t len, struct demo_state *st)
{
	size_t klen = demo_word(line, len), elen, plen, i;
	const char *value, *pw;

	if (klen >= len)
		return -1;
	value = line + klen + 1;
	len -= klen + 1;
	if (klen == 8 && memcmp(line, "password", 8) == 0) {
		elen = demo_word(value, len);
		if (elen >= len)
			return -1;
		pw = value + elen + 1;
		plen = len - elen - 1;
		for (i = 0; i < DEMO_ACCOUNTS; i++) {
			if (strlen(demo_emails[i]) != elen ||
			    memcmp(value, demo_emails[i], elen) != 0)
				continue;
			if (st->passwords[i] != NULL ||
			    !demo_password_valid(pw, plen))
				return -1;
			st->passwords[i] =
			        sb_secure_alloc(DEMO_PASSWORD_MAX + 1);
			memcpy(st->passwords[i], pw, plen);
			st->passwords[i][plen] = '\0';
			return 0;
		}
		return -1;
	}
	if (klen == 12 && memcmp(line, "service-port", 12) == 0)
		return demo_number(value, len, 65535, &st->service_port);
	if (klen == 7 && memcmp(line, "samples", 7) == 0)
		return demo_number(value, len, 1000, &st->samples);
	return -1;
}

int
demo_state_parse(const char *text, size_t len, struct demo_state *st,
                 const char **error_r)
{
	size_t pos = 0, end, n = 0;

	memset(st, 0, sizeof(*st));
	if (memchr(text, '\0', len) != NULL) {
		*error_r = "it holds a NUL byte";
		return -1;
	}
	while (pos < len) {
		n++;
		end = pos;
		while (end < len && text[end] != '\n')
			end++;
		if (end > pos && text[pos] != '#' &&
		    demo_state_line(text + pos, end - pos, st) != 0) {
			demo_state_clear(st);
			*error_r =
			        bridge_errorf("line %zu is not understood", n);
			return -1;
		}
		pos = end + 1;
	}
	return 0;
}

int
demo_state_load(const char *path, struct demo_state *st, const char **error_r)
{
	struct sb_buf b;
	const char *error;
	int err, ret;

	memset(st, 0, sizeof(*st));
	sb_buf_init_secret(&b, DEMO_STATE_MAX);
	if (sb_file_read_all(path, &b, &err, &error) != 0) {
		sb_buf_free_wipe(&b);
		if (err == ENOENT)
			return 0;
		*error_r = bridge_errorf("cannot read %s: %s", path, error);
		return -1;
	}
	ret = demo_state_parse(b.data != NULL ? b.data : "", b.len, st, &error);
	sb_buf_free_wipe(&b);
	if (ret != 0) {
		*error_r = bridge_errorf("%s: %s (remove the folder to start "
		                         "the demo afresh)",
		                         path, error);
		return -1;
	}
	return 1;
}

int
demo_state_save(const char *path, const struct demo_state *st,
                const char **error_r)
{
	struct sb_buf b;
	const char *error;
	size_t i;
	int ret;

	sb_buf_init_secret(&b, DEMO_STATE_MAX);
	ret = sb_buf_add_str(&b, "# saltbridge demo: what its next run "
	                         "reuses. The passwords are those of the\n"
	                         "# demo accounts on its saltmaild: keep "
	                         "this file to yourself.\n");
	for (i = 0; ret == 0 && i < DEMO_ACCOUNTS; i++) {
		if (st->passwords[i] != NULL)
			ret = sb_buf_add_printf(&b, "password %s %s\n",
			                        demo_emails[i],
			                        st->passwords[i]);
	}
	if (ret == 0 && st->service_port != 0)
		ret = sb_buf_add_printf(&b, "service-port %u\n",
		                        st->service_port);
	if (ret == 0)
		ret = sb_buf_add_printf(&b, "samples %u\n", st->samples);
	if (ret != 0) {
		*error_r = "the demo's state is too large";
	} else if (sb_file_write_atomic(path, b.data, b.len, 0600, &error) !=
	           0) {
		*error_r = bridge_errorf("cannot write %s: %s", path, error);
		ret = -1;
	}
	sb_buf_free_wipe(&b);
	return ret;
}
