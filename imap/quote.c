#include "quote.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/sv.h"

/* What a NUL becomes: U+FFFD in UTF-8. */
static const char quote_replacement[] = "\xef\xbf\xbd";

bool
imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

bool
imap_is_astring_char(unsigned char c)
{
	return c == ']' || imap_is_atom_char(c);
}

/* Printable ASCII or TAB: what goes into a quoted string. */
static bool
quote_is_quotable(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t';
}

static bool
quote_can_quote(const unsigned char *s, size_t len)
{
	if (len > IMAP_QUOTE_MAX_QUOTED)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!quote_is_quotable(s[i]))
			return false;
	}
	return true;
}

static int
quote_write_quoted(const unsigned char *s, size_t len, struct sb_buf *out)
{
	size_t start = 0;

	if (sb_buf_add_char(out, '"') != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if (sb_buf_add(out, s + start, i - start) != 0 ||
		    sb_buf_add_char(out, '\\') != 0)
			return -1;
		start = i;
	}
	if (sb_buf_add(out, s + start, len - start) != 0)
		return -1;
	return sb_buf_add_char(out, '"');
}

int
imap_write_literal(const void *s, size_t len, struct sb_buf *out)
{
	const unsigned char *p = s;
	size_t nuls = 0, start = 0;
	uint64_t size;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\0')
			nuls++;
	}
	size = (uint64_t)len + (uint64_t)nuls * (sizeof(quote_replacement) - 2);
	if (sb_buf_add_printf(out, "{%" PRIu64 "}\r\n", size) != 0)
		return -1;
	for (size_t i = 0; i < len && nuls > 0; i++) {
		if (p[i] != '\0')
			continue;
		if (sb_buf_add(out, p + start, i - start) != 0 ||
		    sb_buf_add_str(out, quote_replacement) != 0)
			return -1;
		start = i + 1;
		nuls--;
	}
	return sb_buf_add(out, p + start, len - start);
}

int
imap_write_string(const void *s, size_t len, struct sb_buf *out)
{
	if (quote_can_quote(s, len))
		return quote_write_quoted(s, len, out);
	return imap_write_literal(s, len, out);
}

int
imap_write_string_cstr(const char *s, struct sb_buf *out)
{
	return imap_write_string(s, strlen(s), out);
}

int
imap_write_astring(const void *s, size_t len, struct sb_buf *out)
{
	const unsigned char *p = s;
	bool atom = len > 0;

	for (size_t i = 0; i < len && atom; i++)
		atom = imap_is_astring_char(p[i]);
	if (atom && len == 3 && sb_sv_eq_cstr_ci(sb_sv(s, len), "NIL"))
		atom = false;
	if (atom)
		return sb_buf_add(out, s, len);
	return imap_write_string(s, len, out);
}

int
imap_write_nstring(const void *s, size_t len, struct sb_buf *out)
{
	if (s == NULL)
		return sb_buf_add_str(out, "NIL");
	return imap_write_string(s, len, out);
}

int
imap_write_nstring_cstr(const char *s, struct sb_buf *out)
{
	return imap_write_nstring(s, s == NULL ? 0 : strlen(s), out);
}

static bool
quote_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Unfolding only removes bytes, so the unfolded value fits in a buffer
 * of the raw value's size, which the value itself bounds.
 */
int
imap_write_header_text(const char *raw, size_t len, struct sb_buf *out)
{
	struct sb_buf text;
	size_t start = 0, end;
	int ret;

	if (raw == NULL)
		return sb_buf_add_str(out, "NIL");
	/* A header's text, decrypted: wiped when freed. */
	sb_buf_init_secret(&text, len);
	for (size_t i = 0; i < len; i++) {
		size_t eol = 0;

		if (raw[i] == '\n')
			eol = 1;
		else if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			eol = 2;
		if (eol == 0 || i + eol >= len || !quote_is_wsp(raw[i + eol]))
			continue;
		if (sb_buf_add(&text, raw + start, i - start) != 0)
			abort(); /* text never grows past len */
		start = i + eol;
		i += eol - 1;
	}
	if (sb_buf_add(&text, raw + start, len - start) != 0)
		abort();
	start = 0;
	end = text.len;
	while (start < end && quote_is_wsp(text.data[start]))
		start++;
	while (end > start && quote_is_wsp(text.data[end - 1]))
		end--;
	ret = imap_write_string(text.data == NULL ? "" : text.data + start,
	                        end - start, out);
	sb_buf_free(&text);
	return ret;
}
