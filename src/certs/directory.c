/* Certificate directories over LDAP: a connection pool per directory,
 * certificate lookup by address and user lookup for authentication. */
#include "certs/directory.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs/certvalue.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Idle connections kept per directory. Threads that need more at the same
 * time open more, which are closed when returned to a full pool. */
#define DIRECTORY_POOL_SIZE 4

static const char *const directory_default_attributes[] = {
	"userSMIMECertificate;binary",
	"userSMIMECertificate",
	"userCertificate;binary",
};

struct directory {
	struct directory_config cfg;
	char **attrs;		/* NULL-terminated, for ldap_search_ext_s */
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

static char **
directory_strv_copy(char *const *v, size_t count)
{
	char **copy = xcalloc(count + 1, sizeof(*copy));

	for (size_t i = 0; i < count; i++)
		copy[i] = xstrdup(v[i]);
	return copy;
}

static void
directory_strv_free(char **v, size_t count)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
}

struct directory *
directory_new(const struct directory_config *cfg)
{
	struct directory *dir = xcalloc(1, sizeof(*dir));
	struct directory_config *c = &dir->cfg;

	*c = *cfg;
	c->name = xstrdup(cfg->name != NULL ? cfg->name : "directory");
	c->conn.uris = directory_strv_copy(cfg->conn.uris, cfg->conn.uri_count);
	c->conn.ca_file = xstrdup(cfg->conn.ca_file);
	c->conn.tls_cert_file = xstrdup(cfg->conn.tls_cert_file);
	c->conn.tls_key_file = xstrdup(cfg->conn.tls_key_file);
	c->conn.bind_dn = xstrdup(cfg->conn.bind_dn);
	c->conn.bind_password = xstrdup(cfg->conn.bind_password);
	c->base = xstrdup(cfg->base != NULL ? cfg->base : "");
	if (c->scope == LDAP_SCOPE_DEFAULT)
		c->scope = LDAP_SCOPE_SUBTREE;
	c->filter = xstrdup(cfg->filter != NULL ? cfg->filter : "(mail=%s)");
	if (cfg->attribute_count == 0) {
		c->attribute_count = sizeof(directory_default_attributes) /
		    sizeof(directory_default_attributes[0]);
		c->attributes = directory_strv_copy(
		    (char *const *)directory_default_attributes, c->attribute_count);
	} else {
		c->attributes = directory_strv_copy(cfg->attributes, cfg->attribute_count);
	}
	c->domains = directory_strv_copy(cfg->domains, cfg->domain_count);
	c->ca_base = xstrdup(cfg->ca_base);
	c->ca_filter = xstrdup(cfg->ca_filter != NULL ? cfg->ca_filter :
	    "(&(objectClass=pkiCA)(cn=%s))");
	dir->attrs = c->attributes;
	pthread_mutex_init(&dir->lock, NULL);
	return dir;
}

void
directory_config_clear(struct directory_config *c)
{
	free(c->name);
	directory_strv_free(c->conn.uris, c->conn.uri_count);
	free(c->conn.ca_file);
	free(c->conn.tls_cert_file);
	free(c->conn.tls_key_file);
	free(c->conn.bind_dn);
	if (c->conn.bind_password != NULL) {
		OPENSSL_cleanse(c->conn.bind_password, strlen(c->conn.bind_password));
		free(c->conn.bind_password);
	}
	free(c->base);
	free(c->filter);
	directory_strv_free(c->attributes, c->attribute_count);
	directory_strv_free(c->domains, c->domain_count);
	free(c->ca_base);
	free(c->ca_filter);
	memset(c, 0, sizeof(*c));
}

void
directory_free(struct directory *dir)
{
	if (dir == NULL)
		return;
	for (size_t i = 0; i < dir->idle_count; i++)
		ldap_unbind_ext_s(dir->idle[i], NULL, NULL);
	pthread_mutex_destroy(&dir->lock);
	directory_config_clear(&dir->cfg);
	free(dir);
}

const char *
directory_name(const struct directory *dir)
{
	return dir->cfg.name;
}

const struct ldapconn_config *
directory_conn_config(const struct directory *dir)
{
	return &dir->cfg.conn;
}

bool
directory_serves(const struct directory *dir, const char *email)
{
	const char *at = strrchr(email, '@');

	if (dir->cfg.domain_count == 0)
		return true;
	if (at == NULL)
		return false;
	for (size_t i = 0; i < dir->cfg.domain_count; i++) {
		if (strcasecmp(at + 1, dir->cfg.domains[i]) == 0)
			return true;
	}
	return false;
}

/* Takes an idle connection, or opens one when fresh or the pool is empty.
 * Sets *pooled_r to tell which. Returns NULL with *error_r on failure. */
static LDAP *
directory_acquire(struct directory *dir, bool fresh, bool *pooled_r, char **error_r)
{
	LDAP *ld = NULL;
	char *error = NULL;

	if (!fresh) {
		pthread_mutex_lock(&dir->lock);
		if (dir->idle_count > 0)
			ld = dir->idle[--dir->idle_count];
		pthread_mutex_unlock(&dir->lock);
	}
	*pooled_r = ld != NULL;
	if (ld != NULL)
		return ld;
	if (ldapconn_open(&dir->cfg.conn, &ld, &error) < 0) {
		*error_r = xasprintf("directory %s: connection failed: %s", dir->cfg.name,
		    error);
		free(error);
		return NULL;
	}
	return ld;
}

/* Returns ld to the pool, or closes it when the pool is full or the last
 * result (rc) was a client-side error, which OpenLDAP reports as a negative
 * code (server down, timeout...) and which leaves the connection unusable. */
static void
directory_release(struct directory *dir, LDAP *ld, int rc)
{
	if (rc >= 0) {
		pthread_mutex_lock(&dir->lock);
		if (dir->idle_count < DIRECTORY_POOL_SIZE) {
			dir->idle[dir->idle_count++] = ld;
			ld = NULL;
		}
		pthread_mutex_unlock(&dir->lock);
	}
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
}

/* Runs a search under base with scope. A pooled connection that the server
 * has closed is replaced and the search repeated once. Returns 0 with *s
 * filled (even when the search failed: s->rc), or -1 with *error_r when no
 * connection could be opened. */
static int
directory_search_run(struct directory *dir, const char *base, int scope,
    const char *filter, char **attrs, int size_limit, struct directory_search *s,
    char **error_r)
{
	int timeout = dir->cfg.conn.timeout_seconds > 0 ?
	    dir->cfg.conn.timeout_seconds : LDAPCONN_DEFAULT_TIMEOUT;
	struct timeval tv = { .tv_sec = timeout, .tv_usec = 0 };
	bool pooled = false;

	for (int attempt = 0; attempt < 2; attempt++) {
		s->res = NULL;
		s->ld = directory_acquire(dir, attempt > 0, &pooled, error_r);
		if (s->ld == NULL)
			return -1;
		s->rc = ldap_search_ext_s(s->ld, base, scope, filter, attrs, 0, NULL, NULL,
		    &tv, size_limit, &s->res);
		if (s->rc != LDAP_SERVER_DOWN || !pooled)
			return 0;
		log_debug("directory connection closed by the server, reconnecting "
		    "directory=%s", dir->cfg.name);
		ldap_msgfree(s->res);
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	}
	return 0;
}

static void
directory_search_end(struct directory *dir, struct directory_search *s)
{
	ldap_msgfree(s->res);
	directory_release(dir, s->ld, s->rc);
	s->ld = NULL;
	s->res = NULL;
}

/* Returns an allocated message for a failed search, naming the directory
 * and the URI of the connection. */
static char *
directory_search_error(const struct directory *dir, const struct directory_search *s,
    const char *what)
{
	char *uri = NULL, *diag = NULL, *msg;

	ldap_get_option(s->ld, LDAP_OPT_URI, &uri);
	ldap_get_option(s->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	msg = xasprintf("directory %s (%s): %s: %s%s%s%s", dir->cfg.name,
	    uri != NULL ? uri : "unknown URI", what, ldap_err2string(s->rc),
	    diag != NULL && diag[0] != '\0' ? " (" : "",
	    diag != NULL ? diag : "", diag != NULL && diag[0] != '\0' ? ")" : "");
	ldap_memfree(uri);
	ldap_memfree(diag);
	return msg;
}

static int
directory_count_type(LDAP *ld, LDAPMessage *res, int type)
{
	int count = 0;

	for (LDAPMessage *m = ldap_first_message(ld, res); m != NULL;
	    m = ldap_next_message(ld, m)) {
		if (ldap_msgtype(m) == type)
			count++;
	}
	return count;
}

static bool
directory_has_candidate(const struct cert_candidates *out, X509 *cert)
{
	for (size_t i = 0; i < out->count; i++) {
		if (X509_cmp(out->items[i].cert, cert) == 0)
			return true;
	}
	return false;
}

/* Parses every value of every returned attribute of entry into certs,
 * with the attribute each came from in (*attrs_r)[i] (allocated). */
static void
directory_parse_entry(const struct directory *dir, LDAP *ld, LDAPMessage *entry,
    const char *dn, STACK_OF(X509) *certs, char ***attrs_r)
{
	BerElement *ber = NULL;
	char **attrs = NULL;

	for (char *attr = ldap_first_attribute(ld, entry, &ber); attr != NULL;
	    attr = ldap_next_attribute(ld, entry, ber)) {
		struct berval **vals = ldap_get_values_len(ld, entry, attr);

		for (int v = 0; vals != NULL && vals[v] != NULL; v++) {
			int before = sk_X509_num(certs);
			char *error = NULL;

			if (certvalue_parse((const unsigned char *)vals[v]->bv_val,
			    vals[v]->bv_len, certs, &error) < 0) {
				log_debug("directory value skipped directory=%s dn=\"%s\" "
				    "attribute=%s error=\"%s\"", dir->cfg.name, dn, attr, error);
				free(error);
				continue;
			}
			attrs = xreallocarray(attrs, (size_t)sk_X509_num(certs), sizeof(*attrs));
			for (int i = before; i < sk_X509_num(certs); i++)
				attrs[i] = xstrdup(attr);
		}
		ldap_value_free_len(vals);
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	*attrs_r = attrs;
}

/* Appends a candidate for every certificate of entry that is not a CA
 * certificate and not already in out. */
static void
directory_take_entry(const struct directory *dir, LDAP *ld, LDAPMessage *entry,
    struct cert_candidates *out)
{
	char *dn = ldap_get_dn(ld, entry);
	STACK_OF(X509) *certs = sk_X509_new_null();
	char **attrs = NULL;
	int n;

	if (certs == NULL)
		abort();
	directory_parse_entry(dir, ld, entry, dn != NULL ? dn : "", certs, &attrs);
	n = sk_X509_num(certs);
	for (int i = 0; i < n; i++) {
		X509 *cert = sk_X509_value(certs, i);
		struct cert_candidate *c;

		if ((X509_get_extension_flags(cert) & EXFLAG_CA) != 0 ||
		    directory_has_candidate(out, cert))
			continue;
		out->items = xreallocarray(out->items, out->count + 1, sizeof(*out->items));
		c = &out->items[out->count++];
		X509_up_ref(cert);
		c->cert = cert;
		c->extra = sk_X509_new_null();
		if (c->extra == NULL)
			abort();
		for (int j = 0; j < n; j++) {
			if (j == i)
				continue;
			X509_up_ref(sk_X509_value(certs, j));
			sk_X509_push(c->extra, sk_X509_value(certs, j));
		}
		c->directory = xstrdup(dir->cfg.name);
		c->dn = xstrdup(dn != NULL ? dn : "");
		c->attribute = xstrdup(attrs[i]);
	}
	for (int i = 0; i < n; i++)
		free(attrs[i]);
	free(attrs);
	sk_X509_pop_free(certs, X509_free);
	ldap_memfree(dn);
}

enum lookup_status
directory_lookup(struct directory *dir, const char *email,
    struct cert_candidates *out, char **error_r)
{
	char *filter = ldapconn_filter_build(dir->cfg.filter, email);
	struct directory_search s = { NULL, NULL, 0 };
	size_t before = out->count;
	enum lookup_status status;
	int entries;

	if (directory_search_run(dir, dir->cfg.base, dir->cfg.scope, filter, dir->attrs,
	    dir->cfg.size_limit, &s, error_r) < 0) {
		free(filter);
		return LOOKUP_UNAVAILABLE;
	}
	if (s.rc != LDAP_SUCCESS) {
		*error_r = directory_search_error(dir, &s, "search failed");
		status = LOOKUP_UNAVAILABLE;
		goto out;
	}

	entries = directory_count_type(s.ld, s.res, LDAP_RES_SEARCH_ENTRY);
	for (LDAPMessage *m = ldap_first_entry(s.ld, s.res); m != NULL;
	    m = ldap_next_entry(s.ld, m))
		directory_take_entry(dir, s.ld, m, out);

	if (out->count > before) {
		status = LOOKUP_FOUND;
	} else if (directory_count_type(s.ld, s.res, LDAP_RES_SEARCH_REFERENCE) > 0) {
		/* The entry may be on the server referred to, which is not
		 * queried, so the address is neither found nor ruled out. */
		*error_r = xasprintf("directory %s: search for %s returned only "
		    "search references, which are not followed", dir->cfg.name, filter);
		status = LOOKUP_UNAVAILABLE;
	} else {
		status = LOOKUP_NOT_FOUND;
	}
	log_debug("directory lookup directory=%s filter=%s entries=%d candidates=%zu",
	    dir->cfg.name, filter, entries, out->count - before);
out:
	directory_search_end(dir, &s);
	free(filter);
	return status;
}

/* Returns the first commonName of name as allocated UTF-8, or NULL. */
static char *
directory_common_name(const X509_NAME *name)
{
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	char *cn;
	int len;

	if (idx < 0)
		return NULL;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name,
	    idx)));
	if (len < 0 || memchr(utf8, '\0', (size_t)len) != NULL) {
		OPENSSL_free(utf8);
		return NULL;
	}
	cn = xstrndup((const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return cn;
}

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

/* Copies the mail values of entry into an allocated array. Values with a
 * NUL byte are skipped. */
static void
directory_entry_mails(LDAP *ld, LDAPMessage *entry, char ***mails_r, size_t *count_r)
{
	struct berval **vals = ldap_get_values_len(ld, entry, "mail");
	size_t count = 0;
	char **mails;

	mails = xcalloc((size_t)ldap_count_values_len(vals) + 1, sizeof(*mails));
	for (int i = 0; vals != NULL && vals[i] != NULL; i++) {
		if (memchr(vals[i]->bv_val, '\0', vals[i]->bv_len) != NULL)
			continue;
		mails[count++] = xstrndup(vals[i]->bv_val, vals[i]->bv_len);
	}
	ldap_value_free_len(vals);
	*mails_r = mails;
	*count_r = count;
}

int
directory_find_user(struct directory *dir, const char *filter_template,
    const char *login, char **dn_r, char ***mails_r, size_t *mail_count_r,
    char **error_r)
{
	char *filter = ldapconn_filter_build(filter_template, login);
	char *attrs[] = { "mail", NULL };
	struct directory_search s = { NULL, NULL, 0 };
	LDAPMessage *entry;
	char *dn;
	int ret = 0;

	/* A limit of 2 is enough to tell one entry from several. */
	if (directory_search_run(dir, dir->cfg.base, dir->cfg.scope, filter, attrs, 2,
	    &s, error_r) < 0) {
		free(filter);
		return -1;
	}
	if (s.rc == LDAP_SIZELIMIT_EXCEEDED ||
	    (s.rc == LDAP_SUCCESS &&
	    directory_count_type(s.ld, s.res, LDAP_RES_SEARCH_ENTRY) > 1)) {
		log_info("directory user lookup ambiguous directory=%s filter=%s",
		    dir->cfg.name, filter);
		goto out;
	}
	if (s.rc != LDAP_SUCCESS) {
		*error_r = directory_search_error(dir, &s, "user search failed");
		ret = -1;
		goto out;
	}
	entry = ldap_first_entry(s.ld, s.res);
	if (entry == NULL) {
		if (directory_count_type(s.ld, s.res, LDAP_RES_SEARCH_REFERENCE) > 0) {
			*error_r = xasprintf("directory %s: user search for %s returned "
			    "only search references, which are not followed",
			    dir->cfg.name, filter);
			ret = -1;
		}
		goto out;
	}
	dn = ldap_get_dn(s.ld, entry);
	*dn_r = xstrdup(dn != NULL ? dn : "");
	ldap_memfree(dn);
	directory_entry_mails(s.ld, entry, mails_r, mail_count_r);
	ret = 1;
out:
	directory_search_end(dir, &s);
	free(filter);
	return ret;
}

void
cert_candidate_clear(struct cert_candidate *c)
{
	X509_free(c->cert);
	sk_X509_pop_free(c->extra, X509_free);
	free(c->directory);
	free(c->dn);
	free(c->attribute);
	memset(c, 0, sizeof(*c));
}

void
cert_candidates_clear(struct cert_candidates *c)
{
	for (size_t i = 0; i < c->count; i++)
		cert_candidate_clear(&c->items[i]);
	free(c->items);
	c->items = NULL;
	c->count = 0;
}
