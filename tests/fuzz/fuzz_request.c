/* libFuzzer target: JMAP request processing (jmap_request_process) with
 * result references, on a fake account and a method table of its own, so
 * that only the request core is linked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jmap/jmap.h"
#include "jmap/methods.h"
#include "jmap/server.h"
#include "util/log.h"

/* Fuzz/get returns a fixed list, so that result references have paths to
 * follow into arrays and objects. */
static int
fuzz_get(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	(void)args;
	(void)error_r;
	*response_r = json_pack("{s:s, s:[{s:s, s:[i, i]}, {s:s}], s:[s], s:{s:s}}",
	    "accountId", ctx->account->id, "list", "id", "M1", "n", 1, 2, "id", "M2",
	    "notFound", "M3", "a/b~c", "x", "y");
	return 0;
}

/* Fuzz/create records its "create" argument as a creation id, as
 * Email/set does. */
static int
fuzz_create(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	json_t *creation_id = json_object_get(args, "create");

	if (!json_is_string(creation_id)) {
		*error_r = jmap_error("invalidArguments", "create must be a string");
		return -1;
	}
	json_object_set_new(ctx->created_ids, json_string_value(creation_id),
	    json_string("M9"));
	*response_r = json_pack("{s:O}", "created", creation_id);
	return 0;
}

static const struct jmap_method fuzz_methods[] = {
	{ "Core/echo", JMAP_CAP_CORE, jmap_core_echo },
	{ "Fuzz/get", JMAP_CAP_MAIL, fuzz_get },
	{ "Fuzz/create", JMAP_CAP_MAIL, fuzz_create },
};

const struct jmap_method *
jmap_method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(fuzz_methods) / sizeof(fuzz_methods[0]); i++) {
		if (strcmp(fuzz_methods[i].name, name) == 0)
			return &fuzz_methods[i];
	}
	return NULL;
}

static char fuzz_base_url[] = "http://127.0.0.1:8080";
static char fuzz_state[] = "s1";
static char fuzz_account_id[] = "A1";
static char fuzz_login[] = "fuzz@example.com";

static struct jmap_server fuzz_server = {
	.limits = {
		.max_size_upload = 1 << 20,
		.max_concurrent_upload = 4,
		.max_size_request = 1 << 20,
		.max_concurrent_requests = 4,
		.max_calls_in_request = 16,
		.max_objects_in_get = 500,
		.max_objects_in_set = 100,
	},
	.base_url = fuzz_base_url,
	.session_state = fuzz_state,
};

static const struct jmap_account fuzz_account = {
	.id = fuzz_account_id,
	.login = fuzz_login,
	.name = fuzz_login,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jmap_context ctx = {
		.server = &fuzz_server,
		.account = &fuzz_account,
		.request_id = "fuzz",
	};
	struct jmap_result result;
	json_t *response;

	jmap_request_process(&ctx, (const char *)data, size, &result);
	/* Whatever the input, the result is a JSON object of status 200 or
	 * 400 and the context is left as it was. */
	if (result.body == NULL || (result.http_status != 200 && result.http_status != 400) ||
	    ctx.using != NULL || ctx.created_ids != NULL)
		abort();
	response = json_loads(result.body, 0, NULL);
	if (!json_is_object(response))
		abort();
	json_decref(response);
	jmap_result_clear(&result);
	return 0;
}
