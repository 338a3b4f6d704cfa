/* Mail addresses in the form used to look them up and compare them:
 * domains in lower-case A-labels (IDNA2008 with the UTS #46 mapping), local
 * parts optionally folded to lower case. */
#ifndef SMIMEGW_MAILADDR_H
#define SMIMEGW_MAILADDR_H

#include <stdbool.h>

/* Converts a domain to lower-case A-labels: an ASCII domain is only
 * lower-cased, one with non-ASCII labels goes through libidn2 (NFC, UTS #46
 * non-transitional mapping, Punycode of RFC 3492). Returns an allocated
 * string, or NULL with *error_r (allocated, naming the domain) when the
 * domain is empty or not a valid internationalised domain name. */
char *mailaddr_domain_ascii(const char *domain, char **error_r);

/* Returns the lookup form of email, allocated: the local part (its ASCII
 * letters lower-cased when fold_local), '@' and the domain in the form of
 * mailaddr_domain_ascii. The address is split at its last '@'. Returns NULL
 * with *error_r when there is no '@', the local part is empty or the domain
 * is invalid. Two addresses are the same mailbox for lookups when their
 * lookup forms are equal bytes. */
char *mailaddr_normalize(const char *email, bool fold_local, char **error_r);

/* Returns email (in lookup form) with its domain converted back to
 * U-labels, allocated, when the domain has an A-label ("xn--"); NULL when
 * it has none or cannot be converted. Directories that store non-ASCII
 * mail values (such as Active Directory) hold this form. */
char *mailaddr_unicode_form(const char *email);

#endif
