/* Mailbox/get (RFC 8621 2.1): every account has the role mailboxes Drafts
 * and Sent, so that Email/set creates can name a mailbox. */
#include <string.h>

#include "jmap/mailbox.h"
#include "jmap/methods.h"
#include "jmap/server.h"
#include "store/store.h"

struct mailbox_role {
	const char *id;
	const char *name;
	const char *role;
	int sort_order;
};

static const struct mailbox_role mailbox_roles[] = {
	{ "drafts", "Drafts", "drafts", 1 },
	{ "sent", "Sent", "sent", 2 },
};

#define MAILBOX_COUNT (sizeof(mailbox_roles) / sizeof(mailbox_roles[0]))

bool
jmap_mailbox_exists(const char *id)
{
	for (size_t i = 0; i < MAILBOX_COUNT; i++) {
		if (strcmp(mailbox_roles[i].id, id) == 0)
			return true;
	}
	return false;
}

static json_t *
mailbox_object(const struct mailbox_role *m)
{
	/* NOTE: the counts are 0 because counting would read every Email
	 * record; clients of this gateway use Email/get by id. */
	return json_pack("{ss ss s:n ss si si si si si sb s{sb sb sb sb sb sb sb sb sb}}",
	    "id", m->id, "name", m->name, "parentId", "role", m->role,
	    "sortOrder", m->sort_order, "totalEmails", 0, "unreadEmails", 0,
	    "totalThreads", 0, "unreadThreads", 0, "isSubscribed", 1,
	    "myRights", "mayReadItems", 1, "mayAddItems", 1, "mayRemoveItems", 1,
	    "maySetSeen", 1, "maySetKeywords", 1, "mayCreateChild", 0, "mayRename", 0,
	    "mayDelete", 0, "maySubmit", 1);
}

int
jmap_mailbox_get(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	json_t *ids = json_object_get(args, "ids"), *list = json_array(), *not_found = json_array();
	json_t *id;
	size_t i;

	if (ids != NULL && !json_is_null(ids) && !json_is_array(ids)) {
		*error_r = jmap_error("invalidArguments", "ids must be an array of ids or null");
		json_decref(list);
		json_decref(not_found);
		return -1;
	}
	for (size_t k = 0; k < MAILBOX_COUNT && (ids == NULL || json_is_null(ids)); k++)
		json_array_append_new(list, mailbox_object(&mailbox_roles[k]));
	json_array_foreach(ids, i, id) {
		size_t k;
		for (k = 0; k < MAILBOX_COUNT; k++) {
			if (json_is_string(id) && strcmp(mailbox_roles[k].id, json_string_value(id)) == 0)
				break;
		}
		if (k < MAILBOX_COUNT)
			json_array_append_new(list, mailbox_object(&mailbox_roles[k]));
		else
			json_array_append(not_found, id);
	}
	*response_r = json_pack("{ss ss so so}", "accountId", ctx->account->id, "state", "1",
	    "list", list, "notFound", not_found);
	return 0;
}
