#include "cert.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "file.h"
#include "log.h"

#define CERT_SERIAL_BYTES 16

static _Thread_local char cert_error_buf[512];

static const char *SB_PRINTF(1, 2) cert_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cert_error_buf, sizeof(cert_error_buf), fmt, ap);
	va_end(ap);
	return cert_error_buf;
}

/* The most recent OpenSSL error, emptying the queue. */
static const char *
cert_openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown OpenSSL error";
}

static int SB_WUR
cert_write_key(BIO *bio, const void *obj)
{
	return PEM_write_bio_PrivateKey(bio, (EVP_PKEY *)obj, NULL, NULL, 0,
	                                NULL, NULL);
}

static int SB_WUR
cert_write_x509(BIO *bio, const void *obj)
{
	return PEM_write_bio_X509(bio, (X509 *)obj);
}

/*
 * Writes a PEM object to path atomically with the given mode (file.h).
 * The PEM text is built in memory, which is wiped afterwards: for the key
 * it is a secret.
 */
static int SB_WUR
cert_write_pem(const char *path, mode_t mode,
               int (*write_pem)(BIO *, const void *), const void *obj,
               const char **error_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long len;
	int ret;

	if (bio == NULL || write_pem(bio, obj) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		*error_r = cert_error("cannot write %s: %s", path,
		                      cert_openssl_reason());
		BIO_free(bio);
		return -1;
	}
	ret = sb_file_write_atomic(path, pem, (size_t)len, mode, error_r);
	OPENSSL_cleanse(pem, (size_t)len);
	BIO_free(bio);
	return ret;
}

/* Adds one extension written in openssl.cnf syntax. */
static int SB_WUR
cert_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ret;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ret = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return ret;
}

/* A positive random serial number of CERT_SERIAL_BYTES bytes. */
static int SB_WUR
cert_set_serial(X509 *x)
{
	unsigned char bytes[CERT_SERIAL_BYTES];
	BIGNUM *bn;
	int ret;

	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return -1;
	bytes[0] &= 0x7f; /* DER integers are signed: keep it positive */
	bytes[0] |= 0x40; /* and exactly CERT_SERIAL_BYTES bytes long */
	bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
	if (bn == NULL)
		return -1;
	ret = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL ? 0 : -1;
	BN_free(bn);
	return ret;
}

static int SB_WUR
cert_set_names(X509 *x)
{
	X509_NAME *name = X509_get_subject_name(x);

	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                               (const unsigned char *)"Saltbridge", -1,
	                               -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"localhost", -1,
	                               -1, 0) != 1)
		return -1;
	return X509_set_issuer_name(x, name) == 1 ? 0 : -1;
}

/* Builds and signs the certificate described in cert.h for key. */
static X509 *SB_WUR
cert_build(EVP_PKEY *key, unsigned valid_days)
{
	X509 *x = X509_new();

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    cert_set_serial(x) != 0 || cert_set_names(x) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)valid_days, -3600,
	                     NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    cert_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    cert_add_ext(x, NID_key_usage, "critical,digitalSignature") != 0 ||
	    cert_add_ext(x, NID_ext_key_usage, "serverAuth") != 0 ||
	    cert_add_ext(x, NID_subject_alt_name,
	                 "IP:127.0.0.1,IP:::1,DNS:localhost") != 0 ||
	    cert_add_ext(x, NID_subject_key_identifier, "hash") != 0 ||
	    cert_add_ext(x, NID_authority_key_identifier, "keyid:always") !=
	            0 ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
sb_cert_generate(const char *cert_path, const char *key_path,
                 unsigned valid_days, const char **error_r)
{
	EVP_PKEY *key;
	X509 *x;
	int ret;

	if (valid_days == 0 || valid_days > SB_CERT_VALID_DAYS) {
		*error_r = cert_error("invalid certificate validity: %u days",
		                      valid_days);
		return -1;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL) {
		*error_r = cert_error("cannot generate a P-256 key: %s",
		                      cert_openssl_reason());
		return -1;
	}
	x = cert_build(key, valid_days);
	if (x == NULL) {
		*error_r = cert_error("cannot build a certificate: %s",
		                      cert_openssl_reason());
		EVP_PKEY_free(key);
		return -1;
	}
	/* Key first: a crash in between leaves a mismatch ensure() fixes. */
	ret = cert_write_pem(key_path, 0600, cert_write_key, key, error_r);
	if (ret == 0)
		ret = cert_write_pem(cert_path, 0644, cert_write_x509, x,
		                     error_r);
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

/* Refuses to prompt for a pass phrase: the key is never encrypted. */
static int
cert_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static X509 *SB_WUR
cert_load_x509(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *x = bio != NULL
	                  ? PEM_read_bio_X509(bio, NULL, cert_no_password, NULL)
	                  : NULL;

	BIO_free(bio);
	return x;
}

/*
 * Loads the private key if the file is fit to hold one: a regular file of
 * this user that nobody else may read or write. The checks are made on
 * the opened file, so that it cannot be swapped in between. NULL with
 * *reason_r when it cannot be used.
 */
static EVP_PKEY *SB_WUR
cert_load_key(const char *path, const char **reason_r)
{
	EVP_PKEY *key = NULL;
	struct stat st;
	FILE *f;
	int fd;

	/* O_NONBLOCK: a FIFO in its place must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*reason_r = "no readable private key";
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*reason_r = "the private key is not a regular file";
		close(fd);
		return NULL;
	}
	if (st.st_uid != geteuid()) {
		*reason_r = "the private key belongs to another user";
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		*reason_r = "the private key is open to other users";
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		*reason_r = "no readable private key";
		close(fd);
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, cert_no_password, NULL);
	fclose(f);
	if (key == NULL)
		*reason_r = "no readable private key";
	return key;
}

/*
 * True when the certificate names every address clients connect with,
 * in its subjectAltName (the subject's CN does not count).
 */
static bool
cert_has_names(X509 *x)
{
	unsigned flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	                 X509_CHECK_FLAG_NO_WILDCARDS;

	return X509_check_ip_asc(x, "127.0.0.1", 0) == 1 &&
	       X509_check_ip_asc(x, "::1", 0) == 1 &&
	       X509_check_host(x, "localhost", 0, flags, NULL) == 1;
}

/* Why the certificate itself must be made again, or NULL. */
static const char *
cert_check_x509(X509 *x, unsigned renew_days)
{
	time_t limit = time(NULL) + (time_t)renew_days * 24 * 60 * 60;
	int cmp;

	if (X509_check_ca(x) != 0)
		return "the certificate is a CA certificate";
	if (!cert_has_names(x))
		return "the certificate lacks 127.0.0.1, ::1 or localhost";
	/* 0 is an error: a time that cannot be read is no better. */
	cmp = X509_cmp_time(X509_get0_notBefore(x), NULL);
	if (cmp >= 0)
		return "the certificate is not valid yet";
	if (X509_cmp_time(X509_get0_notAfter(x), &limit) <= 0)
		return "the certificate expires soon";
	return NULL;
}

/* Why the files must be made again, or NULL when they are fine. */
static const char *
cert_check(const char *cert_path, const char *key_path, unsigned renew_days)
{
	X509 *x = cert_load_x509(cert_path);
	const char *reason = NULL;
	EVP_PKEY *key = NULL;

	if (x == NULL)
		reason = "no readable certificate";
	else
		key = cert_load_key(key_path, &reason);
	if (key != NULL) {
		if (X509_check_private_key(x, key) != 1)
			reason = "the key does not match the certificate";
		else
			reason = cert_check_x509(x, renew_days);
	}
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(key);
	return reason;
}

int
sb_cert_ensure(const char *cert_path, const char *key_path, unsigned renew_days,
               bool *created_r, const char **error_r)
{
	const char *reason;

	*created_r = false;
	if (renew_days >= SB_CERT_VALID_DAYS) {
		*error_r = cert_error("renewal period of %u days is not "
		                      "shorter than the validity",
		                      renew_days);
		return -1;
	}
	reason = cert_check(cert_path, key_path, renew_days);
	if (reason == NULL)
		return 0;
	sb_log_info("making a new self-signed certificate %s: %s", cert_path,
	            reason);
	if (sb_cert_generate(cert_path, key_path, SB_CERT_VALID_DAYS,
	                     error_r) != 0)
		return -1;
	*created_r = true;
	return 0;
}

/* The certificate's details (cert.h); x is the parsed certificate. */
static int SB_WUR
cert_describe(X509 *x, struct sb_buf *pem, time_t *not_after_r,
              char fingerprint_r[SB_CERT_FINGERPRINT_SIZE],
              const char **error_r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;
	struct tm tm;
	BIO *bio;
	char *data;
	long len;
	int ret;

	if (not_after_r != NULL) {
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
			*error_r = "its expiry cannot be read";
			return -1;
		}
		*not_after_r = timegm(&tm);
	}
	if (fingerprint_r != NULL) {
		if (X509_digest(x, EVP_sha256(), md, &md_len) != 1 ||
		    md_len != 32) {
			*error_r = "its fingerprint cannot be computed";
			return -1;
		}
		for (i = 0; i < md_len; i++)
			snprintf(fingerprint_r + i * 3, 4,
			         i + 1 < md_len ? "%02X:" : "%02X", md[i]);
	}
	if (pem == NULL)
		return 0;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		*error_r = "it cannot be written in PEM form";
		return -1;
	}
	ret = sb_buf_add(pem, data, (size_t)len);
	BIO_free(bio);
	if (ret != 0)
		*error_r = "it is too large";
	return ret != 0 ? -1 : 0;
}

int
sb_cert_read(const char *cert_path, struct sb_buf *pem, time_t *not_after_r,
             char fingerprint_r[SB_CERT_FINGERPRINT_SIZE], const char **error_r)
{
	X509 *x = cert_load_x509(cert_path);
	const char *why;
	int ret;

	if (x == NULL) {
		ERR_clear_error();
		*error_r =
		        cert_error("no readable certificate in %s", cert_path);
		return -1;
	}
	ret = cert_describe(x, pem, not_after_r, fingerprint_r, &why);
	ERR_clear_error();
	X509_free(x);
	if (ret != 0)
		*error_r = cert_error("the certificate %s: %s", cert_path, why);
	return ret;
}
