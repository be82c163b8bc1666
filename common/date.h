/*
 * Dates: RFC 5322 date-time (with the obsolete forms of section 4.3 and
 * common real-world variants) and IMAP's date and date-time (RFC 3501),
 * parsed to a UTC time_t and the zone offset as written, and formatted.
 */
#ifndef SB_DATE_H
#define SB_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "compiler.h"

struct sb_date {
	time_t time;   /* seconds since the epoch, UTC */
	int tz_offset; /* minutes east of UTC as written: +0200 is 120 */
	bool tz_known; /* false for "-0000", military letters, no zone */
};

/*
 * Parses an RFC 5322 date-time such as "Tue, 1 Jul 2003 10:52:37 +0200".
 * Accepted too: no day of week, full day and month names of any case,
 * 2- and 3-digit years (RFC 5322 4.3), no seconds, obsolete zones (UT,
 * GMT, EST ... PDT; military letters and unknown names count as unknown),
 * "UTC", a missing zone, comments such as "(CEST)", extra whitespace,
 * '-' between the date's parts, and ctime's "Tue Jul  1 10:52:37 2003".
 * Numeric zones take any hours and minutes 0..59 (RFC 5322: up to
 * +-9959), so whatever sb_date_format_* writes parses back.
 * Impossible dates (Feb 30) and values out of range are refused. Returns
 * 0, or -1 with *error_r set.
 */
int sb_date_parse_rfc5322(const char *in, size_t len, struct sb_date *date_r,
                          const char **error_r) SB_WUR;

/*
 * Parses an IMAP date-time "01-Jul-2003 10:52:37 +0200" (without its
 * quotes; the day may be " 1" or "1"), as APPEND gives it. 0 or -1.
 */
int sb_date_parse_imap_datetime(const char *in, size_t len,
                                struct sb_date *date_r,
                                const char **error_r) SB_WUR;

/*
 * Parses an IMAP date "1-Jul-2003" (SEARCH BEFORE/ON/SINCE) to the start
 * of that day in UTC; the caller shifts it to the zone it wants. 0 or -1.
 */
int sb_date_parse_imap_date(const char *in, size_t len, time_t *time_r,
                            const char **error_r) SB_WUR;

/* "Tue, 01 Jul 2003 10:52:37 +0200" with its NUL fits. */
#define SB_DATE_RFC5322_SIZE 32
/* "01-Jul-2003 10:52:37 +0200" with its NUL fits. */
#define SB_DATE_IMAP_SIZE 27

/*
 * Writes t as seen in the zone tz_offset minutes east of UTC (at most
 * +-99:59), as "Tue, 1 Jul 2003 10:52:37 +0200". Returns 0, or -1 when
 * the local year is outside 1900..9999 (what the parsers accept) or the
 * offset is out of range.
 */
int sb_date_format_rfc5322(time_t t, int tz_offset,
                           char out[SB_DATE_RFC5322_SIZE]) SB_WUR;
/* Likewise as an IMAP date-time "01-Jul-2003 10:52:37 +0200". */
int sb_date_format_imap(time_t t, int tz_offset,
                        char out[SB_DATE_IMAP_SIZE]) SB_WUR;

#endif
