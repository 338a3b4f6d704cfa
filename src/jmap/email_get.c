/* Email/get (RFC 8621 4.2) for Emails created through this server, from
 * the records stored at creation. */
#include <stdlib.h>
#include <string.h>

#include "jmap/methods.h"
#include "jmap/server.h"
#include "store/store.h"
#include "util/log.h"

/* Properties returned when the request gives no "properties". */
static const char *const email_get_default_props[] = {
	"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc",
	"replyTo", "subject", "sentAt", "hasAttachment", "preview", "bodyValues",
	"textBody", "htmlBody", "attachments", NULL
};

/* Properties this server can return. */
static const char *const email_get_known_props[] = {
	"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc",
	"replyTo", "subject", "sentAt", "hasAttachment", "preview", "bodyValues",
	"textBody", "htmlBody", "attachments", "bodyStructure", NULL
};

static bool
email_get_known(const char *prop)
{
	for (size_t i = 0; email_get_known_props[i] != NULL; i++) {
		if (strcmp(email_get_known_props[i], prop) == 0)
			return true;
	}
	return false;
}

/* Copies the requested properties of record into a new Email object. The
 * body value properties are empty because stored messages are S/MIME
 * objects or were built by the client, which already has their content. */
static json_t *
email_get_object(json_t *record, json_t *props)
{
	json_t *out = json_object(), *p;
	size_t i;

	json_array_foreach(props, i, p) {
		const char *name = json_string_value(p);
		json_t *v = json_object_get(record, name);

		if (strcmp(name, "bodyValues") == 0)
			json_object_set_new(out, name, json_object());
		else if (strcmp(name, "textBody") == 0 || strcmp(name, "htmlBody") == 0 ||
		    strcmp(name, "attachments") == 0)
			json_object_set_new(out, name, json_array());
		else
			json_object_set(out, name, v != NULL ? v : json_null());
	}
	json_object_set(out, "id", json_object_get(record, "id"));
	return out;
}

/* Returns the Email id that id names: the id itself, or for "#creationId"
 * the id created earlier in the same request (RFC 8620 5.3). NULL when id is
 * not a string or names no creation. */
static const char *
email_get_resolve_id(struct jmap_context *ctx, json_t *id)
{
	const char *s = json_string_value(id);

	if (s == NULL || s[0] != '#')
		return s;
	return json_string_value(json_object_get(ctx->created_ids, s + 1));
}

static int
email_get_props(json_t *args, json_t **props_r, json_t **error_r)
{
	json_t *props = json_object_get(args, "properties"), *p;
	size_t i;

	if (props == NULL || json_is_null(props)) {
		*props_r = json_array();
		for (i = 0; email_get_default_props[i] != NULL; i++)
			json_array_append_new(*props_r, json_string(email_get_default_props[i]));
		return 0;
	}
	if (!json_is_array(props)) {
		*error_r = jmap_error("invalidArguments", "properties must be an array of strings");
		return -1;
	}
	json_array_foreach(props, i, p) {
		if (!json_is_string(p) || !email_get_known(json_string_value(p))) {
			*error_r = jmap_error("invalidArguments", "unknown property %s",
			    json_is_string(p) ? json_string_value(p) : "(not a string)");
			return -1;
		}
	}
	*props_r = json_incref(props);
	return 0;
}

int
jmap_email_get(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	struct store *store = ctx->server->store;
	json_t *ids = json_object_get(args, "ids"), *props = NULL, *list, *not_found, *id;
	char **all = NULL, *state, *error = NULL;
	size_t all_count = 0, i;

	if (ids != NULL && !json_is_null(ids) && !json_is_array(ids)) {
		*error_r = jmap_error("invalidArguments", "ids must be an array of ids or null");
		return -1;
	}
	for (i = 0; i < json_array_size(ids); i++) {
		if (!json_is_string(json_array_get(ids, i))) {
			*error_r = jmap_error("invalidArguments", "ids[%zu] must be an id string", i);
			return -1;
		}
	}
	if (json_array_size(ids) > ctx->server->limits.max_objects_in_get) {
		*error_r = jmap_error("requestTooLarge", "%zu ids exceed maxObjectsInGet (%zu)",
		    json_array_size(ids), ctx->server->limits.max_objects_in_get);
		return -1;
	}
	if (email_get_props(args, &props, error_r) < 0)
		return -1;
	if (ids == NULL || json_is_null(ids)) {
		if (store_email_list(store, ctx->account->id, &all, &all_count, &error) < 0) {
			log_error("email list failed request=%s error=\"%s\"", ctx->request_id, error);
			free(error);
			json_decref(props);
			*error_r = jmap_error("serverFail", "listing Emails failed");
			return -1;
		}
		ids = json_array();
		for (i = 0; i < all_count && i < ctx->server->limits.max_objects_in_get; i++)
			json_array_append_new(ids, json_string(all[i]));
		store_ids_free(all, all_count);
	} else {
		json_incref(ids);
	}

	list = json_array();
	not_found = json_array();
	json_array_foreach(ids, i, id) {
		json_t *record = NULL;
		const char *email_id = email_get_resolve_id(ctx, id);
		enum store_status st = email_id != NULL ? store_email_get(store, ctx->account->id,
		    email_id, &record, &error) : STORE_NOT_FOUND;

		if (st == STORE_OK)
			json_array_append_new(list, email_get_object(record, props));
		else
			json_array_append(not_found, id);
		if (st == STORE_ERROR)
			log_error("email read failed request=%s error=\"%s\"", ctx->request_id, error);
		free(error);
		error = NULL;
		json_decref(record);
	}
	state = store_email_state(store, ctx->account->id);
	*response_r = json_pack("{ss s:s? so so}", "accountId", ctx->account->id, "state",
	    state, "list", list, "notFound", not_found);
	free(state);
	json_decref(ids);
	json_decref(props);
	return 0;
}
