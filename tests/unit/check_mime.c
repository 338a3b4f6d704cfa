/* Unit tests for mime/: addresses, header fields, body encoders and part
 * rendering. Output is decoded back with decoders written here (and
 * OpenSSL's base64), not with the module's own, and checked line by line. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "mime/address.h"
#include "mime/date.h"
#include "mime/header.h"
#include "mime/parse.h"
#include "mime/part.h"
#include "util/strbuf.h"

#define COUNT(table) (int)(sizeof(table) / sizeof((table)[0]))

/* Test helpers: line checks. */

/* Calls check(line, len, ctx) for each CRLF-terminated line of s; a final
 * piece without CRLF counts as a line too. Fails on a bare CR or LF. */
static void
for_each_line(const char *s, size_t len,
    void (*check)(const char *line, size_t line_len, void *ctx), void *ctx)
{
	size_t start = 0, i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			ck_assert_msg(s[i] == '\r' && i + 1 < len &&
			    s[i + 1] == '\n', "bare CR or LF at offset %zu", i);
			check(s + start, i - start, ctx);
			i++;
			start = i + 1;
		}
	}
	if (start < len)
		check(s + start, len - start, ctx);
}

struct line_limits {
	size_t max;		/* maximum line length */
	bool seven_bit;		/* only bytes 1..127 */
	bool no_trailing_space;
};

static void
check_line_limits(const char *line, size_t len, void *ctx)
{
	const struct line_limits *limits = ctx;
	size_t i;

	ck_assert_msg(len <= limits->max, "line of %zu > %zu: %.*s", len,
	    limits->max, (int)len, line);
	if (limits->no_trailing_space && len > 0)
		ck_assert_msg(line[len - 1] != ' ' && line[len - 1] != '\t',
		    "line ends in white space: \"%.*s\"", (int)len, line);
	for (i = 0; limits->seven_bit && i < len; i++)
		ck_assert_msg(line[i] != '\0' && (unsigned char)line[i] < 0x80,
		    "8-bit or NUL byte 0x%02x in line \"%.*s\"",
		    (unsigned char)line[i], (int)len, line);
}

static void
assert_lines(const struct strbuf *sb, size_t max, bool seven_bit,
    bool no_trailing_space)
{
	struct line_limits limits = { max, seven_bit, no_trailing_space };

	for_each_line(strbuf_str(sb), sb->len, check_line_limits, &limits);
}

static size_t
count_lines(const struct strbuf *sb)
{
	size_t n = 0, i;

	for (i = 0; i + 1 < sb->len; i++) {
		if (sb->data[i] == '\r' && sb->data[i + 1] == '\n')
			n++;
	}
	return n;
}

/* Test helpers: independent decoders. */

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;	/* RFC 2045 requires upper-case hex */
}

/* Decodes base64 lines with OpenSSL; fails the test on bad input. */
static void
decode_base64(const char *s, size_t len, struct strbuf *out)
{
	struct strbuf clean = STRBUF_INIT;
	unsigned char *buf;
	size_t i, pad = 0;
	int n;

	for (i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			strbuf_appendc(&clean, s[i]);
	}
	if (clean.len == 0) {
		strbuf_free(&clean);
		return;
	}
	ck_assert_uint_eq(clean.len % 4, 0);
	if (clean.data[clean.len - 1] == '=')
		pad++;
	if (clean.data[clean.len - 2] == '=')
		pad++;
	buf = malloc(clean.len);
	n = EVP_DecodeBlock(buf, (const unsigned char *)clean.data,
	    (int)clean.len);
	ck_assert_int_ge(n, 0);
	strbuf_append(out, buf, (size_t)n - pad);
	free(buf);
	strbuf_free(&clean);
}

/* Decodes quoted-printable (RFC 2045 section 6.7). */
static void
decode_qp(const char *s, size_t len, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != '=') {
			strbuf_appendc(out, s[i]);
			continue;
		}
		if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;	/* soft line break */
			continue;
		}
		ck_assert_msg(i + 2 < len && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0, "bad escape at offset %zu", i);
		strbuf_appendc(out,
		    (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2])));
		i += 2;
	}
}

/* Removes every CRLF that is followed by white space (RFC 5322 2.2.3). */
static char *
unfold(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 2 < len && s[i + 1] == '\n' &&
		    (s[i + 2] == ' ' || s[i + 2] == '\t')) {
			i++;
			continue;
		}
		strbuf_appendc(&sb, s[i]);
	}
	return strbuf_detach(&sb, NULL);
}

/* Decodes one "=?utf-8?B|Q?...?=" at s; returns its length or 0. Checks the
 * 75-character limit of RFC 2047 section 2. */
static size_t
decode_one_encoded_word(const char *s, struct strbuf *out)
{
	const char *q, *end;
	bool b;

	if (strncmp(s, "=?utf-8?", 8) != 0)
		return 0;
	if (s[8] != 'B' && s[8] != 'Q')
		return 0;
	b = s[8] == 'B';
	q = s + 10;
	end = strstr(q, "?=");
	ck_assert_ptr_nonnull(end);
	ck_assert_msg(end + 2 - s <= 75, "encoded-word of %d characters",
	    (int)(end + 2 - s));
	if (b) {
		decode_base64(q, (size_t)(end - q), out);
	} else {
		for (; q < end; q++) {
			if (*q == '_') {
				strbuf_appendc(out, ' ');
			} else if (*q == '=') {
				int hi = hex_digit(q[1]), lo = hex_digit(q[2]);

				ck_assert(hi >= 0);
				ck_assert(lo >= 0);
				strbuf_appendc(out, (char)(hi << 4 | lo));
				q += 2;
			} else {
				ck_assert_msg(strchr(" ?\t", *q) == NULL,
				    "bad Q character");
				strbuf_appendc(out, *q);
			}
		}
	}
	return (size_t)(end + 2 - s);
}

/* Decodes unfolded unstructured text: encoded-words are whole words, and
 * white space between two of them is dropped (RFC 2047 section 6.2). */
static char *
decode_text(const char *s)
{
	struct strbuf out = STRBUF_INIT, space = STRBUF_INIT;
	bool after_word = false;
	size_t n;

	while (*s != '\0') {
		char last = out.len > 0 ? out.data[out.len - 1] : ' ';
		bool word_start = after_word || last == ' ' || last == '\t';

		if (word_start && (n = decode_one_encoded_word(s, &out)) > 0) {
			strbuf_reset(&space);
			s += n;
			after_word = true;
			continue;
		}
		if (after_word && (*s == ' ' || *s == '\t')) {
			strbuf_appendc(&space, *s++);
			continue;
		}
		strbuf_append(&out, space.data, space.len);
		strbuf_reset(&space);
		after_word = false;
		strbuf_appendc(&out, *s++);
	}
	strbuf_append(&out, space.data, space.len);
	strbuf_free(&space);
	return strbuf_detach(&out, NULL);
}

/* Returns the unfolded value of a one-field buffer "Name: value\r\n"
 * without the leading space. */
static char *
field_value(const struct strbuf *field, const char *name)
{
	size_t name_len = strlen(name);
	char *all, *value;

	ck_assert_msg(field->len >= name_len + 3, "field too short");
	ck_assert_int_eq(strncmp(field->data, name, name_len), 0);
	ck_assert_int_eq(field->data[name_len], ':');
	ck_assert_int_eq(memcmp(field->data + field->len - 2, "\r\n", 2), 0);
	all = unfold(field->data + name_len + 1, field->len - name_len - 3);
	value = strdup(all[0] == ' ' ? all + 1 : all);
	free(all);
	return value;
}

/* Addresses: validity. */

static const struct {
	const char *email;
	bool valid;
} address_cases[] = {
	{ "alice@example.com", true },
	{ "a@b", true },
	{ "first.last@sub.example.org", true },
	{ "user+tag@example.com", true },
	{ "!#$%&'*+-/=?^_`{|}~@example.com", true },
	{ "\"john smith\"@example.com", true },
	{ "\"a@b\"@example.com", true },
	{ "\"quote\\\"inside\"@example.com", true },
	{ "\"\"@example.com", true },
	{ "user@[192.0.2.1]", true },
	{ "user@[IPv6:2001:db8::1]", true },
	{ "j\xc3\xb6rg@m\xc3\xbcller.example", true },
	{ "\xe7\x94\xa8\xe6\x88\xb7@"
	  "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", true },
	{ "", false },
	{ "plain", false },
	{ "@example.com", false },
	{ "user@", false },
	{ "a@@b", false },
	{ "a@b@c", false },
	{ ".user@example.com", false },
	{ "user.@example.com", false },
	{ "us..er@example.com", false },
	{ "user@.example.com", false },
	{ "user@example.com.", false },
	{ "user@exa..mple.com", false },
	{ "john smith@example.com", false },
	{ " user@example.com", false },
	{ "user@example.com ", false },
	{ "user@exa mple.com", false },
	{ "user\r\n@example.com", false },
	{ "user@example.com\r\nBcc: x@y", false },
	{ "user\n@example.com", false },
	{ "us\ter@example.com", false },
	{ "us\x01" "er@example.com", false },
	{ "us\x7f" "er@example.com", false },
	{ "a\0@example.com", false },	/* NUL ends the C string: "a" */
	{ "<user@example.com>", false },
	{ "user@example.com>", false },
	{ "user(comment)@example.com", false },
	{ "us,er@example.com", false },
	{ "\"unterminated@example.com", false },
	{ "\"a\"b@example.com", false },
	{ "\"a\rb\"@example.com", false },
	{ "user@[192.0.2.1", false },
	{ "user@[a]b", false },
	{ "user@[a[b]", false },
	{ "j\xc3\xb6rg\xc3@example.com", false },	/* truncated UTF-8 */
	{ "\xc0\xaf@example.com", false },		/* overlong */
	{ "\xed\xa0\x80@example.com", false },		/* surrogate */
	{ "\xf4\x90\x80\x80@example.com", false },	/* above U+10FFFF */
	{ "1234567890123456789012345678901234567890123456789012345678901234"
	  "@example.com", true },
	{ "12345678901234567890123456789012345678901234567890123456789012345"
	  "@example.com", false },
};

START_TEST(address_valid_cases)
{
	const char *email = address_cases[_i].email;
	char *error = NULL;
	int rc;

	ck_assert_msg(mime_address_is_valid(email) == address_cases[_i].valid,
	    "case %d \"%s\": expected %s", _i, email,
	    address_cases[_i].valid ? "valid" : "invalid");
	rc = mime_address_check(email, &error);
	ck_assert_int_eq(rc, address_cases[_i].valid ? 0 : -1);
	if (rc < 0) {
		ck_assert_ptr_nonnull(error);
		ck_assert_msg(strncmp(error, "invalid email address \"",
		    23) == 0, "message: %s", error);
		ck_assert_ptr_null(strchr(error, '\r'));
		ck_assert_ptr_null(strchr(error, '\n'));
	}
	free(error);
}
END_TEST

START_TEST(address_total_length_limit)
{
	char email[300];

	/* 64 + 1 + 189 = 254 octets is the maximum. */
	memset(email, 'a', 64);
	email[64] = '@';
	memset(email + 65, 'b', 189);
	email[254] = '\0';
	ck_assert(mime_address_is_valid(email));
	email[254] = 'b';
	email[255] = '\0';
	ck_assert(!mime_address_is_valid(email));
}
END_TEST

START_TEST(address_check_message)
{
	char *error = NULL;

	ck_assert_int_eq(mime_address_check("a@@b", &error), -1);
	ck_assert_str_eq(error, "invalid email address \"a@@b\": "
	    "invalid character \"@\" in domain");
	free(error);

	ck_assert_int_eq(mime_address_check("plain", &error), -1);
	ck_assert_str_eq(error,
	    "invalid email address \"plain\": missing \"@\"");
	free(error);

	ck_assert_int_eq(mime_address_check("a\r\nb@c", &error), -1);
	ck_assert_str_eq(error,
	    "invalid email address \"a\\r\\nb@c\": contains a line break");
	free(error);

	ck_assert_int_eq(mime_address_check(NULL, &error), -1);
	ck_assert_str_eq(error, "missing email address");
	free(error);
}
END_TEST

START_TEST(address_check_message_truncated)
{
	char email[400], *error = NULL;

	memset(email, 'x', 300);
	memcpy(email + 300, "@@example.com", 14);
	ck_assert_int_eq(mime_address_check(email, &error), -1);
	ck_assert_msg(strlen(error) < 160, "message too long: %s", error);
	ck_assert_ptr_nonnull(strstr(error, "...\""));
	free(error);
}
END_TEST

static const struct {
	const char *a, *b;
	bool ignore_local_case, equal;
} equal_cases[] = {
	{ "alice@example.com", "alice@example.com", false, true },
	{ "alice@example.com", "alice@EXAMPLE.com", false, true },
	{ "alice@example.com", "Alice@example.com", false, false },
	{ "alice@example.com", "Alice@example.com", true, true },
	{ "alice@example.com", "bob@example.com", true, false },
	{ "alice@example.com", "alice@example.org", true, false },
	{ "\"alice\"@example.com", "alice@example.com", false, true },
	{ "\"a\\\"b\"@example.com", "\"a\\\"b\"@EXAMPLE.COM", false, true },
	{ "\"a b\"@example.com", "ab@example.com", true, false },
	{ "j\xc3\xb6rg@example.com", "j\xc3\xb6rg@Example.com", false, true },
	{ "alice@example.com", "alice@example.com.", true, false },
	{ "not an address", "not an address", true, true },
};

START_TEST(address_equal_cases)
{
	ck_assert_msg(mime_address_equal(equal_cases[_i].a, equal_cases[_i].b,
	    equal_cases[_i].ignore_local_case) == equal_cases[_i].equal,
	    "case %d: \"%s\" vs \"%s\"", _i, equal_cases[_i].a,
	    equal_cases[_i].b);
}
END_TEST

/* Addresses: list parsing. */

struct expected_mailbox {
	const char *name;	/* NULL: no display name */
	const char *email;
};

static const struct {
	const char *text;
	int count;		/* -1: parse error */
	struct expected_mailbox mailboxes[4];
} list_cases[] = {
	{ "alice@example.com", 1, { { NULL, "alice@example.com" } } },
	{ "Alice <alice@example.com>", 1,
	  { { "Alice", "alice@example.com" } } },
	{ "Alice Smith <alice@example.com>, bob@example.org", 2,
	  { { "Alice Smith", "alice@example.com" },
	    { NULL, "bob@example.org" } } },
	{ "\"Smith, Alice\" <alice@example.com>, \"Bob \\\"B\\\" Jones\" "
	  "<bob@example.org>", 2,
	  { { "Smith, Alice", "alice@example.com" },
	    { "Bob \"B\" Jones", "bob@example.org" } } },
	{ "\"a,b\"@example.com, c@example.com", 2,
	  { { NULL, "\"a,b\"@example.com" }, { NULL, "c@example.com" } } },
	{ "Friends: alice@example.com, Bob <bob@example.org>;, "
	  "carol@example.net", 3,
	  { { NULL, "alice@example.com" }, { "Bob", "bob@example.org" },
	    { NULL, "carol@example.net" } } },
	{ "undisclosed-recipients:;", 0, { { NULL, NULL } } },
	{ "", 0, { { NULL, NULL } } },
	{ " , ,alice@example.com,, ", 1, { { NULL, "alice@example.com" } } },
	{ "Alice (the boss) <alice(home)@example.com(x)>", 1,
	  { { "Alice", "alice@example.com" } } },
	{ "(comment) alice@example.com", 1,
	  { { NULL, "alice@example.com" } } },
	{ "alice@example.com (Alice Smith)", 1,
	  { { "Alice Smith", "alice@example.com" } } },
	{ "=?utf-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@example.de>", 1,
	  { { "J\xc3\xb6rg M\xc3\xbcller", "jm@example.de" } } },
	{ "=?UTF-8?B?SsO2cmc=?= =?UTF-8?B?IE3DvGxsZXI=?= <jm@example.de>", 1,
	  { { "J\xc3\xb6rg M\xc3\xbcller", "jm@example.de" } } },
	{ "=?iso-8859-1?q?Andr=E9?= Pirard <pirard@example.be>", 1,
	  { { "Andr\xc3\xa9 Pirard", "pirard@example.be" } } },
	{ "=?US-ASCII?Q?Keith_Moore?= <moore@example.edu>", 1,
	  { { "Keith Moore", "moore@example.edu" } } },
	{ "=?utf-8?q?Smith=2C_John?= <js@example.com>", 1,
	  { { "Smith, John", "js@example.com" } } },
	{ "=?utf-8?b?4oKs?=\r\n =?utf-8?b?4oKs?= <euro@example.com>", 1,
	  { { "\xe2\x82\xac\xe2\x82\xac", "euro@example.com" } } },
	{ "=?windows-1252?q?=80uro?= <e@example.com>", 1,
	  { { "\xe2\x82\xacuro", "e@example.com" } } },
	{ "=?utf-8?q?=E2=82?= =?utf-8?q?=AC?= <e@example.com>", 1,
	  { { "\xe2\x82\xac", "e@example.com" } } },
	{ "=?utf-8?q?a=FFb?= <e@example.com>", 1,
	  { { "a\xef\xbf\xbd" "b", "e@example.com" } } },
	{ "=?utf-8?q?a=00b=0D=0Ac?= <e@example.com>", 1,
	  { { "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c",
	      "e@example.com" } } },
	{ "=?utf-8*en?q?Hi?= <e@example.com>", 1,
	  { { "Hi", "e@example.com" } } },
	{ "=?utf-8?q?bad=Z?= <e@example.com>", 1,
	  { { "=?utf-8?q?bad=Z?=", "e@example.com" } } },
	{ "=?utf-8?q?One?= plain =?utf-8?q?Two?= <e@example.com>", 1,
	  { { "One plain Two", "e@example.com" } } },
	{ "=?x-unknown?q?abc?= <u@example.com>", 1,
	  { { "=?x-unknown?q?abc?=", "u@example.com" } } },
	{ "\"=?utf-8?q?Caf=C3=A9?=\" <cafe@example.com>", 1,
	  { { "Caf\xc3\xa9", "cafe@example.com" } } },
	{ "J\xc3\xb6rg <j\xc3\xb6rg@example.de>", 1,
	  { { "J\xc3\xb6rg", "j\xc3\xb6rg@example.de" } } },
	{ "John Q. Public <jqp@example.com>", 1,
	  { { "John Q. Public", "jqp@example.com" } } },
	{ "Alice\r\n <alice@example.com>", 1,
	  { { "Alice", "alice@example.com" } } },
	{ "<@route.example:alice@example.com>", 1,
	  { { NULL, "alice@example.com" } } },
	{ "\"alice\"@example.com", 1, { { NULL, "alice@example.com" } } },
	{ "\"john smith\"@example.com", 1,
	  { { NULL, "\"john smith\"@example.com" } } },
	{ "user@[192.0.2.1]", 1, { { NULL, "user@[192.0.2.1]" } } },
	{ "\"\" <alice@example.com>", 1, { { NULL, "alice@example.com" } } },
	{ "a@@b", -1, { { NULL, NULL } } },
	{ "John Smith", -1, { { NULL, NULL } } },
	{ "Alice <alice@example.com", -1, { { NULL, NULL } } },
	{ "Alice <>", -1, { { NULL, NULL } } },
	{ "\"Alice <alice@example.com>", -1, { { NULL, NULL } } },
	{ "(Alice <alice@example.com>", -1, { { NULL, NULL } } },
	{ "Group: alice@example.com", -1, { { NULL, NULL } } },
	{ "A: B: c@example.com;;", -1, { { NULL, NULL } } },
	{ "alice@example.com bob@example.com", -1, { { NULL, NULL } } },
	{ "alice@example.com\x01", -1, { { NULL, NULL } } },
	{ "\xff <a@example.com>", -1, { { NULL, NULL } } },
	{ "a@example.com>", -1, { { NULL, NULL } } },
	{ "a@example..com", -1, { { NULL, NULL } } },
};

START_TEST(address_list_parse_cases)
{
	struct mime_address *list = NULL;
	size_t count = 0, i;
	char *error = NULL;
	int rc;

	rc = mime_address_list_parse(list_cases[_i].text, &list, &count,
	    &error);
	if (list_cases[_i].count < 0) {
		ck_assert_msg(rc == -1, "case %d \"%s\" parsed", _i,
		    list_cases[_i].text);
		ck_assert_ptr_nonnull(error);
		ck_assert_msg(strstr(error, "invalid") == error, "message: %s",
		    error);
		free(error);
		return;
	}
	ck_assert_msg(rc == 0, "case %d \"%s\": %s", _i, list_cases[_i].text,
	    error);
	ck_assert_uint_eq(count, (size_t)list_cases[_i].count);
	for (i = 0; i < count; i++) {
		const struct expected_mailbox *want =
		    &list_cases[_i].mailboxes[i];

		ck_assert_str_eq(list[i].email, want->email);
		if (want->name == NULL)
			ck_assert_ptr_null(list[i].name);
		else
			ck_assert_pstr_eq(list[i].name, want->name);
	}
	mime_address_list_free(list, count);
}
END_TEST

START_TEST(address_list_error_names_text)
{
	struct mime_address *list = NULL;
	size_t count = 0;
	char *error = NULL;

	ck_assert_int_eq(mime_address_list_parse("Alice <alice@example.com",
	    &list, &count, &error), -1);
	ck_assert_str_eq(error, "invalid address list "
	    "\"Alice <alice@example.com\": missing \">\" after address");
	free(error);

	ck_assert_int_eq(mime_address_list_parse("Bob <a@@b>", &list, &count,
	    &error), -1);
	ck_assert_str_eq(error, "invalid address list \"Bob <a@@b>\": "
	    "missing domain after \"@\"");
	free(error);

	ck_assert_int_eq(mime_address_list_parse("Bob <a@b..c>", &list, &count,
	    &error), -1);
	ck_assert_str_eq(error, "invalid email address \"a@b..c\": "
	    "consecutive dots in domain");
	free(error);
}
END_TEST

/* Header fields: unstructured text. */

/* Writes value as Subject and checks the folding rules and that decoding
 * gives back the value without its outer white space. */
static void
assert_text_round_trip(const char *value, bool expect_encoded)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL, *raw, *decoded, *trimmed;
	size_t start, end;
	int rc;

	rc = mime_header_append_text(&out, "Subject", value, &error);
	ck_assert_msg(rc == 0, "\"%s\": %s", value, error);
	assert_lines(&out, 78, true, true);
	ck_assert_uint_ge(out.len, 2);
	ck_assert_msg(memcmp(out.data + out.len - 2, "\r\n", 2) == 0,
	    "field does not end in CRLF");

	raw = field_value(&out, "Subject");
	ck_assert_msg((strstr(raw, "=?utf-8?") != NULL) == expect_encoded,
	    "encoded-words %s expected in \"%s\"", expect_encoded ? "" : "not",
	    raw);
	decoded = decode_text(raw);
	start = strspn(value, " \t");
	end = strlen(value);
	while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	trimmed = strndup(value + start, end - start);
	ck_assert_str_eq(decoded, trimmed);
	free(trimmed);
	free(decoded);
	free(raw);
	strbuf_free(&out);
}

static char *
repeat(const char *piece, size_t times)
{
	struct strbuf sb = STRBUF_INIT;

	while (times-- > 0)
		strbuf_appends(&sb, piece);
	return strbuf_detach(&sb, NULL);
}

static const struct {
	const char *piece;	/* repeated `times` times */
	size_t times;
	bool encoded;
} text_cases[] = {
	{ "Hello world", 1, false },
	{ "", 1, false },
	{ "   padded   ", 1, false },
	{ "word ", 40, false },				/* long, with spaces */
	{ "x", 77, false },				/* fits a line alone */
	{ "x", 200, true },				/* long, no spaces */
	{ "y", 2000, true },				/* longer than 998 */
	{ "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln ", 12, true },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 40, true },	/* CJK */
	{ "\xf0\x9f\x98\x80", 50, true },		/* 4-byte characters */
	{ "a\xc3\xa9", 100, true },		/* long non-ASCII word */
	{ "caf\xc3\xa9 ", 30, true },
	{ "tab\tseparated\t\twords ", 8, false },
	{ "double  spaces   inside ", 6, false },
	{ "looks =?utf-8?q?like?= an encoded-word", 1, true },
	{ "=?", 1, true },
	{ "bell\x07 character", 1, true },
	{ "wide                                                       gap", 1,
	  true },
	{ "ascii then \xc3\xbcmlaut then ascii again ", 5, true },
	{ "Re: [list] a rather long subject line that needs folding, "
	  "with punctuation; and (parentheses)", 2, false },
};

START_TEST(header_text_folding_cases)
{
	char *value = repeat(text_cases[_i].piece, text_cases[_i].times);

	assert_text_round_trip(value, text_cases[_i].encoded);
	free(value);
}
END_TEST

START_TEST(header_text_exact_output)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(mime_header_append_text(&out, "Subject", "Hello world",
	    &error), 0);
	ck_assert_str_eq(out.data, "Subject: Hello world\r\n");
	strbuf_reset(&out);

	ck_assert_int_eq(mime_header_append_text(&out, "Subject", "  ",
	    &error), 0);
	ck_assert_str_eq(out.data, "Subject:\r\n");
	strbuf_reset(&out);

	/* "Caf\xc3\xa9" is 8 characters in B and 9 in Q, so B wins. */
	ck_assert_int_eq(mime_header_append_text(&out, "Subject",
	    "Fwd: Caf\xc3\xa9 menu", &error), 0);
	ck_assert_str_eq(out.data,
	    "Subject: Fwd: =?utf-8?B?Q2Fmw6k=?= menu\r\n");
	strbuf_free(&out);
}
END_TEST

START_TEST(header_text_fold_at_78)
{
	struct strbuf out = STRBUF_INIT;
	char value[100], *error = NULL;

	/* "Subject: " is 9 characters, so 69 more fill the line exactly. */
	memset(value, 'a', 60);
	value[60] = ' ';
	memset(value + 61, 'b', 8);
	value[69] = '\0';
	ck_assert_int_eq(mime_header_append_text(&out, "Subject", value,
	    &error), 0);
	ck_assert_uint_eq(out.len, 78 + 2);
	ck_assert_uint_eq(count_lines(&out), 1);
	strbuf_reset(&out);

	/* One more character folds before the last word. */
	value[69] = 'b';
	value[70] = '\0';
	ck_assert_int_eq(mime_header_append_text(&out, "Subject", value,
	    &error), 0);
	ck_assert_uint_eq(count_lines(&out), 2);
	ck_assert_ptr_nonnull(strstr(out.data, "a\r\n bbbbbbbbb\r\n"));
	strbuf_free(&out);
}
END_TEST

START_TEST(header_text_long_folds_at_spaces_only)
{
	struct strbuf out = STRBUF_INIT;
	char *value = repeat("folding ", 30), *error = NULL;
	size_t i;

	ck_assert_int_eq(mime_header_append_text(&out, "Subject", value,
	    &error), 0);
	assert_lines(&out, 78, true, true);
	ck_assert_uint_ge(count_lines(&out), 3);
	/* Every continuation line starts with the space that was folded. */
	for (i = 0; i + 2 < out.len; i++) {
		if (out.data[i] == '\r')
			ck_assert(out.data[i + 2] == ' ' || i + 2 == out.len);
	}
	ck_assert_ptr_null(strstr(out.data, "=?"));
	free(value);
	strbuf_free(&out);
}
END_TEST

static const struct {
	const char *name;
	const char *value;
	const char *reason;
} text_error_cases[] = {
	{ "Subject", "line\r\nBcc: eve@example.com", "contains CR or LF" },
	{ "Subject", "bare\nLF", "contains CR or LF" },
	{ "Subject", "bare\rCR", "contains CR or LF" },
	{ "Subject", "bad \xc3\x28 UTF-8", "invalid UTF-8" },
	{ "Subject", "\xed\xa0\x80", "invalid UTF-8" },
	{ "Sub ject", "x", "only printable US-ASCII" },
	{ "Subject:", "x", "only printable US-ASCII" },
	{ "", "x", "empty header field name" },
};

START_TEST(header_text_rejects_cases)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	strbuf_appends(&out, "Previous: field\r\n");
	ck_assert_int_eq(mime_header_append_text(&out,
	    text_error_cases[_i].name, text_error_cases[_i].value, &error), -1);
	ck_assert_msg(strstr(error, text_error_cases[_i].reason) != NULL,
	    "message: %s", error);
	ck_assert_ptr_null(strchr(error, '\n'));
	ck_assert_str_eq(out.data, "Previous: field\r\n");
	free(error);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_text_error_names_value)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(mime_header_append_text(&out, "Subject", "a\r\nb",
	    &error), -1);
	ck_assert_str_eq(error,
	    "invalid Subject value \"a\\r\\nb\": contains CR or LF");
	free(error);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_hard_limit_rejects)
{
	struct strbuf out = STRBUF_INIT;
	char name[1001], id[1001], *error = NULL;
	const char *ids[1] = { id };

	/* Nothing can fold inside a field name or a msg-id. */
	memset(name, 'X', 1000);
	name[1000] = '\0';
	ck_assert_int_eq(mime_header_append_text(&out, name, "short", &error),
	    -1);
	ck_assert_ptr_nonnull(strstr(error, "at most 998 octets"));
	free(error);
	ck_assert_uint_eq(out.len, 0);

	memset(id, 'a', 1000);
	id[500] = '@';
	id[1000] = '\0';
	ck_assert_int_eq(mime_header_append_msgids(&out, "References", ids, 1,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "at most 998 octets"));
	free(error);
	ck_assert_uint_eq(out.len, 0);

	/* A long id folds onto a line of its own, " <id>", so 995 octets fit
	 * and 996 do not. */
	id[996] = '\0';
	ck_assert_int_eq(mime_header_append_msgids(&out, "References", ids, 1,
	    &error), -1);
	free(error);
	id[995] = '\0';
	ck_assert_int_eq(mime_header_append_msgids(&out, "References", ids, 1,
	    &error), 0);
	ck_assert_uint_eq(out.len, strlen("References:\r\n") + 998 + 2);
	assert_lines(&out, 998, true, true);
	strbuf_free(&out);
}
END_TEST

static const struct {
	const char *name;
	bool valid;
} field_name_cases[] = {
	{ "Subject", true },
	{ "X-Custom-Header", true },
	{ "x!#$%&'*+-.^_`|~", true },
	{ "", false },
	{ "With Space", false },
	{ "Colon:", false },
	{ "Tab\t", false },
	{ "Cr\r", false },
	{ "Umlaut\xc3\xbc", false },
	{ "Del\x7f", false },
};

START_TEST(header_check_name_cases)
{
	char *error = NULL;
	int rc = mime_header_check_name(field_name_cases[_i].name, &error);

	ck_assert_int_eq(rc, field_name_cases[_i].valid ? 0 : -1);
	if (rc < 0)
		ck_assert_ptr_nonnull(error);
	free(error);
}
END_TEST

/* Header fields: addresses. */

static const struct {
	const char *name;
	const char *email;
	const char *field;	/* expected output, NULL: round trip only */
} mailbox_cases[] = {
	{ NULL, "alice@example.com", "To: alice@example.com\r\n" },
	{ "", "alice@example.com", "To: alice@example.com\r\n" },
	{ "Alice", "alice@example.com", "To: Alice <alice@example.com>\r\n" },
	{ "Alice Smith", "alice@example.com",
	  "To: Alice Smith <alice@example.com>\r\n" },
	{ "Smith, Alice", "alice@example.com",
	  "To: \"Smith, Alice\" <alice@example.com>\r\n" },
	{ "Bob \"B\" Jones", "bob@example.org",
	  "To: \"Bob \\\"B\\\" Jones\" <bob@example.org>\r\n" },
	{ "John Q. Public", "jqp@example.com",
	  "To: \"John Q. Public\" <jqp@example.com>\r\n" },
	{ "back\\slash", "b@example.com",
	  "To: \"back\\\\slash\" <b@example.com>\r\n" },
	{ "a@b", "c@example.com", "To: \"a@b\" <c@example.com>\r\n" },
	{ "<x>;(y):[z]", "c@example.com",
	  "To: \"<x>;(y):[z]\" <c@example.com>\r\n" },
	{ "two  spaces", "c@example.com",
	  "To: \"two  spaces\" <c@example.com>\r\n" },
	{ " lead", "c@example.com", "To: \" lead\" <c@example.com>\r\n" },
	{ "J\xc3\xb6rg", "jm@example.de",
	  "To: =?utf-8?B?SsO2cmc=?= <jm@example.de>\r\n" },
	{ "=?utf-8?q?x?=", "c@example.com", NULL },
	{ "J\xc3\xb6rg M\xc3\xbcller, Dr.", "jm@example.de", NULL },
	{ "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e", "t@example.jp",
	  NULL },
	{ "A very long display name that does not fit on one line of the "
	  "header at all", "long@example.com", NULL },
	{ "A very long \"quoted\" display name, with specials, that cannot "
	  "fit on one line", "long@example.com", NULL },
	{ "Anwendungsentwicklungsabteilungsleiterstellvertretervorzimmer"
	  "damenschreibtisch", "de@example.de", NULL },
	{ "Jane", "j\xc3\xb6rg@m\xc3\xbcller.example",
	  "To: Jane <j\xc3\xb6rg@m\xc3\xbcller.example>\r\n" },
	{ "Tab\there", "t@example.com", NULL },
};

/* Parses the unfolded value back and compares with what was written. */
static void
assert_addresses_round_trip(const struct strbuf *out,
    const struct mime_address *addrs, size_t count)
{
	struct mime_address *parsed = NULL;
	size_t parsed_count = 0, i;
	char *value = field_value(out, "To"), *error = NULL;

	ck_assert_msg(mime_address_list_parse(value, &parsed, &parsed_count,
	    &error) == 0, "%s: %s", value, error);
	ck_assert_uint_eq(parsed_count, count);
	for (i = 0; i < count; i++) {
		const char *name = addrs[i].name;
		char *trimmed;
		size_t len;

		ck_assert_str_eq(parsed[i].email, addrs[i].email);
		if (name == NULL || name[0] == '\0') {
			ck_assert_ptr_null(parsed[i].name);
			continue;
		}
		/* The parser drops white space around a display name. */
		name += strspn(name, " \t");
		len = strlen(name);
		while (len > 0 && strchr(" \t", name[len - 1]) != NULL)
			len--;
		trimmed = strndup(name, len);
		ck_assert_pstr_eq(parsed[i].name, trimmed);
		free(trimmed);
	}
	mime_address_list_free(parsed, parsed_count);
	free(value);
}

START_TEST(header_mailbox_cases)
{
	struct mime_address addr = { (char *)mailbox_cases[_i].name,
		(char *)mailbox_cases[_i].email };
	struct strbuf out = STRBUF_INIT;
	bool utf8_address = strchr(addr.email, '\xc3') != NULL;
	char *error = NULL;

	ck_assert_msg(mime_header_append_addresses(&out, "To", &addr, 1,
	    &error) == 0, "case %d: %s", _i, error);
	if (mailbox_cases[_i].field != NULL)
		ck_assert_str_eq(out.data, mailbox_cases[_i].field);
	/* Addresses are never encoded (RFC 6532 keeps them UTF-8). */
	assert_lines(&out, 78, !utf8_address, true);
	assert_addresses_round_trip(&out, &addr, 1);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_address_list_folds_between)
{
	struct mime_address addrs[24];
	char names[24][64], emails[24][64];
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;
	size_t i;

	for (i = 0; i < 24; i++) {
		static const char *const forms[] = { "Person %zu",
			"Last%zu, First", "M\xc3\xbcller %zu", "" };

		snprintf(names[i], sizeof(names[i]), forms[i % 4], i);
		snprintf(emails[i], sizeof(emails[i]), "person%zu@example.com",
		    i);
		addrs[i].name = i % 4 == 3 ? NULL : names[i];
		addrs[i].email = emails[i];
	}
	ck_assert_int_eq(mime_header_append_addresses(&out, "To", addrs, 24,
	    &error), 0);
	assert_lines(&out, 78, true, true);
	ck_assert_uint_ge(count_lines(&out), 10);
	/* Addresses are separated by ", " and never split across lines. */
	ck_assert_ptr_nonnull(strstr(out.data, "<person0@example.com>, "));
	for (i = 0; i < 24; i++)
		ck_assert_ptr_nonnull(strstr(out.data, emails[i]));
	assert_addresses_round_trip(&out, addrs, 24);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_addresses_rejects)
{
	struct mime_address bad_email = { "Eve", "a@@b" };
	struct mime_address bad_name = { "Eve\r\nBcc: x@example.com",
		"eve@example.com" };
	struct mime_address bad_utf8 = { "Eve \xff", "eve@example.com" };
	struct mime_address list[2] = { { NULL, "ok@example.com" },
		{ NULL, "bad address@example.com" } };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(mime_header_append_addresses(&out, "From", &bad_email,
	    1, &error), -1);
	ck_assert_str_eq(error, "invalid email address \"a@@b\": "
	    "invalid character \"@\" in domain");
	free(error);

	ck_assert_int_eq(mime_header_append_addresses(&out, "From", &bad_name,
	    1, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "contains CR or LF"));
	free(error);

	ck_assert_int_eq(mime_header_append_addresses(&out, "From", &bad_utf8,
	    1, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid UTF-8"));
	free(error);

	ck_assert_int_eq(mime_header_append_addresses(&out, "To", list, 2,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "\"bad address@example.com\""));
	free(error);

	ck_assert_int_eq(mime_header_append_addresses(&out, "To", list, 0,
	    &error), -1);
	free(error);
	ck_assert_uint_eq(out.len, 0);
	strbuf_free(&out);
}
END_TEST

/* Header fields: message ids, dates, raw values. */

START_TEST(header_msgids_write_and_fold)
{
	const char *ids[12];
	char storage[12][64];
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;
	size_t i;

	ids[0] = "abc.123@example.com";
	ck_assert_int_eq(mime_header_append_msgids(&out, "Message-ID", ids, 1,
	    &error), 0);
	ck_assert_str_eq(out.data, "Message-ID: <abc.123@example.com>\r\n");
	strbuf_reset(&out);

	for (i = 0; i < 12; i++) {
		snprintf(storage[i], sizeof(storage[i]),
		    "%zu.0123456789abcdef@mail.example.com", i);
		ids[i] = storage[i];
	}
	ck_assert_int_eq(mime_header_append_msgids(&out, "References", ids, 12,
	    &error), 0);
	assert_lines(&out, 78, true, true);
	ck_assert_uint_ge(count_lines(&out), 6);
	ck_assert_ptr_nonnull(strstr(out.data, "References: <0.0123"));
	strbuf_reset(&out);

	ids[0] = "x@[192.0.2.1]";
	ck_assert_int_eq(mime_header_append_msgids(&out, "In-Reply-To", ids, 1,
	    &error), 0);
	ck_assert_str_eq(out.data, "In-Reply-To: <x@[192.0.2.1]>\r\n");
	strbuf_free(&out);
}
END_TEST

static const char *const bad_msgids[] = {
	"", "nodomain", "@example.com", "left@", "a b@example.com",
	"<a@example.com>", "a@example.com>", "a@exa mple.com", "a\r\n@b",
	"a@[1.2.3.4]x", "a\"b\"@example.com", "a@b,c",
};

START_TEST(header_msgids_reject_cases)
{
	const char *ids[1] = { bad_msgids[_i] };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_msg(mime_header_append_msgids(&out, "Message-ID", ids, 1,
	    &error) == -1, "\"%s\" accepted", bad_msgids[_i]);
	ck_assert_ptr_nonnull(strstr(error, "invalid message id \""));
	ck_assert_uint_eq(out.len, 0);
	free(error);
	strbuf_free(&out);
}
END_TEST

static const struct {
	time_t t;
	int offset;
	const char *field;
} date_cases[] = {
	{ 0, 0, "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n" },
	{ 1700000000, 0, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n" },
	{ 1700000000, 120, "Date: Wed, 15 Nov 2023 00:13:20 +0200\r\n" },
	{ 1700000000, -330, "Date: Tue, 14 Nov 2023 16:43:20 -0530\r\n" },
	{ 951782400, 0, "Date: Tue, 29 Feb 2000 00:00:00 +0000\r\n" },
	{ 1700000000, 6000, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n" },
};

START_TEST(header_date_cases)
{
	struct strbuf out = STRBUF_INIT;

	mime_header_append_date(&out, "Date", date_cases[_i].t,
	    date_cases[_i].offset);
	ck_assert_str_eq(out.data, date_cases[_i].field);
	strbuf_free(&out);
}
END_TEST

static const struct {
	const char *value;
	const char *field;	/* NULL: rejected */
} raw_cases[] = {
	{ " plain", "X-Raw: plain\r\n" },
	{ "no-space", "X-Raw:no-space\r\n" },
	{ " folded\r\n continued", "X-Raw: folded\r\n continued\r\n" },
	{ " tab\r\n\tfold", "X-Raw: tab\r\n\tfold\r\n" },
	{ " trailing   ", "X-Raw: trailing\r\n" },
	{ " before fold \r\n after", "X-Raw: before fold\r\n after\r\n" },
	{ " =?utf-8?q?x?= (comment)", "X-Raw: =?utf-8?q?x?= (comment)\r\n" },
	{ " J\xc3\xb6rg", "X-Raw: J\xc3\xb6rg\r\n" },
	{ "", "X-Raw:\r\n" },
	{ " a\r\nBcc: eve@example.com", NULL },
	{ " a\nb", NULL },
	{ " a\rb", NULL },
	{ " a\r\n", NULL },
	{ " a\r\n \r\n b", NULL },
	{ " a\r\n\r\n b", NULL },
	{ " bell\x07", NULL },
	{ " \xc3\x28", NULL },
};

START_TEST(header_raw_cases)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;
	int rc;

	rc = mime_header_append_raw(&out, "X-Raw", raw_cases[_i].value, &error);
	if (raw_cases[_i].field == NULL) {
		ck_assert_msg(rc == -1, "case %d accepted", _i);
		ck_assert_ptr_nonnull(strstr(error, "invalid X-Raw value \""));
		ck_assert_uint_eq(out.len, 0);
		free(error);
	} else {
		ck_assert_msg(rc == 0, "case %d: %s", _i, error);
		ck_assert_str_eq(out.data, raw_cases[_i].field);
	}
	strbuf_free(&out);
}
END_TEST

START_TEST(header_raw_line_limit)
{
	struct strbuf out = STRBUF_INIT;
	char value[1200], *error = NULL;

	/* "X-Raw:" is 6 octets, so 992 more reach the 998 limit. */
	memset(value, 'a', 992);
	value[992] = '\0';
	ck_assert_int_eq(mime_header_append_raw(&out, "X-Raw", value,
	    &error), 0);
	strbuf_reset(&out);
	value[992] = 'a';
	value[993] = '\0';
	ck_assert_int_eq(mime_header_append_raw(&out, "X-Raw", value,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "longer than 998"));
	free(error);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_new_msgid_format)
{
	char *a = mime_header_new_msgid("example.com");
	char *b = mime_header_new_msgid("example.com");
	char *fallback = mime_header_new_msgid("bad domain");
	char *null_domain = mime_header_new_msgid(NULL);
	struct strbuf out = STRBUF_INIT;
	const char *ids[1] = { a };
	char *error = NULL;

	ck_assert_uint_eq(strlen(a), 32 + strlen("@example.com"));
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
	ck_assert_str_eq(a + 32, "@example.com");
	ck_assert_str_ne(a, b);
	ck_assert_str_eq(fallback + 32, "@smimegw.invalid");
	ck_assert_str_eq(null_domain + 32, "@smimegw.invalid");
	ck_assert_int_eq(mime_header_append_msgids(&out, "Message-ID", ids, 1,
	    &error), 0);
	free(a);
	free(b);
	free(fallback);
	free(null_domain);
	strbuf_free(&out);
}
END_TEST

/* Body encoders. */

static const struct {
	const char *input;
	size_t len;		/* 0: strlen(input) */
	const char *output;	/* NULL: round trip and limits only */
} qp_cases[] = {
	{ "", 0, "" },
	{ "hello", 0, "hello=\r\n" },
	{ "hello\r\n", 0, "hello\r\n" },
	{ "a=b\r\n", 0, "a=3Db\r\n" },
	{ "trailing \r\nspace", 0, "trailing=20\r\nspace=\r\n" },
	{ "tab\t\r\n", 0, "tab=09\r\n" },
	{ "inner space\r\n", 0, "inner space\r\n" },
	{ "end space ", 0, "end space=20=\r\n" },
	{ "From me\r\nFrom\r\n", 0, "=46rom me\r\nFrom\r\n" },
	{ "caf\xc3\xa9\r\n", 0, "caf=C3=A9\r\n" },
	{ "bare\nlf", 0, "bare=0Alf=\r\n" },
	{ "nul\0byte", 8, "nul=00byte=\r\n" },
	{ "\r\n\r\n", 0, "\r\n\r\n" },
	{ ".\r\n", 0, ".\r\n" },
	{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	  0, NULL },
	{ "word word word word word word word word word word word word word word "
	  "word word word word word word \r\n", 0, NULL },
	{ "                                                                      "
	  "                                                     \r\n", 0, NULL },
	{ "From From From From From From From From From From From From From From "
	  "From From From From From From From From From From \r\n", 0, NULL },
};

static void
assert_qp_round_trip(const unsigned char *data, size_t len)
{
	struct strbuf out = STRBUF_INIT, decoded = STRBUF_INIT;

	mime_encode_qp(data, len, &out);
	assert_lines(&out, 76, true, true);
	if (len > 0)
		ck_assert_int_eq(memcmp(out.data + out.len - 2, "\r\n", 2), 0);
	ck_assert_ptr_null(strstr(strbuf_str(&out), "\r\nFrom "));
	ck_assert_int_ne(strncmp(strbuf_str(&out), "From ", 5), 0);
	decode_qp(strbuf_str(&out), out.len, &decoded);
	ck_assert_uint_eq(decoded.len, len);
	if (len > 0)
		ck_assert_int_eq(memcmp(decoded.data, data, len), 0);
	strbuf_free(&out);
	strbuf_free(&decoded);
}

START_TEST(encode_qp_cases)
{
	const char *input = qp_cases[_i].input;
	size_t len = qp_cases[_i].len ? qp_cases[_i].len : strlen(input);
	struct strbuf out = STRBUF_INIT;

	mime_encode_qp((const unsigned char *)input, len, &out);
	if (qp_cases[_i].output != NULL)
		ck_assert_str_eq(strbuf_str(&out), qp_cases[_i].output);
	assert_qp_round_trip((const unsigned char *)input, len);
	strbuf_free(&out);
}
END_TEST

/* Lines of n "a" and a tail, around the 76-character limit: the soft line
 * break "=" counts, and no "=XX" is split. */
static const struct {
	size_t a_count;
	const char *tail;
	size_t out_a_count;
	const char *out_tail;
} qp_limit_cases[] = {
	{ 76, "\r\n", 76, "\r\n" },
	{ 77, "\r\n", 75, "=\r\naa\r\n" },
	{ 75, "b\r\n", 75, "b\r\n" },
	{ 75, "bc\r\n", 75, "=\r\nbc\r\n" },
	{ 73, "=\r\n", 73, "=3D\r\n" },
	{ 74, "=\r\n", 74, "=\r\n=3D\r\n" },
	{ 74, " \r\n", 74, "=\r\n=20\r\n" },
	{ 75, "", 75, "=\r\n" },
	{ 76, "", 75, "=\r\na=\r\n" },
};

START_TEST(encode_qp_line_limit_cases)
{
	struct strbuf input = STRBUF_INIT, want = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < qp_limit_cases[_i].a_count; i++)
		strbuf_appendc(&input, 'a');
	strbuf_appends(&input, qp_limit_cases[_i].tail);
	for (i = 0; i < qp_limit_cases[_i].out_a_count; i++)
		strbuf_appendc(&want, 'a');
	strbuf_appends(&want, qp_limit_cases[_i].out_tail);

	mime_encode_qp((const unsigned char *)input.data, input.len, &out);
	ck_assert_str_eq(strbuf_str(&out), want.data);
	assert_qp_round_trip((const unsigned char *)input.data, input.len);
	strbuf_free(&input);
	strbuf_free(&want);
	strbuf_free(&out);
}
END_TEST

/* A fixed xorshift generator so that failures can be replayed. */
static unsigned char *
pseudo_random_bytes(size_t len, unsigned seed, bool textish)
{
	unsigned char *data = malloc(len + 1);
	unsigned x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (unsigned char)x;
		/* Mostly ASCII text with spaces, "=", CR, LF and some 8-bit. */
		if (textish && x % 7 != 0)
			data[i] = (unsigned char)
			    " =\r\nabcdefghiFrom .\t"[x % 21];
	}
	return data;
}

START_TEST(encode_qp_random_round_trip)
{
	size_t len = 1 + (size_t)_i * 37;
	unsigned char *data = pseudo_random_bytes(len, (unsigned)_i, _i % 2);

	assert_qp_round_trip(data, len);
	free(data);
}
END_TEST

START_TEST(encode_base64_lengths)
{
	static const size_t lengths[] = { 0, 1, 2, 3, 56, 57, 58, 114, 1000,
		4096 };
	size_t len = lengths[_i];
	unsigned char *data = pseudo_random_bytes(len, 7, false);
	struct strbuf out = STRBUF_INIT, decoded = STRBUF_INIT;
	size_t i, line_start = 0;

	mime_encode_base64(data, len, &out);
	assert_lines(&out, 76, true, true);
	ck_assert_uint_eq(out.len, (len + 2) / 3 * 4 +
	    2 * (((len + 2) / 3 * 4 + 75) / 76));
	/* Every line but the last is exactly 76 characters. */
	for (i = 0; i + 1 < out.len; i++) {
		if (out.data[i] == '\r') {
			if (i + 2 < out.len)
				ck_assert_uint_eq(i - line_start, 76);
			line_start = i + 2;
		}
	}
	decode_base64(strbuf_str(&out), out.len, &decoded);
	ck_assert_uint_eq(decoded.len, len);
	if (len > 0)
		ck_assert_int_eq(memcmp(decoded.data, data, len), 0);
	free(data);
	strbuf_free(&out);
	strbuf_free(&decoded);
}
END_TEST

START_TEST(encode_base64_known)
{
	struct strbuf out = STRBUF_INIT;

	mime_encode_base64((const unsigned char *)"Man", 3, &out);
	ck_assert_str_eq(out.data, "TWFu\r\n");
	strbuf_reset(&out);
	mime_encode_base64((const unsigned char *)"Ma", 2, &out);
	ck_assert_str_eq(out.data, "TWE=\r\n");
	strbuf_reset(&out);
	mime_encode_base64((const unsigned char *)"M", 1, &out);
	ck_assert_str_eq(out.data, "TQ==\r\n");
	strbuf_reset(&out);
	mime_encode_base64((const unsigned char *)"", 0, &out);
	ck_assert_uint_eq(out.len, 0);
	strbuf_free(&out);
}
END_TEST

/* Part rendering: a small reader for the rendered entities. */

struct entity {
	char *headers;		/* unfolded header lines, each ending CRLF */
	const char *body;
	size_t body_len;
};

static void
entity_split(const char *s, size_t len, struct entity *e)
{
	const char *end = NULL;
	size_t i;

	for (i = 0; i + 3 < len; i++) {
		if (memcmp(s + i, "\r\n\r\n", 4) == 0) {
			end = s + i;
			break;
		}
	}
	ck_assert_msg(end != NULL, "no empty line after the header");
	e->headers = unfold(s, (size_t)(end - s) + 2);
	e->body = end + 4;
	e->body_len = len - (size_t)(e->body - s);
}

/* Returns the value of the first field called name, or NULL. */
static char *
entity_header(const struct entity *e, const char *name)
{
	size_t name_len = strlen(name);
	const char *line = e->headers, *eol;

	while (*line != '\0') {
		eol = strstr(line, "\r\n");
		ck_assert_ptr_nonnull(eol);
		if (strncasecmp(line, name, name_len) == 0 &&
		    line[name_len] == ':') {
			const char *v = line + name_len + 1;

			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(eol - v));
		}
		line = eol + 2;
	}
	return NULL;
}

/* Returns the value of parameter name in a Content-Type or
 * Content-Disposition value (token or quoted-string), or NULL. */
static char *
param_value(const char *field, const char *name)
{
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	const char *p;

	strbuf_printf(&key, "; %s=", name);
	p = strstr(field, key.data);
	strbuf_free(&key);
	if (p == NULL)
		return NULL;
	p += strlen(name) + 3;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			ck_assert(*p != '\0');
			if (*p == '\\')
				p++;
			strbuf_appendc(&value, *p);
		}
	} else {
		while (*p != '\0' && *p != ';')
			strbuf_appendc(&value, *p++);
	}
	return strbuf_detach(&value, NULL);
}

/* Joins name*=... or name*0*=, name*1*=, ... (RFC 2231) and decodes the
 * utf-8 value. */
static char *
param_rfc2231(const char *field, const char *name)
{
	struct strbuf joined = STRBUF_INIT, key = STRBUF_INIT;
	struct strbuf value = STRBUF_INIT;
	const char *p, *v;
	int n;

	strbuf_printf(&key, "%s*=", name);
	p = strstr(field, key.data);
	if (p != NULL) {
		for (v = p + key.len; *v != '\0' && *v != ';'; v++)
			strbuf_appendc(&joined, *v);
	}
	for (n = 0; p == NULL; n++) {
		strbuf_reset(&key);
		strbuf_printf(&key, "%s*%d*=", name, n);
		v = strstr(field, key.data);
		if (v == NULL)
			break;
		for (v += key.len; *v != '\0' && *v != ';'; v++)
			strbuf_appendc(&joined, *v);
	}
	strbuf_free(&key);
	if (joined.len == 0)
		return NULL;
	ck_assert_int_eq(strncmp(joined.data, "utf-8''", 7), 0);
	for (p = joined.data + 7; *p != '\0'; p++) {
		if (*p == '%') {
			ck_assert(hex_digit(p[1]) >= 0);
			ck_assert(hex_digit(p[2]) >= 0);
			strbuf_appendc(&value, (char)(hex_digit(p[1]) << 4 |
			    hex_digit(p[2])));
			p += 2;
		} else {
			ck_assert_msg(strchr(" *'()<>@,;:\\\"/[]?=", *p) ==
			    NULL, "unencoded '%c' in RFC 2231 value", *p);
			strbuf_appendc(&value, *p);
		}
	}
	strbuf_free(&joined);
	return strbuf_detach(&value, NULL);
}

/* Decodes the body of a leaf by its Content-Transfer-Encoding. */
static void
entity_decode_body(const struct entity *e, struct strbuf *out)
{
	char *cte = entity_header(e, "Content-Transfer-Encoding");

	ck_assert_ptr_nonnull(cte);
	if (strcmp(cte, "base64") == 0)
		decode_base64(e->body, e->body_len, out);
	else if (strcmp(cte, "quoted-printable") == 0)
		decode_qp(e->body, e->body_len, out);
	else if (strcmp(cte, "7bit") == 0)
		strbuf_append(out, e->body, e->body_len);
	else
		ck_abort_msg("unexpected transfer encoding %s", cte);
	free(cte);
}

/* Splits a multipart body into its body parts; checks the empty preamble,
 * the delimiters and the close delimiter with an empty epilogue. */
static size_t
multipart_split(const struct entity *e, const char **parts, size_t *lens,
    size_t max)
{
	char *type = entity_header(e, "Content-Type");
	char *boundary = param_value(type, "boundary");
	struct strbuf delimiter = STRBUF_INIT;
	const char *p, *end = e->body + e->body_len, *next;
	size_t count = 0;

	ck_assert_ptr_nonnull(boundary);
	ck_assert_uint_eq(strlen(boundary), 26);
	ck_assert_int_eq(strncmp(boundary, "=_", 2), 0);
	ck_assert_uint_eq(strspn(boundary + 2, "0123456789abcdef"), 24);

	strbuf_printf(&delimiter, "--%s\r\n", boundary);
	ck_assert_msg(e->body_len > delimiter.len &&
	    memcmp(e->body, delimiter.data, delimiter.len) == 0,
	    "body does not start with the first delimiter");
	p = e->body + delimiter.len;
	strbuf_reset(&delimiter);
	strbuf_printf(&delimiter, "\r\n--%s", boundary);
	for (;;) {
		next = strstr(p, delimiter.data);
		ck_assert_ptr_nonnull(next);
		ck_assert_uint_lt(count, max);
		parts[count] = p;
		lens[count++] = (size_t)(next - p);
		p = next + delimiter.len;
		if (strncmp(p, "--\r\n", 4) == 0) {
			ck_assert_ptr_eq(p + 4, end);
			break;
		}
		ck_assert_int_eq(strncmp(p, "\r\n", 2), 0);
		p += 2;
	}
	strbuf_free(&delimiter);
	free(boundary);
	free(type);
	return count;
}

static void
entity_free(struct entity *e)
{
	free(e->headers);
}

/* Checks what every rendered entity must satisfy, with the given content
 * lines limit: 7-bit only, no white space at a line end, header lines of at
 * most 78 and no MIME-Version. */
static void
assert_transport_safe(const struct strbuf *out)
{
	struct entity e;

	assert_lines(out, 78, true, true);
	entity_split(out->data, out->len, &e);
	ck_assert_ptr_null(strstr(e.headers, "MIME-Version"));
	entity_free(&e);
}

static void
render_ok(const struct mime_part *part, struct strbuf *out)
{
	char *error = NULL;

	ck_assert_msg(mime_part_render(part, out, &error) == 0, "render: %s",
	    error);
	assert_transport_safe(out);
}

/* Part rendering: leaves. */

static const struct {
	const char *type;
	const char *charset;	/* NULL: default */
	const char *body;
	size_t len;		/* 0: strlen(body) */
	const char *encoding;
	const char *decoded;	/* NULL: same as body */
	size_t decoded_len;	/* 0: strlen(decoded) */
} leaf_cases[] = {
	{ "text/plain", NULL, "Hello\r\n", 0, "7bit", NULL, 0 },
	{ "text/plain", NULL, "Hello", 0, "7bit", NULL, 0 },
	{ "text/plain", NULL, "", 0, "7bit", NULL, 0 },
	{ "text/plain", NULL, "one\ntwo\rthree\r\nfour\n", 0, "7bit",
	  "one\r\ntwo\r\nthree\r\nfour\r\n", 0 },
	{ "text/plain", NULL, "ends in CR\r", 0, "7bit", "ends in CR\r\n", 0 },
	{ "text/plain", NULL, "\n\n\n", 0, "7bit", "\r\n\r\n\r\n", 0 },
	{ "text/plain", NULL, "a\r\r\nb\n\rc", 0, "7bit",
	  "a\r\n\r\nb\r\n\r\nc", 0 },
	{ "text/plain", NULL, "trailing space \nnext", 0, "quoted-printable",
	  "trailing space \r\nnext", 0 },
	{ "text/plain", NULL, "trailing tab\t\n", 0, "quoted-printable",
	  "trailing tab\t\r\n", 0 },
	{ "text/plain", NULL, "From here on\n", 0, "quoted-printable",
	  "From here on\r\n", 0 },
	{ "text/plain", NULL,
	  "a line that is much longer than seventy-six characters, so it cannot "
	  "go as 7bit under a signature\n", 0, "quoted-printable",
	  "a line that is much longer than seventy-six characters, so it cannot "
	  "go as 7bit under a signature\r\n", 0 },
	{ "text/plain", NULL, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n", 0,
	  "quoted-printable", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\r\n", 0 },
	{ "text/plain", NULL,
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82"
	  "\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\n", 0,
	  "base64",
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82"
	  "\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\r\n",
	  0 },
	{ "text/plain", NULL, "nul\0inside\n", 11, "quoted-printable",
	  "nul\0inside\r\n", 12 },
	{ "text/plain", NULL, "escape \x1b[0m\n", 0, "quoted-printable",
	  "escape \x1b[0m\r\n", 0 },
	{ "text/html", NULL, "<p>Hello</p>\n", 0, "7bit", "<p>Hello</p>\r\n",
	  0 },
	{ "text/plain", "iso-8859-1", "caf\xe9\n", 0, "quoted-printable",
	  "caf\xe9\r\n", 0 },
	{ "text/plain", "utf-16", "\xff\xfeh\0i\0\n\0", 8, "base64",
	  "\xff\xfeh\0i\0\n\0", 8 },
	{ "application/octet-stream", NULL, "plain ASCII", 0, "base64", NULL,
	  0 },
	{ "image/png", NULL, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "base64",
	  NULL, 0 },
	{ "message/rfc822", NULL, "Subject: hi\n\nbody\n", 0, "7bit",
	  "Subject: hi\r\n\r\nbody\r\n", 0 },
	{ "message/rfc822", NULL, "Subject: hi\r\n\r\nb\xc3\xb6" "dy\r\n", 0,
	  "base64", NULL, 0 },
	{ "message/rfc822", NULL, "Subject: hi\r\n\r\ntrailing space \r\n", 0,
	  "base64", NULL, 0 },
	{ "message/rfc822", NULL, "Subject: hi\r\n\r\n  indented\r\n\r\n", 0,
	  "7bit", NULL, 0 },
	{ "message/rfc822", NULL, "Subject: hi\n\ntrailing \n", 0, "base64",
	  "Subject: hi\r\n\r\ntrailing \r\n", 0 },
};

START_TEST(part_leaf_cases)
{
	struct mime_part *part = mime_part_new(leaf_cases[_i].type);
	const char *body = leaf_cases[_i].body;
	size_t len = leaf_cases[_i].len ? leaf_cases[_i].len : strlen(body);
	const char *want = leaf_cases[_i].decoded != NULL ?
	    leaf_cases[_i].decoded : body;
	size_t want_len = leaf_cases[_i].decoded == NULL ? len :
	    leaf_cases[_i].decoded_len ? leaf_cases[_i].decoded_len :
	    strlen(want);
	struct strbuf out = STRBUF_INIT, decoded = STRBUF_INIT;
	struct entity e;
	char *type, *cte, *charset;

	if (leaf_cases[_i].charset != NULL)
		part->charset = strdup(leaf_cases[_i].charset);
	mime_part_set_body(part, body, len);
	render_ok(part, &out);

	entity_split(out.data, out.len, &e);
	type = entity_header(&e, "Content-Type");
	cte = entity_header(&e, "Content-Transfer-Encoding");
	ck_assert_ptr_nonnull(type);
	ck_assert_int_eq(strncmp(type, leaf_cases[_i].type,
	    strlen(leaf_cases[_i].type)), 0);
	ck_assert_str_eq(cte, leaf_cases[_i].encoding);
	charset = param_value(type, "charset");
	if (strncmp(leaf_cases[_i].type, "text/", 5) == 0)
		ck_assert_str_eq(charset, leaf_cases[_i].charset ?
		    leaf_cases[_i].charset : "utf-8");
	else
		ck_assert_ptr_null(charset);

	/* Encoded content lines are at most 76 characters. */
	{
		struct strbuf body_buf = STRBUF_INIT;

		strbuf_append(&body_buf, e.body, e.body_len);
		assert_lines(&body_buf, 76, true, true);
		strbuf_free(&body_buf);
	}
	entity_decode_body(&e, &decoded);
	ck_assert_uint_eq(decoded.len, want_len);
	if (want_len > 0)
		ck_assert_int_eq(memcmp(decoded.data, want, want_len), 0);

	free(charset);
	free(type);
	free(cte);
	entity_free(&e);
	strbuf_free(&decoded);
	strbuf_free(&out);
	mime_part_free(part);
}
END_TEST

START_TEST(part_text_plain_exact)
{
	struct mime_part *part = mime_part_new("text/plain");
	struct strbuf out = STRBUF_INIT;

	mime_part_set_body(part, "Hello\nWorld\n", 12);
	render_ok(part, &out);
	ck_assert_str_eq(out.data,
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "Hello\r\nWorld\r\n");
	strbuf_free(&out);
	mime_part_free(part);
}
END_TEST

START_TEST(part_optional_fields_exact)
{
	struct mime_part *part = mime_part_new("image/png");
	struct mime_param extra[2] = {
		{ strdup("X-Note"), strdup(" scanned copy") },
		{ strdup("Content-Description"), strdup(" the logo ") },
	};
	struct strbuf out = STRBUF_INIT;

	part->disposition = strdup("inline");
	part->filename = strdup("logo.png");
	part->cid = strdup("logo.1@example.com");
	part->language = strdup("en ,de-CH");
	part->location = strdup("https://example.com/a b/\xc3\xbc.png");
	part->extra_headers = malloc(sizeof(extra));
	memcpy(part->extra_headers, extra, sizeof(extra));
	part->extra_header_count = 2;
	mime_part_set_body(part, "PNG", 3);
	render_ok(part, &out);
	ck_assert_str_eq(out.data,
	    "Content-Type: image/png; name=logo.png\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: inline; filename=logo.png\r\n"
	    "Content-ID: <logo.1@example.com>\r\n"
	    "Content-Language: en, de-CH\r\n"
	    "Content-Location: https://example.com/a%20b/%C3%BC.png\r\n"
	    "X-Note: scanned copy\r\n"
	    "Content-Description: the logo\r\n"
	    "\r\n"
	    "UE5H\r\n");
	strbuf_free(&out);
	mime_part_free(part);
}
END_TEST

static const struct {
	const char *filename;
	const char *disposition;
} filename_cases[] = {
	{ "report.pdf", "attachment" },
	{ "my \"quoted\" file.txt", "attachment" },
	{ "\xc3\x9c" "bersicht M\xc3\xa4rz 2024.pdf", "attachment" },
	{ "\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b"
	  "\xb8\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8\xe5\xa0\xb1\xe5\x91\x8a\xe6"
	  "\x9b\xb8\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8\xe5\xa0\xb1\xe5\x91\x8a"
	  "\xe6\x9b\xb8\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8.docx", "inline" },
	{ "a-very-long-ascii-file-name-that-does-not-fit-on-one-header-line-"
	  "at-all-really.tar.gz", "attachment" },
	{ "semi;colon, comma (paren) 50% 'quote' *star*.txt", "attachment" },
	{ "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80.png", "attachment" },
};

/* Checks filename= (plain or RFC 2231) and name= (plain or RFC 2047). */
START_TEST(part_filename_cases)
{
	const char *filename = filename_cases[_i].filename;
	struct mime_part *part = mime_part_new("application/octet-stream");
	struct strbuf out = STRBUF_INIT;
	struct entity e;
	char *disposition, *type, *got, *name;

	part->filename = strdup(filename);
	if (_i % 2 == 0)
		part->disposition = strdup(filename_cases[_i].disposition);
	mime_part_set_body(part, "data", 4);
	render_ok(part, &out);

	entity_split(out.data, out.len, &e);
	disposition = entity_header(&e, "Content-Disposition");
	type = entity_header(&e, "Content-Type");
	ck_assert_int_eq(strncmp(disposition, _i % 2 == 0 ?
	    filename_cases[_i].disposition : "attachment", 6), 0);

	got = param_value(disposition, "filename");
	if (got == NULL)
		got = param_rfc2231(disposition, "filename");
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, filename);

	name = param_value(type, "name");
	ck_assert_ptr_nonnull(name);
	if (strstr(name, "=?utf-8?") == name) {
		char *decoded = decode_text(name);

		free(name);
		name = decoded;
	}
	ck_assert_str_eq(name, filename);

	free(name);
	free(got);
	free(type);
	free(disposition);
	entity_free(&e);
	strbuf_free(&out);
	mime_part_free(part);
}
END_TEST

START_TEST(part_rfc2231_exact)
{
	struct mime_part *part = mime_part_new("application/pdf");
	struct strbuf out = STRBUF_INIT;

	part->disposition = strdup("attachment");
	part->filename = strdup("\xc3\x9c" "bersicht M\xc3\xa4rz.pdf");
	mime_part_set_body(part, "%PDF", 4);
	render_ok(part, &out);
	ck_assert_ptr_nonnull(strstr(out.data,
	    "Content-Disposition: attachment;\r\n"
	    " filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz.pdf\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "Content-Type: application/pdf; name=\"=?utf-8?B?"));
	strbuf_free(&out);
	mime_part_free(part);
}
END_TEST

/* Part rendering: multipart. */

START_TEST(part_multipart_alternative)
{
	struct mime_part *root = mime_part_new("multipart/alternative");
	struct mime_part *child;
	struct strbuf out = STRBUF_INIT, decoded = STRBUF_INIT;
	const char *parts[4];
	size_t lens[4], count;
	struct entity e, c0, c1;
	char *type;

	child = mime_part_add_child(root, "text/plain");
	mime_part_set_body(child, "Hello, caf\xc3\xa9!\n", 14);
	child = mime_part_add_child(root, "text/html");
	mime_part_set_body(child, "<p>Hello, caf&eacute;!</p>\n", 27);
	render_ok(root, &out);

	entity_split(out.data, out.len, &e);
	type = entity_header(&e, "Content-Type");
	ck_assert_int_eq(strncmp(type,
	    "multipart/alternative; boundary=\"=_", 35), 0);
	ck_assert_ptr_null(entity_header(&e, "Content-Transfer-Encoding"));
	count = multipart_split(&e, parts, lens, 4);
	ck_assert_uint_eq(count, 2);

	entity_split(parts[0], lens[0], &c0);
	entity_decode_body(&c0, &decoded);
	ck_assert_uint_eq(decoded.len, 15);
	ck_assert_int_eq(memcmp(decoded.data, "Hello, caf\xc3\xa9!\r\n", 15),
	    0);
	strbuf_reset(&decoded);

	entity_split(parts[1], lens[1], &c1);
	entity_decode_body(&c1, &decoded);
	ck_assert_str_eq(decoded.data, "<p>Hello, caf&eacute;!</p>\r\n");

	entity_free(&c0);
	entity_free(&c1);
	entity_free(&e);
	free(type);
	strbuf_free(&decoded);
	strbuf_free(&out);
	mime_part_free(root);
}
END_TEST

START_TEST(part_multipart_mixed_binary)
{
	struct mime_part *root = mime_part_new("multipart/mixed");
	struct mime_part *alt, *child;
	unsigned char *binary = pseudo_random_bytes(3000, 42, false);
	struct strbuf out = STRBUF_INIT, decoded = STRBUF_INIT;
	const char *parts[4], *inner[4];
	size_t lens[4], inner_lens[4], i;
	struct entity e, att, alt_e;
	char *cte, *disposition;

	/* Make sure the attachment has NUL bytes and CR/LF pairs. */
	binary[0] = 0;
	binary[100] = 0;
	binary[200] = '\r';
	binary[201] = '\n';

	alt = mime_part_add_child(root, "multipart/alternative");
	child = mime_part_add_child(alt, "text/plain");
	mime_part_set_body(child, "See attached.\n", 14);
	child = mime_part_add_child(alt, "text/html");
	mime_part_set_body(child, "<p>See attached.</p>\n", 21);
	child = mime_part_add_child(root, "application/octet-stream");
	child->filename = strdup("data.bin");
	mime_part_set_body(child, binary, 3000);
	render_ok(root, &out);

	entity_split(out.data, out.len, &e);
	ck_assert_uint_eq(multipart_split(&e, parts, lens, 4), 2);

	entity_split(parts[0], lens[0], &alt_e);
	ck_assert_uint_eq(multipart_split(&alt_e, inner, inner_lens, 4), 2);

	entity_split(parts[1], lens[1], &att);
	cte = entity_header(&att, "Content-Transfer-Encoding");
	ck_assert_str_eq(cte, "base64");
	disposition = entity_header(&att, "Content-Disposition");
	ck_assert_str_eq(disposition, "attachment; filename=data.bin");
	entity_decode_body(&att, &decoded);
	ck_assert_uint_eq(decoded.len, 3000);
	ck_assert_int_eq(memcmp(decoded.data, binary, 3000), 0);

	/* Base64 lines of the attachment are exactly 76 characters. */
	for (i = 0; i + 78 < att.body_len; i += 78)
		ck_assert_int_eq(memcmp(att.body + i + 76, "\r\n", 2), 0);

	free(cte);
	free(disposition);
	entity_free(&att);
	entity_free(&alt_e);
	entity_free(&e);
	free(binary);
	strbuf_free(&decoded);
	strbuf_free(&out);
	mime_part_free(root);
}
END_TEST

START_TEST(part_boundary_unique_and_absent)
{
	struct mime_part *root = mime_part_new("multipart/mixed");
	struct mime_part *child;
	struct strbuf out = STRBUF_INIT;
	struct entity e;
	char *type, *boundary, *inner_type, *inner_boundary;
	const char *p;
	size_t hits = 0;

	child = mime_part_add_child(root, "multipart/related");
	mime_part_set_body(mime_part_add_child(child, "text/plain"),
	    "--=_ looks like a boundary start\n", 33);
	mime_part_set_body(mime_part_add_child(root, "text/plain"), "x\n", 2);
	render_ok(root, &out);

	entity_split(out.data, out.len, &e);
	type = entity_header(&e, "Content-Type");
	boundary = param_value(type, "boundary");
	/* The boundary occurs only in its parameter and three delimiters. */
	for (p = out.data; (p = strstr(p, boundary)) != NULL; p++)
		hits++;
	ck_assert_uint_eq(hits, 4);

	p = strstr(out.data, "Content-Type: multipart/related");
	ck_assert_ptr_nonnull(p);
	inner_type = strndup(p, (size_t)(strstr(p, "\"\r\n") + 1 - p));
	inner_boundary = param_value(inner_type, "boundary");
	ck_assert_str_ne(inner_boundary, boundary);

	free(inner_boundary);
	free(inner_type);
	free(boundary);
	free(type);
	entity_free(&e);
	strbuf_free(&out);
	mime_part_free(root);
}
END_TEST

/* Builds a multipart/mixed with every kind of leaf and checks the whole
 * output: 7-bit, lines within limits, nothing ending in white space. */
START_TEST(part_whole_output_transport_safe)
{
	struct mime_part *root = mime_part_new("multipart/mixed");
	struct mime_part *child;
	unsigned char *binary = pseudo_random_bytes(777, 3, false);
	unsigned char *textish = pseudo_random_bytes(2000, 5, true);
	struct strbuf out = STRBUF_INIT;

	child = mime_part_add_child(root, "text/plain");
	mime_part_set_body(child, textish, 2000);
	child = mime_part_add_child(root, "text/plain");
	mime_part_set_body(child, "trailing   \nspaces\t\n\nFrom x\n", 28);
	child = mime_part_add_child(root, "image/jpeg");
	child->filename = strdup("\xe5\x86\x99\xe7\x9c\x9f.jpg");
	child->cid = strdup("photo@example.com");
	mime_part_set_body(child, binary, 777);
	render_ok(root, &out);
	ck_assert_uint_gt(count_lines(&out), 40);

	free(binary);
	free(textish);
	strbuf_free(&out);
	mime_part_free(root);
}
END_TEST

START_TEST(part_tree_management)
{
	struct mime_part *root = mime_part_new("multipart/mixed");
	struct mime_part *a, *b;
	size_t i;

	for (i = 0; i < 20; i++) {
		a = mime_part_add_child(root, "text/plain");
		ck_assert_str_eq(a->type, "text/plain");
		ck_assert_ptr_null(a->body);
		ck_assert_uint_eq(a->child_count, 0);
	}
	ck_assert_uint_eq(root->child_count, 20);
	b = &root->children[3];
	mime_part_set_body(b, "abc", 3);
	mime_part_set_body(b, "de", 2);
	ck_assert_uint_eq(b->body_len, 2);
	ck_assert_int_eq(memcmp(b->body, "de", 2), 0);
	mime_part_set_body(b, NULL, 0);
	ck_assert_uint_eq(b->body_len, 0);
	mime_part_clear(&root->children[5]);
	ck_assert_ptr_null(root->children[5].type);
	mime_part_free(root);
	mime_part_free(NULL);
}
END_TEST

/* Part rendering: rejected trees. */

enum bad_part {
	BAD_TYPE_NO_SLASH, BAD_TYPE_EMPTY_SUBTYPE, BAD_TYPE_SPACE,
	BAD_TYPE_NULL, BAD_MULTIPART_EMPTY, BAD_MULTIPART_BODY,
	BAD_LEAF_CHILDREN, BAD_CHARSET, BAD_DISPOSITION, BAD_FILENAME_CR,
	BAD_FILENAME_UTF8, BAD_CID, BAD_LANGUAGE, BAD_LOCATION,
	BAD_EXTRA_CONTENT_TYPE, BAD_EXTRA_CTE, BAD_EXTRA_DISPOSITION,
	BAD_EXTRA_8BIT, BAD_EXTRA_NAME, BAD_EXTRA_VALUE, BAD_NESTED_CHILD,
	BAD_TOO_DEEP,
};

static const struct {
	enum bad_part kind;
	const char *reason;
} bad_part_cases[] = {
	{ BAD_TYPE_NO_SLASH, "invalid content type \"text\"" },
	{ BAD_TYPE_EMPTY_SUBTYPE, "invalid content type \"text/\"" },
	{ BAD_TYPE_SPACE, "invalid content type \"te xt/plain\"" },
	{ BAD_TYPE_NULL, "missing content type" },
	{ BAD_MULTIPART_EMPTY, "multipart/mixed part has no body parts" },
	{ BAD_MULTIPART_BODY, "multipart/mixed part has content of its own" },
	{ BAD_LEAF_CHILDREN, "text/plain part cannot have body parts" },
	{ BAD_CHARSET, "invalid charset \"utf 8\"" },
	{ BAD_DISPOSITION, "invalid disposition \"at tachment\"" },
	{ BAD_FILENAME_CR, "invalid file name \"a\\r\\nb.txt\"" },
	{ BAD_FILENAME_UTF8, "invalid UTF-8" },
	{ BAD_CID, "invalid Content-ID \"a b\"" },
	{ BAD_LANGUAGE, "invalid Content-Language \"en;de\"" },
	{ BAD_LOCATION, "invalid Content-Location" },
	{ BAD_EXTRA_CONTENT_TYPE, "header field content-type is given twice" },
	{ BAD_EXTRA_CTE, "Content-Transfer-Encoding is given twice" },
	{ BAD_EXTRA_DISPOSITION, "Content-Disposition is given twice" },
	{ BAD_EXTRA_8BIT, "8-bit characters are not allowed" },
	{ BAD_EXTRA_NAME, "invalid header field name" },
	{ BAD_EXTRA_VALUE, "invalid X-Bad value" },
	{ BAD_NESTED_CHILD, "invalid content type \"broken\"" },
	{ BAD_TOO_DEEP, "nested deeper than 32 levels" },
};

static void
add_extra_header(struct mime_part *part, const char *name, const char *value)
{
	part->extra_headers = realloc(part->extra_headers,
	    (part->extra_header_count + 1) * sizeof(*part->extra_headers));
	part->extra_headers[part->extra_header_count].name = strdup(name);
	part->extra_headers[part->extra_header_count].value = strdup(value);
	part->extra_header_count++;
}

static struct mime_part *
build_bad_part(enum bad_part kind)
{
	struct mime_part *part = mime_part_new("text/plain");
	struct mime_part *p;
	int i;

	switch (kind) {
	case BAD_TYPE_NO_SLASH:
	case BAD_TYPE_EMPTY_SUBTYPE:
	case BAD_TYPE_SPACE:
	case BAD_TYPE_NULL:
		free(part->type);
		part->type = kind == BAD_TYPE_NULL ? NULL :
		    strdup(kind == BAD_TYPE_NO_SLASH ? "text" :
		    kind == BAD_TYPE_EMPTY_SUBTYPE ? "text/" : "te xt/plain");
		break;
	case BAD_MULTIPART_EMPTY:
	case BAD_MULTIPART_BODY:
		free(part->type);
		part->type = strdup("multipart/mixed");
		if (kind == BAD_MULTIPART_BODY) {
			mime_part_add_child(part, "text/plain");
			mime_part_set_body(part, "x", 1);
		}
		break;
	case BAD_LEAF_CHILDREN:
		mime_part_add_child(part, "text/plain");
		break;
	case BAD_CHARSET:
		part->charset = strdup("utf 8");
		break;
	case BAD_DISPOSITION:
		part->disposition = strdup("at tachment");
		break;
	case BAD_FILENAME_CR:
		part->filename = strdup("a\r\nb.txt");
		break;
	case BAD_FILENAME_UTF8:
		part->filename = strdup("a\xff.txt");
		break;
	case BAD_CID:
		part->cid = strdup("a b");
		break;
	case BAD_LANGUAGE:
		part->language = strdup("en;de");
		break;
	case BAD_LOCATION:
		part->location = strdup("http://x/\r\n");
		break;
	case BAD_EXTRA_CONTENT_TYPE:
		add_extra_header(part, "content-type", " text/html");
		break;
	case BAD_EXTRA_CTE:
		add_extra_header(part, "Content-Transfer-Encoding", " 8bit");
		break;
	case BAD_EXTRA_DISPOSITION:
		part->filename = strdup("a.txt");
		add_extra_header(part, "Content-Disposition", " inline");
		break;
	case BAD_EXTRA_8BIT:
		add_extra_header(part, "X-Note", " J\xc3\xb6rg");
		break;
	case BAD_EXTRA_NAME:
		add_extra_header(part, "X Bad", " x");
		break;
	case BAD_EXTRA_VALUE:
		add_extra_header(part, "X-Bad", " x\r\nBcc: y");
		break;
	case BAD_NESTED_CHILD:
		free(part->type);
		part->type = strdup("multipart/mixed");
		mime_part_add_child(part, "text/plain");
		p = mime_part_add_child(part, "multipart/related");
		mime_part_add_child(p, "broken");
		break;
	case BAD_TOO_DEEP:
		free(part->type);
		part->type = strdup("multipart/mixed");
		for (p = part, i = 0; i < 40; i++)
			p = mime_part_add_child(p, "multipart/mixed");
		mime_part_add_child(p, "text/plain");
		break;
	}
	return part;
}

START_TEST(part_render_rejects_cases)
{
	struct mime_part *part = build_bad_part(bad_part_cases[_i].kind);
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	strbuf_appends(&out, "kept");
	ck_assert_int_eq(mime_part_render(part, &out, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, bad_part_cases[_i].reason) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, error,
	    bad_part_cases[_i].reason);
	ck_assert_str_eq(out.data, "kept");
	free(error);
	strbuf_free(&out);
	mime_part_free(part);
}
END_TEST

START_TEST(part_depth_limit_allows_32)
{
	struct mime_part *root = mime_part_new("multipart/mixed");
	struct mime_part *p = root;
	struct strbuf out = STRBUF_INIT;
	int i;

	for (i = 0; i < 31; i++)
		p = mime_part_add_child(p, "multipart/mixed");
	mime_part_set_body(mime_part_add_child(p, "text/plain"), "deep\n", 5);
	render_ok(root, &out);
	strbuf_free(&out);
	mime_part_free(root);
}
END_TEST

/* Header fields: edge cases of encoding and folding, read back with the
 * module's parser. */

static const char *const edge_subjects[] = {
	/* long, with spaces */
	("The quarterly report for the northern region is attached, together "
	"with the forecast for the next two quarters and the minutes of the "
	"last meeting of the board of directors"),
	/* long, without spaces */
	("Averylongsubjectwithoutanyspacesthatcannotbefoldedatwhitespacebecause"
	"therenoneatallanywhereinthewholeofthisunbrokenwordoftext"),
	/* long, non-ASCII, with spaces */
	("Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln: die \xc3\x9c" "bersicht \xc3\xbc" "ber alle "
	"Ma\xc3\x9fnahmen f\xc3\xbcr das n\xc3\xa4" "chste Gesch\xc3\xa4" "ftsjahr im \xc3\x9c" "berblick"),
	/* long, non-ASCII, without spaces */
	("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d"
	"\xe3\x81\xaf\xe7\xa9\xba\xe7\x99\xbd\xe3\x81\x8c\xe3\x81\xaa\xe3\x81\x8f"
	"\xe3\x81\xa6\xe3\x82\x82\xe6\x8a\x98\xe3\x82\x8a\xe8\xbf\x94\xe3\x81\x95"
	"\xe3\x82\x8c\xe3\x82\x8b\xe5\xbf\x85\xe8\xa6\x81\xe3\x81\x8c\xe3\x81\x82"
	"\xe3\x82\x8a\xe3\x81\xbe\xe3\x81\x99"),
	/* text that looks like an encoded-word */
	"=?utf-8?B?bm90IGVuY29kZWQ=?= is literal text",
	/* "x" stands for a 77-character word, too long for one line with the name */
	"x",
};

START_TEST(header_edge_subject_reads_back)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL, *raw, *text;
	char long_word[80];
	const char *subject = edge_subjects[_i];

	if (strcmp(subject, "x") == 0) {
		memset(long_word, 'x', 77);
		long_word[77] = '\0';
		subject = long_word;
	}
	ck_assert_msg(mime_header_append_text(&out, "Subject", subject, &error) == 0,
	    "%s", error);
	assert_lines(&out, 78, true, true);
	raw = field_value(&out, "Subject");
	text = mime_parse_text(raw);
	ck_assert_str_eq(text, subject);
	free(text);
	free(raw);
	strbuf_free(&out);
}
END_TEST

static const char *const edge_names[] = {
	"Last, First",
	"Smith, \"Bob\" <the builder>",
	"O'Brien (Sales)",
	"M\xc3\xbcller, J\xc3\xbcrgen",
	"\"quoted\"",
	"a\\b",
	"=?utf-8?Q?looks_encoded?=",
	("Dr. Ren\xc3\xa9" "e Fran\xc3\xa7" "oise de la Tour d'Auvergne-Lauragais, "
	"Directrice g\xc3\xa9n\xc3\xa9rale des op\xc3\xa9rations"),
	("A very long display name made only of ASCII words that cannot fit on "
	"one line of a header field together with the address"),
	"Team: Sales; Europe",
};

START_TEST(header_edge_name_reads_back)
{
	struct mime_address addrs[2] = {
		{ (char *)edge_names[_i], "first.person@example.com" },
		{ (char *)edge_names[_i], "second@example.org" },
	};
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_msg(mime_header_append_addresses(&out, "To", addrs, 2, &error) == 0,
	    "%s", error);
	assert_lines(&out, 78, true, true);
	/* The address itself is never encoded or quoted. */
	ck_assert_ptr_nonnull(strstr(out.data, "<first.person@example.com>,"));
	ck_assert_ptr_nonnull(strstr(out.data, "<second@example.org>\r\n"));
	assert_addresses_round_trip(&out, addrs, 2);
	strbuf_free(&out);
}
END_TEST

static const struct {
	const char *name;
	const char *field;
} quoted_name_cases[] = {
	{ "Last, First", "To: \"Last, First\" <a@example.com>\r\n" },
	{ "Bob <boss>", "To: \"Bob <boss>\" <a@example.com>\r\n" },
	{ "Say \"hi\"", "To: \"Say \\\"hi\\\"\" <a@example.com>\r\n" },
	{ "back\\slash", "To: \"back\\\\slash\" <a@example.com>\r\n" },
	{ "Plain Name", "To: Plain Name <a@example.com>\r\n" },
	{ "J\xc3\xb6rg", "To: =?utf-8?B?SsO2cmc=?= <a@example.com>\r\n" },
};

START_TEST(header_quoted_name_exact)
{
	struct mime_address addr = { (char *)quoted_name_cases[_i].name, "a@example.com" };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(mime_header_append_addresses(&out, "To", &addr, 1, &error), 0);
	ck_assert_str_eq(out.data, quoted_name_cases[_i].field);
	strbuf_free(&out);
}
END_TEST

/* Header fields: groups and URLs. */

START_TEST(header_groups_exact)
{
	struct mime_address team[2] = { { NULL, "a@example.com" }, { "B", "b@example.com" } };
	struct mime_address other[1] = { { "Carol, C.", "c@example.com" } };
	struct mime_address_group groups[3] = {
		{ "Team: A", team, 2 }, { NULL, other, 1 }, { "undisclosed-recipients", NULL, 0 },
	};
	struct mime_address *parsed = NULL;
	struct strbuf out = STRBUF_INIT;
	size_t count = 0;
	char *error = NULL, *value;

	ck_assert_int_eq(mime_header_append_groups(&out, "To", groups, 3, &error), 0);
	ck_assert_str_eq(out.data, "To: \"Team: A\": a@example.com, B <b@example.com>;, "
	    "\"Carol, C.\" <c@example.com>,\r\n undisclosed-recipients:;\r\n");
	value = field_value(&out, "To");
	ck_assert_int_eq(mime_address_list_parse(value, &parsed, &count, &error), 0);
	ck_assert_uint_eq(count, 3);
	ck_assert_str_eq(parsed[0].email, "a@example.com");
	ck_assert_str_eq(parsed[1].name, "B");
	ck_assert_str_eq(parsed[2].name, "Carol, C.");
	mime_address_list_free(parsed, count);
	free(value);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_groups_fold_long)
{
	struct mime_address members[12];
	char emails[12][48];
	struct mime_address_group group = { "Gr\xc3\xbcppe der Vertriebsleitung", members, 12 };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	for (size_t i = 0; i < 12; i++) {
		snprintf(emails[i], sizeof(emails[i]), "member.number.%zu@example.com", i);
		members[i].name = i % 2 ? "Member" : NULL;
		members[i].email = emails[i];
	}
	ck_assert_int_eq(mime_header_append_groups(&out, "Cc", &group, 1, &error), 0);
	assert_lines(&out, 78, true, true);
	ck_assert_uint_ge(count_lines(&out), 5);
	ck_assert_ptr_nonnull(strstr(out.data, "=?utf-8?"));
	ck_assert_ptr_nonnull(strstr(out.data, "<member.number.11@example.com>;\r\n"));
	strbuf_free(&out);
}
END_TEST

START_TEST(header_groups_rejects)
{
	struct mime_address bad[1] = { { NULL, "not an address" } };
	struct mime_address_group empty_name = { "", NULL, 0 };
	struct mime_address_group bad_member = { "G", bad, 1 };
	struct mime_address_group no_members = { NULL, NULL, 0 };
	struct mime_address_group newline = { "G\r\nBcc: x@example.com", NULL, 0 };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(mime_header_append_groups(&out, "To", &empty_name, 1, &error), -1);
	free(error);
	ck_assert_int_eq(mime_header_append_groups(&out, "To", &bad_member, 1, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not an address"));
	free(error);
	ck_assert_int_eq(mime_header_append_groups(&out, "To", &no_members, 1, &error), -1);
	free(error);
	ck_assert_int_eq(mime_header_append_groups(&out, "To", &newline, 1, &error), -1);
	free(error);
	ck_assert_uint_eq(out.len, 0);
	strbuf_free(&out);
}
END_TEST

START_TEST(header_urls_write_and_reject)
{
	const char *urls[] = { "mailto:list-request@example.com?subject=unsubscribe",
		"https://lists.example.com/unsubscribe/0123456789abcdef0123456789abcdef" };
	const char *bad[] = { "https://example.com/a b", "<https://example.com>",
		"https://example.com/\xc3\xa4", "no-scheme", "" };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(mime_header_append_urls(&out, "List-Unsubscribe", urls, 2, &error), 0);
	ck_assert_str_eq(out.data, "List-Unsubscribe:"
	    " <mailto:list-request@example.com?subject=unsubscribe>,\r\n"
	    " <https://lists.example.com/unsubscribe/0123456789abcdef0123456789abcdef>\r\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strbuf_reset(&out);
		ck_assert_msg(mime_header_append_urls(&out, "List-Help", &bad[i], 1, &error) == -1,
		    "\"%s\" was accepted", bad[i]);
		free(error);
	}
	ck_assert_int_eq(mime_header_append_urls(&out, "List-Help", urls, 0, &error), -1);
	free(error);
	strbuf_free(&out);
}
END_TEST

/* Dates. */

static const struct {
	const char *text;
	long long t;	/* -1: rejected */
	int offset;
} date_parse_cases[] = {
	{ "Tue, 1 Jul 2003 10:52:37 +0200", 1057049557LL, 120 },
	{ "1 Jul 2003 10:52:37 +0200", 1057049557LL, 120 },
	{ "Tue, 01 Jul 2003 10:52 +0200", 1057049520LL, 120 },
	{ " Tue,  1 Jul 2003 08:52:37 GMT (comment)", 1057049557LL, 0 },
	{ "Tue, 1 Jul 03 04:52:37 EDT", 1057049557LL, -240 },
	{ "Thu, 1 Jan 1970 00:00:00 -0000", 0, 0 },
	{ "Sat, 29 Feb 2020 23:59:60 +0000", 1583020800LL, 0 },
	{ "Mon, 1 Jul 2003 10:52:37 +0200", -1, 0 },	/* wrong day */
	{ "Sat, 29 Feb 2021 10:00:00 +0000", -1, 0 },	/* no such date */
	{ "Tue, 1 Jul 2003 24:00:00 +0000", -1, 0 },
	{ "Tue, 1 Jul 2003 10:52:37", -1, 0 },		/* no zone */
	{ "Tue, 1 Jul 2003 10:52:37 +02", -1, 0 },
	{ "Tue, 1 Foo 2003 10:52:37 +0200", -1, 0 },
	{ "Tue, 1 Jul 2003 10:52:37 +0200 x", -1, 0 },
	{ "2003-07-01T10:52:37+02:00", -1, 0 },
	{ "", -1, 0 },
};

START_TEST(date_parse_cases_table)
{
	time_t t = 0;
	int offset = 0;
	int rc = mime_date_parse(date_parse_cases[_i].text, &t, &offset);

	if (date_parse_cases[_i].t < 0) {
		ck_assert_msg(rc == -1, "\"%s\" was accepted", date_parse_cases[_i].text);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" was rejected", date_parse_cases[_i].text);
	ck_assert_int_eq((long long)t, date_parse_cases[_i].t);
	ck_assert_int_eq(offset, date_parse_cases[_i].offset);
}
END_TEST

START_TEST(date_parse_reads_written_dates)
{
	static const int offsets[] = { 0, 60, -300, 330, -720, 840 };
	struct strbuf out = STRBUF_INIT;

	for (size_t i = 0; i < 200; i++) {
		time_t t = (time_t)(i * 86400LL * 53 + i * 3607), parsed;
		int offset = offsets[i % 6], parsed_offset;
		char *value;

		strbuf_reset(&out);
		mime_header_append_date(&out, "Date", t, offset);
		value = field_value(&out, "Date");
		ck_assert_msg(mime_date_parse(value, &parsed, &parsed_offset) == 0, "%s", value);
		ck_assert_int_eq((long long)parsed, (long long)t);
		ck_assert_int_eq(parsed_offset, offset);
		free(value);
	}
	strbuf_free(&out);
}
END_TEST

/* Parsing entities back. */

/* Renders part and parses the result. */
static void
render_and_parse(const struct mime_part *part, struct mime_entity *entity)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_msg(mime_part_render(part, &out, &error) == 0, "%s", error);
	ck_assert_msg(mime_parse_entity(out.data, out.len, entity, &error) == 0, "%s", error);
	strbuf_free(&out);
}

START_TEST(parse_rendered_tree)
{
	static const unsigned char binary[] = { 0, 1, 2, 0xff, 0, '\r', '\n', 0x80, 0 };
	struct mime_part *mixed = mime_part_new("multipart/mixed");
	struct mime_part *alt = mime_part_add_child(mixed, "multipart/alternative");
	struct mime_entity e;
	char *name;

	const char *text = "Gr\xc3\xbc\xc3\x9f" "e\nline two   \nFrom here\n";
	mime_part_set_body(mime_part_add_child(alt, "text/plain"), text, strlen(text));
	mime_part_set_body(mime_part_add_child(alt, "text/html"), "<p>hi</p>", 9);
	struct mime_part *att = mime_part_add_child(mixed, "application/octet-stream");
	mime_part_set_body(att, binary, sizeof(binary));
	att->filename = strdup("r\xc3\xa9sum\xc3\xa9 of a rather long file name, with a comma.bin");
	att->cid = strdup("part1@example.com");

	render_and_parse(mixed, &e);
	ck_assert_str_eq(e.type, "multipart/mixed");
	ck_assert_uint_eq(e.child_count, 2);
	ck_assert_str_eq(e.children[0].type, "multipart/alternative");
	ck_assert_uint_eq(e.children[0].child_count, 2);
	ck_assert_str_eq(e.children[0].children[0].encoding, "quoted-printable");
	ck_assert_uint_eq(e.children[0].children[0].body_len, 33);
	ck_assert(memcmp(e.children[0].children[0].body,
	    "Gr\xc3\xbc\xc3\x9f" "e\r\nline two   \r\nFrom here\r\n", 33) == 0);
	ck_assert_uint_le(e.children[0].children[0].encoded_line_max, 76);
	ck_assert_uint_eq(e.children[0].children[1].body_len, 9);

	const struct mime_entity *a = &e.children[1];
	ck_assert_str_eq(a->encoding, "base64");
	ck_assert_uint_eq(a->body_len, sizeof(binary));
	ck_assert(memcmp(a->body, binary, sizeof(binary)) == 0);
	name = mime_parse_param(mime_entity_field(a, "Content-Disposition"), "filename");
	ck_assert_pstr_eq(name, att->filename);
	free(name);
	name = mime_parse_param(mime_entity_field(a, "Content-Type"), "name");
	ck_assert_pstr_eq(name, att->filename);
	free(name);
	name = mime_parse_token(mime_entity_field(a, "Content-Disposition"));
	ck_assert_str_eq(name, "attachment");
	free(name);
	ck_assert_str_eq(mime_entity_field(a, "Content-ID"), " <part1@example.com>");

	mime_entity_clear(&e);
	mime_part_free(mixed);
}
END_TEST

static const struct {
	const char *value;
	const char *param;
	const char *expected;	/* NULL: absent or undecodable */
} param_cases[] = {
	{ "text/plain; charset=utf-8", "charset", "utf-8" },
	{ "text/plain; CHARSET=\"us-ascii\" (comment)", "charset", "us-ascii" },
	{ "attachment; filename=\"a \\\"b\\\".txt\"", "filename", "a \"b\".txt" },
	{ "attachment; filename*=utf-8''%C3%A4.txt", "filename", "\xc3\xa4.txt" },
	{ "attachment; filename*=UTF-8'de'%C3%A4.txt; filename=fallback.txt", "filename",
	  "\xc3\xa4.txt" },
	{ "attachment; filename*0*=utf-8''a%20; filename*1=b; filename*2*=%C3%A4",
	  "filename", "a b\xc3\xa4" },
	{ "attachment; filename*1=b; filename*0=a", "filename", "ab" },
	{ "attachment; filename*0=a; filename*2=c", "filename", NULL },
	{ "attachment; filename*=iso-8859-1''%E4.txt", "filename", NULL },
	{ "attachment; filename*=utf-8''%ZZ", "filename", NULL },
	{ "application/x; name=\"=?utf-8?B?w6QudHh0?=\"", "name", "\xc3\xa4.txt" },
	{ "application/x; name==?utf-8?B?w6QudHh0?=", "name", NULL },
	{ "multipart/mixed; boundary=\"=_abc\"", "boundary", "=_abc" },
	{ "text/plain", "charset", NULL },
};

START_TEST(parse_param_cases)
{
	char *got = mime_parse_param(param_cases[_i].value, param_cases[_i].param);

	ck_assert_pstr_eq(got, param_cases[_i].expected);
	free(got);
}
END_TEST

static const struct {
	const char *data;
	const char *reason;
} parse_error_cases[] = {
	{ "Content-Type: text/plain\n\nbare LF", "bare CR or LF" },
	{ "Content-Type: text/plain\r\nno empty line", "does not end in CRLF" },
	{ " continued: x\r\n\r\n", "continuation" },
	{ "No colon here\r\n\r\n", "invalid header line" },
	{ "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\n--x--\r\n", "no boundary" },
	{ "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nbody\r\n",
	  "no close delimiter" },
	{ "Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts\r\n", "no part" },
	{ "Content-Transfer-Encoding: base64\r\n\r\nAAA*\r\n", "invalid base64" },
	{ "Content-Transfer-Encoding: base64\r\n\r\nAAAAA\r\n", "middle of a group" },
	{ "Content-Transfer-Encoding: quoted-printable\r\n\r\n=G1\r\n", "quoted-printable" },
	{ "Content-Transfer-Encoding: x-uuencode\r\n\r\nbody\r\n", "unknown" },
	{ "Content-Type: nonsense\r\n\r\n", "invalid Content-Type" },
};

START_TEST(parse_error_cases_table)
{
	struct mime_entity e;
	char *error = NULL;

	ck_assert_int_eq(mime_parse_entity(parse_error_cases[_i].data,
	    strlen(parse_error_cases[_i].data), &e, &error), -1);
	ck_assert_msg(strstr(error, parse_error_cases[_i].reason) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, error, parse_error_cases[_i].reason);
	ck_assert_ptr_null(e.fields);
	free(error);
}
END_TEST

START_TEST(parse_fields_and_text)
{
	const char *message = "Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?utf-8?Q?_aus?= Berlin \r\n"
	    "X-A: one\r\nx-a: two\r\n\r\nbody";
	struct mime_entity e;
	char *error = NULL, *text;

	ck_assert_int_eq(mime_parse_entity(message, strlen(message), &e, &error), 0);
	ck_assert_uint_eq(e.field_count, 3);
	ck_assert_str_eq(e.type, "text/plain");
	ck_assert_str_eq(e.encoding, "7bit");
	ck_assert_uint_eq(mime_entity_field_count(&e, "X-A"), 2);
	ck_assert_str_eq(mime_entity_field(&e, "X-A"), " two");
	text = mime_parse_text(mime_entity_field(&e, "subject"));
	ck_assert_str_eq(text, "Gr\xc3\xbc\xc3\x9f" "e aus Berlin");
	free(text);
	ck_assert_uint_eq(e.body_len, 4);
	ck_assert(memcmp(e.body, "body", 4) == 0);
	mime_entity_clear(&e);
}
END_TEST

/* Bodies longer than the decoder's 4096-octet output block, with every
 * octet value, come back unchanged; so do many quoted-printable escapes. */
START_TEST(parse_large_bodies)
{
	struct mime_part *mixed = mime_part_new("multipart/mixed");
	size_t binary_len = 3 * 4096 + 7;
	unsigned char *binary = malloc(binary_len);
	struct strbuf qp = STRBUF_INIT;
	struct mime_entity e;

	/* Each child is filled before the next is added, which may move it. */
	for (size_t i = 0; i < binary_len; i++)
		binary[i] = (unsigned char)(i * 7 + i / 256);
	mime_part_set_body(mime_part_add_child(mixed, "application/octet-stream"),
	    binary, binary_len);
	for (int i = 0; i < 500; i++)
		strbuf_appends(&qp, "caf\xc3\xa9 = cr\xc3\xa8me\t\n");
	mime_part_set_body(mime_part_add_child(mixed, "text/plain"), qp.data, qp.len);

	render_and_parse(mixed, &e);
	ck_assert_uint_eq(e.child_count, 2);
	ck_assert_str_eq(e.children[0].encoding, "base64");
	ck_assert_uint_eq(e.children[0].body_len, binary_len);
	ck_assert(memcmp(e.children[0].body, binary, binary_len) == 0);
	ck_assert_str_eq(e.children[1].encoding, "quoted-printable");
	ck_assert_uint_le(e.children[1].encoded_line_max, 76);
	/* The renderer writes CRLF line ends. */
	ck_assert_uint_eq(e.children[1].body_len, qp.len + 500);

	mime_entity_clear(&e);
	mime_part_free(mixed);
	strbuf_free(&qp);
	free(binary);
}
END_TEST

/* Base64 groups split across lines, padding and short lines decode the
 * same as whole groups; data after padding is rejected. */
static const struct {
	const char *encoded;
	const char *decoded;
} parse_base64_cases[] = {
	{ "QUJD", "ABC" },
	{ "QU\r\nJD", "ABC" },
	{ "Q\r\nU\r\nJ\r\nD\r\n", "ABC" },
	{ "QUJDRA==", "ABCD" },
	{ "QUJDREU=", "ABCDE" },
	{ "QUJDRE\r\nU=\r\n", "ABCDE" },
	{ "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
	{ "", "" },
};

START_TEST(parse_base64_forms)
{
	struct strbuf message = STRBUF_INIT;
	struct mime_entity e;
	char *error = NULL;

	strbuf_printf(&message, "Content-Transfer-Encoding: base64\r\n\r\n%s",
	    parse_base64_cases[_i].encoded);
	ck_assert_msg(mime_parse_entity(message.data, message.len, &e, &error) == 0,
	    "case %d: %s", _i, error);
	ck_assert_uint_eq(e.body_len, strlen(parse_base64_cases[_i].decoded));
	ck_assert(memcmp(e.body, parse_base64_cases[_i].decoded, e.body_len) == 0);
	mime_entity_clear(&e);
	strbuf_free(&message);
}
END_TEST

START_TEST(parse_base64_data_after_padding)
{
	const char *message = "Content-Transfer-Encoding: base64\r\n\r\nQQ==QUJD\r\n";
	struct mime_entity e;
	char *error = NULL;

	ck_assert_int_eq(mime_parse_entity(message, strlen(message), &e, &error), -1);
	ck_assert_msg(strstr(error, "invalid base64") != NULL, "%s", error);
	free(error);
}
END_TEST

/* A line that starts like a delimiter but goes on is part of the body. */
START_TEST(parse_delimiter_lookalike)
{
	const char *message = "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\n\r\n--xy\r\n-- x\r\na--x\r\n--x  \r\n\r\nsecond\r\n--x--";
	struct mime_entity e;
	char *error = NULL;

	ck_assert_msg(mime_parse_entity(message, strlen(message), &e, &error) == 0, "%s", error);
	ck_assert_uint_eq(e.child_count, 2);
	ck_assert_uint_eq(e.children[0].body_len, 16);
	ck_assert(memcmp(e.children[0].body, "--xy\r\n-- x\r\na--x", 16) == 0);
	ck_assert_uint_eq(e.children[1].body_len, 6);
	ck_assert(memcmp(e.children[1].body, "second", 6) == 0);
	mime_entity_clear(&e);
}
END_TEST

/* Suite. */

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *address = tcase_create("address");
	TCase *header = tcase_create("header");
	TCase *encode = tcase_create("encode");
	TCase *part = tcase_create("part");
	TCase *date = tcase_create("date");
	TCase *parse = tcase_create("parse");

	tcase_add_loop_test(address, address_valid_cases, 0,
	    COUNT(address_cases));
	tcase_add_test(address, address_total_length_limit);
	tcase_add_test(address, address_check_message);
	tcase_add_test(address, address_check_message_truncated);
	tcase_add_loop_test(address, address_equal_cases, 0,
	    COUNT(equal_cases));
	tcase_add_loop_test(address, address_list_parse_cases, 0,
	    COUNT(list_cases));
	tcase_add_test(address, address_list_error_names_text);
	suite_add_tcase(s, address);

	tcase_add_loop_test(header, header_text_folding_cases, 0,
	    COUNT(text_cases));
	tcase_add_test(header, header_text_exact_output);
	tcase_add_test(header, header_text_fold_at_78);
	tcase_add_test(header, header_text_long_folds_at_spaces_only);
	tcase_add_loop_test(header, header_text_rejects_cases, 0,
	    COUNT(text_error_cases));
	tcase_add_test(header, header_text_error_names_value);
	tcase_add_test(header, header_hard_limit_rejects);
	tcase_add_loop_test(header, header_check_name_cases, 0,
	    COUNT(field_name_cases));
	tcase_add_loop_test(header, header_mailbox_cases, 0,
	    COUNT(mailbox_cases));
	tcase_add_test(header, header_address_list_folds_between);
	tcase_add_test(header, header_addresses_rejects);
	tcase_add_test(header, header_msgids_write_and_fold);
	tcase_add_loop_test(header, header_msgids_reject_cases, 0,
	    COUNT(bad_msgids));
	tcase_add_loop_test(header, header_date_cases, 0, COUNT(date_cases));
	tcase_add_loop_test(header, header_raw_cases, 0, COUNT(raw_cases));
	tcase_add_test(header, header_raw_line_limit);
	tcase_add_test(header, header_new_msgid_format);
	tcase_add_loop_test(header, header_edge_subject_reads_back, 0, COUNT(edge_subjects));
	tcase_add_loop_test(header, header_edge_name_reads_back, 0, COUNT(edge_names));
	tcase_add_loop_test(header, header_quoted_name_exact, 0, COUNT(quoted_name_cases));
	tcase_add_test(header, header_groups_exact);
	tcase_add_test(header, header_groups_fold_long);
	tcase_add_test(header, header_groups_rejects);
	tcase_add_test(header, header_urls_write_and_reject);
	suite_add_tcase(s, header);

	tcase_add_loop_test(encode, encode_qp_cases, 0, COUNT(qp_cases));
	tcase_add_loop_test(encode, encode_qp_line_limit_cases, 0,
	    COUNT(qp_limit_cases));
	tcase_add_loop_test(encode, encode_qp_random_round_trip, 0, 40);
	tcase_add_loop_test(encode, encode_base64_lengths, 0, 10);
	tcase_add_test(encode, encode_base64_known);
	suite_add_tcase(s, encode);

	tcase_add_loop_test(part, part_leaf_cases, 0, COUNT(leaf_cases));
	tcase_add_test(part, part_text_plain_exact);
	tcase_add_test(part, part_optional_fields_exact);
	tcase_add_loop_test(part, part_filename_cases, 0,
	    COUNT(filename_cases));
	tcase_add_test(part, part_rfc2231_exact);
	tcase_add_test(part, part_multipart_alternative);
	tcase_add_test(part, part_multipart_mixed_binary);
	tcase_add_test(part, part_boundary_unique_and_absent);
	tcase_add_test(part, part_whole_output_transport_safe);
	tcase_add_test(part, part_tree_management);
	tcase_add_loop_test(part, part_render_rejects_cases, 0,
	    COUNT(bad_part_cases));
	tcase_add_test(part, part_depth_limit_allows_32);
	suite_add_tcase(s, part);

	tcase_add_loop_test(date, date_parse_cases_table, 0, COUNT(date_parse_cases));
	tcase_add_test(date, date_parse_reads_written_dates);
	suite_add_tcase(s, date);

	tcase_add_test(parse, parse_rendered_tree);
	tcase_add_loop_test(parse, parse_param_cases, 0, COUNT(param_cases));
	tcase_add_loop_test(parse, parse_error_cases_table, 0, COUNT(parse_error_cases));
	tcase_add_test(parse, parse_fields_and_text);
	tcase_add_test(parse, parse_large_bodies);
	tcase_add_loop_test(parse, parse_base64_forms, 0,
	    sizeof(parse_base64_cases) / sizeof(parse_base64_cases[0]));
	tcase_add_test(parse, parse_base64_data_after_padding);
	tcase_add_test(parse, parse_delimiter_lookalike);
	suite_add_tcase(s, parse);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(mime_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
