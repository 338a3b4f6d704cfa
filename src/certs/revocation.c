/* Revocation checking: for each certificate of a chain, OCSP responders and
 * then CRL sources in order until one gives a status, with the checked OCSP
 * responses and CRLs cached until their nextUpdate. */
#include "certs/revocation.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "certs/crl.h"
#include "certs/ocsp.h"
#include "certs/validate.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Largest OCSP response accepted, in bytes. */
#define REVOCATION_OCSP_MAX_SIZE (256 * 1024)
/* Longest GET URL (RFC 5019 2.1.1); longer requests are POSTed. */
#define REVOCATION_OCSP_GET_MAX 255

struct revocation_checker {
	struct revocation_config cfg;
	struct revocation_transport transport;
	struct revcache *ocsp_cache;	/* struct ocsp_cached */
	struct revcache *crl_cache;	/* X509_CRL */
	atomic_uint_least64_t ocsp_requests;	/* built by ocsp_query_new */
};

/* A certificate whose OCSP status is looked up, with its CertID for the
 * cache key and the request, which is built only on a cache miss. */
struct revocation_ocsp_subject {
	X509 *cert;
	X509 *issuer;
	char *cert_id;
	struct ocsp_query *query;	/* NULL until the first fetch */
};

/* A checked OCSP response as cached, with the URL of its responder. */
struct ocsp_cached {
	struct ocsp_answer answer;
	char *url;
};

/* The status of one certificate from one kind of source. */
struct revocation_answer {
	enum revocation_status status;
	struct strbuf detail;	/* what answered, or every source tried and why not */
};

static const char *const revocation_method_names[] = {
	[REVOCATION_OCSP_THEN_CRL] = "ocsp-then-crl",
	[REVOCATION_OCSP] = "ocsp",
	[REVOCATION_CRL] = "crl",
	[REVOCATION_NONE] = "none",
};

int
revocation_method_parse(const char *name, enum revocation_method *method_r)
{
	for (size_t i = 0; i < sizeof(revocation_method_names) /
	    sizeof(revocation_method_names[0]); i++) {
		if (strcmp(name, revocation_method_names[i]) == 0) {
			*method_r = (enum revocation_method)i;
			return 0;
		}
	}
	return -1;
}

const char *
revocation_method_name(enum revocation_method method)
{
	if ((size_t)method >= sizeof(revocation_method_names) /
	    sizeof(revocation_method_names[0]))
		return "invalid";
	return revocation_method_names[method];
}

void
revocation_config_defaults(struct revocation_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ocsp_get = true;
	cfg->clock_skew = 300;
	cfg->max_age = 3600;
	cfg->timeout = 5;
	cfg->max_crl_size = 20 * 1024 * 1024;
	cfg->ocsp_cache_size = 10000;
	cfg->crl_cache_size = 64;
}

static int
revocation_net_get(void *arg, const char *url, const struct urlfetch_limits *limits,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	(void)arg;
	return urlfetch_get(url, limits, expected_type, data_r, len_r, error_r);
}

static int
revocation_net_post(void *arg, const char *url, const struct urlfetch_limits *limits,
    const char *content_type, const unsigned char *body, size_t body_len,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	(void)arg;
	return urlfetch_post(url, limits, content_type, body, body_len, expected_type,
	    data_r, len_r, error_r);
}

static void *
ocsp_cached_dup(void *value)
{
	const struct ocsp_cached *src = value;
	struct ocsp_cached *copy = xmalloc(sizeof(*copy));

	copy->answer = src->answer;
	copy->url = xstrdup(src->url);
	return copy;
}

static void
ocsp_cached_release(void *value)
{
	struct ocsp_cached *c = value;

	free(c->url);
	free(c);
}

static void *
crl_dup(void *value)
{
	X509_CRL_up_ref(value);
	return value;
}

static void
crl_release(void *value)
{
	X509_CRL_free(value);
}

struct revocation_checker *
revocation_checker_new(const struct revocation_config *cfg,
    const struct revocation_transport *transport)
{
	static const struct revcache_value_ops ocsp_ops = { ocsp_cached_dup,
	    ocsp_cached_release };
	static const struct revcache_value_ops crl_ops = { crl_dup, crl_release };
	struct revocation_checker *rc = xcalloc(1, sizeof(*rc));

	rc->cfg = *cfg;
	rc->cfg.ocsp_responder = xstrdup(cfg->ocsp_responder);
	if (transport != NULL) {
		rc->transport = *transport;
	} else {
		rc->transport.get = revocation_net_get;
		rc->transport.post = revocation_net_post;
	}
	rc->ocsp_cache = revcache_new(cfg->ocsp_cache_size, &ocsp_ops);
	rc->crl_cache = revcache_new(cfg->crl_cache_size, &crl_ops);
	atomic_init(&rc->ocsp_requests, 0);
	return rc;
}

void
revocation_checker_free(struct revocation_checker *rc)
{
	if (rc == NULL)
		return;
	revcache_free(rc->ocsp_cache);
	revcache_free(rc->crl_cache);
	free(rc->cfg.ocsp_responder);
	free(rc);
}

void
revocation_get_stats(struct revocation_checker *rc, struct revocation_stats *stats)
{
	revcache_get_stats(rc->ocsp_cache, &stats->ocsp);
	revcache_get_stats(rc->crl_cache, &stats->crl);
	stats->ocsp_requests = atomic_load(&rc->ocsp_requests);
}

static void
revocation_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Starts a new part of sb's text: "; " unless sb is empty. */
static void
revocation_next(struct strbuf *sb)
{
	if (sb->len > 0)
		strbuf_appends(sb, "; ");
}

static struct urlfetch_limits
revocation_limits(const struct revocation_checker *rc, size_t max_size)
{
	struct urlfetch_limits limits = { rc->cfg.timeout, max_size };

	return limits;
}

/* Sends the request for s to the responder at url (GET when short enough,
 * else POST) and checks the response. The request is built on the first
 * call for s and reused for the next responders. */
static int
revocation_ocsp_fetch(struct revocation_checker *rc, struct revocation_ocsp_subject *s,
    const char *url, time_t now, struct ocsp_answer *answer, char **error_r)
{
	struct urlfetch_limits limits = revocation_limits(rc, REVOCATION_OCSP_MAX_SIZE);
	struct ocsp_check_params params = { now, rc->cfg.clock_skew, rc->cfg.max_age,
	    rc->cfg.ocsp_nonce_required };
	const struct ocsp_query *q;
	char *get_url;
	unsigned char *resp = NULL;
	size_t resp_len = 0;
	int ret;

	if (s->query == NULL) {
		atomic_fetch_add(&rc->ocsp_requests, 1);
		if (ocsp_query_new(s->cert, s->issuer, true, &s->query, error_r) < 0)
			return -1;
	}
	q = s->query;

	get_url = rc->cfg.ocsp_get ? ocsp_query_get_url(q, url) : NULL;
	if (get_url != NULL && strlen(get_url) <= REVOCATION_OCSP_GET_MAX) {
		ret = rc->transport.get(rc->transport.arg, get_url, &limits,
		    "application/ocsp-response", &resp, &resp_len, error_r);
	} else {
		size_t len;
		const unsigned char *der = ocsp_query_der(q, &len);

		ret = rc->transport.post(rc->transport.arg, url, &limits,
		    "application/ocsp-request", der, len, "application/ocsp-response",
		    &resp, &resp_len, error_r);
	}
	if (ret == 0)
		ret = ocsp_response_check(q, s->issuer, resp, resp_len, &params, answer,
		    error_r);
	free(get_url);
	free(resp);
	return ret;
}

/* Describes a revoked certificate's entry into sb. */
static void
revocation_describe_revoked(struct strbuf *sb, time_t when, int reason,
    const char *source)
{
	char date[32];
	struct tm tm;

	if (when == 0 || gmtime_r(&when, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(date, sizeof(date), "an unknown date");
	strbuf_printf(sb, "revoked on %s, reason %s, according to %s", date,
	    crl_reason_name(reason), source);
}

/* Asks the responder at url for the status of s, unless the cache has its
 * response. Sets out->status to GOOD or REVOKED when the response gives
 * that status, else adds the reason to out->detail. */
static void
revocation_ocsp_ask(struct revocation_checker *rc, struct revocation_ocsp_subject *s,
    const char *url, time_t now, struct revocation_answer *out)
{
	char *key = xasprintf("%s %s", url, s->cert_id);
	struct ocsp_cached *cached = NULL;
	const char *origin = "cache";
	char *error = NULL;
	void *value = NULL;

	if (revcache_begin(rc->ocsp_cache, key, now, &value, &error) == REVCACHE_FETCH) {
		struct ocsp_cached fresh = { { 0 }, (char *)url };
		time_t expires;

		origin = "responder";
		if (revocation_ocsp_fetch(rc, s, url, now, &fresh.answer, &error) == 0) {
			/* Answers without nextUpdate are used once, not kept, and
			 * "unknown" is asked again next time. */
			expires = fresh.answer.status != OCSP_CERT_UNKNOWN &&
			    fresh.answer.next_update != 0 ? fresh.answer.next_update : now;
			revcache_finish(rc->ocsp_cache, key, ocsp_cached_dup(&fresh), expires,
			    NULL);
			if (value != NULL)
				ocsp_cached_release(value);
			value = ocsp_cached_dup(&fresh);
		} else {
			revcache_finish(rc->ocsp_cache, key, NULL, 0, error);
		}
	}
	cached = value;

	if (cached != NULL && cached->answer.status == OCSP_CERT_REVOKED) {
		/* A revocation is final, so even an expired answer holds. */
		char *source = xasprintf("OCSP responder %s", url);

		out->status = REVOCATION_REVOKED;
		strbuf_reset(&out->detail);
		revocation_describe_revoked(&out->detail, cached->answer.revocation_time,
		    cached->answer.reason, source);
		free(source);
		goto out;
	}
	revocation_next(&out->detail);
	if (error != NULL) {
		strbuf_printf(&out->detail, "OCSP responder %s: %s", url, error);
	} else if (cached != NULL && cached->answer.status == OCSP_CERT_GOOD) {
		out->status = REVOCATION_GOOD;
		strbuf_printf(&out->detail, "good according to OCSP responder %s", url);
	} else {
		strbuf_printf(&out->detail, "OCSP responder %s does not know the "
		    "certificate (certStatus unknown)", url);
	}
out:
	log_debug("revocation ocsp url=%s cert_id=%s from=%s status=%s%s%s%s", url,
	    s->cert_id, origin, out->status == REVOCATION_GOOD ? "good" :
	    out->status == REVOCATION_REVOKED ? "revoked" : "unknown",
	    error != NULL ? " error=\"" : "", error != NULL ? error : "",
	    error != NULL ? "\"" : "");
	if (value != NULL)
		ocsp_cached_release(value);
	free(error);
	free(key);
}

static void
revocation_ocsp(struct revocation_checker *rc, X509 *cert, X509 *issuer, time_t now,
    struct revocation_answer *out)
{
	char *override[2] = { rc->cfg.ocsp_responder, NULL };
	char **aia = NULL, **urls;
	struct revocation_ocsp_subject s = { cert, issuer, NULL, NULL };
	char *error = NULL;

	urls = rc->cfg.ocsp_responder != NULL ? override : (aia = ocsp_responder_urls(cert));
	if (urls == NULL || urls[0] == NULL) {
		revocation_next(&out->detail);
		strbuf_appends(&out->detail, "no OCSP responder: the certificate has no "
		    "OCSP URL in authorityInfoAccess and none is configured");
		goto out;
	}
	s.cert_id = ocsp_cert_id(cert, issuer, &error);
	if (s.cert_id == NULL) {
		revocation_next(&out->detail);
		strbuf_printf(&out->detail, "OCSP: %s", error);
		free(error);
		goto out;
	}
	for (size_t i = 0; urls[i] != NULL && out->status == REVOCATION_UNKNOWN; i++)
		revocation_ocsp_ask(rc, &s, urls[i], now, out);
out:
	ocsp_query_free(s.query);
	free(s.cert_id);
	revocation_strv_free(aia);
}

/* Downloads the CRL at url, or from directory when url is NULL, and checks
 * that it is a CRL of issuer. */
static X509_CRL *
revocation_crl_fetch(struct revocation_checker *rc, X509 *issuer, const char *url,
    struct directory *directory, char **error_r)
{
	struct urlfetch_limits limits = revocation_limits(rc, rc->cfg.max_crl_size);
	unsigned char *der = NULL;
	X509_CRL *crl = NULL;
	size_t len = 0;

	if (url != NULL) {
		if (rc->transport.get(rc->transport.arg, url, &limits, NULL, &der, &len,
		    error_r) < 0)
			return NULL;
	} else if (directory_find_crl(directory, issuer, rc->cfg.max_crl_size, &der,
	    &len, error_r) != LOOKUP_FOUND) {
		return NULL;
	}
	crl = crl_parse(der, len, error_r);
	free(der);
	if (crl != NULL && crl_verify(crl, issuer, error_r) < 0) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

/* Hex SHA-256 of issuer, so that cached CRLs are keyed by the issuer that
 * they were checked against. */
static char *
revocation_issuer_id(X509 *issuer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *id;

	if (X509_digest(issuer, EVP_sha256(), md, &md_len) != 1)
		abort();
	id = xmalloc(2 * md_len + 1);
	hex_encode(id, md, md_len, false);
	return id;
}

/* Looks cert up in the CRL from url (or directory's CA entry when url is
 * NULL), through the cache. */
static void
revocation_crl_ask(struct revocation_checker *rc, X509 *cert, X509 *issuer,
    const char *url, struct directory *directory, time_t now,
    struct revocation_answer *out)
{
	char *source = url != NULL ? xasprintf("CRL %s", url) :
	    xasprintf("the CRL in the CA entry of directory %s", directory_name(directory));
	char *issuer_id = revocation_issuer_id(issuer);
	char *key = xasprintf("%s %s", source, issuer_id);
	const char *origin = "cache";
	char *error = NULL, *detail = NULL;
	void *value = NULL;

	if (revcache_begin(rc->crl_cache, key, now, &value, &error) == REVCACHE_FETCH) {
		X509_CRL *crl = revocation_crl_fetch(rc, issuer, url, directory, &error);

		origin = "download";
		revcache_finish(rc->crl_cache, key, crl != NULL ? crl_dup(crl) : NULL,
		    crl != NULL ? crl_fresh_until(crl, rc->cfg.max_age) : 0, error);
		if (crl != NULL) {
			if (value != NULL)
				crl_release(value);
			value = crl;
		}
	}

	if (value != NULL) {
		struct crl_entry entry;
		enum crl_result r = crl_lookup(value, cert, now, rc->cfg.clock_skew,
		    rc->cfg.max_age, &entry, &detail);

		if (r == CRL_REVOKED) {
			/* Only the revocation matters, not the sources that failed. */
			out->status = REVOCATION_REVOKED;
			strbuf_reset(&out->detail);
			revocation_describe_revoked(&out->detail, entry.revocation_time,
			    entry.reason, source);
		} else if (r == CRL_GOOD) {
			revocation_next(&out->detail);
			out->status = REVOCATION_GOOD;
			strbuf_printf(&out->detail, "%s according to %s", detail, source);
		} else {
			revocation_next(&out->detail);
			strbuf_printf(&out->detail, "%s: %s%s%s", source, detail,
			    error != NULL ? ", and downloading a new one failed: " : "",
			    error != NULL ? error : "");
		}
	} else {
		revocation_next(&out->detail);
		strbuf_printf(&out->detail, "%s: %s", source, error != NULL ? error :
		    "no CRL was obtained");
	}
	log_debug("revocation crl source=\"%s\" from=%s status=%s%s%s%s", source, origin,
	    out->status == REVOCATION_GOOD ? "good" :
	    out->status == REVOCATION_REVOKED ? "revoked" : "unknown",
	    error != NULL ? " error=\"" : "", error != NULL ? error : "",
	    error != NULL ? "\"" : "");
	if (value != NULL)
		crl_release(value);
	free(detail);
	free(error);
	free(key);
	free(issuer_id);
	free(source);
}

static void
revocation_crl(struct revocation_checker *rc, X509 *cert, X509 *issuer,
    struct directory *directory, time_t now, struct revocation_answer *out)
{
	char **urls = crl_distribution_urls(cert);

	for (size_t i = 0; urls != NULL && urls[i] != NULL &&
	    out->status == REVOCATION_UNKNOWN; i++)
		revocation_crl_ask(rc, cert, issuer, urls[i], NULL, now, out);
	if (directory != NULL && !directory_has_cas(directory))
		directory = NULL;
	if (out->status == REVOCATION_UNKNOWN && directory != NULL)
		revocation_crl_ask(rc, cert, issuer, NULL, directory, now, out);
	if ((urls == NULL || urls[0] == NULL) && directory == NULL) {
		revocation_next(&out->detail);
		strbuf_appends(&out->detail, "no CRL: the certificate has no supported "
		    "cRLDistributionPoints URL");
	}
	revocation_strv_free(urls);
}

/* Finds the status of cert, issued by issuer, by method. */
static void
revocation_check_one(struct revocation_checker *rc, enum revocation_method method,
    X509 *cert, X509 *issuer, struct directory *directory, time_t now,
    struct revocation_answer *out)
{
	out->status = REVOCATION_UNKNOWN;
	if (method == REVOCATION_OCSP_THEN_CRL || method == REVOCATION_OCSP) {
		revocation_ocsp(rc, cert, issuer, now, out);
		if (out->status != REVOCATION_UNKNOWN || method == REVOCATION_OCSP)
			return;
	}
	revocation_crl(rc, cert, issuer, directory, now, out);
}

/* Records the certificate that decides the result. */
static void
revocation_set_result(struct revocation_result *result, enum revocation_status status,
    X509 *cert, struct strbuf *detail)
{
	revocation_result_clear(result);
	result->status = status;
	result->serial = cert_serial_string(cert);
	result->subject = cert_subject_string(cert);
	result->detail = xasprintf("serial %s (subject \"%s\"): %s", result->serial,
	    result->subject, strbuf_str(detail));
}

void
revocation_check_chain(struct revocation_checker *rc, enum revocation_method method,
    X509 *cert, STACK_OF(X509) *chain, struct directory *directory, time_t now,
    struct revocation_result *result)
{
	struct strbuf good = STRBUF_INIT;
	int n = sk_X509_num(chain);

	memset(result, 0, sizeof(*result));
	result->status = REVOCATION_GOOD;
	if (method == REVOCATION_NONE) {
		result->detail = xstrdup("revocation checking is off");
		return;
	}
	/* From the certificate below the anchor down to cert, so that a
	 * revoked CA is named even when its certificates look good. */
	for (int i = n - 2; i >= -1 && result->status != REVOCATION_REVOKED; i--) {
		X509 *subject = i >= 0 ? sk_X509_value(chain, i) : cert;
		struct revocation_answer a = { REVOCATION_UNKNOWN, STRBUF_INIT };

		revocation_check_one(rc, method, subject, sk_X509_value(chain, i + 1),
		    directory, now, &a);
		if (a.status == REVOCATION_REVOKED ||
		    (a.status == REVOCATION_UNKNOWN && result->status == REVOCATION_GOOD)) {
			revocation_set_result(result, a.status, subject, &a.detail);
		} else if (a.status == REVOCATION_GOOD) {
			char *serial = cert_serial_string(subject);

			revocation_next(&good);
			strbuf_printf(&good, "serial %s: %s", serial, strbuf_str(&a.detail));
			free(serial);
		}
		strbuf_free(&a.detail);
	}
	if (result->status == REVOCATION_GOOD)
		result->detail = good.len > 0 ? strbuf_detach(&good, NULL) :
		    xstrdup("no certificate below the trust anchor");
	strbuf_free(&good);
}

void
revocation_result_clear(struct revocation_result *result)
{
	free(result->serial);
	free(result->subject);
	free(result->detail);
	memset(result, 0, sizeof(*result));
}
