/*
 * The accounts as the vault holds them: one entry per field, named
 * "account/ID/FIELD"; the remembered KDF parameters; bridge passwords.
 */
#include "bridge-private.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define BRIDGE_ACCOUNT_PREFIX     "account/"
#define BRIDGE_ACCOUNT_PREFIX_LEN (sizeof(BRIDGE_ACCOUNT_PREFIX) - 1)

/* "account/ID/FIELD"; false when it does not fit a vault name. */
static bool
bridge_entry_name(const char *account_id, const char *field,
                  char out[SB_VAULT_MAX_NAME + 1])
{
	int n = snprintf(out, SB_VAULT_MAX_NAME + 1, "%s%s/%s",
	                 BRIDGE_ACCOUNT_PREFIX, account_id, field);

	return n > 0 && n <= SB_VAULT_MAX_NAME;
}

/* The account id of an entry "account/ID/email", or false. */
static bool
bridge_email_entry_id(const char *name, char id_r[API_ACCOUNT_ID_LEN + 1])
{
	const char *id, *slash;
	size_t len;

	if (strncmp(name, BRIDGE_ACCOUNT_PREFIX, BRIDGE_ACCOUNT_PREFIX_LEN) !=
	    0)
		return false;
	id = name + BRIDGE_ACCOUNT_PREFIX_LEN;
	slash = strchr(id, '/');
	if (slash == NULL || strcmp(slash + 1, BRIDGE_ENTRY_EMAIL) != 0)
		return false;
	len = (size_t)(slash - id);
	if (len == 0 || len > API_ACCOUNT_ID_LEN || !api_is_id(id, len))
		return false;
	memcpy(id_r, id, len);
	id_r[len] = '\0';
	return true;
}

bool
bridge_entry_get(const struct sb_vault *v, const char *account_id,
                 const char *field, const unsigned char **value_r,
                 size_t *len_r)
{
	char name[SB_VAULT_MAX_NAME + 1];

	if (!bridge_entry_name(account_id, field, name))
		return false;
	return sb_vault_get(v, name, value_r, len_r);
}

int
bridge_entry_set(struct sb_vault *v, const char *account_id, const char *field,
                 const void *value, size_t len, const char **error_r)
{
	char name[SB_VAULT_MAX_NAME + 1];

	if (!bridge_entry_name(account_id, field, name)) {
		*error_r = "a vault entry name is too long";
		return -1;
	}
	return sb_vault_set(v, name, value, len, error_r);
}

char *
bridge_entry_secret_str(const struct sb_vault *v, const char *account_id,
                        const char *field)
{
	const unsigned char *value;
	size_t len;
	char *s;

	if (!bridge_entry_get(v, account_id, field, &value, &len) ||
	    memchr(value, '\0', len) != NULL)
		return NULL;
	s = sb_secure_alloc(len + 1);
	memcpy(s, value, len);
	s[len] = '\0';
	return s;
}

char *
bridge_entry_str(const struct sb_vault *v, const char *account_id,
                 const char *field)
{
	const unsigned char *value;
	size_t len;

	if (!bridge_entry_get(v, account_id, field, &value, &len) ||
	    memchr(value, '\0', len) != NULL)
		return NULL;
	return sb_memdupz(value, len);
}

size_t
bridge_entries_remove(struct sb_vault *v, const char *account_id)
{
	char prefix[SB_VAULT_MAX_NAME + 1];
	size_t i, removed = 0, len;

	if (!bridge_entry_name(account_id, "", prefix))
		return 0;
	len = strlen(prefix);
	/* Removing moves the names: start again after each removal. */
	for (i = 0; i < sb_vault_count(v);) {
		const char *name = sb_vault_name(v, i);

		if (strncmp(name, prefix, len) == 0) {
			char copy[SB_VAULT_MAX_NAME + 1];

			snprintf(copy, sizeof(copy), "%s", name);
			if (sb_vault_remove(v, copy)) {
				removed++;
				i = 0;
				continue;
			}
		}
		i++;
	}
	return removed;
}

int
bridge_account_find(const struct sb_vault *v, const char *email,
                    char id_r[API_ACCOUNT_ID_LEN + 1])
{
	char id[API_ACCOUNT_ID_LEN + 1];
	const unsigned char *value;
	size_t i, len, elen = strlen(email);

	for (i = 0; i < sb_vault_count(v); i++) {
		if (!bridge_email_entry_id(sb_vault_name(v, i), id) ||
		    !bridge_entry_get(v, id, BRIDGE_ENTRY_EMAIL, &value, &len))
			continue;
		if (len == elen && memcmp(value, email, len) == 0) {
			memcpy(id_r, id, sizeof(id));
			return 1;
		}
	}
	return 0;
}

/* Whether the "addresses" entry of the account lists email. */
static bool
bridge_addresses_have(const struct sb_vault *v, const char *id,
                      const char *email)
{
	const unsigned char *value, *p, *nl, *end;
	size_t len, elen = strlen(email);

	if (!bridge_entry_get(v, id, BRIDGE_ENTRY_ADDRESSES, &value, &len))
		return false;
	for (p = value, end = value + len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) == elen && memcmp(p, email, elen) == 0)
			return true;
	}
	return false;
}

int
bridge_account_find_any(const struct sb_vault *v, const char *email,
                        char id_r[API_ACCOUNT_ID_LEN + 1])
{
	char id[API_ACCOUNT_ID_LEN + 1];
	size_t i;

	if (bridge_account_find(v, email, id_r) == 1)
		return 1;
	for (i = 0; i < sb_vault_count(v); i++) {
		if (bridge_email_entry_id(sb_vault_name(v, i), id) &&
		    bridge_addresses_have(v, id, email)) {
			memcpy(id_r, id, sizeof(id));
			return 1;
		}
	}
	return 0;
}

int
bridge_account_claim(const struct sb_vault *v, const char *email,
                     const char *account_id, const char **error_r)
{
	char id[API_ACCOUNT_ID_LEN + 1], *other;

	if (bridge_account_find(v, email, id) == 1) {
		if (strcmp(id, account_id) == 0)
			return 0;
		*error_r = bridge_errorf("%s is logged in here as another "
		                         "account; run 'saltbridge logout %s' "
		                         "first",
		                         email, email);
		return -1;
	}
	other = bridge_entry_str(v, account_id, BRIDGE_ENTRY_EMAIL);
	if (other == NULL)
		return 0;
	*error_r = bridge_errorf("%s is an address of the account logged in "
	                         "here as %.320s: log in as %.320s, or run "
	                         "'saltbridge logout %.320s' first",
	                         email, other, other, other);
	free(other);
	return -1;
}

int
bridge_addresses_set(struct sb_vault *v, const char *account_id,
                     const struct api_strings *addresses, const char **error_r)
{
	struct sb_buf b;
	size_t i;
	int ret = 0;

	sb_buf_init(&b, SB_VAULT_MAX_VALUE);
	for (i = 0; ret == 0 && i < addresses->count; i++) {
		/* Addresses hold no '\n' (api_is_email). */
		ret = (i > 0 ? sb_buf_add_char(&b, '\n') : 0) ||
		      sb_buf_add_str(&b, addresses->items[i]);
	}
	if (ret != 0) {
		*error_r = "the account's addresses do not fit in the vault";
		ret = -1;
	} else {
		ret = bridge_entry_set(v, account_id, BRIDGE_ENTRY_ADDRESSES,
		                       b.data != NULL ? b.data : "", b.len,
		                       error_r);
	}
	sb_buf_free(&b);
	return ret;
}

/* For qsort_r: orders account ids by their address. */
static int
bridge_id_cmp(const void *a, const void *b, void *ctx)
{
	const struct sb_vault *v = ctx;
	const unsigned char *va = NULL, *vb = NULL;
	size_t la = 0, lb = 0;
	int c;

	(void)bridge_entry_get(v, a, BRIDGE_ENTRY_EMAIL, &va, &la);
	(void)bridge_entry_get(v, b, BRIDGE_ENTRY_EMAIL, &vb, &lb);
	c = memcmp(va != NULL ? va : (const unsigned char *)"",
	           vb != NULL ? vb : (const unsigned char *)"",
	           la < lb ? la : lb);
	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb ? 1 : strcmp(a, b);
}

void
bridge_account_ids_get(const struct sb_vault *v,
                       struct bridge_account_ids *ids_r)
{
	char id[API_ACCOUNT_ID_LEN + 1];
	size_t i, n = 0;

	memset(ids_r, 0, sizeof(*ids_r));
	for (i = 0; i < sb_vault_count(v); i++) {
		if (bridge_email_entry_id(sb_vault_name(v, i), id))
			n++;
	}
	if (n == 0)
		return;
	ids_r->ids = sb_reallocarray(NULL, n, sizeof(*ids_r->ids));
	for (i = 0; i < sb_vault_count(v); i++) {
		if (bridge_email_entry_id(sb_vault_name(v, i), id))
			memcpy(ids_r->ids[ids_r->count++], id, sizeof(id));
	}
	qsort_r(ids_r->ids, ids_r->count, sizeof(*ids_r->ids), bridge_id_cmp,
	        (void *)v);
}

void
bridge_account_ids_free(struct bridge_account_ids *ids)
{
	free(ids->ids);
	memset(ids, 0, sizeof(*ids));
}

/* ---- KDF parameters ---- */

static void
bridge_put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
bridge_get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
bridge_kdf_encode(const struct sb_kdf_params *params,
                  unsigned char out[BRIDGE_KDF_ENTRY_BYTES])
{
	bridge_put_u64(out, params->opslimit);
	bridge_put_u64(out + 8, params->memlimit);
	memcpy(out + 16, params->salt, SB_SALT_BYTES);
}

int
bridge_kdf_decode(const unsigned char *in, size_t len,
                  struct sb_kdf_params *params_r, const char **error_r)
{
	if (len != BRIDGE_KDF_ENTRY_BYTES) {
		*error_r = "the remembered key derivation parameters are "
		           "damaged";
		return -1;
	}
	params_r->opslimit = bridge_get_u64(in);
	params_r->memlimit = bridge_get_u64(in + 8);
	memcpy(params_r->salt, in + 16, SB_SALT_BYTES);
	return 0;
}

int
bridge_kdf_check_remembered(const struct sb_kdf_params *remembered,
                            const struct sb_kdf_params *offered,
                            const char **error_r)
{
	if (offered->opslimit < remembered->opslimit ||
	    offered->memlimit < remembered->memlimit) {
		*error_r = bridge_errorf(
		        "the service now asks for weaker password hashing "
		        "(%llu passes, %llu MiB) than at the last login (%llu "
		        "passes, %llu MiB): refused, as a hostile service "
		        "could use it to guess the password",
		        (unsigned long long)offered->opslimit,
		        (unsigned long long)(offered->memlimit >> 20),
		        (unsigned long long)remembered->opslimit,
		        (unsigned long long)(remembered->memlimit >> 20));
		return -1;
	}
	if (offered->opslimit != remembered->opslimit ||
	    offered->memlimit != remembered->memlimit ||
	    sodium_memcmp(offered->salt, remembered->salt, SB_SALT_BYTES) !=
	            0) {
		*error_r = "the account's password hashing parameters changed "
		           "since the last login, and not through this bridge";
		return -1;
	}
	return 0;
}

/* ---- Bridge passwords ---- */

void
bridge_password_format(const unsigned char raw[BRIDGE_PASSWORD_RANDOM_BYTES],
                       char out[BRIDGE_PASSWORD_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned bits = 0, nbits = 0;
	size_t i, o = 0, digits = 0;

	for (i = 0; i < BRIDGE_PASSWORD_RANDOM_BYTES; i++) {
		bits = (bits << 8 | raw[i]) & 0xffff;
		nbits += 8;
		while (nbits >= 5) {
			if (digits > 0 && digits % 4 == 0)
				out[o++] = '-';
			nbits -= 5;
			out[o++] = alphabet[(bits >> nbits) & 31];
			digits++;
		}
	}
	out[o] = '\0';
}

void
bridge_password_new(char out[BRIDGE_PASSWORD_LEN + 1])
{
	unsigned char *raw = sb_secure_alloc(BRIDGE_PASSWORD_RANDOM_BYTES);

	randombytes_buf(raw, BRIDGE_PASSWORD_RANDOM_BYTES);
	bridge_password_format(raw, out);
	sb_secure_free(&raw);
}
