/* Email addresses (RFC 5322 addr-spec) and mailbox lists. */
#ifndef SMIMEGW_MIME_ADDRESS_H
#define SMIMEGW_MIME_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

struct mime_address {
	char *name;	/* UTF-8 display name, NULL when absent */
	char *email;	/* addr-spec "local@domain" */
};

/* Returns true when email is a valid RFC 5322 addr-spec without comments or
 * folding white space: a dot-atom or quoted-string local part, "@", and a
 * dot-atom or domain-literal domain. UTF-8 (RFC 6532) is accepted in both
 * parts; control characters, CR, LF and NUL never are. Spaces and tabs are
 * accepted only inside a quoted local part. The RFC 5321 limits apply: at
 * most 64 octets of local part and 254 in all. */
bool mime_address_is_valid(const char *email);

/* Like mime_address_is_valid, but returns 0, or -1 with *error_r an
 * allocated message such as: invalid email address "a@@b": invalid
 * character "@" in domain. A NULL email is reported as missing. */
int mime_address_check(const char *email, char **error_r);

/* Parses an RFC 5322 address-list (mailboxes and groups; groups are
 * flattened into their members) from header field text, decoding RFC 2047
 * encoded-words in display names. On success *list_r is an allocated array of
 * *count_r entries, freed with mime_address_list_free. Returns 0, or -1 with
 * *error_r an allocated message naming the offending text. */
int mime_address_list_parse(const char *text, struct mime_address **list_r,
    size_t *count_r, char **error_r);

void mime_address_list_free(struct mime_address *list, size_t count);

/* Compares two addr-specs: domains case-insensitively, local parts
 * case-insensitively when ignore_local_case is set, exactly otherwise. */
bool mime_address_equal(const char *a, const char *b, bool ignore_local_case);

#endif
