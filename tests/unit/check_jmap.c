/* Unit tests of JMAP request processing: request-level problems, method
 * calls, result references, createdIds and the Session object. The suite
 * links the core of jmap/ only, with its own table of methods below. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jmap/jmap.h"
#include "jmap/methods.h"
#include "jmap/resultref.h"
#include "jmap/server.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CAP_CORE "'urn:ietf:params:jmap:core'"
#define CAP_MAIL "'urn:ietf:params:jmap:mail'"
#define CAP_SMIME "'urn:ietf:params:jmap:smime-advanced'"
#define USING_CORE "'using':[" CAP_CORE "]"
#define USING_MAIL "'using':[" CAP_CORE "," CAP_MAIL "]"
#define REF(call_id, name, path) \
	"{'resultOf':'" call_id "','name':'" name "','path':'" path "'}"

/* Test/get returns a fixed list, like a /get method of the mail capability. */
static int
test_get(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	(void)args;
	(void)error_r;
	*response_r = json_pack("{s:s, s:[{s:s}], s:[]}", "accountId",
	    ctx->account->id, "list", "id", "M1", "notFound");
	return 0;
}

static int
test_fail(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	(void)ctx;
	(void)args;
	(void)response_r;
	*error_r = jmap_error("forbidden", "Test/fail fails for %s", "every call");
	return -1;
}

/* Test/create records the creation id of its "create" argument in the
 * shared createdIds map, as Email/set does. */
static int
test_create(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	const char *creation_id = json_string_value(json_object_get(args, "create"));

	(void)error_r;
	json_object_set_new(ctx->created_ids, creation_id, json_string("M9"));
	*response_r = json_pack("{s:{s:{s:s}}}", "created", creation_id, "id", "M9");
	return 0;
}

/* Test/broken breaks the handler contract: success without a response. */
static int
test_broken(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	(void)ctx;
	(void)args;
	(void)response_r;
	(void)error_r;
	return 0;
}

static int
test_uses(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	(void)args;
	(void)error_r;
	*response_r = json_pack("{s:b, s:b}",
	    "smime", jmap_context_uses(ctx, JMAP_CAP_SMIME),
	    "mail", jmap_context_uses(ctx, JMAP_CAP_MAIL));
	return 0;
}

static const struct jmap_method test_methods[] = {
	{ "Core/echo", JMAP_CAP_CORE, jmap_core_echo },
	{ "Test/get", JMAP_CAP_MAIL, test_get },
	{ "Test/fail", JMAP_CAP_MAIL, test_fail },
	{ "Test/create", JMAP_CAP_MAIL, test_create },
	{ "Test/broken", JMAP_CAP_MAIL, test_broken },
	{ "Test/uses", JMAP_CAP_CORE, test_uses },
};

/* Replaces the table of methods.c, which needs the mail modules. */
const struct jmap_method *
jmap_method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(test_methods) / sizeof(test_methods[0]); i++) {
		if (strcmp(test_methods[i].name, name) == 0)
			return &test_methods[i];
	}
	return NULL;
}

static char test_base_url[] = "http://127.0.0.1:8080";
static char test_state[] = "state-1";
static char test_account_id[] = "A1";
static char test_login[] = "alice";
static char test_name[] = "Alice Example";

static struct jmap_server test_server = {
	.limits = {
		.max_size_upload = 50000000,
		.max_concurrent_upload = 4,
		.max_size_request = 4096,
		.max_concurrent_requests = 8,
		.max_calls_in_request = 4,
		.max_objects_in_get = 500,
		.max_objects_in_set = 100,
	},
	.base_url = test_base_url,
	.session_state = test_state,
};

static const struct jmap_account test_account = {
	.id = test_account_id,
	.login = test_login,
	.name = test_name,
};

/* Returns text with every "'" replaced by '"', so that the JSON in the
 * tables stays readable. The caller frees it. */
static char *
test_json_text(const char *text)
{
	char *json = xstrdup(text);

	for (char *p = json; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return json;
}

static json_t *
test_parse(const char *text)
{
	char *json = test_json_text(text);
	json_error_t jerr;
	json_t *value = json_loads(json, JSON_DECODE_ANY, &jerr);

	ck_assert_msg(value != NULL, "test JSON %s: %s", json, jerr.text);
	free(json);
	return value;
}

/* Processes the len bytes of body as they are and returns the parsed
 * response body. result is filled for the caller to check. */
static json_t *
test_process_len(const char *body, size_t len, struct jmap_result *result)
{
	struct jmap_context ctx = {
		.server = &test_server,
		.account = &test_account,
		.request_id = "req-1",
	};
	json_error_t jerr;
	json_t *response;

	jmap_request_process(&ctx, body, len, result);
	ck_assert_ptr_null(ctx.using);
	ck_assert_ptr_null(ctx.created_ids);
	ck_assert_ptr_nonnull(result->body);
	response = json_loads(result->body, 0, &jerr);
	ck_assert_msg(response != NULL, "response %s: %s", result->body, jerr.text);
	return response;
}

/* Processes text after test_json_text. */
static json_t *
test_process(const char *text, struct jmap_result *result)
{
	char *body = test_json_text(text);
	json_t *response = test_process_len(body, strlen(body), result);

	free(body);
	return response;
}

static char *
test_dump(const json_t *value)
{
	return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Removes the "description" of every error response and returns the last
 * one (owned by the caller), or NULL. */
static char *
test_strip_descriptions(json_t *responses)
{
	char *last = NULL;

	for (size_t i = 0; i < json_array_size(responses); i++) {
		json_t *response = json_array_get(responses, i);
		json_t *args = json_array_get(response, 1);
		const char *description;

		if (strcmp(json_string_value(json_array_get(response, 0)), "error") != 0)
			continue;
		description = json_string_value(json_object_get(args, "description"));
		ck_assert_msg(description != NULL, "error response %zu has no description", i);
		free(last);
		last = xstrdup(description);
		json_object_del(args, "description");
	}
	return last;
}

/* Request-level problems: RFC 7807 problem details with HTTP 400. */
struct problem_case {
	const char *name;
	const char *body;
	const char *type;
	const char *limit;
	const char *detail;	/* expected substring of "detail" */
};

static const struct problem_case problem_cases[] = {
	{ "not JSON", "{", "notJSON", NULL, "line 1" },
	{ "empty body", "", "notJSON", NULL, "not valid UTF-8 JSON" },
	{ "trailing data", "{} x", "notJSON", NULL, "not valid UTF-8 JSON" },
	{ "duplicate member", "{" USING_CORE "," USING_CORE ",'methodCalls':[]}",
	    "notJSON", NULL, "duplicate" },
	{ "invalid UTF-8", "{'using':['\xff'],'methodCalls':[]}", "notJSON", NULL,
	    "not valid UTF-8 JSON" },
	{ "number", "42", "notRequest", NULL, "JSON object" },
	{ "array", "[]", "notRequest", NULL, "JSON object" },
	{ "using missing", "{'methodCalls':[]}", "notRequest", NULL,
	    "\"using\" is missing" },
	{ "using not array", "{'using':'x','methodCalls':[]}", "notRequest", NULL,
	    "\"using\" is not an array" },
	{ "using item number", "{'using':[" CAP_CORE ",5],'methodCalls':[]}",
	    "notRequest", NULL, "\"using\"[1] is not a string" },
	{ "calls missing", "{" USING_CORE "}", "notRequest", NULL,
	    "\"methodCalls\" is missing" },
	{ "calls not array", "{" USING_CORE ",'methodCalls':{}}", "notRequest",
	    NULL, "\"methodCalls\" is not an array" },
	{ "call not array", "{" USING_CORE ",'methodCalls':['Core/echo']}",
	    "notRequest", NULL, "\"methodCalls\"[0] is not an array of 3" },
	{ "call of 2", "{" USING_CORE ",'methodCalls':[['Core/echo',{}]]}",
	    "notRequest", NULL, "\"methodCalls\"[0] is not an array of 3" },
	{ "call of 4", "{" USING_CORE ",'methodCalls':[['Core/echo',{},'c1',1]]}",
	    "notRequest", NULL, "is not an array of 3" },
	{ "call name number", "{" USING_CORE ",'methodCalls':[['Core/echo',{},'c1'],[1,{},'c2']]}",
	    "notRequest", NULL, "\"methodCalls\"[1] has a method name" },
	{ "call args array", "{" USING_CORE ",'methodCalls':[['Core/echo',[],'c1']]}",
	    "notRequest", NULL, "arguments that are not an object" },
	{ "call id null", "{" USING_CORE ",'methodCalls':[['Core/echo',{},null]]}",
	    "notRequest", NULL, "method call id that is not a string" },
	{ "createdIds array", "{" USING_CORE ",'methodCalls':[],'createdIds':[]}",
	    "notRequest", NULL, "\"createdIds\" is not an object" },
	{ "createdIds null", "{" USING_CORE ",'methodCalls':[],'createdIds':null}",
	    "notRequest", NULL, "\"createdIds\" is not an object" },
	{ "createdIds value", "{" USING_CORE ",'methodCalls':[],'createdIds':{'k1':1}}",
	    "notRequest", NULL, "\"createdIds\" value for \"k1\"" },
	{ "using item with NUL", "{'using':['urn:ietf:params:jmap:core\\u0000x'],'methodCalls':[]}",
	    "notRequest", NULL, "\"using\"[0] is not a string without U+0000" },
	{ "call name with NUL", "{" USING_CORE ",'methodCalls':[['Core/echo\\u0000x',{},'c1']]}",
	    "notRequest", NULL, "method name that is not a string without U+0000" },
	{ "call id with NUL", "{" USING_CORE ",'methodCalls':[['Core/echo',{},'c\\u0000']]}",
	    "notRequest", NULL, "method call id that is not a string without U+0000" },
	{ "createdIds value with NUL",
	    "{" USING_CORE ",'methodCalls':[],'createdIds':{'k1':'M\\u0000'}}",
	    "notRequest", NULL, "\"createdIds\" value for \"k1\"" },
	{ "member name with NUL", "{" USING_CORE ",'methodCalls':[],'a\\u0000':1}",
	    "notJSON", NULL, "NUL byte in object key" },
	{ "unknown capability", "{'using':[" CAP_CORE ",'urn:example:x'],'methodCalls':[]}",
	    "unknownCapability", NULL, "\"urn:example:x\"" },
	{ "too many calls", "{" USING_CORE ",'methodCalls':[['Core/echo',{},'c1'],"
	    "['Core/echo',{},'c2'],['Core/echo',{},'c3'],['Core/echo',{},'c4'],"
	    "['Core/echo',{},'c5']]}", "limit", "maxCallsInRequest",
	    "5 method calls; maxCallsInRequest is 4" },
};

START_TEST(request_problem_table)
{
	const struct problem_case *c = &problem_cases[_i];
	char *type = xasprintf("urn:ietf:params:jmap:error:%s", c->type);
	struct jmap_result result;
	json_t *problem = test_process(c->body, &result);
	const char *detail = json_string_value(json_object_get(problem, "detail"));

	ck_assert_msg(result.http_status == 400, "%s: status %d", c->name,
	    result.http_status);
	ck_assert_str_eq(result.content_type, "application/problem+json");
	ck_assert_msg(strcmp(json_string_value(json_object_get(problem, "type")),
	    type) == 0, "%s: %s", c->name, result.body);
	ck_assert_int_eq(json_integer_value(json_object_get(problem, "status")), 400);
	ck_assert_msg(detail != NULL && strstr(detail, c->detail) != NULL,
	    "%s: detail lacks \"%s\": %s", c->name, c->detail, result.body);
	if (c->limit != NULL)
		ck_assert_str_eq(json_string_value(json_object_get(problem, "limit")),
		    c->limit);
	else
		ck_assert_ptr_null(json_object_get(problem, "limit"));

	json_decref(problem);
	jmap_result_clear(&result);
	free(type);
}
END_TEST

/* A body of exactly len octets: a valid request padded with spaces. */
static char *
test_padded_request(size_t len)
{
	char *request = test_json_text("{" USING_CORE ",'methodCalls':[]}");
	char *body = xmalloc(len + 1);
	size_t request_len = strlen(request);

	ck_assert_uint_le(request_len, len);
	memcpy(body, request, request_len);
	memset(body + request_len, ' ', len - request_len);
	body[len] = '\0';
	free(request);
	return body;
}

START_TEST(request_size_limit)
{
	size_t max = test_server.limits.max_size_request;
	char *body = test_padded_request(max);
	struct jmap_result result;
	json_t *response;

	response = test_process_len(body, max, &result);
	ck_assert_int_eq(result.http_status, 200);
	json_decref(response);
	jmap_result_clear(&result);
	free(body);

	body = test_padded_request(max + 1);
	response = test_process_len(body, max + 1, &result);
	ck_assert_int_eq(result.http_status, 400);
	ck_assert_str_eq(json_string_value(json_object_get(response, "type")),
	    "urn:ietf:params:jmap:error:limit");
	ck_assert_str_eq(json_string_value(json_object_get(response, "limit")),
	    "maxSizeRequest");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(response,
	    "detail")), "4097 octets"));
	json_decref(response);
	jmap_result_clear(&result);
	free(body);
}
END_TEST

START_TEST(request_calls_at_limit)
{
	struct jmap_result result;
	json_t *response = test_process("{" USING_CORE ",'methodCalls':["
	    "['Core/echo',{},'c1'],['Core/echo',{},'c2'],['Core/echo',{},'c3'],"
	    "['Core/echo',{},'c4']]}", &result);

	ck_assert_int_eq(result.http_status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(response,
	    "methodResponses")), 4);
	json_decref(response);
	jmap_result_clear(&result);
}
END_TEST

/* Method calls: the expected methodResponses, with the description of
 * error responses removed and checked separately. */
struct call_case {
	const char *name;
	const char *request;
	const char *responses;
	const char *description;	/* substring of the last error description */
};

static const struct call_case call_cases[] = {
	{ "echo roundtrip",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',"
	    "{'hello':true,'n':[1,2.5,{'x':null}],'s':'\xc3\xa9'},'c1']]}",
	    "[['Core/echo',{'hello':true,'n':[1,2.5,{'x':null}],'s':'\xc3\xa9'},'c1']]",
	    NULL },
	{ "no calls", "{" USING_CORE ",'methodCalls':[]}", "[]", NULL },
	{ "argument with NUL",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':{'b/c~':['x','y\\u0000z']}},'c1'],"
	    "['Core/echo',{'ok':1},'c2']]}",
	    "[['error',{'type':'invalidArguments'},'c1'],['Core/echo',{'ok':1},'c2']]",
	    "\"/a/b~1c~0/1\" contains U+0000" },
	{ "account id with NUL",
	    "{" USING_MAIL ",'methodCalls':[['Test/get',{'accountId':'A1\\u0000x'},'c1']]}",
	    "[['error',{'type':'invalidArguments'},'c1']]", "\"/accountId\"" },
	{ "unknown method",
	    "{" USING_MAIL ",'methodCalls':[['Foo/bar',{},'c1']]}",
	    "[['error',{'type':'unknownMethod'},'c1']]", "\"Foo/bar\"" },
	{ "capability not in using",
	    "{" USING_CORE ",'methodCalls':[['Test/get',{},'c1']]}",
	    "[['error',{'type':'unknownMethod'},'c1']]", "needs the capability urn:ietf:params:jmap:mail" },
	{ "capability in using",
	    "{" USING_MAIL ",'methodCalls':[['Test/get',{},'c1']]}",
	    "[['Test/get',{'accountId':'A1','list':[{'id':'M1'}],'notFound':[]},'c1']]",
	    NULL },
	{ "error then next call",
	    "{" USING_MAIL ",'methodCalls':[['Test/fail',{},'c1'],['Core/echo',{'a':1},'c2']]}",
	    "[['error',{'type':'forbidden'},'c1'],['Core/echo',{'a':1},'c2']]",
	    "fails for every call" },
	{ "account not found",
	    "{" USING_MAIL ",'methodCalls':[['Test/get',{'accountId':'A2'},'c1']]}",
	    "[['error',{'type':'accountNotFound'},'c1']]", "\"A2\"" },
	{ "account id matches",
	    "{" USING_MAIL ",'methodCalls':[['Test/get',{'accountId':'A1'},'c1']]}",
	    "[['Test/get',{'accountId':'A1','list':[{'id':'M1'}],'notFound':[]},'c1']]",
	    NULL },
	{ "account id number",
	    "{" USING_MAIL ",'methodCalls':[['Test/get',{'accountId':1},'c1']]}",
	    "[['error',{'type':'invalidArguments'},'c1']]", "\"accountId\"" },
	{ "echo keeps account id",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'accountId':'A2'},'c1']]}",
	    "[['Core/echo',{'accountId':'A2'},'c1']]", NULL },
	{ "account id by reference",
	    "{" USING_MAIL ",'methodCalls':[['Core/echo',{'a':'A2'},'c1'],"
	    "['Test/get',{'#accountId':" REF("c1", "Core/echo", "/a") "},'c2']]}",
	    "[['Core/echo',{'a':'A2'},'c1'],['error',{'type':'accountNotFound'},'c2']]",
	    "\"A2\"" },
	{ "plain and referenced argument",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':1},'c1'],"
	    "['Core/echo',{'x':1,'#x':" REF("c1", "Core/echo", "/a") "},'c2']]}",
	    "[['Core/echo',{'a':1},'c1'],['error',{'type':'invalidArguments'},'c2']]",
	    "\"x\" and \"#x\"" },
	{ "reference wrong name",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':1},'c1'],"
	    "['Core/echo',{'#x':" REF("c1", "Test/get", "/a") "},'c2']]}",
	    "[['Core/echo',{'a':1},'c1'],['error',{'type':'invalidResultReference'},'c2']]",
	    "call returned no Test/get response" },
	{ "reference wrong call id",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':1},'c1'],"
	    "['Core/echo',{'#x':" REF("c9", "Core/echo", "/a") "},'c2']]}",
	    "[['Core/echo',{'a':1},'c1'],['error',{'type':'invalidResultReference'},'c2']]",
	    "\"c9\", but no earlier method call" },
	{ "reference to own call",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'#x':"
	    REF("c1", "Core/echo", "/a") "},'c1']]}",
	    "[['error',{'type':'invalidResultReference'},'c1']]",
	    "no earlier method call" },
	{ "reference to later call",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'#x':"
	    REF("c2", "Core/echo", "/a") "},'c1'],['Core/echo',{'a':1},'c2']]}",
	    "[['error',{'type':'invalidResultReference'},'c1'],['Core/echo',{'a':1},'c2']]",
	    "no earlier method call" },
	{ "reference to error response",
	    "{" USING_CORE ",'methodCalls':[['Foo/bar',{},'c1'],"
	    "['Core/echo',{'#x':" REF("c1", "Foo/bar", "") "},'c2']]}",
	    "[['error',{'type':'unknownMethod'},'c1'],"
	    "['error',{'type':'invalidResultReference'},'c2']]",
	    "returned no Foo/bar response" },
	{ "reference not an object",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':1},'c1'],"
	    "['Core/echo',{'#x':5},'c2']]}",
	    "[['Core/echo',{'a':1},'c1'],['error',{'type':'invalidResultReference'},'c2']]",
	    "\"#x\" must be a ResultReference" },
	{ "reference without path",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':1},'c1'],"
	    "['Core/echo',{'#x':{'resultOf':'c1','name':'Core/echo'}},'c2']]}",
	    "[['Core/echo',{'a':1},'c1'],['error',{'type':'invalidResultReference'},'c2']]",
	    "must be a ResultReference" },
	{ "reference keeps other arguments",
	    "{" USING_CORE ",'methodCalls':[['Core/echo',{'a':[1,2]},'c1'],"
	    "['Core/echo',{'#x':" REF("c1", "Core/echo", "/a") ",'y':true},'c2']]}",
	    "[['Core/echo',{'a':[1,2]},'c1'],['Core/echo',{'x':[1,2],'y':true},'c2']]",
	    NULL },
	{ "reference to repeated call id",
	    "{" USING_MAIL ",'methodCalls':[['Core/echo',{},'c1'],['Test/get',{},'c1'],"
	    "['Core/echo',{'#x':" REF("c1", "Test/get", "/list/*/id") "},'c2']]}",
	    "[['Core/echo',{},'c1'],"
	    "['Test/get',{'accountId':'A1','list':[{'id':'M1'}],'notFound':[]},'c1'],"
	    "['Core/echo',{'x':['M1']},'c2']]", NULL },
	{ "handler without response",
	    "{" USING_MAIL ",'methodCalls':[['Test/broken',{},'c1']]}",
	    "[['error',{'type':'serverFail'},'c1']]", "no response object" },
	{ "context uses mail only",
	    "{" USING_MAIL ",'methodCalls':[['Test/uses',{},'c1']]}",
	    "[['Test/uses',{'smime':false,'mail':true},'c1']]", NULL },
	{ "context uses smime",
	    "{'using':[" CAP_CORE "," CAP_SMIME "],'methodCalls':[['Test/uses',{},'c1']]}",
	    "[['Test/uses',{'smime':true,'mail':false},'c1']]", NULL },
};

START_TEST(request_call_table)
{
	const struct call_case *c = &call_cases[_i];
	struct jmap_result result;
	json_t *response = test_process(c->request, &result);
	json_t *expected = test_parse(c->responses);
	json_t *responses = json_object_get(response, "methodResponses");
	char *description, *actual;

	ck_assert_msg(result.http_status == 200, "%s: %d %s", c->name,
	    result.http_status, result.body);
	ck_assert_str_eq(result.content_type, "application/json");
	ck_assert_str_eq(json_string_value(json_object_get(response, "sessionState")),
	    "state-1");
	ck_assert_ptr_null(json_object_get(response, "createdIds"));

	description = test_strip_descriptions(responses);
	actual = test_dump(responses);
	ck_assert_msg(json_equal(responses, expected), "%s: got %s", c->name, actual);
	if (c->description != NULL)
		ck_assert_msg(description != NULL && strstr(description, c->description),
		    "%s: description lacks \"%s\": %s", c->name, c->description,
		    description != NULL ? description : "(none)");
	else
		ck_assert_msg(description == NULL, "%s: unexpected error %s", c->name,
		    description);

	free(actual);
	free(description);
	json_decref(expected);
	json_decref(response);
	jmap_result_clear(&result);
}
END_TEST

/* Result reference paths, evaluated against the arguments echoed by c1. */
static const char ref_document[] =
    "{'a':{'b':[10,20]},"
    "'list':[{'id':'x','ids':['a','b']},{'id':'y','ids':['c']}],"
    "'nested':[[{'i':1},{'i':2}],[{'i':3}]],"
    "'deep':[[[1,2]],[[3]]],"
    "'a/b':{'m~n':7},'~1':5,'':6,'o':{'*':8},'empty':[]}";

struct ref_case {
	const char *name;
	const char *path;
	const char *value;	/* expected JSON, or NULL for an error */
	const char *description;	/* substring of the error description */
};

static const struct ref_case ref_cases[] = {
	{ "array index", "/a/b/1", "20", NULL },
	{ "object member", "/a", "{'b':[10,20]}", NULL },
	{ "empty path", "", NULL, NULL },	/* the whole document */
	{ "empty member name", "/", "6", NULL },
	{ "star over objects", "/list/*/id", "['x','y']", NULL },
	{ "star flattens arrays", "/list/*/ids", "['a','b','c']", NULL },
	{ "star then star", "/list/*/ids/*", "['a','b','c']", NULL },
	{ "nested stars", "/nested/*/*/i", "[1,2,3]", NULL },
	{ "star flattens one level", "/deep/*", "[[1,2],[3]]", NULL },
	{ "star on empty array", "/empty/*/x", "[]", NULL },
	{ "star item is string", "/list/*/ids/*/x", NULL, "cannot apply to the string" },
	{ "escapes", "/a~1b/m~0n", "7", NULL },
	{ "escape order", "/~01", "5", NULL },
	{ "star member of object", "/o/*", "8", NULL },
	{ "missing member", "/a/c", NULL, "no member \"c\" in the object at \"/a\"" },
	{ "missing at top", "/zz", NULL, "no member \"zz\" in the object at the top level" },
	{ "no leading slash", "a/b", NULL, "must be empty or start with \"/\"" },
	{ "index out of range", "/a/b/2", NULL, "index 2 is out of range for the array of 2" },
	{ "index leading zero", "/a/b/01", NULL, "\"01\" is neither" },
	{ "index dash", "/a/b/-", NULL, "\"-\" is neither" },
	{ "index huge", "/a/b/99999999999999999999999", NULL, "out of range" },
	{ "bad escape", "/a~2b", NULL, "invalid escape" },
	{ "trailing tilde", "/a~", NULL, "invalid escape" },
	{ "token on number", "/a/b/0/x", NULL, "\"x\" cannot apply to the number at \"/a/b/0\"" },
	{ "star item fails", "/list/*/missing", NULL, "no member \"missing\"" },
	{ "trailing slash", "/a/", NULL, "no member \"\"" },
};

START_TEST(request_reference_table)
{
	const struct ref_case *c = &ref_cases[_i];
	char *document = test_json_text(ref_document);
	json_t *request = json_pack("{s:[s], s:[[s, o, s], [s, {s:{s:s, s:s, s:s}}, s]]}",
	    "using", JMAP_CAP_CORE, "methodCalls",
	    "Core/echo", json_loads(document, 0, NULL), "c1",
	    "Core/echo", "#v", "resultOf", "c1", "name", "Core/echo", "path", c->path,
	    "c2");
	char *body = json_dumps(request, JSON_COMPACT);
	struct jmap_result result;
	json_t *response = test_process_len(body, strlen(body), &result);
	json_t *second = json_array_get(json_object_get(response, "methodResponses"), 1);
	json_t *args = json_array_get(second, 1);
	const char *name = json_string_value(json_array_get(second, 0));

	ck_assert_int_eq(result.http_status, 200);
	if (c->value != NULL || c->description == NULL) {
		json_t *expected = test_parse(c->value != NULL ? c->value : ref_document);
		char *actual = test_dump(args);

		ck_assert_msg(strcmp(name, "Core/echo") == 0, "%s: got %s", c->name, actual);
		ck_assert_msg(json_equal(json_object_get(args, "v"), expected),
		    "%s: got %s", c->name, actual);
		free(actual);
		json_decref(expected);
	} else {
		const char *description = json_string_value(json_object_get(args,
		    "description"));

		ck_assert_str_eq(name, "error");
		ck_assert_str_eq(json_string_value(json_object_get(args, "type")),
		    "invalidResultReference");
		ck_assert_msg(description != NULL, "%s: error without description",
		    c->name);
		ck_assert_msg(strstr(description, c->description) != NULL,
		    "%s: description lacks \"%s\": %s", c->name, c->description,
		    description);
		ck_assert_msg(strstr(description, "\"#v\"") != NULL,
		    "%s: description does not name the argument: %s", c->name,
		    description);
	}

	json_decref(response);
	jmap_result_clear(&result);
	free(body);
	json_decref(request);
	free(document);
}
END_TEST

START_TEST(request_created_ids_echoed)
{
	struct jmap_result result;
	json_t *response = test_process("{" USING_MAIL ",'methodCalls':["
	    "['Test/create',{'create':'k1'},'c1']],'createdIds':{'k0':'M0'}}", &result);
	json_t *expected = test_parse("{'k0':'M0','k1':'M9'}");

	ck_assert_int_eq(result.http_status, 200);
	ck_assert_msg(json_equal(json_object_get(response, "createdIds"), expected),
	    "createdIds: %s", result.body);
	json_decref(expected);
	json_decref(response);
	jmap_result_clear(&result);
}
END_TEST

START_TEST(request_created_ids_empty)
{
	struct jmap_result result;
	json_t *response = test_process("{" USING_MAIL ",'methodCalls':[],"
	    "'createdIds':{}}", &result);
	json_t *created_ids = json_object_get(response, "createdIds");

	ck_assert_int_eq(result.http_status, 200);
	ck_assert_msg(json_is_object(created_ids) && json_object_size(created_ids) == 0,
	    "createdIds: %s", result.body);
	json_decref(response);
	jmap_result_clear(&result);
}
END_TEST

/* Without createdIds in the request the response has none, although the
 * calls share a map. */
START_TEST(request_created_ids_absent)
{
	struct jmap_result result;
	json_t *response = test_process("{" USING_MAIL ",'methodCalls':["
	    "['Test/create',{'create':'k1'},'c1']]}", &result);

	ck_assert_int_eq(result.http_status, 200);
	ck_assert_ptr_null(json_object_get(response, "createdIds"));
	ck_assert_str_eq(json_string_value(json_object_get(response, "sessionState")),
	    "state-1");
	json_decref(response);
	jmap_result_clear(&result);
}
END_TEST

START_TEST(core_error_description)
{
	json_t *error = jmap_error("invalidArguments", "value %d of \"%s\"", 7, "x");
	json_t *fallback = jmap_error("serverFail", "%s", "\xff");

	ck_assert_str_eq(json_string_value(json_object_get(error, "type")),
	    "invalidArguments");
	ck_assert_str_eq(json_string_value(json_object_get(error, "description")),
	    "value 7 of \"x\"");
	ck_assert_str_eq(json_string_value(json_object_get(fallback, "type")),
	    "serverFail");
	ck_assert_ptr_null(json_object_get(fallback, "description"));
	json_decref(error);
	json_decref(fallback);
}
END_TEST

START_TEST(resultref_evaluate_copies)
{
	json_t *document = test_parse("{'a':[{'b':{'c':1}}]}");
	char *error = NULL;
	json_t *value = jmap_resultref_evaluate(document, "/a/0/b", &error);

	ck_assert_ptr_nonnull(value);
	ck_assert_ptr_null(error);
	ck_assert_ptr_ne(value, json_object_get(json_array_get(json_object_get(document,
	    "a"), 0), "b"));
	json_object_set_new(value, "c", json_integer(2));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(document, "a"), 0), "b"), "c")), 1);
	json_decref(value);
	json_decref(document);
}
END_TEST

static const char *
test_member_string(json_t *object, const char *key)
{
	const char *value = json_string_value(json_object_get(object, key));

	ck_assert_msg(value != NULL, "member \"%s\" is missing or not a string", key);
	return value;
}

START_TEST(session_capabilities)
{
	json_t *session = jmap_session_object(&test_server, &test_account);
	json_t *capabilities = json_object_get(session, "capabilities");
	json_t *core = json_object_get(capabilities, JMAP_CAP_CORE);
	json_t *smime = json_object_get(capabilities, JMAP_CAP_SMIME);
	json_t *mail = json_object_get(capabilities, JMAP_CAP_MAIL);

	ck_assert_ptr_nonnull(session);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxSizeUpload")), 50000000);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxConcurrentUpload")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxSizeRequest")), 4096);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxConcurrentRequests")), 8);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxCallsInRequest")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxObjectsInGet")), 500);
	ck_assert_int_eq(json_integer_value(json_object_get(core, "maxObjectsInSet")), 100);
	ck_assert(json_is_array(json_object_get(core, "collationAlgorithms")));
	ck_assert(json_is_object(smime));
	ck_assert_uint_eq(json_object_size(smime), 0);
	ck_assert(json_is_object(mail));
	ck_assert_uint_eq(json_object_size(mail), 0);
	ck_assert_uint_eq(json_object_size(capabilities), 3);
	json_decref(session);
}
END_TEST

START_TEST(session_account)
{
	json_t *session = jmap_session_object(&test_server, &test_account);
	json_t *account = json_object_get(json_object_get(session, "accounts"), "A1");
	json_t *account_caps = json_object_get(account, "accountCapabilities");
	json_t *smime = json_object_get(account_caps, JMAP_CAP_SMIME);
	json_t *mail = json_object_get(account_caps, JMAP_CAP_MAIL);
	json_t *primary = json_object_get(session, "primaryAccounts");

	ck_assert_uint_eq(json_object_size(json_object_get(session, "accounts")), 1);
	ck_assert_str_eq(test_member_string(account, "name"), "Alice Example");
	ck_assert(json_is_true(json_object_get(account, "isPersonal")));
	ck_assert(json_is_false(json_object_get(account, "isReadOnly")));
	ck_assert(json_is_object(smime));
	ck_assert_uint_eq(json_object_size(smime), 0);
	ck_assert(json_is_null(json_object_get(mail, "maxMailboxesPerEmail")));
	ck_assert(json_is_null(json_object_get(mail, "maxMailboxDepth")));
	ck_assert_int_eq(json_integer_value(json_object_get(mail, "maxSizeMailboxName")), 490);
	ck_assert_int_eq(json_integer_value(json_object_get(mail,
	    "maxSizeAttachmentsPerEmail")), 50000000);
	ck_assert(json_is_array(json_object_get(mail, "emailQuerySortOptions")));
	ck_assert(json_is_false(json_object_get(mail, "mayCreateTopLevelMailbox")));
	ck_assert_str_eq(test_member_string(primary, JMAP_CAP_MAIL), "A1");
	ck_assert_str_eq(test_member_string(primary, JMAP_CAP_SMIME), "A1");
	ck_assert_str_eq(test_member_string(session, "username"), "alice");
	ck_assert_str_eq(test_member_string(session, "state"), "state-1");
	json_decref(session);
}
END_TEST

START_TEST(session_urls)
{
	json_t *session = jmap_session_object(&test_server, &test_account);

	ck_assert_str_eq(test_member_string(session, "apiUrl"),
	    "http://127.0.0.1:8080/jmap/api");
	ck_assert_str_eq(test_member_string(session, "downloadUrl"),
	    "http://127.0.0.1:8080/jmap/download/{accountId}/{blobId}/{name}?accept={type}");
	ck_assert_str_eq(test_member_string(session, "uploadUrl"),
	    "http://127.0.0.1:8080/jmap/upload/{accountId}/");
	ck_assert_str_eq(test_member_string(session, "eventSourceUrl"),
	    "http://127.0.0.1:8080/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}");
	json_decref(session);
}
END_TEST

START_TEST(session_name_defaults_to_login)
{
	struct jmap_account account = test_account;
	json_t *session;

	account.name = NULL;
	session = jmap_session_object(&test_server, &account);
	ck_assert_str_eq(test_member_string(json_object_get(json_object_get(session,
	    "accounts"), "A1"), "name"), "alice");
	json_decref(session);
}
END_TEST

#define TABLE_SIZE(table) ((int)(sizeof(table) / sizeof((table)[0])))

static Suite *
jmap_suite(void)
{
	Suite *s = suite_create("jmap");
	TCase *request = tcase_create("request");
	TCase *session = tcase_create("session");

	tcase_add_loop_test(request, request_problem_table, 0, TABLE_SIZE(problem_cases));
	tcase_add_test(request, request_size_limit);
	tcase_add_test(request, request_calls_at_limit);
	tcase_add_loop_test(request, request_call_table, 0, TABLE_SIZE(call_cases));
	tcase_add_loop_test(request, request_reference_table, 0, TABLE_SIZE(ref_cases));
	tcase_add_test(request, request_created_ids_echoed);
	tcase_add_test(request, request_created_ids_empty);
	tcase_add_test(request, request_created_ids_absent);
	tcase_add_test(request, core_error_description);
	tcase_add_test(request, resultref_evaluate_copies);
	suite_add_tcase(s, request);

	tcase_add_test(session, session_capabilities);
	tcase_add_test(session, session_account);
	tcase_add_test(session, session_urls);
	tcase_add_test(session, session_name_defaults_to_login);
	suite_add_tcase(s, session);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(jmap_suite());
	int failed;

	/* Runs the debug log lines of every call without printing them. */
	log_set_level(LOG_LEVEL_DEBUG);
	log_open_file("/dev/null");
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
