/* Allocation wrappers that abort the process when memory runs out, so callers
 * never handle a NULL from an allocation. */
#ifndef SMIMEGW_XMALLOC_H
#define SMIMEGW_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray checks count * size for overflow before resizing. */
void *xreallocarray(void *ptr, size_t count, size_t size);
/* Both return a NUL-terminated copy; xstrdup(NULL) returns NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
/* Returns a newly allocated string formatted like printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
