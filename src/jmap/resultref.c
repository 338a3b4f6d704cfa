/* Result references of JMAP method calls (RFC 8620 3.7) and the extended
 * JSON Pointer (RFC 6901 plus "*" over arrays) that they use. */
#include "jmap/resultref.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap/jmap.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static json_t *resultref_walk(const json_t *node, const char *path,
    const char *pos, char **error_r);

/* Sets *error_r to the formatted reason followed by the part of path that
 * was evaluated before pos, so that the message shows where it failed. */
static void __attribute__((format(printf, 4, 5)))
resultref_fail(char **error_r, const char *path, const char *pos,
    const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char *reason;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	reason = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(reason, (size_t)len + 1, fmt, ap);
	va_end(ap);

	strbuf_appends(&sb, reason);
	if (pos == path)
		strbuf_appends(&sb, " at the top level");
	else
		strbuf_printf(&sb, " at \"%.*s\"", (int)(pos - path), path);
	free(reason);
	*error_r = strbuf_detach(&sb, NULL);
}

static const char *
resultref_type_name(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

/* Decodes a reference token from left to right: "~1" becomes "/" and "~0"
 * becomes "~", so "~01" decodes to "~1" as RFC 6901 4 requires. Any other
 * "~" is invalid. Returns an allocated string, or NULL. */
static char *
resultref_unescape(const char *token, size_t len)
{
	char *name = xmalloc(len + 1);
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		if (token[i] != '~') {
			name[out++] = token[i];
			continue;
		}
		if (i + 1 < len && token[i + 1] == '0') {
			name[out++] = '~';
		} else if (i + 1 < len && token[i + 1] == '1') {
			name[out++] = '/';
		} else {
			free(name);
			return NULL;
		}
		i++;
	}
	name[out] = '\0';
	return name;
}

/* Parses an array index token: "0" or decimal digits without a leading
 * zero (RFC 6901 4). Indexes too large for size_t become SIZE_MAX, which is
 * always out of range. */
static int
resultref_parse_index(const char *token, size_t len, size_t *index_r)
{
	size_t index = 0;

	if (len == 0 || (len > 1 && token[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		size_t digit;

		if (token[i] < '0' || token[i] > '9')
			return -1;
		digit = (size_t)(token[i] - '0');
		if (index > (SIZE_MAX - digit) / 10)
			index = SIZE_MAX;
		else
			index = index * 10 + digit;
	}
	*index_r = index;
	return 0;
}

/* Applies the token that starts after the "/" at pos to node. Returns the
 * referenced child (borrowed), or NULL with *error_r set. */
static const json_t *
resultref_step(const json_t *node, const char *path, const char *pos,
    size_t len, char **error_r)
{
	const char *token = pos + 1;
	const json_t *child;
	size_t index;
	char *name;

	if (json_is_object(node)) {
		name = resultref_unescape(token, len);
		if (name == NULL) {
			resultref_fail(error_r, path, pos,
			    "invalid escape in token \"%.*s\" (only ~0 and ~1 are defined)",
			    (int)len, token);
			return NULL;
		}
		child = json_object_get(node, name);
		if (child == NULL)
			resultref_fail(error_r, path, pos,
			    "no member \"%s\" in the object", name);
		free(name);
		return child;
	}

	if (json_is_array(node)) {
		if (resultref_parse_index(token, len, &index) < 0) {
			resultref_fail(error_r, path, pos,
			    "token \"%.*s\" is neither \"*\" nor an index without leading zeros for the array",
			    (int)len, token);
			return NULL;
		}
		if (index >= json_array_size(node)) {
			resultref_fail(error_r, path, pos,
			    "index %.*s is out of range for the array of %zu items",
			    (int)len, token, json_array_size(node));
			return NULL;
		}
		return json_array_get(node, index);
	}

	resultref_fail(error_r, path, pos, "token \"%.*s\" cannot apply to the %s",
	    (int)len, token, resultref_type_name(node));
	return NULL;
}

/* Applies the pointer tokens from rest to every item of array and collects
 * the results, adding the items of array results (RFC 8620 3.7). */
static json_t *
resultref_walk_items(const json_t *array, const char *path, const char *rest,
    char **error_r)
{
	json_t *out = json_array();

	for (size_t i = 0; i < json_array_size(array); i++) {
		json_t *result = resultref_walk(json_array_get(array, i), path, rest,
		    error_r);

		if (result == NULL) {
			json_decref(out);
			return NULL;
		}
		if (json_is_array(result)) {
			json_array_extend(out, result);
			json_decref(result);
		} else {
			json_array_append_new(out, result);
		}
	}
	return out;
}

/* Evaluates the tokens of path from pos (a "/" or the end) against node. */
static json_t *
resultref_walk(const json_t *node, const char *path, const char *pos,
    char **error_r)
{
	while (*pos != '\0') {
		const char *token = pos + 1;
		size_t len = strcspn(token, "/");

		if (json_is_array(node) && len == 1 && token[0] == '*')
			return resultref_walk_items(node, path, token + len, error_r);
		node = resultref_step(node, path, pos, len, error_r);
		if (node == NULL)
			return NULL;
		pos = token + len;
	}
	return json_deep_copy(node);
}

json_t *
jmap_resultref_evaluate(const json_t *value, const char *path, char **error_r)
{
	if (path[0] != '\0' && path[0] != '/') {
		*error_r = xstrdup("a JSON Pointer must be empty or start with \"/\"");
		return NULL;
	}
	return resultref_walk(value, path, path, error_r);
}

/* Returns the arguments (borrowed) of the first response that has both the
 * method call id and the name, or NULL. *call_seen_r tells whether any
 * response had the call id. RFC 8620 3.7 takes the first response with the
 * call id and fails if its name differs. The name takes part in the search
 * here because one call may produce several responses (RFC 8620 5.4,
 * Foo/copy with an implicit Foo/set). For calls with one response both
 * rules agree. */
static json_t *
resultref_find_response(json_t *responses, const char *call_id,
    const char *name, bool *call_seen_r)
{
	*call_seen_r = false;
	for (size_t i = 0; i < json_array_size(responses); i++) {
		json_t *response = json_array_get(responses, i);
		const char *response_name = json_string_value(json_array_get(response, 0));
		const char *response_id = json_string_value(json_array_get(response, 2));

		if (response_id == NULL || strcmp(response_id, call_id) != 0)
			continue;
		*call_seen_r = true;
		if (response_name != NULL && strcmp(response_name, name) == 0)
			return json_array_get(response, 1);
	}
	return NULL;
}

/* Returns a new copy of the value that the argument key ("#name") refers
 * to, or NULL with *error_r set to an invalidResultReference error. */
static json_t *
resultref_resolve_one(const char *key, json_t *ref, json_t *responses,
    json_t **error_r)
{
	const char *result_of = json_string_value(json_object_get(ref, "resultOf"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *path = json_string_value(json_object_get(ref, "path"));
	json_t *target_args, *value;
	bool call_seen;
	char *reason;

	if (!json_is_object(ref) || result_of == NULL || name == NULL || path == NULL) {
		*error_r = jmap_error("invalidResultReference",
		    "argument \"%s\" must be a ResultReference object with the string members resultOf, name and path",
		    key);
		return NULL;
	}

	target_args = resultref_find_response(responses, result_of, name, &call_seen);
	if (target_args == NULL && !call_seen) {
		*error_r = jmap_error("invalidResultReference",
		    "argument \"%s\" refers to method call \"%s\", but no earlier method call has that id",
		    key, result_of);
		return NULL;
	}
	if (target_args == NULL) {
		*error_r = jmap_error("invalidResultReference",
		    "argument \"%s\" refers to a %s response of method call \"%s\", but that call returned no %s response",
		    key, name, result_of, name);
		return NULL;
	}

	value = jmap_resultref_evaluate(target_args, path, &reason);
	if (value == NULL) {
		*error_r = jmap_error("invalidResultReference",
		    "argument \"%s\": path \"%s\" in the %s response of method call \"%s\" does not resolve: %s",
		    key, path, name, result_of, reason);
		free(reason);
	}
	return value;
}

json_t *
jmap_resultref_resolve(json_t *args, json_t *responses, json_t **error_r)
{
	json_t *resolved = json_object();
	const char *key;
	json_t *value;

	json_object_foreach(args, key, value) {
		json_t *target;

		if (key[0] != '#') {
			json_object_set(resolved, key, value);
			continue;
		}
		if (json_object_get(args, key + 1) != NULL) {
			*error_r = jmap_error("invalidArguments",
			    "arguments \"%s\" and \"%s\" are both present; send only one of them",
			    key + 1, key);
			goto fail;
		}
		target = resultref_resolve_one(key, value, responses, error_r);
		if (target == NULL)
			goto fail;
		json_object_set_new(resolved, key + 1, target);
	}
	return resolved;

fail:
	json_decref(resolved);
	return NULL;
}
