#include "envelope.h"

#include <stdbool.h>

#include "common/address.h"
#include "common/mime.h"
#include "common/sv.h"
#include "quote.h"

/* The members of an envelope, in the order RFC 3501 7.4.2 gives. */
enum envelope_field {
	ENV_DATE,
	ENV_SUBJECT,
	ENV_FROM,
	ENV_SENDER,
	ENV_REPLY_TO,
	ENV_TO,
	ENV_CC,
	ENV_BCC,
	ENV_IN_REPLY_TO,
	ENV_MESSAGE_ID,
	ENV_COUNT,
};

static const char *const envelope_names[ENV_COUNT] = {
        "Date", "Subject", "From", "Sender",      "Reply-To",
        "To",   "Cc",      "Bcc",  "In-Reply-To", "Message-ID",
};

static bool
envelope_is_address(enum envelope_field f)
{
	return f >= ENV_FROM && f <= ENV_BCC;
}

/* (name adl mailbox host), or a group's start or end marker. */
static int
envelope_write_address(const struct sb_address *a, struct sb_buf *out)
{
	const char *mailbox = a->mailbox, *domain = a->domain;

	switch (a->type) {
	case SB_ADDRESS_GROUP_START:
		if (sb_buf_add_str(out, "(NIL NIL ") != 0 ||
		    imap_write_string_cstr(mailbox == NULL ? "" : mailbox,
		                           out) != 0)
			return -1;
		return sb_buf_add_str(out, " NIL)");
	case SB_ADDRESS_GROUP_END:
		return sb_buf_add_str(out, "(NIL NIL NIL NIL)");
	case SB_ADDRESS_MAILBOX:
		break;
	}
	/* Neither mailbox nor host may be NIL here: NIL marks a group. */
	if (sb_buf_add_char(out, '(') != 0 ||
	    imap_write_nstring_cstr(a->name, out) != 0 ||
	    sb_buf_add_char(out, ' ') != 0 ||
	    imap_write_nstring_cstr(a->route, out) != 0 ||
	    sb_buf_add_char(out, ' ') != 0 ||
	    imap_write_string_cstr(mailbox == NULL ? "" : mailbox, out) != 0 ||
	    sb_buf_add_char(out, ' ') != 0 ||
	    imap_write_string_cstr(domain == NULL ? "" : domain, out) != 0)
		return -1;
	return sb_buf_add_char(out, ')');
}

/* The list, or NIL when it has no entry. */
static int
envelope_write_list(const struct sb_address_list *list, struct sb_buf *out)
{
	if (list == NULL || list->count == 0)
		return sb_buf_add_str(out, "NIL");
	if (sb_buf_add_char(out, '(') != 0)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		if (envelope_write_address(&list->addrs[i], out) != 0)
			return -1;
	}
	return sb_buf_add_char(out, ')');
}

/* An unstructured member: NIL when absent, "" when empty. */
static int
envelope_write_text(const struct sb_sv *value, struct sb_buf *out)
{
	if (value == NULL)
		return sb_buf_add_str(out, "NIL");
	return imap_write_header_text(value->p == NULL ? "" : value->p,
	                              value->len, out);
}

static struct sb_address_list *
envelope_parse_list(const struct sb_sv *value)
{
	struct sb_address_list *list;

	if (value == NULL)
		return NULL;
	list = sb_address_list_parse_new(value->p, value->len,
	                                 IMAP_ENVELOPE_MAX_ADDRESSES);
	if (list->count == 0)
		sb_address_list_free(&list);
	return list;
}

int
imap_envelope_write(const void *header, size_t len, struct sb_buf *out)
{
	struct sb_sv values[ENV_COUNT] = {{NULL, 0}};
	bool found[ENV_COUNT] = {false};
	struct sb_address_list *lists[ENV_COUNT] = {NULL};
	struct mime_header_iter it;
	struct mime_header_field f;
	int ret = 0;

	mime_header_iter_init(&it, header, len);
	while (mime_header_iter_next(&it, &f) > 0) {
		for (int i = 0; i < ENV_COUNT; i++) {
			if (!found[i] &&
			    sb_sv_eq_cstr_ci(f.name, envelope_names[i])) {
				values[i] = f.value;
				found[i] = true;
			}
		}
	}
	for (int i = ENV_FROM; i <= ENV_BCC; i++)
		lists[i] = envelope_parse_list(found[i] ? &values[i] : NULL);
	/* RFC 3501 7.4.2: sender and reply-to default to from. */
	if (lists[ENV_SENDER] == NULL)
		lists[ENV_SENDER] = lists[ENV_FROM];
	if (lists[ENV_REPLY_TO] == NULL)
		lists[ENV_REPLY_TO] = lists[ENV_FROM];

	ret = sb_buf_add_char(out, '(');
	for (int i = 0; i < ENV_COUNT && ret == 0; i++) {
		if (i > 0)
			ret = sb_buf_add_char(out, ' ');
		if (ret != 0)
			break;
		if (envelope_is_address((enum envelope_field)i))
			ret = envelope_write_list(lists[i], out);
		else
			ret = envelope_write_text(found[i] ? &values[i] : NULL,
			                          out);
	}
	if (ret == 0)
		ret = sb_buf_add_char(out, ')');

	if (lists[ENV_SENDER] == lists[ENV_FROM])
		lists[ENV_SENDER] = NULL;
	if (lists[ENV_REPLY_TO] == lists[ENV_FROM])
		lists[ENV_REPLY_TO] = NULL;
	for (int i = ENV_FROM; i <= ENV_BCC; i++)
		sb_address_list_free(&lists[i]);
	return ret;
}
