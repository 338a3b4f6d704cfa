/* The JMAP Session object (RFC 8620 2) that GET /.well-known/jmap returns. */
#include "jmap/server.h"

/* Returns the core capability: the limits this server enforces. */
static json_t *
session_core_capability(const struct jmap_limits *limits)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:[]}",
	    "maxSizeUpload", (json_int_t)limits->max_size_upload,
	    "maxConcurrentUpload", (json_int_t)limits->max_concurrent_upload,
	    "maxSizeRequest", (json_int_t)limits->max_size_request,
	    "maxConcurrentRequests", (json_int_t)limits->max_concurrent_requests,
	    "maxCallsInRequest", (json_int_t)limits->max_calls_in_request,
	    "maxObjectsInGet", (json_int_t)limits->max_objects_in_get,
	    "maxObjectsInSet", (json_int_t)limits->max_objects_in_set,
	    "collationAlgorithms");
}

/* Returns the account's capabilities. The mail members are those of
 * RFC 8621 2: mailboxes are fixed role mailboxes (no Mailbox/set), so no
 * top-level mailbox can be created, and there is no Email/query to sort. */
static json_t *
session_account_capabilities(const struct jmap_limits *limits)
{
	/* NOTE: maxMailboxesPerEmail null promises that Email/set accepts
	 * any number of mailboxIds; change it if Email/set limits them. */
	return json_pack("{s:{s:n, s:n, s:I, s:I, s:[], s:b}, s:{}}",
	    JMAP_CAP_MAIL,
	    "maxMailboxesPerEmail",
	    "maxMailboxDepth",
	    "maxSizeMailboxName", (json_int_t)490,
	    "maxSizeAttachmentsPerEmail", (json_int_t)limits->max_size_upload,
	    "emailQuerySortOptions",
	    "mayCreateTopLevelMailbox", 0,
	    JMAP_CAP_SMIME);
}

json_t *
jmap_session_object(const struct jmap_server *server,
    const struct jmap_account *account)
{
	const char *base = server->base_url;
	const char *name = account->name != NULL ? account->name : account->login;

	return json_pack("{s:{s:o, s:{}, s:{}},"
	    " s:{s:{s:s, s:b, s:b, s:o}},"
	    " s:{s:s, s:s},"
	    " s:s, s:s+, s:s+, s:s+, s:s+, s:s}",
	    "capabilities",
	    JMAP_CAP_CORE, session_core_capability(&server->limits),
	    JMAP_CAP_MAIL,
	    JMAP_CAP_SMIME,
	    "accounts",
	    account->id,
	    "name", name,
	    "isPersonal", 1,
	    "isReadOnly", 0,
	    "accountCapabilities", session_account_capabilities(&server->limits),
	    "primaryAccounts",
	    JMAP_CAP_MAIL, account->id,
	    JMAP_CAP_SMIME, account->id,
	    "username", account->login,
	    "apiUrl", base, "/jmap/api",
	    "downloadUrl", base,
	    "/jmap/download/{accountId}/{blobId}/{name}?accept={type}",
	    "uploadUrl", base, "/jmap/upload/{accountId}/",
	    "eventSourceUrl", base,
	    "/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}",
	    "state", server->session_state);
}
