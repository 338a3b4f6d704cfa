/* Reading a built message back before it is signed or encrypted: the bytes
 * must survive any relay, and a parser must find the recipients, subject
 * and body parts that the create asked for. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/address.h"
#include "mime/parse.h"
#include "util/octets.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define EMAIL_VERIFY_LINE_MAX 998
#define EMAIL_VERIFY_ENCODED_LINE_MAX 76

static const char *const email_verify_field_names[EMAIL_FIELD_COUNT] = {
	"From", "Sender", "To", "Cc", "Bcc", "Reply-To"
};

/* Checks one line of len octets at offset start. */
static int
email_verify_line(const char *message, size_t start, size_t len, bool entity,
    char **error_r)
{
	if (len > EMAIL_VERIFY_LINE_MAX) {
		*error_r = xasprintf("line at offset %zu has %zu octets, more than %d", start, len,
		    EMAIL_VERIFY_LINE_MAX);
		return -1;
	}
	if (entity && len > 0 && (message[start + len - 1] == ' ' ||
	    message[start + len - 1] == '\t')) {
		*error_r = xasprintf("line at offset %zu of the body ends in white space", start);
		return -1;
	}
	return 0;
}

/* Returns true when message passes email_verify_lines. It finds line ends
 * with memchr instead of looking at every octet in turn. */
static bool
email_verify_lines_clean(const char *message, size_t len, size_t header_len)
{
	const unsigned char *p = (const unsigned char *)message;
	size_t start = 0;

	for (;;) {
		const unsigned char *cr = memchr(p + start, '\r', len - start);
		size_t end = cr != NULL ? (size_t)(cr - p) : len;
		size_t body_start = start > header_len ? start : header_len;

		if (memchr(p + start, '\n', end - start) != NULL)
			return false;
		if (body_start < end && !octets_are_7bit(p + body_start, end - body_start))
			return false;
		if (end - start > EMAIL_VERIFY_LINE_MAX)
			return false;
		bool entity = cr != NULL ? end >= header_len : start >= header_len;

		if (entity && end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			return false;
		if (cr == NULL)
			return true;
		if (end + 1 >= len || p[end + 1] != '\n')
			return false;
		start = end + 2;
	}
}

/* Checks that every line ends in CRLF and has at most 998 octets. The
 * entity must also be 7-bit without NUL and without white space at line
 * ends, because it is what gets signed and relays may strip such white
 * space. The last line may lack its CRLF when the body ends without a line
 * break. A message that email_verify_lines_clean rejects is then checked
 * an octet at a time, to name its first fault. */
static int
email_verify_lines(const char *message, size_t len, size_t header_len,
    char **error_r)
{
	if (email_verify_lines_clean(message, len, header_len))
		return 0;

	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)message[i];
		bool entity = i >= header_len;

		if (c == '\n' || (c == '\r' && (i + 1 >= len || message[i + 1] != '\n'))) {
			*error_r = xasprintf("bare CR or LF at offset %zu", i);
			return -1;
		}
		if (entity && (c == 0 || c >= 0x80)) {
			*error_r = xasprintf("8-bit or NUL octet 0x%02x in the body at offset %zu",
			    c, i);
			return -1;
		}
		if (c != '\r')
			continue;
		if (email_verify_line(message, start, i - start, entity, error_r) < 0)
			return -1;
		i++;
		start = i + 1;
	}
	return email_verify_line(message, start, len - start, start >= header_len, error_r);
}

static bool
email_verify_same_name(const char *requested, const char *parsed)
{
	if (requested == NULL || *requested == '\0')
		return parsed == NULL || *parsed == '\0';
	return parsed != NULL && strcmp(requested, parsed) == 0;
}

/* Compares every occurrence of an address field with the requested lists
 * (flattened, since groups are flattened when parsed). */
static int
email_verify_addresses(const struct email_draft *draft, enum email_field f,
    const struct mime_entity *message, char **error_r)
{
	const char *name = email_verify_field_names[f];
	struct mime_address *parsed = NULL;
	size_t parsed_count = 0, k = 0, j = 0;
	char *error = NULL;
	int ret = -1;

	for (size_t i = 0; i < message->field_count; i++) {
		struct mime_address *list = NULL;
		size_t count = 0;
		if (strcasecmp(message->fields[i].name, name) != 0)
			continue;
		if (mime_address_list_parse(message->fields[i].value, &list, &count, &error) < 0) {
			*error_r = xasprintf("%s field does not parse: %s", name, error);
			free(error);
			goto out;
		}
		parsed = xreallocarray(parsed, parsed_count + count + 1, sizeof(*parsed));
		memcpy(parsed + parsed_count, list, count * sizeof(*list));
		parsed_count += count;
		free(list);
	}
	for (size_t n = 0; n < parsed_count; n++, j++) {
		while (k < draft->field_count[f] && j >= draft->fields[f][k].count) {
			k++;
			j = 0;
		}
		if (k == draft->field_count[f]) {
			*error_r = xasprintf("%s has more addresses than requested", name);
			goto out;
		}
		const struct mime_address *want = &draft->fields[f][k].items[j];
		if (strcmp(want->email, parsed[n].email) != 0 ||
		    !email_verify_same_name(want->name, parsed[n].name)) {
			*error_r = xasprintf("%s reads back as \"%s\" <%s>, not \"%s\" <%s>", name,
			    parsed[n].name != NULL ? parsed[n].name : "", parsed[n].email,
			    want->name != NULL ? want->name : "", want->email);
			goto out;
		}
	}
	while (k < draft->field_count[f] && j >= draft->fields[f][k].count) {
		k++;
		j = 0;
	}
	if (k < draft->field_count[f]) {
		*error_r = xasprintf("%s has fewer addresses than requested", name);
		goto out;
	}
	ret = 0;
out:
	mime_address_list_free(parsed, parsed_count);
	return ret;
}

/* Returns a copy of len bytes of s with every run of spaces and tabs made
 * one space. A raw Subject may fold after white space, and the writer drops
 * white space at line ends, so only the runs can differ. */
static char *
email_verify_collapse_space(const char *s, size_t len)
{
	struct strbuf out = STRBUF_INIT;

	for (size_t i = 0; i < len; i++) {
		bool space = s[i] == ' ' || s[i] == '\t';
		if (space && out.len > 0 && out.data[out.len - 1] == ' ')
			continue;
		strbuf_appendc(&out, space ? ' ' : s[i]);
	}
	return strbuf_detach(&out, NULL);
}

static int
email_verify_subject(const struct email_draft *draft, const struct mime_entity *message,
    char **error_r)
{
	const char *raw = mime_entity_field(message, "Subject");
	char *parsed, *want, *text;
	size_t start = 0, end;
	int ret = 0;

	if (draft->subject == NULL)
		return 0;
	if (raw == NULL) {
		*error_r = xstrdup("the Subject field is missing");
		return -1;
	}
	/* The writer drops white space at both ends of unstructured text. */
	end = strlen(draft->subject);
	while (start < end && (draft->subject[start] == ' ' || draft->subject[start] == '\t'))
		start++;
	while (end > start && (draft->subject[end - 1] == ' ' || draft->subject[end - 1] == '\t'))
		end--;
	want = email_verify_collapse_space(draft->subject + start, end - start);
	text = mime_parse_text(raw);
	parsed = email_verify_collapse_space(text, strlen(text));
	free(text);
	if (strcmp(parsed, want) != 0) {
		*error_r = xasprintf("Subject reads back as \"%s\", not \"%s\"", parsed, want);
		ret = -1;
	}
	free(parsed);
	free(want);
	return ret;
}

/* Writes to out the content a text leaf must decode to: the text with its
 * line ends made CRLF, as the renderer writes them. Other leaves must decode
 * to their body unchanged, and out stays empty for them. */
static void
email_verify_expected_body(const struct mime_part *part, struct strbuf *out)
{
	const char *cs = part->charset != NULL ? part->charset : "utf-8";
	bool text = strncmp(part->type, "text/", 5) == 0 &&
	    strncasecmp(cs, "utf-16", 6) != 0 && strncasecmp(cs, "utf-32", 6) != 0 &&
	    strncasecmp(cs, "ucs-", 4) != 0;
	bool message = strcasecmp(part->type, "message/rfc822") == 0;
	const unsigned char *body = part->body;
	size_t i = 0;

	if (!text && !message)
		return;
	/* Each run up to the next CR or LF is appended in one piece. */
	while (i < part->body_len) {
		size_t end = i;

		while (end < part->body_len && body[end] != '\r' && body[end] != '\n')
			end++;
		strbuf_append(out, body + i, end - i);
		if (end == part->body_len)
			break;
		if (body[end] == '\r' && end + 1 < part->body_len && body[end + 1] == '\n')
			end++;
		strbuf_append(out, "\r\n", 2);
		i = end + 1;
	}
}

static int
email_verify_param(const char *what, const char *want, const char *field,
    const char *param, const char *where, char **error_r)
{
	char *got = field != NULL ? mime_parse_param(field, param) : NULL;
	int ret = 0;

	if ((want == NULL) != (got == NULL) || (want != NULL && strcmp(want, got) != 0)) {
		*error_r = xasprintf("%s of part %s reads back as \"%s\", not \"%s\"", what, where,
		    got != NULL ? got : "", want != NULL ? want : "");
		ret = -1;
	}
	free(got);
	return ret;
}

/* Compares a Content-ID value " <id>" with the requested id. */
static int
email_verify_cid(const char *want, const char *field)
{
	size_t len;

	if (want == NULL || field == NULL)
		return want == field ? 0 : -1;
	field += strspn(field, " \t");
	len = strlen(want);
	if (field[0] != '<' || strncmp(field + 1, want, len) != 0 || field[len + 1] != '>' ||
	    field[len + 2 + strspn(field + len + 2, " \t")] != '\0')
		return -1;
	return 0;
}

/* Compares the header fields that a part's properties write. */
static int
email_verify_part_fields(const struct mime_part *part, const struct mime_entity *e,
    const char *where, char **error_r)
{
	const char *disposition = mime_entity_field(e, "Content-Disposition");
	const char *cid = mime_entity_field(e, "Content-ID");
	const char *want_disposition = part->disposition != NULL ? part->disposition :
	    part->filename != NULL ? "attachment" : NULL;
	char *got = disposition != NULL ? mime_parse_token(disposition) : NULL;
	bool same = (got == NULL) == (want_disposition == NULL) &&
	    (got == NULL || strcmp(got, want_disposition) == 0);

	free(got);
	if (!same) {
		*error_r = xasprintf("the disposition of part %s does not read back", where);
		return -1;
	}
	if (email_verify_param("file name", part->filename, disposition, "filename", where,
	    error_r) < 0)
		return -1;
	if (strncmp(part->type, "text/", 5) == 0 && email_verify_param("charset",
	    part->charset != NULL ? part->charset : "utf-8", mime_entity_field(e, "Content-Type"),
	    "charset", where, error_r) < 0)
		return -1;
	if (email_verify_cid(part->cid, cid) < 0) {
		*error_r = xasprintf("the Content-ID of part %s does not read back", where);
		return -1;
	}
	return 0;
}

static int
email_verify_part(const struct mime_part *part, const struct mime_entity *e,
    const char *where, char **error_r)
{
	struct strbuf want = STRBUF_INIT;
	int ret = -1;

	if (strcasecmp(part->type, e->type) != 0) {
		*error_r = xasprintf("part %s reads back as %s, not %s", where, e->type, part->type);
		return -1;
	}
	if (part->child_count != e->child_count) {
		*error_r = xasprintf("part %s reads back with %zu parts, not %zu", where,
		    e->child_count, part->child_count);
		return -1;
	}
	if (email_verify_part_fields(part, e, where, error_r) < 0)
		return -1;
	for (size_t i = 0; i < part->child_count; i++) {
		char *sub = xasprintf("%s.%zu", where, i + 1);
		int r = email_verify_part(&part->children[i], &e->children[i], sub, error_r);
		free(sub);
		if (r < 0)
			return -1;
	}
	if (part->child_count > 0)
		return 0;
	if ((strcmp(e->encoding, "base64") == 0 || strcmp(e->encoding, "quoted-printable") == 0) &&
	    e->encoded_line_max > EMAIL_VERIFY_ENCODED_LINE_MAX) {
		*error_r = xasprintf("part %s has %s lines of %zu characters, more than %d", where,
		    e->encoding, e->encoded_line_max, EMAIL_VERIFY_ENCODED_LINE_MAX);
		return -1;
	}
	email_verify_expected_body(part, &want);
	const void *expected = want.data;
	size_t expected_len = want.len;
	if (expected == NULL) {
		/* The body is compared as it is, without a copy. */
		expected = part->body;
		expected_len = part->body_len;
	}
	if (expected_len != e->body_len ||
	    (expected_len > 0 && memcmp(expected, e->body, expected_len) != 0))
		*error_r = xasprintf("the content of part %s reads back as %zu octets that differ "
		    "from the %zu requested", where, e->body_len, expected_len);
	else
		ret = 0;
	strbuf_free(&want);
	return ret;
}

int
email_verify_message(const struct email_draft *draft, bool bcc_written,
    const char *message, size_t message_len, size_t header_len, char **error_r)
{
	struct mime_entity parsed;
	char *error = NULL;
	int ret = -1;

	if (email_verify_lines(message, message_len, header_len, error_r) < 0)
		return -1;
	if (mime_parse_entity(message, message_len, &parsed, &error) < 0) {
		*error_r = xasprintf("the message does not parse: %s", error);
		free(error);
		return -1;
	}
	for (int f = 0; f < EMAIL_FIELD_COUNT; f++) {
		if (f == EMAIL_BCC && !bcc_written) {
			if (mime_entity_field(&parsed, "Bcc") != NULL) {
				*error_r = xstrdup("a Bcc field was written");
				goto out;
			}
			continue;
		}
		if (email_verify_addresses(draft, (enum email_field)f, &parsed, error_r) < 0)
			goto out;
	}
	if (email_verify_subject(draft, &parsed, error_r) < 0 ||
	    email_verify_part(draft->body, &parsed, "1", error_r) < 0)
		goto out;
	ret = 0;
out:
	mime_entity_clear(&parsed);
	return ret;
}
