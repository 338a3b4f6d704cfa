/* JMAP request processing (RFC 8620 section 3): the API takes the bytes of a
 * Request object and an authenticated account and returns the Response
 * object. Nothing here knows about HTTP. */
#ifndef SMIMEGW_JMAP_H
#define SMIMEGW_JMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define JMAP_CAP_CORE "urn:ietf:params:jmap:core"
#define JMAP_CAP_MAIL "urn:ietf:params:jmap:mail"
#define JMAP_CAP_SMIME "urn:ietf:params:jmap:smime-advanced"

/* The limits advertised in the core capability and enforced. */
struct jmap_limits {
	size_t max_size_upload;
	size_t max_concurrent_upload;
	size_t max_size_request;
	size_t max_concurrent_requests;
	size_t max_calls_in_request;
	size_t max_objects_in_get;
	size_t max_objects_in_set;
};

/* An authenticated principal. Its account id is the only account it can
 * read or write. */
struct jmap_account {
	char *id;		/* JMAP Id, e.g. "A3f9c..." */
	char *login;		/* the user name it authenticated with */
	char *name;		/* display name for the session object */
	char **emails;		/* its own addresses, primary first */
	size_t email_count;
	char **senders;		/* addresses it may sign as */
	size_t sender_count;
};

struct jmap_server;	/* services: store, certificates, keys, config */

/* Per-request state passed to every method handler. */
struct jmap_context {
	struct jmap_server *server;
	const struct jmap_account *account;
	const char *request_id;		/* for log lines */
	json_t *using;			/* the request's "using" array */
	json_t *created_ids;		/* creation id -> server id, shared by calls */
};

/* Returns true when the request's "using" contains capability. */
bool jmap_context_uses(const struct jmap_context *ctx, const char *capability);

/* A method handler. args are the call's arguments after result references
 * were resolved (borrowed). On success it sets *response_r to a new
 * arguments object and returns 0; on a method-level error it sets *error_r to
 * a new error object ({"type": ..., "description": ...}) and returns -1. */
typedef int jmap_method_handler(struct jmap_context *ctx, json_t *args,
    json_t **response_r, json_t **error_r);

struct jmap_method {
	const char *name;		/* "Email/set" */
	const char *capability;		/* required in "using" */
	jmap_method_handler *handler;
};

/* Returns the method named name, or NULL. The table is in methods.c. */
const struct jmap_method *jmap_method_find(const char *name);

/* Returns a new error object {"type": type, "description": ...}. */
json_t *jmap_error(const char *type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Outcome of processing one HTTP request body. */
struct jmap_result {
	int http_status;	/* 200, or 400 for a request-level error */
	char *body;		/* JSON text, allocated */
	const char *content_type;	/* application/json or application/problem+json */
};

/* Processes a Request object (RFC 8620 3.3-3.7): parses and checks it
 * (notJSON, notRequest, unknownCapability, limit problem details with HTTP
 * 400), runs the method calls in order with result references resolved, and
 * returns the Response object with sessionState and createdIds. Never
 * fails: every problem becomes a JSON error in *result. */
void jmap_request_process(struct jmap_context *ctx, const char *body, size_t len,
    struct jmap_result *result);

void jmap_result_clear(struct jmap_result *result);

#endif
