/* Helpers shared by the JMAP method handlers, and the Core/echo method
 * (RFC 8620 4). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap/jmap.h"
#include "jmap/methods.h"
#include "util/xmalloc.h"

bool
jmap_context_uses(const struct jmap_context *ctx, const char *capability)
{
	for (size_t i = 0; i < json_array_size(ctx->using); i++) {
		const char *used = json_string_value(json_array_get(ctx->using, i));

		if (used != NULL && strcmp(used, capability) == 0)
			return true;
	}
	return false;
}

json_t *
jmap_error(const char *type, const char *fmt, ...)
{
	char *description;
	json_t *error;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return json_pack("{s:s}", "type", type);
	description = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(description, (size_t)len + 1, fmt, ap);
	va_end(ap);

	/* json_pack fails when description is not valid UTF-8. */
	error = json_pack("{s:s, s:s}", "type", type, "description", description);
	free(description);
	if (error == NULL)
		error = json_pack("{s:s}", "type", type);
	return error;
}

void
jmap_result_clear(struct jmap_result *result)
{
	free(result->body);
	result->body = NULL;
	result->http_status = 0;
	result->content_type = NULL;
}

/* Core/echo returns its arguments unchanged (RFC 8620 4). It takes no
 * accountId, so an "accountId" argument is echoed like any other. */
int
jmap_core_echo(struct jmap_context *ctx, json_t *args, json_t **response_r,
    json_t **error_r)
{
	(void)ctx;
	(void)error_r;
	*response_r = json_deep_copy(args);
	return 0;
}
