/* Writing header fields (RFC 5322, RFC 2047, RFC 2231): every function
 * appends one complete field "Name: value\r\n", folded to lines of at most 78
 * characters where white space allows and never more than 998, with non-ASCII
 * text as RFC 2047 encoded-words. Values are UTF-8. Functions that can fail
 * return 0, or -1 with *error_r an allocated message naming the value and
 * leave out unchanged. */
#ifndef SMIMEGW_MIME_HEADER_H
#define SMIMEGW_MIME_HEADER_H

#include <stddef.h>
#include <time.h>

#include "mime/address.h"
#include "util/strbuf.h"

/* Returns 0 when name is a valid field name (printable US-ASCII except ":"),
 * else -1 with *error_r allocated. */
int mime_header_check_name(const char *name, char **error_r);

/* Unstructured text such as Subject. Rejects CR, LF and NUL and invalid
 * UTF-8. */
int mime_header_append_text(struct strbuf *out, const char *name,
    const char *value, char **error_r);

/* A mailbox list such as From or To: display names quoted or encoded as
 * needed, addresses never encoded. Rejects invalid addresses and names with
 * CR, LF or NUL. */
int mime_header_append_addresses(struct strbuf *out, const char *name,
    const struct mime_address *addrs, size_t count, char **error_r);

/* A list of msg-ids given without angle brackets (Message-ID, In-Reply-To,
 * References); each must be "id-left@id-right" without white space, "<" or
 * ">". */
int mime_header_append_msgids(struct strbuf *out, const char *name,
    const char *const *ids, size_t count, char **error_r);

/* An RFC 5322 date-time for t shown at the given offset from UTC in minutes. */
void mime_header_append_date(struct strbuf *out, const char *name, time_t t,
    int utc_offset_minutes);

/* A value that is already in RFC 5322 syntax (for header:NAME:asRaw). It may
 * contain folding (CRLF followed by white space) but no other CR or LF, no
 * NUL and no 8-bit bytes unless they are valid UTF-8. It is written as given
 * after "Name:". */
int mime_header_append_raw(struct strbuf *out, const char *name,
    const char *value, char **error_r);

/* Generates a new Message-ID value (without angle brackets) using random
 * bytes and the given domain. The caller frees it. */
char *mime_header_new_msgid(const char *domain);

#endif
