/* OCSP requests and response checks (RFC 6960) with OpenSSL's OCSP types;
 * the signer authorisation and the time window are checked here, not by
 * OCSP_basic_verify, so that each rule is explicit. */
#include "certs/ocsp.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "certs/sslerr.h"
#include "certs/validate.h"
#include "util/hex.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* The nonce length that RFC 8954 requires responders to accept. */
#define OCSP_NONCE_LENGTH 16

/* The dotted form of id-sha1, the hash algorithm of every CertID built
 * here. */
#define OCSP_SHA1_OID "1.3.14.3.2.26"

/* SHA-1 for ocsp_cert_id, fetched once and kept until the process ends.
 * With OpenSSL 3.0, each digest with EVP_sha1() fetches the implementation
 * again, under a lock that all threads share. */
static EVP_MD *ocsp_sha1;
static pthread_once_t ocsp_sha1_once = PTHREAD_ONCE_INIT;

struct ocsp_query {
	OCSP_REQUEST *request;
	OCSP_CERTID *id;	/* owned by request */
	unsigned char *der;
	size_t der_len;
	char *cert_id;
};

static void
ocsp_sha1_fetch(void)
{
	ocsp_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

/* Formats the fields of a CertID as "hashOID/nameHash/keyHash/serial",
 * where oid is the dotted form of hashAlgorithm. */
static char *
ocsp_cert_id_format(const char *oid, const unsigned char *name_hash, size_t name_len,
    const unsigned char *key_hash, size_t key_len, const ASN1_INTEGER *serial)
{
	size_t oid_len = strlen(oid);
	size_t serial_len = (size_t)ASN1_STRING_length(serial);
	char *s = xmalloc(oid_len + 2 * (name_len + key_len + serial_len) + 4);
	char *p = s;

	memcpy(p, oid, oid_len);
	p += oid_len;
	*p++ = '/';
	p = hex_encode(p, name_hash, name_len, true);
	*p++ = '/';
	p = hex_encode(p, key_hash, key_len, true);
	*p++ = '/';
	hex_encode(p, ASN1_STRING_get0_data(serial), serial_len, true);
	return s;
}

static char *
ocsp_cert_id_string(OCSP_CERTID *id)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *hash_oid = NULL;
	ASN1_INTEGER *serial = NULL;
	char oid[64];

	OCSP_id_get0_info(&name_hash, &hash_oid, &key_hash, &serial, id);
	OBJ_obj2txt(oid, sizeof(oid), hash_oid, 1);
	return ocsp_cert_id_format(oid, ASN1_STRING_get0_data(name_hash),
	    (size_t)ASN1_STRING_length(name_hash), ASN1_STRING_get0_data(key_hash),
	    (size_t)ASN1_STRING_length(key_hash), serial);
}

char *
ocsp_cert_id(X509 *cert, X509 *issuer, char **error_r)
{
	unsigned char name_hash[EVP_MAX_MD_SIZE], key_hash[EVP_MAX_MD_SIZE];
	unsigned int name_len = 0, key_len = 0;
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(issuer);
	const unsigned char *name_der = NULL;
	size_t name_der_len = 0;

	/* The hashes of OCSP_cert_to_id: of the DER of the issuer's subject
	 * name, and of the issuer's subjectPublicKey bit string. */
	pthread_once(&ocsp_sha1_once, ocsp_sha1_fetch);
	if (ocsp_sha1 == NULL || key == NULL ||
	    X509_NAME_get0_der(X509_get_subject_name(issuer), &name_der,
	    &name_der_len) != 1 ||
	    EVP_Digest(name_der, name_der_len, name_hash, &name_len, ocsp_sha1, NULL) != 1 ||
	    EVP_Digest(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key),
	    key_hash, &key_len, ocsp_sha1, NULL) != 1) {
		char *ssl = sslerr_pop();
		*error_r = xasprintf("computing the OCSP CertID failed: %s", ssl);
		free(ssl);
		return NULL;
	}
	return ocsp_cert_id_format(OCSP_SHA1_OID, name_hash, name_len, key_hash, key_len,
	    X509_get0_serialNumber(cert));
}

int
ocsp_query_new(X509 *cert, X509 *issuer, bool nonce, struct ocsp_query **query_r,
    char **error_r)
{
	struct ocsp_query *q = xcalloc(1, sizeof(*q));
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
	unsigned char *der = NULL;
	int len;

	q->request = OCSP_REQUEST_new();
	if (id == NULL || q->request == NULL ||
	    OCSP_request_add0_id(q->request, id) == NULL) {
		char *ssl = sslerr_pop();
		*error_r = xasprintf("building the OCSP request failed: %s", ssl);
		free(ssl);
		OCSP_CERTID_free(id);
		ocsp_query_free(q);
		return -1;
	}
	q->id = id;
	if (nonce && OCSP_request_add1_nonce(q->request, NULL, OCSP_NONCE_LENGTH) != 1)
		abort();
	len = i2d_OCSP_REQUEST(q->request, &der);
	if (len <= 0)
		abort();
	q->der = xmalloc((size_t)len);
	memcpy(q->der, der, (size_t)len);
	q->der_len = (size_t)len;
	OPENSSL_free(der);
	q->cert_id = ocsp_cert_id_string(id);
	*query_r = q;
	return 0;
}

void
ocsp_query_free(struct ocsp_query *q)
{
	if (q == NULL)
		return;
	OCSP_REQUEST_free(q->request);
	free(q->der);
	free(q->cert_id);
	free(q);
}

const unsigned char *
ocsp_query_der(const struct ocsp_query *q, size_t *len_r)
{
	*len_r = q->der_len;
	return q->der;
}

const char *
ocsp_query_cert_id(const struct ocsp_query *q)
{
	return q->cert_id;
}

char *
ocsp_query_get_url(const struct ocsp_query *q, const char *responder_url)
{
	size_t b64_size = 4 * ((q->der_len + 2) / 3) + 1;
	unsigned char *b64 = xmalloc(b64_size);
	struct strbuf url = STRBUF_INIT;
	size_t base_len = strlen(responder_url);

	EVP_EncodeBlock(b64, q->der, (int)q->der_len);
	strbuf_appends(&url, responder_url);
	if (base_len == 0 || responder_url[base_len - 1] != '/')
		strbuf_appendc(&url, '/');
	for (const unsigned char *p = b64; *p != '\0'; p++) {
		if (*p == '+' || *p == '/' || *p == '=')
			hex_append_escape(&url, '%', *p, true);
		else
			strbuf_appendc(&url, (char)*p);
	}
	free(b64);
	return strbuf_detach(&url, NULL);
}

/* Returns true when a and b have the same subject and public key, so that
 * a re-issued CA certificate counts as the same issuer. */
static bool
ocsp_same_entity(X509 *a, X509 *b)
{
	EVP_PKEY *ka = X509_get0_pubkey(a), *kb = X509_get0_pubkey(b);

	return ka != NULL && kb != NULL && EVP_PKEY_eq(ka, kb) == 1 &&
	    X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0;
}

/* Checks a delegated responder certificate (RFC 6960 4.2.2.2): issued and
 * signed by issuer, id-kp-OCSPSigning in extendedKeyUsage, valid now. */
static int
ocsp_check_delegate(X509 *signer, X509 *issuer, const struct ocsp_check_params *p,
    char **error_r)
{
	EVP_PKEY *issuer_key = X509_get0_pubkey(issuer);
	uint32_t flags = X509_get_extension_flags(signer);
	time_t not_before, not_after;

	if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(issuer)) != 0 ||
	    issuer_key == NULL || X509_verify(signer, issuer_key) != 1) {
		ERR_clear_error();
		*error_r = xstrdup("the response is signed by a certificate that the "
		    "issuer of the certificate did not issue");
		return -1;
	}
	if ((flags & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
		*error_r = xstrdup("the responder certificate is not authorised: its "
		    "extendedKeyUsage lacks id-kp-OCSPSigning");
		return -1;
	}
	if (cert_time_epoch(X509_get0_notBefore(signer), &not_before) < 0 ||
	    cert_time_epoch(X509_get0_notAfter(signer), &not_after) < 0 ||
	    not_before > p->now + p->clock_skew || not_after < p->now - p->clock_skew) {
		*error_r = xstrdup("the responder certificate is not valid now");
		return -1;
	}
	/* NOTE: the responder certificate's own revocation status is not
	 * checked, as if every responder certificate had id-pkix-ocsp-nocheck. */
	return 0;
}

/* Finds the signer of bs among its certificates and issuer, checks that it
 * may speak for issuer and verifies the signature with its key. */
static int
ocsp_check_signature(OCSP_BASICRESP *bs, X509 *issuer, const struct ocsp_check_params *p,
    char **error_r)
{
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509 *signer = NULL;
	int ret = -1;

	if (extra == NULL || sk_X509_push(extra, issuer) <= 0)
		abort();
	if (OCSP_resp_get0_signer(bs, &signer, extra) != 1 || signer == NULL) {
		*error_r = xstrdup("the response names a responder that is neither the "
		    "issuer nor one of the response's certificates");
		goto out;
	}
	if (!ocsp_same_entity(signer, issuer) &&
	    ocsp_check_delegate(signer, issuer, p, error_r) < 0)
		goto out;
	if (ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA),
	    (X509_ALGOR *)OCSP_resp_get0_tbs_sigalg(bs),
	    (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs),
	    (void *)OCSP_resp_get0_respdata(bs), X509_get0_pubkey(signer)) != 1) {
		char *ssl = sslerr_pop();
		*error_r = xasprintf("the signature of the response is invalid: %s", ssl);
		free(ssl);
		goto out;
	}
	ret = 0;
out:
	sk_X509_free(extra);
	ERR_clear_error();
	return ret;
}

static int
ocsp_check_nonce(const struct ocsp_query *q, OCSP_BASICRESP *bs,
    const struct ocsp_check_params *p, char **error_r)
{
	switch (OCSP_check_nonce(q->request, bs)) {
	case 1:		/* equal */
	case 2:		/* in neither */
	case 3:		/* only in the response */
		return 0;
	case -1:	/* only in the request */
		if (!p->nonce_required)
			return 0;
		*error_r = xstrdup("the response has no nonce, and nonces are required");
		return -1;
	default:
		*error_r = xstrdup("the nonce of the response differs from the request's");
		return -1;
	}
}

/* Finds the SingleResponse for q's CertID: the first one, or a revoked
 * one when several match. */
static OCSP_SINGLERESP *
ocsp_find_single(const struct ocsp_query *q, OCSP_BASICRESP *bs)
{
	OCSP_SINGLERESP *found = NULL;

	for (int idx = OCSP_resp_find(bs, q->id, -1); idx >= 0;
	    idx = OCSP_resp_find(bs, q->id, idx)) {
		OCSP_SINGLERESP *single = OCSP_resp_get0(bs, idx);

		if (found == NULL ||
		    OCSP_single_get0_status(single, NULL, NULL, NULL, NULL) ==
		    V_OCSP_CERTSTATUS_REVOKED)
			found = single;
	}
	return found;
}

static int
ocsp_check_times(ASN1_GENERALIZEDTIME *this_update, ASN1_GENERALIZEDTIME *next_update,
    const struct ocsp_check_params *p, struct ocsp_answer *a, char **error_r)
{
	char buf[32];

	if (cert_time_epoch(this_update, &a->this_update) < 0 ||
	    (next_update != NULL && cert_time_epoch(next_update, &a->next_update) < 0)) {
		*error_r = xstrdup("thisUpdate or nextUpdate of the response cannot be read");
		return -1;
	}
	if (a->this_update > p->now + p->clock_skew) {
		*error_r = xasprintf("thisUpdate %s of the response is in the future",
		    cert_time_string(this_update, buf, sizeof(buf)));
		return -1;
	}
	if (next_update == NULL) {
		a->next_update = 0;
		if (a->this_update >= p->now - p->max_age)
			return 0;
		*error_r = xasprintf("the response has no nextUpdate and its thisUpdate %s "
		    "is more than %d seconds old", cert_time_string(this_update, buf,
		    sizeof(buf)), p->max_age);
		return -1;
	}
	if (a->next_update < a->this_update) {
		*error_r = xstrdup("nextUpdate of the response is before its thisUpdate");
		return -1;
	}
	if (a->next_update < p->now - p->clock_skew) {
		*error_r = xasprintf("the response is stale: nextUpdate %s is in the past",
		    cert_time_string(next_update, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

/* Fills a from the SingleResponse of q. */
static int
ocsp_read_single(const struct ocsp_query *q, OCSP_BASICRESP *bs,
    const struct ocsp_check_params *p, struct ocsp_answer *a, char **error_r)
{
	ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
	OCSP_SINGLERESP *single = ocsp_find_single(q, bs);
	int status, reason = -1;

	if (single == NULL) {
		*error_r = xasprintf("the response has no SingleResponse for CertID %s",
		    q->cert_id);
		return -1;
	}
	status = OCSP_single_get0_status(single, &reason, &revoked_at, &this_update,
	    &next_update);
	if (ocsp_check_times(this_update, next_update, p, a, error_r) < 0)
		return -1;
	a->reason = -1;
	a->revocation_time = 0;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		a->status = OCSP_CERT_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		a->status = OCSP_CERT_REVOKED;
		a->reason = reason;
		if (cert_time_epoch(revoked_at, &a->revocation_time) < 0)
			a->revocation_time = 0;
		break;
	default:
		a->status = OCSP_CERT_UNKNOWN;
		break;
	}
	return 0;
}

int
ocsp_response_check(const struct ocsp_query *q, X509 *issuer, const unsigned char *der,
    size_t len, const struct ocsp_check_params *params, struct ocsp_answer *answer_r,
    char **error_r)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = NULL;
	int status, ret = -1;

	if (resp == NULL) {
		ERR_clear_error();
		*error_r = xstrdup("the response is not a DER OCSPResponse");
		goto out;
	}
	/* responseStatus first: only "successful" carries a status at all. */
	status = OCSP_response_status(resp);
	if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		*error_r = xasprintf("the responder returned responseStatus %s (%d)",
		    OCSP_response_status_str(status), status);
		goto out;
	}
	bs = OCSP_response_get1_basic(resp);
	if (bs == NULL) {
		ERR_clear_error();
		*error_r = xstrdup("the response is not a BasicOCSPResponse");
		goto out;
	}
	if (ocsp_check_signature(bs, issuer, params, error_r) < 0 ||
	    ocsp_check_nonce(q, bs, params, error_r) < 0 ||
	    ocsp_read_single(q, bs, params, answer_r, error_r) < 0)
		goto out;
	ret = 0;
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return ret;
}

char **
ocsp_responder_urls(X509 *cert)
{
	STACK_OF(OPENSSL_STRING) *uris = X509_get1_ocsp(cert);
	char **urls = NULL;
	size_t count = 0;

	for (int i = 0; i < sk_OPENSSL_STRING_num(uris); i++) {
		const char *uri = sk_OPENSSL_STRING_value(uris, i);

		if (strncasecmp(uri, "http://", 7) != 0)
			continue;
		urls = xreallocarray(urls, count + 2, sizeof(*urls));
		urls[count++] = xstrdup(uri);
		urls[count] = NULL;
	}
	X509_email_free(uris);
	return urls;
}
