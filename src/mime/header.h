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
 * UTF-8. Leading and trailing white space is dropped. Words that are not
 * printable ASCII, look like encoded-words or do not fit on a line alone are
 * written as encoded-words, so that every line has at most 78 characters. */
int mime_header_append_text(struct strbuf *out, const char *name,
    const char *value, char **error_r);

/* A mailbox list such as From or To: display names quoted or encoded as
 * needed, addresses never encoded. Rejects invalid addresses, names with
 * CR, LF or NUL or invalid UTF-8, and an empty list. A NULL or empty name
 * writes the bare address. */
int mime_header_append_addresses(struct strbuf *out, const char *name,
    const struct mime_address *addrs, size_t count, char **error_r);

/* A group of mailboxes in an address list (RFC 5322 section 3.4). */
struct mime_address_group {
	char *name;	/* UTF-8 display name of the group; NULL for
			 * mailboxes that are not in a group */
	struct mime_address *addrs;
	size_t count;
};

/* An address list with groups, such as
 * "To: Team: a@example.com, b@example.com;, c@example.com". Items with a
 * NULL group name are written as plain mailboxes; a named group may be
 * empty ("undisclosed-recipients:;"). Group names are quoted or encoded
 * like display names. Rejects what mime_header_append_addresses rejects,
 * an empty group name and a list without any mailbox or group. */
int mime_header_append_groups(struct strbuf *out, const char *name,
    const struct mime_address_group *groups, size_t count, char **error_r);

/* A list of URLs in angle brackets separated by commas, as the List-*
 * fields of RFC 2369 carry them. Each URL must have a scheme and be
 * printable US-ASCII without white space, "<" or ">". Rejects an empty
 * list. */
int mime_header_append_urls(struct strbuf *out, const char *name,
    const char *const *urls, size_t count, char **error_r);

/* A list of msg-ids given without angle brackets (Message-ID, In-Reply-To,
 * References); each must be "id-left@id-right" without white space, "<" or
 * ">". Both sides may have atext and dots, and id-right may instead be a
 * "[...]" literal. Rejects an empty list. */
int mime_header_append_msgids(struct strbuf *out, const char *name,
    const char *const *ids, size_t count, char **error_r);

/* An RFC 5322 date-time for t shown at the given offset from UTC in
 * minutes. An offset outside -99:59 to +99:59 is written as +0000 with t in
 * UTC. name must be a valid field name. */
void mime_header_append_date(struct strbuf *out, const char *name, time_t t,
    int utc_offset_minutes);

/* A value that is already in RFC 5322 syntax (for header:NAME:asRaw). It may
 * contain folding (CRLF followed by white space) but no other CR or LF, no
 * NUL, no other control character except tab, no line of only white space
 * and no 8-bit bytes unless they are valid UTF-8. It is written as given
 * after "Name:", except that white space at the end of each line is dropped
 * so that no line ends in white space. Lines over 998 octets are rejected. */
int mime_header_append_raw(struct strbuf *out, const char *name,
    const char *value, char **error_r);

/* Generates a new Message-ID value (without angle brackets): 32 random hex
 * digits, "@" and domain, or "smimegw.invalid" when domain is NULL or not
 * valid there. The caller frees it. */
char *mime_header_new_msgid(const char *domain);

#endif
