#include <string.h>

#include "common/date.h"
#include "test.h"

/* 2003-07-01 08:52:37 UTC, the RFC 5322 example's moment. */
#define JUL_2003 1057049557LL
/* 2024-03-05 14:07:00 UTC. */
#define MAR_2024 1709647620LL

static void
expect_rfc(const char *in, long long t, int tz, bool known)
{
	struct sb_date d;
	const char *error = NULL;

	if (sb_date_parse_rfc5322(in, strlen(in), &d, &error) != 0)
		test_fail(__FILE__, __LINE__, "\"%s\": %s", in, error);
	TEST_EQ_INT(d.time, t);
	TEST_EQ_INT(d.tz_offset, tz);
	TEST_EQ_INT(d.tz_known, known);
}

static void
expect_rfc_bad(const char *in)
{
	struct sb_date d;
	const char *error = NULL;

	if (sb_date_parse_rfc5322(in, strlen(in), &d, &error) == 0)
		test_fail(__FILE__, __LINE__, "\"%s\" was accepted", in);
	TEST_ASSERT(error != NULL);
}

static void
test_rfc5322_forms(void)
{
	expect_rfc("Tue, 1 Jul 2003 10:52:37 +0200", JUL_2003, 120, true);
	expect_rfc("1 Jul 2003 10:52:37 +0200", JUL_2003, 120, true);
	expect_rfc("Tue,  1 Jul 2003 10:52:37 +0200 (CEST)", JUL_2003, 120,
	           true);
	expect_rfc("  Tue , 01 jul 2003   10:52:37\t+0200  ", JUL_2003, 120,
	           true);
	expect_rfc("TUESDAY, 1 JULY 2003 10:52:37 +0200", JUL_2003, 120, true);
	expect_rfc("Tue, 1 Jul 2003 08:52:37 +0000", JUL_2003, 0, true);
	expect_rfc("Tue, 1 Jul 2003 10:52:37 +0200 trailing words", JUL_2003,
	           120, true);
	expect_rfc("Fri, 21 Nov 1997 09:55:06 -0600", 880127706, -360, true);
	/* RFC 5322 A.5 and A.6.3: folding and comments everywhere. */
	expect_rfc("Thu,\r\n 13\r\n   Feb\r\n     1969\r\n  23:32\r\n    "
	           "-0330 (Newfoundland Time)",
	           -27723480, -210, true);
	expect_rfc("(day) Thu, (d)13 (m)Feb (y)1969 (t)23:32 (z)-0330",
	           -27723480, -210, true);
	/* Missing seconds. */
	expect_rfc("5 Mar 2024 14:07 +0000", MAR_2024, 0, true);
	/* Real-world variants: dashes, ctime order, "Sept". */
	expect_rfc("1-Jul-2003 10:52:37 +0200", JUL_2003, 120, true);
	expect_rfc("Tue Jul  1 10:52:37 2003", JUL_2003 + 7200, 0, false);
	expect_rfc("Tue Jul 1 10:52:37 +0200 2003", JUL_2003, 120, true);
	expect_rfc("1 Sept 2003 00:00:00 +0000", 1062374400, 0, true);
	/* Leap day and leap second. */
	expect_rfc("29 Feb 2000 12:00:00 +0000", 951825600, 0, true);
	expect_rfc("31 Dec 2016 23:59:60 +0000", 1483228800, 0, true);
	expect_rfc("1 Jan 1900 00:00:00 +0000", -2208988800LL, 0, true);
	expect_rfc("31 Dec 9999 23:59:59 +0000", 253402300799LL, 0, true);
}

static void
test_rfc5322_obsolete(void)
{
	/* 2- and 3-digit years (RFC 5322 4.3). */
	expect_rfc("21 Nov 97 09:55:06 GMT", 880106106, 0, true);
	expect_rfc("Tue, 1 Jul 03 10:52:37 +0200", JUL_2003, 120, true);
	expect_rfc("Tue, 1 Jul 103 10:52:37 +0200", JUL_2003, 120, true);
	expect_rfc("1 Jan 49 00:00 +0000", 2493072000LL, 0, true);
	expect_rfc("1 Jan 50 00:00 +0000", -631152000LL, 0, true);
	/* Zone names. */
	expect_rfc("5 Mar 2024 14:07 UT", MAR_2024, 0, true);
	expect_rfc("5 Mar 2024 14:07 GMT", MAR_2024, 0, true);
	expect_rfc("5 Mar 2024 14:07 utc", MAR_2024, 0, true);
	expect_rfc("5 Mar 2024 14:07 EST", MAR_2024 + 5 * 3600, -300, true);
	expect_rfc("5 Mar 2024 14:07 EDT", MAR_2024 + 4 * 3600, -240, true);
	expect_rfc("5 Mar 2024 14:07 CST", MAR_2024 + 6 * 3600, -360, true);
	expect_rfc("5 Mar 2024 14:07 CDT", MAR_2024 + 5 * 3600, -300, true);
	expect_rfc("5 Mar 2024 14:07 MST", MAR_2024 + 7 * 3600, -420, true);
	expect_rfc("5 Mar 2024 14:07 MDT", MAR_2024 + 6 * 3600, -360, true);
	expect_rfc("5 Mar 2024 14:07 PST", MAR_2024 + 8 * 3600, -480, true);
	expect_rfc("5 Mar 2024 14:07 PDT", MAR_2024 + 7 * 3600, -420, true);
	expect_rfc("5 Mar 2024 14:07:00 GMT+0200", MAR_2024 - 7200, 120, true);
	/* Military letters, unknown names, "-0000", none: unknown. */
	expect_rfc("5 Mar 2024 14:07 Z", MAR_2024, 0, false);
	expect_rfc("5 Mar 2024 14:07 A", MAR_2024, 0, false);
	expect_rfc("5 Mar 2024 14:07 CEST", MAR_2024, 0, false);
	expect_rfc("5 Mar 2024 14:07 -0000", MAR_2024, 0, false);
	expect_rfc("5 Mar 2024 14:07", MAR_2024, 0, false);
	expect_rfc("5 Mar 2024 14:07 (no zone)", MAR_2024, 0, false);
}

static void
test_rfc5322_rejects(void)
{
	expect_rfc_bad("");
	expect_rfc_bad("garbage");
	expect_rfc_bad("30 Feb 2003 10:00 +0000");
	expect_rfc_bad("29 Feb 2001 10:00 +0000");
	expect_rfc_bad("29 Feb 1900 10:00 +0000");
	expect_rfc_bad("31 Apr 2003 10:00 +0000");
	expect_rfc_bad("32 Jan 2003 10:00 +0000");
	expect_rfc_bad("0 Jan 2003 10:00 +0000");
	expect_rfc_bad("1 Foo 2003 10:00 +0000");
	expect_rfc_bad("Foo, 1 Jul 2003 10:00 +0000");
	expect_rfc_bad("1 Jul 2003 24:00 +0000");
	expect_rfc_bad("1 Jul 2003 10:60 +0000");
	expect_rfc_bad("1 Jul 2003 10:00:61 +0000");
	expect_rfc_bad("1 Jul 2003 10:5 +0000");
	expect_rfc_bad("1 Jul 2003 100:00 +0000");
	expect_rfc_bad("1 Jul 1899 10:00 +0000");
	expect_rfc_bad("1 Jul 10000 10:00 +0000");
	expect_rfc_bad("1 Jul 2003");
	expect_rfc_bad("1 Jul 2003 10:52:37 +0260");
	expect_rfc_bad("1 Jul 2003 10:52:37 +9960");
	expect_rfc_bad("1 Jul 2003 10:52:37 -2460");
	expect_rfc_bad("1 Jul 2003 10:52:37 +02");
	expect_rfc_bad("1 Jul 2003 10:52:37 +020000");
	expect_rfc_bad("1 Jul 2003 10:52:37 Abcdefghijklmnopqrstu");
	expect_rfc_bad("(((((((((((((((((((( 1 Jul 2003 10:52 +0000");
	expect_rfc_bad("Tue, 1 Jul 99999999999999999999 10:52 +0000");
}

static void
expect_imap(const char *in, long long t, int tz)
{
	struct sb_date d;
	const char *error = NULL;

	if (sb_date_parse_imap_datetime(in, strlen(in), &d, &error) != 0)
		test_fail(__FILE__, __LINE__, "\"%s\": %s", in, error);
	TEST_EQ_INT(d.time, t);
	TEST_EQ_INT(d.tz_offset, tz);
	TEST_ASSERT(d.tz_known);
}

static void
expect_imap_bad(const char *in)
{
	struct sb_date d;
	const char *error = NULL;

	if (sb_date_parse_imap_datetime(in, strlen(in), &d, &error) == 0)
		test_fail(__FILE__, __LINE__, "\"%s\" was accepted", in);
}

static void
test_imap_datetime(void)
{
	expect_imap("01-Jul-2003 10:52:37 +0200", JUL_2003, 120);
	expect_imap(" 1-Jul-2003 10:52:37 +0200", JUL_2003, 120);
	expect_imap("1-Jul-2003 10:52:37 +0200", JUL_2003, 120);
	expect_imap("01-jul-2003 10:52:37 -1400", JUL_2003 + 16 * 3600, -840);
	expect_imap("05-Mar-2024 14:07:00 -0000", MAR_2024, 0);
	expect_imap_bad("01-Jul-2003 10:52:37");
	expect_imap_bad("01-Jul-03 10:52:37 +0200");
	expect_imap_bad("01-Jul-2003 10:52 +0200");
	expect_imap_bad("31-Feb-2003 10:52:37 +0200");
	expect_imap_bad("01-Jul-2003 10:52:37 +0200 ");
	expect_imap_bad("01/Jul/2003 10:52:37 +0200");
	expect_imap_bad("001-Jul-2003 10:52:37 +0200");
	expect_imap_bad("01-July-2003 10:52:37 +0200");
	expect_imap_bad("01-Jul-2003 10:52:37 GMT");
	expect_imap_bad("01-Jul-2003  10:52:37 +0200");
	expect_imap_bad("");
}

static void
test_imap_date(void)
{
	const char *error = NULL;
	time_t t = 1;

	TEST_EQ_INT(sb_date_parse_imap_date("1-Jul-2003", 10, &t, &error), 0);
	TEST_EQ_INT(t, 1057017600);
	TEST_EQ_INT(sb_date_parse_imap_date("01-JUL-2003", 11, &t, &error), 0);
	TEST_EQ_INT(t, 1057017600);
	TEST_EQ_INT(sb_date_parse_imap_date("1-Jan-1970", 10, &t, &error), 0);
	TEST_EQ_INT(t, 0);
	TEST_EQ_INT(sb_date_parse_imap_date("1-Jul-2003 ", 11, &t, &error), -1);
	TEST_EQ_INT(sb_date_parse_imap_date("1-July-2003", 11, &t, &error), -1);
	TEST_EQ_INT(sb_date_parse_imap_date("32-Jan-2003", 11, &t, &error), -1);
	TEST_EQ_INT(sb_date_parse_imap_date("1-Jul-03", 8, &t, &error), -1);
	TEST_EQ_INT(sb_date_parse_imap_date(" 1-Jul-2003", 11, &t, &error), -1);
}

static void
test_format(void)
{
	char r[SB_DATE_RFC5322_SIZE], i[SB_DATE_IMAP_SIZE];

	TEST_EQ_INT(sb_date_format_rfc5322(JUL_2003, 120, r), 0);
	TEST_EQ_STR(r, "Tue, 1 Jul 2003 10:52:37 +0200");
	TEST_EQ_INT(sb_date_format_rfc5322(JUL_2003, -210, r), 0);
	TEST_EQ_STR(r, "Tue, 1 Jul 2003 05:22:37 -0330");
	TEST_EQ_INT(sb_date_format_rfc5322(0, 0, r), 0);
	TEST_EQ_STR(r, "Thu, 1 Jan 1970 00:00:00 +0000");
	TEST_EQ_INT(sb_date_format_rfc5322(253402300799LL, 0, r), 0);
	TEST_EQ_STR(r, "Fri, 31 Dec 9999 23:59:59 +0000");
	TEST_EQ_INT(sb_date_format_imap(JUL_2003, 120, i), 0);
	TEST_EQ_STR(i, "01-Jul-2003 10:52:37 +0200");
	TEST_EQ_INT(sb_date_format_imap(MAR_2024, -480, i), 0);
	TEST_EQ_STR(i, "05-Mar-2024 06:07:00 -0800");
	TEST_EQ_INT(sb_date_format_imap(-2208988800LL, 0, i), 0);
	TEST_EQ_STR(i, "01-Jan-1900 00:00:00 +0000");
	/* Out of range. */
	TEST_EQ_INT(sb_date_format_imap(253402300800LL, 0, i), -1);
	TEST_EQ_INT(sb_date_format_rfc5322(0, 100 * 60, r), -1);
	TEST_EQ_INT(sb_date_format_rfc5322((time_t)1 << 62, 0, r), -1);
	TEST_EQ_INT(sb_date_format_imap(-2208988800LL, -60, i), -1);
}

/* What is formatted parses back to the same moment and zone. */
static void
test_format_roundtrip(void)
{
	static const long long times[] = {0,         JUL_2003,
	                                  MAR_2024,  -2208988800LL,
	                                  951825600, 253402300799LL};
	static const int zones[] = {0,   120,  -210, -840, 840,
	                            345, 1440, 5999, -5999};
	char r[SB_DATE_RFC5322_SIZE], i[SB_DATE_IMAP_SIZE];
	const char *error;
	struct sb_date d;
	size_t a, b;

	for (a = 0; a < SB_N_ELEMENTS(times); a++) {
		for (b = 0; b < SB_N_ELEMENTS(zones); b++) {
			if (sb_date_format_rfc5322(times[a], zones[b], r) != 0)
				continue; /* outside 1900..9999 there */
			TEST_EQ_INT(
			        sb_date_parse_rfc5322(r, strlen(r), &d, &error),
			        0);
			TEST_EQ_INT(d.time, times[a]);
			TEST_EQ_INT(d.tz_offset, zones[b]);
			TEST_EQ_INT(sb_date_format_imap(times[a], zones[b], i),
			            0);
			TEST_EQ_INT(sb_date_parse_imap_datetime(i, strlen(i),
			                                        &d, &error),
			            0);
			TEST_EQ_INT(d.time, times[a]);
			TEST_EQ_INT(d.tz_offset, zones[b]);
		}
	}
}

/* RFC 5322 zones: hours up to 99, as the formatter writes them. */
static void
test_wide_zones(void)
{
	expect_rfc("Tue, 1 Jul 2003 10:52:37 +2400", JUL_2003 + 7200 - 86400,
	           1440, true);
	expect_rfc("1 Jul 2003 10:52:37 +9959", JUL_2003 + 7200 - 5999 * 60,
	           5999, true);
	expect_rfc("1 Jul 2003 10:52:37 -9959", JUL_2003 + 7200 + 5999 * 60,
	           -5999, true);
	expect_rfc("1 Jan 1900 00:00 +9959", -2208988800LL - 5999 * 60, 5999,
	           true);
	expect_imap("01-Jul-2003 10:52:37 +5959", JUL_2003 + 7200 - 3599 * 60,
	            3599);
	expect_imap_bad("01-Jul-2003 10:52:37 +0960");
}

/* Every offset the formatter accepts parses back. */
static void
test_format_roundtrip_all_zones(void)
{
	char r[SB_DATE_RFC5322_SIZE], i[SB_DATE_IMAP_SIZE];
	const char *error;
	struct sb_date d;
	int z;

	for (z = -(99 * 60 + 59); z <= 99 * 60 + 59; z++) {
		TEST_EQ_INT(sb_date_format_rfc5322(MAR_2024, z, r), 0);
		TEST_EQ_INT(sb_date_parse_rfc5322(r, strlen(r), &d, &error), 0);
		TEST_EQ_INT(d.time, MAR_2024);
		TEST_EQ_INT(d.tz_offset, z);
		TEST_EQ_INT(sb_date_format_imap(MAR_2024, z, i), 0);
		TEST_EQ_INT(
		        sb_date_parse_imap_datetime(i, strlen(i), &d, &error),
		        0);
		TEST_EQ_INT(d.time, MAR_2024);
		TEST_EQ_INT(d.tz_offset, z);
	}
	TEST_EQ_INT(sb_date_format_rfc5322(MAR_2024, 99 * 60 + 60, r), -1);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"RFC 5322 forms", test_rfc5322_forms},
	        {"RFC 5322 obsolete forms", test_rfc5322_obsolete},
	        {"RFC 5322 rejects", test_rfc5322_rejects},
	        {"IMAP date-time", test_imap_datetime},
	        {"IMAP date", test_imap_date},
	        {"format", test_format},
	        {"format round trip", test_format_roundtrip},
	        {"wide zones", test_wide_zones},
	        {"round trip of every zone", test_format_roundtrip_all_zones},
	        {NULL, NULL},
	};
	return test_run(cases);
}
