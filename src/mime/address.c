/* Validation and comparison of RFC 5322 addr-specs, with UTF-8 allowed as
 * RFC 6532 extends them. */
#include "mime/address.h"

#include <stdio.h>
#include <string.h>

#include "mime/text.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* RFC 5321 section 4.5.3.1: a local part has at most 64 octets and a path
 * at most 256 including the angle brackets. */
#define ADDRESS_LOCAL_MAX 64
#define ADDRESS_TOTAL_MAX 254

struct address_reason {
	char text[96];
};

static void
address_describe_char(struct address_reason *reason, const char *s,
    const char *where)
{
	unsigned char c = (unsigned char)*s;

	if (c == ' ')
		snprintf(reason->text, sizeof(reason->text),
		    "invalid space in %s", where);
	else if (c < 0x20 || c == 0x7f)
		snprintf(reason->text, sizeof(reason->text),
		    "invalid control character 0x%02x in %s", c, where);
	else if (c >= 0x80)
		snprintf(reason->text, sizeof(reason->text),
		    "invalid character \"%.*s\" in %s", (int)mime_text_utf8_len(
		    (const unsigned char *)s, strlen(s)), s, where);
	else
		snprintf(reason->text, sizeof(reason->text),
		    "invalid character \"%c\" in %s", c, where);
}

static void
address_set_reason(struct address_reason *reason, const char *text)
{
	snprintf(reason->text, sizeof(reason->text), "%s", text);
}

/* Scans a dot-atom-text from s that should be followed by end ("@" or NUL);
 * returns its length, or 0 with a reason. */
static size_t
address_scan_dot_atom(const char *s, char end, const char *where,
    struct address_reason *reason)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (mime_text_is_atext((unsigned char)s[i]))
			i++;
		if (i > start && s[i] != '.')
			return i;
		if (i > start) {
			i++;
			continue;
		}

		if (s[i] == '.' && i == 0)
			snprintf(reason->text, sizeof(reason->text),
			    "dot at the start of %s", where);
		else if (s[i] == '.')
			snprintf(reason->text, sizeof(reason->text),
			    "consecutive dots in %s", where);
		else if ((s[i] == end || s[i] == '\0') && i == 0)
			snprintf(reason->text, sizeof(reason->text), "empty %s",
			    where);
		else if (s[i] == end || s[i] == '\0')
			snprintf(reason->text, sizeof(reason->text),
			    "dot at the end of %s", where);
		else
			address_describe_char(reason, s + i, where);
		return 0;
	}
}

/* Scans a quoted-string local part from s (which starts with a quote);
 * returns its length including both quotes, or 0 with a reason. */
static size_t
address_scan_quoted(const char *s, struct address_reason *reason)
{
	size_t i = 1;

	for (;;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0') {
			address_set_reason(reason,
			    "missing closing quote in local part");
			return 0;
		}
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pair = "\" (VCHAR / WSP) */
			c = (unsigned char)s[i + 1];
			if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
				address_set_reason(reason,
				    "invalid quoted-pair in local part");
				return 0;
			}
			i += 2;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			address_describe_char(reason, s + i,
			    "local part");
			return 0;
		}
		i++;
	}
}

/* Scans "[" *dtext "]" from s; returns its length or 0 with a reason. */
static size_t
address_scan_literal(const char *s, struct address_reason *reason)
{
	size_t i = 1;

	while (s[i] != ']') {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0') {
			address_set_reason(reason,
			    "missing \"]\" in domain literal");
			return 0;
		}
		if (c <= 0x20 || c == '[' || c == '\\' || c == 0x7f) {
			address_describe_char(reason, s + i,
			    "domain literal");
			return 0;
		}
		i++;
	}
	return i + 1;
}

/* Finds the "@" that ends the local part; returns false with a reason. */
static bool
address_split(const char *email, size_t *local_len_r,
    struct address_reason *reason)
{
	size_t n;

	if (email[0] == '"')
		n = address_scan_quoted(email, reason);
	else
		n = address_scan_dot_atom(email, '@', "local part", reason);
	if (n == 0)
		return false;
	if (email[n] == '\0') {
		address_set_reason(reason, "missing \"@\"");
		return false;
	}
	if (email[n] != '@') {
		address_describe_char(reason, email + n,
		    "local part");
		return false;
	}
	*local_len_r = n;
	return true;
}

static bool
address_check_domain(const char *domain, struct address_reason *reason)
{
	size_t n;

	if (domain[0] == '[')
		n = address_scan_literal(domain, reason);
	else
		n = address_scan_dot_atom(domain, '\0', "domain", reason);
	if (n == 0)
		return false;
	if (domain[n] != '\0') {
		address_describe_char(reason, domain + n,
		    "domain");
		return false;
	}
	return true;
}

static bool
address_check(const char *email, struct address_reason *reason)
{
	size_t len = strlen(email), local_len, i;

	if (len == 0) {
		address_set_reason(reason, "empty address");
		return false;
	}
	if (!mime_text_is_utf8(email, len)) {
		address_set_reason(reason, "invalid UTF-8");
		return false;
	}
	for (i = 0; i < len; i++) {
		if (email[i] == '\r' || email[i] == '\n') {
			address_set_reason(reason, "contains a line break");
			return false;
		}
	}
	if (!address_split(email, &local_len, reason) ||
	    !address_check_domain(email + local_len + 1, reason))
		return false;
	if (local_len > ADDRESS_LOCAL_MAX) {
		snprintf(reason->text, sizeof(reason->text),
		    "local part longer than %d octets", ADDRESS_LOCAL_MAX);
		return false;
	}
	if (len > ADDRESS_TOTAL_MAX) {
		snprintf(reason->text, sizeof(reason->text),
		    "longer than %d octets", ADDRESS_TOTAL_MAX);
		return false;
	}
	return true;
}

bool
mime_address_is_valid(const char *email)
{
	struct address_reason reason;

	return email != NULL && address_check(email, &reason);
}

int
mime_address_check(const char *email, char **error_r)
{
	struct address_reason reason;

	if (email == NULL) {
		*error_r = xstrdup("missing email address");
		return -1;
	}
	if (!address_check(email, &reason)) {
		*error_r = mime_text_error("invalid email address", email,
		    reason.text);
		return -1;
	}
	return 0;
}

/* Appends the local part without quotes and quoted-pair backslashes. */
static void
address_append_unquoted(struct strbuf *sb, const char *local, size_t len)
{
	size_t i;

	if (len < 2 || local[0] != '"') {
		strbuf_append(sb, local, len);
		return;
	}
	for (i = 1; i + 1 < len; i++) {
		if (local[i] == '\\')
			i++;
		strbuf_appendc(sb, local[i]);
	}
}

static bool
address_ascii_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return false;
	for (i = 0; i < a_len; i++) {
		unsigned char ca = (unsigned char)a[i];
		unsigned char cb = (unsigned char)b[i];

		if (ca >= 'A' && ca <= 'Z')
			ca = (unsigned char)(ca - 'A' + 'a');
		if (cb >= 'A' && cb <= 'Z')
			cb = (unsigned char)(cb - 'A' + 'a');
		if (ca != cb)
			return false;
	}
	return true;
}

bool
mime_address_equal(const char *a, const char *b, bool ignore_local_case)
{
	struct address_reason reason;
	struct strbuf la = STRBUF_INIT, lb = STRBUF_INIT;
	size_t a_local, b_local;
	const char *a_domain, *b_domain;
	bool equal;

	if (!address_check(a, &reason) || !address_check(b, &reason))
		return strcmp(a, b) == 0;
	address_split(a, &a_local, &reason);
	address_split(b, &b_local, &reason);
	a_domain = a + a_local + 1;
	b_domain = b + b_local + 1;

	/* "a.b"@x and a.b@x name the same mailbox. */
	address_append_unquoted(&la, a, a_local);
	address_append_unquoted(&lb, b, b_local);
	if (ignore_local_case)
		equal = address_ascii_equal(strbuf_str(&la), la.len,
		    strbuf_str(&lb), lb.len);
	else
		equal = la.len == lb.len &&
		    memcmp(strbuf_str(&la), strbuf_str(&lb), la.len) == 0;
	equal = equal && address_ascii_equal(a_domain, strlen(a_domain),
	    b_domain, strlen(b_domain));
	strbuf_free(&la);
	strbuf_free(&lb);
	return equal;
}
