/*
 * The vault: the bridge's local secrets (tokens, account keys, bridge
 * passwords, cache keys, settings) in one file, encrypted under a vault
 * key that a keystore holds. See docs/crypto.md for the layout.
 */
#include "crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "crypto-private.h"

#define SB_VAULT_HEAD_BYTES (SB_MAGIC_BYTES + 1 + SB_AEAD_NONCE_BYTES)
#define SB_VAULT_MAX_FILE \
	(SB_VAULT_HEAD_BYTES + SB_VAULT_MAX_PLAINTEXT + SB_AEAD_TAG_BYTES)
_Static_assert(SB_VAULT_MAX_FILE == SB_VAULT_MAX_FILE_BYTES, "vault size");

struct sb_vault_entry {
	char *name;
	unsigned char *value; /* secure memory */
	size_t len;
};

struct sb_vault {
	struct sb_vault_entry *entries;
	size_t count;
	size_t plain_size; /* encoded size of the entries */
	int lock_fd;       /* the lock held while open, or -1 */
};

struct sb_vault *
sb_vault_new_empty(void)
{
	struct sb_vault *v = sb_calloc(1, sizeof(struct sb_vault));

	v->lock_fd = -1;
	return v;
}

void
sb_vault_hold_lock(struct sb_vault *v, int fd)
{
	v->lock_fd = fd;
}

void
sb_vault_free(struct sb_vault **vp)
{
	struct sb_vault *v = *vp;
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->count; i++) {
		free(v->entries[i].name);
		sb_secure_free(&v->entries[i].value);
	}
	free(v->entries);
	if (v->lock_fd >= 0)
		close(v->lock_fd);
	free(v);
	*vp = NULL;
}

static bool
sb_vault_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > SB_VAULT_MAX_NAME)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static struct sb_vault_entry *
sb_vault_find(const struct sb_vault *v, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < v->count; i++) {
		if (strlen(v->entries[i].name) == len &&
		    memcmp(v->entries[i].name, name, len) == 0)
			return &v->entries[i];
	}
	return NULL;
}

/* Adds or replaces an entry; name need not be NUL-terminated. */
static int SB_WUR
sb_vault_put(struct sb_vault *v, const char *name, size_t name_len,
             const void *value, size_t len, const char **error_r)
{
	struct sb_vault_entry *e = sb_vault_find(v, name, name_len);
	size_t grow = 2 + name_len + 4 + len, shrink = 0;

	if (!sb_vault_name_ok(name, name_len)) {
		*error_r = "a vault entry has an invalid name";
		return -1;
	}
	if (len > SB_VAULT_MAX_VALUE) {
		*error_r = "a vault entry is too large";
		return -1;
	}
	if (e != NULL)
		shrink = 2 + name_len + 4 + e->len;
	if (e == NULL && v->count == SB_VAULT_MAX_ENTRIES) {
		*error_r = "the vault has too many entries";
		return -1;
	}
	if (v->plain_size - shrink + grow > SB_VAULT_MAX_PLAINTEXT) {
		*error_r = "the vault is full";
		return -1;
	}
	if (e == NULL) {
		v->entries = sb_reallocarray(v->entries, v->count + 1,
		                             sizeof(*v->entries));
		e = &v->entries[v->count++];
		e->name = sb_memdupz(name, name_len);
	} else {
		sb_secure_free(&e->value);
	}
	/* One spare byte: sodium_malloc(0) is not a usable pointer. */
	e->value = sb_secure_alloc(len + 1);
	memcpy(e->value, value, len);
	e->len = len;
	v->plain_size = v->plain_size - shrink + grow;
	return 0;
}

int
sb_vault_set(struct sb_vault *v, const char *name, const void *value,
             size_t len, const char **error_r)
{
	return sb_vault_put(v, name, strlen(name), value, len, error_r);
}

bool
sb_vault_get(const struct sb_vault *v, const char *name,
             const unsigned char **value_r, size_t *len_r)
{
	const struct sb_vault_entry *e = sb_vault_find(v, name, strlen(name));

	if (e == NULL)
		return false;
	*value_r = e->value;
	*len_r = e->len;
	return true;
}

bool
sb_vault_remove(struct sb_vault *v, const char *name)
{
	struct sb_vault_entry *e = sb_vault_find(v, name, strlen(name));

	if (e == NULL)
		return false;
	v->plain_size -= 2 + strlen(e->name) + 4 + e->len;
	free(e->name);
	sb_secure_free(&e->value);
	*e = v->entries[--v->count];
	return true;
}

size_t
sb_vault_count(const struct sb_vault *v)
{
	return v->count;
}

const char *
sb_vault_name(const struct sb_vault *v, size_t i)
{
	return i < v->count ? v->entries[i].name : NULL;
}

int
sb_vault_encode(const struct sb_vault *v, const unsigned char key[SB_KEY_BYTES],
                struct sb_buf *out)
{
	unsigned char head[SB_VAULT_HEAD_BYTES], *plain, *ct, *p;
	size_t i, nlen;
	int ret;

	plain = sb_secure_alloc(v->plain_size + 1);
	for (i = 0, p = plain; i < v->count; i++) {
		nlen = strlen(v->entries[i].name);
		sb_put_u16(p, (uint16_t)nlen);
		memcpy(p + 2, v->entries[i].name, nlen);
		sb_put_u32(p + 2 + nlen, (uint32_t)v->entries[i].len);
		memcpy(p + 6 + nlen, v->entries[i].value, v->entries[i].len);
		p += 6 + nlen + v->entries[i].len;
	}
	memcpy(head, SB_MAGIC_VAULT, SB_MAGIC_BYTES);
	head[4] = SB_FORMAT_V1;
	randombytes_buf(head + 5, SB_AEAD_NONCE_BYTES);
	ct = sb_malloc(v->plain_size + SB_AEAD_TAG_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        ct, NULL, plain, v->plain_size, head, 5, NULL, head + 5, key);
	sb_secure_free(&plain);
	ret = sb_buf_add(out, head, sizeof(head)) != 0 ||
	                      sb_buf_add(out, ct,
	                                 v->plain_size + SB_AEAD_TAG_BYTES) != 0
	              ? -1
	              : 0;
	free(ct);
	return ret;
}

/* Decodes the entries of a vault's plaintext into v. */
static int SB_WUR
sb_vault_parse(struct sb_vault *v, const unsigned char *p, size_t len,
               const char **error_r)
{
	size_t nlen, vlen;

	while (len > 0) {
		if (len < 2 || (nlen = sb_get_u16(p)) > len - 2 ||
		    len - 2 - nlen < 4) {
			*error_r = "the vault's contents are malformed";
			return -1;
		}
		vlen = sb_get_u32(p + 2 + nlen);
		if (vlen > len - 6 - nlen) {
			*error_r = "the vault's contents are malformed";
			return -1;
		}
		if (sb_vault_find(v, (const char *)p + 2, nlen) != NULL) {
			*error_r = "the vault repeats an entry";
			return -1;
		}
		if (sb_vault_put(v, (const char *)p + 2, nlen, p + 6 + nlen,
		                 vlen, error_r) != 0)
			return -1;
		p += 6 + nlen + vlen;
		len -= 6 + nlen + vlen;
	}
	return 0;
}

int
sb_vault_decode(const unsigned char key[SB_KEY_BYTES], const void *in,
                size_t len, struct sb_vault **vault_r, const char **error_r)
{
	const unsigned char *p = in;
	unsigned char *plain;
	struct sb_vault *v;
	size_t plain_len;
	int ret;

	if (!sb_format_check(in, len, SB_MAGIC_VAULT)) {
		*error_r = "the file is not a vault of a known version";
		return -1;
	}
	if (len < SB_VAULT_HEAD_BYTES + SB_AEAD_TAG_BYTES ||
	    len > SB_VAULT_MAX_FILE) {
		*error_r = "the vault file has a bad length";
		return -1;
	}
	plain_len = len - SB_VAULT_HEAD_BYTES - SB_AEAD_TAG_BYTES;
	plain = sb_secure_alloc(plain_len + 1);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	            plain, NULL, NULL, p + SB_VAULT_HEAD_BYTES,
	            len - SB_VAULT_HEAD_BYTES, p, 5, p + 5, key) != 0) {
		sb_secure_free(&plain);
		*error_r = "the vault does not open with its key (wrong key "
		           "file, or the vault is damaged)";
		return -1;
	}
	v = sb_vault_new_empty();
	ret = sb_vault_parse(v, plain, plain_len, error_r);
	sb_secure_free(&plain);
	if (ret != 0) {
		sb_vault_free(&v);
		return -1;
	}
	*vault_r = v;
	return 0;
}
