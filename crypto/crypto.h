/*
 * Saltbridge's end-to-end encryption, on libsodium alone. docs/crypto.md is
 * the contract: every format here is described there byte by byte, with
 * its threat model.
 *
 * Secrets (keys, passwords, plaintext vault entries) live in memory from
 * sb_secure_alloc(), which is guarded, locked and wiped when freed. No
 * function here logs anything. Every function that checks a MAC or a
 * signature returns its verdict; nothing is returned as plaintext before
 * its MAC has been checked.
 */
#ifndef SB_CRYPTO_H
#define SB_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"

#define SB_KEY_BYTES         32
#define SB_SALT_BYTES        16
#define SB_SIGN_SECRET_BYTES 64
#define SB_SIGNATURE_BYTES   64
#define SB_HASH_BYTES        32
/* "XXXX XXXX ..." : 10 groups of 4 hex digits, and the NUL. */
#define SB_FINGERPRINT_SIZE 50

/* Must be called once before anything else; safe to call again. */
int sb_crypto_init(void) SB_WUR;

/* Guarded, locked memory for secrets; aborts when none can be had. */
void *sb_secure_alloc(size_t size) __attribute__((malloc, returns_nonnull));
/* Wipes and frees, and clears the pointer. */
void sb_secure_free(void *pp);

/* ---- Password: Argon2id, then two keys through crypto_kdf ---- */

struct sb_kdf_params {
	uint64_t opslimit;
	uint64_t memlimit; /* bytes */
	unsigned char salt[SB_SALT_BYTES];
};

/* Default parameters with a fresh random salt, for a new account. */
void sb_kdf_params_new(struct sb_kdf_params *params_r);
/*
 * Refuses parameters outside sane bounds: a hostile server must not make
 * the client spend gigabytes or minutes, nor weaken the hash below the
 * floor.
 */
int sb_kdf_params_check(const struct sb_kdf_params *params,
                        const char **error_r) SB_WUR;

struct sb_password_keys {
	unsigned char auth_key[SB_KEY_BYTES]; /* sent to the server */
	unsigned char kek[SB_KEY_BYTES];      /* never leaves the machine */
};

/* Derives both keys; *keys_r is secure memory, free with sb_secure_free. */
int sb_password_derive(const char *password, size_t password_len,
                       const struct sb_kdf_params *params,
                       struct sb_password_keys **keys_r,
                       const char **error_r) SB_WUR;

/* ---- Key hierarchy ---- */

enum sb_wrap_kind {
	SB_WRAP_ACCOUNT_KEY = 1, /* the account key, under the KEK */
	SB_WRAP_ENC_SECRET = 2,  /* X25519 secret key, under the account key */
	SB_WRAP_SIGN_SEED = 3,   /* Ed25519 seed, under the account key */
};

/* magic(4) version(1) kind(1) nonce(24) ciphertext(32) tag(16) */
#define SB_WRAPPED_KEY_BYTES 78

struct sb_account_keys {
	unsigned char account_key[SB_KEY_BYTES];
	unsigned char enc_pk[SB_KEY_BYTES];
	unsigned char enc_sk[SB_KEY_BYTES];
	unsigned char sign_pk[SB_KEY_BYTES];
	unsigned char sign_sk[SB_SIGN_SECRET_BYTES];
};

/* The wrapped form the server stores, and the public keys. */
struct sb_wrapped_account {
	unsigned char account_key[SB_WRAPPED_KEY_BYTES];
	unsigned char enc_sk[SB_WRAPPED_KEY_BYTES];
	unsigned char sign_seed[SB_WRAPPED_KEY_BYTES];
	unsigned char enc_pk[SB_KEY_BYTES];
	unsigned char sign_pk[SB_KEY_BYTES];
};

/* A fresh account key and keypairs; *keys_r is secure memory. */
int sb_account_keys_generate(struct sb_account_keys **keys_r) SB_WUR;

/*
 * Wraps `secret` (32 bytes) under `key` with XChaCha20-Poly1305, binding
 * the kind and the account id as associated data.
 */
void sb_key_wrap(const unsigned char key[SB_KEY_BYTES], enum sb_wrap_kind kind,
                 const char *account_id,
                 const unsigned char secret[SB_KEY_BYTES],
                 unsigned char out[SB_WRAPPED_KEY_BYTES]);
int sb_key_unwrap(const unsigned char key[SB_KEY_BYTES], enum sb_wrap_kind kind,
                  const char *account_id, const unsigned char *in,
                  size_t in_len, unsigned char secret_r[SB_KEY_BYTES],
                  const char **error_r) SB_WUR;

/* Wraps all three secrets of an account for the server. */
void sb_account_keys_wrap(const struct sb_account_keys *keys,
                          const unsigned char kek[SB_KEY_BYTES],
                          const char *account_id,
                          struct sb_wrapped_account *out);
/*
 * Unwraps an account and checks that the secret keys match the public
 * keys; *keys_r is secure memory.
 */
int sb_account_keys_unwrap(const struct sb_wrapped_account *wrapped,
                           const unsigned char kek[SB_KEY_BYTES],
                           const char *account_id,
                           struct sb_account_keys **keys_r,
                           const char **error_r) SB_WUR;

/*
 * A printable fingerprint of an identity (its encryption and signing public
 * keys) for people to compare: 40 hex digits in groups of 4.
 */
void sb_fingerprint(const unsigned char enc_pk[SB_KEY_BYTES],
                    const unsigned char sign_pk[SB_KEY_BYTES],
                    char out[SB_FINGERPRINT_SIZE]);

/* ---- Messages: body stream ---- */

/* Plaintext bytes per chunk of the body stream. */
#define SB_BODY_CHUNK 65536
/* magic(4) version(1) chunk-size(4) secretstream header(24) */
#define SB_BODY_HEADER_BYTES 33
/* Bytes a chunk grows by when encrypted. */
#define SB_BODY_CHUNK_OVERHEAD 17

/*
 * Where streamed output goes: returns 0, or -1 to stop (the stream then
 * fails with the sink's error).
 */
typedef int sb_crypto_sink(void *ctx, const void *data, size_t len);

struct sb_body_encryptor;

/* Fills key with a fresh random message key. */
void sb_message_key_new(unsigned char key[SB_KEY_BYTES]);

/*
 * Starts encrypting a body with the message key; the stream header goes to
 * the sink at once. Input of any size is buffered to whole chunks, so
 * memory stays at about one chunk.
 */
int sb_body_encryptor_new(const unsigned char key[SB_KEY_BYTES],
                          sb_crypto_sink *sink, void *ctx,
                          struct sb_body_encryptor **enc_r) SB_WUR;
int sb_body_encryptor_write(struct sb_body_encryptor *enc, const void *data,
                            size_t len) SB_WUR;
/*
 * Writes the final chunk and gives the plaintext's size and BLAKE2b-256
 * hash (what a signature covers). Frees the encryptor either way. Fails
 * when the sink ever failed: the stream written is then unusable.
 */
int sb_body_encryptor_finish(struct sb_body_encryptor **enc, uint64_t *size_r,
                             unsigned char hash_r[SB_HASH_BYTES]) SB_WUR;
/* Abandons an encryptor without finishing it. */
void sb_body_encryptor_free(struct sb_body_encryptor **enc);

struct sb_body_decryptor;

/*
 * Decrypts a body stream fed in pieces of any size. Each chunk's plaintext
 * reaches the sink only after its MAC has been checked. A stream that is
 * truncated, reordered, altered, or continues after its final chunk fails.
 * Chunks reach the sink before the stream is known to be whole: when feed
 * or finish fails, the caller must discard what the sink received.
 */
struct sb_body_decryptor *
sb_body_decryptor_new(const unsigned char key[SB_KEY_BYTES], uint64_t max_size,
                      sb_crypto_sink *sink, void *ctx);
int sb_body_decryptor_feed(struct sb_body_decryptor *dec, const void *data,
                           size_t len, const char **error_r) SB_WUR;
/*
 * Checks that the stream ended with its final chunk, gives the size and
 * hash of the plaintext, and frees the decryptor either way.
 */
int sb_body_decryptor_finish(struct sb_body_decryptor **dec, uint64_t *size_r,
                             unsigned char hash_r[SB_HASH_BYTES],
                             const char **error_r) SB_WUR;
void sb_body_decryptor_free(struct sb_body_decryptor **dec);

/* ---- Messages: summary, signature, verdict ---- */

/* Limits a summary must respect, in both directions. */
#define SB_SUMMARY_MAX_ADDRESS    320
#define SB_SUMMARY_MAX_RECIPIENTS 1000
#define SB_SUMMARY_MAX_HEADERS    (1024 * 1024)
#define SB_SUMMARY_MAX_STRUCTURE  (1024 * 1024)

/*
 * What the bridge needs to list a message without its body. Addresses are
 * as signed: lower case, recipients sorted and unique (see
 * sb_summary_set_recipients).
 */
struct sb_summary {
	uint64_t size; /* plaintext bytes */
	unsigned char body_hash[SB_HASH_BYTES];
	char *sender;      /* NULL when unsigned */
	char **recipients; /* visible ones: To and Cc */
	size_t n_recipients;
	bool is_signed;
	unsigned char signer_pk[SB_KEY_BYTES];
	unsigned char signature[SB_SIGNATURE_BYTES];
	unsigned char *headers; /* the header section */
	size_t headers_len;
	unsigned char *structure; /* opaque, the bridge's own */
	size_t structure_len;
};

/* A summary with no fields set; free it with sb_summary_free. */
struct sb_summary *sb_summary_new(void);
void sb_summary_free(struct sb_summary **s);
/* Sets the sender, lower-cased. */
int sb_summary_set_sender(struct sb_summary *s, const char *address) SB_WUR;
/* Sets the visible recipients: lower-cased, sorted, duplicates dropped. */
int sb_summary_set_recipients(struct sb_summary *s, const char *const *addrs,
                              size_t n) SB_WUR;
int sb_summary_set_headers(struct sb_summary *s, const void *headers,
                           size_t len) SB_WUR;
int sb_summary_set_structure(struct sb_summary *s, const void *structure,
                             size_t len) SB_WUR;

/*
 * Signs body_hash, size, sender, recipients, headers and structure with the
 * Ed25519 secret key: set them all first.
 */
int sb_summary_sign(struct sb_summary *s,
                    const unsigned char sign_sk[SB_SIGN_SECRET_BYTES]) SB_WUR;

/* Encrypts the summary under the message key, appending to out. */
int sb_summary_seal(const struct sb_summary *s,
                    const unsigned char key[SB_KEY_BYTES],
                    struct sb_buf *out) SB_WUR;
/* Decrypts and decodes a sealed summary. */
int sb_summary_open(const unsigned char key[SB_KEY_BYTES], const void *in,
                    size_t len, struct sb_summary **s_r,
                    const char **error_r) SB_WUR;

enum sb_verdict_status {
	SB_VERDICT_VALID,       /* signed by the key the caller trusts */
	SB_VERDICT_INVALID,     /* signed, but the check failed */
	SB_VERDICT_UNSIGNED,    /* e.g. external mail encrypted on arrival */
	SB_VERDICT_KEY_UNKNOWN, /* signed, but no key to check it against */
};

struct sb_verdict {
	enum sb_verdict_status status;
	/* The reader is among the signed recipients (false: Bcc or forward). */
	bool reader_listed;
	const char *reason; /* a sentence for people; static */
};

/*
 * The verdict on a message whose body decrypted to a plaintext with
 * body_hash. trusted_pk is the sender's signing key as the caller knows it
 * (NULL when it has none); reader is the reading account's address.
 */
void sb_summary_verify(const struct sb_summary *s,
                       const unsigned char body_hash[SB_HASH_BYTES],
                       const unsigned char *trusted_pk, const char *reader,
                       struct sb_verdict *verdict_r);

/* ---- Key packets ---- */

/* magic(4) version(1) sealed box of the message key(80) */
#define SB_KEY_PACKET_BYTES 85

/*
 * Seals the message key to one recipient's X25519 public key. Fails for a
 * public key that is not a usable key (one of small order).
 */
int sb_key_packet_seal(const unsigned char key[SB_KEY_BYTES],
                       const unsigned char enc_pk[SB_KEY_BYTES],
                       unsigned char packet_r[SB_KEY_PACKET_BYTES],
                       const char **error_r) SB_WUR;
int sb_key_packet_open(const void *in, size_t len,
                       const unsigned char enc_pk[SB_KEY_BYTES],
                       const unsigned char enc_sk[SB_KEY_BYTES],
                       unsigned char key_r[SB_KEY_BYTES],
                       const char **error_r) SB_WUR;

/* ---- Local cache encryption ---- */

/* magic(4) version(1) nonce(24), then ciphertext and tag(16) */
#define SB_CACHE_OVERHEAD 45

/*
 * Encrypts data the replica derives from content under the cache key,
 * bound to `context` (say "envelope:1234"), so a value cannot be moved to
 * another row or column unnoticed. Appends to out.
 */
int sb_cache_seal(const unsigned char key[SB_KEY_BYTES], const char *context,
                  const void *in, size_t len, struct sb_buf *out) SB_WUR;
int sb_cache_open(const unsigned char key[SB_KEY_BYTES], const char *context,
                  const void *in, size_t len, struct sb_buf *out,
                  const char **error_r) SB_WUR;

/* ---- Vault: the bridge's local secrets in one encrypted file ---- */

/* Limits of a vault's contents. */
#define SB_VAULT_MAX_NAME      255
#define SB_VAULT_MAX_VALUE     (1024 * 1024)
#define SB_VAULT_MAX_ENTRIES   1000
#define SB_VAULT_MAX_PLAINTEXT (16 * 1024 * 1024)

/*
 * Where the vault key lives. The file store is the default; an OS keychain
 * fits the same two calls. load returns 1 with the key, 0 when none is
 * stored, -1 on error.
 */
struct sb_vault_keystore {
	const char *name;
	int (*load)(const struct sb_vault_keystore *ks,
	            unsigned char key_r[SB_KEY_BYTES], const char **error_r);
	int (*store)(const struct sb_vault_keystore *ks,
	             const unsigned char key[SB_KEY_BYTES],
	             const char **error_r);
	const void *ctx;
};

/* A key file (mode 0600) at path; path must outlive ks. */
void sb_vault_keystore_file(struct sb_vault_keystore *ks, const char *path);

/*
 * Named secrets: names are printable ASCII, values bytes kept in secure
 * memory.
 */
struct sb_vault;

/*
 * Opens the vault at path with the key from ks, or makes a new empty one
 * (and a new key) when neither exists yet; *created_r tells which. A vault
 * that exists but cannot be read (no key, wrong key, damaged file) is an
 * error that says what is wrong, and nothing on disk is changed; so is a
 * vault path that is a symbolic link. The open vault holds a lock
 * (path.lock) until it is freed, so a second process opening the same
 * vault fails instead of overwriting it. *key_r is secure memory holding
 * the vault key for later saves.
 */
int sb_vault_open(const char *path, const struct sb_vault_keystore *ks,
                  struct sb_vault **vault_r, unsigned char **key_r,
                  bool *created_r, const char **error_r) SB_WUR;
/* Writes the vault atomically (temp file, fsync, rename, fsync folder). */
int sb_vault_save(const struct sb_vault *v, const char *path,
                  const unsigned char key[SB_KEY_BYTES],
                  const char **error_r) SB_WUR;
void sb_vault_free(struct sb_vault **v);

int sb_vault_set(struct sb_vault *v, const char *name, const void *value,
                 size_t len, const char **error_r) SB_WUR;
/* The value stays owned by the vault, valid until the next change. */
bool sb_vault_get(const struct sb_vault *v, const char *name,
                  const unsigned char **value_r, size_t *len_r);
bool sb_vault_remove(struct sb_vault *v, const char *name);
size_t sb_vault_count(const struct sb_vault *v);
const char *sb_vault_name(const struct sb_vault *v, size_t i);

/* Encodes / decodes the vault file's bytes (exposed for tests and fuzzing). */
int sb_vault_encode(const struct sb_vault *v,
                    const unsigned char key[SB_KEY_BYTES],
                    struct sb_buf *out) SB_WUR;
int sb_vault_decode(const unsigned char key[SB_KEY_BYTES], const void *in,
                    size_t len, struct sb_vault **vault_r,
                    const char **error_r) SB_WUR;

#endif
