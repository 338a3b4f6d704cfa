/* CA entries of a directory: issuers' CRLs (certificateRevocationList) and
 * the CA certificates (cACertificate) above a certificate. */
#include "certs/directory.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs/certvalue.h"
#include "certs/directory_internal.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* CA certificates fetched above a certificate at most. */
#define DIRECTORY_ISSUER_DEPTH 4

/* Returns true when value is a DER CRL issued by the subject of issuer. */
static bool
directory_crl_of(const struct berval *value, X509 *issuer)
{
	const unsigned char *p = (const unsigned char *)value->bv_val;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)value->bv_len);
	bool match = crl != NULL &&
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0;

	X509_CRL_free(crl);
	ERR_clear_error();
	return match;
}

/* Copies the first CRL of issuer among the CRL values of entry. */
static bool
directory_take_crl(LDAP *ld, LDAPMessage *entry, X509 *issuer, size_t max_size,
    unsigned char **der_r, size_t *len_r)
{
	BerElement *ber = NULL;
	bool found = false;

	for (char *attr = ldap_first_attribute(ld, entry, &ber); attr != NULL && !found;
	    attr = ldap_next_attribute(ld, entry, ber)) {
		struct berval **vals = NULL;

		if (strncasecmp(attr, "certificateRevocationList", 25) == 0 &&
		    (attr[25] == '\0' || attr[25] == ';'))
			vals = ldap_get_values_len(ld, entry, attr);
		for (int i = 0; vals != NULL && vals[i] != NULL && !found; i++) {
			if (vals[i]->bv_len > max_size || !directory_crl_of(vals[i], issuer))
				continue;
			*der_r = xmalloc(vals[i]->bv_len);
			memcpy(*der_r, vals[i]->bv_val, vals[i]->bv_len);
			*len_r = vals[i]->bv_len;
			found = true;
		}
		ldap_value_free_len(vals);
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	return found;
}

bool
directory_has_cas(const struct directory *dir)
{
	return dir->cfg.ca_base != NULL;
}

enum lookup_status
directory_find_crl(struct directory *dir, X509 *issuer, size_t max_size,
    unsigned char **der_r, size_t *len_r, char **error_r)
{
	char *attrs[] = { "certificateRevocationList;binary", "certificateRevocationList",
	    NULL };
	char *cn = directory_common_name(X509_get_subject_name(issuer));
	struct directory_search s = { NULL, NULL, 0 };
	enum lookup_status status = LOOKUP_NOT_FOUND;
	char *filter;

	if (dir->cfg.ca_base == NULL || cn == NULL) {
		*error_r = cn == NULL ? xasprintf("directory %s: the issuer has no "
		    "commonName to search its CA entry by", dir->cfg.name) :
		    xasprintf("directory %s: caBase is not configured", dir->cfg.name);
		free(cn);
		return LOOKUP_NOT_FOUND;
	}
	filter = ldapconn_filter_build(dir->cfg.ca_filter, cn);
	free(cn);
	if (directory_search_run(dir, dir->cfg.ca_base, LDAP_SCOPE_SUBTREE, filter, attrs,
	    dir->cfg.size_limit, &s, error_r) < 0) {
		free(filter);
		return LOOKUP_UNAVAILABLE;
	}
	if (s.rc != LDAP_SUCCESS && s.rc != LDAP_SIZELIMIT_EXCEEDED) {
		*error_r = directory_search_error(dir, &s, "CA entry search failed");
		status = LOOKUP_UNAVAILABLE;
		goto out;
	}
	for (LDAPMessage *m = ldap_first_entry(s.ld, s.res); m != NULL &&
	    status == LOOKUP_NOT_FOUND; m = ldap_next_entry(s.ld, m)) {
		if (directory_take_crl(s.ld, m, issuer, max_size, der_r, len_r))
			status = LOOKUP_FOUND;
	}
	if (status == LOOKUP_NOT_FOUND)
		*error_r = xasprintf("directory %s: no CA entry under \"%s\" matching %s has "
		    "a CRL of the issuer", dir->cfg.name, dir->cfg.ca_base, filter);
	log_debug("directory CRL lookup directory=%s filter=%s found=%s", dir->cfg.name,
	    filter, status == LOOKUP_FOUND ? "yes" : "no");
out:
	directory_search_end(dir, &s);
	free(filter);
	return status;
}

/* Appends to out the cACertificate values of entry whose subject is
 * issuer, as candidates (cert is the CA certificate), each once. */
static void
directory_take_ca_certs(const struct directory *dir, LDAP *ld, LDAPMessage *entry,
    const X509_NAME *issuer, struct cert_candidates *out)
{
	char *dn = ldap_get_dn(ld, entry);
	BerElement *ber = NULL;

	for (char *attr = ldap_first_attribute(ld, entry, &ber); attr != NULL;
	    attr = ldap_next_attribute(ld, entry, ber)) {
		struct berval **vals = NULL;
		STACK_OF(X509) *certs = sk_X509_new_null();
		char *error = NULL;

		if (certs == NULL)
			abort();
		if (strncasecmp(attr, "cACertificate", 13) == 0 &&
		    (attr[13] == '\0' || attr[13] == ';'))
			vals = ldap_get_values_len(ld, entry, attr);
		for (int v = 0; vals != NULL && vals[v] != NULL; v++) {
			if (certvalue_parse((const unsigned char *)vals[v]->bv_val,
			    vals[v]->bv_len, certs, &error) < 0) {
				free(error);
				error = NULL;
			}
		}
		for (int i = 0; i < sk_X509_num(certs); i++) {
			X509 *ca = sk_X509_value(certs, i);
			struct cert_candidate *c;
			bool seen = false;

			for (size_t k = 0; k < out->count && !seen; k++)
				seen = X509_cmp(out->items[k].cert, ca) == 0;
			if (seen || X509_NAME_cmp(X509_get_subject_name(ca), issuer) != 0)
				continue;
			out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
			c = &out->items[out->count++];
			X509_up_ref(ca);
			c->cert = ca;
			c->extra = sk_X509_new_null();
			if (c->extra == NULL)
				abort();
			c->directory = xstrdup(dir->cfg.name);
			c->dn = xstrdup(dn != NULL ? dn : "");
			c->attribute = xstrdup(attr);
		}
		sk_X509_pop_free(certs, X509_free);
		ldap_value_free_len(vals);
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	ldap_memfree(dn);
}

/* Searches the CA entries for the certificates whose subject is issuer
 * into out->candidates. */
static void
directory_search_issuer(struct directory *dir, const X509_NAME *issuer,
    struct directory_cached *out, char **error_r)
{
	char *attrs[] = { "cACertificate;binary", "cACertificate", NULL };
	char *cn = directory_common_name(issuer);
	struct directory_search s = { NULL, NULL, 0 };
	char *filter;

	out->status = LOOKUP_NOT_FOUND;
	if (cn == NULL)
		return;
	filter = ldapconn_filter_build(dir->cfg.ca_filter, cn);
	free(cn);
	if (directory_search_run(dir, dir->cfg.ca_base, LDAP_SCOPE_SUBTREE, filter, attrs,
	    dir->cfg.size_limit, &s, error_r) < 0) {
		out->status = LOOKUP_UNAVAILABLE;
		free(filter);
		return;
	}
	if (s.rc != LDAP_SUCCESS) {
		*error_r = directory_search_error(dir, &s, "CA entry search failed");
		out->status = LOOKUP_UNAVAILABLE;
		goto out;
	}
	for (LDAPMessage *m = ldap_first_entry(s.ld, s.res); m != NULL;
	    m = ldap_next_entry(s.ld, m))
		directory_take_ca_certs(dir, s.ld, m, issuer, &out->candidates);
	if (out->candidates.count > 0)
		out->status = LOOKUP_FOUND;
	log_debug("directory CA certificate lookup directory=%s filter=%s found=%zu",
	    dir->cfg.name, filter, out->candidates.count);
out:
	directory_search_end(dir, &s);
	free(filter);
}

/* Appends the CA certificates whose subject is issuer, from the cache or
 * the directory, to out. */
static enum lookup_status
directory_issuer_level(struct directory *dir, const X509_NAME *issuer, time_t now,
    STACK_OF(X509) *out, char **error_r)
{
	char *key = X509_NAME_oneline(issuer, NULL, 0);
	struct directory_cached *cached = NULL, fresh = { LOOKUP_NOT_FOUND, { NULL, 0 }, 0 };
	enum lookup_status status;
	char *error = NULL;

	if (key == NULL)
		abort();
	if (revcache_begin(dir->ca_cache, key, now, (void **)&cached, &error) ==
	    REVCACHE_FETCH) {
		directory_search_issuer(dir, issuer, &fresh, &error);
		if (fresh.status == LOOKUP_UNAVAILABLE) {
			revcache_finish(dir->ca_cache, key, NULL, 0, error);
		} else {
			int ttl = fresh.status == LOOKUP_FOUND ? dir->cfg.cache_ttl :
			    dir->cfg.negative_cache_ttl;

			revcache_finish(dir->ca_cache, key, directory_cached_dup(&fresh),
			    now + (ttl > 0 ? ttl : 0), NULL);
		}
		if (cached != NULL)
			directory_cached_release(cached);
		cached = &fresh;
	} else if (error != NULL || cached == NULL) {
		fresh.status = LOOKUP_UNAVAILABLE;
		if (error == NULL)
			error = xasprintf("directory %s: no result for the CA entry of %s",
			    dir->cfg.name, key);
		if (cached != NULL)
			directory_cached_release(cached);
		cached = &fresh;
	}

	status = cached->status;
	for (size_t i = 0; i < cached->candidates.count; i++) {
		X509_up_ref(cached->candidates.items[i].cert);
		sk_X509_push(out, cached->candidates.items[i].cert);
	}
	if (status == LOOKUP_UNAVAILABLE)
		*error_r = error;
	else
		free(error);
	if (cached != &fresh)
		directory_cached_release(cached);
	cert_candidates_clear(&fresh.candidates);
	OPENSSL_free(key);
	return status;
}

enum lookup_status
directory_find_issuers(struct directory *dir, X509 *cert, time_t now,
    STACK_OF(X509) *out, char **error_r)
{
	enum lookup_status status = LOOKUP_NOT_FOUND;
	X509 *current = cert;

	if (dir->cfg.ca_base == NULL)
		return LOOKUP_NOT_FOUND;
	for (int depth = 0; depth < DIRECTORY_ISSUER_DEPTH; depth++) {
		int before = sk_X509_num(out);
		char *error = NULL;
		enum lookup_status level;

		if (X509_NAME_cmp(X509_get_subject_name(current),
		    X509_get_issuer_name(current)) == 0)
			break;
		level = directory_issuer_level(dir, X509_get_issuer_name(current), now, out,
		    &error);
		if (level == LOOKUP_UNAVAILABLE && status == LOOKUP_NOT_FOUND) {
			*error_r = error;
			return LOOKUP_UNAVAILABLE;
		}
		free(error);
		if (level != LOOKUP_FOUND || sk_X509_num(out) == before)
			break;
		status = LOOKUP_FOUND;
		current = sk_X509_value(out, before);
	}
	return status;
}
