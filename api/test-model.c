#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/alloc.h"
#include "test.h"

static struct json_object *
parse(const char *text)
{
	struct json_object *obj = NULL;
	const char *error = NULL;

	if (api_json_parse(text, strlen(text), &obj, &error) != 0)
		test_fail(__FILE__, __LINE__, "parse: %s", error);
	return obj;
}

static void
expect_parse_error(const char *text, size_t len, const char *part)
{
	struct json_object *obj = NULL;
	const char *error = NULL;

	TEST_EQ_INT(api_json_parse(text, len, &obj, &error), -1);
	TEST_ASSERT(obj == NULL);
	if (strstr(error, part) == NULL)
		test_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", error,
		          part);
}

static void
test_json_parse_hostile(void)
{
	char deep[200];
	size_t i;

	expect_parse_error("", 0, "incomplete");
	expect_parse_error("{\"a\":1", 6, "incomplete");
	expect_parse_error("{\"a\":1} x", 9, "JSON");
	expect_parse_error("[1,2]", 5, "must be an object");
	expect_parse_error("\"s\"", 3, "must be an object");
	expect_parse_error("{\"a\":\"\xff\"}", 8, "not valid JSON");
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	memcpy(deep, "{\"a\":", 5);
	expect_parse_error(deep, 100, "not valid JSON");
	{
		char *big = malloc(API_MAX_JSON_BODY + 2);

		memset(big, ' ', API_MAX_JSON_BODY + 2);
		big[0] = '{';
		big[API_MAX_JSON_BODY + 1] = '}';
		expect_parse_error(big, API_MAX_JSON_BODY + 2, "too large");
		free(big);
	}
}

/* Every prefix of a valid text is refused cleanly, none crashes. */
static void
test_json_parse_every_prefix(void)
{
	static const char text[] = "{\"email\":\"a@b.c\",\"n\":[1,2,{\"x\":"
	                           "null}],\"s\":\"\\u00e9\"}";
	struct json_object *obj;
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(text) - 1; i++) {
		obj = NULL;
		TEST_EQ_INT(api_json_parse(text, i, &obj, &error), -1);
		TEST_ASSERT(obj == NULL);
	}
	TEST_EQ_INT(api_json_parse(text, sizeof(text) - 1, &obj, &error), 0);
	json_object_put(obj);
}

static void
test_fields(void)
{
	struct json_object *o = parse(
	        "{\"s\":\"abc\",\"n\":5,\"neg\":-1,\"big\":"
	        "18446744073709551615,"
	        "\"nul\":\"a\\u0000b\",\"id\":\"m_1-A\",\"badid\":\"a b\","
	        "\"e\":\"Alice@Example.ORG\",\"b64\":\"aGk=\",\"b64ws\":\"aG "
	        "k=\","
	        "\"b64nopad\":\"aGk\",\"t\":true,\"o\":{},\"null\":null}");
	const char *s = NULL, *error;
	char *email = NULL;
	uint64_t n = 0;
	unsigned char fixed[2];
	struct sb_buf b;
	bool t = false;

	TEST_EQ_INT(api_json_get_string(o, "s", true, 1, 3, &s, &error), 0);
	TEST_EQ_STR(s, "abc");
	TEST_EQ_INT(api_json_get_string(o, "s", true, 1, 2, &s, &error), -1);
	TEST_EQ_INT(api_json_get_string(o, "n", true, 1, 2, &s, &error), -1);
	TEST_ASSERT(strstr(error, "'n'") != NULL);
	TEST_EQ_INT(api_json_get_string(o, "nul", true, 0, 9, &s, &error), -1);
	TEST_EQ_INT(api_json_get_string(o, "zz", true, 0, 9, &s, &error), -1);
	TEST_ASSERT(strstr(error, "missing") != NULL);
	s = "kept";
	TEST_EQ_INT(api_json_get_string(o, "zz", false, 0, 9, &s, &error), 0);
	TEST_EQ_STR(s, "kept");

	TEST_EQ_INT(api_json_get_u64(o, "n", true, 0, 10, &n, &error), 0);
	TEST_EQ_UINT(n, 5);
	TEST_EQ_INT(api_json_get_u64(o, "n", true, 6, 10, &n, &error), -1);
	TEST_EQ_INT(api_json_get_u64(o, "neg", true, 0, 10, &n, &error), -1);
	TEST_EQ_INT(api_json_get_u64(o, "big", true, 0, UINT64_MAX, &n, &error),
	            -1);
	TEST_EQ_INT(api_json_get_u64(o, "s", true, 0, 10, &n, &error), -1);

	TEST_EQ_INT(api_json_get_id(o, "id", true, &s, &error), 0);
	TEST_EQ_STR(s, "m_1-A");
	TEST_EQ_INT(api_json_get_id(o, "badid", true, &s, &error), -1);
	TEST_EQ_INT(api_json_get_email(o, "e", true, &email, &error), 0);
	TEST_EQ_STR(email, "alice@example.org");
	free(email);
	TEST_EQ_INT(api_json_get_email(o, "s", true, &email, &error), -1);

	TEST_EQ_INT(api_json_get_fixed(o, "b64", true, fixed, 2, &error), 0);
	TEST_EQ_MEM(fixed, 2, "hi", 2);
	TEST_EQ_INT(api_json_get_fixed(o, "b64ws", true, fixed, 2, &error), -1);
	TEST_EQ_INT(api_json_get_fixed(o, "b64nopad", true, fixed, 2, &error),
	            -1);
	sb_buf_init(&b, 100);
	TEST_EQ_INT(api_json_get_bytes(o, "b64", true, 3, 10, &b, &error), -1);
	TEST_EQ_INT(api_json_get_bytes(o, "b64", true, 0, 10, &b, &error), 0);
	TEST_EQ_MEM(b.data, b.len, "hi", 2);
	sb_buf_free(&b);

	TEST_EQ_INT(api_json_get_bool(o, "t", true, &t, &error), 0);
	TEST_ASSERT(t);
	TEST_EQ_INT(api_json_get_bool(o, "n", true, &t, &error), -1);
	{
		struct json_object *sub = NULL;

		TEST_EQ_INT(api_json_get_object(o, "o", true, &sub, &error), 0);
		TEST_ASSERT(sub != NULL);
		TEST_EQ_INT(api_json_get_id_or_null(o, "null", &s, &error), 0);
		TEST_ASSERT(s == NULL);
	}
	{
		static const char *const allowed[] = {"s", NULL};

		TEST_EQ_INT(api_json_only(o, allowed, &error), -1);
		TEST_ASSERT(strstr(error, "unknown field") != NULL);
	}
	json_object_put(o);
}

static void
test_predicates(void)
{
	TEST_ASSERT(api_is_email("a@b", 3));
	TEST_ASSERT(!api_is_email("ab", 2));
	TEST_ASSERT(!api_is_email("a@b@c", 5));
	TEST_ASSERT(!api_is_email("@b.c", 4));
	TEST_ASSERT(!api_is_email("a b@c", 5));
	TEST_ASSERT(!api_is_email("<a@b>", 5));
	TEST_ASSERT(api_is_keyword("$seen", 5));
	TEST_ASSERT(api_is_keyword("$label1", 7));
	TEST_ASSERT(!api_is_keyword("$Seen", 5));
	TEST_ASSERT(!api_is_keyword("a b", 3));
	TEST_ASSERT(!api_is_keyword("a]", 2));
	TEST_ASSERT(api_is_role("inbox") && api_is_role("archive"));
	TEST_ASSERT(!api_is_role("INBOX") && !api_is_role("all"));
	TEST_ASSERT(api_is_mailbox_name("Caf\xc3\xa9", 5));
	TEST_ASSERT(!api_is_mailbox_name("a/b", 3));
	TEST_ASSERT(!api_is_mailbox_name("a\tb", 3));
	TEST_ASSERT(!api_is_mailbox_name("\xff", 1));
	TEST_ASSERT(!api_is_mailbox_name("", 0));
}

static void
test_errors(void)
{
	struct json_object *o;
	enum api_error_type t;
	char *message;
	const char *error;

	TEST_EQ_STR(api_error_name(API_ERR_CANNOT_CALCULATE_CHANGES),
	            "cannot_calculate_changes");
	TEST_EQ_UINT(api_error_status(API_ERR_RATE_LIMITED), 429);
	TEST_EQ_UINT(api_error_status(API_ERR_TOKEN_EXPIRED), 401);
	TEST_EQ_UINT(api_error_status(API_ERR_RANGE_NOT_SATISFIABLE), 416);
	TEST_ASSERT(api_error_name(API_ERR_COUNT) == NULL);
	o = api_error_to_json(API_ERR_OVER_QUOTA, "full");
	TEST_EQ_STR(
	        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	        "{\"error\":{\"type\":\"over_quota\",\"message\":\"full\"}}");
	TEST_EQ_INT(api_error_decode(o, &t, &message, &error), 0);
	TEST_EQ_INT(t, API_ERR_OVER_QUOTA);
	TEST_EQ_STR(message, "full");
	free(message);
	json_object_put(o);
	/* A type from a later version reads as a server fault. */
	o = parse("{\"error\":{\"type\":\"new_thing\",\"message\":\"m\"}}");
	TEST_EQ_INT(api_error_decode(o, &t, &message, &error), 0);
	TEST_EQ_INT(t, API_ERR_SERVER_ERROR);
	free(message);
	json_object_put(o);
}

/* Encodes, then decodes the text in strict mode. */
static struct json_object *
reparse(struct json_object *obj)
{
	size_t len;
	const char *text = api_json_text(obj, &len);
	struct json_object *back = NULL;
	const char *error;

	if (api_json_parse(text, len, &back, &error) != 0)
		test_fail(__FILE__, __LINE__, "reparse: %s", error);
	json_object_put(obj);
	return back;
}

static void
make_signup(struct api_signup *s)
{
	memset(s, 0, sizeof(*s));
	s->email = sb_strdup("Alice@Example.org");
	memcpy(s->account_id, "9f0c4e2a7b1d3c5e8f6a0b2c4d6e8f01", 33);
	memset(s->auth_key, 7, sizeof(s->auth_key));
	s->kdf.opslimit = 3;
	s->kdf.memlimit = 64 * 1024 * 1024;
	memset(s->kdf.salt, 9, sizeof(s->kdf.salt));
	memset(s->keys.enc_pk, 1, 32);
	memset(s->keys.sign_pk, 2, 32);
	memcpy(s->keys.wrapped_account_key, "SBWK\x01\x01", 6);
	memcpy(s->keys.wrapped_enc_sk, "SBWK\x01\x02", 6);
	memcpy(s->keys.wrapped_sign_seed, "SBWK\x01\x03", 6);
}

/* Decodes obj as a signup in mode; returns the result code. */
static int
signup_decodes(struct json_object *obj, enum api_mode mode,
               const char **error_r)
{
	struct api_signup s;
	int ret = api_signup_decode(obj, mode, &s, error_r);

	if (ret == 0)
		api_signup_free(&s);
	return ret;
}

static void
test_signup(void)
{
	struct api_signup s, d;
	struct json_object *o, *keys, *kdf;
	const char *error;

	make_signup(&s);
	o = reparse(api_signup_to_json(&s));
	TEST_EQ_INT(api_signup_decode(o, API_STRICT, &d, &error), 0);
	TEST_EQ_STR(d.email, "alice@example.org");
	TEST_EQ_STR(d.account_id, s.account_id);
	TEST_EQ_MEM(d.auth_key, 32, s.auth_key, 32);
	TEST_EQ_UINT(d.kdf.memlimit, s.kdf.memlimit);
	TEST_EQ_MEM(d.keys.wrapped_sign_seed, 78, s.keys.wrapped_sign_seed, 78);
	TEST_ASSERT(d.invite == NULL);
	api_signup_free(&d);

	/* Strict refuses an unknown field; lenient skips it. */
	json_object_object_add(o, "extra", json_object_new_int(1));
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), -1);
	TEST_ASSERT(strstr(error, "extra") != NULL);
	TEST_EQ_INT(signup_decodes(o, API_LENIENT, &error), 0);
	json_object_object_del(o, "extra");

	/* A hash too cheap for docs/crypto.md is refused. */
	TEST_ASSERT(json_object_object_get_ex(o, "kdf", &kdf));
	json_object_object_add(kdf, "opslimit", json_object_new_int(2));
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), -1);
	TEST_ASSERT(strstr(error, "opslimit") != NULL);
	json_object_object_add(kdf, "opslimit", json_object_new_int(3));
	json_object_object_add(kdf, "alg", json_object_new_string("scrypt"));
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), -1);
	json_object_object_add(kdf, "alg",
	                       json_object_new_string("argon2id13"));

	/* Wrapped keys must carry their magic and kind. */
	TEST_ASSERT(json_object_object_get_ex(o, "keys", &keys));
	api_json_add_bytes(keys, "wrapped_enc_sk", s.keys.wrapped_sign_seed,
	                   78);
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), -1);
	TEST_ASSERT(strstr(error, "wrapped_enc_sk") != NULL);
	api_json_add_bytes(keys, "wrapped_enc_sk", s.keys.wrapped_enc_sk, 77);
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), -1);
	api_json_add_bytes(keys, "wrapped_enc_sk", s.keys.wrapped_enc_sk, 78);
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), 0);

	/* The account id is 32 lower-case hex digits. */
	api_json_add_string(o, "account_id",
	                    "9F0C4E2A7B1D3C5E8F6A0B2C4D6E8F01");
	TEST_EQ_INT(signup_decodes(o, API_STRICT, &error), -1);
	json_object_put(o);
	api_signup_free(&s);
}

static void
make_message(struct api_message *m)
{
	api_message_init(m);
	m->id = sb_strdup("m_1");
	m->blob_id = sb_strdup("b_1");
	m->size = 4096;
	m->received_at = 1795000000;
	TEST_EQ_INT(sb_buf_add(&m->summary, "SBMS\x01", 5), 0);
	TEST_EQ_INT(sb_buf_add(&m->summary,
	                       "0123456789012345678901234567890123456789", 40),
	            0);
	memcpy(m->key_packet, "SBKP\x01", 5);
	api_strings_add(&m->mailbox_ids, "mb_inbox");
	api_strings_add(&m->keywords, "$seen");
	api_strings_add(&m->keywords, "$flagged");
}

static void
test_message(void)
{
	struct api_message m, d;
	struct json_object *o, *arr;
	const char *error;

	make_message(&m);
	o = reparse(api_message_to_json(&m));
	TEST_EQ_INT(api_message_decode(o, API_STRICT, &d, &error), 0);
	TEST_EQ_STR(d.id, "m_1");
	TEST_EQ_UINT(d.size, 4096);
	TEST_EQ_MEM(d.summary.data, d.summary.len, m.summary.data,
	            m.summary.len);
	TEST_EQ_UINT(d.keywords.count, 2);
	TEST_EQ_STR(d.keywords.items[1], "$flagged");
	api_message_free(&d);

	/* A repeated keyword, a bad one, a summary of another kind. */
	TEST_ASSERT(json_object_object_get_ex(o, "keywords", &arr));
	json_object_array_add(arr, json_object_new_string("$seen"));
	TEST_EQ_INT(api_message_decode(o, API_STRICT, &d, &error), -1);
	TEST_ASSERT(strstr(error, "repeats") != NULL);
	json_object_object_add(o, "keywords", api_strings_to_json(&m.keywords));
	json_object_array_add(json_object_object_get(o, "keywords"),
	                      json_object_new_string("Bad Word"));
	TEST_EQ_INT(api_message_decode(o, API_STRICT, &d, &error), -1);
	json_object_object_add(o, "keywords", api_strings_to_json(&m.keywords));
	api_json_add_bytes(o, "summary",
	                   "SBKP\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	                   45);
	TEST_EQ_INT(api_message_decode(o, API_STRICT, &d, &error), -1);
	TEST_ASSERT(strstr(error, "summary") != NULL);
	json_object_put(o);
	api_message_free(&m);
}

static void
test_update(void)
{
	struct json_object *o;
	struct api_update u;
	const char *error;

	o = parse("{\"update\":{\"m_1\":{\"add_keywords\":[\"$seen\"],"
	          "\"remove_mailbox_ids\":[\"mb_inbox\"]},"
	          "\"m_2\":{\"keywords\":[],\"mailbox_ids\":[\"mb_trash\"]}}}");
	TEST_EQ_INT(api_update_decode(o, API_STRICT, &u, &error), 0);
	TEST_EQ_UINT(u.count, 2);
	TEST_EQ_STR(u.patches[0].id, "m_1");
	TEST_ASSERT(!u.patches[0].replace_keywords);
	TEST_EQ_STR(u.patches[0].add_keywords.items[0], "$seen");
	TEST_ASSERT(u.patches[1].replace_keywords);
	TEST_EQ_UINT(u.patches[1].keywords.count, 0);
	TEST_ASSERT(u.patches[1].replace_mailboxes);
	/* And back: the same JSON. */
	{
		struct json_object *again = api_update_to_json(&u);

		TEST_EQ_STR(json_object_to_json_string(again),
		            json_object_to_json_string(o));
		json_object_put(again);
	}
	api_update_free(&u);
	json_object_put(o);

	o = parse("{\"update\":{\"m_1\":{\"keywords\":[],"
	          "\"add_keywords\":[\"$seen\"]}}}");
	TEST_EQ_INT(api_update_decode(o, API_STRICT, &u, &error), -1);
	TEST_ASSERT(strstr(error, "not both") != NULL);
	json_object_put(o);
	o = parse("{\"update\":{\"m_1\":{\"mailbox_ids\":[]}}}");
	TEST_EQ_INT(api_update_decode(o, API_STRICT, &u, &error), -1);
	json_object_put(o);
	o = parse("{\"update\":{}}");
	TEST_EQ_INT(api_update_decode(o, API_STRICT, &u, &error), -1);
	json_object_put(o);
	o = parse("{\"update\":{\"bad id\":{}}}");
	TEST_EQ_INT(api_update_decode(o, API_STRICT, &u, &error), -1);
	json_object_put(o);
}

static void
test_changes_and_lookup(void)
{
	struct json_object *o;
	struct api_changes c;
	struct api_key_lookup k;
	const char *error;

	o = parse(
	        "{\"old_state\":\"s1\",\"new_state\":\"s9\",\"has_more\":true,"
	        "\"messages\":{\"created\":[\"m_1\"],\"updated\":[],"
	        "\"destroyed\":[\"m_0\"]},\"mailboxes\":{\"created\":[],"
	        "\"updated\":[\"mb_inbox\"],\"destroyed\":[]},\"new\":1}");
	TEST_EQ_INT(api_changes_decode(o, API_STRICT, &c, &error), -1);
	TEST_EQ_INT(api_changes_decode(o, API_LENIENT, &c, &error), 0);
	TEST_ASSERT(c.has_more);
	TEST_EQ_STR(c.new_state, "s9");
	TEST_EQ_STR(c.messages.destroyed.items[0], "m_0");
	TEST_EQ_STR(c.mailboxes.updated.items[0], "mb_inbox");
	api_changes_free(&c);
	json_object_put(o);

	o = parse("{\"email\":\"carol@elsewhere.net\",\"on_service\":false}");
	TEST_EQ_INT(api_key_lookup_decode(o, API_STRICT, &k, &error), 0);
	TEST_ASSERT(!k.on_service);
	api_key_lookup_free(&k);
	json_object_put(o);
	o = parse("{\"email\":\"bob@example.org\",\"on_service\":true}");
	TEST_EQ_INT(api_key_lookup_decode(o, API_STRICT, &k, &error), -1);
	json_object_put(o);
}

static void
test_submission(void)
{
	struct api_submission s, d;
	struct json_object *o;
	const char *error;

	api_submission_init(&s);
	s.from = sb_strdup("alice@example.org");
	s.blob_id = sb_strdup("b_1");
	TEST_EQ_INT(
	        sb_buf_add(&s.summary,
	                   "SBMS\x01........................................",
	                   45),
	        0);
	s.recipients = calloc(2, sizeof(*s.recipients));
	s.n_recipients = 2;
	s.recipients[0].email = sb_strdup("bob@example.org");
	memcpy(s.recipients[0].key_packet, "SBKP\x01", 5);
	s.recipients[1].email = sb_strdup("dave@example.org");
	memcpy(s.recipients[1].key_packet, "SBKP\x01", 5);
	s.external_blob_id = sb_strdup("b_2");
	api_strings_add(&s.external, "carol@elsewhere.net");

	o = reparse(api_submission_to_json(&s));
	TEST_EQ_INT(api_submission_decode(o, API_STRICT, &d, &error), 0);
	TEST_EQ_UINT(d.n_recipients, 2);
	TEST_EQ_STR(d.recipients[1].email, "dave@example.org");
	TEST_EQ_STR(d.external_blob_id, "b_2");
	TEST_ASSERT(!d.has_sent_copy);
	api_submission_free(&d);
	json_object_put(o);

	/* The same recipient twice is refused. */
	free(s.recipients[1].email);
	s.recipients[1].email = sb_strdup("bob@example.org");
	o = reparse(api_submission_to_json(&s));
	TEST_EQ_INT(api_submission_decode(o, API_STRICT, &d, &error), -1);
	TEST_ASSERT(strstr(error, "repeats") != NULL);
	json_object_put(o);
	api_submission_free(&s);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"parse: hostile input", test_json_parse_hostile},
	        {"parse: every prefix", test_json_parse_every_prefix},
	        {"fields", test_fields},
	        {"predicates", test_predicates},
	        {"errors", test_errors},
	        {"signup", test_signup},
	        {"message", test_message},
	        {"update", test_update},
	        {"changes and key lookup", test_changes_and_lookup},
	        {"submission", test_submission},
	        {NULL, NULL},
	};
	return test_run(cases);
}
