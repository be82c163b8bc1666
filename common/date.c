#include "date.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sv.h"

/* Comments nested deeper than this are refused. */
#define SB_DATE_MAX_COMMENT_DEPTH 16
/* No name in a date (day, month, zone) is longer. */
#define SB_DATE_MAX_WORD 16

static const char *const sb_month_names[12] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December",
};
static const char *const sb_day_names[7] = {
        "Sunday",   "Monday", "Tuesday",  "Wednesday",
        "Thursday", "Friday", "Saturday",
};

/* The fields of a date as read, before they become a time_t. */
struct sb_date_fields {
	int year, month, day; /* month 1..12 */
	int hour, min, sec;
	int tz_offset;
	bool tz_known;
};

static bool
sb_date_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
sb_date_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
sb_date_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Skips whitespace, folding and comments (nested up to a limit, without
 * recursion). An unclosed comment runs to the end. -1 when too deep.
 */
static int SB_WUR
sb_date_skip_cfws(struct sb_sv *cur)
{
	size_t depth;

	for (;;) {
		while (cur->len > 0 && sb_date_is_space(cur->p[0]))
			sb_sv_advance(cur, 1);
		if (cur->len == 0 || cur->p[0] != '(')
			return 0;
		depth = 0;
		do {
			if (cur->p[0] == '\\' && cur->len > 1)
				sb_sv_advance(cur, 1);
			else if (cur->p[0] == '(' &&
			         ++depth > SB_DATE_MAX_COMMENT_DEPTH)
				return -1;
			else if (cur->p[0] == ')')
				depth--;
			sb_sv_advance(cur, 1);
		} while (cur->len > 0 && depth > 0);
	}
}

/* Takes a run of 1..max digits; *ndigits_r says how many. */
static int SB_WUR
sb_date_take_num(struct sb_sv *cur, size_t max, int *value_r, size_t *ndigits_r)
{
	struct sb_sv digits;
	size_t i;
	int v = 0;

	if (sb_sv_take_while(cur, sb_date_is_digit, max, &digits) != 0)
		return -1;
	if (cur->len > 0 && sb_date_is_digit(cur->p[0]))
		return -1;
	for (i = 0; i < digits.len; i++)
		v = v * 10 + (digits.p[i] - '0');
	*value_r = v;
	if (ndigits_r != NULL)
		*ndigits_r = digits.len;
	return 0;
}

/* Takes a word of letters, at most SB_DATE_MAX_WORD of them. */
static int SB_WUR
sb_date_take_word(struct sb_sv *cur, struct sb_sv *word_r)
{
	if (sb_sv_take_while(cur, sb_date_is_alpha, SB_DATE_MAX_WORD, word_r))
		return -1;
	return cur->len > 0 && sb_date_is_alpha(cur->p[0]) ? -1 : 0;
}

/* Index of a day or month name: its first three letters or all of it. */
static int SB_WUR
sb_date_lookup(struct sb_sv word, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (sb_sv_eq_cstr_ci(word, names[i]) ||
		    (word.len == 3 && sb_sv_eq_ci(word, sb_sv(names[i], 3))))
			return i;
	}
	/* "Sept" and "Tues" are common enough. */
	for (i = 0; i < n; i++) {
		if (word.len == 4 && sb_sv_eq_ci(word, sb_sv(names[i], 4)))
			return i;
	}
	return -1;
}

/*
 * Numeric zone "+hhmm" or "-hhmm"; "-0000" means unknown. RFC 5322 allows
 * any hours (up to +-9959), and so does the formatter: the minutes must
 * be 0..59. The time that results stays within a few days of the year
 * range that sb_date_finish checks, far from any overflow.
 */
static int SB_WUR
sb_date_numeric_zone(struct sb_sv *cur, struct sb_date_fields *f)
{
	char sign = cur->p[0];
	size_t nd;
	int v;

	sb_sv_advance(cur, 1);
	if (sb_date_take_num(cur, 4, &v, &nd) != 0 || nd != 4 || v % 100 > 59)
		return -1;
	f->tz_offset = (v / 100) * 60 + v % 100;
	if (sign == '-')
		f->tz_offset = -f->tz_offset;
	f->tz_known = !(sign == '-' && v == 0);
	return 0;
}

/* Obsolete zone names (RFC 5322 4.3) and their offsets in hours. */
static const struct {
	const char *name;
	int hours;
} sb_date_zones[] = {
        {"UT", 0},   {"UTC", 0},  {"GMT", 0},  {"EST", -5},
        {"EDT", -4}, {"CST", -6}, {"CDT", -5}, {"MST", -7},
        {"MDT", -6}, {"PST", -8}, {"PDT", -7},
};

/*
 * Reads an optional zone: numeric, a known name (maybe followed by a
 * numeric one, as in "GMT+0200"), or an unknown name (offset unknown).
 */
static int SB_WUR
sb_date_zone(struct sb_sv *cur, struct sb_date_fields *f)
{
	struct sb_sv word;
	size_t i;

	f->tz_offset = 0;
	f->tz_known = false;
	if (cur->len == 0)
		return 0;
	if (cur->p[0] == '+' || cur->p[0] == '-')
		return sb_date_numeric_zone(cur, f);
	if (!sb_date_is_alpha(cur->p[0]))
		return 0;
	if (sb_date_take_word(cur, &word) != 0)
		return -1;
	for (i = 0; i < SB_N_ELEMENTS(sb_date_zones); i++) {
		if (!sb_sv_eq_cstr_ci(word, sb_date_zones[i].name))
			continue;
		f->tz_offset = sb_date_zones[i].hours * 60;
		f->tz_known = true;
		if (i < 3 && cur->len > 0 &&
		    (cur->p[0] == '+' || cur->p[0] == '-'))
			return sb_date_numeric_zone(cur, f);
		return 0;
	}
	/* Military letters were never used right: like any unknown name,
	 * the offset is unknown. */
	return 0;
}

/* hour ":" minute [ ":" second ] */
static int SB_WUR
sb_date_time_of_day(struct sb_sv *cur, struct sb_date_fields *f)
{
	size_t nd;

	if (sb_date_take_num(cur, 2, &f->hour, NULL) != 0 ||
	    !sb_sv_take_char(cur, ':') ||
	    sb_date_take_num(cur, 2, &f->min, &nd) != 0 || nd != 2)
		return -1;
	f->sec = 0;
	if (sb_sv_take_char(cur, ':') &&
	    (sb_date_take_num(cur, 2, &f->sec, &nd) != 0 || nd != 2))
		return -1;
	return 0;
}

/* A year of 2 or 3 digits is read as RFC 5322 4.3 says. */
static int SB_WUR
sb_date_year(struct sb_sv *cur, struct sb_date_fields *f)
{
	size_t nd;

	if (sb_date_take_num(cur, 4, &f->year, &nd) != 0)
		return -1;
	if (nd == 2)
		f->year += f->year < 50 ? 2000 : 1900;
	else if (nd == 3)
		f->year += 1900;
	else if (nd != 4)
		return -1;
	return 0;
}

static bool
sb_date_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
sb_date_days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};

	return m == 2 && sb_date_is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
sb_date_days_from_civil(int y, int m, int d)
{
	int64_t before = y - 1, days;
	int i;

	/* Days from 0001-01-01 to the start of year y. */
	days = before * 365 + before / 4 - before / 100 + before / 400;
	for (i = 1; i < m; i++)
		days += sb_date_days_in_month(y, i);
	days += d - 1;
	/* 0001-01-01 was 719162 days before 1970-01-01. */
	return days - 719162;
}

/* Checks the fields and turns them into the result. */
static int SB_WUR
sb_date_finish(const struct sb_date_fields *f, struct sb_date *date_r,
               const char **error_r)
{
	int64_t days;

	if (f->year < 1900 || f->year > 9999) {
		*error_r = "year out of range";
		return -1;
	}
	if (f->month < 1 || f->month > 12 || f->day < 1 ||
	    f->day > sb_date_days_in_month(f->year, f->month)) {
		*error_r = "no such day";
		return -1;
	}
	if (f->hour > 23 || f->min > 59 || f->sec > 60) {
		*error_r = "time of day out of range";
		return -1;
	}
	days = sb_date_days_from_civil(f->year, f->month, f->day);
	date_r->time = (time_t)(days * 86400 + f->hour * 3600 + f->min * 60 +
	                        f->sec - f->tz_offset * 60);
	date_r->tz_offset = f->tz_offset;
	date_r->tz_known = f->tz_known;
	return 0;
}

/* ctime's order after the month: day time [zone] year. */
static int SB_WUR
sb_date_ctime_rest(struct sb_sv *cur, struct sb_date_fields *f)
{
	if (sb_date_skip_cfws(cur) != 0 ||
	    sb_date_take_num(cur, 2, &f->day, NULL) != 0 ||
	    sb_date_skip_cfws(cur) != 0 || sb_date_time_of_day(cur, f) != 0 ||
	    sb_date_skip_cfws(cur) != 0)
		return -1;
	if (cur->len > 0 && !sb_date_is_digit(cur->p[0])) {
		if (sb_date_zone(cur, f) != 0 || sb_date_skip_cfws(cur) != 0)
			return -1;
	} else {
		f->tz_offset = 0;
		f->tz_known = false;
	}
	return sb_date_year(cur, f);
}

/* Skips whitespace and comments and then one optional '-' and more. */
static int SB_WUR
sb_date_skip_sep(struct sb_sv *cur)
{
	if (sb_date_skip_cfws(cur) != 0)
		return -1;
	if (sb_sv_take_char(cur, '-'))
		return sb_date_skip_cfws(cur);
	return 0;
}

/* The month name at the cursor, as 1..12. */
static int SB_WUR
sb_date_month(struct sb_sv *cur, struct sb_date_fields *f)
{
	struct sb_sv word;

	if (sb_date_take_word(cur, &word) != 0)
		return -1;
	f->month = sb_date_lookup(word, sb_month_names, 12) + 1;
	return f->month > 0 ? 0 : -1;
}

/*
 * Reads the fields of an RFC 5322 date-time; what follows a complete date
 * (other than whitespace and comments) is ignored.
 */
static int SB_WUR
sb_date_rfc5322_fields(struct sb_sv *cur, struct sb_date_fields *f)
{
	struct sb_sv word, save;

	if (sb_date_skip_cfws(cur) != 0)
		return -1;
	if (cur->len > 0 && sb_date_is_alpha(cur->p[0])) {
		save = *cur;
		if (sb_date_take_word(cur, &word) != 0)
			return -1;
		if (sb_date_lookup(word, sb_day_names, 7) < 0) {
			*cur = save; /* maybe a month: ctime order */
		} else if (sb_date_skip_cfws(cur) != 0) {
			return -1;
		} else if (sb_sv_take_char(cur, ',') &&
		           sb_date_skip_cfws(cur) != 0) {
			return -1;
		}
	}
	if (cur->len > 0 && sb_date_is_alpha(cur->p[0])) {
		if (sb_date_month(cur, f) != 0)
			return -1;
		return sb_date_ctime_rest(cur, f);
	}
	if (sb_date_take_num(cur, 2, &f->day, NULL) != 0 ||
	    sb_date_skip_sep(cur) != 0 || sb_date_month(cur, f) != 0 ||
	    sb_date_skip_sep(cur) != 0 || sb_date_year(cur, f) != 0 ||
	    sb_date_skip_cfws(cur) != 0 || sb_date_time_of_day(cur, f) != 0 ||
	    sb_date_skip_cfws(cur) != 0 || sb_date_zone(cur, f) != 0)
		return -1;
	return 0;
}

int
sb_date_parse_rfc5322(const char *in, size_t len, struct sb_date *date_r,
                      const char **error_r)
{
	struct sb_sv cur = sb_sv(in != NULL ? in : "", len);
	struct sb_date_fields f;

	memset(&f, 0, sizeof(f));
	if (sb_date_rfc5322_fields(&cur, &f) != 0) {
		*error_r = "malformed date";
		return -1;
	}
	return sb_date_finish(&f, date_r, error_r);
}

/* Exactly n digits. */
static int SB_WUR
sb_date_take_fixed(struct sb_sv *cur, size_t n, int *value_r)
{
	size_t nd;

	if (sb_date_take_num(cur, n, value_r, &nd) != 0 || nd != n)
		return -1;
	return 0;
}

/* dd "-" Mon "-" yyyy, the day being 1 or 2 digits or " d". */
static int SB_WUR
sb_date_imap_day(struct sb_sv *cur, struct sb_date_fields *f, bool space_ok)
{
	if (space_ok && sb_sv_take_char(cur, ' ')) {
		if (sb_date_take_num(cur, 1, &f->day, NULL) != 0)
			return -1;
	} else if (sb_date_take_num(cur, 2, &f->day, NULL) != 0) {
		return -1;
	}
	if (!sb_sv_take_char(cur, '-') || cur->len < 3)
		return -1;
	f->month = sb_date_lookup(sb_sv(cur->p, 3), sb_month_names, 12) + 1;
	sb_sv_advance(cur, 3);
	if (f->month == 0 || !sb_sv_take_char(cur, '-') ||
	    sb_date_take_fixed(cur, 4, &f->year) != 0)
		return -1;
	return 0;
}

int
sb_date_parse_imap_datetime(const char *in, size_t len, struct sb_date *date_r,
                            const char **error_r)
{
	struct sb_sv cur = sb_sv(in != NULL ? in : "", len);
	struct sb_date_fields f;

	memset(&f, 0, sizeof(f));
	if (sb_date_imap_day(&cur, &f, true) != 0 ||
	    !sb_sv_take_char(&cur, ' ') ||
	    sb_date_take_fixed(&cur, 2, &f.hour) != 0 ||
	    !sb_sv_take_char(&cur, ':') ||
	    sb_date_take_fixed(&cur, 2, &f.min) != 0 ||
	    !sb_sv_take_char(&cur, ':') ||
	    sb_date_take_fixed(&cur, 2, &f.sec) != 0 ||
	    !sb_sv_take_char(&cur, ' ') || cur.len != 5 ||
	    (cur.p[0] != '+' && cur.p[0] != '-') ||
	    sb_date_numeric_zone(&cur, &f) != 0) {
		*error_r = "malformed IMAP date-time";
		return -1;
	}
	f.tz_known = true; /* IMAP has no unknown zone */
	return sb_date_finish(&f, date_r, error_r);
}

int
sb_date_parse_imap_date(const char *in, size_t len, time_t *time_r,
                        const char **error_r)
{
	struct sb_sv cur = sb_sv(in != NULL ? in : "", len);
	struct sb_date_fields f;
	struct sb_date d;

	memset(&f, 0, sizeof(f));
	if (sb_date_imap_day(&cur, &f, false) != 0 || cur.len != 0) {
		*error_r = "malformed IMAP date";
		return -1;
	}
	f.tz_known = true;
	if (sb_date_finish(&f, &d, error_r) != 0)
		return -1;
	*time_r = d.time;
	return 0;
}

static const char *const sb_day_abbr[7] = {"Sun", "Mon", "Tue", "Wed",
                                           "Thu", "Fri", "Sat"};
static const char *const sb_month_abbr[12] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* The broken-down local time at tz_offset, with the zone's hhmm. */
static int SB_WUR
sb_date_local(time_t t, int tz_offset, struct tm *tm, char *sign_r, int *zone_r)
{
	int64_t local;

	if (tz_offset < -(99 * 60 + 59) || tz_offset > 99 * 60 + 59)
		return -1;
	/* Far outside 1900..9999 anyway; keeps the sum from overflowing. */
	if (t < -(int64_t)400000000000 || t > (int64_t)400000000000)
		return -1;
	local = (int64_t)t + (int64_t)tz_offset * 60;
	if (gmtime_r(&(time_t){(time_t)local}, tm) == NULL || tm->tm_year < 0 ||
	    tm->tm_year + 1900 > 9999)
		return -1;
	*sign_r = tz_offset < 0 ? '-' : '+';
	if (tz_offset < 0)
		tz_offset = -tz_offset;
	*zone_r = tz_offset / 60 * 100 + tz_offset % 60;
	return 0;
}

/*
 * The numbers go through % so that the compiler sees that they fit; they
 * are in range already.
 */
int
sb_date_format_rfc5322(time_t t, int tz_offset, char out[SB_DATE_RFC5322_SIZE])
{
	struct tm tm;
	char sign;
	int zone;

	if (sb_date_local(t, tz_offset, &tm, &sign, &zone) != 0)
		return -1;
	snprintf(out, SB_DATE_RFC5322_SIZE,
	         "%s, %u %s %04u %02u:%02u:%02u %c%04u",
	         sb_day_abbr[tm.tm_wday % 7], (unsigned)tm.tm_mday % 100u,
	         sb_month_abbr[tm.tm_mon % 12],
	         (unsigned)(tm.tm_year + 1900) % 10000u,
	         (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
	         (unsigned)tm.tm_sec % 100u, sign, (unsigned)zone % 10000u);
	return 0;
}

int
sb_date_format_imap(time_t t, int tz_offset, char out[SB_DATE_IMAP_SIZE])
{
	struct tm tm;
	char sign;
	int zone;

	if (sb_date_local(t, tz_offset, &tm, &sign, &zone) != 0)
		return -1;
	snprintf(out, SB_DATE_IMAP_SIZE, "%02u-%s-%04u %02u:%02u:%02u %c%04u",
	         (unsigned)tm.tm_mday % 100u, sb_month_abbr[tm.tm_mon % 12],
	         (unsigned)(tm.tm_year + 1900) % 10000u,
	         (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
	         (unsigned)tm.tm_sec % 100u, sign, (unsigned)zone % 10000u);
	return 0;
}
