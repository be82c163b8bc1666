#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "crypto/crypto.h"
#include "test.h"

struct paths {
	char vault[512], key[512];
};

static void
paths_init(struct paths *p, const char *name)
{
	snprintf(p->vault, sizeof(p->vault), "%s/%s.vault", test_tmpdir(),
	         name);
	snprintf(p->key, sizeof(p->key), "%s/%s.key", test_tmpdir(), name);
}

static char *
slurp(const char *path, size_t *len_r)
{
	return test_read_file(path, len_r);
}

static void
test_vault_entries(void)
{
	struct sb_vault *v, *d;
	unsigned char key[32];
	const unsigned char *val;
	const char *error;
	struct sb_buf b;
	size_t len;

	crypto_secretbox_keygen(key);
	TEST_EQ_INT(sb_vault_decode(key, "", 0, &v, &error), -1);
	/* An empty vault, opened the ordinary way. */
	{
		struct sb_vault_keystore ks;
		struct paths p;
		unsigned char *k;
		bool created;

		paths_init(&p, "entries");
		sb_vault_keystore_file(&ks, p.key);
		TEST_EQ_INT(
		        sb_vault_open(p.vault, &ks, &v, &k, &created, &error),
		        0);
		TEST_ASSERT(created);
		sb_secure_free(&k);
	}
	TEST_EQ_UINT(sb_vault_count(v), 0);
	TEST_EQ_INT(sb_vault_set(v, "account/1/refresh", "tok-1", 5, &error),
	            0);
	TEST_EQ_INT(
	        sb_vault_set(v, "account/1/bridge-password", "pw", 2, &error),
	        0);
	TEST_EQ_INT(sb_vault_set(v, "empty", "", 0, &error), 0);
	TEST_EQ_INT(sb_vault_set(v, "account/1/refresh", "tok-2", 5, &error),
	            0);
	TEST_EQ_UINT(sb_vault_count(v), 3);
	TEST_EQ_INT(sb_vault_set(v, "bad name", "x", 1, &error), -1);
	TEST_EQ_INT(sb_vault_set(v, "", "x", 1, &error), -1);
	TEST_ASSERT(sb_vault_get(v, "account/1/refresh", &val, &len));
	TEST_EQ_MEM(val, len, "tok-2", 5);
	TEST_ASSERT(!sb_vault_get(v, "account/2/refresh", &val, &len));

	sb_buf_init(&b, 1 << 20);
	TEST_EQ_INT(sb_vault_encode(v, key, &b), 0);
	TEST_ASSERT(memmem(b.data, b.len, "tok-2", 5) == NULL);
	TEST_ASSERT(memmem(b.data, b.len, "account", 7) == NULL);
	TEST_EQ_INT(sb_vault_decode(key, b.data, b.len, &d, &error), 0);
	TEST_EQ_UINT(sb_vault_count(d), 3);
	TEST_ASSERT(sb_vault_get(d, "empty", &val, &len));
	TEST_EQ_UINT(len, 0);
	TEST_ASSERT(sb_vault_remove(d, "empty"));
	TEST_ASSERT(!sb_vault_remove(d, "empty"));
	TEST_ASSERT(sb_vault_get(d, "account/1/bridge-password", &val, &len));
	TEST_EQ_MEM(val, len, "pw", 2);
	TEST_ASSERT(sb_vault_name(d, 5) == NULL);
	sb_vault_free(&d);

	/* Every flipped byte and every truncation is refused. */
	for (len = 0; len < b.len; len++) {
		b.data[len] ^= 0x01;
		TEST_EQ_INT(sb_vault_decode(key, b.data, b.len, &d, &error),
		            -1);
		b.data[len] ^= 0x01;
		TEST_EQ_INT(sb_vault_decode(key, b.data, len, &d, &error), -1);
	}
	sb_buf_free(&b);
	sb_vault_free(&v);
	TEST_ASSERT(v == NULL);
}

static void
test_vault_limits(void)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v;
	unsigned char *k;
	const char *error;
	struct paths p;
	bool created;
	char *big = calloc(1, SB_VAULT_MAX_VALUE + 1);
	char name[300];

	paths_init(&p, "limits");
	sb_vault_keystore_file(&ks, p.key);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	TEST_EQ_INT(sb_vault_set(v, "big", big, SB_VAULT_MAX_VALUE + 1, &error),
	            -1);
	TEST_EQ_INT(sb_vault_set(v, "big", big, SB_VAULT_MAX_VALUE, &error), 0);
	memset(name, 'n', sizeof(name));
	name[SB_VAULT_MAX_NAME + 1] = '\0';
	TEST_EQ_INT(sb_vault_set(v, name, "x", 1, &error), -1);
	name[SB_VAULT_MAX_NAME] = '\0';
	TEST_EQ_INT(sb_vault_set(v, name, "x", 1, &error), 0);
	sb_vault_free(&v);
	sb_secure_free(&k);
	free(big);
}

static void
test_vault_open_save_reopen(void)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v;
	const unsigned char *val;
	unsigned char *k;
	const char *error;
	struct paths p;
	struct stat st;
	bool created;
	size_t len;

	paths_init(&p, "main");
	sb_vault_keystore_file(&ks, p.key);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	TEST_ASSERT(created);
	/* The key file exists now, private; the vault only once saved. */
	TEST_EQ_INT(stat(p.key, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	TEST_EQ_INT(sb_vault_set(v, "cache-key", "0123456789", 10, &error), 0);
	TEST_EQ_INT(sb_vault_save(v, p.vault, k, &error), 0);
	TEST_EQ_INT(stat(p.vault, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	sb_vault_free(&v);
	sb_secure_free(&k);

	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	TEST_ASSERT(!created);
	TEST_ASSERT(sb_vault_get(v, "cache-key", &val, &len));
	TEST_EQ_MEM(val, len, "0123456789", 10);
	sb_vault_free(&v);
	sb_secure_free(&k);
}

/* A vault that cannot be read is an error, and nothing on disk changes. */
static void
expect_open_fails(const struct paths *p, const char *error_part)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v = NULL;
	unsigned char *k = NULL;
	const char *error = NULL;
	size_t before_len, after_len;
	char *before, *after;
	bool created;

	size_t key_before_len = 0, key_after_len = 0;
	char *key_before = NULL, *key_after = NULL;

	before = slurp(p->vault, &before_len);
	if (access(p->key, F_OK) == 0)
		key_before = slurp(p->key, &key_before_len);
	sb_vault_keystore_file(&ks, p->key);
	TEST_EQ_INT(sb_vault_open(p->vault, &ks, &v, &k, &created, &error), -1);
	TEST_ASSERT(v == NULL && k == NULL);
	if (strstr(error, error_part) == NULL)
		test_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"",
		          error, error_part);
	after = slurp(p->vault, &after_len);
	TEST_EQ_MEM(after, after_len, before, before_len);
	/* The key file is untouched too (or still absent). */
	if (key_before != NULL) {
		key_after = slurp(p->key, &key_after_len);
		TEST_EQ_MEM(key_after, key_after_len, key_before,
		            key_before_len);
	} else {
		TEST_ASSERT(access(p->key, F_OK) != 0);
	}
	free(before);
	free(after);
	free(key_before);
	free(key_after);
}

static void
test_vault_failures_change_nothing(void)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v;
	unsigned char *k, other[32];
	const char *error;
	struct paths p, q;
	bool created;
	char *data;
	size_t len;

	paths_init(&p, "fail");
	sb_vault_keystore_file(&ks, p.key);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	TEST_EQ_INT(sb_vault_set(v, "token", "secret", 6, &error), 0);
	TEST_EQ_INT(sb_vault_save(v, p.vault, k, &error), 0);
	sb_vault_free(&v);
	sb_secure_free(&k);

	/* The key file is open to others. */
	TEST_EQ_INT(chmod(p.key, 0644), 0);
	expect_open_fails(&p, "chmod 600");
	TEST_EQ_INT(chmod(p.key, 0600), 0);

	/* The key file is missing: no new key is made over the vault. */
	paths_init(&q, "other");
	memcpy(q.vault, p.vault, sizeof(q.vault));
	expect_open_fails(&q, "key is missing");
	TEST_EQ_INT(access(q.key, F_OK) == 0, 0);

	/* Another key file: the vault does not open. */
	sb_vault_keystore_file(&ks, q.key);
	crypto_secretbox_keygen(other);
	TEST_EQ_INT(ks.store(&ks, other, &error), 0);
	expect_open_fails(&q, "does not open");
	/* And the key store never replaces a key file. */
	TEST_EQ_INT(ks.store(&ks, other, &error), -1);

	/* A damaged vault. */
	data = slurp(p.vault, &len);
	data[len / 2] ^= 0x20;
	TEST_EQ_INT(sb_file_write_atomic(p.vault, data, len, 0600, &error), 0);
	expect_open_fails(&p, "does not open");
	/* Not a vault at all. */
	TEST_EQ_INT(sb_file_write_atomic(p.vault, "hello", 5, 0600, &error), 0);
	expect_open_fails(&p, "not a vault");
	free(data);
}

/* While one process holds a vault open, a second open fails. */
static void
test_vault_lock(void)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v, *v2 = NULL;
	unsigned char *k, *k2 = NULL;
	const char *error;
	struct paths p;
	bool created;

	paths_init(&p, "lock");
	sb_vault_keystore_file(&ks, p.key);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v2, &k2, &created, &error),
	            -1);
	TEST_ASSERT(strstr(error, "in use") != NULL);
	TEST_ASSERT(v2 == NULL && k2 == NULL);
	sb_vault_free(&v);
	sb_secure_free(&k);
	/* Freed: the lock is gone. */
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	sb_vault_free(&v);
	sb_secure_free(&k);
}

/* A vault path that is a link (dangling or not) is refused as it is. */
static void
test_vault_symlink(void)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v = NULL;
	unsigned char *k = NULL;
	const char *error;
	struct paths p;
	bool created;

	paths_init(&p, "link");
	TEST_EQ_INT(symlink("/nonexistent/saltbridge.vault", p.vault), 0);
	sb_vault_keystore_file(&ks, p.key);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), -1);
	TEST_ASSERT(strstr(error, "symbolic link") != NULL);
	/* Nothing was made: no key file, and the link is still a link. */
	TEST_ASSERT(access(p.key, F_OK) != 0);
	{
		struct stat st;

		TEST_EQ_INT(lstat(p.vault, &st), 0);
		TEST_ASSERT(S_ISLNK(st.st_mode));
	}
}

/* A save that cannot complete leaves the previous vault as it was. */
static void
test_vault_failed_save_keeps_old(void)
{
	struct sb_vault_keystore ks;
	struct sb_vault *v;
	unsigned char *k;
	const char *error;
	struct paths p;
	bool created;
	char *before, *after, *big = calloc(1, SB_VAULT_MAX_VALUE);
	size_t before_len, after_len, i;
	char name[32];

	paths_init(&p, "full");
	sb_vault_keystore_file(&ks, p.key);
	TEST_EQ_INT(sb_vault_open(p.vault, &ks, &v, &k, &created, &error), 0);
	TEST_EQ_INT(sb_vault_set(v, "a", "1", 1, &error), 0);
	TEST_EQ_INT(sb_vault_save(v, p.vault, k, &error), 0);
	before = slurp(p.vault, &before_len);
	/* The 16 MiB bound: the 16th full-size value does not fit. */
	for (i = 0; i < 15; i++) {
		snprintf(name, sizeof(name), "big%zu", i);
		TEST_EQ_INT(
		        sb_vault_set(v, name, big, SB_VAULT_MAX_VALUE, &error),
		        0);
	}
	TEST_EQ_INT(sb_vault_set(v, "big15", big, SB_VAULT_MAX_VALUE, &error),
	            -1);
	TEST_ASSERT(strstr(error, "full") != NULL);
	/* A save into a folder that is gone fails; the old file stays. */
	{
		char gone[600];

		snprintf(gone, sizeof(gone), "%s/no/such/vault", test_tmpdir());
		TEST_EQ_INT(sb_vault_save(v, gone, k, &error), -1);
	}
	after = slurp(p.vault, &after_len);
	TEST_EQ_MEM(after, after_len, before, before_len);
	sb_vault_free(&v);
	sb_secure_free(&k);
	free(before);
	free(after);
	free(big);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"entries", test_vault_entries},
	        {"limits", test_vault_limits},
	        {"open, save, reopen", test_vault_open_save_reopen},
	        {"failures change nothing", test_vault_failures_change_nothing},
	        {"lock", test_vault_lock},
	        {"symbolic link", test_vault_symlink},
	        {"failed save keeps the old vault",
	         test_vault_failed_save_keeps_old},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
