/*
 * The self-signed certificate the listeners present to mail clients.
 *
 * It is an end-entity certificate, not a CA: basicConstraints CA:FALSE
 * (critical), keyUsage digitalSignature (critical), extendedKeyUsage
 * serverAuth, subject CN=localhost, O=Saltbridge, subjectAltName
 * IP:127.0.0.1, IP:::1 and DNS:localhost, a random 128-bit serial, an
 * ECDSA P-256 key and SHA-256 signature. Clients built on rustls refuse a
 * CA certificate used as a server certificate, and Apple platforms refuse
 * validity periods longer than 825 days.
 *
 * Files are written to a temporary name and renamed into place, so a crash
 * never leaves half a certificate. The key file is created with mode 0600
 * and is never readable by others, not even for a moment; the certificate
 * gets mode 0644.
 *
 * Strings returned through error_r live in thread-local storage until the
 * next failing call of this module in the same thread.
 */
#ifndef SB_CERT_H
#define SB_CERT_H

#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "compiler.h"

/* Validity of a new certificate, in days. */
#define SB_CERT_VALID_DAYS 825

/*
 * Makes a new key and certificate valid for valid_days from now (starting
 * one hour ago, to allow for clock skew), replacing any existing files.
 */
int sb_cert_generate(const char *cert_path, const char *key_path,
                     unsigned valid_days, const char **error_r) SB_WUR;

/*
 * Makes sure a usable certificate is in place: generates one (valid
 * SB_CERT_VALID_DAYS) when either file is missing or unreadable; when the
 * key file is not a regular file, belongs to another user or has any
 * group or other permission bit; when the key does not match the
 * certificate; when the certificate is a CA, lacks any of the
 * subjectAltNames above, is not valid yet (notBefore in the future) or
 * expires within renew_days. Otherwise leaves both files alone.
 * *created_r tells whether new files were written.
 */
int sb_cert_ensure(const char *cert_path, const char *key_path,
                   unsigned renew_days, bool *created_r,
                   const char **error_r) SB_WUR;

/* A SHA-256 fingerprint: 32 hex pairs joined by ':', and the NUL. */
#define SB_CERT_FINGERPRINT_SIZE (32 * 3)

/*
 * Reads the certificate of cert_path (the first PEM certificate in it)
 * for people: pem (may be NULL) gets it in PEM form, written again from
 * what was parsed, so that nothing else in the file comes along (never a
 * key); *not_after_r (may be NULL) its expiry, fingerprint_r (may be
 * NULL) its SHA-256 fingerprint in upper-case hex.
 */
int sb_cert_read(const char *cert_path, struct sb_buf *pem, time_t *not_after_r,
                 char fingerprint_r[SB_CERT_FINGERPRINT_SIZE],
                 const char **error_r) SB_WUR;

#endif
