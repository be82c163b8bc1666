/*
 * The client configuration files of `saltbridge config` (config.c): XML
 * escaping, UUIDs, the certificate's DER from PEM, and both generators.
 * tests/bridge/test_config.py reads the files the binary writes with
 * Python's XML and plist parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/config.h"
#include "common/cert.h"
#include "crypto/crypto.h"
#include "test.h"

static const struct bridge_client_settings defaults = {
        .host = "127.0.0.1",
        .imap_port = 1143,
        .smtp_port = 1025,
};

static void
test_xml_escape(void)
{
	const char *error;
	struct sb_buf b;

	sb_buf_init(&b, 1024);
	TEST_EQ_INT(bridge_xml_escape(&b, "a&b<c>\"d'e", &error), 0);
	TEST_EQ_STR(sb_buf_str(&b), "a&amp;b&lt;c&gt;&quot;d&apos;e");
	sb_buf_reset(&b);
	/* UTF-8, tab, LF and CR pass as they are. */
	TEST_EQ_INT(bridge_xml_escape(&b, "zo\xc3\xab\t\n\r;", &error), 0);
	TEST_EQ_STR(sb_buf_str(&b), "zo\xc3\xab\t\n\r;");
	TEST_EQ_INT(bridge_xml_escape(&b, "", &error), 0);
	TEST_EQ_UINT(b.len, 8);

	/* Refused, and nothing written: not UTF-8, controls, U+FFFE/F. */
	TEST_EQ_INT(bridge_xml_escape(&b, "a\xff", &error), -1);
	TEST_ASSERT(strstr(error, "XML") != NULL);
	TEST_EQ_INT(bridge_xml_escape(&b, "a\x01&", &error), -1);
	TEST_EQ_INT(bridge_xml_escape(&b, "\x1b[0m", &error), -1);
	TEST_EQ_INT(bridge_xml_escape(&b, "x\xef\xbf\xbe", &error), -1);
	TEST_EQ_INT(bridge_xml_escape(&b, "x\xef\xbf\xbf", &error), -1);
	TEST_EQ_INT(bridge_xml_escape(&b, "\xc0\x80", &error), -1);
	TEST_EQ_UINT(b.len, 8);
	/* U+FFFD is fine. */
	TEST_EQ_INT(bridge_xml_escape(&b, "\xef\xbf\xbd", &error), 0);
	sb_buf_free(&b);

	/* A full buffer fails. */
	sb_buf_init(&b, 8);
	TEST_EQ_INT(bridge_xml_escape(&b, "&&", &error), -1);
	TEST_ASSERT(strstr(error, "too large") != NULL);
	sb_buf_free(&b);
}

static void
test_uuid(void)
{
	char a[BRIDGE_UUID_LEN + 1], b[BRIDGE_UUID_LEN + 1];
	size_t i;

	bridge_uuid_new(a);
	bridge_uuid_new(b);
	TEST_EQ_UINT(strlen(a), BRIDGE_UUID_LEN);
	TEST_ASSERT(strcmp(a, b) != 0);
	for (i = 0; i < BRIDGE_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			TEST_ASSERT(a[i] == '-');
		else
			TEST_ASSERT(strchr("0123456789ABCDEF", a[i]) != NULL);
	}
	TEST_ASSERT(a[14] == '4');
	TEST_ASSERT(strchr("89AB", a[19]) != NULL);
}

static void
test_pem(void)
{
	char cert[512], key[512], *file;
	const char *pem;
	const char *error;
	struct sb_buf der;
	size_t len;

	sb_buf_init(&der, 4096);
	/* The first certificate of the text, whatever surrounds it. */
	pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\n/w==\n"
	      "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n"
	      "AAAA\n-----END CERTIFICATE-----\n";
	TEST_EQ_INT(bridge_pem_cert_der(pem, strlen(pem), &der, &error), 0);
	TEST_EQ_MEM(der.data, der.len, "\x00\x01\x02\xff", 4);
	sb_buf_reset(&der);
	/* Only len bytes are read: here the END line is cut. */
	len = (size_t)(strstr(pem, "-----END") - pem) + 8;
	TEST_EQ_INT(bridge_pem_cert_der(pem, len, &der, &error), -1);
	TEST_ASSERT(strstr(error, "END") != NULL);

	TEST_EQ_INT(bridge_pem_cert_der("AAEC", 4, &der, &error), -1);
	TEST_ASSERT(strstr(error, "no PEM") != NULL);
	TEST_EQ_INT(bridge_pem_cert_der("-----BEGIN CERTIFICATE-----\nAAEC\n",
	                                32, &der, &error),
	            -1);
	TEST_ASSERT(strstr(error, "END") != NULL);
	pem = "-----BEGIN CERTIFICATE-----\nA*EC\n-----END CERTIFICATE-----";
	TEST_EQ_INT(bridge_pem_cert_der(pem, strlen(pem), &der, &error), -1);
	TEST_ASSERT(strstr(error, "broken") != NULL);
	pem = "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----";
	TEST_EQ_INT(bridge_pem_cert_der(pem, strlen(pem), &der, &error), -1);
	TEST_EQ_UINT(der.len, 0);

	/* A real certificate: DER, a SEQUENCE with a two-byte length. */
	snprintf(cert, sizeof(cert), "%s/cert.pem", test_tmpdir());
	snprintf(key, sizeof(key), "%s/key.pem", test_tmpdir());
	TEST_EQ_INT(sb_cert_generate(cert, key, 30, &error), 0);
	file = test_read_file(cert, &len);
	TEST_EQ_INT(bridge_pem_cert_der(file, len, &der, &error), 0);
	TEST_ASSERT(der.len > 200);
	TEST_ASSERT((unsigned char)der.data[0] == 0x30);
	TEST_ASSERT((unsigned char)der.data[1] == 0x82);
	TEST_EQ_UINT(
	        ((unsigned char)der.data[2] << 8 | (unsigned char)der.data[3]) +
	                4,
	        der.len);
	free(file);
	sb_buf_free(&der);
}

static void
test_client_parse(void)
{
	enum bridge_client c;

	TEST_EQ_INT(bridge_client_parse("thunderbird", &c), 0);
	TEST_EQ_INT(c, BRIDGE_CLIENT_THUNDERBIRD);
	TEST_EQ_INT(bridge_client_parse("apple-mail", &c), 0);
	TEST_EQ_INT(c, BRIDGE_CLIENT_APPLE_MAIL);
	TEST_EQ_INT(bridge_client_parse("outlook", &c), -1);
	TEST_EQ_INT(bridge_client_parse("Thunderbird", &c), -1);
}

static void
test_thunderbird(void)
{
	static const char want[] =
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<clientConfig version=\"1.1\">\n"
	        "  <emailProvider id=\"example.org\">\n"
	        "    <domain>example.org</domain>\n"
	        "    <displayName>Saltbridge "
	        "(o&apos;brien&amp;co@example.org)</displayName>\n"
	        "    <displayShortName>Saltbridge</displayShortName>\n"
	        "    <incomingServer type=\"imap\">\n"
	        "      <hostname>127.0.0.1</hostname>\n"
	        "      <port>1143</port>\n"
	        "      <socketType>STARTTLS</socketType>\n"
	        "      <username>o&apos;brien&amp;co@example.org</username>\n"
	        "      <authentication>password-cleartext</authentication>\n"
	        "    </incomingServer>\n"
	        "    <outgoingServer type=\"smtp\">\n"
	        "      <hostname>127.0.0.1</hostname>\n"
	        "      <port>1025</port>\n"
	        "      <socketType>STARTTLS</socketType>\n"
	        "      <username>o&apos;brien&amp;co@example.org</username>\n"
	        "      <authentication>password-cleartext</authentication>\n"
	        "    </outgoingServer>\n"
	        "  </emailProvider>\n"
	        "</clientConfig>\n";
	struct bridge_client_settings s = defaults;
	const char *error;
	struct sb_buf b;

	sb_buf_init(&b, 64 * 1024);
	TEST_EQ_INT(bridge_config_thunderbird(&b, &s, "o'brien&co@example.org",
	                                      &error),
	            0);
	TEST_EQ_STR(sb_buf_str(&b), want);
	sb_buf_reset(&b);

	/* The STARTTLS listener wins; without it, the TLS one (SSL). */
	s.imaps_port = 1993;
	s.smtp_port = 0;
	s.smtps_port = 1465;
	TEST_EQ_INT(bridge_config_thunderbird(&b, &s, "a@b.example", &error),
	            0);
	TEST_ASSERT(strstr(sb_buf_str(&b),
	                   "<port>1143</port>\n"
	                   "      <socketType>STARTTLS</socketType>") != NULL);
	TEST_ASSERT(strstr(sb_buf_str(&b),
	                   "<port>1465</port>\n"
	                   "      <socketType>SSL</socketType>") != NULL);
	TEST_ASSERT(strstr(sb_buf_str(&b), "id=\"b.example\"") != NULL);
	sb_buf_reset(&b);

	/* No IMAP listener at all; an address XML cannot carry. */
	s.imap_port = 0;
	s.imaps_port = 0;
	TEST_EQ_INT(bridge_config_thunderbird(&b, &s, "a@b.example", &error),
	            -1);
	TEST_EQ_STR(error, "the bridge has no IMAP listener");
	s = defaults;
	TEST_EQ_INT(
	        bridge_config_thunderbird(&b, &s, "a\x02@b.example", &error),
	        -1);
	TEST_ASSERT(strstr(error, "XML") != NULL);
	sb_buf_free(&b);
}

/* The text between "<key>key</key>\n" and the next line end after it. */
static char *
plist_value(const char *xml, const char *key, const char *after)
{
	char needle[128];
	const char *p, *end;

	snprintf(needle, sizeof(needle), "<key>%s</key>\n", key);
	p = strstr(after != NULL ? after : xml, needle);
	if (p == NULL)
		return NULL;
	p += strlen(needle);
	p += strspn(p, "\t");
	end = strchr(p, '\n');
	return strndup(p, (size_t)(end - p));
}

static void
test_apple_mail(void)
{
	static const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	static const char head[] =
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	        "<plist version=\"1.0\">\n<dict>\n"
	        "\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n";
	struct bridge_client_settings s = defaults;
	char *v, *uuid1, *uuid2, *uuid3;
	const char *error, *xml, *mail;
	struct sb_buf b;

	sb_buf_init(&b, 64 * 1024);
	TEST_EQ_INT(bridge_config_apple_mail(&b, &s, "o'brien&co@example.org",
	                                     der, sizeof(der), &error),
	            0);
	xml = sb_buf_str(&b);
	TEST_ASSERT(strncmp(xml, head, strlen(head)) == 0);
	TEST_ASSERT(strstr(xml, "<data>\n\t\t\tMAMCAQU=\n\t\t\t</data>") !=
	            NULL);
	TEST_ASSERT(strstr(xml, "<string>com.apple.security.root</string>") !=
	            NULL);
	mail = strstr(xml, "<string>com.apple.mail.managed</string>");
	TEST_ASSERT(mail != NULL);
	TEST_ASSERT(strstr(xml, "<string>Configuration</string>") != NULL);
	/* Escaped everywhere, raw nowhere. */
	TEST_ASSERT(strstr(xml, "o'brien") == NULL);
	TEST_ASSERT(strstr(xml, "&co") == NULL);
	v = plist_value(xml, "EmailAddress", NULL);
	TEST_EQ_STR(v, "<string>o&apos;brien&amp;co@example.org</string>");
	free(v);
	v = plist_value(xml, "IncomingMailServerUsername", NULL);
	TEST_EQ_STR(v, "<string>o&apos;brien&amp;co@example.org</string>");
	free(v);
	/* STARTTLS listeners: IMAP without the SSL flag, SMTP with it. */
	v = plist_value(xml, "IncomingMailServerPortNumber", NULL);
	TEST_EQ_STR(v, "<integer>1143</integer>");
	free(v);
	v = plist_value(xml, "IncomingMailServerUseSSL", NULL);
	TEST_EQ_STR(v, "<false/>");
	free(v);
	v = plist_value(xml, "OutgoingMailServerPortNumber", NULL);
	TEST_EQ_STR(v, "<integer>1025</integer>");
	free(v);
	v = plist_value(xml, "OutgoingMailServerUseSSL", NULL);
	TEST_EQ_STR(v, "<true/>");
	free(v);
	v = plist_value(xml, "OutgoingPasswordSameAsIncomingPassword", NULL);
	TEST_EQ_STR(v, "<true/>");
	free(v);
	/* No password in the profile. */
	TEST_ASSERT(strstr(xml, "<key>IncomingPassword</key>") == NULL);
	TEST_ASSERT(strstr(xml, "<key>OutgoingPassword</key>") == NULL);
	/* Three payloads, three different UUIDs. */
	uuid1 = plist_value(xml, "PayloadUUID", NULL);
	uuid2 = plist_value(xml, "PayloadUUID", strstr(xml, uuid1));
	uuid3 = plist_value(xml, "PayloadUUID", strstr(xml, uuid2));
	TEST_ASSERT(uuid1 != NULL && uuid2 != NULL && uuid3 != NULL);
	TEST_EQ_UINT(strlen(uuid1), strlen("<string></string>") + 36);
	TEST_ASSERT(strcmp(uuid1, uuid2) != 0 && strcmp(uuid2, uuid3) != 0 &&
	            strcmp(uuid1, uuid3) != 0);
	free(uuid1);
	free(uuid2);
	free(uuid3);
	sb_buf_reset(&b);

	/* With the implicit TLS listeners on, the profile takes them. */
	s.imaps_port = 1993;
	s.smtps_port = 1465;
	TEST_EQ_INT(bridge_config_apple_mail(&b, &s, "a@b.example", der,
	                                     sizeof(der), &error),
	            0);
	xml = sb_buf_str(&b);
	v = plist_value(xml, "IncomingMailServerPortNumber", NULL);
	TEST_EQ_STR(v, "<integer>1993</integer>");
	free(v);
	v = plist_value(xml, "IncomingMailServerUseSSL", NULL);
	TEST_EQ_STR(v, "<true/>");
	free(v);
	v = plist_value(xml, "OutgoingMailServerPortNumber", NULL);
	TEST_EQ_STR(v, "<integer>1465</integer>");
	free(v);
	sb_buf_reset(&b);

	s.smtp_port = 0;
	s.smtps_port = 0;
	TEST_EQ_INT(bridge_config_apple_mail(&b, &s, "a@b.example", der,
	                                     sizeof(der), &error),
	            -1);
	TEST_EQ_STR(error, "the bridge has no SMTP listener");
	s = defaults;
	TEST_EQ_INT(bridge_config_apple_mail(&b, &s, "a@b.example\x7f\x1f", der,
	                                     sizeof(der), &error),
	            -1);
	TEST_ASSERT(strstr(error, "XML") != NULL);
	sb_buf_free(&b);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"xml_escape", test_xml_escape},
	        {"uuid", test_uuid},
	        {"pem", test_pem},
	        {"client_parse", test_client_parse},
	        {"thunderbird", test_thunderbird},
	        {"apple_mail", test_apple_mail},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
