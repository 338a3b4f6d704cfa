/* Parsing of an Email/set create object (RFC 8621 4.6) into a draft: the
 * properties of the Email itself, with header fields in email_headers.c and
 * the body in email_body.c, and the SetErrors that the create path
 * returns. */
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
	for (size_t i = 0; i < draft->header_count; i++) {
		free(draft->headers[i].name);
		free(draft->headers[i].text);
	}
	free(draft->headers);
	json_decref(draft->header_props);
	json_decref(draft->mailbox_ids);
	json_decref(draft->keywords);
	mime_part_free(draft->body);
	free(draft->preview);
	memset(draft, 0, sizeof(*draft));
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

/* Parses one top-level property that is not a body, mailbox or S/MIME
 * property. */
static int
email_parse_prop(const char *key, json_t *value, struct email_draft *draft,
    json_t **error_r)
{
	static const char *const server_set[] = {
		"id", "blobId", "threadId", "size", "hasAttachment", "preview", NULL
	};
	int handled = email_headers_parse_prop(draft, NULL, key, value, error_r);

	if (handled != 0)
		return handled < 0 ? -1 : 0;
	for (size_t i = 0; server_set[i] != NULL; i++) {
		if (strcmp(key, server_set[i]) == 0) {
			*error_r = email_invalid_property(key, "%s is set by the server", key);
			return -1;
		}
	}
	if (strcmp(key, "headers") == 0) {
		*error_r = email_invalid_property(key,
		    "headers cannot be given in a create; set each field with a header:NAME property");
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
		"bodyStructure", "bodyValues", "receivedAt", "smimeSign",
		"smimeSignOpaque", "smimeEncrypt", NULL
	};
	const char *key;
	json_t *value;

	memset(draft, 0, sizeof(*draft));
	draft->header_props = json_object();
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
		if (email_parse_prop(key, value, draft, error_r) < 0)
			return -1;
	}
	return email_body_parse(ctx, create, draft, error_r);
}
