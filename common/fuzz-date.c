/*
 * Date parsing of any input: what parses formats back to a string that
 * parses to the same moment and zone, also when formatted in any other
 * zone the formatter accepts (+-99:59), chosen from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest zone offset the formatter takes, in minutes. */
#define FUZZ_MAX_ZONE (99 * 60 + 59)

static void
check_formats(const struct sb_date *d)
{
	char r[SB_DATE_RFC5322_SIZE], i[SB_DATE_IMAP_SIZE];
	const char *error;
	struct sb_date back;

	if (sb_date_format_rfc5322(d->time, d->tz_offset, r) == 0) {
		if (sb_date_parse_rfc5322(r, strlen(r), &back, &error) != 0 ||
		    back.time != d->time || back.tz_offset != d->tz_offset)
			abort();
	}
	if (sb_date_format_imap(d->time, d->tz_offset, i) == 0) {
		if (sb_date_parse_imap_datetime(i, strlen(i), &back, &error) !=
		            0 ||
		    back.time != d->time || back.tz_offset != d->tz_offset)
			abort();
	}
}

/* Formats d's moment in a zone taken from the input's first bytes too. */
static void
check_zones(const struct sb_date *d, const uint8_t *data, size_t size)
{
	struct sb_date z = *d;
	unsigned int v;

	check_formats(d);
	if (size < 2)
		return;
	v = (unsigned int)data[0] << 8 | data[size - 1];
	z.tz_offset = (int)(v % (2 * FUZZ_MAX_ZONE + 1)) - FUZZ_MAX_ZONE;
	check_formats(&z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *error;
	struct sb_date d;
	time_t t;

	if (sb_date_parse_rfc5322(in, size, &d, &error) == 0)
		check_zones(&d, data, size);
	if (sb_date_parse_imap_datetime(in, size, &d, &error) == 0)
		check_zones(&d, data, size);
	if (sb_date_parse_imap_date(in, size, &t, &error) == 0) {
		d.time = t;
		d.tz_offset = 0;
		check_zones(&d, data, size);
	}
	return 0;
}
