/* Certificate lookups by address: one search for many addresses, the
 * entries mapped back to each address, the lookup cache, and the CA
 * certificates of CA entries. */
#include "certs/directory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs/certvalue.h"
#include "certs/directory_internal.h"
#include "certs/mailaddr.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Issuer names whose CA certificates are cached. */
#define DIRECTORY_CA_CACHE_SIZE 1000

/* One distinct address of a lookup while it is searched. */
struct directory_pending {
	char *key;		/* lookup form, see mailaddr_normalize */
	char *query;		/* substituted into the filter: domain in A-labels */
	bool fetch;		/* not answered by the cache */
	enum lookup_status status;
	struct cert_candidates candidates;
	bool *names;		/* per candidate: its certificate names the address */
	size_t entries;		/* entries that matched the address */
	size_t skipped;
	char *error;
	size_t origin;		/* index in the caller's array, while sorting */
};

static void
directory_candidate_copy(struct cert_candidate *dst, const struct cert_candidate *src)
{
	X509_up_ref(src->cert);
	dst->cert = src->cert;
	dst->extra = sk_X509_new_null();
	if (dst->extra == NULL)
		abort();
	for (int i = 0; i < sk_X509_num(src->extra); i++) {
		X509_up_ref(sk_X509_value(src->extra, i));
		sk_X509_push(dst->extra, sk_X509_value(src->extra, i));
	}
	dst->directory = xstrdup(src->directory);
	dst->dn = xstrdup(src->dn);
	dst->attribute = xstrdup(src->attribute);
}

void
directory_candidates_copy(struct cert_candidates *dst, const struct cert_candidates *src)
{
	dst->items = xcalloc(src->count + 1, sizeof(*dst->items));
	dst->count = src->count;
	for (size_t i = 0; i < src->count; i++)
		directory_candidate_copy(&dst->items[i], &src->items[i]);
}

void *
directory_cached_dup(void *value)
{
	const struct directory_cached *src = value;
	struct directory_cached *dst = xcalloc(1, sizeof(*dst));

	dst->status = src->status;
	dst->skipped = src->skipped;
	directory_candidates_copy(&dst->candidates, &src->candidates);
	return dst;
}

void
directory_cached_release(void *value)
{
	struct directory_cached *c = value;

	cert_candidates_clear(&c->candidates);
	free(c);
}

const struct revcache_value_ops directory_cached_ops = {
	directory_cached_dup, directory_cached_release,
};

/* Parses one "(attr=prefix%ssuffix)" around the "%s" at template[pos].
 * Returns false for anything else: another match type, wildcards,
 * escapes. */
static bool
directory_parse_assertion(const char *template, size_t pos, struct directory_assertion *a)
{
	const char *open = NULL, *eq, *close;

	for (size_t i = pos; i > 0; i--) {
		if (template[i - 1] == '(') {
			open = template + i - 1;
			break;
		}
	}
	close = strchr(template + pos, ')');
	if (open == NULL || close == NULL)
		return false;
	eq = memchr(open, '=', (size_t)(template + pos - open));
	if (eq == NULL || eq == open + 1 || strchr("~<>:", eq[-1]) != NULL)
		return false;
	for (const char *p = open + 1; p < eq; p++) {
		if (strchr("()*\\%", *p) != NULL)
			return false;
	}
	for (const char *p = eq + 1; p < close; p++) {
		if (p == template + pos) {
			p++;
			continue;
		}
		if (strchr("*\\%(", *p) != NULL)
			return false;
	}
	a->attr = xstrndup(open + 1, (size_t)(eq - open - 1));
	a->prefix = xstrndup(eq + 1, (size_t)(template + pos - eq - 1));
	a->suffix = xstrndup(template + pos + 2, (size_t)(close - template - pos - 2));
	return true;
}

/* Returns true when attr (as returned, with options) is one of the
 * configured certificate attributes, comparing the names before ';'. */
static bool
directory_is_cert_attribute(const struct directory *dir, const char *attr)
{
	size_t len = strcspn(attr, ";");

	for (size_t i = 0; i < dir->cfg.attribute_count; i++) {
		const char *conf = dir->cfg.attributes[i];

		if (strcspn(conf, ";") == len && strncasecmp(conf, attr, len) == 0)
			return true;
	}
	return false;
}

void
directory_lookup_init(struct directory *dir)
{
	const char *t = dir->cfg.filter;
	size_t n = dir->cfg.attribute_count;

	dir->assertions = xcalloc(strlen(t) / 2 + 1, sizeof(*dir->assertions));
	for (size_t i = 0; t[i] != '\0'; i++) {
		if (t[i] == '%' && t[i + 1] == '%') {
			i++;
		} else if (t[i] == '%' && t[i + 1] == 's') {
			if (directory_parse_assertion(t, i, &dir->assertions[dir->assertion_count]))
				dir->assertion_count++;
			i++;
		}
	}
	dir->search_attrs = xcalloc(n + dir->assertion_count + 1, sizeof(*dir->search_attrs));
	for (size_t i = 0; i < dir->cfg.attribute_count; i++)
		dir->search_attrs[i] = dir->cfg.attributes[i];
	for (size_t i = 0; i < dir->assertion_count; i++) {
		if (!directory_is_cert_attribute(dir, dir->assertions[i].attr))
			dir->search_attrs[n++] = dir->assertions[i].attr;
	}
	dir->cache = revcache_new(dir->cfg.cache_size, &directory_cached_ops);
	dir->ca_cache = revcache_new(DIRECTORY_CA_CACHE_SIZE, &directory_cached_ops);
}

void
directory_lookup_clear(struct directory *dir)
{
	for (size_t i = 0; i < dir->assertion_count; i++) {
		free(dir->assertions[i].attr);
		free(dir->assertions[i].prefix);
		free(dir->assertions[i].suffix);
	}
	free(dir->assertions);
	free(dir->search_attrs);
	revcache_free(dir->cache);
	revcache_free(dir->ca_cache);
}

void
directory_result_clear(struct directory_result *r)
{
	cert_candidates_clear(&r->candidates);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

/* Returns the index in chunk (sorted by key) of key, or -1. */
static long
directory_chunk_find(struct directory_pending *const *chunk, size_t m, const char *key)
{
	size_t lo = 0, hi = m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(key, chunk[mid]->key);

		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Sets matched[a] for the addresses of chunk that one of the entry's
 * assertion values names. Returns how many were set. */
static size_t
directory_match_assertions(const struct directory *dir, LDAP *ld, LDAPMessage *entry,
    struct directory_pending *const *chunk, size_t m, bool *matched)
{
	size_t count = 0;

	for (size_t i = 0; i < dir->assertion_count; i++) {
		const struct directory_assertion *a = &dir->assertions[i];
		size_t pre = strlen(a->prefix), suf = strlen(a->suffix);
		struct berval **vals = ldap_get_values_len(ld, entry, a->attr);

		for (int v = 0; vals != NULL && vals[v] != NULL; v++) {
			const char *val = vals[v]->bv_val;
			size_t len = vals[v]->bv_len;
			char *middle, *key, *error = NULL;
			long idx;

			if (len <= pre + suf || memchr(val, '\0', len) != NULL ||
			    strncasecmp(val, a->prefix, pre) != 0 ||
			    strncasecmp(val + len - suf, a->suffix, suf) != 0)
				continue;
			middle = xstrndup(val + pre, len - pre - suf);
			key = mailaddr_normalize(middle, !dir->cfg.case_sensitive_local_part,
			    &error);
			idx = key != NULL ? directory_chunk_find(chunk, m, key) : -1;
			if (idx >= 0 && !matched[idx]) {
				matched[idx] = true;
				count++;
			}
			free(error);
			free(key);
			free(middle);
		}
		ldap_value_free_len(vals);
	}
	return count;
}

/* Returns true when cert names key: an rfc822Name of subjectAltName or,
 * without one, a subject emailAddress, in lookup form. */
static bool
directory_cert_names(const struct directory *dir, X509 *cert, const char *key)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const X509_NAME *subject = X509_get_subject_name(cert);
	bool fold = !dir->cfg.case_sensitive_local_part, any = false, found = false;

	for (int i = 0; i < sk_GENERAL_NAME_num(sans) && !found; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		const ASN1_IA5STRING *ia5;
		char *value, *norm, *error = NULL;

		if (gn->type != GEN_EMAIL)
			continue;
		any = true;
		ia5 = gn->d.rfc822Name;
		value = xstrndup((const char *)ia5->data, (size_t)ia5->length);
		norm = mailaddr_normalize(value, fold, &error);
		found = norm != NULL && strcmp(norm, key) == 0;
		free(norm);
		free(error);
		free(value);
	}
	GENERAL_NAMES_free(sans);
	for (int idx = -1; !any && !found;) {
		unsigned char *utf8 = NULL;
		char *norm, *error = NULL;
		int len;

		idx = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, idx);
		if (idx < 0)
			break;
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subject, idx)));
		if (len <= 0)
			continue;
		char *value = xstrndup((const char *)utf8, (size_t)len);

		norm = mailaddr_normalize(value, fold, &error);
		found = norm != NULL && strcmp(norm, key) == 0;
		free(norm);
		free(error);
		free(value);
		OPENSSL_free(utf8);
	}
	return found;
}

/* Parses every value of the certificate attributes of entry into certs,
 * with the attribute each came from in (*attrs_r)[i] (allocated). */
static void
directory_parse_entry(const struct directory *dir, LDAP *ld, LDAPMessage *entry,
    const char *dn, STACK_OF(X509) *certs, char ***attrs_r)
{
	BerElement *ber = NULL;
	char **attrs = NULL;

	for (char *attr = ldap_first_attribute(ld, entry, &ber); attr != NULL;
	    attr = ldap_next_attribute(ld, entry, ber)) {
		struct berval **vals = NULL;

		if (directory_is_cert_attribute(dir, attr))
			vals = ldap_get_values_len(ld, entry, attr);
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

/* Appends certs[i] with the entry's other certificates as a candidate of p,
 * unless p has it already. */
static void
directory_pending_add(const struct directory *dir, struct directory_pending *p,
    STACK_OF(X509) *certs, int i, const char *dn, const char *attr, bool names)
{
	X509 *cert = sk_X509_value(certs, i);
	struct cert_candidate *c;

	for (size_t k = 0; k < p->candidates.count; k++) {
		if (X509_cmp(p->candidates.items[k].cert, cert) == 0)
			return;
	}
	p->candidates.items = xreallocarray(p->candidates.items, p->candidates.count + 1,
	    sizeof(*p->candidates.items));
	p->names = xreallocarray(p->names, p->candidates.count + 1, sizeof(*p->names));
	p->names[p->candidates.count] = names;
	c = &p->candidates.items[p->candidates.count++];
	X509_up_ref(cert);
	c->cert = cert;
	c->extra = sk_X509_new_null();
	if (c->extra == NULL)
		abort();
	for (int j = 0; j < sk_X509_num(certs); j++) {
		if (j == i)
			continue;
		X509_up_ref(sk_X509_value(certs, j));
		sk_X509_push(c->extra, sk_X509_value(certs, j));
	}
	c->directory = xstrdup(dir->cfg.name);
	c->dn = xstrdup(dn);
	c->attribute = xstrdup(attr);
}

/* Gives the certificates of one entry to the addresses of chunk that it
 * matched (see directory_lookup_many). */
static void
directory_map_entry(const struct directory *dir, LDAP *ld, LDAPMessage *entry,
    struct directory_pending *const *chunk, size_t m)
{
	char *dn = ldap_get_dn(ld, entry);
	STACK_OF(X509) *certs = sk_X509_new_null();
	bool *matched = xcalloc(m, sizeof(*matched));
	bool *took = xcalloc(m, sizeof(*took));
	char **attrs = NULL;
	size_t matched_count;
	int n;

	if (certs == NULL)
		abort();
	matched_count = directory_match_assertions(dir, ld, entry, chunk, m, matched);
	if (matched_count == 0 && m == 1) {
		matched[0] = true;
		matched_count = 1;
	}
	for (size_t a = 0; a < m; a++)
		took[a] = matched[a];
	directory_parse_entry(dir, ld, entry, dn != NULL ? dn : "", certs, &attrs);
	n = sk_X509_num(certs);
	for (int i = 0; i < n; i++) {
		X509 *cert = sk_X509_value(certs, i);

		if ((X509_get_extension_flags(cert) & EXFLAG_CA) != 0)
			continue;
		for (size_t a = 0; a < m; a++) {
			bool names = directory_cert_names(dir, cert, chunk[a]->key);

			if (matched_count > 0 ? !matched[a] : !names)
				continue;
			took[a] = true;
			directory_pending_add(dir, chunk[a], certs, i, dn != NULL ? dn : "",
			    attrs[i], names);
		}
	}
	for (size_t a = 0; a < m; a++)
		chunk[a]->entries += took[a];
	for (int i = 0; i < n; i++)
		free(attrs[i]);
	free(attrs);
	free(took);
	free(matched);
	sk_X509_pop_free(certs, X509_free);
	ldap_memfree(dn);
}

/* Drops the candidates of p whose certificate does not name its address,
 * when several entries matched it. */
static void
directory_pending_filter(const struct directory *dir, struct directory_pending *p)
{
	size_t kept = 0;

	if (p->entries < 2)
		return;
	for (size_t i = 0; i < p->candidates.count; i++) {
		if (p->names[i]) {
			p->candidates.items[kept++] = p->candidates.items[i];
			continue;
		}
		log_debug("directory candidate skipped directory=%s email=%s dn=\"%s\" "
		    "reason=\"%zu entries match the address and this certificate is "
		    "issued to another\"", dir->cfg.name, p->key, p->candidates.items[i].dn,
		    p->entries);
		cert_candidate_clear(&p->candidates.items[i]);
		p->skipped++;
	}
	p->candidates.count = kept;
}

/* Returns the OR of the filter template over the addresses of chunk, or
 * the one filter of a single address. */
static char *
directory_chunk_filter(const struct directory *dir, struct directory_pending *const *chunk,
    size_t m)
{
	struct strbuf sb = STRBUF_INIT;
	size_t parts = 0;

	for (size_t a = 0; a < m; a++) {
		char *unicode = mailaddr_unicode_form(chunk[a]->query);
		char *f = ldapconn_filter_build(dir->cfg.filter, chunk[a]->query);

		strbuf_appends(&sb, f);
		free(f);
		parts++;
		if (unicode != NULL) {
			f = ldapconn_filter_build(dir->cfg.filter, unicode);
			strbuf_appends(&sb, f);
			free(f);
			parts++;
		}
		free(unicode);
	}
	if (parts > 1) {
		char *inner = strbuf_detach(&sb, NULL);

		strbuf_printf(&sb, "(|%s)", inner);
		free(inner);
	}
	return strbuf_detach(&sb, NULL);
}

static void
directory_chunk_fail(struct directory_pending *const *chunk, size_t m, const char *error)
{
	for (size_t a = 0; a < m; a++) {
		chunk[a]->status = LOOKUP_UNAVAILABLE;
		chunk[a]->error = xstrdup(error);
	}
}

/* Searches the addresses of chunk (at most batch_size) in one search and
 * sets their status, splitting the chunk when the size limit is hit.
 * NOTE: no paged results control (RFC 2696) is sent, so a server page or
 * size limit below the entries of one chunk costs the splits. */
static void
directory_search_chunk(struct directory *dir, struct directory_pending *const *chunk,
    size_t m, size_t *searches)
{
	char *filter = directory_chunk_filter(dir, chunk, m);
	struct directory_search s = { NULL, NULL, 0 };
	char *error = NULL;
	int entries, references;

	(*searches)++;
	if (directory_search_run(dir, dir->cfg.base, dir->cfg.scope, filter, dir->search_attrs,
	    dir->cfg.size_limit, &s, &error) < 0) {
		directory_chunk_fail(chunk, m, error);
		free(error);
		free(filter);
		return;
	}
	if (s.rc == LDAP_SIZELIMIT_EXCEEDED && m > 1) {
		log_debug("directory search split directory=%s addresses=%zu reason=sizeLimit",
		    dir->cfg.name, m);
		directory_search_end(dir, &s);
		free(filter);
		directory_search_chunk(dir, chunk, m / 2, searches);
		directory_search_chunk(dir, chunk + m / 2, m - m / 2, searches);
		return;
	}
	if (s.rc != LDAP_SUCCESS) {
		error = directory_search_error(dir, &s, "search failed");
		directory_chunk_fail(chunk, m, error);
		free(error);
		goto out;
	}

	entries = directory_count_type(s.ld, s.res, LDAP_RES_SEARCH_ENTRY);
	references = directory_count_type(s.ld, s.res, LDAP_RES_SEARCH_REFERENCE);
	for (LDAPMessage *e = ldap_first_entry(s.ld, s.res); e != NULL;
	    e = ldap_next_entry(s.ld, e))
		directory_map_entry(dir, s.ld, e, chunk, m);
	for (size_t a = 0; a < m; a++) {
		struct directory_pending *p = chunk[a];

		directory_pending_filter(dir, p);
		if (p->candidates.count > 0) {
			p->status = LOOKUP_FOUND;
		} else if (references > 0 && p->entries == 0) {
			/* The entry may be on the server referred to, which is not
			 * queried, so the address is neither found nor ruled out. */
			p->status = LOOKUP_UNAVAILABLE;
			p->error = xasprintf("directory %s: the search for %s returned only "
			    "search references, which are not followed", dir->cfg.name, p->query);
		} else {
			p->status = LOOKUP_NOT_FOUND;
		}
	}
	log_debug("directory search directory=%s addresses=%zu entries=%d references=%d "
	    "filter=%s", dir->cfg.name, m, entries, references, filter);
out:
	directory_search_end(dir, &s);
	free(filter);
}

static int
directory_pending_compare(const void *a, const void *b)
{
	const struct directory_pending *const *pa = a, *const *pb = b;

	return strcmp((*pa)->key, (*pb)->key);
}

/* Takes the cached result of p, or marks it to be searched. The keys are
 * taken in sorted order, so that two threads that wait for each other's
 * searches cannot both wait. */
static void
directory_pending_begin(struct directory *dir, struct directory_pending *p, time_t now)
{
	struct directory_cached *cached = NULL;
	char *error = NULL;

	if (revcache_begin(dir->cache, p->key, now, (void **)&cached, &error) ==
	    REVCACHE_FETCH) {
		p->fetch = true;
	} else if (error != NULL || cached == NULL) {
		p->status = LOOKUP_UNAVAILABLE;
		p->error = error != NULL ? error : xasprintf("directory %s: no result for %s",
		    dir->cfg.name, p->query);
		error = NULL;
	} else {
		p->status = cached->status;
		p->skipped = cached->skipped;
		p->candidates = cached->candidates;
		memset(&cached->candidates, 0, sizeof(cached->candidates));
	}
	if (cached != NULL)
		directory_cached_release(cached);
	free(error);
}

/* Stores the searched result of p in the cache, for the TTL of its status. */
static void
directory_pending_finish(struct directory *dir, struct directory_pending *p, time_t now)
{
	struct directory_cached *value;
	int ttl;

	if (p->status == LOOKUP_UNAVAILABLE) {
		revcache_finish(dir->cache, p->key, NULL, 0, p->error);
		return;
	}
	value = xcalloc(1, sizeof(*value));
	value->status = p->status;
	value->skipped = p->skipped;
	directory_candidates_copy(&value->candidates, &p->candidates);
	ttl = p->status == LOOKUP_FOUND ? dir->cfg.cache_ttl : dir->cfg.negative_cache_ttl;
	revcache_finish(dir->cache, p->key, value, now + (ttl > 0 ? ttl : 0), NULL);
}

static void
directory_pending_clear(struct directory_pending *p)
{
	free(p->key);
	free(p->query);
	cert_candidates_clear(&p->candidates);
	free(p->names);
	free(p->error);
}

/* Fills the distinct addresses of emails into *pending_r, sorted by key,
 * and slot[i] with the index of emails[i] in it, or SIZE_MAX with
 * results[i] set when emails[i] cannot be looked up. */
static size_t
directory_pending_make(const struct directory *dir, char *const *emails, size_t count,
    struct directory_pending ***pending_r, size_t *slot, struct directory_result *results)
{
	struct directory_pending **all = xcalloc(count + 1, sizeof(*all));
	struct directory_pending **uniq = xcalloc(count + 1, sizeof(*uniq));
	size_t n = 0, u = 0;

	for (size_t i = 0; i < count; i++) {
		char *error = NULL;
		char *key = mailaddr_normalize(emails[i],
		    !dir->cfg.case_sensitive_local_part, &error);

		slot[i] = SIZE_MAX;
		if (key == NULL) {
			results[i].status = LOOKUP_NOT_FOUND;
			results[i].error = error;
			continue;
		}
		all[n] = xcalloc(1, sizeof(**all));
		all[n]->key = key;
		all[n]->query = mailaddr_normalize(emails[i], false, &error);
		all[n]->status = LOOKUP_NOT_FOUND;
		slot[i] = n++;
	}
	for (size_t i = 0; i < count; i++) {
		if (slot[i] != SIZE_MAX)
			all[slot[i]]->origin = i;
	}
	qsort(all, n, sizeof(*all), directory_pending_compare);
	for (size_t k = 0; k < n; k++) {
		size_t index = all[k]->origin;

		if (u > 0 && strcmp(uniq[u - 1]->key, all[k]->key) == 0) {
			directory_pending_clear(all[k]);
			free(all[k]);
		} else {
			uniq[u++] = all[k];
		}
		slot[index] = u - 1;
	}
	free(all);
	*pending_r = uniq;
	return u;
}

void
directory_lookup_many(struct directory *dir, char *const *emails, size_t count,
    time_t now, struct directory_result *results)
{
	size_t *slot = xcalloc(count + 1, sizeof(*slot));
	struct directory_pending **pending, **todo;
	size_t n, t = 0, searches = 0;

	memset(results, 0, count * sizeof(*results));
	n = directory_pending_make(dir, emails, count, &pending, slot, results);
	todo = xcalloc(n + 1, sizeof(*todo));
	for (size_t k = 0; k < n; k++) {
		directory_pending_begin(dir, pending[k], now);
		if (pending[k]->fetch)
			todo[t++] = pending[k];
	}
	for (size_t k = 0; k < t; k += (size_t)dir->cfg.batch_size) {
		size_t m = t - k < (size_t)dir->cfg.batch_size ? t - k :
		    (size_t)dir->cfg.batch_size;

		directory_search_chunk(dir, todo + k, m, &searches);
	}
	for (size_t k = 0; k < t; k++)
		directory_pending_finish(dir, todo[k], now);

	for (size_t i = 0; i < count; i++) {
		struct directory_pending *p;

		if (slot[i] == SIZE_MAX)
			continue;
		p = pending[slot[i]];
		results[i].status = p->status;
		results[i].skipped = p->skipped;
		results[i].error = p->error != NULL ? xstrdup(p->error) : NULL;
		directory_candidates_copy(&results[i].candidates, &p->candidates);
	}
	log_debug("directory lookup directory=%s addresses=%zu distinct=%zu cached=%zu "
	    "searches=%zu", dir->cfg.name, count, n, n - t, searches);
	for (size_t k = 0; k < n; k++) {
		directory_pending_clear(pending[k]);
		free(pending[k]);
	}
	free(pending);
	free(todo);
	free(slot);
}

enum lookup_status
directory_lookup(struct directory *dir, const char *email, struct cert_candidates *out,
    char **error_r)
{
	char *emails[] = { (char *)email };
	struct directory_result r;
	enum lookup_status status;

	directory_lookup_many(dir, emails, 1, time(NULL), &r);
	status = r.status;
	if (r.candidates.count > 0)
		out->items = xreallocarray(out->items, out->count + r.candidates.count,
		    sizeof(*out->items));
	for (size_t i = 0; i < r.candidates.count; i++)
		out->items[out->count++] = r.candidates.items[i];
	r.candidates.count = 0;
	if (status == LOOKUP_UNAVAILABLE) {
		*error_r = r.error;
		r.error = NULL;
	}
	directory_result_clear(&r);
	return status;
}
