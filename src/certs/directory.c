/* Certificate directories over LDAP: a connection pool per directory,
 * searches, CRLs of CA entries and user lookup for authentication. The
 * certificate lookups by address are in directory_lookup.c. */
#include "certs/directory.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs/directory_internal.h"
#include "certs/mailaddr.h"
#include "util/log.h"
#include "util/xmalloc.h"

static const char *const directory_default_attributes[] = {
	"userSMIMECertificate;binary",
	"userSMIMECertificate",
	"userCertificate;binary",
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
	if (c->batch_size <= 0)
		c->batch_size = DIRECTORY_DEFAULT_BATCH_SIZE;
	if (c->cache_size == 0)
		c->cache_size = DIRECTORY_DEFAULT_CACHE_SIZE;
	dir->domains_ascii = xcalloc(c->domain_count + 1, sizeof(*dir->domains_ascii));
	for (size_t i = 0; i < c->domain_count; i++) {
		char *error = NULL;

		dir->domains_ascii[i] = mailaddr_domain_ascii(c->domains[i], &error);
		if (dir->domains_ascii[i] == NULL) {
			log_warn("directory domain unusable directory=%s domain=\"%s\" "
			    "error=\"%s\"", c->name, c->domains[i], error);
			free(error);
			dir->domains_ascii[i] = xstrdup(c->domains[i]);
		}
	}
	directory_lookup_init(dir);
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
	directory_lookup_clear(dir);
	directory_strv_free(dir->domains_ascii, dir->cfg.domain_count);
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
	char *domain, *error = NULL;
	bool served = false;

	if (dir->cfg.domain_count == 0)
		return true;
	if (at == NULL)
		return false;
	domain = mailaddr_domain_ascii(at + 1, &error);
	if (domain == NULL) {
		free(error);
		return false;
	}
	for (size_t i = 0; i < dir->cfg.domain_count && !served; i++)
		served = strcmp(domain, dir->domains_ascii[i]) == 0;
	free(domain);
	return served;
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

int
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

void
directory_search_end(struct directory *dir, struct directory_search *s)
{
	ldap_msgfree(s->res);
	directory_release(dir, s->ld, s->rc);
	s->ld = NULL;
	s->res = NULL;
}

char *
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

int
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

char *
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
