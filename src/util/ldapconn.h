/* LDAP connections for the certificate directories and for password checks:
 * failover over several URIs, StartTLS or ldaps://, anonymous, simple or
 * SASL EXTERNAL binds, and RFC 4515 filter escaping. */
#ifndef SMIMEGW_LDAPCONN_H
#define SMIMEGW_LDAPCONN_H

#include <stdbool.h>
#include <stddef.h>

#include <ldap.h>

struct ldapconn_config {
	char **uris;		/* tried in order on connection failure */
	size_t uri_count;
	bool starttls;		/* ldaps:// in a URI implies TLS without StartTLS */
	char *ca_file;		/* CA certificates for the server; NULL: system default */
	/* Client certificate and key (PEM) for TLS; SASL EXTERNAL over TLS
	 * needs them. NULL: no client certificate. */
	char *tls_cert_file;
	char *tls_key_file;
	enum {
		LDAPCONN_BIND_ANONYMOUS,
		LDAPCONN_BIND_SIMPLE,
		LDAPCONN_BIND_SASL_EXTERNAL,
	} bind_method;
	char *bind_dn;		/* simple bind only */
	char *bind_password;	/* simple bind; never logged */
	int timeout_seconds;	/* network and operation timeout; <= 0: 10 seconds */
};

/* The timeout used when timeout_seconds is not positive. */
#define LDAPCONN_DEFAULT_TIMEOUT 10

/* Opens a connection to the first URI that accepts a connection (and TLS,
 * when configured) and binds as configured. Returns 0 with *ld_r owned by
 * the caller (ldap_unbind_ext_s), or -1 with *error_r naming every URI tried
 * and its LDAP error. */
int ldapconn_open(const struct ldapconn_config *cfg, LDAP **ld_r, char **error_r);

/* Checks a password by a simple bind as dn on a fresh connection that is
 * closed afterwards. Returns:
 * - 1 when the bind succeeds;
 * - 0 on invalidCredentials or another rejection of the bind (logged as a
 *   warning), and always for an empty password or DN, without connecting,
 *   because an empty password makes an unauthenticated bind (RFC 4513
 *   5.1.2) that some servers accept as success;
 * - -1 with *error_r when no server could be used.
 * Another URI is tried only when a server cannot be used, never after a
 * rejection. */
int ldapconn_check_password(const struct ldapconn_config *cfg, const char *dn,
    const char *password, char **error_r);

/* Escapes len bytes of value for an assertion value in a search filter
 * (RFC 4515 3): '*', '(', ')', '\' and NUL become \2a, \28, \29, \5c and \00;
 * every other byte, UTF-8 included, is kept. Returns an allocated string. */
char *ldapconn_filter_escape(const char *value, size_t len);

/* Builds a filter from template by replacing every "%s" with the escaped
 * value; "%%" is a literal '%', and any other '%' is copied unchanged.
 * Returns an allocated string. */
char *ldapconn_filter_build(const char *template, const char *value);

#endif
