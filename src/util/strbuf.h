/* Growable byte buffer, always NUL-terminated so that text can be used as a
 * C string; binary content may contain NUL bytes and is measured by len. */
#ifndef SMIMEGW_STRBUF_H
#define SMIMEGW_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data;	/* NULL until the first append */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

/* Makes room for extra more octets, so that appending them does not move
 * the data again. */
void strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_appends(struct strbuf *sb, const char *s);
void strbuf_appendc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Returns the data (never NULL, "" when empty); the caller owns it and the
 * buffer is left empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len_r);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* Returns a C string view of the contents ("" when empty). */
const char *strbuf_str(const struct strbuf *sb);

#endif
