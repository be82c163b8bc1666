/*
 * The settings file's parser on any input: fed whole, a byte at a time
 * and in pieces of a size taken from the input, it must give one answer;
 * settings it takes must read back from the lines they are written as;
 * and a line rewritten in a file it takes must give a file that parses to
 * the settings the rewrite reports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct answer {
	int ret;
	char error[BRIDGE_SETTINGS_LINE_MAX + 128];
	struct bridge_settings s;
};

static void
parse(const uint8_t *data, size_t size, size_t piece, struct answer *a)
{
	struct bridge_settings_parser pp;
	const char *error = NULL;
	size_t i, n;

	memset(a, 0, sizeof(*a));
	bridge_settings_parser_init(&pp, &a->s);
	for (i = 0; i < size && a->ret == 0; i += n) {
		n = piece == 0 || size - i < piece ? size - i : piece;
		a->ret = bridge_settings_parser_feed(&pp, data + i, n, &error);
	}
	if (bridge_settings_parser_finish(&pp, &error) != 0) {
		a->ret = -1;
		strncpy(a->error, error, sizeof(a->error) - 1);
	} else if (a->ret != 0) {
		abort(); /* a failed parser must stay failed */
	}
}

static void
same(const struct answer *a, const struct answer *b)
{
	if (a->ret != b->ret || strcmp(a->error, b->error) != 0 ||
	    memcmp(&a->s, &b->s, sizeof(a->s)) != 0)
		abort();
}

/* The settings given, written as lines, read back the same. */
static void
round_trip(const struct bridge_settings *s)
{
	char value[BRIDGE_SETTING_VALUE_MAX];
	struct answer back;
	struct sb_buf b;
	size_t i;

	sb_buf_init(&b, BRIDGE_SETTINGS_FILE_MAX);
	for (i = 0; i < BRIDGE_SETTINGS_COUNT; i++) {
		if ((s->given & (1u << i)) == 0)
			continue;
		bridge_setting_format(s, i, value);
		if (sb_buf_add_printf(&b, "%s = %s\n", bridge_setting_name(i),
		                      value) != 0)
			abort();
	}
	parse((const uint8_t *)(b.data != NULL ? b.data : ""), b.len, 0, &back);
	if (back.ret != 0 || memcmp(&back.s, s, sizeof(*s)) != 0)
		abort();
	sb_buf_free(&b);
}

/* One setting changed in the file: the new file parses to what it says. */
static void
rewrite(const uint8_t *data, size_t size)
{
	static const char *const values[] = {
	        NULL,  "0",        "2143", "off", "1025",
	        "::1", "10.0.0.1", "info", "x",
	};
	enum bridge_setting key = data[0] % BRIDGE_SETTINGS_COUNT;
	const char *value = values[data[size - 1] % SB_N_ELEMENTS(values)];
	struct bridge_settings s;
	const char *error;
	struct answer back;
	struct sb_buf out;

	sb_buf_init(&out, BRIDGE_SETTINGS_FILE_MAX);
	if (bridge_settings_rewrite((const char *)data, size, key, value, &out,
	                            &s, &error) == 0) {
		parse((const uint8_t *)out.data, out.len, 0, &back);
		if (back.ret != 0 || memcmp(&back.s, &s, sizeof(s)) != 0)
			abort();
	}
	sb_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer whole, cut;

	parse(data, size, 0, &whole);
	parse(data, size, 1, &cut);
	same(&whole, &cut);
	if (size > 0) {
		parse(data, size, 1 + data[0] % 31, &cut);
		same(&whole, &cut);
	}
	if (whole.ret != 0)
		return 0;
	round_trip(&whole.s);
	if (size > 0)
		rewrite(data, size);
	return 0;
}
