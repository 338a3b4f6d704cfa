/* Processing of a JMAP Request object (RFC 8620 3.3-3.7): request-level
 * checks with problem details, then the method calls in order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap/jmap.h"
#include "jmap/resultref.h"
#include "jmap/server.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define REQUEST_PROBLEM_PREFIX "urn:ietf:params:jmap:error:"

/* The capabilities a request may list in "using". */
static const char *const request_capabilities[] = {
	JMAP_CAP_CORE,
	JMAP_CAP_MAIL,
	JMAP_CAP_SMIME,
};

/* Copies a client-supplied string into buf for a log line: at most
 * size - 1 bytes, with every byte that is not printable ASCII, and the
 * space, quote and backslash, replaced by "?", so the key=value line stays
 * one line with unambiguous fields. */
static const char *
request_log_value(char *buf, size_t size, const char *value)
{
	size_t i;

	if (value == NULL)
		return "-";
	for (i = 0; i + 1 < size && value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		buf[i] = c > ' ' && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
	}
	buf[i] = '\0';
	return buf;
}

/* Fills result with an RFC 7807 problem details object of HTTP status 400.
 * type is the last part of the urn:ietf:params:jmap:error: type; limit is
 * the name of the exceeded limit for the "limit" type, else NULL. */
static void __attribute__((format(printf, 5, 6)))
request_problem(const struct jmap_context *ctx, struct jmap_result *result,
    const char *type, const char *limit, const char *fmt, ...)
{
	char *detail, *type_uri;
	json_t *problem;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	detail = xmalloc(len < 0 ? 1 : (size_t)len + 1);
	detail[0] = '\0';
	va_start(ap, fmt);
	if (len >= 0)
		vsnprintf(detail, (size_t)len + 1, fmt, ap);
	va_end(ap);

	type_uri = xasprintf(REQUEST_PROBLEM_PREFIX "%s", type);
	problem = json_pack("{s:s, s:i, s:s}", "type", type_uri, "status", 400,
	    "detail", detail);
	if (problem == NULL)	/* detail was not valid UTF-8 */
		problem = json_pack("{s:s, s:i}", "type", type_uri, "status", 400);
	if (limit != NULL)
		json_object_set_new(problem, "limit", json_string(limit));

	log_debug("jmap request rejected request=%s problem=%s",
	    ctx->request_id != NULL ? ctx->request_id : "-", type);

	result->http_status = 400;
	result->content_type = "application/problem+json";
	result->body = json_dumps(problem, JSON_COMPACT);
	if (result->body == NULL)
		abort();	/* out of memory, as xmalloc would */
	json_decref(problem);
	free(type_uri);
	free(detail);
}

/* Returns true when value is a string without U+0000. The parser accepts
 * "\u0000" so that a request with one gets an error that names the value;
 * everything here then handles strings as C strings. */
static bool
request_is_c_string(const json_t *value)
{
	return json_is_string(value) &&
	    strlen(json_string_value(value)) == json_string_length(value);
}

/* Checks one element of "methodCalls": [name, arguments, methodCallId].
 * Returns NULL if it is well formed, else a static description. */
static const char *
request_check_call(const json_t *call)
{
	if (!json_is_array(call) || json_array_size(call) != 3)
		return "is not an array of 3 elements [name, arguments, method call id]";
	if (!request_is_c_string(json_array_get(call, 0)))
		return "has a method name that is not a string without U+0000";
	if (!json_is_object(json_array_get(call, 1)))
		return "has arguments that are not an object";
	if (!request_is_c_string(json_array_get(call, 2)))
		return "has a method call id that is not a string without U+0000";
	return NULL;
}

/* Shortens path to len bytes. */
static void
request_path_cut(struct strbuf *path, size_t len)
{
	path->len = len;
	if (path->data != NULL)
		path->data[len] = '\0';
}

/* Looks for a string that contains U+0000 in value. When there is one,
 * appends its JSON Pointer (RFC 6901) to path and returns true. The depth
 * of the recursion is bounded by the parser's maximum nesting depth. */
static bool
request_find_nul(const json_t *value, struct strbuf *path)
{
	size_t len = path->len, i;
	const char *key;
	json_t *item;

	if (json_is_string(value))
		return !request_is_c_string(value);
	if (json_is_array(value)) {
		json_array_foreach(value, i, item) {
			strbuf_printf(path, "/%zu", i);
			if (request_find_nul(item, path))
				return true;
			request_path_cut(path, len);
		}
	} else if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, item) {
			strbuf_appendc(path, '/');
			for (const char *p = key; *p != '\0'; p++) {
				if (*p == '~')
					strbuf_appends(path, "~0");
				else if (*p == '/')
					strbuf_appends(path, "~1");
				else
					strbuf_appendc(path, *p);
			}
			if (request_find_nul(item, path))
				return true;
			request_path_cut(path, len);
		}
	}
	return false;
}

/* Checks that request has the shape of a Request object (RFC 8620 3.3).
 * Returns 0, or -1 after filling result with a notRequest problem. */
static int
request_check_shape(const struct jmap_context *ctx, json_t *request,
    struct jmap_result *result)
{
	json_t *using = json_object_get(request, "using");
	json_t *calls = json_object_get(request, "methodCalls");
	json_t *created_ids = json_object_get(request, "createdIds");
	const char *key, *problem;
	json_t *value;

	if (!json_is_object(request)) {
		request_problem(ctx, result, "notRequest", NULL,
		    "The request must be a JSON object with \"using\" and \"methodCalls\"");
		return -1;
	}
	if (!json_is_array(using)) {
		request_problem(ctx, result, "notRequest", NULL,
		    "\"using\" is %s; it must be an array of capability strings",
		    using == NULL ? "missing" : "not an array");
		return -1;
	}
	for (size_t i = 0; i < json_array_size(using); i++) {
		if (!request_is_c_string(json_array_get(using, i))) {
			request_problem(ctx, result, "notRequest", NULL,
			    "\"using\"[%zu] is not a string without U+0000", i);
			return -1;
		}
	}

	if (!json_is_array(calls)) {
		request_problem(ctx, result, "notRequest", NULL,
		    "\"methodCalls\" is %s; it must be an array of method calls",
		    calls == NULL ? "missing" : "not an array");
		return -1;
	}
	for (size_t i = 0; i < json_array_size(calls); i++) {
		problem = request_check_call(json_array_get(calls, i));
		if (problem != NULL) {
			request_problem(ctx, result, "notRequest", NULL,
			    "\"methodCalls\"[%zu] %s", i, problem);
			return -1;
		}
	}

	if (created_ids == NULL)
		return 0;
	if (!json_is_object(created_ids)) {
		request_problem(ctx, result, "notRequest", NULL,
		    "\"createdIds\" is not an object of creation ids to ids");
		return -1;
	}
	json_object_foreach(created_ids, key, value) {
		if (!request_is_c_string(value)) {
			request_problem(ctx, result, "notRequest", NULL,
			    "\"createdIds\" value for \"%s\" is not a string without U+0000",
			    key);
			return -1;
		}
	}
	return 0;
}

/* Checks the capabilities in "using" and the number of method calls of a
 * well-formed request. Returns 0, or -1 after filling result. */
static int
request_check_limits(const struct jmap_context *ctx, json_t *request,
    struct jmap_result *result)
{
	json_t *using = json_object_get(request, "using");
	size_t calls = json_array_size(json_object_get(request, "methodCalls"));
	size_t max_calls = ctx->server->limits.max_calls_in_request;

	for (size_t i = 0; i < json_array_size(using); i++) {
		const char *capability = json_string_value(json_array_get(using, i));
		size_t j, count = sizeof(request_capabilities) / sizeof(request_capabilities[0]);

		for (j = 0; j < count; j++) {
			if (strcmp(capability, request_capabilities[j]) == 0)
				break;
		}
		if (j == count) {
			request_problem(ctx, result, "unknownCapability", NULL,
			    "The capability \"%s\" in \"using\" is not supported by this server",
			    capability);
			return -1;
		}
	}

	if (calls > max_calls) {
		request_problem(ctx, result, "limit", "maxCallsInRequest",
		    "The request has %zu method calls; maxCallsInRequest is %zu",
		    calls, max_calls);
		return -1;
	}
	return 0;
}

/* Rejects arguments with U+0000 in any string: method handlers read
 * strings as C strings, so it would cut an id or a header value short
 * unnoticed. Returns 0, or -1 with *error_r an invalidArguments error that
 * names the place. */
static int
request_check_nul(const json_t *args, json_t **error_r)
{
	struct strbuf path = STRBUF_INIT;
	int ret = 0;

	if (request_find_nul(args, &path)) {
		*error_r = jmap_error("invalidArguments",
		    "The argument at \"%s\" contains U+0000 (NUL), which no argument may contain",
		    strbuf_str(&path));
		ret = -1;
	}
	strbuf_free(&path);
	return ret;
}

/* Runs the method name with args after the checks of RFC 8620 3.6.2 and the
 * resolution of result references. Returns 0 with *response_r set, or -1
 * with *error_r set to a method error object. */
static int
request_invoke(struct jmap_context *ctx, const char *name, json_t *args,
    json_t *responses, json_t **response_r, json_t **error_r)
{
	const struct jmap_method *method = jmap_method_find(name);
	json_t *resolved, *account_id;
	int ret;

	*response_r = NULL;
	*error_r = NULL;
	/* A method of a capability that the request does not use is unknown to
	 * that request (RFC 8620 3.6.2). */
	if (method == NULL) {
		*error_r = jmap_error("unknownMethod", "The method \"%s\" is unknown", name);
		return -1;
	}
	if (!jmap_context_uses(ctx, method->capability)) {
		*error_r = jmap_error("unknownMethod",
		    "The method \"%s\" needs the capability %s in \"using\"", name,
		    method->capability);
		return -1;
	}

	if (request_check_nul(args, error_r) < 0)
		return -1;
	resolved = jmap_resultref_resolve(args, responses, error_r);
	if (resolved == NULL)
		return -1;

	/* Core/echo takes no accountId and echoes one like any argument. */
	account_id = json_object_get(resolved, "accountId");
	if (account_id != NULL && strcmp(name, "Core/echo") != 0) {
		if (!json_is_string(account_id)) {
			*error_r = jmap_error("invalidArguments",
			    "\"accountId\" must be a string");
			json_decref(resolved);
			return -1;
		}
		if (strcmp(json_string_value(account_id), ctx->account->id) != 0) {
			*error_r = jmap_error("accountNotFound",
			    "The account \"%s\" does not exist or is not accessible with these credentials",
			    json_string_value(account_id));
			json_decref(resolved);
			return -1;
		}
	}

	ret = method->handler(ctx, resolved, response_r, error_r);
	json_decref(resolved);
	return ret;
}

/* Enforces the handler contract of jmap.h so that a faulty handler gives
 * the client a serverFail error instead of a malformed response. */
static int
request_check_handler_result(const struct jmap_context *ctx, const char *name,
    int ret, json_t **response_r, json_t **error_r)
{
	if (ret == 0 && json_is_object(*response_r)) {
		json_decref(*error_r);
		*error_r = NULL;
		return 0;
	}
	if (ret != 0 && json_is_string(json_object_get(*error_r, "type"))) {
		json_decref(*response_r);
		*response_r = NULL;
		return -1;
	}

	log_error("jmap method broke its contract request=%s method=%s ret=%d",
	    ctx->request_id != NULL ? ctx->request_id : "-", name, ret);
	json_decref(*response_r);
	json_decref(*error_r);
	*response_r = NULL;
	*error_r = jmap_error("serverFail",
	    "The method %s returned %s", name,
	    ret == 0 ? "no response object" : "no error object with a type");
	return -1;
}

/* Runs one method call and appends its response to responses. */
static void
request_run_call(struct jmap_context *ctx, json_t *call, json_t *responses)
{
	const char *name = json_string_value(json_array_get(call, 0));
	json_t *args = json_array_get(call, 1);
	const char *call_id = json_string_value(json_array_get(call, 2));
	char log_name[65], log_call_id[65];
	json_t *response, *error;
	int ret;

	ret = request_invoke(ctx, name, args, responses, &response, &error);
	ret = request_check_handler_result(ctx, name, ret, &response, &error);

	request_log_value(log_name, sizeof(log_name), name);
	request_log_value(log_call_id, sizeof(log_call_id), call_id);
	if (ret == 0) {
		log_debug("jmap call request=%s method=%s call=%s result=ok",
		    ctx->request_id != NULL ? ctx->request_id : "-", log_name,
		    log_call_id);
		json_array_append_new(responses,
		    json_pack("[s, o, s]", name, response, call_id));
	} else {
		log_debug("jmap call request=%s method=%s call=%s result=error error=%s",
		    ctx->request_id != NULL ? ctx->request_id : "-", log_name,
		    log_call_id, json_string_value(json_object_get(error, "type")));
		json_array_append_new(responses,
		    json_pack("[s, o, s]", "error", error, call_id));
	}
}

/* Runs the method calls of a checked request and fills result with the
 * Response object (RFC 8620 3.4). */
static void
request_run(struct jmap_context *ctx, json_t *request, struct jmap_result *result)
{
	json_t *calls = json_object_get(request, "methodCalls");
	json_t *request_created_ids = json_object_get(request, "createdIds");
	json_t *saved_using = ctx->using, *saved_created_ids = ctx->created_ids;
	json_t *responses = json_array();
	json_t *response;
	const char *state = ctx->server->session_state;

	ctx->using = json_object_get(request, "using");
	ctx->created_ids = request_created_ids != NULL ?
	    json_deep_copy(request_created_ids) : json_object();

	for (size_t i = 0; i < json_array_size(calls); i++)
		request_run_call(ctx, json_array_get(calls, i), responses);

	response = json_pack("{s:o}", "methodResponses", responses);
	/* createdIds is in the response only if it was in the request. */
	if (request_created_ids != NULL)
		json_object_set(response, "createdIds", ctx->created_ids);
	json_object_set_new(response, "sessionState",
	    json_string(state != NULL ? state : ""));

	result->http_status = 200;
	result->content_type = "application/json";
	result->body = json_dumps(response, JSON_COMPACT);
	if (result->body == NULL)
		abort();	/* out of memory, as xmalloc would */

	json_decref(response);
	json_decref(ctx->created_ids);
	ctx->using = saved_using;
	ctx->created_ids = saved_created_ids;
}

void
jmap_request_process(struct jmap_context *ctx, const char *body, size_t len,
    struct jmap_result *result)
{
	size_t max_size = ctx->server->limits.max_size_request;
	char reason[JSON_ERROR_TEXT_LENGTH];
	json_error_t jerr;
	json_t *request;

	memset(result, 0, sizeof(*result));
	if (len > max_size) {
		request_problem(ctx, result, "limit", "maxSizeRequest",
		    "The request has %zu octets; maxSizeRequest is %zu", len, max_size);
		return;
	}

	/* Duplicate member names are rejected, as I-JSON (RFC 7493) requires.
	 * "\u0000" is accepted in string values and rejected by the checks
	 * above with the place it occurs. NOTE: jansson cannot represent it
	 * in member names, so a name with "\u0000" is reported as notJSON
	 * although it is valid JSON. */
	request = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &jerr);
	if (request == NULL) {
		/* jansson's message may quote input bytes that are not UTF-8. */
		for (size_t i = 0; i < sizeof(reason); i++) {
			unsigned char c = (unsigned char)jerr.text[i];

			reason[i] = c < 0x80 ? (char)c : '?';
			if (c == '\0')
				break;
		}
		reason[sizeof(reason) - 1] = '\0';
		request_problem(ctx, result, "notJSON", NULL,
		    "The request is not valid UTF-8 JSON: %s (line %d, column %d)",
		    reason, jerr.line, jerr.column);
		return;
	}

	if (request_check_shape(ctx, request, result) == 0 &&
	    request_check_limits(ctx, request, result) == 0)
		request_run(ctx, request, result);
	json_decref(request);
}
