/*
 * Address-list parsing of any input: groups balanced and never nested,
 * the maximum kept, every part bounded and free of CR, LF and NUL,
 * display names valid UTF-8 without control characters but TAB, and what
 * sb_address_write_addr_spec writes free of control characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/address.h"
#include "common/charset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ADDRESSES 50

static void
check_part(const char *s)
{
	if (s != NULL &&
	    (strlen(s) > SB_ADDRESS_MAX_PART || strpbrk(s, "\r\n") != NULL))
		abort();
}

/* A C0 control or DEL; TAB too unless tab_ok. */
static bool
has_control(const char *s, size_t len, bool tab_ok)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\t' && tab_ok)
			continue;
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	}
	return false;
}

static void
check_entry(const struct sb_address *a, bool *in_group)
{
	struct sb_buf b;

	check_part(a->name);
	check_part(a->route);
	check_part(a->mailbox);
	check_part(a->domain);
	if (a->display_name != NULL &&
	    (!sb_utf8_valid(a->display_name, strlen(a->display_name)) ||
	     has_control(a->display_name, strlen(a->display_name), true)))
		abort();
	switch (a->type) {
	case SB_ADDRESS_MAILBOX:
		if (a->mailbox == NULL || a->domain == NULL)
			abort();
		sb_buf_init(&b, 4 * SB_ADDRESS_MAX_PART);
		/* It may refuse (control characters, a bad domain), never
		 * write what could break a header line. */
		if (sb_address_write_addr_spec(a, &b) == 0 &&
		    has_control(sb_buf_str(&b), b.len, false))
			abort();
		if (!has_control(a->mailbox, strlen(a->mailbox), false) &&
		    a->domain[0] == '\0' &&
		    sb_address_write_addr_spec(a, &b) != 0)
			abort();
		sb_buf_free(&b);
		break;
	case SB_ADDRESS_GROUP_START:
		if (*in_group || a->mailbox == NULL || a->domain != NULL)
			abort();
		*in_group = true;
		break;
	case SB_ADDRESS_GROUP_END:
		if (!*in_group || a->mailbox != NULL)
			abort();
		*in_group = false;
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_address_list *list;
	bool in_group = false;
	size_t i;

	list = sb_address_list_parse_new((const char *)data, size,
	                                 FUZZ_MAX_ADDRESSES);
	if (list->count > FUZZ_MAX_ADDRESSES)
		abort();
	for (i = 0; i < list->count; i++)
		check_entry(&list->addrs[i], &in_group);
	if (in_group)
		abort();
	sb_address_list_free(&list);
	return 0;
}
