/*
 * saltbridge demo's pieces that need no process: its state file (read
 * back as written, mode 0600, every malformed line refused) and its
 * sample messages (CRLF only, dated, the attachment's base64 decoding
 * to the file). The demo as a whole runs in tests/demo/test_demo.py.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bridge/demo-private.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "test.h"

static void
state_password(struct demo_state *st, size_t i, const char *pw)
{
	st->passwords[i] = sb_secure_alloc(DEMO_PASSWORD_MAX + 1);
	snprintf(st->passwords[i], DEMO_PASSWORD_MAX + 1, "%s", pw);
}

static void
test_state_round_trip(void)
{
	struct demo_state st, back;
	const char *error;
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/demo.state", test_tmpdir());
	TEST_EQ_INT(demo_state_load(path, &back, &error), 0);
	TEST_ASSERT(back.passwords[0] == NULL && back.samples == 0);

	memset(&st, 0, sizeof(st));
	state_password(&st, 0, "abcd-efgh-ijkl-mnop-qrst-uvwx");
	state_password(&st, 1, "2345-6722-aaaa-bbbb-cccc-dddd");
	st.service_port = 40123;
	st.samples = 3;
	TEST_EQ_INT(demo_state_save(path, &st, &error), 0);
	TEST_EQ_INT(stat(path, &sb), 0);
	TEST_EQ_UINT(sb.st_mode & 0777, 0600);
	TEST_EQ_INT(demo_state_load(path, &back, &error), 1);
	TEST_EQ_STR(back.passwords[0], st.passwords[0]);
	TEST_EQ_STR(back.passwords[1], st.passwords[1]);
	TEST_EQ_UINT(back.service_port, 40123);
	TEST_EQ_UINT(back.samples, 3);
	demo_state_clear(&back);
	TEST_ASSERT(back.passwords[0] == NULL);

	/* Without a port or one password. */
	sb_secure_free(&st.passwords[1]);
	st.service_port = 0;
	TEST_EQ_INT(demo_state_save(path, &st, &error), 0);
	TEST_EQ_INT(demo_state_load(path, &back, &error), 1);
	TEST_ASSERT(back.passwords[1] == NULL);
	TEST_EQ_UINT(back.service_port, 0);
	demo_state_clear(&back);
	demo_state_clear(&st);
}

static void
test_state_refused(void)
{
	static const char *const bad[] = {
	        "password alice@demo.test\n",
	        "password carol@demo.test pw\n",
	        "password alice@demo.test two words\n",
	        "password alice@demo.test a\npassword alice@demo.test b\n",
	        "service-port 65536\n",
	        "service-port -1\n",
	        "service-port\n",
	        "samples 1x\n",
	        "samples 99999999999\n",
	        "colour blue\n",
	        " samples 1\n",
	};
	static const char good[] = "# a comment\n\nsamples 5\n"
	                           "password bob@demo.test p\n";
	struct demo_state st;
	const char *error;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(bad); i++) {
		if (demo_state_parse(bad[i], strlen(bad[i]), &st, &error) != -1)
			test_fail(__FILE__, __LINE__, "taken: %s", bad[i]);
		TEST_ASSERT(st.passwords[0] == NULL);
	}
	TEST_EQ_INT(demo_state_parse("samples 1\0x", 11, &st, &error), -1);
	TEST_EQ_INT(demo_state_parse(good, strlen(good), &st, &error), 0);
	TEST_EQ_UINT(st.samples, 5);
	TEST_EQ_STR(st.passwords[1], "p");
	TEST_ASSERT(st.passwords[0] == NULL);
	demo_state_clear(&st);
	/* A line cut anywhere never reads past its end. */
	for (i = 0; i < strlen(good); i++) {
		if (demo_state_parse(good, i, &st, &error) == 0)
			demo_state_clear(&st);
	}
}

/* Whether every LF of b follows a CR, and every CR comes before a LF. */
static bool
crlf_only(const struct sb_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			return false;
		if (b->data[i] == '\r' &&
		    (i + 1 == b->len || b->data[i + 1] != '\n'))
			return false;
	}
	return true;
}

static void
test_samples(void)
{
	size_t i, attachments = 0, to_alice = 0, to_bob = 0;
	const char *p, *end;
	struct sb_buf msg, csv;
	struct sb_base64_decoder dec;

	TEST_ASSERT(demo_samples_count >= 3 && demo_samples_count <= 6);
	sb_buf_init(&msg, 64 * 1024);
	for (i = 0; i < demo_samples_count; i++) {
		if (i > 0)
			TEST_ASSERT(demo_samples[i].minutes_ago <=
			            demo_samples[i - 1].minutes_ago);
		to_alice += strcmp(demo_samples[i].to, "alice@demo.test") == 0;
		to_bob += strcmp(demo_samples[i].to, "bob@demo.test") == 0;
		sb_buf_reset(&msg);
		TEST_EQ_INT(demo_sample_build(&demo_samples[i], 1700000000,
		                              "0123456789abcdef", &msg),
		            0);
		TEST_ASSERT(crlf_only(&msg));
		TEST_ASSERT(strncmp(msg.data, "Date: ", 6) == 0);
		TEST_ASSERT(strstr(msg.data, "\r\nMessage-ID: <") != NULL);
		TEST_ASSERT(strstr(msg.data, ".0123456789abcdef@demo.test>") !=
		            NULL);
		TEST_ASSERT(strstr(msg.data, "\r\nSubject: ") != NULL);
		TEST_ASSERT(strstr(msg.data, "\r\n\r\n") != NULL);
		TEST_ASSERT(strstr(msg.data, "%ATTACHMENT%") == NULL);
		p = strstr(msg.data,
		           "Content-Transfer-Encoding: base64\r\n\r\n");
		if (p == NULL)
			continue;
		attachments++;
		p += strlen("Content-Transfer-Encoding: base64\r\n\r\n");
		end = strstr(p, "\r\n--");
		TEST_ASSERT(end != NULL);
		sb_buf_init(&csv, 4096);
		sb_base64_decoder_init(&dec, &csv);
		TEST_ASSERT(sb_base64_decoder_feed(&dec, p,
		                                   (size_t)(end - p)) >= 0);
		TEST_EQ_INT(sb_base64_decoder_finish(&dec), 0);
		TEST_EQ_UINT(dec.flags, 0);
		TEST_EQ_MEM(csv.data, csv.len, demo_attachment_csv,
		            strlen(demo_attachment_csv));
		sb_buf_free(&csv);
	}
	TEST_EQ_UINT(attachments, 1);
	TEST_ASSERT(to_alice >= 1 && to_bob >= 1);
	sb_buf_free(&msg);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"state_round_trip", test_state_round_trip},
	        {"state_refused", test_state_refused},
	        {"samples", test_samples},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
