/* Retrieval of revocation data by URL: http:// with OpenSSL's HTTP client
 * and ldap:// or ldaps:// (RFC 4516) with libldap, each bounded in time
 * and size. */
#ifndef SMIMEGW_URLFETCH_H
#define SMIMEGW_URLFETCH_H

#include <stddef.h>

struct urlfetch_limits {
	int timeout_seconds;	/* for the whole exchange; <= 0: 10 seconds */
	size_t max_size;	/* of the body or attribute value, in bytes */
};

/* Fetches url.
 * NOTE: HTTP servers are connected directly: proxies (and the http_proxy
 * environment variable) are not supported, and redirects not followed.
 * - http://: the body of a GET, which must be one DER
 *   object (RFC 5280 4.2.1.13 and RFC 6960 A.1 require DER) of the
 *   content type expected_type when that is not NULL.
 * - ldap:// and ldaps://: the first value of the URL's first attribute in
 *   the first entry found at the URL's DN, with the URL's scope (default
 *   base) and filter (default (objectClass=*)), after an anonymous bind.
 *   The attribute is compared without options, so certificateRevocationList
 *   also matches certificateRevocationList;binary.
 * Returns 0 with *data_r (allocated) and *len_r, or -1 with *error_r
 * giving the reason (timeout, refused connection, HTTP status, value too
 * large, no such entry or attribute...) but not the URL, which the caller
 * names. */
int urlfetch_get(const char *url, const struct urlfetch_limits *limits,
    const char *expected_type, unsigned char **data_r, size_t *len_r,
    char **error_r);

/* POSTs body_len bytes of body with content_type to the http:// url and
 * returns the response body as urlfetch_get does. */
int urlfetch_post(const char *url, const struct urlfetch_limits *limits,
    const char *content_type, const unsigned char *body, size_t body_len,
    const char *expected_type, unsigned char **data_r, size_t *len_r,
    char **error_r);

#endif
