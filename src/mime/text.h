/* UTF-8 and character-class helpers shared by the mime/ writers and parsers,
 * and the quoting of offending values in error messages. */
#ifndef SMIMEGW_MIME_TEXT_H
#define SMIMEGW_MIME_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Returns the length (1 to 4) of the UTF-8 sequence at s, which has len
 * bytes left, or 0 when it is not valid UTF-8: truncated, overlong, a
 * surrogate or above U+10FFFF. */
size_t mime_text_utf8_len(const unsigned char *s, size_t len);

/* Returns true when all len bytes of s are valid UTF-8. */
bool mime_text_is_utf8(const char *s, size_t len);

/* Appends code point cp (at most U+10FFFF, not a surrogate) as UTF-8. */
void mime_text_append_utf8(struct strbuf *out, uint32_t cp);

/* RFC 5322 atext, plus every byte of a UTF-8 sequence (RFC 6532). */
bool mime_text_is_atext(unsigned char c);

/* RFC 2045 token character: printable US-ASCII except tspecials. */
bool mime_text_is_token_char(unsigned char c);

/* Returns true when s is a non-empty RFC 2045 token. */
bool mime_text_is_token(const char *s);

/* Returns an allocated message "<label> "<value>": <reason>". The value is
 * cut to 64 bytes on a character boundary and its control characters are
 * escaped, so that the message stays on one log line. */
char *mime_text_error(const char *label, const char *value, const char *reason);

#endif
