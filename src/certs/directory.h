/* LDAP directories that hold users' certificates: lookup of the entries for
 * an address, and of a user's entry for authentication. */
#ifndef SMIMEGW_DIRECTORY_H
#define SMIMEGW_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "util/ldapconn.h"

struct directory_config {
	char *name;		/* for messages and logs */
	struct ldapconn_config conn;
	char *base;
	int scope;		/* LDAP_SCOPE_BASE, _ONELEVEL or _SUBTREE; LDAP_SCOPE_DEFAULT (-1): subtree */
	char *filter;		/* template, "%s" is the escaped address; NULL: "(mail=%s)" */
	/* Attributes holding certificates; 0: userSMIMECertificate;binary,
	 * userSMIMECertificate, userCertificate;binary. */
	char **attributes;
	size_t attribute_count;
	int size_limit;		/* entries per search; 0: no client limit */
	char **domains;		/* mail domains served; 0: all domains */
	size_t domain_count;
	/* The search for issuers' CRLs (certificateRevocationList;binary of CA
	 * entries): under ca_base (NULL: CA entries are not searched) with
	 * ca_filter, in which "%s" is the issuer's commonName (NULL:
	 * "(&(objectClass=pkiCA)(cn=%s))"). */
	char *ca_base;
	char *ca_filter;
};

/* Frees every field of c, wiping the bind password first, and zeroes c.
 * Used for the copies that directory_new makes and for the ones that the
 * configuration loader fills. */
void directory_config_clear(struct directory_config *c);

/* A directory with a small mutex-protected pool of bound connections, so
 * threads may share one. A pooled connection that the server closed is
 * replaced once per operation. */
struct directory;

/* Returns a new directory with a deep copy of cfg. No connection is made
 * until the first operation. */
struct directory *directory_new(const struct directory_config *cfg);

/* Closes the pooled connections and frees dir. No operation may be running. */
void directory_free(struct directory *dir);

const char *directory_name(const struct directory *dir);

/* Returns true when dir serves the domain of email (the part after the last
 * '@', compared ignoring case), or serves all domains. */
bool directory_serves(const struct directory *dir, const char *email);

/* A certificate found in a directory entry. Every field is owned. */
struct cert_candidate {
	X509 *cert;
	/* The entry's other certificates: possible intermediates.
	 * NOTE: CA entries elsewhere in the directory are not searched, so
	 * intermediates that only they contain must be in the configured
	 * bundle. */
	STACK_OF(X509) *extra;
	char *directory;	/* directory name */
	char *dn;		/* entry DN */
	char *attribute;	/* attribute description as returned */
};

struct cert_candidates {
	struct cert_candidate *items;
	size_t count;
};

/* Frees every candidate's fields and the array; c is left empty. */
void cert_candidate_clear(struct cert_candidate *c);
void cert_candidates_clear(struct cert_candidates *c);

enum lookup_status { LOOKUP_FOUND, LOOKUP_NOT_FOUND, LOOKUP_UNAVAILABLE };

/* Searches for the entries matching the filter with email substituted and
 * appends to out a candidate for every certificate in their certificate
 * attributes, each certificate once. Certificates with basicConstraints
 * cA=TRUE are not candidates but are in the extra stacks. Values that fail
 * to parse are skipped with a debug log.
 * Returns:
 * - LOOKUP_FOUND when at least one candidate was appended;
 * - LOOKUP_NOT_FOUND when no entry or no certificate matched;
 * - LOOKUP_UNAVAILABLE with *error_r, naming the directory, the URI and the
 *   reason, when no server could be reached or the search timed out or
 *   ended with sizeLimitExceeded, a referral, another error, or only search
 *   references.
 * The caller clears out, whatever the result. */
enum lookup_status directory_lookup(struct directory *dir, const char *email,
    struct cert_candidates *out, char **error_r);

/* Returns true when ca_base is configured, so that directory_find_crl may
 * be used. */
bool directory_has_cas(const struct directory *dir);

/* Finds the CRL of issuer in the CA entries: searches ca_base (subtree)
 * with ca_filter and takes the first value of certificateRevocationList
 * (with or without ;binary) that is a DER CRL whose issuer is issuer's
 * subject. Returns LOOKUP_FOUND with *der_r (allocated) and *len_r;
 * LOOKUP_NOT_FOUND or LOOKUP_UNAVAILABLE with *error_r, which names the
 * directory and, when unavailable, the URI and the reason. A value larger
 * than max_size bytes is skipped. The CRL's signature is not checked. */
enum lookup_status directory_find_crl(struct directory *dir, X509 *issuer,
    size_t max_size, unsigned char **der_r, size_t *len_r, char **error_r);

/* Finds the single entry matching filter_template with login substituted
 * (escaped), for authentication. Returns 1 with *dn_r and *mails_r (the
 * entry's mail values, an allocated array of allocated strings, possibly
 * empty) owned by the caller; 0 when no entry or more than one matched; -1
 * with *error_r when the directory is unavailable. */
int directory_find_user(struct directory *dir, const char *filter_template,
    const char *login, char **dn_r, char ***mails_r, size_t *mail_count_r,
    char **error_r);

/* Returns the connection settings, e.g. for ldapconn_check_password. */
const struct ldapconn_config *directory_conn_config(const struct directory *dir);

#endif
