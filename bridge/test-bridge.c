/*
 * The bridge's pieces that need no service: the home's paths, the
 * remembered KDF parameters and their downgrade check, bridge passwords,
 * and the accounts' vault entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bridge/bridge-private.h"
#include "test.h"

static void
test_paths_home(void)
{
	struct bridge_paths p;
	const char *error;
	char home[512];
	struct stat st;

	snprintf(home, sizeof(home), "%s/home/a", test_tmpdir());
	TEST_EQ_INT(bridge_paths_init(&p, home, &error), 0);
	TEST_ASSERT(strstr(p.vault_key, "/home/a/config/vault.key") != NULL);
	TEST_ASSERT(strstr(p.vault, "/home/a/data/vault") != NULL);
	TEST_ASSERT(strstr(p.replica, "/home/a/data/replica.db") != NULL);
	TEST_EQ_INT(bridge_paths_create(&p, &error), 0);
	TEST_EQ_INT(stat(p.config_dir, &st), 0);
	TEST_EQ_UINT(st.st_mode & 0777, 0700);
	TEST_EQ_INT(stat(p.data_dir, &st), 0);
	TEST_EQ_UINT(st.st_mode & 0777, 0700);
	bridge_paths_free(&p);
	TEST_EQ_INT(bridge_paths_init(&p, "", &error), -1);
}

static void
test_paths_xdg(void)
{
	struct bridge_paths p;
	const char *error;

	TEST_EQ_INT(setenv("HOME", "/h", 1), 0);
	TEST_EQ_INT(unsetenv("XDG_CONFIG_HOME"), 0);
	TEST_EQ_INT(setenv("XDG_DATA_HOME", "relative/ignored", 1), 0);
	TEST_EQ_INT(bridge_paths_init(&p, NULL, &error), 0);
	TEST_EQ_STR(p.config_dir, "/h/.config/saltbridge");
	TEST_EQ_STR(p.data_dir, "/h/.local/share/saltbridge");
	TEST_EQ_STR(p.vault_key, "/h/.config/saltbridge/vault.key");
	TEST_EQ_STR(p.vault, "/h/.local/share/saltbridge/vault");
	bridge_paths_free(&p);

	TEST_EQ_INT(setenv("XDG_CONFIG_HOME", "/c", 1), 0);
	TEST_EQ_INT(setenv("XDG_DATA_HOME", "/d", 1), 0);
	TEST_EQ_INT(bridge_paths_init(&p, NULL, &error), 0);
	TEST_EQ_STR(p.config_dir, "/c/saltbridge");
	TEST_EQ_STR(p.replica, "/d/saltbridge/replica.db");
	bridge_paths_free(&p);

	TEST_EQ_INT(unsetenv("XDG_CONFIG_HOME"), 0);
	TEST_EQ_INT(unsetenv("HOME"), 0);
	TEST_EQ_INT(bridge_paths_init(&p, NULL, &error), -1);
	TEST_ASSERT(strstr(error, "--home") != NULL);
}

static void
kdf_default(struct sb_kdf_params *k)
{
	memset(k, 0, sizeof(*k));
	k->opslimit = 3;
	k->memlimit = 64ULL << 20;
	memset(k->salt, 0x5a, sizeof(k->salt));
}

static void
test_kdf_entry(void)
{
	unsigned char raw[BRIDGE_KDF_ENTRY_BYTES];
	struct sb_kdf_params a, b;
	const char *error;

	kdf_default(&a);
	a.opslimit = 0x0102030405060708ULL;
	bridge_kdf_encode(&a, raw);
	TEST_EQ_UINT(raw[0], 1);
	TEST_EQ_UINT(raw[7], 8);
	TEST_EQ_INT(bridge_kdf_decode(raw, sizeof(raw), &b, &error), 0);
	TEST_EQ_UINT(b.opslimit, a.opslimit);
	TEST_EQ_UINT(b.memlimit, a.memlimit);
	TEST_EQ_MEM(b.salt, sizeof(b.salt), a.salt, sizeof(a.salt));
	TEST_EQ_INT(bridge_kdf_decode(raw, sizeof(raw) - 1, &b, &error), -1);
}

static void
test_kdf_remembered(void)
{
	struct sb_kdf_params remembered, offered;
	const char *error;

	kdf_default(&remembered);
	offered = remembered;
	TEST_EQ_INT(bridge_kdf_check_remembered(&remembered, &offered, &error),
	            0);
	/* Weaker: fewer passes, or less memory. */
	remembered.opslimit = 4;
	TEST_EQ_INT(bridge_kdf_check_remembered(&remembered, &offered, &error),
	            -1);
	TEST_ASSERT(strstr(error, "weaker") != NULL);
	kdf_default(&remembered);
	remembered.memlimit = 128ULL << 20;
	TEST_EQ_INT(bridge_kdf_check_remembered(&remembered, &offered, &error),
	            -1);
	TEST_ASSERT(strstr(error, "weaker") != NULL);
	/* Stronger, or another salt: still a change the bridge did not make. */
	kdf_default(&remembered);
	offered.opslimit = 4;
	TEST_EQ_INT(bridge_kdf_check_remembered(&remembered, &offered, &error),
	            -1);
	TEST_ASSERT(strstr(error, "changed") != NULL);
	offered = remembered;
	offered.salt[15] ^= 1;
	TEST_EQ_INT(bridge_kdf_check_remembered(&remembered, &offered, &error),
	            -1);
	TEST_ASSERT(strstr(error, "changed") != NULL);
}

static void
test_password(void)
{
	unsigned char raw[BRIDGE_PASSWORD_RANDOM_BYTES];
	char a[BRIDGE_PASSWORD_LEN + 1], b[BRIDGE_PASSWORD_LEN + 1];
	size_t i;

	memset(raw, 0, sizeof(raw));
	bridge_password_format(raw, a);
	TEST_EQ_STR(a, "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa");
	memset(raw, 0xff, sizeof(raw));
	bridge_password_format(raw, a);
	TEST_EQ_STR(a, "7777-7777-7777-7777-7777-7777");
	/* RFC 4648 base32 of "foobarbazquux12" in lower case. */
	memcpy(raw, "foobarbazquux12", sizeof(raw));
	bridge_password_format(raw, a);
	TEST_EQ_STR(a, "mzxw-6ytb-ojrg-c6tr-ov2x-qmjs");

	bridge_password_new(a);
	bridge_password_new(b);
	TEST_EQ_UINT(strlen(a), BRIDGE_PASSWORD_LEN);
	TEST_ASSERT(strcmp(a, b) != 0);
	for (i = 0; i < BRIDGE_PASSWORD_LEN; i++) {
		if (i % 5 == 4)
			TEST_ASSERT(a[i] == '-');
		else
			TEST_ASSERT((a[i] >= 'a' && a[i] <= 'z') ||
			            (a[i] >= '2' && a[i] <= '7'));
	}
}

static void
test_entries(void)
{
	static const char id1[] = "0123456789abcdef0123456789abcdef";
	static const char id2[] = "fedcba9876543210fedcba9876543210";
	struct bridge_account_ids ids;
	struct sb_vault *v;
	char id[API_ACCOUNT_ID_LEN + 1];
	const char *error;
	char *s;

	{
		struct bridge_paths p;
		struct bridge_vault bv;
		char home[512];

		snprintf(home, sizeof(home), "%s/home/entries", test_tmpdir());
		TEST_EQ_INT(bridge_paths_init(&p, home, &error), 0);
		TEST_EQ_INT(bridge_vault_open_existing(&bv, &p, &error), 0);
		TEST_EQ_INT(bridge_vault_open(&bv, &p, &error), 0);
		v = bv.v;
		TEST_EQ_INT(bridge_entry_set(v, id1, BRIDGE_ENTRY_EMAIL,
		                             "zed@example.org", 15, &error),
		            0);
		TEST_EQ_INT(bridge_entry_set(v, id1, BRIDGE_ENTRY_CACHE_KEY,
		                             "k", 1, &error),
		            0);
		TEST_EQ_INT(bridge_entry_set(v, id2, BRIDGE_ENTRY_EMAIL,
		                             "amy@example.org", 15, &error),
		            0);
		TEST_EQ_INT(sb_vault_set(v, "settings/x", "1", 1, &error), 0);

		TEST_EQ_INT(bridge_account_find(v, "zed@example.org", id), 1);
		TEST_EQ_STR(id, id1);
		TEST_EQ_INT(bridge_account_find(v, "zed@example.or", id), 0);
		bridge_account_ids_get(v, &ids);
		TEST_EQ_UINT(ids.count, 2);
		TEST_EQ_STR(ids.ids[0], id2); /* amy@ before zed@ */
		TEST_EQ_STR(ids.ids[1], id1);
		bridge_account_ids_free(&ids);

		s = bridge_entry_str(v, id2, BRIDGE_ENTRY_EMAIL);
		TEST_EQ_STR(s, "amy@example.org");
		free(s);
		s = bridge_entry_secret_str(v, id1, BRIDGE_ENTRY_CACHE_KEY);
		TEST_EQ_STR(s, "k");
		sb_secure_free(&s);
		TEST_ASSERT(bridge_entry_str(v, id1, "nothing") == NULL);

		TEST_EQ_UINT(bridge_entries_remove(v, id1), 2);
		TEST_EQ_UINT(sb_vault_count(v), 2);
		TEST_EQ_INT(bridge_account_find(v, "zed@example.org", id), 0);
		TEST_EQ_INT(bridge_vault_save(&bv, &error), 0);
		bridge_vault_close(&bv);
		TEST_EQ_INT(bridge_vault_open_existing(&bv, &p, &error), 1);
		TEST_EQ_UINT(sb_vault_count(bv.v), 2);
		bridge_vault_close(&bv);
		bridge_paths_free(&p);
	}
}

/* An account with two addresses: both find it, neither may take it over. */
static void
test_two_addresses(void)
{
	static const char id1[] = "0123456789abcdef0123456789abcdef";
	static const char id2[] = "fedcba9876543210fedcba9876543210";
	struct api_strings addresses = {NULL, 0};
	struct bridge_paths p;
	struct bridge_vault bv;
	char id[API_ACCOUNT_ID_LEN + 1], home[512];
	const unsigned char *value;
	const char *error;
	size_t len;

	snprintf(home, sizeof(home), "%s/home/two", test_tmpdir());
	TEST_EQ_INT(bridge_paths_init(&p, home, &error), 0);
	TEST_EQ_INT(bridge_vault_open(&bv, &p, &error), 0);
	/* What a login as a@ keeps of GET /account's answer. */
	api_strings_add(&addresses, "a@example.org");
	api_strings_add(&addresses, "b@example.org");
	TEST_EQ_INT(bridge_entry_set(bv.v, id1, BRIDGE_ENTRY_EMAIL,
	                             "a@example.org", 13, &error),
	            0);
	TEST_EQ_INT(bridge_addresses_set(bv.v, id1, &addresses, &error), 0);
	api_strings_free(&addresses);
	TEST_ASSERT(bridge_entry_get(bv.v, id1, BRIDGE_ENTRY_ADDRESSES, &value,
	                             &len));
	TEST_EQ_MEM(value, len, "a@example.org\nb@example.org", 27);

	/* b@ finds the account (its KDF check applies), logout's does not. */
	TEST_EQ_INT(bridge_account_find_any(bv.v, "b@example.org", id), 1);
	TEST_EQ_STR(id, id1);
	TEST_EQ_INT(bridge_account_find(bv.v, "b@example.org", id), 0);
	TEST_EQ_INT(bridge_account_find_any(bv.v, "example.org", id), 0);
	TEST_EQ_INT(bridge_account_find_any(bv.v, "b@example.or", id), 0);

	/* A re-login of a@ is fine; b@ as the same account is refused. */
	TEST_EQ_INT(bridge_account_claim(bv.v, "a@example.org", id1, &error),
	            0);
	TEST_EQ_INT(bridge_account_claim(bv.v, "b@example.org", id1, &error),
	            -1);
	TEST_ASSERT(strstr(error, "logged in here as a@example.org") != NULL);
	/* An address not listed (added since): refused by the account id. */
	TEST_EQ_INT(bridge_account_claim(bv.v, "c@example.org", id1, &error),
	            -1);
	TEST_ASSERT(strstr(error, "a@example.org") != NULL);
	/* a@ as another account; a new account. */
	TEST_EQ_INT(bridge_account_claim(bv.v, "a@example.org", id2, &error),
	            -1);
	TEST_ASSERT(strstr(error, "another account") != NULL);
	TEST_EQ_INT(bridge_account_claim(bv.v, "d@example.org", id2, &error),
	            0);
	bridge_vault_close(&bv);
	bridge_paths_free(&p);
}

static void
test_text_clean(void)
{
	char out[BRIDGE_MESSAGE_MAX + 4], in[BRIDGE_MESSAGE_MAX * 2];

	bridge_text_clean("bad \x1b[31mred\x1b[0m\nline\r\x7f\t end", out);
	TEST_EQ_STR(out, "bad ?[31mred?[0m?line??? end");
	bridge_text_clean(NULL, out);
	TEST_EQ_STR(out, "");
	bridge_text_clean("caf\xc3\xa9", out);
	TEST_EQ_STR(out, "caf\xc3\xa9");
	/* Cut at the limit, not inside a UTF-8 sequence. */
	memset(in, 'x', sizeof(in));
	in[sizeof(in) - 1] = '\0';
	bridge_text_clean(in, out);
	TEST_EQ_UINT(strlen(out), BRIDGE_MESSAGE_MAX + 3);
	TEST_ASSERT(strcmp(out + BRIDGE_MESSAGE_MAX, "...") == 0);
	in[BRIDGE_MESSAGE_MAX - 1] = '\xc3';
	in[BRIDGE_MESSAGE_MAX] = '\xa9';
	bridge_text_clean(in, out);
	TEST_EQ_UINT(strlen(out), BRIDGE_MESSAGE_MAX - 1 + 3);
}

static void
test_json_string(void)
{
	struct sb_buf b;
	bool bad = false;

	sb_buf_init(&b, 1024);
	TEST_EQ_INT(
	        bridge_json_string(&b, "a\"b\\c\n\x01\x1f\x7f\xc3\xa9", &bad),
	        0);
	TEST_EQ_STR(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\\u001f\\u007f"
	                    "\xc3\xa9\"");
	sb_buf_reset(&b);
	TEST_EQ_INT(bridge_json_string(&b, NULL, &bad), 0);
	TEST_EQ_STR(b.data, "\"\"");
	TEST_ASSERT(!bad);
	sb_buf_reset(&b);
	TEST_EQ_INT(bridge_json_string(&b, "bad \xc3 utf-8", &bad), -1);
	TEST_ASSERT(bad);
	bad = false;
	TEST_EQ_INT(bridge_json_string(&b, "\xed\xa0\x80", &bad), -1);
	TEST_ASSERT(bad);
	sb_buf_free(&b);
}

static void
test_url_check(void)
{
	static const char *const bad[] = {
	        "http://example.org",
	        "https://",
	        "https:///path",
	        "https://user@example.org",
	        "https://user:pw@example.org",
	        "https://example.org/?q=1",
	        "https://example.org/?",
	        "https://example.org/#frag",
	        "https://example.org/#",
	        "https://exa mple.org",
	        "https://example.org/\x1b[31m",
	        "https://ex\xc3\xa4mple.org",
	        "ftp://example.org",
	        "example.org",
	        "",
	};
	const char *error;
	char *url;
	size_t i;

	TEST_EQ_INT(bridge_url_check("https://mail.example.org/", &url, &error),
	            0);
	TEST_EQ_STR(url, "https://mail.example.org");
	free(url);
	TEST_EQ_INT(
	        bridge_url_check("https://127.0.0.1:8443/api//", &url, &error),
	        0);
	TEST_EQ_STR(url, "https://127.0.0.1:8443/api");
	free(url);
	TEST_EQ_INT(bridge_url_check("https://[::1]:8443", &url, &error), 0);
	free(url);
	for (i = 0; i < SB_N_ELEMENTS(bad); i++) {
		if (bridge_url_check(bad[i], &url, &error) == 0) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			free(url);
			TEST_ASSERT(false);
		}
		TEST_ASSERT(strstr(error, "https://") != NULL);
		TEST_ASSERT(strchr(error, '\x1b') == NULL);
	}
}

static void
test_email(void)
{
	const char *error;
	char *e;

	TEST_EQ_INT(bridge_email_normalize("Alice@Example.ORG", &e, &error), 0);
	TEST_EQ_STR(e, "alice@example.org");
	free(e);
	TEST_EQ_INT(bridge_email_normalize("no-at-sign", &e, &error), -1);
	TEST_EQ_INT(bridge_email_normalize("", &e, &error), -1);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"paths_home", test_paths_home},
	        {"paths_xdg", test_paths_xdg},
	        {"kdf_entry", test_kdf_entry},
	        {"kdf_remembered", test_kdf_remembered},
	        {"password", test_password},
	        {"entries", test_entries},
	        {"email", test_email},
	        {"two_addresses", test_two_addresses},
	        {"text_clean", test_text_clean},
	        {"json_string", test_json_string},
	        {"url_check", test_url_check},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
