/* Whole messages sealed and opened again, as a reader on the service would. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "test.h"

static int
sink_buf(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len) == 0 ? 0 : -1;
}

/* Takes the stream's header, then fails (a full disk, say). */
static int
sink_fail(void *ctx, const void *data, size_t len)
{
	size_t *taken = ctx;

	(void)data;
	if (*taken + len > SB_BODY_HEADER_BYTES)
		return -1;
	*taken += len;
	return 0;
}

static const char message[] =
        "From: Alice <Alice@Example.org>\r\n"
        "To: bob@example.org, \"Carol\" <carol@example.org>\r\n"
        "Cc: Bob <BOB@example.org>, undisclosed:;\r\n"
        "Subject: plans\r\n"
        "\r\n"
        "The body, with a line.\r\n";

/* Seals text written in pieces of `step` bytes (0: whole). */
static int
seal(const char *text, size_t len, size_t step, const struct sb_signer *signer,
     struct sb_buf *body, struct sb_sealed *out)
{
	struct sb_sealer *s;
	const char *error;
	size_t off, n;

	sb_buf_init(body, SIZE_MAX);
	TEST_EQ_INT(sb_sealer_new(sink_buf, body, &s), 0);
	for (off = 0; off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		TEST_EQ_INT(sb_sealer_write(s, text + off, n), 0);
	}
	return sb_sealer_finish(&s, signer, out, &error);
}

static void
test_signed_round_trip(void)
{
	static const char *const mine[] = {"alice@example.org"};
	struct sb_account_keys *keys;
	struct sb_signer signer;
	struct sb_sealed out;
	struct sb_summary *sum;
	struct sb_verdict v;
	struct sb_buf body, plain;
	struct sb_body_decryptor *dec;
	unsigned char packet[SB_KEY_PACKET_BYTES], key[SB_KEY_BYTES],
	        hash[SB_HASH_BYTES];
	const char *error;
	uint64_t size;
	size_t steps[] = {0, 1, 7}, i;

	TEST_EQ_INT(sb_account_keys_generate(&keys), 0);
	signer.sign_sk = keys->sign_sk;
	signer.addresses = mine;
	signer.n_addresses = 1;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		TEST_EQ_INT(seal(message, strlen(message), steps[i], &signer,
		                 &body, &out),
		            0);
		TEST_ASSERT(out.is_signed);
		TEST_EQ_UINT(out.size, strlen(message));
		TEST_EQ_UINT(body.len, sb_body_stream_size(out.size));
		TEST_EQ_INT(sb_key_packet_seal(out.key, keys->enc_pk, packet,
		                               &error),
		            0);

		/* The reader's side. */
		TEST_EQ_INT(sb_key_packet_open(packet, sizeof(packet),
		                               keys->enc_pk, keys->enc_sk, key,
		                               &error),
		            0);
		TEST_EQ_INT(sb_summary_open(key, out.summary.data,
		                            out.summary.len, &sum, &error),
		            0);
		TEST_EQ_STR(sum->sender, "alice@example.org");
		TEST_EQ_UINT(sum->n_recipients, 2);
		TEST_EQ_STR(sum->recipients[0], "bob@example.org");
		TEST_EQ_STR(sum->recipients[1], "carol@example.org");
		TEST_EQ_UINT(sum->headers_len,
		             strstr(message, "\r\n\r\n") + 4 - message);
		TEST_ASSERT(memcmp(sum->headers, message, sum->headers_len) ==
		            0);
		sb_buf_init(&plain, SIZE_MAX);
		dec = sb_body_decryptor_new(key, 1 << 20, sink_buf, &plain);
		TEST_EQ_INT(sb_body_decryptor_feed(dec, body.data, body.len,
		                                   &error),
		            0);
		TEST_EQ_INT(sb_body_decryptor_finish(&dec, &size, hash, &error),
		            0);
		TEST_EQ_UINT(plain.len, strlen(message));
		TEST_ASSERT(memcmp(plain.data, message, plain.len) == 0);
		sb_summary_verify(sum, hash, keys->sign_pk, "bob@example.org",
		                  &v);
		TEST_EQ_INT(v.status, SB_VERDICT_VALID);
		TEST_ASSERT(v.reader_listed);
		sb_summary_free(&sum);
		sb_buf_free(&plain);
		sb_buf_free(&body);
		sb_sealed_clear(&out);
	}
	sb_secure_free(&keys);
}

static void
test_not_the_signers(void)
{
	static const char *const mine[] = {"mallory@example.org"};
	struct sb_account_keys *keys;
	struct sb_signer signer;
	struct sb_sealed out;
	struct sb_summary *sum;
	struct sb_buf body;
	const char *error;

	TEST_EQ_INT(sb_account_keys_generate(&keys), 0);
	signer.sign_sk = keys->sign_sk;
	signer.addresses = mine;
	signer.n_addresses = 1;
	/* Another's From: sealed, but not signed in that name. */
	TEST_EQ_INT(seal(message, strlen(message), 0, &signer, &body, &out), 0);
	TEST_ASSERT(!out.is_signed);
	TEST_EQ_INT(sb_summary_open(out.key, out.summary.data, out.summary.len,
	                            &sum, &error),
	            0);
	TEST_ASSERT(!sum->is_signed);
	TEST_ASSERT(sum->sender == NULL);
	TEST_EQ_UINT(sum->n_recipients, 0);
	sb_summary_free(&sum);
	sb_buf_free(&body);
	sb_sealed_clear(&out);
	/* No signer: the same. */
	TEST_EQ_INT(seal(message, strlen(message), 0, NULL, &body, &out), 0);
	TEST_ASSERT(!out.is_signed);
	sb_buf_free(&body);
	sb_sealed_clear(&out);
	sb_secure_free(&keys);
}

static void
test_stream_sizes(void)
{
	uint64_t sizes[] = {0, 1, 65535, 65536, 65537, 131072, 200000};
	struct sb_sealed out;
	struct sb_buf body;
	char *text;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		text = calloc(1, sizes[i] + 1);
		memset(text, 'x', sizes[i]);
		TEST_EQ_INT(seal(text, sizes[i], 4096, NULL, &body, &out), 0);
		TEST_EQ_UINT(body.len, sb_body_stream_size(sizes[i]));
		TEST_EQ_UINT(out.size, sizes[i]);
		sb_buf_free(&body);
		sb_sealed_clear(&out);
		free(text);
	}
}

static void
test_long_headers_and_failures(void)
{
	size_t len = SB_SUMMARY_MAX_HEADERS + 100, i;
	struct sb_sealer *s;
	struct sb_sealed out;
	struct sb_summary *sum;
	struct sb_buf body;
	const char *error;
	char *text = malloc(len);
	size_t taken = 0;

	/* One header line longer than the record may be: left out. */
	memcpy(text, "X-Long: ", 8);
	for (i = 8; i < len - 4; i++)
		text[i] = 'a';
	memcpy(text + len - 4, "\r\n\r\n", 4);
	TEST_EQ_INT(seal(text, len, 65536, NULL, &body, &out), 0);
	TEST_EQ_INT(sb_summary_open(out.key, out.summary.data, out.summary.len,
	                            &sum, &error),
	            0);
	TEST_EQ_UINT(sum->headers_len, 0);
	TEST_EQ_UINT(sum->size, len);
	sb_summary_free(&sum);
	sb_buf_free(&body);
	sb_sealed_clear(&out);
	free(text);

	/* A sink that fails makes the sealer fail, never half-succeed. */
	TEST_EQ_INT(sb_sealer_new(sink_fail, &taken, &s), 0);
	/* The write may fail at once or at the end: finish must fail. */
	if (sb_sealer_write(s, message, strlen(message)) != 0)
		TEST_ASSERT(s != NULL);
	TEST_EQ_INT(sb_sealer_finish(&s, NULL, &out, &error), -1);
	TEST_ASSERT(s == NULL);
	TEST_ASSERT(out.key == NULL);
}

static void
test_header_addresses(void)
{
	static const char h[] =
	        "to: <x@example.org>\r\n"
	        "From: bad address, Real <Real@Example.ORG>\r\n"
	        "From: second@example.org\r\n"
	        "CC: list: a@example.org, b@example.org;, x@example.org\r\n"
	        "Bcc: hidden@example.org\r\n"
	        "\r\n"
	        "To: body@example.org\r\n";
	struct sb_header_addresses a;

	sb_header_addresses_get(h, strlen(h), &a);
	TEST_EQ_STR(a.from, "real@example.org");
	TEST_EQ_UINT(a.n_recipients, 3);
	TEST_EQ_STR(a.recipients[0], "a@example.org");
	TEST_EQ_STR(a.recipients[1], "b@example.org");
	TEST_EQ_STR(a.recipients[2], "x@example.org");
	sb_header_addresses_free(&a);
	sb_header_addresses_get("", 0, &a);
	TEST_ASSERT(a.from == NULL);
	TEST_EQ_UINT(a.n_recipients, 0);
}

static const struct test_case cases[] = {
        {"signed, written whole and in pieces, opened", test_signed_round_trip},
        {"not signed in another's name", test_not_the_signers},
        {"body stream sizes", test_stream_sizes},
        {"long headers; a failing sink", test_long_headers_and_failures},
        {"addresses of a header section", test_header_addresses},
        {NULL, NULL},
};

int
main(void)
{
	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
