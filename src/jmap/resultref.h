/* Result references (RFC 8620 3.7): an argument "#name" whose value is
 * {"resultOf": callId, "name": methodName, "path": pointer} takes its value
 * from the response of an earlier method call in the same request. */
#ifndef SMIMEGW_JMAP_RESULTREF_H
#define SMIMEGW_JMAP_RESULTREF_H

#include <jansson.h>

/* Evaluates path against value without modifying value. path is a JSON
 * Pointer (RFC 6901, with the "~0" and "~1" escapes) extended as RFC 8620 3.7
 * describes. The token "*" applied to an array applies the rest of the
 * pointer to every item and returns the results in a new array. A result
 * that is itself an array contributes its items, not the array. On an
 * object, "*" is an ordinary member name.
 * Returns a new value that shares nothing with value, or NULL with *error_r
 * set to an allocated message naming the token that failed and why. */
json_t *jmap_resultref_evaluate(const json_t *value, const char *path,
    char **error_r);

/* Resolves the result references among the arguments of one method call.
 * responses is the methodResponses array built so far, each item
 * [name, arguments, callId]. Neither args nor responses is modified.
 * Returns a new arguments object in which each "#name" member is replaced by
 * a "name" member holding a copy of the referenced value, and the other
 * members are shared with args. On failure returns NULL with *error_r set to
 * a new method error object: invalidArguments when args has both "name" and
 * "#name", invalidResultReference when a reference is malformed or does not
 * resolve. */
json_t *jmap_resultref_resolve(json_t *args, json_t *responses, json_t **error_r);

#endif
