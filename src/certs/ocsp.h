/* OCSP (RFC 6960): the request for one certificate and the checks of a
 * response to it: responseStatus, nonce, signer authorisation, signature,
 * CertID and time window. Sending the request is the caller's job. */
#ifndef SMIMEGW_OCSP_H
#define SMIMEGW_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

/* A request for one certificate: its CertID (SHA-1, as responders
 * universally support) and the DER-encoded OCSPRequest. */
struct ocsp_query;

/* Builds the request for cert, issued by issuer, with a random 16-byte
 * nonce extension when nonce is set. Returns 0 with *query_r, or -1 with
 * *error_r. */
int ocsp_query_new(X509 *cert, X509 *issuer, bool nonce, struct ocsp_query **query_r,
    char **error_r);

void ocsp_query_free(struct ocsp_query *q);

/* Returns the DER request, owned by q. */
const unsigned char *ocsp_query_der(const struct ocsp_query *q, size_t *len_r);

/* Returns the CertID fields in hexadecimal ("hashOID/nameHash/keyHash/serial"),
 * owned by q, e.g. as a cache key. */
const char *ocsp_query_cert_id(const struct ocsp_query *q);

/* Returns the CertID of cert, issued by issuer, in the form of
 * ocsp_query_cert_id, without building a request, so that a cached status
 * can be found cheaply. Allocated; NULL with *error_r when the issuer's
 * name or key cannot be hashed. */
char *ocsp_cert_id(X509 *cert, X509 *issuer, char **error_r);

/* Returns the URL of the GET form of q (RFC 6960 appendix A.1): the
 * responder URL, a slash, and the URL-encoded base64 of the DER request.
 * Allocated. */
char *ocsp_query_get_url(const struct ocsp_query *q, const char *responder_url);

struct ocsp_check_params {
	time_t now;
	int clock_skew;		/* seconds allowed on thisUpdate and nextUpdate */
	int max_age;		/* seconds: oldest thisUpdate accepted without nextUpdate */
	bool nonce_required;	/* reject a response without the nonce sent */
};

enum ocsp_cert_status { OCSP_CERT_GOOD, OCSP_CERT_REVOKED, OCSP_CERT_UNKNOWN };

/* What a usable response says about the certificate. */
struct ocsp_answer {
	enum ocsp_cert_status status;	/* UNKNOWN: the responder does not know it */
	int reason;		/* CRLReason of a revoked certificate, -1 when absent */
	time_t revocation_time;	/* when revoked */
	time_t this_update;
	time_t next_update;	/* 0 when the response has none */
};

/* Checks the DER OCSPResponse der against q, issued by issuer, at
 * params->now. The response is usable only when, in this order:
 * 1. responseStatus is successful and the response is a BasicOCSPResponse;
 * 2. it is signed by issuer's key, or by a certificate issued by issuer
 *    (its signature checked) with extendedKeyUsage id-kp-OCSPSigning and
 *    valid at now;
 * 3. it carries the nonce of q, or none when !params->nonce_required;
 * 4. a SingleResponse matches the full CertID of q (when several do, a
 *    revoked one wins);
 * 5. thisUpdate is at most clock_skew in the future, and nextUpdate at most
 *    clock_skew in the past, or, without nextUpdate, thisUpdate is at most
 *    max_age old.
 * Returns 0 with *answer_r, or -1 with *error_r saying which check failed.
 * A response that fails any check says nothing about the certificate. */
int ocsp_response_check(const struct ocsp_query *q, X509 *issuer,
    const unsigned char *der, size_t len, const struct ocsp_check_params *params,
    struct ocsp_answer *answer_r, char **error_r);

/* Returns the http:// responder URLs of the authorityInfoAccess extension
 * of cert as an allocated NULL-terminated array of allocated strings, or
 * NULL when it has none. */
char **ocsp_responder_urls(X509 *cert);

#endif
