/*
 * The sample mail saltbridge demo delivers on its first run, from
 * outside the service (saltmaild deliver): four short messages, one sent
 * to both accounts and one with an attachment.
 */
#include "bridge/demo-private.h"

#include <sodium.h>
#include <string.h>

#include "common/date.h"

/* Where a sample's text puts its attachment, encoded. */
#define DEMO_ATTACHMENT_LINE "%ATTACHMENT%"
/* Base64 lines of 76 characters (RFC 2045). */
#define DEMO_BASE64_LINE 76

static const char welcome[] =
        "From: Saltbridge demo <hello@saltbridge.example>\n"
        "To: alice@demo.test, bob@demo.test\n"
        "Subject: Welcome to the Saltbridge demo\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Hello,\n"
        "\n"
        "This message came from outside the demo's mail service. saltmaild\n"
        "encrypted it to your account's key the moment it arrived, and keeps\n"
        "only the ciphertext. Your mail client reads it through Saltbridge,\n"
        "which decrypted it here, on this machine.\n"
        "\n"
        "A few things to try:\n"
        "\n"
        "- Write from alice@demo.test to bob@demo.test. The bridge signs and\n"
        "  encrypts the message before it leaves, and bob's copy carries the\n"
        "  header X-Saltbridge-Signature: valid; signer=alice@demo.test.\n"
        "- Flag, move or delete a message: your client sees the change at\n"
        "  once, and the bridge passes it on to the service in the\n"
        "  background.\n"
        "- Stop the demo with Ctrl-C and start it again: the accounts and\n"
        "  the mail are still there.\n"
        "\n"
        "Enjoy the tour!\n";

static const char lunch[] =
        "From: Carol Diaz <carol@example.org>\n"
        "To: bob@demo.test\n"
        "Subject: Lunch on Friday?\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Hi Bob,\n"
        "\n"
        "Are you free for lunch on Friday? The new caf\xc3\xa9 on Elm Street\n"
        "opens at noon, and I can book a table for 12:30 if that suits "
        "you.\n"
        "\n"
        "Carol\n";

static const char budget[] =
        "From: Dev Patel <dev@example.com>\n"
        "To: bob@demo.test\n"
        "Subject: Q3 budget draft\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"=_demo_budget_7f3a\"\n"
        "\n"
        "--=_demo_budget_7f3a\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Hi Bob,\n"
        "\n"
        "Attached is the first draft of the Q3 budget. Travel is up a little\n"
        "because of the conference in Lisbon; everything else is flat. Could\n"
        "you check the numbers before Thursday's meeting?\n"
        "\n"
        "Thanks,\n"
        "Dev\n"
        "\n"
        "--=_demo_budget_7f3a\n"
        "Content-Type: text/csv; charset=utf-8; name=\"budget-q3.csv\"\n"
        "Content-Disposition: attachment; filename=\"budget-q3.csv\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n" DEMO_ATTACHMENT_LINE "\n"
        "--=_demo_budget_7f3a--\n";

static const char offsite[] =
        "From: Carol Diaz <carol@example.org>\n"
        "To: alice@demo.test\n"
        "Subject: Re: Offsite agenda\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Hi Alice,\n"
        "\n"
        "Looks good to me. One change: could we move the roadmap session to\n"
        "the morning, while everyone is still awake? I will bring coffee.\n"
        "\n"
        "Carol\n"
        "\n"
        "> Here is the draft agenda for the offsite:\n"
        "> 09:00 welcome, 10:00 demos, 13:00 roadmap, 15:00 retro.\n";

const char demo_attachment_csv[] = "item,july,august,september\r\n"
                                   "salaries,42000,42000,42000\r\n"
                                   "travel,1800,3200,900\r\n"
                                   "software,650,650,700\r\n"
                                   "office,1200,1200,1200\r\n";

/* Oldest first, so that a mailbox's order is that of the dates. */
const struct demo_sample demo_samples[] = {
        {"alice@demo.test", "welcome", 90, welcome},
        {"bob@demo.test", "welcome", 90, welcome},
        {"bob@demo.test", "lunch", 75, lunch},
        {"bob@demo.test", "budget", 40, budget},
        {"alice@demo.test", "offsite", 20, offsite},
};
const size_t demo_samples_count = SB_N_ELEMENTS(demo_samples);

/* The attachment in base64, in lines with CRLF. */
static int SB_WUR
demo_attachment_add(struct sb_buf *out)
{
	char b64[sizeof(demo_attachment_csv) * 2];
	size_t len, pos, n;

	sodium_bin2base64(b64, sizeof(b64),
	                  (const unsigned char *)demo_attachment_csv,
	                  sizeof(demo_attachment_csv) - 1,
	                  sodium_base64_VARIANT_ORIGINAL);
	len = strlen(b64);
	for (pos = 0; pos < len; pos += n) {
		n = len - pos < DEMO_BASE64_LINE ? len - pos : DEMO_BASE64_LINE;
		if (sb_buf_add(out, b64 + pos, n) != 0 ||
		    sb_buf_add_str(out, "\r\n") != 0)
			return -1;
	}
	return 0;
}

int
demo_sample_build(const struct demo_sample *sample, time_t now,
                  const char *run_id, struct sb_buf *out)
{
	char date[SB_DATE_RFC5322_SIZE];
	const char *p = sample->text, *nl;
	size_t len;

	if (sb_date_format_rfc5322(now - (time_t)sample->minutes_ago * 60, 0,
	                           date) != 0 ||
	    sb_buf_add_printf(out,
	                      "Date: %s\r\nMessage-ID: <%s.%s@demo.test>\r\n",
	                      date, sample->name, run_id) != 0)
		return -1;
	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len == strlen(DEMO_ATTACHMENT_LINE) &&
		    memcmp(p, DEMO_ATTACHMENT_LINE, len) == 0) {
			if (demo_attachment_add(out) != 0)
				return -1;
		} else if (sb_buf_add(out, p, len) != 0 ||
		           sb_buf_add_str(out, "\r\n") != 0) {
			return -1;
		}
		p += len + (nl != NULL ? 1 : 0);
	}
	return 0;
}
