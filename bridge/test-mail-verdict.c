/*
 * The signature header and the cache value of bridge/mail-verdict.c on a
 * replica made here, with a key lookup the test answers: the header of
 * each verdict, the same bytes in the header section and the message,
 * the verdict fixed once (no second lookup, a failed lookup then does
 * not matter), a failed lookup before that refusing the message, no
 * header for unsigned mail and for the account's own, and other records
 * added beside the verdict without changing it.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/mail.h"
#include "crypto/seal.h"
#include "test.h"

#define ALICE "alice@example.org"
#define BOB   "bob@example.org"

static struct {
	struct store *st;
	int64_t account, inbox;
	struct bridge_mail_keys bob;
	unsigned char alice_pk[SB_KEY_BYTES], alice_sk[SB_SIGN_SECRET_BYTES];
	/* The lookup's answer (1, 0, -1) and how often it was asked. */
	int answer;
	unsigned lookups;
} t;

static int
lookup(void *ctx, const char *email, unsigned char sign_pk[SB_KEY_BYTES],
       const char **error_r)
{
	(void)ctx;
	t.lookups++;
	if (t.answer < 0) {
		*error_r = "the service is away";
		return -1;
	}
	TEST_EQ_STR(email, ALICE);
	memcpy(sign_pk, t.alice_pk, SB_KEY_BYTES);
	return t.answer;
}

static int
sink(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

/* A message sealed (signed by sign_sk for its addresses) into INBOX. */
static int64_t
deliver(const char *text, const unsigned char *sign_sk, const char *owner)
{
	unsigned char packet[SB_KEY_PACKET_BYTES];
	struct store_body_writer *w;
	struct store_message m = {0};
	struct sb_signer signer = {sign_sk, &owner, 1};
	struct sb_sealer *s;
	struct sb_sealed sealed;
	struct sb_buf stream;
	const char *error;
	int64_t id;

	sb_buf_init(&stream, SIZE_MAX);
	TEST_EQ_INT(sb_sealer_new(sink, &stream, &s), 0);
	TEST_EQ_INT(sb_sealer_write(s, text, strlen(text)), 0);
	TEST_EQ_INT(sb_sealer_finish(&s, sign_sk != NULL ? &signer : NULL,
	                             &sealed, &error),
	            0);
	TEST_EQ_INT(
	        sb_key_packet_seal(sealed.key, t.bob.enc_pk, packet, &error),
	        0);
	m.account_id = t.account;
	m.remote_id = NULL;
	m.size = stream.len;
	m.received_at = 1700000000;
	m.summary = sealed.summary.data;
	m.summary_len = sealed.summary.len;
	m.key_packet = packet;
	m.key_packet_len = sizeof(packet);
	m.keywords = (char *)"";
	TEST_EQ_INT(store_message_add(t.st, &m, &t.inbox, 1, &id, &error), 0);
	TEST_EQ_INT(store_body_write_begin(t.st, id, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, stream.data, stream.len, &error),
	            0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	sb_sealed_clear(&sealed);
	sb_buf_free(&stream);
	return id;
}

/*
 * The message as served: the header section and size, and the whole
 * message, which must agree; 0 with the field prepended to text put
 * into field_r (may be empty), or -1 when it is refused.
 */
static int
served(int64_t id, const char *text, struct sb_buf *field_r)
{
	struct sb_buf headers, whole;
	const char *error;
	uint64_t size;
	size_t hlen, flen;

	sb_buf_init(&headers, SIZE_MAX);
	sb_buf_init(&whole, SIZE_MAX);
	if (bridge_mail_headers(&t.bob, t.st, id, lookup, NULL, &headers, &size,
	                        &error) < 0) {
		TEST_EQ_UINT(headers.len, 0);
		TEST_EQ_INT(bridge_mail_message(&t.bob, t.st, id, lookup, NULL,
		                                &whole, &error),
		            -1);
		TEST_EQ_UINT(whole.len, 0);
		sb_buf_free(&headers);
		return -1;
	}
	TEST_EQ_INT(bridge_mail_message(&t.bob, t.st, id, lookup, NULL, &whole,
	                                &error),
	            1);
	TEST_EQ_UINT(size, whole.len);
	TEST_ASSERT(headers.len <= whole.len);
	TEST_EQ_MEM(headers.data, headers.len, whole.data, headers.len);
	hlen = bridge_mail_header_end(text, strlen(text));
	TEST_ASSERT(headers.len >= hlen);
	flen = headers.len - hlen;
	TEST_EQ_MEM(whole.data + flen, whole.len - flen, text, strlen(text));
	sb_buf_reset(field_r);
	if (flen > 0)
		TEST_EQ_INT(sb_buf_add(field_r, whole.data, flen), 0);
	sb_buf_free(&headers);
	sb_buf_free(&whole);
	return 0;
}

#define FROM_ALICE                            \
	"From: Alice <" ALICE ">\r\nTo: " BOB \
	"\r\nSubject: hi\r\n\r\nHello.\r\n"

static void
test_valid_fixed(void)
{
	struct sb_buf f;
	int64_t id = deliver(FROM_ALICE, t.alice_sk, ALICE);

	sb_buf_init(&f, SIZE_MAX);
	t.answer = 1;
	t.lookups = 0;
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_STR(sb_buf_str(&f), "X-Saltbridge-Signature: valid; "
	                            "signer=" ALICE "\r\n");
	TEST_EQ_UINT(t.lookups, 1);
	/* Fixed: no second lookup, and a lookup failing changes nothing. */
	t.answer = -1;
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_STR(sb_buf_str(&f), "X-Saltbridge-Signature: valid; "
	                            "signer=" ALICE "\r\n");
	TEST_EQ_UINT(t.lookups, 1);
	sb_buf_free(&f);
}

static void
test_lookup_fails_then_unknown(void)
{
	struct sb_buf f;
	int64_t id = deliver(FROM_ALICE, t.alice_sk, ALICE);

	sb_buf_init(&f, SIZE_MAX);
	t.answer = -1;
	TEST_EQ_INT(served(id, FROM_ALICE, &f), -1);
	TEST_EQ_INT(served(id, FROM_ALICE, &f), -1);
	/* "No key" is definite: fixed as such. */
	t.answer = 0;
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_STR(sb_buf_str(&f), "X-Saltbridge-Signature: "
	                            "signer-key-unknown; signer=" ALICE "\r\n");
	t.answer = 1;
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_STR(sb_buf_str(&f), "X-Saltbridge-Signature: "
	                            "signer-key-unknown; signer=" ALICE "\r\n");
	sb_buf_free(&f);
}

static void
test_other_verdicts(void)
{
	static const char bcc[] = "From: " ALICE "\r\nTo: carol@example.org"
	                          "\r\n\r\nHi.\r\n";
	unsigned char pk[SB_KEY_BYTES], sk[SB_SIGN_SECRET_BYTES];
	struct sb_buf f;
	int64_t id;

	sb_buf_init(&f, SIZE_MAX);
	t.answer = 1;
	id = deliver(bcc, t.alice_sk, ALICE);
	TEST_EQ_INT(served(id, bcc, &f), 0);
	TEST_EQ_STR(sb_buf_str(&f),
	            "X-Saltbridge-Signature: valid; signer=" ALICE
	            "; recipient=unlisted\r\n");
	/* Alice's address signed with another key. */
	crypto_sign_keypair(pk, sk);
	id = deliver(FROM_ALICE, sk, ALICE);
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_STR(sb_buf_str(&f),
	            "X-Saltbridge-Signature: invalid; signer=" ALICE
	            "; reason=\"the message is signed by another key than "
	            "the sender's\"\r\n");
	sb_buf_free(&f);
}

static void
test_no_header(void)
{
	static const char own[] =
	        "From: " BOB "\r\nTo: " ALICE "\r\n\r\nHi.\r\n";
	struct sb_buf f;
	int64_t id;

	sb_buf_init(&f, SIZE_MAX);
	t.answer = -1; /* never asked */
	t.lookups = 0;
	id = deliver(FROM_ALICE, NULL, NULL);
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_UINT(f.len, 0);
	id = deliver(own, t.bob.sign_sk, BOB);
	TEST_EQ_INT(served(id, own, &f), 0);
	TEST_EQ_UINT(f.len, 0);
	TEST_EQ_UINT(t.lookups, 0);
	sb_buf_free(&f);
}

static void
test_records_beside(void)
{
	struct sb_cache_record rec = {SB_CACHE_BODYSTRUCTURE,
	                              (const unsigned char *)"(\"TEXT\")", 8};
	struct bridge_mail_cache c;
	const char *error;
	struct sb_buf f;
	int64_t id = deliver(FROM_ALICE, t.alice_sk, ALICE);

	sb_buf_init(&f, SIZE_MAX);
	bridge_mail_cache_init(&c);
	/* Structure first, the verdict after: both kept. */
	TEST_EQ_INT(
	        bridge_mail_cache_add(&t.bob, t.st, id, &rec, 1, &c, &error),
	        0);
	t.answer = 1;
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_INT(bridge_mail_cache_load(&t.bob, t.st, id, &c, &error), 1);
	TEST_EQ_UINT(c.rs.count, 2);
	TEST_ASSERT(sb_cache_records_find(&c.rs, SB_CACHE_VERDICT) != NULL);
	/* A second structure is not taken: the first stays. */
	rec.value = (const unsigned char *)"(\"X\")";
	rec.len = 5;
	TEST_EQ_INT(
	        bridge_mail_cache_add(&t.bob, t.st, id, &rec, 1, &c, &error),
	        0);
	TEST_EQ_MEM(sb_cache_records_find(&c.rs, SB_CACHE_BODYSTRUCTURE)->value,
	            8, "(\"TEXT\")", 8);
	/* A damaged value reads as none (logged) and is made again. */
	TEST_EQ_INT(store_message_cache_set(t.st, id, "SBCE\x01garbage", 12,
	                                    &error),
	            0);
	TEST_EQ_INT(bridge_mail_cache_load(&t.bob, t.st, id, &c, &error), 0);
	TEST_EQ_INT(served(id, FROM_ALICE, &f), 0);
	TEST_EQ_INT(bridge_mail_cache_load(&t.bob, t.st, id, &c, &error), 1);
	bridge_mail_cache_free(&c);
	sb_buf_free(&f);
}

static void
setup(void)
{
	static char *addresses[] = {(char *)BOB};
	char path[512];
	const char *error;

	snprintf(path, sizeof(path), "%s/replica.db", test_tmpdir());
	if (store_open(path, NULL, &t.st, &error) < 0 ||
	    store_account_add(t.st, "acc1", BOB, &t.account, &error) < 0 ||
	    store_mailbox_create(t.st, t.account, 0, "INBOX", &t.inbox,
	                         &error) < 0) {
		fprintf(stderr, "setup: %s\n", error);
		exit(1);
	}
	t.bob.enc_sk = sb_secure_alloc(SB_KEY_BYTES);
	crypto_box_keypair(t.bob.enc_pk, t.bob.enc_sk);
	t.bob.sign_sk = sb_secure_alloc(SB_SIGN_SECRET_BYTES);
	crypto_sign_keypair(t.bob.sign_pk, t.bob.sign_sk);
	t.bob.cache_key = sb_secure_alloc(SB_KEY_BYTES);
	randombytes_buf(t.bob.cache_key, SB_KEY_BYTES);
	t.bob.addresses = addresses;
	t.bob.n_addresses = 1;
	crypto_sign_keypair(t.alice_pk, t.alice_sk);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"valid, fixed", test_valid_fixed},
	        {"lookup fails, then unknown", test_lookup_fails_then_unknown},
	        {"other verdicts", test_other_verdicts},
	        {"no header", test_no_header},
	        {"records beside", test_records_beside},
	        {NULL, NULL},
	};
	int ret;

	if (sb_crypto_init() != 0)
		return 1;
	setup();
	ret = test_run(cases);
	store_close(&t.st);
	sb_secure_free(&t.bob.enc_sk);
	sb_secure_free(&t.bob.sign_sk);
	sb_secure_free(&t.bob.cache_key);
	return ret;
}
