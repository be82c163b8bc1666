/*
 * A bounce (send.h): a delivery status notification (RFC 3464, in a
 * multipart/report of RFC 6522) filed in the sender's INBOX, the way a
 * mail server returns mail it could not deliver: a part for people, the
 * machine-readable status of each recipient, and the header section of
 * the message. It is sealed for the account like an APPEND (unsigned: it
 * is not the account's own mail) and imported to the service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bridge/send.h"
#include "common/alloc.h"
#include "common/buf.h"

/* why on one line of at most 400 bytes, without control characters. */
static void
bridge_bounce_text(char *out, size_t size, const char *why)
{
	size_t i, n = 0;

	for (i = 0; why[i] != '\0' && n + 1 < size && n < 400; i++)
		out[n++] = (unsigned char)why[i] < 0x20 ? ' ' : why[i];
	out[n] = '\0';
}

/* The report: a secret buffer (it quotes the message's header). */
static int
bridge_bounce_report(struct sb_buf *b, const char *sender,
                     const char *recipients, const char *why,
                     const void *headers, size_t headers_len)
{
	char date[64], boundary[33], text[512];
	unsigned char raw[16];
	const char *p = recipients != NULL ? recipients : "";
	time_t now = time(NULL);
	struct tm tm;
	int ret;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(boundary, sizeof(boundary), raw, sizeof(raw));
	bridge_bounce_text(text, sizeof(text), why);
	ret = sb_buf_add_printf(
	        b,
	        "From: Mail Delivery System <mailer-daemon@saltbridge.invalid>"
	        "\r\nTo: <%s>\r\nSubject: Undelivered Mail Returned to Sender"
	        "\r\nDate: %s\r\nMessage-ID: <%s@saltbridge.invalid>\r\n"
	        "Auto-Submitted: auto-replied\r\n"
	        "MIME-Version: 1.0\r\nContent-Type: multipart/report;"
	        " report-type=delivery-status;\r\n boundary=\"%s\"\r\n\r\n"
	        "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	        "Saltbridge could not deliver your message to:\r\n\r\n",
	        sender, date, boundary, boundary, boundary);
	while (ret == 0 && *p != '\0') {
		size_t len = strcspn(p, "\n");

		if (len > 0)
			ret = sb_buf_add_printf(b, "  <%.*s>\r\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	if (ret == 0)
		ret = sb_buf_add_printf(
		        b,
		        "\r\nThe reason: %s\r\n\r\nThe message's header is "
		        "below.\r\n\r\n--%s\r\nContent-Type: "
		        "message/delivery-status\r\n\r\nReporting-MTA: dns; "
		        "saltbridge.invalid\r\nArrival-Date: %s\r\n",
		        text, boundary, date);
	for (p = recipients != NULL ? recipients : "";
	     ret == 0 && *p != '\0';) {
		size_t len = strcspn(p, "\n");

		if (len > 0)
			ret = sb_buf_add_printf(
			        b,
			        "\r\nFinal-Recipient: rfc822; %.*s\r\n"
			        "Action: failed\r\nStatus: 5.0.0\r\n"
			        "Diagnostic-Code: x-saltbridge; %s\r\n",
			        (int)len, p, text);
		p += len + (p[len] == '\n');
	}
	if (ret == 0)
		ret = sb_buf_add_printf(b,
		                        "\r\n--%s\r\nContent-Type: "
		                        "text/rfc822-headers\r\n\r\n",
		                        boundary);
	if (ret == 0)
		ret = sb_buf_add(b, headers, headers_len);
	if (ret == 0)
		ret = sb_buf_add_printf(b, "\r\n--%s--\r\n", boundary);
	return ret;
}

int
bridge_bounce(const struct bridge_mail_keys *k, struct store *st,
              int64_t account_id, const char *sender, const char *recipients,
              const char *why, const void *headers, size_t headers_len,
              const char **error_r)
{
	struct bridge_mail_append *a;
	struct store_mailbox inbox;
	struct sb_buf b;
	uint32_t uid;
	int ret;

	ret = store_mailbox_find_role(st, account_id, "inbox", &inbox, error_r);
	if (ret == 0)
		*error_r = "the account has no INBOX yet";
	if (ret <= 0)
		return -1;
	sb_buf_init_secret(&b, SIZE_MAX);
	if (bridge_bounce_report(&b, sender, recipients, why, headers,
	                         headers_len) < 0)
		abort(); /* no maximum */
	ret = bridge_mail_append_begin(k, st, account_id, b.len, &a, error_r);
	if (ret == 0 &&
	    bridge_mail_append_write(a, b.data, b.len, error_r) < 0) {
		bridge_mail_append_abort(&a);
		ret = -1;
	}
	if (ret == 0)
		ret = bridge_mail_append_finish(
		        &a, inbox.id, "", (int64_t)time(NULL), &uid, error_r);
	sb_buf_free(&b);
	store_mailbox_free_contents(&inbox);
	return ret;
}
