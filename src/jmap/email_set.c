/* Email/set (RFC 8621 4.6) with the S/MIME arguments smimeSign,
 * smimeSignOpaque and smimeEncrypt. A create builds a message, signs and/or
 * encrypts it and stores it. Updates change keywords and mailboxIds, and
 * destroys remove the Email record. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "jmap/mailbox.h"
#include "jmap/methods.h"
#include "jmap/server.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The method-level S/MIME arguments. */
struct email_set_smime {
	bool sign;
	bool opaque;
	bool encrypt;
};

static json_t *
email_set_addresses_json(const struct email_draft *draft, enum email_field f)
{
	json_t *arr;

	if (draft->field_count[f] == 0)
		return json_null();
	arr = json_array();
	for (size_t k = 0; k < draft->field_count[f]; k++) {
		const struct email_address_list *list = &draft->fields[f][k];
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(arr, json_pack("{s:s?, s:s}", "name",
			    list->items[i].name, "email", list->items[i].email));
	}
	return arr;
}

static json_t *
email_set_strings_json(char **strings, size_t count)
{
	json_t *arr;

	if (count == 0)
		return json_null();
	arr = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(arr, json_string(strings[i]));
	return arr;
}

/* Returns the Content-Language value "en, de" as ["en", "de"], or null. */
static json_t *
email_set_language_json(const char *language)
{
	json_t *tags;
	const char *p = language;

	if (language == NULL)
		return json_null();
	tags = json_array();
	while (*p != '\0') {
		size_t len;
		p += strspn(p, " ,");
		len = strcspn(p, " ,");
		if (len > 0)
			json_array_append_new(tags, json_stringn(p, len));
		p += len;
	}
	return tags;
}

/* Describes a built part as an EmailBodyPart (RFC 8621 4.1.4). */
static json_t *
email_set_part_json(const struct mime_part *part, const char *part_id)
{
	json_t *obj = json_pack("{ss s:n sI}", "type", part->type, "blobId",
	    "size", (json_int_t)part->body_len);

	json_object_set_new(obj, "partId", part->child_count > 0 ? json_null() :
	    json_string(part_id));
	json_object_set_new(obj, "charset", strncmp(part->type, "text/", 5) == 0 ?
	    json_string(part->charset != NULL ? part->charset : "utf-8") : json_null());
	json_object_set_new(obj, "disposition", part->disposition ? json_string(part->disposition) : json_null());
	json_object_set_new(obj, "name", part->filename ? json_string(part->filename) : json_null());
	json_object_set_new(obj, "cid", part->cid ? json_string(part->cid) : json_null());
	json_object_set_new(obj, "location", part->location ? json_string(part->location) : json_null());
	json_object_set_new(obj, "language", email_set_language_json(part->language));
	if (part->child_count > 0) {
		json_t *subs = json_array();
		for (size_t i = 0; i < part->child_count; i++) {
			char *sub_id = xasprintf("%s.%zu", part_id, i + 1);
			json_array_append_new(subs, email_set_part_json(&part->children[i], sub_id));
			free(sub_id);
		}
		json_object_set_new(obj, "subParts", subs);
	}
	return obj;
}

/* Describes the body structure of the stored message: the built body
 * wrapped in the S/MIME layers that were applied. */
static json_t *
email_set_body_structure(const struct email_draft *draft, bool sign, bool opaque,
    bool encrypt)
{
	json_t *body = email_set_part_json(draft->body, "1");

	if (encrypt) {
		json_decref(body);
		return json_pack("{ss ss ss s:n s:n}", "partId", "1", "type", "application/pkcs7-mime",
		    "name", "smime.p7m", "blobId", "charset");
	}
	if (sign && opaque) {
		json_decref(body);
		return json_pack("{ss ss ss s:n s:n}", "partId", "1", "type", "application/pkcs7-mime",
		    "name", "smime.p7m", "blobId", "charset");
	}
	if (sign) {
		json_object_set_new(body, "partId", json_string("1.1"));
		return json_pack("{s:n ss s:n s[o{ss ss ss s:n s:n}]}", "partId",
		    "type", "multipart/signed", "blobId", "subParts", body,
		    "partId", "1.2", "type", "application/pkcs7-signature",
		    "name", "smime.p7s", "blobId", "charset");
	}
	return body;
}

static json_t *
email_set_record(const struct email_draft *draft, const char *id, const char *blob_id,
    size_t size, const char *message_id, struct email_set_smime smime)
{
	static const char *const props[EMAIL_FIELD_COUNT] = {
		"from", "sender", "to", "cc", "bcc", "replyTo"
	};
	char received[32], sent[64];
	time_t now = time(NULL);
	struct tm tm;
	json_t *rec;

	gmtime_r(&now, &tm);
	strftime(received, sizeof(received), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rec = json_pack("{ss ss sO sO sI ss s:s? sb s:s}", "id", id, "blobId", blob_id,
	    "mailboxIds", draft->mailbox_ids, "keywords", draft->keywords,
	    "size", (json_int_t)size, "receivedAt", received, "subject", draft->subject,
	    "hasAttachment", draft->has_attachment, "preview",
	    smime.encrypt ? "" : draft->preview);
	/* threadId: every created message starts a thread of its own. */
	json_object_set_new(rec, "threadId", json_pack("s+", "T", id + 1));
	for (int f = 0; f < EMAIL_FIELD_COUNT; f++)
		json_object_set_new(rec, props[f], email_set_addresses_json(draft, (enum email_field)f));
	if (draft->has_sent_at) {
		time_t t = draft->sent_at + (time_t)draft->sent_at_offset * 60;
		gmtime_r(&t, &tm);
		snprintf(sent, sizeof(sent), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, draft->sent_at_offset < 0 ? '-' : '+',
		    abs(draft->sent_at_offset) / 60, abs(draft->sent_at_offset) % 60);
		json_object_set_new(rec, "sentAt", json_string(sent));
	} else {
		json_object_set_new(rec, "sentAt", json_string(received));
	}
	json_object_set_new(rec, "messageId", message_id != NULL ?
	    json_pack("[s]", message_id) : json_null());
	json_object_set_new(rec, "inReplyTo", email_set_strings_json(draft->in_reply_to,
	    draft->in_reply_to_count));
	json_object_set_new(rec, "references", email_set_strings_json(draft->references,
	    draft->reference_count));
	json_object_set_new(rec, "bodyStructure", email_set_body_structure(draft,
	    smime.sign, smime.opaque, smime.encrypt));
	json_object_set_new(rec, "smime", json_pack("{sb sb sb}", "signed", smime.sign,
	    "opaque", smime.sign && smime.opaque, "encrypted", smime.encrypt));
	return rec;
}

/* Returns the S/MIME settings of one create: the method arguments, with the
 * create's own smime properties taking precedence. */
static struct email_set_smime
email_set_smime_for(const struct email_draft *draft, struct email_set_smime method)
{
	struct email_set_smime s = method;

	if (draft->smime_sign >= 0)
		s.sign = draft->smime_sign;
	if (draft->smime_sign_opaque >= 0)
		s.opaque = draft->smime_sign_opaque;
	if (draft->smime_encrypt >= 0)
		s.encrypt = draft->smime_encrypt;
	return s;
}

/* Returns the invalidProperties SetError for a body that cannot be
 * rendered. Each part's values were checked when the create was parsed, so
 * only a limit such as a field line over 998 octets gets here, and the
 * error names every body property that the create gave. */
static json_t *
email_set_body_error(json_t *create, const char *error)
{
	static const char *const props[] = {
		"bodyStructure", "textBody", "htmlBody", "attachments"
	};
	json_t *err = json_pack("{ss s[]}", "type", "invalidProperties", "properties");
	char *text = xasprintf("building the body failed: %s", error);

	json_object_set_new(err, "description", json_string(text));
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (json_object_get(create, props[i]) != NULL)
			json_array_append_new(json_object_get(err, "properties"), json_string(props[i]));
	}
	free(text);
	return err;
}

/* Reads the message back before it is signed or encrypted and checks it
 * against the create. A difference is a bug of this server, not of the
 * request, so it is serverFail and logged. */
static int
email_set_verify(struct jmap_context *ctx, const struct email_draft *draft,
    const struct strbuf *header, const struct strbuf *entity, json_t **error_r)
{
	struct strbuf message = STRBUF_INIT;
	char *error = NULL;
	int ret;

	strbuf_append(&message, header->data, header->len);
	strbuf_append(&message, entity->data, entity->len);
	ret = email_verify_message(draft, ctx->server->config->write_bcc, message.data,
	    message.len, header->len, &error);
	if (ret < 0) {
		log_error("email read-back failed request=%s account=%s error=\"%s\"",
		    ctx->request_id, ctx->account->id, error);
		*error_r = email_set_error("serverFail",
		    "the built message does not read back as requested: %s", error);
		free(error);
	}
	strbuf_free(&message);
	return ret;
}

/* Removes the message blob of a create whose Email record could not be
 * stored. It has an id of its own (store_blob_add), so no other Email uses
 * it. */
static void
email_set_drop_blob(struct jmap_context *ctx, const char *blob_id)
{
	char *error = NULL;

	if (store_blob_delete(ctx->server->store, ctx->account->id, blob_id, &error) ==
	    STORE_ERROR)
		log_error("email blob cleanup failed request=%s account=%s blob=%s error=\"%s\"",
		    ctx->request_id, ctx->account->id, blob_id, error);
	free(error);
}

/* Builds, signs/encrypts and stores one create. On success sets *created_r
 * to the server-set properties; on failure *error_r to a SetError. Nothing
 * is stored unless every step succeeded. */
static int
email_set_create_one(struct jmap_context *ctx, json_t *create,
    struct email_set_smime method_smime, json_t **created_r, json_t **error_r)
{
	const struct config *config = ctx->server->config;
	struct email_draft draft;
	struct email_set_smime smime;
	struct strbuf entity = STRBUF_INIT, message = STRBUF_INIT;
	char *message_id = NULL, *blob_id = NULL, *email_id = NULL, *error = NULL;
	json_t *record = NULL;
	int ret = -1;

	if (email_draft_parse(ctx, create, &draft, error_r) < 0)
		goto out;
	smime = email_set_smime_for(&draft, method_smime);
	message_id = email_write_headers(&draft, config->write_bcc, config->message_id_domain,
	    &message);
	if (mime_part_render(draft.body, &entity, &error) < 0) {
		*error_r = email_set_body_error(create, error);
		goto out;
	}
	if (email_set_verify(ctx, &draft, &message, &entity, error_r) < 0)
		goto out;
	if ((smime.sign || smime.encrypt) &&
	    email_smime_apply(ctx, &draft, smime.sign, smime.opaque, smime.encrypt,
	    &entity, error_r) < 0)
		goto out;
	strbuf_reserve(&message, entity.len);
	strbuf_append(&message, entity.data, entity.len);

	if (store_blob_add(ctx->server->store, ctx->account->id, message.data, message.len,
	    "message/rfc822", &blob_id, &error) < 0)
		goto store_fail;
	email_id = store_new_id('M');
	record = email_set_record(&draft, email_id, blob_id, message.len, message_id, smime);
	if (store_email_put(ctx->server->store, ctx->account->id, email_id, record, &error) < 0) {
		email_set_drop_blob(ctx, blob_id);
		goto store_fail;
	}
	*created_r = json_pack("{ss ss sO sI}", "id", email_id, "blobId", blob_id,
	    "threadId", json_object_get(record, "threadId"), "size", (json_int_t)message.len);
	log_info("email created request=%s account=%s email=%s size=%zu signed=%d encrypted=%d",
	    ctx->request_id, ctx->account->id, email_id, message.len, smime.sign, smime.encrypt);
	ret = 0;
	goto out;
store_fail:
	log_error("email store failed request=%s account=%s error=\"%s\"", ctx->request_id,
	    ctx->account->id, error);
	*error_r = email_set_error("serverFail", "storing the message failed");
out:
	free(error);
	free(message_id);
	free(blob_id);
	free(email_id);
	json_decref(record);
	strbuf_free(&entity);
	strbuf_free(&message);
	email_draft_clear(&draft);
	return ret;
}

/* Applies one update (RFC 8620 5.3 PatchObject) limited to keywords and
 * mailboxIds, as whole values or single-member patches. */
static int
email_set_apply_patch(json_t *record, json_t *patch, json_t **error_r)
{
	const char *key;
	json_t *value;

	if (!json_is_object(patch)) {
		*error_r = email_set_error("invalidPatch", "the update must be a PatchObject");
		return -1;
	}
	json_object_foreach(patch, key, value) {
		const char *slash = strchr(key, '/');
		size_t prop_len = slash != NULL ? (size_t)(slash - key) : strlen(key);
		bool is_kw = prop_len == 8 && strncmp(key, "keywords", 8) == 0;
		bool is_mb = prop_len == 10 && strncmp(key, "mailboxIds", 10) == 0;

		if (!is_kw && !is_mb) {
			*error_r = email_invalid_property(key,
			    "only keywords and mailboxIds can be updated, not %s", key);
			return -1;
		}
		const char *prop = is_kw ? "keywords" : "mailboxIds";
		if (slash == NULL) {
			if (!json_is_object(value)) {
				*error_r = email_invalid_property(prop, "%s must be an object", prop);
				return -1;
			}
			json_object_set(record, prop, value);
			continue;
		}
		const char *member = slash + 1;
		if (*member == '\0' || strchr(member, '/') != NULL ||
		    (!json_is_true(value) && !json_is_null(value)) ||
		    (is_mb && !jmap_mailbox_exists(member))) {
			*error_r = email_invalid_property(prop, "invalid patch %s", key);
			return -1;
		}
		if (json_is_true(value))
			json_object_set_new(json_object_get(record, prop), member, json_true());
		else
			json_object_del(json_object_get(record, prop), member);
	}
	if (json_object_size(json_object_get(record, "mailboxIds")) == 0) {
		*error_r = email_invalid_property("mailboxIds",
		    "an Email must stay in at least one mailbox");
		return -1;
	}
	return 0;
}

/* Sets resp[key] to map, or to null when map is empty; takes map. */
static void
email_set_put_map(json_t *resp, const char *key, json_t *map)
{
	if (json_object_size(map) > 0) {
		json_object_set_new(resp, key, map);
		return;
	}
	json_decref(map);
	json_object_set_new(resp, key, json_null());
}

/* Returns the Email id that id names: the id itself, or for "#creationId"
 * the id created under that creation id earlier in the request (RFC 8620
 * 5.3). Returns id unchanged when the creation id is unknown, so that the
 * update or destroy fails with notFound. */
static const char *
email_set_resolve_id(struct jmap_context *ctx, const char *id)
{
	const char *created;

	if (id[0] != '#')
		return id;
	created = json_string_value(json_object_get(ctx->created_ids, id + 1));
	return created != NULL ? created : id;
}

static void
email_set_updates(struct jmap_context *ctx, json_t *update, json_t *resp, bool *changed)
{
	json_t *updated = json_object(), *not_updated = json_object();
	const char *key;
	json_t *patch;

	json_object_foreach(update, key, patch) {
		const char *id = email_set_resolve_id(ctx, key);
		json_t *record = NULL, *err = NULL;
		char *error = NULL;
		enum store_status st = store_email_get(ctx->server->store, ctx->account->id, id,
		    &record, &error);

		if (st != STORE_OK) {
			err = st == STORE_NOT_FOUND ? email_set_error("notFound", "no Email %s", id) :
			    email_set_error("serverFail", "reading Email %s failed", id);
		} else if (email_set_apply_patch(record, patch, &err) == 0 &&
		    store_email_put(ctx->server->store, ctx->account->id, id, record, &error) < 0) {
			err = email_set_error("serverFail", "storing Email %s failed", id);
		}
		if (error != NULL)
			log_error("email update failed request=%s email=%s error=\"%s\"", ctx->request_id, id, error);
		free(error);
		json_decref(record);
		if (err != NULL) {
			json_object_set_new(not_updated, id, err);
		} else {
			json_object_set_new(updated, id, json_null());
			*changed = true;
		}
	}
	email_set_put_map(resp, "updated", updated);
	email_set_put_map(resp, "notUpdated", not_updated);
}

static void
email_set_destroys(struct jmap_context *ctx, json_t *destroy, json_t *resp, bool *changed)
{
	json_t *destroyed = json_array(), *not_destroyed = json_object();
	json_t *item;
	size_t i;

	json_array_foreach(destroy, i, item) {
		json_t *id = json_string(email_set_resolve_id(ctx, json_string_value(item)));
		char *error = NULL;
		enum store_status st = store_email_delete(ctx->server->store, ctx->account->id,
		    json_string_value(id), &error);

		if (st == STORE_OK) {
			json_array_append(destroyed, id);
			*changed = true;
		} else if (st == STORE_NOT_FOUND) {
			json_object_set_new(not_destroyed, json_string_value(id),
			    email_set_error("notFound", "no Email %s", json_string_value(id)));
		} else {
			log_error("email destroy failed request=%s email=%s error=\"%s\"",
			    ctx->request_id, json_string_value(id), error);
			json_object_set_new(not_destroyed, json_string_value(id),
			    email_set_error("serverFail", "removing Email %s failed", json_string_value(id)));
		}
		json_decref(id);
		free(error);
	}
	json_object_set_new(resp, "destroyed", json_array_size(destroyed) ? json_incref(destroyed) : json_null());
	json_decref(destroyed);
	email_set_put_map(resp, "notDestroyed", not_destroyed);
}

static void
email_set_creates(struct jmap_context *ctx, json_t *create, struct email_set_smime smime,
    json_t *resp, bool *changed)
{
	json_t *created = json_object(), *not_created = json_object();
	const char *cid;
	json_t *obj;

	json_object_foreach(create, cid, obj) {
		json_t *result = NULL, *err = NULL;

		if (email_set_create_one(ctx, obj, smime, &result, &err) < 0) {
			log_info("email create rejected request=%s creation=%s type=%s", ctx->request_id,
			    cid, json_string_value(json_object_get(err, "type")));
			json_object_set_new(not_created, cid, err);
			continue;
		}
		json_object_set_new(ctx->created_ids, cid, json_incref(json_object_get(result, "id")));
		json_object_set_new(created, cid, result);
		*changed = true;
	}
	email_set_put_map(resp, "created", created);
	email_set_put_map(resp, "notCreated", not_created);
}

/* Reads a boolean S/MIME argument; it exists only when the request uses the
 * smime-advanced capability (RFC 8620 3.3: arguments of unused capabilities
 * are unknown). */
static int
email_set_smime_arg(struct jmap_context *ctx, json_t *args, const char *name,
    bool *value_r, json_t **error_r)
{
	json_t *v = json_object_get(args, name);

	*value_r = false;
	if (v == NULL)
		return 0;
	if (!jmap_context_uses(ctx, JMAP_CAP_SMIME)) {
		*error_r = jmap_error("invalidArguments",
		    "%s is an argument of %s, which is not in \"using\"", name, JMAP_CAP_SMIME);
		return -1;
	}
	if (!json_is_boolean(v)) {
		*error_r = jmap_error("invalidArguments", "%s must be true or false", name);
		return -1;
	}
	*value_r = json_is_true(v);
	return 0;
}

/* Checks the arguments' names and types. */
static int
email_set_check_args(struct jmap_context *ctx, json_t *args, struct email_set_smime *smime,
    json_t **error_r)
{
	static const char *const known[] = {
		"accountId", "ifInState", "create", "update", "destroy", "smimeSign",
		"smimeSignOpaque", "smimeEncrypt", NULL
	};
	json_t *create = json_object_get(args, "create"), *update = json_object_get(args, "update");
	json_t *destroy = json_object_get(args, "destroy"), *v;
	const char *key;
	size_t count, i;

	json_object_foreach(args, key, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL) {
			*error_r = jmap_error("invalidArguments", "unknown argument \"%s\"", key);
			return -1;
		}
	}
	if (!json_is_string(json_object_get(args, "accountId"))) {
		*error_r = jmap_error("invalidArguments",
		    "accountId is missing; use the account id from primaryAccounts in the session");
		return -1;
	}
	if ((create && !json_is_null(create) && !json_is_object(create)) ||
	    (update && !json_is_null(update) && !json_is_object(update)) ||
	    (destroy && !json_is_null(destroy) && !json_is_array(destroy))) {
		*error_r = jmap_error("invalidArguments",
		    "create and update must be objects and destroy an array of ids, or null");
		return -1;
	}
	json_array_foreach(destroy, i, v) {
		if (!json_is_string(v)) {
			*error_r = jmap_error("invalidArguments", "destroy[%zu] must be an id string", i);
			return -1;
		}
	}
	count = json_object_size(create) + json_object_size(update) + json_array_size(destroy);
	if (count > ctx->server->limits.max_objects_in_set) {
		*error_r = jmap_error("requestTooLarge",
		    "%zu objects in one Email/set exceed maxObjectsInSet (%zu)", count,
		    ctx->server->limits.max_objects_in_set);
		return -1;
	}
	if (email_set_smime_arg(ctx, args, "smimeSign", &smime->sign, error_r) < 0 ||
	    email_set_smime_arg(ctx, args, "smimeSignOpaque", &smime->opaque, error_r) < 0 ||
	    email_set_smime_arg(ctx, args, "smimeEncrypt", &smime->encrypt, error_r) < 0)
		return -1;
	return 0;
}

int
jmap_email_set(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	struct email_set_smime smime = { false, false, false };
	json_t *if_in_state = json_object_get(args, "ifInState"), *resp;
	char *old_state, *new_state = NULL, *error = NULL;
	bool changed = false;

	if (email_set_check_args(ctx, args, &smime, error_r) < 0)
		return -1;
	old_state = store_email_state(ctx->server->store, ctx->account->id);
	if (old_state == NULL) {
		*error_r = jmap_error("serverFail", "reading the Email state failed");
		return -1;
	}
	if (if_in_state != NULL && !json_is_null(if_in_state) &&
	    (!json_is_string(if_in_state) || strcmp(json_string_value(if_in_state), old_state) != 0)) {
		*error_r = jmap_error("stateMismatch", "ifInState does not match the current state %s",
		    old_state);
		free(old_state);
		return -1;
	}
	resp = json_pack("{ss ss}", "accountId", ctx->account->id, "oldState", old_state);
	email_set_creates(ctx, json_object_get(args, "create"), smime, resp, &changed);
	email_set_updates(ctx, json_object_get(args, "update"), resp, &changed);
	email_set_destroys(ctx, json_object_get(args, "destroy"), resp, &changed);
	if (changed && store_email_state_bump(ctx->server->store, ctx->account->id,
	    &new_state, &error) < 0) {
		log_error("email state update failed request=%s error=\"%s\"", ctx->request_id, error);
		free(error);
	}
	json_object_set_new(resp, "newState", json_string(new_state != NULL ? new_state : old_state));
	free(old_state);
	free(new_state);
	*response_r = resp;
	return 0;
}
