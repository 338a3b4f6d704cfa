/* Revocation checking of certificate chains through OCSP (RFC 6960) and
 * CRLs (RFC 5280), in the order a policy sets, with caches of OCSP answers
 * and CRLs shared by all threads. Applying hard-fail or soft-fail to an
 * unknown status is the caller's job. */
#ifndef SMIMEGW_REVOCATION_H
#define SMIMEGW_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "certs/directory.h"
#include "certs/revcache.h"
#include "certs/urlfetch.h"

enum revocation_method {
	REVOCATION_OCSP_THEN_CRL,	/* CRLs when OCSP gives no answer */
	REVOCATION_OCSP,
	REVOCATION_CRL,
	REVOCATION_NONE,
};

/* Parses "ocsp-then-crl", "ocsp", "crl" or "none". Returns 0, or -1 for
 * anything else. */
int revocation_method_parse(const char *name, enum revocation_method *method_r);

const char *revocation_method_name(enum revocation_method method);

/* What to check, and whether an unknown status is accepted (soft-fail) or
 * stops the use of the certificate (hard-fail). */
struct revocation_policy {
	enum revocation_method method;
	bool soft_fail;
};

struct revocation_config {
	char *ocsp_responder;	/* asked for every certificate; NULL: the AIA's */
	bool ocsp_get;		/* GET when its URL has at most 255 bytes, else POST */
	bool ocsp_nonce_required;	/* reject responses without the nonce sent */
	int clock_skew;		/* seconds of tolerance on thisUpdate and nextUpdate */
	int max_age;		/* seconds: oldest thisUpdate accepted without nextUpdate */
	int timeout;		/* seconds per download */
	size_t max_crl_size;	/* bytes */
	size_t ocsp_cache_size;	/* certificates */
	size_t crl_cache_size;	/* CRLs */
};

/* Fills cfg with the defaults: 300 seconds of clock skew, max_age 3600,
 * timeout 5, 20 MiB CRLs, 10000 OCSP answers and 64 CRLs in the caches,
 * GET enabled, nonce optional. */
void revocation_config_defaults(struct revocation_config *cfg);

/* How revocation data is downloaded; tests replace it. The functions have
 * the contracts of urlfetch_get and urlfetch_post. */
struct revocation_transport {
	int (*get)(void *arg, const char *url, const struct urlfetch_limits *limits,
	    const char *expected_type, unsigned char **data_r, size_t *len_r,
	    char **error_r);
	int (*post)(void *arg, const char *url, const struct urlfetch_limits *limits,
	    const char *content_type, const unsigned char *body, size_t body_len,
	    const char *expected_type, unsigned char **data_r, size_t *len_r,
	    char **error_r);
	void *arg;
};

struct revocation_checker;

/* Returns a checker with a deep copy of cfg that downloads through
 * transport (copied; NULL: urlfetch over the network). */
struct revocation_checker *revocation_checker_new(const struct revocation_config *cfg,
    const struct revocation_transport *transport);

/* Frees rc. No check may be running. */
void revocation_checker_free(struct revocation_checker *rc);

enum revocation_status { REVOCATION_GOOD, REVOCATION_REVOKED, REVOCATION_UNKNOWN };

struct revocation_result {
	enum revocation_status status;
	/* The certificate that is revoked or whose status is unknown:
	 * serial in hexadecimal and subject (allocated), NULL when GOOD. */
	char *serial;
	char *subject;
	/* Allocated: for REVOKED the source, date and reason; for UNKNOWN every
	 * OCSP responder and CRL tried (URL) and why it gave no answer; for
	 * GOOD the sources that answered. */
	char *detail;
};

/* Checks cert and every certificate of chain but the last (the trust
 * anchor), each with the next one as its issuer, by method at now. chain is
 * ordered as cert_validate_chain returns it. The certificates are checked
 * from the top down and all of them are checked unless one is revoked.
 * CRLs come from the distribution points of each certificate and then, when
 * none gave a status and directory has a caBase, from the issuer's CA entry
 * in directory. The result is REVOKED when a certificate is revoked, else
 * UNKNOWN when the status of one could not be obtained, else GOOD. The
 * caller clears *result with revocation_result_clear. */
void revocation_check_chain(struct revocation_checker *rc, enum revocation_method method,
    X509 *cert, STACK_OF(X509) *chain, struct directory *directory, time_t now,
    struct revocation_result *result);

void revocation_result_clear(struct revocation_result *result);

struct revocation_stats {
	struct revcache_stats ocsp;	/* keys: responder URL and CertID */
	struct revcache_stats crl;	/* keys: CRL URL (or CA entry) and issuer */
	/* OCSP requests built: one per certificate check that had to ask a
	 * responder, none when the cache had every status. */
	uint64_t ocsp_requests;
};

void revocation_get_stats(struct revocation_checker *rc, struct revocation_stats *stats);

#endif
