/*
 * The bridge: its home on disk, the accounts it keeps in the vault, and
 * the commands behind `saltbridge` (docs/bridge.md).
 *
 * Errors: fallible functions return 0 / -1 (lookups 1 found / 0 not
 * found / -1) and set *error_r to a sentence for people, valid until the
 * next failing call of this module in the same thread.
 *
 * Secrets read from the vault (tokens, keys, the bridge password) are
 * copied only into memory from sb_secure_alloc() and never logged.
 */
#ifndef SB_BRIDGE_H
#define SB_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api/api.h"
#include "bridge/settings.h"
#include "common/buf.h"
#include "common/compiler.h"
#include "crypto/crypto.h"

/* ---- The home ---- */

/*
 * Where the bridge keeps its state. With a home folder everything is
 * under it (HOME/config, HOME/data); otherwise the XDG folders are used:
 * $XDG_CONFIG_HOME/saltbridge (~/.config/saltbridge) and
 * $XDG_DATA_HOME/saltbridge (~/.local/share/saltbridge).
 */
struct bridge_paths {
	char *config_dir;
	char *data_dir;
	char *vault_key;  /* config_dir/vault.key: the vault's key file */
	char *settings;   /* config_dir/settings (bridge/settings.h) */
	char *vault;      /* data_dir/vault */
	char *replica;    /* data_dir/replica.db */
	char *serve_lock; /* data_dir/serve.lock: held while serve runs */
	char *tls_dir;    /* data_dir/tls */
	char *tls_cert;   /* data_dir/tls/cert.pem: the listeners' */
	char *tls_key;    /* data_dir/tls/key.pem */
};

/* Works the paths out; home may be NULL. Creates nothing. */
int bridge_paths_init(struct bridge_paths *p, const char *home,
                      const char **error_r) SB_WUR;
/* Creates the folders (and missing parents) with mode 0700. */
int bridge_paths_create(const struct bridge_paths *p,
                        const char **error_r) SB_WUR;
void bridge_paths_free(struct bridge_paths *p);

/* ---- serve's lock ---- */

/*
 * While saltbridge serve runs it holds a write lock (fcntl, so that
 * others can ask who holds it) on DATA/serve.lock, which also holds its
 * pid and then its listeners, one per line ("imap 127.0.0.1 1143
 * starttls": protocol, address, port, security). serve takes it before
 * anything else: a second serve on the home fails at once, naming the
 * first one's pid. The lock goes with the process, however it ends.
 */
int bridge_serve_lock(const struct bridge_paths *p, int *fd_r,
                      const char **error_r) SB_WUR;
/* Replaces what the lock file says (the lock stays). */
int bridge_serve_lock_write(int fd, const char *text, size_t len,
                            const char **error_r) SB_WUR;
/* Empties the lock file and lets the lock go; *fd becomes -1. */
void bridge_serve_unlock(int *fd);
/*
 * 1 and the pid of the serve that runs on the home, 0 when none runs, -1
 * when that cannot be told. Creates nothing. text (may be NULL) gets the
 * lock file's lines after the pid.
 */
int bridge_serve_running(const struct bridge_paths *p, long *pid_r,
                         struct sb_buf *text, const char **error_r) SB_WUR;

/* ---- The vault, opened ---- */

struct bridge_vault {
	struct sb_vault_keystore ks;
	struct sb_vault *v;
	unsigned char *key; /* secure memory */
	const char *path;
};

/*
 * Opens the vault of the home, creating it (and its key file) when
 * neither exists yet. The vault stays locked until bridge_vault_close.
 */
int bridge_vault_open(struct bridge_vault *bv, const struct bridge_paths *p,
                      const char **error_r) SB_WUR;
/*
 * For commands that only read: 1 with the vault open, 0 when there is no
 * vault yet (nothing is created), -1 on error. While another process
 * holds the vault (a login, a logout) it waits for up to
 * BRIDGE_VAULT_WAIT_MS; when that process is serve, which keeps the
 * vault while it runs, it fails at once and says so (bridge_vault_open
 * too).
 */
#define BRIDGE_VAULT_WAIT_MS 5000

int bridge_vault_open_existing(struct bridge_vault *bv,
                               const struct bridge_paths *p,
                               const char **error_r) SB_WUR;
int bridge_vault_save(const struct bridge_vault *bv,
                      const char **error_r) SB_WUR;
void bridge_vault_close(struct bridge_vault *bv);

/* ---- Accounts in the vault: entries "account/ID/FIELD" ---- */

#define BRIDGE_ENTRY_EMAIL           "email"
#define BRIDGE_ENTRY_ADDRESSES       "addresses"
#define BRIDGE_ENTRY_API_URL         "api_url"
#define BRIDGE_ENTRY_CA_FILE         "ca_file"
#define BRIDGE_ENTRY_ACCESS_TOKEN    "access_token"
#define BRIDGE_ENTRY_REFRESH_TOKEN   "refresh_token"
#define BRIDGE_ENTRY_ACCOUNT_KEY     "account_key"
#define BRIDGE_ENTRY_ENC_SK          "enc_sk"
#define BRIDGE_ENTRY_SIGN_SK         "sign_sk"
#define BRIDGE_ENTRY_ENC_PK          "enc_pk"
#define BRIDGE_ENTRY_SIGN_PK         "sign_pk"
#define BRIDGE_ENTRY_BRIDGE_PASSWORD "bridge_password"
#define BRIDGE_ENTRY_CACHE_KEY       "cache_key"
#define BRIDGE_ENTRY_KDF             "kdf"

/* The account ids in the vault, sorted by address; owned. */
struct bridge_account_ids {
	char (*ids)[API_ACCOUNT_ID_LEN + 1];
	size_t count;
};

void bridge_account_ids_get(const struct sb_vault *v,
                            struct bridge_account_ids *ids_r);
void bridge_account_ids_free(struct bridge_account_ids *ids);

/* 1 with the id of the account logged in as that address, or 0. */
int bridge_account_find(const struct sb_vault *v, const char *email,
                        char id_r[API_ACCOUNT_ID_LEN + 1]);
/*
 * The same, but also matches any address the service listed for an
 * account at its last login (entry "addresses").
 */
int bridge_account_find_any(const struct sb_vault *v, const char *email,
                            char id_r[API_ACCOUNT_ID_LEN + 1]);

/* The value of one field of an account, owned by the vault; or false. */
bool bridge_entry_get(const struct sb_vault *v, const char *account_id,
                      const char *field, const unsigned char **value_r,
                      size_t *len_r);
int bridge_entry_set(struct sb_vault *v, const char *account_id,
                     const char *field, const void *value, size_t len,
                     const char **error_r) SB_WUR;
/* A text field as a NUL-terminated copy in secure memory, or NULL. */
char *bridge_entry_secret_str(const struct sb_vault *v, const char *account_id,
                              const char *field);
/* A public text field as a malloc'd copy, or NULL. */
char *bridge_entry_str(const struct sb_vault *v, const char *account_id,
                       const char *field);
/* Removes every entry of the account; returns how many. */
size_t bridge_entries_remove(struct sb_vault *v, const char *account_id);

/* ---- Remembered KDF parameters ---- */

/* opslimit (8) || memlimit (8) || salt (16), big-endian. */
#define BRIDGE_KDF_ENTRY_BYTES (16 + SB_SALT_BYTES)

void bridge_kdf_encode(const struct sb_kdf_params *params,
                       unsigned char out[BRIDGE_KDF_ENTRY_BYTES]);
int bridge_kdf_decode(const unsigned char *in, size_t len,
                      struct sb_kdf_params *params_r,
                      const char **error_r) SB_WUR;
/*
 * Compares the parameters a service offers with those remembered from the
 * last login: any change the bridge did not make is refused, a weaker one
 * with the words "weaker", another with the words "changed".
 */
int bridge_kdf_check_remembered(const struct sb_kdf_params *remembered,
                                const struct sb_kdf_params *offered,
                                const char **error_r) SB_WUR;

/* ---- Bridge passwords ---- */

/* 120 random bits, base32 (a-z, 2-7) in six groups of four: "abcd-...". */
#define BRIDGE_PASSWORD_RANDOM_BYTES 15
#define BRIDGE_PASSWORD_LEN          29

void
bridge_password_format(const unsigned char raw[BRIDGE_PASSWORD_RANDOM_BYTES],
                       char out[BRIDGE_PASSWORD_LEN + 1]);
/* A fresh bridge password, written into out (secure memory is advised). */
void bridge_password_new(char out[BRIDGE_PASSWORD_LEN + 1]);

/* ---- Commands ---- */

struct bridge_login_options {
	const char *email;
	const char *api_url;  /* NULL: the one remembered for the address */
	const char *ca_file;  /* NULL: the one remembered, or the system's */
	bool new_password;    /* make a new bridge password */
	struct sb_buf *shown; /* if not NULL: gets the account's info block */
};

/*
 * Logs in with the account password: checks the options (before anything
 * is created in the home), the service's KDF parameters (and that they
 * did not change since the last login of any of the account's addresses),
 * derives the keys, logs in, unwraps the account's keys, adds the account
 * to the replica and keeps what the bridge needs in the vault; then ends
 * the session the vault held before, best effort. On success the account
 * id is written to account_id_r, and o->shown gets its info block.
 */
int bridge_login(const struct bridge_paths *p,
                 const struct bridge_login_options *o, const char *password,
                 size_t password_len, char account_id_r[API_ACCOUNT_ID_LEN + 1],
                 const char **error_r) SB_WUR;

/*
 * Revokes the session on the service (best effort: *revoke_error_r, which
 * may be set to NULL, says why it could not be done) and removes the
 * account's local data. Fails when the address is not logged in.
 */
int bridge_logout(const struct bridge_paths *p, const char *email,
                  const char **revoke_error_r, const char **error_r) SB_WUR;

enum bridge_format {
	BRIDGE_FORMAT_TABLE, /* one line per account */
	BRIDGE_FORMAT_INFO,  /* a block per account, for setting up clients */
	BRIDGE_FORMAT_JSON,  /* docs/bridge.md */
};

/*
 * Prints the accounts (only that of email when it is not NULL: then JSON
 * is one object) with their client settings. Fails when email is given
 * and not logged in.
 */
int bridge_print_accounts(const struct bridge_paths *p, const char *email,
                          enum bridge_format format, int fd,
                          const char **error_r) SB_WUR;

/*
 * saltbridge set without a value: every setting (key -1) or one, with
 * "(default)" after those not set, on stdout.
 */
int bridge_settings_show(const struct bridge_paths *p, int key,
                         const char **error_r) SB_WUR;
/*
 * saltbridge set KEY VALUE (value NULL: unset): the settings file
 * changed, the new value printed, and a reminder of SIGHUP when serve
 * runs. A listen address that is not a loopback one is refused unless
 * allow_remote.
 */
int bridge_settings_set(const struct bridge_paths *p, enum bridge_setting key,
                        const char *value, bool allow_remote,
                        const char **error_r) SB_WUR;

/*
 * saltbridge status: whether serve runs (and its listeners), the
 * listeners' certificate, and each account's sync, messages and bodies,
 * ops and outbox, as text or JSON (docs/bridge.md). Reads the replica
 * only, read-only: it needs neither the vault nor the service, and runs
 * while serve does.
 */
int bridge_print_status(const struct bridge_paths *p, bool json, int fd,
                        const char **error_r) SB_WUR;

/*
 * saltbridge cert export: the listeners' certificate in PEM form (never
 * its key) written to file, or to stdout for "-". While serve does not
 * run, the certificate is made (or renewed) first, as serve would.
 */
int bridge_cert_export(const struct bridge_paths *p, const char *file,
                       const char **error_r) SB_WUR;
/*
 * saltbridge cert install: with root on Linux, the certificate into the
 * system's trust store (update-ca-certificates, or update-ca-trust);
 * otherwise fails with what to do instead (a sentence of several lines).
 */
int bridge_cert_install(const struct bridge_paths *p,
                        const char **error_r) SB_WUR;
/* saltbridge cert show: path, expiry and fingerprint, on stdout. */
int bridge_cert_show(const struct bridge_paths *p, const char **error_r) SB_WUR;

/*
 * saltbridge serve: takes serve's lock (a second serve fails at once),
 * reads the settings (bridge/settings.h) with those of the command line,
 * given (the ones in given->given), over them; opens the vault (kept
 * open and locked until the end), starts the sync (bridge/sync.h) of
 * every account in it, each with API clients made from its entries whose
 * refreshed tokens are saved to the vault, and the IMAP and SMTP
 * listeners; prints "saltbridge: ready (N accounts)" on stdout and runs
 * until SIGTERM or SIGINT; then it stops everything and closes. SIGHUP
 * reads the settings again: the log level changes at once, and listeners
 * whose port or address changed are bound anew. Blocks those signals in
 * the calling thread (before any thread starts) and takes them with
 * sigtimedwait. Fails when no account is logged in.
 */
int bridge_serve(const struct bridge_paths *p,
                 const struct bridge_settings *given,
                 const char **error_r) SB_WUR;

/* Lower-cases and checks an address given on the command line. */
int bridge_email_normalize(const char *in, char **email_r,
                           const char **error_r) SB_WUR;

/* A sentence in the module's error buffer (see above). */
const char *bridge_errorf(const char *fmt, ...) SB_PRINTF(1, 2);

#endif
