/* What directory.c shares with directory_lookup.c: the directory object,
 * its connection pool and the search helpers. Not for other modules. */
#ifndef SMIMEGW_DIRECTORY_INTERNAL_H
#define SMIMEGW_DIRECTORY_INTERNAL_H

#include <pthread.h>

#include "certs/directory.h"
#include "certs/revcache.h"

/* Idle connections kept per directory. Threads that need more at the same
 * time open more, which are closed when returned to a full pool. */
#define DIRECTORY_POOL_SIZE 4

/* One equality assertion of the filter template that holds the address,
 * "(attr=prefix%ssuffix)": it tells which requested address an entry of a
 * combined search matched. */
struct directory_assertion {
	char *attr;
	char *prefix;
	char *suffix;
};

struct directory {
	struct directory_config cfg;
	char **domains_ascii;	/* cfg.domains in lookup form (A-labels) */
	struct directory_assertion *assertions;
	size_t assertion_count;
	/* NULL-terminated, for ldap_search_ext_s: the certificate attributes
	 * and the attributes of the assertions. */
	char **search_attrs;
	/* Lookup results per address (lookup form) and CA certificates per
	 * issuer name; values are struct directory_cached. */
	struct revcache *cache;
	struct revcache *ca_cache;
	pthread_mutex_t lock;
	LDAP *idle[DIRECTORY_POOL_SIZE];
	size_t idle_count;
};

/* One finished search: the connection it ran on (returned to the pool by
 * directory_search_end) and its result. */
struct directory_search {
	LDAP *ld;
	LDAPMessage *res;
	int rc;
};

/* Runs a search under base with scope. A pooled connection that the server
 * has closed is replaced and the search repeated once. Returns 0 with *s
 * filled (even when the search failed: s->rc), or -1 with *error_r when no
 * connection could be opened. The caller ends it with directory_search_end. */
int directory_search_run(struct directory *dir, const char *base, int scope,
    const char *filter, char **attrs, int size_limit, struct directory_search *s,
    char **error_r);

void directory_search_end(struct directory *dir, struct directory_search *s);

/* Returns an allocated message for a failed search, naming the directory
 * and the URI of the connection. */
char *directory_search_error(const struct directory *dir, const struct directory_search *s,
    const char *what);

/* Returns the number of messages of type (LDAP_RES_SEARCH_ENTRY...) in res. */
int directory_count_type(LDAP *ld, LDAPMessage *res, int type);

/* Returns the first commonName of name as allocated UTF-8, or NULL. */
char *directory_common_name(const X509_NAME *name);

/* A lookup result in the cache: of an address, or the CA certificates of
 * an issuer name (then each candidate's cert is a CA certificate). */
struct directory_cached {
	enum lookup_status status;
	struct cert_candidates candidates;
	size_t skipped;
};

/* Deep copies (dup) and frees (release) struct directory_cached values. */
extern const struct revcache_value_ops directory_cached_ops;
void *directory_cached_dup(void *value);
void directory_cached_release(void *value);

/* Fills dst with deep copies of the candidates of src. */
void directory_candidates_copy(struct cert_candidates *dst,
    const struct cert_candidates *src);

/* Parses the filter template into dir->assertions and fills
 * dir->search_attrs. */
void directory_lookup_init(struct directory *dir);

/* Frees what directory_lookup_init made. */
void directory_lookup_clear(struct directory *dir);

#endif
