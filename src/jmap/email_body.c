/* The body of an Email create (RFC 8621 4.1.4, 4.6). EmailBodyPart objects
 * take their content from bodyValues or uploaded blobs and come either as
 * textBody, htmlBody and attachments or as a bodyStructure tree. The
 * preview and hasAttachment are derived from the result. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap/server.h"
#include "store/store.h"
#include "util/xmalloc.h"

/* Same bound as the MIME renderer's. */
#define EMAIL_BODY_DEPTH_MAX 32
#define EMAIL_BODY_PREVIEW_MAX 256

struct email_body {
	struct jmap_context *ctx;
	struct email_draft *draft;
	json_t *body_values;
	json_t *not_found;	/* blob ids that could not be found */
};

/* Properties of a leaf EmailBodyPart in a create. */
static const char *const email_body_leaf_props[] = {
	"partId", "blobId", "type", "charset", "disposition", "name", "cid",
	"language", "location", "size", NULL
};

static bool
email_body_in(const char *const *list, const char *key)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], key) == 0)
			return true;
	}
	return false;
}

static void
email_body_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
}

/* Reads an optional string member of a body part into *out. */
static int
email_body_string(json_t *obj, const char *key, const char *where, char **out,
    json_t **error_r)
{
	json_t *v = json_object_get(obj, key);

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

/* Reads language (String[]) as a Content-Language value "en, de". */
static int
email_body_language(json_t *obj, const char *where, char **out, json_t **error_r)
{
	json_t *v = json_object_get(obj, "language"), *lang;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (!json_is_array(v)) {
		*error_r = email_invalid_property(where, "%s.language must be an array of language tags",
		    where);
		return -1;
	}
	json_array_foreach(v, i, lang) {
		if (!json_is_string(lang) || strpbrk(json_string_value(lang), "\r\n,") != NULL) {
			strbuf_free(&sb);
			*error_r = email_invalid_property(where,
			    "%s.language must be an array of language tags", where);
			return -1;
		}
		strbuf_printf(&sb, "%s%s", i > 0 ? ", " : "", json_string_value(lang));
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

/* Returns the blob id that blobId names: the id itself, or for "#creationId"
 * the blob of the Email created under that id earlier in the request, which
 * attaches that message (RFC 8620 5.3 creation id references). NULL when the
 * reference names no created Email. */
static char *
email_body_resolve_blob(struct email_body *b, const char *blob_id)
{
	const char *email_id;
	json_t *record = NULL;
	char *error = NULL, *resolved = NULL;

	if (blob_id[0] != '#')
		return xstrdup(blob_id);
	email_id = json_string_value(json_object_get(b->ctx->created_ids, blob_id + 1));
	if (email_id != NULL && store_email_get(b->ctx->server->store, b->ctx->account->id,
	    email_id, &record, &error) == STORE_OK)
		resolved = xstrdup(json_string_value(json_object_get(record, "blobId")));
	free(error);
	json_decref(record);
	return resolved;
}

/* Reads a blob into part. A missing blob is recorded in b->not_found and
 * the part left empty, so that one blobNotFound names every missing blob. */
static int
email_body_blob(struct email_body *b, const char *where, json_t *blob_id,
    struct mime_part *part, json_t **error_r)
{
	char *id, *data = NULL, *type = NULL, *error = NULL;
	enum store_status status = STORE_NOT_FOUND;

	if (!json_is_string(blob_id)) {
		*error_r = email_invalid_property(where, "%s.blobId must be a string", where);
		return -1;
	}
	id = email_body_resolve_blob(b, json_string_value(blob_id));
	if (id != NULL)
		status = store_blob_get(b->ctx->server->store, b->ctx->account->id, id,
		    &data, &part->body_len, &type, &error);
	free(id);
	free(type);
	if (status == STORE_ERROR) {
		*error_r = email_set_error("serverFail", "reading blob %s failed",
		    json_string_value(blob_id));
		free(error);
		return -1;
	}
	if (status == STORE_NOT_FOUND) {
		json_array_append(b->not_found, blob_id);
		part->body_len = 0;
		return 0;
	}
	part->body = (unsigned char *)data;
	return 0;
}

/* Fills part->body from bodyValues[partId] or from the blob. */
static int
email_body_content(struct email_body *b, json_t *obj, const char *where,
    struct mime_part *part, json_t **error_r)
{
	json_t *part_id = json_object_get(obj, "partId");
	json_t *blob_id = json_object_get(obj, "blobId");

	if ((part_id != NULL) == (blob_id != NULL)) {
		*error_r = email_invalid_property(where, "%s needs exactly one of partId and blobId",
		    where);
		return -1;
	}
	if (blob_id != NULL)
		return email_body_blob(b, where, blob_id, part, error_r);
	if (json_object_get(obj, "charset") != NULL || json_object_get(obj, "size") != NULL) {
		*error_r = email_invalid_property(where,
		    "%s: charset and size must be omitted with partId (the server encodes bodyValues as UTF-8)",
		    where);
		return -1;
	}

	json_t *bv = json_is_string(part_id) ?
	    json_object_get(b->body_values, json_string_value(part_id)) : NULL;
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
	part->body_len = json_string_length(value);
	part->body = (unsigned char *)xstrndup(json_string_value(value), part->body_len);
	return 0;
}

/* Reads the properties that every EmailBodyPart shares. */
static int
email_body_common(json_t *obj, const char *where, struct mime_part *part,
    json_t **error_r)
{
	if (email_body_string(obj, "type", where, &part->type, error_r) < 0 ||
	    email_body_string(obj, "charset", where, &part->charset, error_r) < 0 ||
	    email_body_string(obj, "disposition", where, &part->disposition, error_r) < 0 ||
	    email_body_string(obj, "name", where, &part->filename, error_r) < 0 ||
	    email_body_string(obj, "cid", where, &part->cid, error_r) < 0 ||
	    email_body_string(obj, "location", where, &part->location, error_r) < 0 ||
	    email_body_language(obj, where, &part->language, error_r) < 0)
		return -1;
	if (part->type != NULL)
		email_body_lower(part->type);
	if (part->disposition != NULL)
		email_body_lower(part->disposition);
	if (part->type != NULL && strchr(part->type, '/') == NULL) {
		*error_r = email_invalid_property(where,
		    "%s.type \"%s\" is not a media type of the form type/subtype", where, part->type);
		return -1;
	}
	return 0;
}

/* Checks the values that the part's header fields are written from, so
 * that an invalid one is reported with the part's path. */
static int
email_body_check_fields(const char *where, const struct mime_part *part,
    json_t **error_r)
{
	char *error = NULL;

	if (mime_part_check_fields(part, &error) == 0)
		return 0;
	*error_r = email_invalid_property(where, "%s: %s", where, error);
	free(error);
	return -1;
}

/* Parses a leaf part whose common properties were read. required_type,
 * when set, is the only type allowed (textBody, htmlBody). The type
 * defaults to text/plain for bodyValues content and
 * application/octet-stream for blobs. */
static int
email_body_leaf(struct email_body *b, json_t *obj, const char *where,
    const char *required_type, struct mime_part *part, json_t **error_r)
{
	if (part->type == NULL)
		part->type = xstrdup(required_type != NULL ? required_type :
		    json_object_get(obj, "partId") != NULL ? "text/plain" : "application/octet-stream");
	if (required_type != NULL && strcmp(part->type, required_type) != 0) {
		*error_r = email_invalid_property(where, "%s.type must be %s", where, required_type);
		return -1;
	}
	if (strncmp(part->type, "multipart/", 10) == 0) {
		*error_r = email_invalid_property(where,
		    "%s.type \"%s\" needs subParts; a part with content must not be multipart",
		    where, part->type);
		return -1;
	}
	if (email_body_check_fields(where, part, error_r) < 0)
		return -1;
	return email_body_content(b, obj, where, part, error_r);
}

/* Checks the member names of a flat body part (textBody, htmlBody,
 * attachments) and adds its header:NAME fields. */
static int
email_body_flat_part(struct email_body *b, json_t *obj, const char *where,
    const char *required_type, struct mime_part *part, json_t **error_r)
{
	json_t *seen = json_object(), *v;
	const char *key;
	int ret = -1;

	if (!json_is_object(obj)) {
		*error_r = email_invalid_property(where, "%s must be an EmailBodyPart object", where);
		goto out;
	}
	json_object_foreach(obj, key, v) {
		if (strncmp(key, "header:", 7) == 0) {
			if (email_headers_parse_part_prop(where, key, v, seen, part, error_r) < 0)
				goto out;
		} else if (!email_body_in(email_body_leaf_props, key)) {
			*error_r = email_invalid_property(where, "%s.%s is not supported in a body part%s",
			    where, key, strcmp(key, "headers") == 0 ?
			    "; set each field with a header:NAME property" : "");
			goto out;
		}
	}
	if (email_body_common(obj, where, part, error_r) == 0)
		ret = email_body_leaf(b, obj, where, required_type, part, error_r);
out:
	json_decref(seen);
	return ret;
}

static int email_body_tree(struct email_body *b, json_t *obj, const char *where,
    unsigned depth, struct mime_part *part, json_t **error_r);

/* Parses the subParts of a multipart part. */
static int
email_body_subparts(struct email_body *b, json_t *obj, const char *where,
    unsigned depth, struct mime_part *part, json_t **error_r)
{
	json_t *subparts = json_object_get(obj, "subParts");
	static const char *const leaf_only[] = { "partId", "blobId", "charset", "size", NULL };

	if (!json_is_array(subparts) || json_array_size(subparts) == 0) {
		*error_r = email_invalid_property(where,
		    "%s is %s, so subParts must be a non-empty array of EmailBodyPart objects",
		    where, part->type);
		return -1;
	}
	for (size_t i = 0; leaf_only[i] != NULL; i++) {
		if (json_object_get(obj, leaf_only[i]) != NULL) {
			*error_r = email_invalid_property(where,
			    "%s is %s, which has no content of its own, so %s must be omitted",
			    where, part->type, leaf_only[i]);
			return -1;
		}
	}
	part->child_count = json_array_size(subparts);
	part->children = xcalloc(part->child_count, sizeof(*part->children));
	for (size_t i = 0; i < part->child_count; i++) {
		char *sub = xasprintf("%s/subParts/%zu", where, i);
		int ret = email_body_tree(b, json_array_get(subparts, i), sub, depth + 1,
		    &part->children[i], error_r);
		free(sub);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* Parses one node of bodyStructure. The header:NAME fields of the root
 * part are fields of the message header. */
static int
email_body_tree(struct email_body *b, json_t *obj, const char *where,
    unsigned depth, struct mime_part *part, json_t **error_r)
{
	json_t *seen = json_object(), *v;
	const char *key;
	int ret = -1;

	if (!json_is_object(obj)) {
		*error_r = email_invalid_property(where, "%s must be an EmailBodyPart object", where);
		goto out;
	}
	if (depth > EMAIL_BODY_DEPTH_MAX) {
		*error_r = email_invalid_property(where, "%s: body parts nest deeper than %d levels",
		    where, EMAIL_BODY_DEPTH_MAX);
		goto out;
	}
	json_object_foreach(obj, key, v) {
		if (strncmp(key, "header:", 7) == 0) {
			int r = depth == 0 ?
			    email_headers_parse_prop(b->draft, where, key, v, error_r) :
			    email_headers_parse_part_prop(where, key, v, seen, part, error_r);
			if (r < 0)
				goto out;
		} else if (!email_body_in(email_body_leaf_props, key) &&
		    strcmp(key, "subParts") != 0) {
			*error_r = email_invalid_property(where, "%s.%s is not supported in a body part%s",
			    where, key, strcmp(key, "headers") == 0 ?
			    "; set each field with a header:NAME property" : "");
			goto out;
		}
	}
	if (email_body_common(obj, where, part, error_r) < 0)
		goto out;
	if (part->type != NULL && strncmp(part->type, "multipart/", 10) == 0) {
		if (email_body_check_fields(where, part, error_r) == 0)
			ret = email_body_subparts(b, obj, where, depth, part, error_r);
		goto out;
	}
	if (json_object_get(obj, "subParts") != NULL) {
		*error_r = email_invalid_property(where,
		    "%s has subParts, so its type must be multipart/*", where);
		goto out;
	}
	ret = email_body_leaf(b, obj, where, NULL, part, error_r);
out:
	json_decref(seen);
	return ret;
}

/* Moves *leaf into a new last child of parent. */
static void
email_body_adopt(struct mime_part *parent, struct mime_part *leaf)
{
	parent->children = xreallocarray(parent->children, parent->child_count + 1,
	    sizeof(*parent->children));
	parent->children[parent->child_count++] = *leaf;
	memset(leaf, 0, sizeof(*leaf));
}

/* Adds the text and/or HTML body: multipart/alternative when both exist. */
static void
email_body_add_core(struct mime_part *parent, struct mime_part *text,
    struct mime_part *html)
{
	if (text != NULL && html != NULL) {
		struct mime_part alt = { 0 };
		alt.type = xstrdup("multipart/alternative");
		email_body_adopt(&alt, text);
		email_body_adopt(&alt, html);
		email_body_adopt(parent, &alt);
	} else if (text != NULL || html != NULL) {
		email_body_adopt(parent, text != NULL ? text : html);
	}
}

static bool
email_body_is_inline(const struct mime_part *part)
{
	return part->cid != NULL &&
	    (part->disposition == NULL || strcmp(part->disposition, "inline") == 0);
}

/* Builds the structure RFC 8621 4.6 implies for the flat properties: text
 * and HTML as multipart/alternative, inline parts referenced by cid from
 * the HTML in multipart/related, and the other attachments in
 * multipart/mixed. A single part needs no multipart around it. */
static struct mime_part *
email_body_build_flat(struct mime_part *text, struct mime_part *html,
    struct mime_part *atts, size_t att_count)
{
	struct mime_part mixed = { 0 }, *root;
	size_t inline_count = 0;

	mixed.type = xstrdup("multipart/mixed");
	for (size_t i = 0; i < att_count; i++)
		inline_count += html != NULL && email_body_is_inline(&atts[i]);

	if (inline_count > 0) {
		struct mime_part related = { 0 };
		related.type = xstrdup("multipart/related");
		email_body_add_core(&related, text, html);
		for (size_t i = 0; i < att_count; i++) {
			if (email_body_is_inline(&atts[i]))
				email_body_adopt(&related, &atts[i]);
		}
		email_body_adopt(&mixed, &related);
	} else {
		email_body_add_core(&mixed, text, html);
	}
	for (size_t i = 0; i < att_count; i++) {
		if (atts[i].type != NULL)
			email_body_adopt(&mixed, &atts[i]);
	}

	root = xcalloc(1, sizeof(*root));
	if (mixed.child_count == 0) {
		mime_part_clear(&mixed);
		root->type = xstrdup("text/plain");
		mime_part_set_body(root, "", 0);
	} else if (mixed.child_count == 1) {
		*root = mixed.children[0];
		free(mixed.children);
		mixed.children = NULL;
		mixed.child_count = 0;
		mime_part_clear(&mixed);
	} else {
		*root = mixed;
	}
	return root;
}

/* Reads textBody or htmlBody: an array of exactly one part of type. */
static int
email_body_single(struct email_body *b, json_t *create, const char *prop,
    const char *type, struct mime_part *part, json_t **error_r)
{
	json_t *list = json_object_get(create, prop);
	char *where;
	int ret;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) != 1) {
		*error_r = email_invalid_property(prop,
		    "%s must be an array of exactly one %s part; use bodyStructure for other shapes",
		    prop, type);
		return -1;
	}
	where = xasprintf("%s/0", prop);
	ret = email_body_flat_part(b, json_array_get(list, 0), where, type, part, error_r);
	free(where);
	return ret;
}

static int
email_body_parse_flat(struct email_body *b, json_t *create, json_t **error_r)
{
	json_t *attachments = json_object_get(create, "attachments");
	struct mime_part text = { 0 }, html = { 0 }, *atts = NULL;
	size_t att_count = 0;
	int ret = -1;

	if (attachments != NULL && !json_is_null(attachments) && !json_is_array(attachments)) {
		*error_r = email_invalid_property("attachments", "attachments must be an array");
		return -1;
	}
	if (email_body_single(b, create, "textBody", "text/plain", &text, error_r) < 0 ||
	    email_body_single(b, create, "htmlBody", "text/html", &html, error_r) < 0)
		goto out;
	atts = xcalloc(json_array_size(attachments) + 1, sizeof(*atts));
	for (; att_count < json_array_size(attachments); att_count++) {
		char *where = xasprintf("attachments/%zu", att_count);
		int r = email_body_flat_part(b, json_array_get(attachments, att_count), where,
		    NULL, &atts[att_count], error_r);
		free(where);
		if (r < 0) {
			att_count++;
			goto out;
		}
	}
	b->draft->body = email_body_build_flat(text.type != NULL ? &text : NULL,
	    html.type != NULL ? &html : NULL, atts, att_count);
	ret = 0;
out:
	mime_part_clear(&text);
	mime_part_clear(&html);
	for (size_t i = 0; i < att_count; i++)
		mime_part_clear(&atts[i]);
	free(atts);
	return ret;
}

/* Returns true when a leaf is shown as the body rather than offered as an
 * attachment, following the decomposition that RFC 8621 4.1.4 suggests.
 * Body parts are text/plain, text/html and media not marked as an
 * attachment. In multipart/related only the first part counts, and a named
 * text part that is not first is an attachment. */
static bool
email_body_is_body_part(const struct mime_part *part, const char *parent_type,
    size_t index)
{
	bool media = strncmp(part->type, "image/", 6) == 0 ||
	    strncmp(part->type, "audio/", 6) == 0 || strncmp(part->type, "video/", 6) == 0;
	bool related = parent_type != NULL && strcmp(parent_type, "multipart/related") == 0;

	if (part->disposition != NULL && strcmp(part->disposition, "attachment") == 0)
		return false;
	if (strcmp(part->type, "text/plain") != 0 && strcmp(part->type, "text/html") != 0 &&
	    !media)
		return false;
	return index == 0 || (!related && (media || part->filename == NULL));
}

/* Walks the tree: sets *attachment when a part that is offered as an
 * attachment is not marked inline, and *text to the first text/plain body
 * part. */
static void
email_body_scan(const struct mime_part *part, const char *parent_type, size_t index,
    bool *attachment, const struct mime_part **text)
{
	if (part->child_count > 0) {
		for (size_t i = 0; i < part->child_count; i++)
			email_body_scan(&part->children[i], part->type, i, attachment, text);
		return;
	}
	if (!email_body_is_body_part(part, parent_type, index)) {
		if (part->disposition == NULL || strcmp(part->disposition, "inline") != 0)
			*attachment = true;
		return;
	}
	if (*text == NULL && strcmp(part->type, "text/plain") == 0)
		*text = part;
}

/* Returns a preview: the start of the text with white space collapsed,
 * at most 256 bytes and cut on a UTF-8 character boundary. */
static char *
email_body_preview(const struct mime_part *text)
{
	struct strbuf sb = STRBUF_INIT;
	bool space = false;

	if (text == NULL || text->body == NULL)
		return xstrdup("");
	for (size_t i = 0; i < text->body_len && sb.len < EMAIL_BODY_PREVIEW_MAX; i++) {
		unsigned char c = text->body[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = sb.len > 0;
			continue;
		}
		if (c < 0x20)
			continue;
		if (space && sb.len + 1 < EMAIL_BODY_PREVIEW_MAX)
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

int
email_body_parse(struct jmap_context *ctx, json_t *create, struct email_draft *draft,
    json_t **error_r)
{
	struct email_body b = { ctx, draft, json_object_get(create, "bodyValues"), json_array() };
	json_t *structure = json_object_get(create, "bodyStructure");
	const struct mime_part *text = NULL;
	int ret = -1;

	if (b.body_values != NULL && !json_is_object(b.body_values)) {
		*error_r = email_invalid_property("bodyValues", "bodyValues must be an object");
		goto out;
	}
	if (structure != NULL && !json_is_null(structure)) {
		static const char *const flat[] = { "textBody", "htmlBody", "attachments" };
		for (size_t i = 0; i < 3; i++) {
			if (json_object_get(create, flat[i]) != NULL) {
				*error_r = email_invalid_property("bodyStructure",
				    "bodyStructure and %s cannot both be given", flat[i]);
				json_array_append_new(json_object_get(*error_r, "properties"),
				    json_string(flat[i]));
				goto out;
			}
		}
		draft->body = xcalloc(1, sizeof(*draft->body));
		if (email_body_tree(&b, structure, "bodyStructure", 0, draft->body, error_r) < 0)
			goto out;
	} else if (email_body_parse_flat(&b, create, error_r) < 0) {
		goto out;
	}
	if (json_array_size(b.not_found) > 0) {
		*error_r = json_pack("{ss ss sO}", "type", "blobNotFound", "description",
		    "no uploaded blob with these ids in this account", "notFound", b.not_found);
		goto out;
	}
	email_body_scan(draft->body, NULL, 0, &draft->has_attachment, &text);
	draft->preview = email_body_preview(text);
	ret = 0;
out:
	json_decref(b.not_found);
	return ret;
}
