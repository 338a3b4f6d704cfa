/* Unit tests for the Email create path of jmap/: a create object is parsed
 * into a draft, written as a message and read back. The read-back here
 * compares the message with the request itself, independently of the
 * checks the server makes, and the invalid creates are checked for their
 * SetError type and properties. */
#define _GNU_SOURCE
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "jmap/email.h"
#include "jmap/server.h"
#include "mime/address.h"
#include "mime/parse.h"
#include "store/store.h"
#include "util/strbuf.h"

#define COUNT(table) (int)(sizeof(table) / sizeof((table)[0]))

static char store_dir[] = "/tmp/check_email.XXXXXX";
static struct jmap_server server;
static struct jmap_account account = { .id = "Atest", .login = "alice@example.com" };
static json_t *using_all;

/* Blobs uploaded before the tests; creates name them "BLOB:<key>". */
static const unsigned char blob_binary[] = { 0, 'P', 'K', 3, 4, 0, 0, 0xff, 0xfe, '\r', 0,
	'\n', 0x80, 0 };
static const char blob_message[] = "From: x@example.com\nSubject: inner\n\nforwarded text\n";
static const char blob_message_spaces[] = "Subject: spaces \n\nline with trailing space \n\t\n";
static const unsigned char blob_image[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0 };
static struct {
	const char *key;
	const void *data;
	size_t len;
	char *id;
} blobs[] = {
	{ "bin", blob_binary, sizeof(blob_binary), NULL },
	{ "msg", blob_message, sizeof(blob_message) - 1, NULL },
	{ "img", blob_image, sizeof(blob_image), NULL },
	{ "msgws", blob_message_spaces, sizeof(blob_message_spaces) - 1, NULL },
};

static void
setup_store(void)
{
	char *error = NULL;

	ck_assert_ptr_nonnull(mkdtemp(store_dir));
	ck_assert_msg(store_open(store_dir, &server.store, &error) == 0, "%s", error);
	for (int i = 0; i < COUNT(blobs); i++)
		ck_assert_int_eq(store_blob_put(server.store, account.id, blobs[i].data, blobs[i].len,
		    NULL, &blobs[i].id, &error), 0);
	using_all = json_pack("[sss]", JMAP_CAP_CORE, JMAP_CAP_MAIL, JMAP_CAP_SMIME);
}

static void
teardown_store(void)
{
	char *cmd = NULL;

	store_close(server.store);
	for (int i = 0; i < COUNT(blobs); i++)
		free(blobs[i].id);
	json_decref(using_all);
	if (asprintf(&cmd, "rm -rf '%s'", store_dir) > 0 && system(cmd) != 0)
		fprintf(stderr, "removing %s failed\n", store_dir);
	free(cmd);
}

/* Parses a create written with ' for " (so the tables stay readable), with
 * "BLOB:key" strings replaced by the ids of the uploaded blobs. */
static json_t *
load_create(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	json_error_t jerr;
	json_t *create;

	for (const char *p = text; *p != '\0'; p++) {
		if (strncmp(p, "BLOB:", 5) == 0) {
			int i = -1;
			/* The longest key that matches, since "msg" starts "msgws". */
			for (int k = 0; k < COUNT(blobs); k++) {
				if (strncmp(p + 5, blobs[k].key, strlen(blobs[k].key)) == 0 &&
				    (i < 0 || strlen(blobs[k].key) > strlen(blobs[i].key)))
					i = k;
			}
			ck_assert_int_ge(i, 0);
			strbuf_appends(&sb, blobs[i].id);
			p += 4 + strlen(blobs[i].key);
			continue;
		}
		strbuf_appendc(&sb, *p == '\'' ? '"' : *p);
	}
	create = json_loads(sb.data, 0, &jerr);
	ck_assert_msg(create != NULL, "bad test JSON: %s: %s", jerr.text, sb.data);
	strbuf_free(&sb);
	return create;
}

static struct jmap_context
test_context(json_t *created_ids)
{
	struct jmap_context ctx = { &server, &account, "test", using_all, created_ids };

	return ctx;
}

/* Builds the message of a valid create: header and rendered body. */
static void
build_message(struct email_draft *draft, json_t *create, struct strbuf *message,
    size_t *header_len_r)
{
	json_t *created_ids = json_object(), *error = NULL;
	struct jmap_context ctx = test_context(created_ids);
	char *msgid, *render_error = NULL;

	ck_assert_msg(email_draft_parse(&ctx, create, draft, &error) == 0, "create rejected: %s",
	    json_dumps(error, JSON_COMPACT));
	msgid = email_write_headers(draft, false, "example.com", message);
	ck_assert_ptr_nonnull(msgid);
	free(msgid);
	*header_len_r = message->len;
	ck_assert_msg(mime_part_render(draft->body, message, &render_error) == 0, "%s",
	    render_error);
	json_decref(created_ids);
}

/* Compares the addresses of every field name in the message with the
 * EmailAddress[] in the request. */
static void
assert_addresses(const struct mime_entity *message, const char *field, json_t *want)
{
	const char *raw = mime_entity_field(message, field);
	struct mime_address *got = NULL;
	size_t count = 0;
	char *error = NULL;

	if (want == NULL) {
		ck_assert_msg(raw == NULL, "%s was written", field);
		return;
	}
	ck_assert_msg(raw != NULL, "%s is missing", field);
	ck_assert_msg(mime_address_list_parse(raw, &got, &count, &error) == 0, "%s", error);
	ck_assert_uint_eq(count, json_array_size(want));
	for (size_t i = 0; i < count; i++) {
		json_t *w = json_array_get(want, i);
		const char *name = json_string_value(json_object_get(w, "name"));
		ck_assert_str_eq(got[i].email, json_string_value(json_object_get(w, "email")));
		if (name == NULL || *name == '\0')
			ck_assert_ptr_null(got[i].name);
		else
			ck_assert_pstr_eq(got[i].name, name);
	}
	mime_address_list_free(got, count);
}

/* A leaf as the request describes it. */
struct want_leaf {
	json_t *part;
	const char *type;
};

static void
collect_tree(json_t *part, struct want_leaf *leaves, size_t *count)
{
	json_t *subparts = json_object_get(part, "subParts");

	if (subparts != NULL) {
		for (size_t i = 0; i < json_array_size(subparts); i++)
			collect_tree(json_array_get(subparts, i), leaves, count);
		return;
	}
	leaves[(*count)++].part = part;
}

static bool
is_inline(json_t *part)
{
	const char *disposition = json_string_value(json_object_get(part, "disposition"));

	return json_object_get(part, "cid") != NULL &&
	    (disposition == NULL || strcmp(disposition, "inline") == 0);
}

/* Lists the leaves in the order a depth-first walk of the message meets
 * them: text, HTML and inline parts (for HTML), then the other
 * attachments; or the bodyStructure leaves in order. */
static size_t
collect_leaves(json_t *create, struct want_leaf *leaves)
{
	json_t *atts = json_object_get(create, "attachments");
	json_t *html = json_object_get(create, "htmlBody");
	size_t count = 0, i;

	if (json_object_get(create, "bodyStructure") != NULL) {
		collect_tree(json_object_get(create, "bodyStructure"), leaves, &count);
		return count;
	}
	if (json_object_get(create, "textBody") != NULL)
		leaves[count++].part = json_array_get(json_object_get(create, "textBody"), 0);
	if (html != NULL)
		leaves[count++].part = json_array_get(html, 0);
	for (i = 0; i < json_array_size(atts); i++) {
		if (html != NULL && is_inline(json_array_get(atts, i)))
			leaves[count++].part = json_array_get(atts, i);
	}
	for (i = 0; i < json_array_size(atts); i++) {
		if (html == NULL || !is_inline(json_array_get(atts, i)))
			leaves[count++].part = json_array_get(atts, i);
	}
	return count;
}

static void
parsed_leaves(const struct mime_entity *e, const struct mime_entity **out, size_t *count)
{
	if (e->child_count == 0) {
		out[(*count)++] = e;
		return;
	}
	for (size_t i = 0; i < e->child_count; i++)
		parsed_leaves(&e->children[i], out, count);
}

/* Returns the content a leaf must decode to. */
static void
expected_content(json_t *create, json_t *part, const char *type, struct strbuf *out)
{
	json_t *part_id = json_object_get(part, "partId");

	if (part_id != NULL) {
		const char *v = json_string_value(json_object_get(json_object_get(
		    json_object_get(create, "bodyValues"), json_string_value(part_id)), "value"));
		ck_assert_ptr_nonnull(v);
		for (; *v != '\0'; v++) {
			if (*v == '\n' && strncmp(type, "text/", 5) == 0)
				strbuf_append(out, "\r\n", 2);
			else
				strbuf_appendc(out, *v);
		}
		return;
	}
	for (int i = 0; i < COUNT(blobs); i++) {
		if (strcmp(blobs[i].id, json_string_value(json_object_get(part, "blobId"))) != 0)
			continue;
		for (size_t k = 0; k < blobs[i].len; k++) {
			char c = ((const char *)blobs[i].data)[k];
			if (c == '\n' && (strncmp(type, "text/", 5) == 0 ||
			    strcmp(type, "message/rfc822") == 0))
				strbuf_append(out, "\r\n", 2);
			else
				strbuf_appendc(out, c);
		}
		return;
	}
	ck_abort_msg("the part has neither a bodyValue nor a known blob");
}

static void
assert_leaf(json_t *create, json_t *part, const struct mime_entity *got, size_t index)
{
	const char *type = json_string_value(json_object_get(part, "type"));
	const char *name = json_string_value(json_object_get(part, "name"));
	const char *cid = json_string_value(json_object_get(part, "cid"));
	struct strbuf want = STRBUF_INIT;
	char *filename;

	if (type == NULL)
		type = json_object_get(part, "partId") != NULL ? "text/plain" :
		    "application/octet-stream";
	ck_assert_msg(strcasecmp(got->type, type) == 0, "leaf %zu is %s, not %s", index,
	    got->type, type);
	expected_content(create, part, type, &want);
	ck_assert_msg(got->body_len == want.len && memcmp(got->body, want.data, want.len) == 0,
	    "leaf %zu: content differs (%zu octets, expected %zu)", index, got->body_len, want.len);
	filename = mime_parse_param(mime_entity_field(got, "Content-Disposition") != NULL ?
	    mime_entity_field(got, "Content-Disposition") : "", "filename");
	ck_assert_pstr_eq(filename, name);
	free(filename);
	if (cid != NULL) {
		char *field = NULL;
		ck_assert_int_gt(asprintf(&field, " <%s>", cid), 0);
		ck_assert_pstr_eq(mime_entity_field(got, "Content-ID"), field);
		free(field);
	}
	if (strcmp(got->encoding, "base64") == 0 || strcmp(got->encoding, "quoted-printable") == 0)
		ck_assert_uint_le(got->encoded_line_max, 76);
	strbuf_free(&want);
}

/* Valid creates; every one is built and read back. */
static const char *const roundtrip_cases[] = {
	/* plain text, non-ASCII subject and names, quoted names */
	"{'mailboxIds': {'drafts': true},"
	" 'from': [{'name': 'J\\u00f6rg M\\u00fcller, Dr.', 'email': 'joerg@example.com'}],"
	" 'to': [{'name': 'Smith, \\'Bob\\' <boss>', 'email': 'bob@example.com'},"
	"        {'email': 'carol@example.org'}],"
	" 'cc': [{'name': 'Fran\\u00e7oise', 'email': 'fr@example.net'}],"
	" 'subject': 'Gr\\u00fc\\u00dfe \\u2013 the quarterly report for the northern region is attached, with the forecast',"
	" 'textBody': [{'partId': 't', 'type': 'text/plain'}],"
	" 'bodyValues': {'t': {'value': 'Hello Bob,\\nthe numbers are in.\\nFrom now on: \\u20ac.  \\n'}}}",
	/* HTML and text */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}],"
	" 'to': [{'email': 'b@example.com'}], 'subject': 'html',"
	" 'textBody': [{'partId': 't'}], 'htmlBody': [{'partId': 'h', 'type': 'text/html'}],"
	" 'bodyValues': {'t': {'value': 'plain'}, 'h': {'value': '<p>rich</p>\\n'}}}",
	/* attachments with NUL bytes, an inline image and a forwarded message */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}],"
	" 'to': [{'email': 'b@example.com'}], 'subject': 'files',"
	" 'textBody': [{'partId': 't'}], 'htmlBody': [{'partId': 'h', 'type': 'text/html'}],"
	" 'attachments': [{'blobId': 'BLOB:bin', 'type': 'application/zip', 'name': 'r\\u00e9sum\\u00e9, final.zip'},"
	"   {'blobId': 'BLOB:img', 'type': 'image/png', 'cid': 'logo@example.com', 'disposition': 'inline'},"
	"   {'blobId': 'BLOB:msg', 'type': 'message/rfc822', 'name': 'fwd.eml'}],"
	" 'bodyValues': {'t': {'value': 'see attached'}, 'h': {'value': '<img src=\\'cid:logo@example.com\\'>'}}}",
	/* attachments only */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}],"
	" 'to': [{'email': 'b@example.com'}],"
	" 'attachments': [{'blobId': 'BLOB:bin', 'name': 'a.bin'}, {'blobId': 'BLOB:bin', 'name': 'b.bin'}]}",
	/* an empty body */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}], 'to': [{'email': 'b@example.com'}]}",
	/* bodyStructure: nested multiparts, per-part headers, language and location */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}],"
	" 'to': [{'email': 'b@example.com'}], 'subject': 'tree',"
	" 'bodyStructure': {'type': 'multipart/mixed', 'header:X-Root:asText': 'r\\u00f6\\u00f6t', 'subParts': ["
	"   {'type': 'multipart/alternative', 'subParts': ["
	"     {'partId': 't', 'type': 'text/plain', 'language': ['en', 'de-CH']},"
	"     {'type': 'multipart/related', 'subParts': ["
	"       {'partId': 'h', 'type': 'text/html', 'location': 'https://example.com/a.html'},"
	"       {'blobId': 'BLOB:img', 'type': 'image/png', 'cid': 'img1', 'header:Content-Description:asText': 'L\\u00f6go'}]}]},"
	"   {'blobId': 'BLOB:bin', 'type': 'application/octet-stream', 'name': 'data.bin', 'disposition': 'attachment'},"
	"   {'blobId': 'BLOB:msg', 'type': 'message/rfc822'}]},"
	" 'bodyValues': {'t': {'value': 'text'}, 'h': {'value': '<b>html</b>'}}}",
	/* a single-part bodyStructure */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}], 'to': [{'email': 'b@example.com'}],"
	" 'bodyStructure': {'partId': 'x', 'type': 'text/calendar'},"
	" 'bodyValues': {'x': {'value': 'BEGIN:VCALENDAR\\nEND:VCALENDAR\\n'}}}",
	/* a forwarded message whose lines end in white space */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}], 'to': [{'email': 'b@example.com'}],"
	" 'attachments': [{'blobId': 'BLOB:msgws', 'type': 'message/rfc822'}]}",
	/* long lines and trailing white space */
	"{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}], 'to': [{'email': 'b@example.com'}],"
	" 'textBody': [{'partId': 't'}], 'bodyValues': {'t': {'value':"
	" 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\ntrailing \\t\\n.\\n'}}}",
	/* every header form */
	"{'mailboxIds': {'drafts': true},"
	" 'header:From:asAddresses': [{'name': 'A', 'email': 'a@example.com'}],"
	" 'header:To:asGroupedAddresses': [{'name': 'Team, Sales', 'addresses': [{'email': 'b@example.com'}, {'name': 'C', 'email': 'c@example.com'}]},"
	"                                  {'name': null, 'addresses': [{'email': 'd@example.com'}]}],"
	" 'header:Cc': ' \\u0022E, e\\u0022 <e@example.com>',"
	" 'header:Subject:asText': 'text form',"
	" 'header:Message-ID:asMessageIds': ['id1@example.com'],"
	" 'header:References:asMessageIds': ['r1@example.com', 'r2@example.com'],"
	" 'header:Date:asDate': '2024-02-29T12:00:00+05:30',"
	" 'header:List-Unsubscribe:asURLs': ['mailto:u@example.com'],"
	" 'header:X-Multi:asText:all': ['one', 'two'],"
	" 'header:Comments:asRaw': ' raw comment',"
	" 'textBody': [{'partId': 't'}], 'bodyValues': {'t': {'value': 'x'}}}",
};

START_TEST(create_round_trip)
{
	json_t *create = load_create(roundtrip_cases[_i]);
	struct email_draft draft;
	struct strbuf message = STRBUF_INIT;
	struct mime_entity parsed;
	struct want_leaf leaves[16];
	const struct mime_entity *got[16];
	size_t header_len, want_count, got_count = 0;
	char *error = NULL;

	build_message(&draft, create, &message, &header_len);
	ck_assert_msg(email_verify_message(&draft, false, message.data, message.len, header_len,
	    &error) == 0, "case %d: %s", _i, error);
	ck_assert_msg(mime_parse_entity(message.data, message.len, &parsed, &error) == 0, "%s",
	    error);

	assert_addresses(&parsed, "From", json_object_get(create, "from") != NULL ?
	    json_object_get(create, "from") : json_object_get(create, "header:From:asAddresses"));
	if (json_object_get(create, "header:To:asGroupedAddresses") == NULL)
		assert_addresses(&parsed, "To", json_object_get(create, "to"));
	if (json_object_get(create, "header:Cc") == NULL)
		assert_addresses(&parsed, "Cc", json_object_get(create, "cc"));
	ck_assert_ptr_nonnull(mime_entity_field(&parsed, "Date"));
	ck_assert_ptr_nonnull(mime_entity_field(&parsed, "Message-ID"));
	ck_assert_uint_eq(mime_entity_field_count(&parsed, "MIME-Version"), 1);
	if (json_object_get(create, "subject") != NULL) {
		char *subject = mime_parse_text(mime_entity_field(&parsed, "Subject"));
		ck_assert_str_eq(subject, json_string_value(json_object_get(create, "subject")));
		free(subject);
	}

	want_count = collect_leaves(create, leaves);
	parsed_leaves(&parsed, got, &got_count);
	if (want_count == 0) {
		ck_assert_uint_eq(got_count, 1);
		ck_assert_uint_eq(got[0]->body_len, 0);
	} else {
		ck_assert_uint_eq(got_count, want_count);
		for (size_t i = 0; i < want_count; i++)
			assert_leaf(create, leaves[i].part, got[i], i);
	}

	mime_entity_clear(&parsed);
	email_draft_clear(&draft);
	strbuf_free(&message);
	json_decref(create);
}
END_TEST

START_TEST(create_header_forms_written)
{
	json_t *create = load_create(roundtrip_cases[COUNT(roundtrip_cases) - 1]);
	struct email_draft draft;
	struct strbuf message = STRBUF_INIT;
	size_t header_len;

	build_message(&draft, create, &message, &header_len);
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nTo: \"Team, Sales\": b@example.com, "
	    "C <c@example.com>;, d@example.com\r\n"));
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nCc: \"E, e\" <e@example.com>\r\n"));
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nMessage-ID: <id1@example.com>\r\n"));
	ck_assert_ptr_nonnull(strstr(message.data,
	    "\r\nReferences: <r1@example.com> <r2@example.com>\r\n"));
	ck_assert(strncmp(message.data, "Date: Thu, 29 Feb 2024 12:00:00 +0530\r\n", 39) == 0);
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nList-Unsubscribe: <mailto:u@example.com>\r\n"));
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nX-Multi: one\r\nX-Multi: two\r\n"));
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nComments: raw comment\r\n"));
	ck_assert_ptr_nonnull(strstr(message.data, "\r\nSubject: text form\r\n"));
	/* The typed members follow the fields, for the signer and recipients. */
	ck_assert_uint_eq(draft.field_count[EMAIL_TO], 1);
	ck_assert_uint_eq(draft.fields[EMAIL_TO][0].count, 3);
	ck_assert_uint_eq(draft.field_count[EMAIL_CC], 1);
	ck_assert_str_eq(draft.fields[EMAIL_CC][0].items[0].name, "E, e");
	ck_assert_str_eq(draft.subject, "text form");
	ck_assert(draft.has_sent_at);
	ck_assert_int_eq(draft.sent_at_offset, 330);
	ck_assert_uint_eq(draft.reference_count, 2);
	email_draft_clear(&draft);
	strbuf_free(&message);
	json_decref(create);
}
END_TEST

START_TEST(create_bcc_not_written)
{
	json_t *create = load_create("{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}],"
	    " 'to': [{'email': 'b@example.com'}], 'bcc': [{'email': 'hidden@example.com'}]}");
	struct email_draft draft;
	struct strbuf message = STRBUF_INIT;
	size_t header_len;
	char *error = NULL;

	build_message(&draft, create, &message, &header_len);
	ck_assert_ptr_null(strstr(message.data, "hidden@example.com"));
	ck_assert_uint_eq(draft.field_count[EMAIL_BCC], 1);
	ck_assert_int_eq(email_verify_message(&draft, false, message.data, message.len,
	    header_len, &error), 0);
	/* Claiming that Bcc was written makes the read-back fail. */
	ck_assert_int_eq(email_verify_message(&draft, true, message.data, message.len,
	    header_len, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "Bcc"));
	free(error);
	email_draft_clear(&draft);
	strbuf_free(&message);
	json_decref(create);
}
END_TEST

START_TEST(create_verify_detects_changes)
{
	json_t *create = load_create(roundtrip_cases[2]);
	struct email_draft draft;
	struct strbuf message = STRBUF_INIT;
	size_t header_len;
	char *error = NULL, *at;

	build_message(&draft, create, &message, &header_len);
	at = strstr(message.data, "b@example.com");
	ck_assert_ptr_nonnull(at);
	at[0] = 'x';
	ck_assert_int_eq(email_verify_message(&draft, false, message.data, message.len,
	    header_len, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "To reads back"));
	free(error);
	at[0] = 'b';

	at = strstr(message.data + header_len, "see attached");
	ck_assert_ptr_nonnull(at);
	at[0] = 'S';
	ck_assert_int_eq(email_verify_message(&draft, false, message.data, message.len,
	    header_len, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "content of part"));
	free(error);
	at[0] = 's';

	at = strstr(message.data + header_len, "see attached");
	memcpy(at, "see attache ", 12);
	ck_assert_int_eq(email_verify_message(&draft, false, message.data, message.len,
	    header_len, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "ends in white space"));
	free(error);
	email_draft_clear(&draft);
	strbuf_free(&message);
	json_decref(create);
}
END_TEST

/* Octets that must not occur in the body are found wherever they are. */
static const struct {
	char octet;
	const char *reason;
} verify_fault_cases[] = {
	{ '\n', "bare CR or LF" },
	{ '\r', "bare CR or LF" },
	{ '\0', "8-bit or NUL octet 0x00" },
	{ (char)0xc3, "8-bit or NUL octet 0xc3" },
};

START_TEST(create_verify_line_faults)
{
	json_t *create = load_create(roundtrip_cases[2]);
	struct email_draft draft;
	struct strbuf message = STRBUF_INIT;
	size_t header_len;
	char *error = NULL, *at;

	build_message(&draft, create, &message, &header_len);
	at = strstr(message.data + header_len, "see attached");
	ck_assert_ptr_nonnull(at);
	at[3] = verify_fault_cases[_i].octet;
	ck_assert_int_eq(email_verify_message(&draft, false, message.data, message.len,
	    header_len, &error), -1);
	ck_assert_msg(strstr(error, verify_fault_cases[_i].reason) != NULL, "%s", error);
	ck_assert_msg(strstr(error, "offset") != NULL, "%s", error);
	free(error);
	email_draft_clear(&draft);
	strbuf_free(&message);
	json_decref(create);
}
END_TEST

/* Invalid creates: the SetError type and the properties it names. */
static const struct {
	const char *create;
	const char *type;
	const char *properties;	/* comma-separated */
} error_cases[] = {
	{ "{'mailboxIds': {'drafts': true}, 'subject': 'a', 'header:Subject:asText': 'b'}",
	  "invalidProperties", "subject,header:Subject:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asText': 'a', 'header:x-a': ' b'}",
	  "invalidProperties", "header:X-A:asText,header:x-a" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A': ' a', 'header:X-A:all': [' b']}",
	  "invalidProperties", "header:X-A,header:X-A:all" },
	{ "{'mailboxIds': {'drafts': true}, 'to': [], 'header:To:asGroupedAddresses': []}",
	  "invalidProperties", "to,header:To:asGroupedAddresses" },
	{ "{'mailboxIds': {'drafts': true}, 'sentAt': '2024-01-01T00:00:00Z', 'header:Date': ' x'}",
	  "invalidProperties", "sentAt,header:Date" },
	{ "{'mailboxIds': {'drafts': true}, 'header:From:asDate': '2024-01-01T00:00:00Z'}",
	  "invalidProperties", "header:From:asDate" },
	{ "{'mailboxIds': {'drafts': true}, 'header:Subject:asAddresses': []}",
	  "invalidProperties", "header:Subject:asAddresses" },
	{ "{'mailboxIds': {'drafts': true}, 'header:Received:asText': 'x'}",
	  "invalidProperties", "header:Received:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'header:List-Post:asText': 'x'}",
	  "invalidProperties", "header:List-Post:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'header:Content-Type': ' text/plain'}",
	  "invalidProperties", "header:Content-Type" },
	{ "{'mailboxIds': {'drafts': true}, 'header:MIME-Version': ' 1.0'}",
	  "invalidProperties", "header:MIME-Version" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asBogus': 'x'}",
	  "invalidProperties", "header:X-A:asBogus" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:all:asText': ['x']}",
	  "invalidProperties", "header:X-A:all:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X A': 'x'}",
	  "invalidProperties", "header:X A" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asText': 'line\\nbreak'}",
	  "invalidProperties", "header:X-A:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asDate': 'yesterday'}",
	  "invalidProperties", "header:X-A:asDate" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asURLs': ['no scheme']}",
	  "invalidProperties", "header:X-A:asURLs" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asMessageIds': ['<a@b>']}",
	  "invalidProperties", "header:X-A:asMessageIds" },
	{ "{'mailboxIds': {'drafts': true}, 'header:X-A:asGroupedAddresses': [{'addresses': 3}]}",
	  "invalidProperties", "header:X-A:asGroupedAddresses[0].addresses" },
	{ "{'mailboxIds': {'drafts': true}, 'header:Date': ' not a date'}",
	  "invalidProperties", "header:Date" },
	{ "{'mailboxIds': {'drafts': true}, 'header:From': ' <unterminated'}",
	  "invalidProperties", "header:From" },
	{ "{'mailboxIds': {'drafts': true}, 'headers': []}", "invalidProperties", "headers" },
	{ "{'mailboxIds': {'drafts': true}, 'id': 'x'}", "invalidProperties", "id" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'partId': 't'}, 'textBody': [{'partId': 't'}],"
	  " 'bodyValues': {'t': {'value': 'x'}}}", "invalidProperties", "bodyStructure,textBody" },
	{ "{'mailboxIds': {'drafts': true}, 'textBody': [], 'bodyValues': {}}",
	  "invalidProperties", "textBody" },
	{ "{'mailboxIds': {'drafts': true}, 'textBody': [{'partId': 't', 'charset': 'utf-8'}],"
	  " 'bodyValues': {'t': {'value': 'x'}}}", "invalidProperties", "textBody/0" },
	{ "{'mailboxIds': {'drafts': true}, 'textBody': [{'partId': 't', 'type': 'text/html'}],"
	  " 'bodyValues': {'t': {'value': 'x'}}}", "invalidProperties", "textBody/0" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'type': 'multipart/mixed'}}",
	  "invalidProperties", "bodyStructure" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'type': 'multipart/mixed', 'subParts': [],"
	  " 'partId': 't'}}", "invalidProperties", "bodyStructure" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'type': 'text/plain', 'subParts': [{'partId': 't'}]},"
	  " 'bodyValues': {'t': {'value': 'x'}}}", "invalidProperties", "bodyStructure" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'type': 'multipart/mixed', 'subParts': ["
	  " {'partId': 't', 'header:Content-Transfer-Encoding': ' base64'}]}, 'bodyValues': {'t': {'value': 'x'}}}",
	  "invalidProperties", "bodyStructure/subParts/0/header:Content-Transfer-Encoding" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'type': 'multipart/mixed', 'subParts': ["
	  " {'partId': 't', 'headers': []}]}, 'bodyValues': {'t': {'value': 'x'}}}",
	  "invalidProperties", "bodyStructure/subParts/0" },
	{ "{'mailboxIds': {'drafts': true}, 'bodyStructure': {'type': 'multipart/mixed', 'subParts': ["
	  " {'partId': 't', 'header:X-A': ' a', 'header:x-a:asText': 'b'}]}, 'bodyValues': {'t': {'value': 'x'}}}",
	  "invalidProperties", "bodyStructure/subParts/0/header:X-A,bodyStructure/subParts/0/header:x-a:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'subject': 's', 'bodyStructure': {'partId': 't',"
	  " 'header:Subject:asText': 's'}, 'bodyValues': {'t': {'value': 'x'}}}",
	  "invalidProperties", "subject,bodyStructure/header:Subject:asText" },
	{ "{'mailboxIds': {'drafts': true}, 'textBody': [{'partId': 'missing'}], 'bodyValues': {}}",
	  "invalidProperties", "textBody/0" },
	{ "{'mailboxIds': {'drafts': true}, 'textBody': [{'partId': 't'}],"
	  " 'bodyValues': {'t': {'value': 'x', 'isTruncated': true}}}", "invalidProperties", "bodyValues" },
	{ "{'mailboxIds': {'drafts': true}, 'attachments': [{'blobId': 'Gnone1'}, {'blobId': 'Gnone2'}]}",
	  "blobNotFound", "" },
	{ "{'mailboxIds': {'drafts': true}, 'attachments': [{'blobId': '#nothing'}]}",
	  "blobNotFound", "" },
};

START_TEST(create_error_cases)
{
	json_t *create = load_create(error_cases[_i].create), *error = NULL, *created_ids = json_object();
	struct jmap_context ctx = test_context(created_ids);
	struct email_draft draft;
	char *props = NULL;
	size_t i;

	ck_assert_msg(email_draft_parse(&ctx, create, &draft, &error) == -1, "case %d was accepted",
	    _i);
	ck_assert_str_eq(json_string_value(json_object_get(error, "type")), error_cases[_i].type);
	ck_assert_ptr_nonnull(json_object_get(error, "description"));
	if (strcmp(error_cases[_i].type, "invalidProperties") == 0) {
		struct strbuf sb = STRBUF_INIT;
		json_t *list = json_object_get(error, "properties");
		for (i = 0; i < json_array_size(list); i++)
			strbuf_printf(&sb, "%s%s", i > 0 ? "," : "",
			    json_string_value(json_array_get(list, i)));
		props = strbuf_detach(&sb, NULL);
		ck_assert_str_eq(props, error_cases[_i].properties);
	} else {
		ck_assert_int_ge(json_array_size(json_object_get(error, "notFound")), 1);
	}
	free(props);
	json_decref(error);
	email_draft_clear(&draft);
	json_decref(created_ids);
	json_decref(create);
}
END_TEST

START_TEST(create_blob_of_created_email)
{
	json_t *created_ids = json_pack("{ss}", "c1", "Mearlier");
	json_t *record = json_pack("{ss ss}", "id", "Mearlier", "blobId", blobs[1].id);
	json_t *create = load_create("{'mailboxIds': {'drafts': true}, 'from': [{'email': 'a@example.com'}],"
	    " 'to': [{'email': 'b@example.com'}], 'attachments': [{'blobId': '#c1', 'type': 'message/rfc822'}]}");
	struct jmap_context ctx = test_context(created_ids);
	struct email_draft draft;
	json_t *error = NULL;
	char *store_error = NULL;

	ck_assert_int_eq(store_email_put(server.store, account.id, "Mearlier", record,
	    &store_error), 0);
	ck_assert_msg(email_draft_parse(&ctx, create, &draft, &error) == 0, "%s",
	    json_dumps(error, 0));
	ck_assert_str_eq(draft.body->type, "message/rfc822");
	ck_assert_uint_eq(draft.body->body_len, blobs[1].len);
	ck_assert(draft.has_attachment);
	email_draft_clear(&draft);
	json_decref(create);
	json_decref(record);
	json_decref(created_ids);
}
END_TEST

START_TEST(create_preview_and_attachment_flag)
{
	json_t *create = load_create(roundtrip_cases[5]);
	json_t *created_ids = json_object(), *error = NULL;
	struct jmap_context ctx = test_context(created_ids);
	struct email_draft draft;

	ck_assert_int_eq(email_draft_parse(&ctx, create, &draft, &error), 0);
	ck_assert_str_eq(draft.preview, "text");
	ck_assert(draft.has_attachment);
	email_draft_clear(&draft);
	json_decref(create);

	create = load_create(roundtrip_cases[1]);
	ck_assert_int_eq(email_draft_parse(&ctx, create, &draft, &error), 0);
	ck_assert_str_eq(draft.preview, "plain");
	ck_assert(!draft.has_attachment);
	email_draft_clear(&draft);
	json_decref(create);
	json_decref(created_ids);
}
END_TEST

static Suite *
email_suite(void)
{
	Suite *s = suite_create("email");
	TCase *create = tcase_create("create");

	tcase_add_unchecked_fixture(create, setup_store, teardown_store);
	tcase_add_loop_test(create, create_round_trip, 0, COUNT(roundtrip_cases));
	tcase_add_test(create, create_header_forms_written);
	tcase_add_test(create, create_bcc_not_written);
	tcase_add_test(create, create_verify_detects_changes);
	tcase_add_loop_test(create, create_verify_line_faults, 0,
	    sizeof(verify_fault_cases) / sizeof(verify_fault_cases[0]));
	tcase_add_loop_test(create, create_error_cases, 0, COUNT(error_cases));
	tcase_add_test(create, create_blob_of_created_email);
	tcase_add_test(create, create_preview_and_attachment_flag);
	suite_add_tcase(s, create);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(email_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
