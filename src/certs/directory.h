/* LDAP directories that hold users' certificates: lookup of the entries for
 * an address, and of a user's entry for authentication. */
#ifndef SMIMEGW_DIRECTORY_H
#define SMIMEGW_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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
	int batch_size;		/* addresses per combined search; <= 0: 200 */
	/* Seconds a found and a not-found result of an address is reused
	 * without asking the directory; 0: not reused. */
	int cache_ttl;
	int negative_cache_ttl;
	size_t cache_size;	/* addresses kept in the cache; 0: 10000 */
	/* false: local parts that differ only in ASCII case are the same
	 * mailbox for lookups (domains always are). */
	bool case_sensitive_local_part;
};

#define DIRECTORY_DEFAULT_BATCH_SIZE 200
/* Entries one search may return by default: a full batch with one entry per
 * address fits, and so does slapd's own default limit of 500. */
#define DIRECTORY_DEFAULT_SIZE_LIMIT 500
#define DIRECTORY_DEFAULT_CACHE_SIZE 10000

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
 * '@', compared in lower-case A-labels, so "BÜCHER.example" is
 * "xn--bcher-kva.example"), or serves all domains. */
bool directory_serves(const struct directory *dir, const char *email);

/* A certificate found in a directory entry. Every field is owned. */
struct cert_candidate {
	X509 *cert;
	/* The entry's other certificates: possible intermediates. The
	 * resolver adds those of CA entries (directory_find_issuers). */
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

/* The outcome of one address of directory_lookup_many. */
struct directory_result {
	enum lookup_status status;
	struct cert_candidates candidates;
	/* Allocated: why the address is unavailable, or for LOOKUP_NOT_FOUND
	 * an optional note (such as an invalid domain); NULL otherwise. */
	char *error;
	/* Certificates left out because several entries matched the address
	 * and they were issued to other addresses. */
	size_t skipped;
};

void directory_result_clear(struct directory_result *r);

/* Looks up count addresses with as few searches as possible and fills
 * results[i] for emails[i]. Addresses with the same lookup form (see
 * mailaddr_normalize) are looked up once. Results cached for the
 * directory's TTLs are reused; the others are searched in chunks of
 * batch_size addresses, each chunk one search whose filter is the OR of the
 * filter template with each address substituted after RFC 4515 escaping
 * (and the address with its domain in U-labels too, when it has A-labels).
 * Threads that need the same address at the same time share one search.
 * Each returned entry is given to the addresses whose value of an
 * attribute of the template's equality assertions matches; when the
 * template has none or the entry lacks their values, to the only address
 * of the search, or else to the addresses its certificates name. When
 * several entries match one address, only their certificates that name it
 * are candidates. Per address, like directory_lookup:
 * - LOOKUP_FOUND with at least one candidate, each certificate once;
 *   certificates with basicConstraints cA=TRUE are in the extra stacks;
 * - LOOKUP_NOT_FOUND when no entry or no certificate matched;
 * - LOOKUP_UNAVAILABLE with error, naming the directory, the URI and the
 *   reason, when no server could be reached, the search failed or timed
 *   out, more entries than size_limit matched (a search of several
 *   addresses is split first), the server returned a referral, or it
 *   returned only search references for the address.
 * Values that fail to parse are skipped with a debug log. Logs one debug
 * line per search and one per call with the number of searches. The
 * caller clears every result. */
void directory_lookup_many(struct directory *dir, char *const *emails, size_t count,
    time_t now, struct directory_result *results);

/* Looks up one address like directory_lookup_many, at the current time.
 * Appends the candidates to out; sets *error_r for LOOKUP_UNAVAILABLE. The
 * caller clears out, whatever the result. */
enum lookup_status directory_lookup(struct directory *dir, const char *email,
    struct cert_candidates *out, char **error_r);

/* Finds the CA certificates above cert in the CA entries under ca_base:
 * the entry found with ca_filter and the commonName of cert's issuer, its
 * cACertificate values (with or without ;binary) whose subject is that
 * issuer, and so on up to four levels or a self-issued certificate.
 * Appends them, up-ref'd, to out. Results are cached for cache_ttl (found)
 * and negative_cache_ttl (not found) seconds. Returns LOOKUP_FOUND when at
 * least one was appended, LOOKUP_NOT_FOUND (also without ca_base), or
 * LOOKUP_UNAVAILABLE with *error_r. */
enum lookup_status directory_find_issuers(struct directory *dir, X509 *cert, time_t now,
    STACK_OF(X509) *out, char **error_r);

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
