/* RFC 2047 encoded-words: writing UTF-8 text as encoded-words into a folded
 * header field, and decoding the encoded-words found in header text. */
#ifndef SMIMEGW_MIME_ENCWORD_H
#define SMIMEGW_MIME_ENCWORD_H

#include <stddef.h>

#include "mime/fold.h"
#include "util/strbuf.h"

/* Length of "=?utf-8?B?" plus "?=", and the maximum length of one
 * encoded-word (RFC 2047 section 2). */
#define MIME_ENCWORD_OVERHEAD 12
#define MIME_ENCWORD_MAX 75

/* Appends len (> 0) bytes of valid UTF-8 text as encoded-words in charset
 * utf-8, using Q encoding when it is not longer than B for the whole text.
 * Each encoded-word has at most 75 characters and ends on a character
 * boundary. sep is the white space written before the first one. They are
 * separated by one space, where the field may fold, and a decoder drops that
 * space. prefix is glued before the first encoded-word and suffix after the
 * last (for a quoted parameter value); both may be "". */
void mime_encword_append(struct mime_fold *fold, const char *sep,
    size_t sep_len, const char *text, size_t len, const char *prefix,
    const char *suffix);

/* Returns the length of the encoded-word "=?charset?B-or-Q?text?=" at the
 * start of s (len bytes), or 0 when there is none. */
size_t mime_encword_scan(const char *s, size_t len);

/* Appends text to out as UTF-8 with its encoded-words decoded (B and Q,
 * charsets utf-8, us-ascii, iso-8859-1 and whatever iconv converts). White
 * space between two adjacent encoded-words is dropped. Adjacent encoded-words
 * in the same charset are joined before conversion, so a character split
 * between them survives. Encoded-words with an unknown charset or broken
 * encoding are kept as they are, and bytes that are invalid in their charset
 * become U+FFFD. Decoded control characters, NUL included, are passed on, so
 * callers that need a C string must replace them. */
void mime_encword_decode(const char *text, size_t len, struct strbuf *out);

#endif
