/*
 * Message seal and open throughput, against raw XChaCha20-Poly1305 over the
 * same bytes in the same run. "seal" is what the send pipeline does for one
 * message: the body stream, a signed summary and a key packet; "open" is
 * what a reader does: the key packet, the summary, the body stream and the
 * verdict. The ratio is the overhead of the message format (chunking,
 * hashing, the signature) over the bare cipher: 1.0 is free.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common/buf.h"
#include "crypto/crypto.h"

struct job {
	unsigned char *plain;
	size_t len;
	unsigned char key[SB_KEY_BYTES];
	unsigned char enc_pk[32], enc_sk[32], sign_pk[32], sign_sk[64];
	struct sb_buf body, summary, opened;
	unsigned char packet[SB_KEY_PACKET_BYTES];
	unsigned char *aead; /* raw cipher output */
	unsigned char *aead_plain;
};

static int
sink(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

static void
seal_message(void *arg)
{
	static const char *const rcpts[] = {"bob@example.org"};
	struct job *j = arg;
	struct sb_body_encryptor *enc;
	struct sb_summary *s = sb_summary_new();
	unsigned char hash[SB_HASH_BYTES];
	const char *error;
	uint64_t size;

	sb_buf_reset(&j->body);
	sb_buf_reset(&j->summary);
	sb_message_key_new(j->key);
	if (sb_body_encryptor_new(j->key, sink, &j->body, &enc) != 0 ||
	    sb_body_encryptor_write(enc, j->plain, j->len) != 0 ||
	    sb_body_encryptor_finish(&enc, &size, hash) != 0)
		abort();
	s->size = size;
	memcpy(s->body_hash, hash, sizeof(hash));
	if (sb_summary_set_sender(s, "alice@example.org") != 0 ||
	    sb_summary_set_recipients(s, rcpts, 1) != 0 ||
	    sb_summary_set_headers(s, j->plain,
	                           j->len < 2048 ? j->len : 2048) != 0 ||
	    sb_summary_sign(s, j->sign_sk) != 0 ||
	    sb_summary_seal(s, j->key, &j->summary) != 0)
		abort();
	if (sb_key_packet_seal(j->key, j->enc_pk, j->packet, &error) != 0)
		abort();
	sb_summary_free(&s);
}

static void
open_message(void *arg)
{
	struct job *j = arg;
	unsigned char key[SB_KEY_BYTES], hash[SB_HASH_BYTES];
	struct sb_body_decryptor *dec;
	struct sb_summary *s;
	struct sb_verdict v;
	const char *error;
	uint64_t size;

	sb_buf_reset(&j->opened);
	if (sb_key_packet_open(j->packet, sizeof(j->packet), j->enc_pk,
	                       j->enc_sk, key, &error) != 0 ||
	    sb_summary_open(key, j->summary.data, j->summary.len, &s, &error) !=
	            0)
		abort();
	dec = sb_body_decryptor_new(key, j->len, sink, &j->opened);
	if (sb_body_decryptor_feed(dec, j->body.data, j->body.len, &error) !=
	            0 ||
	    sb_body_decryptor_finish(&dec, &size, hash, &error) != 0)
		abort();
	sb_summary_verify(s, hash, j->sign_pk, "bob@example.org", &v);
	if (v.status != SB_VERDICT_VALID || j->opened.len != j->len)
		abort();
	sb_summary_free(&s);
}

static void
raw_seal(void *arg)
{
	struct job *j = arg;
	unsigned char nonce[24] = {0};

	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        j->aead, NULL, j->plain, j->len, NULL, 0, NULL, nonce, j->key);
}

static void
raw_open(void *arg)
{
	struct job *j = arg;
	unsigned char nonce[24] = {0};

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	            j->aead_plain, NULL, NULL, j->aead, j->len + 16, NULL, 0,
	            nonce, j->key) != 0)
		abort();
}

static void
run(struct bench_report *r, const char *label, size_t len, int rounds)
{
	struct job j;
	double t_seal, t_open, t_raw_seal, t_raw_open, mb = len / 1e6;
	char name[64];

	memset(&j, 0, sizeof(j));
	j.len = len;
	j.plain = malloc(len);
	j.aead = malloc(len + 16);
	j.aead_plain = malloc(len);
	randombytes_buf(j.plain, len);
	crypto_box_keypair(j.enc_pk, j.enc_sk);
	crypto_sign_keypair(j.sign_pk, j.sign_sk);
	sb_buf_init(&j.body, len + len / 1000 + 4096);
	sb_buf_init(&j.summary, 1 << 20);
	sb_buf_init(&j.opened, len + 1);

	t_seal = bench_best_of(rounds, seal_message, &j);
	t_open = bench_best_of(rounds, open_message, &j);
	t_raw_seal = bench_best_of(rounds, raw_seal, &j);
	t_raw_open = bench_best_of(rounds, raw_open, &j);

	/* Throughput: the ratio below 1.0 is the format's overhead. */
	snprintf(name, sizeof(name), "seal_%s", label);
	bench_report_add(r, name, mb / t_seal, "MB/s", "raw_aead_encrypt",
	                 mb / t_raw_seal);
	snprintf(name, sizeof(name), "open_%s", label);
	bench_report_add(r, name, mb / t_open, "MB/s", "raw_aead_decrypt",
	                 mb / t_raw_open);
	sb_buf_free(&j.body);
	sb_buf_free(&j.summary);
	sb_buf_free(&j.opened);
	free(j.plain);
	free(j.aead);
	free(j.aead_plain);
}

int
main(int argc, char **argv)
{
	struct bench_report *r = bench_report_new(argc, argv);
	int quick = bench_report_quick(r);

	if (sb_crypto_init() != 0)
		return 1;
	/* --quick only checks that the program runs: tiny, and so named. */
	if (quick) {
		run(r, "50KB", 50 * 1000, 2);
		run(r, "1MB_quick", 1000 * 1000, 1);
	} else {
		run(r, "50KB", 50 * 1000, 200);
		run(r, "10MB", 10 * 1000 * 1000, 7);
	}
	return bench_report_finish(&r);
}
