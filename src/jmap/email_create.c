/* Parsing of an Email/set create object (RFC 8621 4.6) into a draft: header
 * properties, body parts from bodyValues and uploaded blobs, and the MIME
 * structure of the body. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jmap/mailbox.h"
#include "jmap/server.h"
#include "mime/header.h"
#include "store/store.h"
#include "util/xmalloc.h"

/* A body part of textBody, htmlBody or attachments, with its content. */
struct email_leaf {
	char *type;
	char *charset;
	char *disposition;
	char *name;
	char *cid;
	char *language;
	char *location;
	unsigned char *content;
	size_t content_len;
};

static const char *const email_field_props[EMAIL_FIELD_COUNT] = {
	"from", "sender", "to", "cc", "bcc", "replyTo"
};
static const char *const email_field_headers[EMAIL_FIELD_COUNT] = {
	"From", "Sender", "To", "Cc", "Bcc", "Reply-To"
};

json_t *
email_set_error(const char *type, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	json_t *err = json_pack("{ss ss}", "type", type, "description", text);
	free(text);
	return err;
}

json_t *
email_invalid_property(const char *property, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	json_t *err = json_pack("{ss ss s[s]}", "type", "invalidProperties",
	    "description", text, "properties", property);
	free(text);
	return err;
}

static void
email_address_list_clear(struct email_address_list *list)
{
	mime_address_list_free(list->items, list->count);
	list->items = NULL;
	list->count = 0;
}

static void
email_strings_free(char **strings, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

void
email_draft_clear(struct email_draft *draft)
{
	for (int f = 0; f < EMAIL_FIELD_COUNT; f++) {
		for (size_t i = 0; i < draft->field_count[f]; i++)
			email_address_list_clear(&draft->fields[f][i]);
		free(draft->fields[f]);
	}
	free(draft->subject);
	email_strings_free(draft->message_ids, draft->message_id_count);
	email_strings_free(draft->in_reply_to, draft->in_reply_to_count);
	email_strings_free(draft->references, draft->reference_count);
	for (size_t i = 0; i < draft->extra_count; i++) {
		free(draft->extra[i].name);
		free(draft->extra[i].value);
	}
	free(draft->extra);
	json_decref(draft->mailbox_ids);
	json_decref(draft->keywords);
	mime_part_free(draft->body);
	free(draft->preview);
	memset(draft, 0, sizeof(*draft));
}

/* Parses an EmailAddress[] value. */
static int
email_parse_addresses(const char *prop, json_t *value,
    struct email_address_list *out, json_t **error_r)
{
	size_t i;
	json_t *item;

	if (!json_is_array(value)) {
		*error_r = email_invalid_property(prop, "%s must be an array of EmailAddress objects",
		    prop);
		return -1;
	}
	out->items = xcalloc(json_array_size(value) + 1, sizeof(*out->items));
	json_array_foreach(value, i, item) {
		json_t *name = json_object_get(item, "name");
		json_t *email = json_object_get(item, "email");
		const char *key;
		json_t *v;

		if (!json_is_object(item) || !json_is_string(email) ||
		    (name != NULL && !json_is_null(name) && !json_is_string(name))) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu] must be an object with a string \"email\" and an optional string \"name\"",
			    prop, i);
			return -1;
		}
		json_object_foreach(item, key, v) {
			if (strcmp(key, "name") != 0 && strcmp(key, "email") != 0) {
				*error_r = email_invalid_property(prop,
				    "%s[%zu] has the unknown property \"%s\"", prop, i, key);
				return -1;
			}
		}
		if (strlen(json_string_value(email)) != json_string_length(email) ||
		    !mime_address_is_valid(json_string_value(email))) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu].email \"%s\" is not a valid email address", prop, i,
			    json_string_value(email));
			return -1;
		}
		const char *n = json_is_string(name) ? json_string_value(name) : NULL;
		if (n != NULL && (strlen(n) != json_string_length(name) ||
		    strpbrk(n, "\r\n") != NULL)) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu].name contains a line break or NUL byte", prop, i);
			return -1;
		}
		out->items[out->count].name = n != NULL && *n != '\0' ? xstrdup(n) : NULL;
		out->items[out->count].email = xstrdup(json_string_value(email));
		out->count++;
	}
	return 0;
}

static void
email_draft_add_field(struct email_draft *draft, enum email_field f,
    struct email_address_list *list)
{
	draft->fields[f] = xreallocarray(draft->fields[f], draft->field_count[f] + 1,
	    sizeof(*draft->fields[f]));
	draft->fields[f][draft->field_count[f]++] = *list;
	memset(list, 0, sizeof(*list));
}

/* Parses a String[] value of msg-ids (messageId, inReplyTo, references). */
static int
email_parse_msgids(const char *prop, json_t *value, char ***ids_r, size_t *count_r,
    json_t **error_r)
{
	size_t i;
	json_t *item;

	if (!json_is_array(value) || json_array_size(value) == 0) {
		*error_r = email_invalid_property(prop, "%s must be a non-empty array of strings",
		    prop);
		return -1;
	}
	*ids_r = xcalloc(json_array_size(value), sizeof(char *));
	json_array_foreach(value, i, item) {
		const char *s = json_string_value(item);
		const char *at = s != NULL ? strchr(s, '@') : NULL;
		if (s == NULL || strlen(s) != json_string_length(item) || at == NULL ||
		    at == s || at[1] == '\0' || strpbrk(s, " \t\r\n<>") != NULL) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu] \"%s\" is not a message id of the form left@right without angle brackets",
			    prop, i, s != NULL ? s : "");
			return -1;
		}
		(*ids_r)[(*count_r)++] = xstrdup(s);
	}
	return 0;
}

/* Parses an RFC 3339 date-time with a time zone offset. */
static int
email_parse_date(const char *s, time_t *t_r, int *offset_r)
{
	struct tm tm = { 0 };
	int consumed = 0, oh = 0, om = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
	    consumed != 19)
		return -1;
	p = s + consumed;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1900)
		return -1;
	if (*p == 'Z' && p[1] == '\0') {
		*offset_r = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
	    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && oh < 24 && om < 60) {
		*offset_r = (*p == '-' ? -1 : 1) * (oh * 60 + om);
	} else {
		return -1;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t_r = timegm(&tm) - (time_t)*offset_r * 60;
	return 0;
}

static int
email_field_by_header(const char *name)
{
	for (int f = 0; f < EMAIL_FIELD_COUNT; f++) {
		if (strcasecmp(name, email_field_headers[f]) == 0)
			return f;
	}
	return -1;
}

/* Parses one value of an address field given as header:NAME (:asAddresses
 * or :asRaw) and adds it as a field occurrence. */
static int
email_parse_header_addresses(const char *prop, const char *form, json_t *value,
    enum email_field f, struct email_draft *draft, json_t **error_r)
{
	struct email_address_list list = { 0 };
	char *error = NULL;

	if (strcmp(form, "asAddresses") == 0) {
		if (email_parse_addresses(prop, value, &list, error_r) < 0) {
			email_address_list_clear(&list);
			return -1;
		}
	} else if (!json_is_string(value)) {
		*error_r = email_invalid_property(prop, "%s must be a string", prop);
		return -1;
	} else if (mime_address_list_parse(json_string_value(value), &list.items,
	    &list.count, &error) < 0) {
		*error_r = email_invalid_property(prop, "%s: %s", prop, error);
		free(error);
		return -1;
	}
	email_draft_add_field(draft, f, &list);
	return 0;
}

static int
email_parse_header_text(const char *prop, const char *name, const char *form,
    json_t *value, struct email_draft *draft, json_t **error_r)
{
	struct email_extra_header *h;

	if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value)) {
		*error_r = email_invalid_property(prop, "%s must be a string without NUL bytes", prop);
		return -1;
	}
	if (strcmp(form, "asText") == 0 && strpbrk(json_string_value(value), "\r\n") != NULL) {
		*error_r = email_invalid_property(prop, "%s contains a line break", prop);
		return -1;
	}
	draft->extra = xreallocarray(draft->extra, draft->extra_count + 1, sizeof(*h));
	h = &draft->extra[draft->extra_count++];
	h->name = xstrdup(name);
	h->value = xstrdup(json_string_value(value));
	h->raw = strcmp(form, "asRaw") == 0;
	return 0;
}

/* Returns the convenience property that writes the header field name, or
 * NULL. */
static const char *
email_convenience_prop(const char *name)
{
	static const char *const pairs[][2] = {
		{ "Subject", "subject" }, { "Date", "sentAt" },
		{ "Message-ID", "messageId" }, { "In-Reply-To", "inReplyTo" },
		{ "References", "references" },
	};
	int f = email_field_by_header(name);

	if (f >= 0)
		return email_field_props[f];
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (strcasecmp(name, pairs[i][0]) == 0)
			return pairs[i][1];
	}
	return NULL;
}

/* Parses a "header:NAME[:FORM][:all]" property. */
static int
email_parse_header_prop(const char *prop, json_t *value, json_t *create,
    struct email_draft *draft, json_t **error_r)
{
	char *copy = xstrdup(prop + strlen("header:"));
	char *parts[3] = { NULL, NULL, NULL };
	const char *form = "asRaw";
	const char *convenience;
	char *error = NULL;
	bool all = false;
	size_t n = 0;
	int f, ret = -1;

	for (char *tok = strtok(copy, ":"); tok != NULL && n < 3; tok = strtok(NULL, ":"))
		parts[n++] = tok;
	if (n >= 2 && strcmp(parts[n - 1], "all") == 0) {
		all = true;
		n--;
	}
	if (n == 2)
		form = parts[1];
	if (n == 0 || n > 2 || mime_header_check_name(parts[0], &error) < 0) {
		*error_r = email_invalid_property(prop, "%s is not a valid header property%s%s",
		    prop, error != NULL ? ": " : "", error != NULL ? error : "");
		free(error);
		goto out;
	}
	if (strncasecmp(parts[0], "Content-", 8) == 0 || strcasecmp(parts[0], "MIME-Version") == 0) {
		*error_r = email_invalid_property(prop,
		    "%s: Content-* and MIME-Version fields are set by the server", prop);
		goto out;
	}
	f = email_field_by_header(parts[0]);
	convenience = email_convenience_prop(parts[0]);
	if (convenience != NULL && json_object_get(create, convenience) != NULL) {
		*error_r = email_invalid_property(prop, "%s and %s set the same header field",
		    prop, convenience);
		goto out;
	}
	if (all && !json_is_array(value)) {
		*error_r = email_invalid_property(prop, "%s must be an array (one value per field)", prop);
		goto out;
	}
	size_t count = all ? json_array_size(value) : 1;
	for (size_t i = 0; i < count; i++) {
		json_t *v = all ? json_array_get(value, i) : value;
		if (f >= 0 && (strcmp(form, "asAddresses") == 0 || strcmp(form, "asRaw") == 0))
			ret = email_parse_header_addresses(prop, form, v, (enum email_field)f, draft, error_r);
		else if (f < 0 && (strcmp(form, "asRaw") == 0 || strcmp(form, "asText") == 0))
			ret = email_parse_header_text(prop, parts[0], form, v, draft, error_r);
		else {
			*error_r = email_invalid_property(prop,
			    "%s: the form :%s is not supported for this field; use :asRaw%s",
			    prop, form, f >= 0 ? " or :asAddresses" : " or :asText");
			ret = -1;
		}
		if (ret < 0)
			break;
	}
out:
	free(copy);
	return ret;
}

static void
email_leaf_clear(struct email_leaf *leaf)
{
	free(leaf->type);
	free(leaf->charset);
	free(leaf->disposition);
	free(leaf->name);
	free(leaf->cid);
	free(leaf->language);
	free(leaf->location);
	free(leaf->content);
	memset(leaf, 0, sizeof(*leaf));
}

/* Reads an optional string member of a body part into *out. */
static int
email_part_string(json_t *part, const char *key, const char *where, char **out,
    json_t **error_r)
{
	json_t *v = json_object_get(part, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    strpbrk(json_string_value(v), "\r\n") != NULL) {
		*error_r = email_invalid_property(where,
		    "%s.%s must be a string without line breaks or NUL bytes", where, key);
		return -1;
	}
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* Fills leaf->content from bodyValues[partId] or from the uploaded blob. */
static int
email_part_content(struct jmap_context *ctx, json_t *part, json_t *body_values,
    const char *where, struct email_leaf *leaf, json_t **error_r)
{
	json_t *part_id = json_object_get(part, "partId");
	json_t *blob_id = json_object_get(part, "blobId");
	char *data = NULL, *type = NULL, *error = NULL;
	enum store_status status;

	if ((part_id != NULL) == (blob_id != NULL)) {
		*error_r = email_invalid_property(where, "%s needs exactly one of partId and blobId",
		    where);
		return -1;
	}
	if (part_id != NULL) {
		json_t *bv = json_is_string(part_id) ?
		    json_object_get(body_values, json_string_value(part_id)) : NULL;
		json_t *value = json_object_get(bv, "value");
		if (!json_is_string(value)) {
			*error_r = email_invalid_property(where,
			    "%s.partId \"%s\" has no bodyValues entry with a string value", where,
			    json_is_string(part_id) ? json_string_value(part_id) : "");
			return -1;
		}
		if (json_is_true(json_object_get(bv, "isEncodingProblem")) ||
		    json_is_true(json_object_get(bv, "isTruncated"))) {
			*error_r = email_invalid_property("bodyValues",
			    "bodyValues \"%s\": isEncodingProblem and isTruncated must be false",
			    json_string_value(part_id));
			return -1;
		}
		leaf->content_len = json_string_length(value);
		leaf->content = (unsigned char *)xstrndup(json_string_value(value),
		    leaf->content_len);
		return 0;
	}
	if (!json_is_string(blob_id)) {
		*error_r = email_invalid_property(where, "%s.blobId must be a string", where);
		return -1;
	}
	status = store_blob_get(ctx->server->store, ctx->account->id,
	    json_string_value(blob_id), &data, &leaf->content_len, &type, &error);
	free(type);
	if (status == STORE_ERROR) {
		*error_r = email_set_error("serverFail", "reading blob %s failed",
		    json_string_value(blob_id));
		free(error);
		return -1;
	}
	if (status == STORE_NOT_FOUND) {
		*error_r = json_pack("{ss ss s[s]}", "type", "blobNotFound",
		    "description", "no uploaded blob with this id in this account",
		    "notFound", json_string_value(blob_id));
		return -1;
	}
	leaf->content = (unsigned char *)data;
	return 0;
}

/* Parses one EmailBodyPart of textBody, htmlBody or attachments. */
static int
email_parse_leaf(struct jmap_context *ctx, json_t *part, json_t *body_values,
    const char *where, const char *required_type, struct email_leaf *leaf,
    json_t **error_r)
{
	static const char *const allowed[] = {
		"partId", "blobId", "type", "charset", "disposition", "name", "cid",
		"language", "location", "size", NULL
	};
	const char *key;
	json_t *v;

	if (!json_is_object(part)) {
		*error_r = email_invalid_property(where, "%s must be an EmailBodyPart object", where);
		return -1;
	}
	json_object_foreach(part, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL) {
			*error_r = email_invalid_property(where,
			    "%s.%s is not supported in a body part", where, key);
			return -1;
		}
	}
	if (email_part_string(part, "type", where, &leaf->type, error_r) < 0 ||
	    email_part_string(part, "charset", where, &leaf->charset, error_r) < 0 ||
	    email_part_string(part, "disposition", where, &leaf->disposition, error_r) < 0 ||
	    email_part_string(part, "name", where, &leaf->name, error_r) < 0 ||
	    email_part_string(part, "cid", where, &leaf->cid, error_r) < 0 ||
	    email_part_string(part, "location", where, &leaf->location, error_r) < 0)
		return -1;
	if (leaf->type == NULL)
		leaf->type = xstrdup(required_type != NULL ? required_type : "application/octet-stream");
	for (char *p = leaf->type; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (required_type != NULL && strcmp(leaf->type, required_type) != 0) {
		*error_r = email_invalid_property(where, "%s.type must be %s", where, required_type);
		return -1;
	}
	if (strncmp(leaf->type, "multipart/", 10) == 0 || strchr(leaf->type, '/') == NULL) {
		*error_r = email_invalid_property(where,
		    "%s.type \"%s\" is not a valid single-part media type", where, leaf->type);
		return -1;
	}
	v = json_object_get(part, "language");
	if (json_is_array(v) && json_array_size(v) > 0) {
		json_t *lang;
		size_t i;
		struct strbuf sb = STRBUF_INIT;
		json_array_foreach(v, i, lang) {
			if (!json_is_string(lang) || strpbrk(json_string_value(lang), "\r\n,") != NULL) {
				strbuf_free(&sb);
				*error_r = email_invalid_property(where, "%s.language must be an array of language tags", where);
				return -1;
			}
			strbuf_printf(&sb, "%s%s", i > 0 ? ", " : "", json_string_value(lang));
		}
		leaf->language = strbuf_detach(&sb, NULL);
	}
	return email_part_content(ctx, part, body_values, where, leaf, error_r);
}

static void
email_leaf_to_part(struct email_leaf *leaf, struct mime_part *part)
{
	part->charset = leaf->charset;
	part->disposition = leaf->disposition;
	part->filename = leaf->name;
	part->cid = leaf->cid;
	part->language = leaf->language;
	part->location = leaf->location;
	part->body = leaf->content;
	part->body_len = leaf->content_len;
	leaf->charset = leaf->disposition = leaf->name = leaf->cid = NULL;
	leaf->language = leaf->location = NULL;
	leaf->content = NULL;
}

static void
email_add_leaf(struct mime_part *parent, struct email_leaf *leaf)
{
	struct mime_part *child = mime_part_add_child(parent, leaf->type);

	email_leaf_to_part(leaf, child);
}

/* Adds the text and/or HTML body: multipart/alternative when both exist. */
static void
email_add_core(struct mime_part *parent, struct email_leaf *text,
    struct email_leaf *html)
{
	if (text != NULL && html != NULL) {
		struct mime_part *alt = mime_part_add_child(parent, "multipart/alternative");
		email_add_leaf(alt, text);
		email_add_leaf(alt, html);
	} else if (text != NULL || html != NULL) {
		email_add_leaf(parent, text != NULL ? text : html);
	}
}

static bool
email_leaf_is_inline(const struct email_leaf *leaf)
{
	return leaf->cid != NULL &&
	    (leaf->disposition == NULL || strcasecmp(leaf->disposition, "inline") == 0);
}

/* Builds the body structure of RFC 8621 4.6: text and HTML as
 * multipart/alternative, inline parts referenced by cid from the HTML in
 * multipart/related, and other attachments in multipart/mixed. */
static struct mime_part *
email_build_body(struct email_leaf *text, struct email_leaf *html,
    struct email_leaf *atts, size_t att_count)
{
	struct mime_part *mixed = mime_part_new("multipart/mixed");
	struct mime_part *root;
	size_t inline_count = 0;

	for (size_t i = 0; i < att_count; i++)
		inline_count += html != NULL && email_leaf_is_inline(&atts[i]);

	if (inline_count > 0) {
		struct mime_part *related = mime_part_add_child(mixed, "multipart/related");
		email_add_core(related, text, html);
		for (size_t i = 0; i < att_count; i++) {
			if (email_leaf_is_inline(&atts[i]))
				email_add_leaf(related, &atts[i]);
		}
	} else {
		email_add_core(mixed, text, html);
	}
	for (size_t i = 0; i < att_count; i++) {
		if (!(html != NULL && email_leaf_is_inline(&atts[i])))
			email_add_leaf(mixed, &atts[i]);
	}
	if (mixed->child_count == 0) {
		mime_part_free(mixed);
		root = mime_part_new("text/plain");
		mime_part_set_body(root, "", 0);
		return root;
	}
	if (mixed->child_count > 1)
		return mixed;
	/* A single part needs no multipart/mixed around it. */
	root = xmalloc(sizeof(*root));
	*root = mixed->children[0];
	free(mixed->children);
	mixed->children = NULL;
	mixed->child_count = 0;
	mime_part_free(mixed);
	return root;
}

/* Returns a preview: the start of the text with white space collapsed,
 * at most 256 bytes and cut on a UTF-8 character boundary. */
static char *
email_make_preview(const struct email_leaf *text)
{
	struct strbuf sb = STRBUF_INIT;
	bool space = false;

	if (text == NULL || text->content == NULL)
		return xstrdup("");
	for (size_t i = 0; i < text->content_len && sb.len < 256; i++) {
		unsigned char c = text->content[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = sb.len > 0;
			continue;
		}
		if (c < 0x20)
			continue;
		if (space)
			strbuf_appendc(&sb, ' ');
		space = false;
		strbuf_appendc(&sb, (char)c);
	}
	while (sb.len > 0 && ((unsigned char)sb.data[sb.len - 1] & 0xC0) == 0x80)
		sb.len--;
	if (sb.len > 0 && (unsigned char)sb.data[sb.len - 1] >= 0xC0)
		sb.len--;
	strbuf_appends(&sb, "");
	return strbuf_detach(&sb, NULL);
}

/* Parses textBody, htmlBody and attachments and builds draft->body. */
static int
email_parse_body(struct jmap_context *ctx, json_t *create, struct email_draft *draft,
    json_t **error_r)
{
	json_t *body_values = json_object_get(create, "bodyValues");
	json_t *text_body = json_object_get(create, "textBody");
	json_t *html_body = json_object_get(create, "htmlBody");
	json_t *attachments = json_object_get(create, "attachments");
	struct email_leaf text = { 0 }, html = { 0 }, *atts = NULL;
	size_t att_count = 0;
	int ret = -1;

	if (body_values != NULL && !json_is_object(body_values)) {
		*error_r = email_invalid_property("bodyValues", "bodyValues must be an object");
		return -1;
	}
	if ((text_body != NULL && (!json_is_array(text_body) || json_array_size(text_body) > 1)) ||
	    (html_body != NULL && (!json_is_array(html_body) || json_array_size(html_body) > 1))) {
		*error_r = email_invalid_property(text_body != NULL && !json_is_array(html_body) &&
		    html_body != NULL ? "htmlBody" : "textBody",
		    "textBody and htmlBody must be arrays of at most one part");
		return -1;
	}
	if (attachments != NULL && !json_is_array(attachments)) {
		*error_r = email_invalid_property("attachments", "attachments must be an array");
		return -1;
	}
	if (json_array_size(text_body) == 1 && email_parse_leaf(ctx, json_array_get(text_body, 0),
	    body_values, "textBody/0", "text/plain", &text, error_r) < 0)
		goto out;
	if (json_array_size(html_body) == 1 && email_parse_leaf(ctx, json_array_get(html_body, 0),
	    body_values, "htmlBody/0", "text/html", &html, error_r) < 0)
		goto out;
	atts = xcalloc(json_array_size(attachments) + 1, sizeof(*atts));
	for (; att_count < json_array_size(attachments); att_count++) {
		char where[48];
		snprintf(where, sizeof(where), "attachments/%zu", att_count);
		if (email_parse_leaf(ctx, json_array_get(attachments, att_count), body_values,
		    where, NULL, &atts[att_count], error_r) < 0) {
			att_count++;
			goto out;
		}
	}
	draft->preview = email_make_preview(text.type != NULL ? &text : NULL);
	draft->has_attachment = att_count > 0;
	draft->body = email_build_body(text.type != NULL ? &text : NULL,
	    html.type != NULL ? &html : NULL, atts, att_count);
	ret = 0;
out:
	email_leaf_clear(&text);
	email_leaf_clear(&html);
	for (size_t i = 0; i < att_count; i++)
		email_leaf_clear(&atts[i]);
	free(atts);
	return ret;
}

/* Returns true for an IMAP keyword atom (RFC 8621 4.1.1). */
static bool
email_keyword_valid(const char *kw)
{
	size_t len = strlen(kw);

	if (len == 0 || len > 255)
		return false;
	for (const char *p = kw; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e || strchr("(){]%*\"\\", *p) != NULL)
			return false;
	}
	return true;
}

static int
email_parse_mailboxes_keywords(json_t *create, struct email_draft *draft,
    json_t **error_r)
{
	json_t *mailboxes = json_object_get(create, "mailboxIds");
	json_t *keywords = json_object_get(create, "keywords");
	const char *key;
	json_t *v;

	if (!json_is_object(mailboxes) || json_object_size(mailboxes) == 0) {
		*error_r = email_invalid_property("mailboxIds",
		    "mailboxIds must be an object with at least one mailbox id set to true");
		return -1;
	}
	draft->mailbox_ids = json_object();
	json_object_foreach(mailboxes, key, v) {
		if (!json_is_true(v) || !jmap_mailbox_exists(key)) {
			*error_r = email_invalid_property("mailboxIds",
			    "mailboxIds: \"%s\" is not a mailbox of this account (see Mailbox/get)", key);
			return -1;
		}
		json_object_set_new(draft->mailbox_ids, key, json_true());
	}
	draft->keywords = json_object();
	if (keywords == NULL || json_is_null(keywords))
		return 0;
	if (!json_is_object(keywords)) {
		*error_r = email_invalid_property("keywords", "keywords must be an object");
		return -1;
	}
	json_object_foreach(keywords, key, v) {
		if (!json_is_true(v) || !email_keyword_valid(key)) {
			*error_r = email_invalid_property("keywords",
			    "keywords: \"%s\" is not a valid keyword set to true", key);
			return -1;
		}
		char *lower = xstrdup(key);
		for (char *p = lower; *p != '\0'; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		json_object_set_new(draft->keywords, lower, json_true());
		free(lower);
	}
	return 0;
}

static int
email_parse_smime_override(struct jmap_context *ctx, json_t *create,
    const char *prop, int *out, json_t **error_r)
{
	json_t *v = json_object_get(create, prop);

	*out = -1;
	if (v == NULL)
		return 0;
	if (!jmap_context_uses(ctx, JMAP_CAP_SMIME)) {
		*error_r = email_invalid_property(prop,
		    "%s is only recognised when \"using\" contains %s", prop, JMAP_CAP_SMIME);
		return -1;
	}
	if (!json_is_boolean(v)) {
		*error_r = email_invalid_property(prop, "%s must be true or false", prop);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Parses one top-level property that is not a body or mailbox property. */
static int
email_parse_prop(const char *key, json_t *value, json_t *create,
    struct email_draft *draft, json_t **error_r)
{
	static const char *const server_set[] = {
		"id", "blobId", "threadId", "size", "hasAttachment", "preview", NULL
	};

	for (int f = 0; f < EMAIL_FIELD_COUNT; f++) {
		if (strcmp(key, email_field_props[f]) != 0)
			continue;
		if (json_is_null(value))
			return 0;
		struct email_address_list list = { 0 };
		if (email_parse_addresses(key, value, &list, error_r) < 0) {
			email_address_list_clear(&list);
			return -1;
		}
		email_draft_add_field(draft, (enum email_field)f, &list);
		return 0;
	}
	if (strcmp(key, "subject") == 0) {
		if (json_is_null(value))
			return 0;
		if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value) ||
		    strpbrk(json_string_value(value), "\r\n") != NULL) {
			*error_r = email_invalid_property(key,
			    "subject must be a string without line breaks or NUL bytes");
			return -1;
		}
		draft->subject = xstrdup(json_string_value(value));
		return 0;
	}
	if (strcmp(key, "sentAt") == 0) {
		if (!json_is_string(value) || email_parse_date(json_string_value(value),
		    &draft->sent_at, &draft->sent_at_offset) < 0) {
			*error_r = email_invalid_property(key,
			    "sentAt \"%s\" is not an RFC 3339 date-time with a time zone offset",
			    json_is_string(value) ? json_string_value(value) : "");
			return -1;
		}
		draft->has_sent_at = true;
		return 0;
	}
	if (strcmp(key, "messageId") == 0)
		return email_parse_msgids(key, value, &draft->message_ids, &draft->message_id_count, error_r);
	if (strcmp(key, "inReplyTo") == 0)
		return email_parse_msgids(key, value, &draft->in_reply_to, &draft->in_reply_to_count, error_r);
	if (strcmp(key, "references") == 0)
		return email_parse_msgids(key, value, &draft->references, &draft->reference_count, error_r);
	if (strncmp(key, "header:", 7) == 0)
		return email_parse_header_prop(key, value, create, draft, error_r);
	for (size_t i = 0; server_set[i] != NULL; i++) {
		if (strcmp(key, server_set[i]) == 0) {
			*error_r = email_invalid_property(key, "%s is set by the server", key);
			return -1;
		}
	}
	if (strcmp(key, "bodyStructure") == 0 || strcmp(key, "headers") == 0) {
		*error_r = email_invalid_property(key,
		    "%s is not supported in a create; use textBody, htmlBody, attachments and header:NAME properties",
		    key);
		return -1;
	}
	*error_r = email_invalid_property(key, "\"%s\" is not an Email property", key);
	return -1;
}

int
email_draft_parse(struct jmap_context *ctx, json_t *create,
    struct email_draft *draft, json_t **error_r)
{
	static const char *const handled_elsewhere[] = {
		"mailboxIds", "keywords", "textBody", "htmlBody", "attachments",
		"bodyValues", "receivedAt", "smimeSign", "smimeSignOpaque",
		"smimeEncrypt", NULL
	};
	const char *key;
	json_t *value;

	memset(draft, 0, sizeof(*draft));
	if (!json_is_object(create)) {
		*error_r = email_set_error("invalidProperties", "the create must be an Email object");
		return -1;
	}
	if (email_parse_mailboxes_keywords(create, draft, error_r) < 0 ||
	    email_parse_smime_override(ctx, create, "smimeSign", &draft->smime_sign, error_r) < 0 ||
	    email_parse_smime_override(ctx, create, "smimeSignOpaque", &draft->smime_sign_opaque, error_r) < 0 ||
	    email_parse_smime_override(ctx, create, "smimeEncrypt", &draft->smime_encrypt, error_r) < 0)
		return -1;
	json_object_foreach(create, key, value) {
		size_t i;
		for (i = 0; handled_elsewhere[i] != NULL && strcmp(key, handled_elsewhere[i]) != 0; i++)
			;
		if (handled_elsewhere[i] != NULL)
			continue;
		if (email_parse_prop(key, value, create, draft, error_r) < 0)
			return -1;
	}
	return email_parse_body(ctx, create, draft, error_r);
}
