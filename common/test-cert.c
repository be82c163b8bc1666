#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cert.h"
#include "test.h"

static char cert_path[512], key_path[512], dir_path[256];

/* Fresh paths in a directory of their own for each test case. */
static void
paths(const char *name)
{
	snprintf(dir_path, sizeof(dir_path), "%s/%s", test_tmpdir(), name);
	TEST_EQ_INT(mkdir(dir_path, 0700), 0);
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir_path);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir_path);
}

static X509 *
load_cert(void)
{
	FILE *f = fopen(cert_path, "r");
	X509 *x;

	TEST_ASSERT(f != NULL);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	TEST_ASSERT(x != NULL);
	return x;
}

static EVP_PKEY *
load_key(void)
{
	FILE *f = fopen(key_path, "r");
	EVP_PKEY *key;

	TEST_ASSERT(f != NULL);
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	TEST_ASSERT(key != NULL);
	return key;
}

/* Days from notBefore to notAfter; the seconds part must be 0. */
static int
validity_days(X509 *x)
{
	int days = -1, secs = -1;

	TEST_EQ_INT(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	                           X509_get0_notAfter(x)),
	            1);
	TEST_EQ_INT(secs, 0);
	return days;
}

static unsigned
count_dir_entries(void)
{
	DIR *d = opendir(dir_path);
	struct dirent *de;
	unsigned n = 0;

	TEST_ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_cert_files(void)
{
	const char *error = NULL;
	struct stat st;
	bool created = false;

	paths("files");
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(created);
	TEST_EQ_INT(stat(key_path, &st), 0);
	TEST_EQ_INT(st.st_mode & 07777, 0600);
	TEST_EQ_INT(stat(cert_path, &st), 0);
	TEST_EQ_INT(st.st_mode & 07777, 0644);
	/* No temporary file is left behind. */
	TEST_EQ_UINT(count_dir_entries(), 2);
}

static void
test_cert_contents(void)
{
	const char *error = NULL;
	bool created = false;
	X509 *x;
	EVP_PKEY *key;
	BIGNUM *serial;
	char group[32];
	char cn[64];
	int i;

	paths("contents");
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	x = load_cert();
	key = load_key();
	/* An end-entity certificate, not a CA. */
	TEST_EQ_INT(X509_check_ca(x), 0);
	i = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
	TEST_ASSERT(i >= 0);
	TEST_EQ_INT(X509_EXTENSION_get_critical(X509_get_ext(x, i)), 1);
	i = X509_get_ext_by_NID(x, NID_key_usage, -1);
	TEST_ASSERT(i >= 0);
	TEST_EQ_INT(X509_EXTENSION_get_critical(X509_get_ext(x, i)), 1);
	TEST_EQ_UINT(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	TEST_EQ_UINT(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	TEST_EQ_INT(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	/* The names clients connect with. */
	TEST_EQ_INT(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	TEST_EQ_INT(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	TEST_EQ_INT(X509_check_ip_asc(x, "::1", 0), 1);
	TEST_EQ_INT(X509_check_host(x, "example.com", 0, 0, NULL), 0);
	TEST_ASSERT(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	                                      NID_commonName, cn,
	                                      sizeof(cn)) > 0);
	TEST_EQ_STR(cn, "localhost");
	TEST_ASSERT(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	                                      NID_organizationName, cn,
	                                      sizeof(cn)) > 0);
	TEST_EQ_STR(cn, "Saltbridge");
	TEST_EQ_INT(X509_get_version(x), X509_VERSION_3);
	/* A 16-byte random serial. */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	TEST_ASSERT(serial != NULL);
	TEST_EQ_INT(BN_num_bits(serial), 127);
	BN_free(serial);
	TEST_EQ_INT(validity_days(x), SB_CERT_VALID_DAYS);
	TEST_EQ_INT(X509_cmp_current_time(X509_get0_notBefore(x)), -1);
	/* A P-256 key that signed the certificate itself. */
	TEST_EQ_INT(EVP_PKEY_get_group_name(key, group, sizeof(group), NULL),
	            1);
	TEST_EQ_STR(group, "prime256v1");
	TEST_EQ_INT(X509_check_private_key(x, key), 1);
	TEST_EQ_INT(X509_verify(x, key), 1);
	TEST_EQ_INT(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* OpenSSL accepts it as a server certificate when it is trusted. */
static void
test_cert_verifies(void)
{
	const char *error = NULL;
	bool created = false;
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	X509 *x;

	paths("verifies");
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	x = load_cert();
	store = X509_STORE_new();
	TEST_EQ_INT(X509_STORE_add_cert(store, x), 1);
	ctx = X509_STORE_CTX_new();
	TEST_EQ_INT(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	TEST_EQ_INT(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER),
	            1);
	X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), "localhost",
	                            0);
	if (X509_verify_cert(ctx) != 1)
		test_fail(__FILE__, __LINE__, "verify: %s",
		          X509_verify_cert_error_string(
		                  X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
}

static void
test_cert_fresh_left_alone(void)
{
	char *cert1, *key1, *cert2, *key2;
	size_t cert1_len, key1_len, cert2_len, key2_len;
	const char *error = NULL;
	bool created = false;

	paths("fresh");
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(created);
	cert1 = test_read_file(cert_path, &cert1_len);
	key1 = test_read_file(key_path, &key1_len);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(!created);
	cert2 = test_read_file(cert_path, &cert2_len);
	key2 = test_read_file(key_path, &key2_len);
	TEST_EQ_MEM(cert1, cert1_len, cert2, cert2_len);
	TEST_EQ_MEM(key1, key1_len, key2, key2_len);
	free(cert1);
	free(key1);
	free(cert2);
	free(key2);
}

static void
test_cert_renewal(void)
{
	const char *error = NULL;
	bool created = true;
	X509 *x;

	paths("renewal");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, 10, &error), 0);
	x = load_cert();
	TEST_EQ_INT(validity_days(x), 10);
	X509_free(x);
	/* Ten days left is more than five: kept. */
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 5, &created, &error),
	            0);
	TEST_ASSERT(!created);
	/* But within thirty: renewed. */
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(created);
	x = load_cert();
	TEST_EQ_INT(validity_days(x), SB_CERT_VALID_DAYS);
	X509_free(x);
	TEST_EQ_UINT(count_dir_entries(), 2);
}

/* Broken or mismatched files are replaced. */
static void
test_cert_repairs(void)
{
	char other_cert[600], other_key[600];
	const char *error = NULL;
	bool created = false;
	FILE *f;

	paths("repairs");
	f = fopen(cert_path, "w");
	TEST_ASSERT(f != NULL);
	fputs("-----BEGIN CERTIFICATE-----\ngarbage\n", f);
	fclose(f);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(created);

	TEST_EQ_INT(unlink(key_path), 0);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(created);

	/* The key of another certificate. */
	snprintf(other_cert, sizeof(other_cert), "%s/other.pem", dir_path);
	snprintf(other_key, sizeof(other_key), "%s/other-key.pem", dir_path);
	TEST_EQ_INT(sb_cert_generate(other_cert, other_key, 30, &error), 0);
	TEST_EQ_INT(rename(other_key, key_path), 0);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 5, &created, &error),
	            0);
	TEST_ASSERT(created);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 5, &created, &error),
	            0);
	TEST_ASSERT(!created);
}

/*
 * Replaces the certificate by one made here for the key in place: with
 * the given subjectAltName (NULL: none), basicConstraints CA:TRUE or
 * CA:FALSE, and notBefore that many seconds from now.
 */
static void
write_custom_cert(const char *san, bool ca, long not_before)
{
	EVP_PKEY *key = load_key();
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	FILE *f;

	TEST_ASSERT(x != NULL);
	TEST_EQ_INT(X509_set_version(x, X509_VERSION_3), 1);
	TEST_EQ_INT(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	name = X509_get_subject_name(x);
	TEST_EQ_INT(X509_NAME_add_entry_by_txt(
	                    name, "CN", MBSTRING_ASC,
	                    (const unsigned char *)"localhost", -1, -1, 0),
	            1);
	TEST_EQ_INT(X509_set_issuer_name(x, name), 1);
	TEST_ASSERT(X509_gmtime_adj(X509_getm_notBefore(x), not_before) !=
	            NULL);
	TEST_ASSERT(X509_gmtime_adj(X509_getm_notAfter(x), 200L * 86400) !=
	            NULL);
	TEST_EQ_INT(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints,
	                           ca ? "critical,CA:TRUE"
	                              : "critical,CA:FALSE");
	TEST_ASSERT(ext != NULL);
	TEST_EQ_INT(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	if (san != NULL) {
		ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_alt_name,
		                           san);
		TEST_ASSERT(ext != NULL);
		TEST_EQ_INT(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	TEST_ASSERT(X509_sign(x, key, EVP_sha256()) != 0);
	f = fopen(cert_path, "w");
	TEST_ASSERT(f != NULL);
	TEST_EQ_INT(PEM_write_X509(f, x), 1);
	TEST_EQ_INT(fclose(f), 0);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* The serial of the certificate in place: 4242 for write_custom_cert. */
static long
cert_serial(void)
{
	X509 *x = load_cert();
	long serial = ASN1_INTEGER_get(X509_get0_serialNumber(x));

	X509_free(x);
	return serial;
}

/* sb_cert_ensure replaces the files, for `why`, and the result is sound. */
static void
expect_replaced(const char *why)
{
	const char *error = NULL;
	bool created = false;
	struct stat st;
	X509 *x;

	if (sb_cert_ensure(cert_path, key_path, 30, &created, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s: %s", why, error);
	if (!created)
		test_fail(__FILE__, __LINE__, "%s: kept", why);
	TEST_EQ_INT(lstat(key_path, &st), 0);
	TEST_ASSERT(S_ISREG(st.st_mode));
	TEST_EQ_INT(st.st_mode & 07777, 0600);
	TEST_EQ_UINT(st.st_uid, geteuid());
	x = load_cert();
	TEST_EQ_INT(X509_check_ca(x), 0);
	TEST_EQ_INT(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	X509_free(x);
	TEST_ASSERT(cert_serial() != 4242);
}

/* A certificate made elsewhere but fit for use is kept. */
static void
test_cert_custom_kept(void)
{
	const char *error = NULL;
	bool created = true;

	paths("custom-kept");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, SB_CERT_VALID_DAYS,
	                             &error),
	            0);
	write_custom_cert("IP:127.0.0.1,IP:::1,DNS:localhost", false, -60);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            0);
	TEST_ASSERT(!created);
	TEST_EQ_INT(cert_serial(), 4242);
}

static void
test_cert_replace_ca(void)
{
	const char *error = NULL;

	paths("replace-ca");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, SB_CERT_VALID_DAYS,
	                             &error),
	            0);
	write_custom_cert("IP:127.0.0.1,IP:::1,DNS:localhost", true, -60);
	expect_replaced("a CA certificate");
}

static void
test_cert_replace_missing_names(void)
{
	static const char *const sans[] = {
	        NULL, /* the CN alone is not enough */
	        "DNS:localhost",
	        "IP:127.0.0.1,DNS:localhost",
	        "IP:127.0.0.1,IP:::1",
	        "IP:127.0.0.1,IP:::1,DNS:*.localhost",
	};
	const char *error = NULL;
	char name[32];

	for (size_t i = 0; i < SB_N_ELEMENTS(sans); i++) {
		snprintf(name, sizeof(name), "names-%zu", i);
		paths(name);
		TEST_EQ_INT(sb_cert_generate(cert_path, key_path,
		                             SB_CERT_VALID_DAYS, &error),
		            0);
		write_custom_cert(sans[i], false, -60);
		expect_replaced(sans[i] != NULL ? sans[i] : "no SAN");
	}
}

static void
test_cert_replace_not_yet_valid(void)
{
	const char *error = NULL;

	paths("not-yet-valid");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, SB_CERT_VALID_DAYS,
	                             &error),
	            0);
	write_custom_cert("IP:127.0.0.1,IP:::1,DNS:localhost", false, 86400);
	expect_replaced("notBefore tomorrow");
}

/* A key that others may read, or may have read, is replaced. */
static void
test_cert_bad_key_permissions(void)
{
	static const mode_t modes[] = {0644, 0640, 0604, 0620, 0602, 0700};
	const char *error = NULL;
	bool created = true;
	char name[32];

	for (size_t i = 0; i < SB_N_ELEMENTS(modes); i++) {
		snprintf(name, sizeof(name), "key-mode-%zu", i);
		paths(name);
		TEST_EQ_INT(sb_cert_generate(cert_path, key_path,
		                             SB_CERT_VALID_DAYS, &error),
		            0);
		TEST_EQ_INT(chmod(key_path, modes[i]), 0);
		if (modes[i] == 0700) {
			/* Only the owner's bits: fine. */
			TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30,
			                           &created, &error),
			            0);
			TEST_ASSERT(!created);
			continue;
		}
		expect_replaced("key open to others");
	}
}

static void
test_cert_key_owner(void)
{
	const char *error = NULL;

	if (geteuid() != 0) {
		printf("     skipped: only root can give a file away\n");
		return;
	}
	paths("key-owner");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, SB_CERT_VALID_DAYS,
	                             &error),
	            0);
	TEST_EQ_INT(chown(key_path, 65534, 65534), 0);
	expect_replaced("key of another user");
}

static void
test_cert_key_not_regular(void)
{
	const char *error = NULL;

	paths("key-fifo");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, SB_CERT_VALID_DAYS,
	                             &error),
	            0);
	TEST_EQ_INT(unlink(key_path), 0);
	TEST_EQ_INT(mkfifo(key_path, 0600), 0);
	expect_replaced("a FIFO for a key");
}

static void
test_cert_errors(void)
{
	const char *error = NULL;
	bool created = true;

	paths("errors");
	snprintf(cert_path, sizeof(cert_path), "%s/missing/cert.pem", dir_path);
	snprintf(key_path, sizeof(key_path), "%s/missing/key.pem", dir_path);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, 30, &created, &error),
	            -1);
	TEST_ASSERT(!created);
	TEST_ASSERT(error != NULL && strstr(error, "missing/key.pem") != NULL);
	TEST_ASSERT(strstr(error, "No such file or directory") != NULL);
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, 0, &error), -1);
	TEST_EQ_INT(sb_cert_ensure(cert_path, key_path, SB_CERT_VALID_DAYS,
	                           &created, &error),
	            -1);
}

/* What people are shown: the certificate alone, its expiry, fingerprint. */
static void
test_cert_read(void)
{
	char fp[SB_CERT_FINGERPRINT_SIZE], both[600], *cert, *key;
	size_t cert_len, key_len, i;
	const char *error = NULL;
	struct sb_buf pem;
	time_t not_after = 0;
	struct tm tm;
	FILE *f;
	X509 *x;

	paths("read");
	TEST_EQ_INT(sb_cert_generate(cert_path, key_path, 10, &error), 0);
	sb_buf_init(&pem, 64 * 1024);
	TEST_EQ_INT(sb_cert_read(cert_path, &pem, &not_after, fp, &error), 0);
	cert = test_read_file(cert_path, &cert_len);
	TEST_EQ_MEM(pem.data, pem.len, cert, cert_len);
	x = load_cert();
	TEST_EQ_INT(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	TEST_EQ_INT(not_after, timegm(&tm));
	X509_free(x);
	TEST_EQ_UINT(strlen(fp), SB_CERT_FINGERPRINT_SIZE - 1);
	for (i = 0; fp[i] != '\0'; i++)
		TEST_ASSERT(i % 3 == 2 ? fp[i] == ':'
		                       : strchr("0123456789ABCDEF", fp[i]) !=
		                                 NULL);
	/* A key in the same file never comes along. */
	key = test_read_file(key_path, &key_len);
	snprintf(both, sizeof(both), "%s/both.pem", dir_path);
	f = fopen(both, "w");
	TEST_ASSERT(f != NULL);
	TEST_EQ_UINT(fwrite(key, 1, key_len, f), key_len);
	TEST_EQ_UINT(fwrite(cert, 1, cert_len, f), cert_len);
	TEST_EQ_INT(fclose(f), 0);
	sb_buf_truncate(&pem, 0);
	TEST_EQ_INT(sb_cert_read(both, &pem, NULL, NULL, &error), 0);
	TEST_EQ_MEM(pem.data, pem.len, cert, cert_len);
	/* No certificate: the path is named. */
	TEST_EQ_INT(sb_cert_read(key_path, &pem, NULL, NULL, &error), -1);
	TEST_ASSERT(strstr(error, key_path) != NULL);
	TEST_EQ_INT(sb_cert_read("/nonexistent/cert.pem", NULL, &not_after,
	                         NULL, &error),
	            -1);
	TEST_ASSERT(strstr(error, "/nonexistent/cert.pem") != NULL);
	free(cert);
	free(key);
	sb_buf_free(&pem);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"files and modes", test_cert_files},
	        {"contents", test_cert_contents},
	        {"verifies as a server certificate", test_cert_verifies},
	        {"a fresh certificate is left alone",
	         test_cert_fresh_left_alone},
	        {"renewal", test_cert_renewal},
	        {"repairs", test_cert_repairs},
	        {"a fit certificate made elsewhere is kept",
	         test_cert_custom_kept},
	        {"replace a CA certificate", test_cert_replace_ca},
	        {"replace a certificate without the names",
	         test_cert_replace_missing_names},
	        {"replace a certificate not valid yet",
	         test_cert_replace_not_yet_valid},
	        {"bad key permissions", test_cert_bad_key_permissions},
	        {"key of another user", test_cert_key_owner},
	        {"key not a regular file", test_cert_key_not_regular},
	        {"errors", test_cert_errors},
	        {"read for people", test_cert_read},
	        {NULL, NULL},
	};

	return test_run(cases);
}
