/*
 * Fuzz target for the IMAP command parser. The first byte picks the
 * limits (the defaults, or small ones so that every limit is reached) and
 * how literals are answered; the second seeds the sizes of the pieces fed.
 * The rest is a client's stream. It is fed whole, one byte at a time and
 * in pseudo-random pieces; every command, partial command, FETCH and
 * STORE item list is parsed and freed, and the three transcripts
 * (test-parser-transcript.h) must be equal: any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "test-parser-transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_limits(uint8_t pick, struct imap_limits *limits)
{
	if ((pick & 0x3) == 0) {
		imap_limits_default(limits);
		return;
	}
	if ((pick & 0x3) == 1) {
		imap_limits_prelogin(limits);
		return;
	}
	/* Small, so that every limit is reached by short inputs. */
	limits->max_line = 8 + (pick >> 2) % 32;
	limits->max_command = limits->max_line * (1 + (pick >> 4) % 4);
	limits->max_literal = (pick >> 3) % (limits->max_command + 1);
	limits->max_literals = (pick >> 5) % 4;
	limits->max_discard = (pick >> 2) % 40;
	limits->max_values = 1 + (pick >> 3) % 16;
}

static void
fuzz_check(const struct sb_buf *want, const struct sb_buf *got, const char *how)
{
	if (want->len != got->len ||
	    (want->len > 0 && memcmp(want->data, got->data, want->len) != 0)) {
		fprintf(stderr,
		        "fuzz-parser: fed %s, the transcript differs\n"
		        "whole:\n%s\n%s:\n%s\n",
		        how, sb_buf_str(want), how, sb_buf_str(got));
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tp_policy policies[] = {TP_SESSION, TP_ALTERNATE,
	                                          TP_REJECT};
	struct imap_limits limits;
	enum tp_policy policy;
	struct sb_buf want, got;
	const char *in = (const char *)data + 2;
	size_t len, all, one = 1;
	uint32_t seed;

	if (size < 2)
		return 0;
	len = size - 2;
	all = len > 0 ? len : 1;
	fuzz_limits(data[0], &limits);
	policy = policies[(data[0] >> 6) % SB_N_ELEMENTS(policies)];

	sb_buf_init(&want, SIZE_MAX / 2);
	sb_buf_init(&got, SIZE_MAX / 2);
	tp_run(in, len, &limits, policy, tp_chunk_fixed, &all, &want);
	tp_run(in, len, &limits, policy, tp_chunk_fixed, &one, &got);
	fuzz_check(&want, &got, "one byte at a time");
	sb_buf_reset(&got);
	seed = data[1];
	tp_run(in, len, &limits, policy, tp_chunk_random, &seed, &got);
	fuzz_check(&want, &got, "in random pieces");
	sb_buf_free(&want);
	sb_buf_free(&got);
	return 0;
}
