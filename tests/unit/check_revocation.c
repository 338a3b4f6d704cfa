/* Unit tests of revocation checking: the cache, OCSP response checks, CRL
 * checks and the checker's policy, with a PKI and OCSP responses built
 * in-process and a fake transport in place of the network. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "certs/crl.h"
#include "certs/ocsp.h"
#include "certs/resolve.h"
#include "certs/revcache.h"
#include "certs/revocation.h"
#include "certs/validate.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define HOUR 3600
#define DAY (24 * HOUR)

#define OCSP_ROOT_URL "http://ocsp.test/root"
#define OCSP_ISSUER_URL "http://ocsp.test/issuer"
#define CRL_ROOT_URL "http://crl.test/root.crl"
#define CRL_ISSUER_URL "http://crl.test/issuer.crl"
#define ALICE "alice@example.org"

/* For the helpers that build the PKI before the test runner starts. */
#define require(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static time_t test_now;

static EVP_PKEY *key_root, *key_issuer, *key_leaf, *key_delegate, *key_other;
static X509 *cert_root, *cert_issuer, *cert_leaf, *cert_leaf2, *cert_delegate;
static X509 *cert_rogue, *cert_other_root, *cert_other_delegate, *cert_no_crlsign;
static X509 *cert_bare;		/* no AIA, no CDP */
static STACK_OF(X509) *chain_leaf;	/* issuer, root */

/* What a generated certificate looks like; times are days from test_now. */
struct cert_spec {
	const char *cn;
	long not_before_days, not_after_days;
	const char *key_usage;
	const char *ext_key_usage;
	const char *aia;	/* X509v3 config value of authorityInfoAccess */
	const char *cdp;	/* ... of crlDistributionPoints */
	bool ca;
	const char *san;	/* ... of subjectAltName, or NULL */
};

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	require(ext != NULL);
	require(X509_add_ext(cert, ext, -1) == 1);
	X509_EXTENSION_free(ext);
}

static X509 *
make_cert(const struct cert_spec *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	static long serial = 0x1000;
	X509 *x = X509_new();
	X509_NAME *name;

	require(x != NULL);
	name = X509_get_subject_name(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_time_adj_ex(X509_getm_notBefore(x), (int)s->not_before_days, 0, &test_now);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)s->not_after_days, 0, &test_now);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)s->cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);

	X509 *signer = issuer != NULL ? issuer : x;
	add_ext(x, signer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(x, signer, NID_subject_key_identifier, "hash");
	add_ext(x, signer, NID_authority_key_identifier, "keyid");
	if (s->key_usage != NULL)
		add_ext(x, signer, NID_key_usage, s->key_usage);
	if (s->ext_key_usage != NULL)
		add_ext(x, signer, NID_ext_key_usage, s->ext_key_usage);
	if (s->aia != NULL)
		add_ext(x, signer, NID_info_access, s->aia);
	if (s->cdp != NULL)
		add_ext(x, signer, NID_crl_distribution_points, s->cdp);
	if (s->san != NULL)
		add_ext(x, signer, NID_subject_alt_name, s->san);
	require(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
	/* Fill the extension cache before threads share the certificate. */
	X509_check_purpose(x, -1, 0);
	return x;
}

static void
pki_setup(void)
{
	const struct cert_spec root = { "Root CA", -1000, 3000, "critical,keyCertSign,cRLSign",
	    NULL, NULL, NULL, true, NULL };
	const struct cert_spec issuer = { "Mail CA", -500, 2000,
	    "critical,keyCertSign,cRLSign", NULL, "OCSP;URI:" OCSP_ROOT_URL,
	    "URI:" CRL_ROOT_URL, true, NULL };
	const struct cert_spec leaf = { "Alice", -10, 300, "digitalSignature,keyAgreement",
	    "emailProtection", "OCSP;URI:" OCSP_ISSUER_URL, "URI:" CRL_ISSUER_URL, false,
	    "email:" ALICE };
	const struct cert_spec leaf2 = { "Bob", -10, 300, "digitalSignature,keyAgreement",
	    "emailProtection", "OCSP;URI:" OCSP_ISSUER_URL, "URI:" CRL_ISSUER_URL, false,
	    NULL };
	const struct cert_spec bare = { "Carol", -10, 300, "digitalSignature,keyAgreement",
	    "emailProtection", NULL, NULL, false, NULL };
	const struct cert_spec delegate = { "Mail CA OCSP", -10, 300, "digitalSignature",
	    "OCSPSigning", NULL, NULL, false, NULL };
	const struct cert_spec rogue = { "Mail CA Rogue", -10, 300, "digitalSignature",
	    "emailProtection", NULL, NULL, false, NULL };
	const struct cert_spec other_root = { "Other Root CA", -1000, 3000,
	    "critical,keyCertSign,cRLSign", NULL, NULL, NULL, true, NULL };
	const struct cert_spec no_crlsign = { "Mail CA", -500, 2000, "critical,keyCertSign",
	    NULL, NULL, NULL, true, NULL };

	test_now = time(NULL);
	key_root = EVP_EC_gen("P-256");
	key_issuer = EVP_EC_gen("P-256");
	key_leaf = EVP_EC_gen("P-256");
	key_delegate = EVP_EC_gen("P-256");
	key_other = EVP_EC_gen("P-256");
	require(key_root && key_issuer && key_leaf && key_delegate && key_other);

	cert_root = make_cert(&root, key_root, NULL, NULL);
	cert_issuer = make_cert(&issuer, key_issuer, cert_root, key_root);
	cert_leaf = make_cert(&leaf, key_leaf, cert_issuer, key_issuer);
	cert_leaf2 = make_cert(&leaf2, key_leaf, cert_issuer, key_issuer);
	cert_bare = make_cert(&bare, key_leaf, cert_issuer, key_issuer);
	cert_delegate = make_cert(&delegate, key_delegate, cert_issuer, key_issuer);
	cert_rogue = make_cert(&rogue, key_delegate, cert_issuer, key_issuer);
	cert_other_root = make_cert(&other_root, key_other, NULL, NULL);
	cert_other_delegate = make_cert(&delegate, key_delegate, cert_other_root, key_other);
	cert_no_crlsign = make_cert(&no_crlsign, key_issuer, cert_root, key_root);

	chain_leaf = sk_X509_new_null();
	require(chain_leaf != NULL);
	X509_up_ref(cert_issuer);
	X509_up_ref(cert_root);
	sk_X509_push(chain_leaf, cert_issuer);
	sk_X509_push(chain_leaf, cert_root);
}

static void
pki_teardown(void)
{
	sk_X509_pop_free(chain_leaf, X509_free);
	X509 *certs[] = { cert_root, cert_issuer, cert_leaf, cert_leaf2, cert_bare,
	    cert_delegate, cert_rogue, cert_other_root, cert_other_delegate,
	    cert_no_crlsign };
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		X509_free(certs[i]);
	EVP_PKEY *keys[] = { key_root, key_issuer, key_leaf, key_delegate, key_other };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EVP_PKEY_free(keys[i]);
}

/* ---- OCSP responses ---- */

enum signer_kind { SIGNER_ISSUER, SIGNER_DELEGATE, SIGNER_ROGUE, SIGNER_OTHER_CA };
enum nonce_kind { NONCE_ECHO, NONCE_NONE, NONCE_WRONG };

/* How a generated OCSP response looks; times are seconds from test_now. */
struct resp_spec {
	int response_status;	/* OCSP_RESPONSE_STATUS_* */
	int cert_status;	/* V_OCSP_CERTSTATUS_* */
	int reason;
	long this_update;
	bool has_next_update;
	long next_update;
	enum signer_kind signer;
	enum nonce_kind nonce;
	bool other_cert_only;	/* the single response is for cert_leaf2 */
	bool extra_single;	/* a single response for cert_leaf2 first */
	bool bad_signature;
};

static const struct resp_spec resp_good = {
	OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD, -1, -60, true, DAY,
	SIGNER_ISSUER, NONCE_ECHO, false, false, false
};

static void
add_single(OCSP_BASICRESP *bs, OCSP_CERTID *id, const struct resp_spec *s, int status)
{
	ASN1_TIME *this_update = X509_time_adj_ex(NULL, 0, s->this_update, &test_now);
	ASN1_TIME *next_update = s->has_next_update ?
	    X509_time_adj_ex(NULL, 0, s->next_update, &test_now) : NULL;
	ASN1_TIME *revoked_at = X509_time_adj_ex(NULL, -2, 0, &test_now);

	require(OCSP_basic_add1_status(bs, id, status, s->reason,
	    status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at : NULL, this_update,
	    next_update) != NULL);
	ASN1_TIME_free(this_update);
	ASN1_TIME_free(next_update);
	ASN1_TIME_free(revoked_at);
}

static void
sign_basic(OCSP_BASICRESP *bs, enum signer_kind kind)
{
	X509 *signer = cert_issuer;
	EVP_PKEY *key = key_issuer;

	if (kind == SIGNER_DELEGATE) {
		signer = cert_delegate;
		key = key_delegate;
	} else if (kind == SIGNER_ROGUE) {
		signer = cert_rogue;
		key = key_delegate;
	} else if (kind == SIGNER_OTHER_CA) {
		signer = cert_other_delegate;
		key = key_delegate;
	}
	require(OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, 0) == 1);
}

/* Returns the DER OCSPResponse for the request req_der as s describes;
 * the CertID is the request's, so responses fit any issuer. */
static unsigned char *
make_response_signed(const unsigned char *req_der, size_t req_len,
    const struct resp_spec *s, X509 *ca, EVP_PKEY *ca_key, size_t *len_r)
{
	const unsigned char *p = req_der;
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp;
	unsigned char *der = NULL, *copy;
	int len;

	require(req != NULL && bs != NULL);
	if (s->response_status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		OCSP_CERTID *asked = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
		OCSP_CERTID *other = OCSP_cert_to_id(EVP_sha1(), cert_leaf2, cert_issuer);

		if (s->extra_single || s->other_cert_only)
			add_single(bs, other, s, V_OCSP_CERTSTATUS_GOOD);
		if (!s->other_cert_only)
			add_single(bs, asked, s, s->cert_status);
		OCSP_CERTID_free(other);
		if (s->nonce == NONCE_ECHO)
			require(OCSP_copy_nonce(bs, req) == 1);
		else if (s->nonce == NONCE_WRONG)
			require(OCSP_basic_add1_nonce(bs, (unsigned char *)"0123456789abcdef",
			    16) == 1);
		if (ca != NULL)
			require(OCSP_basic_sign(bs, ca, ca_key, EVP_sha256(), NULL, 0) == 1);
		else
			sign_basic(bs, s->signer);
		if (s->bad_signature) {
			ASN1_STRING *sig = (ASN1_STRING *)OCSP_resp_get0_signature(bs);
			unsigned char *data = (unsigned char *)ASN1_STRING_get0_data(sig);

			data[ASN1_STRING_length(sig) / 2] ^= 0x01;
		}
		resp = OCSP_response_create(s->response_status, bs);
	} else {
		resp = OCSP_response_create(s->response_status, NULL);
	}
	require(resp != NULL);
	len = i2d_OCSP_RESPONSE(resp, &der);
	require(len > 0);
	copy = xmalloc((size_t)len);
	memcpy(copy, der, (size_t)len);
	*len_r = (size_t)len;
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
	return copy;
}

static unsigned char *
make_response(const struct ocsp_query *q, const struct resp_spec *s, size_t *len_r)
{
	size_t req_len;
	const unsigned char *req = ocsp_query_der(q, &req_len);

	return make_response_signed(req, req_len, s, NULL, NULL, len_r);
}

static struct ocsp_check_params
params_default(void)
{
	struct ocsp_check_params p = { test_now, 300, 3600, false };

	return p;
}

/* ---- CRLs ---- */

/* How a generated CRL looks; times are seconds from test_now. */
struct crl_spec {
	long this_update;
	bool has_next_update;
	long next_update;
	X509 *revoked;		/* listed certificate, or NULL */
	int reason;		/* -1: no reason code */
	bool delta;
	bool only_ca;		/* issuingDistributionPoint onlyContainsCACerts */
	bool indirect;
};

static const struct crl_spec crl_fresh = { -HOUR, true, DAY, NULL, -1, false, false, false };

static X509_CRL *
make_crl(const struct crl_spec *s, X509 *issuer, EVP_PKEY *key)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t;

	require(crl != NULL);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	t = X509_time_adj_ex(NULL, 0, s->this_update, &test_now);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_free(t);
	if (s->has_next_update) {
		t = X509_time_adj_ex(NULL, 0, s->next_update, &test_now);
		X509_CRL_set1_nextUpdate(crl, t);
		ASN1_TIME_free(t);
	}
	if (s->revoked != NULL) {
		X509_REVOKED *rev = X509_REVOKED_new();

		X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(s->revoked));
		t = X509_time_adj_ex(NULL, -3, 0, &test_now);
		X509_REVOKED_set_revocationDate(rev, t);
		ASN1_TIME_free(t);
		if (s->reason >= 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ASN1_ENUMERATED_set(e, s->reason);
			require(X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0) == 1);
			ASN1_ENUMERATED_free(e);
		}
		require(X509_CRL_add0_revoked(crl, rev) == 1);
	}
	if (s->delta) {
		ASN1_INTEGER *base = ASN1_INTEGER_new();

		ASN1_INTEGER_set(base, 1);
		require(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, base, 1, 0) == 1);
		ASN1_INTEGER_free(base);
	}
	if (s->only_ca || s->indirect) {
		ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

		idp->onlyCA = s->only_ca;
		idp->indirectCRL = s->indirect;
		require(X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
		    0) == 1);
		ISSUING_DIST_POINT_free(idp);
	}
	X509_CRL_sort(crl);
	require(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	return crl;
}

static unsigned char *
crl_der(X509_CRL *crl, size_t *len_r)
{
	unsigned char *der = NULL, *copy;
	int len = i2d_X509_CRL(crl, &der);

	require(len > 0);
	copy = xmalloc((size_t)len);
	memcpy(copy, der, (size_t)len);
	OPENSSL_free(der);
	*len_r = (size_t)len;
	return copy;
}

/* ---- revcache ---- */

static void *
str_dup(void *value)
{
	return xstrdup(value);
}

static void
str_release(void *value)
{
	free(value);
}

static const struct revcache_value_ops str_ops = { str_dup, str_release };

START_TEST(revcache_fetch_then_hit)
{
	struct revcache *c = revcache_new(4, &str_ops);
	struct revcache_stats st;
	void *value;
	char *error;

	ck_assert_int_eq(revcache_begin(c, "k", 100, &value, &error), REVCACHE_FETCH);
	ck_assert_ptr_null(value);
	revcache_finish(c, "k", xstrdup("v1"), 200, NULL);
	ck_assert_int_eq(revcache_begin(c, "k", 150, &value, &error), REVCACHE_DONE);
	ck_assert_str_eq(value, "v1");
	ck_assert_ptr_null(error);
	free(value);
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.fetches, 1);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.entries, 1);
	revcache_free(c);
}
END_TEST

START_TEST(revcache_expired_refetched)
{
	struct revcache *c = revcache_new(4, &str_ops);
	void *value;
	char *error;

	ck_assert_int_eq(revcache_begin(c, "k", 100, &value, &error), REVCACHE_FETCH);
	revcache_finish(c, "k", xstrdup("old"), 200, NULL);
	ck_assert_int_eq(revcache_begin(c, "k", 200, &value, &error), REVCACHE_FETCH);
	ck_assert_str_eq(value, "old");
	free(value);
	revcache_finish(c, "k", NULL, 0, "refused");
	ck_assert_int_eq(revcache_begin(c, "k", 201, &value, &error), REVCACHE_FETCH);
	ck_assert_str_eq(value, "old");
	free(value);
	revcache_finish(c, "k", xstrdup("new"), 300, NULL);
	ck_assert_int_eq(revcache_begin(c, "k", 250, &value, &error), REVCACHE_DONE);
	ck_assert_str_eq(value, "new");
	free(value);
	revcache_free(c);
}
END_TEST

START_TEST(revcache_evicts_least_recent)
{
	struct revcache *c = revcache_new(2, &str_ops);
	struct revcache_stats st;
	void *value;
	char *error;

	for (int i = 0; i < 2; i++) {
		const char *key = i == 0 ? "a" : "b";

		ck_assert_int_eq(revcache_begin(c, key, 100, &value, &error), REVCACHE_FETCH);
		revcache_finish(c, key, xstrdup(key), 1000, NULL);
	}
	/* "a" is used again, so "b" is the least recent when "c" comes. */
	ck_assert_int_eq(revcache_begin(c, "a", 100, &value, &error), REVCACHE_DONE);
	free(value);
	ck_assert_int_eq(revcache_begin(c, "c", 100, &value, &error), REVCACHE_FETCH);
	revcache_finish(c, "c", xstrdup("c"), 1000, NULL);
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_int_eq(revcache_begin(c, "a", 100, &value, &error), REVCACHE_DONE);
	free(value);
	ck_assert_int_eq(revcache_begin(c, "b", 100, &value, &error), REVCACHE_FETCH);
	revcache_finish(c, "b", NULL, 0, "gone");
	revcache_free(c);
}
END_TEST

START_TEST(revcache_forget_drops_value)
{
	struct revcache *c = revcache_new(4, &str_ops);
	void *value;
	char *error;

	ck_assert_int_eq(revcache_begin(c, "k", 100, &value, &error), REVCACHE_FETCH);
	revcache_finish(c, "k", xstrdup("v"), 1000, NULL);
	revcache_forget(c, "k");
	ck_assert_int_eq(revcache_begin(c, "k", 100, &value, &error), REVCACHE_FETCH);
	ck_assert_ptr_null(value);
	revcache_finish(c, "k", NULL, 0, NULL);
	revcache_free(c);
}
END_TEST

/* Fetches key at time 100 and stores a copy of key as its value. */
static void
revcache_fill(struct revcache *c, const char *key, time_t expires)
{
	void *value;
	char *error;

	ck_assert_int_eq(revcache_begin(c, key, 100, &value, &error), REVCACHE_FETCH);
	ck_assert_ptr_null(value);
	revcache_finish(c, key, xstrdup(key), expires, NULL);
}

/* Forgetting a key frees its place. When the key comes back, eviction
 * treats it like any other entry and takes the least recent key. */
START_TEST(revcache_evicts_after_forget)
{
	struct revcache *c = revcache_new(2, &str_ops);
	struct revcache_stats st;
	void *value;
	char *error;

	revcache_fill(c, "a", 1000);
	revcache_fill(c, "b", 1000);
	revcache_forget(c, "a");
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 1);

	revcache_fill(c, "a", 1000);
	revcache_fill(c, "c", 1000);
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_int_eq(revcache_begin(c, "a", 100, &value, &error), REVCACHE_DONE);
	ck_assert_str_eq(value, "a");
	free(value);
	ck_assert_int_eq(revcache_begin(c, "c", 100, &value, &error), REVCACHE_DONE);
	ck_assert_str_eq(value, "c");
	free(value);

	/* "b" was dropped for "c", and now "a" is the least recent. */
	revcache_fill(c, "b", 1000);
	ck_assert_int_eq(revcache_begin(c, "c", 100, &value, &error), REVCACHE_DONE);
	free(value);
	ck_assert_int_eq(revcache_begin(c, "a", 100, &value, &error), REVCACHE_FETCH);
	ck_assert_ptr_null(value);
	revcache_finish(c, "a", NULL, 0, "gone");
	revcache_free(c);
}
END_TEST

/* Fetching an expired key again replaces its value in the same entry and
 * makes it the most recent, so a new key evicts the other one. */
START_TEST(revcache_evicts_after_refetch)
{
	struct revcache *c = revcache_new(2, &str_ops);
	struct revcache_stats st;
	void *value;
	char *error;

	revcache_fill(c, "a", 200);
	revcache_fill(c, "b", 1000);
	ck_assert_int_eq(revcache_begin(c, "a", 300, &value, &error), REVCACHE_FETCH);
	ck_assert_str_eq(value, "a");
	free(value);
	revcache_finish(c, "a", xstrdup("a2"), 1000, NULL);
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);

	revcache_fill(c, "c", 1000);
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_int_eq(revcache_begin(c, "a", 300, &value, &error), REVCACHE_DONE);
	ck_assert_str_eq(value, "a2");
	free(value);
	ck_assert_int_eq(revcache_begin(c, "b", 300, &value, &error), REVCACHE_FETCH);
	ck_assert_ptr_null(value);
	revcache_finish(c, "b", NULL, 0, "gone");
	revcache_free(c);
}
END_TEST

struct waiter_args {
	struct revcache *cache;
	int outcome;
	char *value;
	char *error;
};

static void *
waiter_thread(void *arg)
{
	struct waiter_args *w = arg;
	void *value;

	w->outcome = revcache_begin(w->cache, "k", 100, &value, &w->error);
	w->value = value;
	return NULL;
}

/* Threads asking for a key that one thread is fetching wait and take its
 * result; none fetches it again. */
START_TEST(revcache_waiters_share_fetch)
{
	struct revcache *c = revcache_new(4, &str_ops);
	struct waiter_args w[4];
	pthread_t threads[4];
	struct revcache_stats st;
	void *value;
	char *error;

	ck_assert_int_eq(revcache_begin(c, "k", 100, &value, &error), REVCACHE_FETCH);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct waiter_args){ c, -1, NULL, NULL };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, waiter_thread, &w[i]), 0);
	}
	do {
		usleep(1000);
		revcache_get_stats(c, &st);
	} while (st.waits < 4);
	revcache_finish(c, "k", NULL, 0, "connection refused");
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(w[i].outcome, REVCACHE_DONE);
		ck_assert_ptr_null(w[i].value);
		ck_assert_str_eq(w[i].error, "connection refused");
		free(w[i].error);
	}
	revcache_get_stats(c, &st);
	ck_assert_uint_eq(st.fetches, 1);
	revcache_free(c);
}
END_TEST

/* ---- OCSP ---- */

struct ocsp_case {
	const char *name;
	struct resp_spec spec;
	bool nonce_required;
	int ret;			/* 0 or -1 */
	int status;			/* OCSP_CERT_* when ret is 0 */
	const char *error_part;		/* in the error when ret is -1 */
};

static const struct ocsp_case ocsp_cases[] = {
	{ "good from issuer", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD, -1,
	    -60, true, DAY, SIGNER_ISSUER, NONCE_ECHO, false, false, false }, false, 0,
	    OCSP_CERT_GOOD, NULL },
	{ "good from delegate", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD,
	    -1, -60, true, DAY, SIGNER_DELEGATE, NONCE_ECHO, false, false, false }, false, 0,
	    OCSP_CERT_GOOD, NULL },
	{ "revoked", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_REVOKED, 1, -60,
	    true, DAY, SIGNER_ISSUER, NONCE_ECHO, false, false, false }, false, 0,
	    OCSP_CERT_REVOKED, NULL },
	{ "unknown", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_UNKNOWN, -1, -60,
	    true, DAY, SIGNER_ISSUER, NONCE_ECHO, false, false, false }, false, 0,
	    OCSP_CERT_UNKNOWN, NULL },
	{ "tryLater", { OCSP_RESPONSE_STATUS_TRYLATER, 0, -1, 0, false, 0, SIGNER_ISSUER,
	    NONCE_ECHO, false, false, false }, false, -1, 0, "trylater" },
	{ "unauthorized", { OCSP_RESPONSE_STATUS_UNAUTHORIZED, 0, -1, 0, false, 0,
	    SIGNER_ISSUER, NONCE_ECHO, false, false, false }, false, -1, 0, "unauthorized" },
	{ "signer without OCSPSigning", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, -60, true, DAY, SIGNER_ROGUE, NONCE_ECHO, false,
	    false, false }, false, -1, 0, "id-kp-OCSPSigning" },
	{ "signer from other CA", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD,
	    -1, -60, true, DAY, SIGNER_OTHER_CA, NONCE_ECHO, false, false, false }, false,
	    -1, 0, "did not issue" },
	{ "bad signature", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD, -1,
	    -60, true, DAY, SIGNER_ISSUER, NONCE_ECHO, false, false, true }, false, -1, 0,
	    "signature" },
	{ "wrong nonce", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD, -1, -60,
	    true, DAY, SIGNER_ISSUER, NONCE_WRONG, false, false, false }, false, -1, 0,
	    "nonce" },
	{ "missing nonce accepted", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, -60, true, DAY, SIGNER_ISSUER, NONCE_NONE, false,
	    false, false }, false, 0, OCSP_CERT_GOOD, NULL },
	{ "missing nonce required", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, -60, true, DAY, SIGNER_ISSUER, NONCE_NONE, false,
	    false, false }, true, -1, 0, "no nonce" },
	{ "other certificate only", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, -60, true, DAY, SIGNER_ISSUER, NONCE_ECHO, true,
	    false, false }, false, -1, 0, "no SingleResponse" },
	{ "ours among several", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_REVOKED, 1, -60, true, DAY, SIGNER_ISSUER, NONCE_ECHO, false,
	    true, false }, false, 0, OCSP_CERT_REVOKED, NULL },
	{ "thisUpdate within skew", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, 200, true, DAY, SIGNER_ISSUER, NONCE_ECHO, false,
	    false, false }, false, 0, OCSP_CERT_GOOD, NULL },
	{ "thisUpdate in future", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, 900, true, DAY, SIGNER_ISSUER, NONCE_ECHO, false,
	    false, false }, false, -1, 0, "in the future" },
	{ "nextUpdate in past", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD,
	    -1, -DAY, true, -900, SIGNER_ISSUER, NONCE_ECHO, false, false, false }, false, -1,
	    0, "stale" },
	{ "no nextUpdate recent", { OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    V_OCSP_CERTSTATUS_GOOD, -1, -60, false, 0, SIGNER_ISSUER, NONCE_ECHO, false,
	    false, false }, false, 0, OCSP_CERT_GOOD, NULL },
	{ "no nextUpdate old", { OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD,
	    -1, -2 * HOUR, false, 0, SIGNER_ISSUER, NONCE_ECHO, false, false, false }, false,
	    -1, 0, "no nextUpdate" },
};

START_TEST(ocsp_response_table)
{
	const struct ocsp_case *c = &ocsp_cases[_i];
	struct ocsp_check_params params = params_default();
	struct ocsp_query *q = NULL;
	struct ocsp_answer answer;
	unsigned char *der;
	char *error = NULL;
	size_t len;
	int ret;

	ck_assert_int_eq(ocsp_query_new(cert_leaf, cert_issuer, true, &q, &error), 0);
	der = make_response(q, &c->spec, &len);
	params.nonce_required = c->nonce_required;
	ret = ocsp_response_check(q, cert_issuer, der, len, &params, &answer, &error);
	ck_assert_msg(ret == c->ret, "%s: returned %d (%s)", c->name, ret,
	    error != NULL ? error : "no error");
	if (ret == 0) {
		ck_assert_msg((int)answer.status == c->status, "%s: status %d", c->name,
		    answer.status);
	} else {
		ck_assert_msg(strcasestr(error, c->error_part) != NULL,
		    "%s: error \"%s\" lacks \"%s\"", c->name, error, c->error_part);
	}
	free(error);
	free(der);
	ocsp_query_free(q);
}
END_TEST

START_TEST(ocsp_revoked_reason_and_times)
{
	struct resp_spec spec = resp_good;
	struct ocsp_check_params params = params_default();
	struct ocsp_query *q = NULL;
	struct ocsp_answer answer;
	unsigned char *der;
	char *error = NULL;
	size_t len;

	spec.cert_status = V_OCSP_CERTSTATUS_REVOKED;
	spec.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
	ck_assert_int_eq(ocsp_query_new(cert_leaf, cert_issuer, true, &q, &error), 0);
	der = make_response(q, &spec, &len);
	ck_assert_int_eq(ocsp_response_check(q, cert_issuer, der, len, &params, &answer,
	    &error), 0);
	ck_assert_int_eq(answer.status, OCSP_CERT_REVOKED);
	ck_assert_int_eq(answer.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ck_assert_str_eq(crl_reason_name(answer.reason), "keyCompromise");
	ck_assert(answer.revocation_time > test_now - 3 * DAY);
	ck_assert(answer.revocation_time < test_now - DAY);
	ck_assert(answer.this_update == test_now - 60);
	ck_assert(answer.next_update == test_now + DAY);
	free(der);
	ocsp_query_free(q);
}
END_TEST

START_TEST(ocsp_garbage_rejected)
{
	static const unsigned char garbage[] = "<html>not found</html>";
	struct ocsp_check_params params = params_default();
	struct ocsp_query *q = NULL;
	struct ocsp_answer answer;
	char *error = NULL;

	ck_assert_int_eq(ocsp_query_new(cert_leaf, cert_issuer, true, &q, &error), 0);
	ck_assert_int_eq(ocsp_response_check(q, cert_issuer, garbage, sizeof(garbage),
	    &params, &answer, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not a DER OCSPResponse"));
	free(error);
	ocsp_query_free(q);
}
END_TEST

/* A response for leaf signed by the issuer does not speak for a leaf of
 * another issuer: the issuer's key is the one checked. */
START_TEST(ocsp_response_wrong_issuer)
{
	struct ocsp_check_params params = params_default();
	struct ocsp_query *q = NULL;
	struct ocsp_answer answer;
	unsigned char *der;
	char *error = NULL;
	size_t len;

	ck_assert_int_eq(ocsp_query_new(cert_leaf, cert_issuer, true, &q, &error), 0);
	der = make_response(q, &resp_good, &len);
	ck_assert_int_eq(ocsp_response_check(q, cert_other_root, der, len, &params, &answer,
	    &error), -1);
	ck_assert_ptr_nonnull(error);
	free(error);
	free(der);
	ocsp_query_free(q);
}
END_TEST

START_TEST(ocsp_get_url_encoding)
{
	struct ocsp_query *q = NULL;
	char *error = NULL, *url, *url2;
	size_t der_len;

	ck_assert_int_eq(ocsp_query_new(cert_leaf, cert_issuer, false, &q, &error), 0);
	url = ocsp_query_get_url(q, "http://ocsp.test/issuer");
	url2 = ocsp_query_get_url(q, "http://ocsp.test/issuer/");
	ck_assert_str_eq(url, url2);
	ck_assert_int_eq(strncmp(url, "http://ocsp.test/issuer/M", 25), 0);
	ck_assert_ptr_null(strpbrk(url + 24, "+/="));
	ocsp_query_der(q, &der_len);
	ck_assert_uint_ge(strlen(url), 24 + 4 * ((der_len + 2) / 3) - 2);
	ck_assert_ptr_nonnull(strchr(ocsp_query_cert_id(q), '/'));
	free(url);
	free(url2);
	ocsp_query_free(q);
}
END_TEST

/* The cache key of a query is "hash OID/name hash/key hash/serial" with the
 * octets in upper-case hex, as computed here with the OpenSSL CertID, and
 * ocsp_cert_id computes the same key without a query. */
START_TEST(ocsp_cert_id_format)
{
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert_leaf, cert_issuer);
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_INTEGER *serial = NULL;
	struct ocsp_query *q = NULL;
	char expected[256];
	char *error = NULL, *key;
	size_t n;

	ck_assert_ptr_nonnull(id);
	OCSP_id_get0_info(&name_hash, NULL, &key_hash, &serial, id);
	n = (size_t)snprintf(expected, sizeof(expected), "1.3.14.3.2.26/");
	for (int i = 0; i < ASN1_STRING_length(name_hash); i++)
		n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%02X",
		    ASN1_STRING_get0_data(name_hash)[i]);
	n += (size_t)snprintf(expected + n, sizeof(expected) - n, "/");
	for (int i = 0; i < ASN1_STRING_length(key_hash); i++)
		n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%02X",
		    ASN1_STRING_get0_data(key_hash)[i]);
	n += (size_t)snprintf(expected + n, sizeof(expected) - n, "/");
	for (int i = 0; i < ASN1_STRING_length(serial); i++)
		n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%02X",
		    ASN1_STRING_get0_data(serial)[i]);

	ck_assert_int_eq(ocsp_query_new(cert_leaf, cert_issuer, false, &q, &error), 0);
	ck_assert_str_eq(ocsp_query_cert_id(q), expected);
	key = ocsp_cert_id(cert_leaf, cert_issuer, &error);
	ck_assert_ptr_nonnull(key);
	ck_assert_str_eq(key, expected);
	free(key);

	/* Another serial or another issuer gives another key. */
	key = ocsp_cert_id(cert_leaf2, cert_issuer, &error);
	ck_assert_str_ne(key, expected);
	free(key);
	key = ocsp_cert_id(cert_leaf, cert_other_root, &error);
	ck_assert_str_ne(key, expected);
	free(key);
	ocsp_query_free(q);
	OCSP_CERTID_free(id);
}
END_TEST

START_TEST(ocsp_aia_urls)
{
	char **urls = ocsp_responder_urls(cert_leaf);

	ck_assert_ptr_nonnull(urls);
	ck_assert_str_eq(urls[0], OCSP_ISSUER_URL);
	ck_assert_ptr_null(urls[1]);
	free(urls[0]);
	free(urls);
	ck_assert_ptr_null(ocsp_responder_urls(cert_bare));
}
END_TEST

/* ---- CRLs ---- */

START_TEST(crl_verify_accepts_issuer)
{
	X509_CRL *crl = make_crl(&crl_fresh, cert_issuer, key_issuer);
	char *error = NULL;

	ck_assert_int_eq(crl_verify(crl, cert_issuer, &error), 0);
	X509_CRL_free(crl);
}
END_TEST

START_TEST(crl_verify_rejects)
{
	struct crl_spec delta = crl_fresh, indirect = crl_fresh;
	X509_CRL *crls[4];
	X509 *issuers[4] = { cert_root, cert_issuer, cert_issuer, cert_issuer };
	const char *parts[4] = { "issuer", "signature", "delta", "indirect" };
	char *error;

	delta.delta = true;
	indirect.indirect = true;
	crls[0] = make_crl(&crl_fresh, cert_issuer, key_issuer);	/* other name */
	crls[1] = make_crl(&crl_fresh, cert_issuer, key_other);	/* other key */
	crls[2] = make_crl(&delta, cert_issuer, key_issuer);
	crls[3] = make_crl(&indirect, cert_issuer, key_issuer);
	for (int i = 0; i < 4; i++) {
		error = NULL;
		ck_assert_int_eq(crl_verify(crls[i], issuers[i], &error), -1);
		ck_assert_msg(strstr(error, parts[i]) != NULL, "case %d: %s", i, error);
		free(error);
		X509_CRL_free(crls[i]);
	}
}
END_TEST

START_TEST(crl_verify_needs_crlsign)
{
	X509_CRL *crl = make_crl(&crl_fresh, cert_no_crlsign, key_issuer);
	char *error = NULL;

	ck_assert_int_eq(crl_verify(crl, cert_no_crlsign, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "cRLSign"));
	free(error);
	X509_CRL_free(crl);
}
END_TEST

struct crl_case {
	const char *name;
	struct crl_spec spec;
	X509 **cert;
	enum crl_result result;
	int reason;
};

static const struct crl_case crl_cases[] = {
	{ "listed", { -HOUR, true, DAY, NULL, 1, false, false, false }, &cert_leaf,
	    CRL_REVOKED, 1 },
	{ "listed stale", { -3 * DAY, true, -DAY, NULL, 1, false, false, false },
	    &cert_leaf, CRL_REVOKED, 1 },
	{ "listed on hold", { -HOUR, true, DAY, NULL, 6, false, false, false }, &cert_leaf,
	    CRL_REVOKED, 6 },
	{ "removed from CRL", { -HOUR, true, DAY, NULL, 8, false, false, false },
	    &cert_leaf, CRL_GOOD, -1 },
	{ "listed without reason", { -HOUR, true, DAY, NULL, -1, false, false, false },
	    &cert_leaf, CRL_REVOKED, -1 },
	{ "not listed", { -HOUR, true, DAY, NULL, 1, false, false, false }, &cert_leaf2,
	    CRL_GOOD, -1 },
	{ "not listed stale", { -3 * DAY, true, -DAY, NULL, 1, false, false, false },
	    &cert_leaf2, CRL_UNKNOWN, -1 },
	{ "stale within skew", { -DAY, true, -100, NULL, 1, false, false, false },
	    &cert_leaf2, CRL_GOOD, -1 },
	{ "thisUpdate in future", { HOUR, true, DAY, NULL, 1, false, false, false },
	    &cert_leaf2, CRL_UNKNOWN, -1 },
	{ "no nextUpdate recent", { -60, false, 0, NULL, 1, false, false, false },
	    &cert_leaf2, CRL_GOOD, -1 },
	{ "no nextUpdate old", { -2 * HOUR, false, 0, NULL, 1, false, false, false },
	    &cert_leaf2, CRL_UNKNOWN, -1 },
	{ "only CA certificates", { -HOUR, true, DAY, NULL, 1, false, true, false },
	    &cert_leaf2, CRL_UNKNOWN, -1 },
};

START_TEST(crl_lookup_table)
{
	const struct crl_case *c = &crl_cases[_i];
	struct crl_spec spec = c->spec;
	struct crl_entry entry;
	X509_CRL *crl;
	char *detail = NULL;
	enum crl_result r;

	spec.revoked = cert_leaf;
	crl = make_crl(&spec, cert_issuer, key_issuer);
	r = crl_lookup(crl, *c->cert, test_now, 300, 3600, &entry, &detail);
	ck_assert_msg(r == c->result, "%s: result %d (%s)", c->name, r, detail);
	ck_assert_ptr_nonnull(detail);
	if (r == CRL_REVOKED) {
		ck_assert_int_eq(entry.reason, c->reason);
		ck_assert_ptr_nonnull(strstr(detail, crl_reason_name(c->reason)));
	}
	free(detail);
	X509_CRL_free(crl);
}
END_TEST

START_TEST(crl_parse_der_pem_garbage)
{
	X509_CRL *crl = make_crl(&crl_fresh, cert_issuer, key_issuer), *parsed;
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char *der;
	char *pem, *error = NULL;
	size_t len;
	long pem_len;

	der = crl_der(crl, &len);
	parsed = crl_parse(der, len, &error);
	ck_assert_ptr_nonnull(parsed);
	X509_CRL_free(parsed);
	PEM_write_bio_X509_CRL(bio, crl);
	pem_len = BIO_get_mem_data(bio, &pem);
	parsed = crl_parse((unsigned char *)pem, (size_t)pem_len, &error);
	ck_assert_ptr_nonnull(parsed);
	X509_CRL_free(parsed);
	ck_assert_ptr_null(crl_parse((const unsigned char *)"garbage", 7, &error));
	ck_assert_ptr_nonnull(error);
	free(error);
	free(der);
	BIO_free(bio);
	X509_CRL_free(crl);
}
END_TEST

START_TEST(crl_distribution_points)
{
	char **urls = crl_distribution_urls(cert_leaf);

	ck_assert_ptr_nonnull(urls);
	ck_assert_str_eq(urls[0], CRL_ISSUER_URL);
	ck_assert_ptr_null(urls[1]);
	free(urls[0]);
	free(urls);
	ck_assert_ptr_null(crl_distribution_urls(cert_bare));
}
END_TEST

START_TEST(crl_fresh_until_dates)
{
	struct crl_spec no_next = crl_fresh;
	X509_CRL *crl = make_crl(&crl_fresh, cert_issuer, key_issuer);
	X509_CRL *crl2;

	no_next.has_next_update = false;
	crl2 = make_crl(&no_next, cert_issuer, key_issuer);
	ck_assert(crl_fresh_until(crl, 3600) == test_now + DAY);
	ck_assert(crl_fresh_until(crl2, 3600) == test_now - HOUR + 3600);
	X509_CRL_free(crl);
	X509_CRL_free(crl2);
}
END_TEST

/* ---- the checker, with a fake transport ---- */

/* Returns OCSP responses and CRLs as the test PKI's servers would: the
 * certificates in revoked[] are revoked, all others good. */
struct fake_net {
	pthread_mutex_t lock;
	bool ocsp_down, crl_down;
	struct resp_spec spec;		/* how OCSP responses look */
	struct crl_spec crl_spec;	/* how CRLs look (revoked is ignored) */
	X509 *revoked[2];
	int ocsp_gets, ocsp_posts, crl_gets;
	int leaf_queries;		/* OCSP requests for cert_leaf */
	useconds_t delay;		/* per request */
};

static struct fake_net net;

static void
fake_reset(void)
{
	pthread_mutex_destroy(&net.lock);
	memset(&net, 0, sizeof(net));
	pthread_mutex_init(&net.lock, NULL);
	net.spec = resp_good;
	net.crl_spec = crl_fresh;
}

static bool
fake_is_revoked_serial(const ASN1_INTEGER *serial)
{
	for (int i = 0; i < 2; i++) {
		if (net.revoked[i] != NULL &&
		    ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(net.revoked[i])) == 0)
			return true;
	}
	return false;
}

/* Decodes the base64 of the GET form (after the last '/'). */
static unsigned char *
fake_decode_get(const char *url, size_t *len_r)
{
	const char *p = strrchr(url, '/') + 1;
	struct strbuf b64 = STRBUF_INIT;
	unsigned char *der;
	int len;

	for (; *p != '\0'; p++) {
		if (*p == '%') {
			unsigned int c;

			require(sscanf(p + 1, "%2x", &c) == 1);
			strbuf_appendc(&b64, (char)c);
			p += 2;
		} else {
			strbuf_appendc(&b64, *p);
		}
	}
	der = xmalloc(b64.len);
	len = EVP_DecodeBlock(der, (unsigned char *)b64.data, (int)b64.len);
	require(len > 0);
	while (b64.len > 0 && b64.data[--b64.len] == '=')
		len--;
	strbuf_free(&b64);
	*len_r = (size_t)len;
	return der;
}

static int
fake_ocsp_answer(const char *url, const unsigned char *req, size_t req_len,
    unsigned char **data_r, size_t *len_r, char **error_r)
{
	const unsigned char *p = req;
	OCSP_REQUEST *r = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
	ASN1_INTEGER *serial = NULL;
	struct resp_spec spec = net.spec;
	bool root = strncmp(url, OCSP_ROOT_URL, strlen(OCSP_ROOT_URL)) == 0;

	require(r != NULL);
	OCSP_id_get0_info(NULL, NULL, NULL, &serial,
	    OCSP_onereq_get0_id(OCSP_request_onereq_get0(r, 0)));
	pthread_mutex_lock(&net.lock);
	if (ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cert_leaf)) == 0)
		net.leaf_queries++;
	pthread_mutex_unlock(&net.lock);
	if (net.ocsp_down) {
		OCSP_REQUEST_free(r);
		*error_r = xstrdup("HTTP GET failed: connection refused");
		return -1;
	}
	if (fake_is_revoked_serial(serial)) {
		spec.cert_status = V_OCSP_CERTSTATUS_REVOKED;
		spec.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
	}
	OCSP_REQUEST_free(r);
	*data_r = make_response_signed(req, req_len, &spec, root ? cert_root : cert_issuer,
	    root ? key_root : key_issuer, len_r);
	return 0;
}

static int
fake_get(void *arg, const char *url, const struct urlfetch_limits *limits,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	(void)arg;
	(void)limits;
	(void)expected_type;
	usleep(net.delay);
	if (strncmp(url, "http://ocsp.test/", 17) == 0) {
		size_t req_len;
		unsigned char *req = fake_decode_get(url, &req_len);
		int ret;

		pthread_mutex_lock(&net.lock);
		net.ocsp_gets++;
		pthread_mutex_unlock(&net.lock);
		ret = fake_ocsp_answer(url, req, req_len, data_r, len_r, error_r);
		free(req);
		return ret;
	}
	pthread_mutex_lock(&net.lock);
	net.crl_gets++;
	pthread_mutex_unlock(&net.lock);
	if (net.crl_down) {
		*error_r = xstrdup("HTTP GET failed: connection refused");
		return -1;
	}
	bool root = strcmp(url, CRL_ROOT_URL) == 0;
	struct crl_spec spec = net.crl_spec;
	X509_CRL *crl;

	spec.revoked = NULL;
	for (int i = 0; i < 2; i++) {
		if (net.revoked[i] != NULL && (net.revoked[i] == cert_issuer) == root)
			spec.revoked = net.revoked[i];
	}
	spec.reason = 1;
	crl = make_crl(&spec, root ? cert_root : cert_issuer, root ? key_root : key_issuer);
	*data_r = crl_der(crl, len_r);
	X509_CRL_free(crl);
	return 0;
}

static int
fake_post(void *arg, const char *url, const struct urlfetch_limits *limits,
    const char *content_type, const unsigned char *body, size_t body_len,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	(void)arg;
	(void)limits;
	(void)expected_type;
	ck_assert_str_eq(content_type, "application/ocsp-request");
	pthread_mutex_lock(&net.lock);
	net.ocsp_posts++;
	pthread_mutex_unlock(&net.lock);
	return fake_ocsp_answer(url, body, body_len, data_r, len_r, error_r);
}

static struct revocation_checker *
fake_checker(bool ocsp_get)
{
	struct revocation_transport transport = { fake_get, fake_post, NULL };
	struct revocation_config cfg;

	revocation_config_defaults(&cfg);
	cfg.ocsp_get = ocsp_get;
	return revocation_checker_new(&cfg, &transport);
}

static void
check_leaf(struct revocation_checker *rc, enum revocation_method method,
    struct revocation_result *res)
{
	revocation_check_chain(rc, method, cert_leaf, chain_leaf, NULL, test_now, res);
}

START_TEST(checker_good_via_ocsp)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;
	struct revocation_stats st;

	fake_reset();
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_ptr_nonnull(strstr(res.detail, "good according to OCSP responder "
	    OCSP_ISSUER_URL));
	ck_assert_ptr_null(res.serial);
	ck_assert_int_eq(net.ocsp_gets, 2);
	ck_assert_int_eq(net.ocsp_posts, 0);
	ck_assert_int_eq(net.crl_gets, 0);
	revocation_result_clear(&res);

	revocation_get_stats(rc, &st);
	ck_assert_uint_eq(st.ocsp_requests, 2);

	/* The same chain again: both responses come from the cache, and no
	 * request is built for a cache key. */
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_int_eq(net.ocsp_gets, 2);
	revocation_get_stats(rc, &st);
	ck_assert_uint_eq(st.ocsp.fetches, 2);
	ck_assert_uint_eq(st.ocsp.hits, 2);
	ck_assert_uint_eq(st.ocsp_requests, 2);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_post_when_get_off)
{
	struct revocation_checker *rc = fake_checker(false);
	struct revocation_result res;

	fake_reset();
	check_leaf(rc, REVOCATION_OCSP, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_int_eq(net.ocsp_posts, 2);
	ck_assert_int_eq(net.ocsp_gets, 0);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_revoked_via_ocsp)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;
	char *serial = cert_serial_string(cert_leaf);

	fake_reset();
	net.revoked[0] = cert_leaf;
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_REVOKED);
	ck_assert_str_eq(res.serial, serial);
	ck_assert_ptr_nonnull(strstr(res.detail, "keyCompromise"));
	ck_assert_ptr_nonnull(strstr(res.detail, OCSP_ISSUER_URL));
	ck_assert_int_eq(net.crl_gets, 0);
	revocation_result_clear(&res);
	free(serial);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_revoked_intermediate)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;
	char *serial = cert_serial_string(cert_issuer);

	fake_reset();
	net.revoked[0] = cert_issuer;
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_REVOKED);
	ck_assert_str_eq(res.serial, serial);
	ck_assert_ptr_nonnull(strstr(res.subject, "Mail CA"));
	ck_assert_ptr_nonnull(strstr(res.detail, OCSP_ROOT_URL));
	/* The leaf is not asked about once its CA is known to be revoked. */
	ck_assert_int_eq(net.leaf_queries, 0);
	revocation_result_clear(&res);
	free(serial);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_revoked_via_crl)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.revoked[0] = cert_leaf;
	check_leaf(rc, REVOCATION_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_REVOKED);
	ck_assert_ptr_nonnull(strstr(res.detail, "CRL " CRL_ISSUER_URL));
	ck_assert_ptr_nonnull(strstr(res.detail, "keyCompromise"));
	ck_assert_int_eq(net.ocsp_gets, 0);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_ocsp_down_crl_fallback)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.ocsp_down = true;
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_ptr_nonnull(strstr(res.detail, "connection refused"));
	ck_assert_ptr_nonnull(strstr(res.detail, "according to CRL " CRL_ISSUER_URL));
	ck_assert_int_eq(net.crl_gets, 2);
	revocation_result_clear(&res);

	/* The cached CRLs stay in use until their nextUpdate. */
	net.revoked[0] = cert_leaf;
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_int_eq(net.crl_gets, 2);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_all_down_unknown)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.ocsp_down = true;
	net.crl_down = true;
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_UNKNOWN);
	ck_assert_ptr_nonnull(res.serial);
	/* The first certificate whose status is unknown is the intermediate. */
	ck_assert_ptr_nonnull(strstr(res.detail, OCSP_ROOT_URL));
	ck_assert_ptr_nonnull(strstr(res.detail, CRL_ROOT_URL));
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_ocsp_only_no_crl)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.ocsp_down = true;
	check_leaf(rc, REVOCATION_OCSP, &res);
	ck_assert_int_eq(res.status, REVOCATION_UNKNOWN);
	ck_assert_int_eq(net.crl_gets, 0);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_none_asks_nobody)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.revoked[0] = cert_leaf;
	check_leaf(rc, REVOCATION_NONE, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_int_eq(net.ocsp_gets + net.crl_gets, 0);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_no_sources_unknown)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;
	STACK_OF(X509) *chain = sk_X509_new_null();

	fake_reset();
	sk_X509_push(chain, cert_issuer);
	revocation_check_chain(rc, REVOCATION_OCSP_THEN_CRL, cert_bare, chain, NULL,
	    test_now, &res);
	ck_assert_int_eq(res.status, REVOCATION_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(res.detail, "no OCSP responder"));
	ck_assert_ptr_nonnull(strstr(res.detail, "no CRL"));
	revocation_result_clear(&res);
	sk_X509_free(chain);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_ocsp_unknown_falls_back)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.spec.cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
	check_leaf(rc, REVOCATION_OCSP_THEN_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_ptr_nonnull(strstr(res.detail, "does not know"));
	ck_assert_int_eq(net.crl_gets, 2);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(checker_no_next_update_not_cached)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.spec.has_next_update = false;
	check_leaf(rc, REVOCATION_OCSP, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	revocation_result_clear(&res);
	check_leaf(rc, REVOCATION_OCSP, &res);
	ck_assert_int_eq(res.status, REVOCATION_GOOD);
	ck_assert_int_eq(net.ocsp_gets, 4);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

/* A stale CRL that does not list the certificate gives no status, so it is
 * downloaded again on the next check. A stale CRL that lists it still
 * counts. */
START_TEST(checker_stale_crl)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_result res;

	fake_reset();
	net.crl_spec.this_update = -3 * DAY;
	net.crl_spec.next_update = -DAY;
	check_leaf(rc, REVOCATION_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(res.detail, "stale"));
	revocation_result_clear(&res);
	check_leaf(rc, REVOCATION_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_UNKNOWN);
	ck_assert_int_eq(net.crl_gets, 4);
	revocation_result_clear(&res);
	revocation_checker_free(rc);

	rc = fake_checker(true);
	net.revoked[0] = cert_leaf;
	check_leaf(rc, REVOCATION_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_REVOKED);
	revocation_result_clear(&res);
	net.crl_down = true;
	check_leaf(rc, REVOCATION_CRL, &res);
	ck_assert_int_eq(res.status, REVOCATION_REVOKED);
	revocation_result_clear(&res);
	revocation_checker_free(rc);
}
END_TEST

struct check_thread {
	struct revocation_checker *rc;
	enum revocation_status status;
};

static void *
check_thread_run(void *arg)
{
	struct check_thread *t = arg;
	struct revocation_result res;

	check_leaf(t->rc, REVOCATION_OCSP, &res);
	t->status = res.status;
	revocation_result_clear(&res);
	return NULL;
}

/* Many threads checking the same certificate at once send one request. */
START_TEST(checker_one_fetch_in_flight)
{
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_stats st;
	struct check_thread t[8];
	pthread_t threads[8];

	fake_reset();
	net.delay = 100000;
	for (int i = 0; i < 8; i++) {
		t[i].rc = rc;
		ck_assert_int_eq(pthread_create(&threads[i], NULL, check_thread_run, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(t[i].status, REVOCATION_GOOD);
	}
	ck_assert_int_eq(net.leaf_queries, 1);
	ck_assert_int_eq(net.ocsp_gets, 2);
	/* The threads that waited built no request either. */
	revocation_get_stats(rc, &st);
	ck_assert_uint_eq(st.ocsp_requests, 2);
	ck_assert_uint_eq(st.ocsp.waits + st.ocsp.hits, 14);
	revocation_checker_free(rc);
}
END_TEST

START_TEST(method_names)
{
	static const char *const names[] = { "ocsp-then-crl", "ocsp", "crl", "none" };
	enum revocation_method m;

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(revocation_method_parse(names[i], &m), 0);
		ck_assert_int_eq(m, i);
		ck_assert_str_eq(revocation_method_name(m), names[i]);
	}
	ck_assert_int_eq(revocation_method_parse("OCSP", &m), -1);
	ck_assert_int_eq(revocation_method_parse("", &m), -1);
}
END_TEST

/* ---- signing certificates through the resolver ---- */

/* Returns a trust store with cert_root as its only anchor, loaded from a
 * file in a temporary folder that is removed again. */
static struct cert_trust *
load_root_trust(void)
{
	char dir[] = "/tmp/check_revocation.XXXXXX";
	struct cert_trust *trust = NULL;
	char *path, *error = NULL, *cmd;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/root.pem", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	PEM_write_X509(f, cert_root);
	fclose(f);
	ck_assert_int_eq(cert_trust_load(&path, 1, NULL, 0, CERT_CHAIN_CACHE_DEFAULT_SIZE,
	    CERT_CHAIN_CACHE_DEFAULT_TTL, &trust, &error), 0);
	cmd = xasprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(path);
	return trust;
}

/* Checks cert_leaf as a signing certificate with the fake network and
 * policy, trusting cert_root. */
static void
check_signer(const struct revocation_policy *policy, struct cert_resolution *res)
{
	struct revocation_checker *rc = fake_checker(true);
	struct cert_trust *trust = load_root_trust();
	struct cert_resolver *r;

	r = cert_resolver_new(NULL, 0, trust);
	cert_resolver_set_revocation(r, rc, policy, NULL);
	cert_resolver_check_signer(r, cert_leaf, chain_leaf, ALICE, test_now, res);
	cert_resolver_free(r);
	cert_trust_free(trust);
	revocation_checker_free(rc);
}

START_TEST(signer_good)
{
	const struct revocation_policy policy = { REVOCATION_OCSP_THEN_CRL, false };
	struct cert_resolution res;

	fake_reset();
	check_signer(&policy, &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_int_eq(res.reason, CERT_OK);
	ck_assert_ptr_eq(res.cert, cert_leaf);
	ck_assert_ptr_null(res.unknown_serial);
	ck_assert_ptr_nonnull(strstr(res.detail, "not revoked"));
	cert_resolution_clear(&res);
}
END_TEST

START_TEST(signer_revoked)
{
	const struct revocation_policy policy = { REVOCATION_OCSP_THEN_CRL, true };
	struct cert_resolution res;

	fake_reset();
	net.revoked[0] = cert_leaf;
	check_signer(&policy, &res);
	ck_assert_int_eq(res.status, RESOLVE_NO_VALID);
	ck_assert_int_eq(res.reason, CERT_REVOKED);
	ck_assert_ptr_null(res.cert);
	ck_assert_ptr_nonnull(strstr(res.detail, "keyCompromise"));
	cert_resolution_clear(&res);
}
END_TEST

START_TEST(signer_unknown_hard_fail)
{
	const struct revocation_policy policy = { REVOCATION_OCSP_THEN_CRL, false };
	struct cert_resolution res;

	fake_reset();
	net.ocsp_down = true;
	net.crl_down = true;
	check_signer(&policy, &res);
	ck_assert_int_eq(res.status, RESOLVE_UNAVAILABLE);
	ck_assert_int_eq(res.reason, CERT_REVOCATION_UNKNOWN);
	ck_assert_ptr_null(res.cert);
	ck_assert_ptr_nonnull(strstr(res.detail, OCSP_ROOT_URL));
	ck_assert_ptr_nonnull(strstr(res.detail, CRL_ROOT_URL));
	cert_resolution_clear(&res);
}
END_TEST

START_TEST(signer_unknown_soft_fail)
{
	const struct revocation_policy policy = { REVOCATION_OCSP_THEN_CRL, true };
	struct cert_resolution res;
	char *serial = cert_serial_string(cert_issuer);

	fake_reset();
	net.ocsp_down = true;
	net.crl_down = true;
	check_signer(&policy, &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_str_eq(res.unknown_serial, serial);
	ck_assert_ptr_nonnull(strstr(res.unknown_detail, "connection refused"));
	cert_resolution_clear(&res);
	free(serial);
}
END_TEST

START_TEST(signer_policy_none)
{
	const struct revocation_policy policy = { REVOCATION_NONE, false };
	struct cert_resolution res;

	fake_reset();
	net.revoked[0] = cert_leaf;
	check_signer(&policy, &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_int_eq(net.ocsp_gets + net.crl_gets, 0);
	cert_resolution_clear(&res);
}
END_TEST

/* A second check of the same signer takes its chain from the trust
 * store's cache and its OCSP responses from the checker's. A cached chain
 * still has its revocation status checked. */
START_TEST(signer_chain_verified_once)
{
	const struct revocation_policy policy = { REVOCATION_OCSP_THEN_CRL, false };
	struct revocation_checker *rc = fake_checker(true);
	struct revocation_checker *rc_revoked = fake_checker(true);
	struct cert_trust *trust = load_root_trust();
	struct cert_resolver *r = cert_resolver_new(NULL, 0, trust);
	struct cert_resolution res;
	struct chaincache_stats chains;
	struct revocation_stats st;

	fake_reset();
	cert_resolver_set_revocation(r, rc, &policy, NULL);
	for (int i = 0; i < 2; i++) {
		cert_resolver_check_signer(r, cert_leaf, chain_leaf, ALICE, test_now + i, &res);
		ck_assert_int_eq(res.status, RESOLVE_OK);
		ck_assert_int_eq(sk_X509_num(res.chain), 2);
		ck_assert_ptr_eq(sk_X509_value(res.chain, 0), cert_issuer);
		ck_assert_ptr_nonnull(strstr(res.detail, "not revoked"));
		cert_resolution_clear(&res);
	}
	cert_trust_get_chain_stats(trust, &chains);
	ck_assert_uint_eq(chains.misses, 1);
	ck_assert_uint_eq(chains.hits, 1);
	revocation_get_stats(rc, &st);
	ck_assert_uint_eq(st.ocsp.fetches, 2);
	ck_assert_uint_eq(st.ocsp.hits, 2);

	net.revoked[0] = cert_leaf;
	cert_resolver_set_revocation(r, rc_revoked, &policy, NULL);
	cert_resolver_check_signer(r, cert_leaf, chain_leaf, ALICE, test_now, &res);
	ck_assert_int_eq(res.status, RESOLVE_NO_VALID);
	ck_assert_int_eq(res.reason, CERT_REVOKED);
	cert_trust_get_chain_stats(trust, &chains);
	ck_assert_uint_eq(chains.hits, 2);
	cert_resolution_clear(&res);

	cert_resolver_free(r);
	cert_trust_free(trust);
	revocation_checker_free(rc);
	revocation_checker_free(rc_revoked);
}
END_TEST

/* ---- the "revocation" configuration ---- */

/* Loads text as a configuration file; returns NULL with *error_r when it is
 * rejected. */
static struct config *
config_from_text(const char *text, char **error_r)
{
	char dir[] = "/tmp/check_revocation.XXXXXX";
	char *path, *cmd;
	struct config *c = NULL;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/smimegw.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	*error_r = NULL;
	if (config_load(path, &c, error_r) < 0)
		c = NULL;
	cmd = xasprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(path);
	return c;
}

#define CONFIG_TRUST "\"trust\": {\"anchors\": [\"root.pem\"]}"
#define CONFIG_DIRECTORY(name, extra) \
	"{\"name\": \"" name "\", \"uris\": [\"ldap://127.0.0.1:1/\"], " \
	"\"base\": \"dc=corp\"" extra "}"

START_TEST(config_revocation_defaults)
{
	char *error;
	struct config *c = config_from_text("{" CONFIG_TRUST ", \"directories\": ["
	    CONFIG_DIRECTORY("corp", "") "]}", &error);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_int_eq(c->revocation_policy.method, REVOCATION_OCSP_THEN_CRL);
	ck_assert(!c->revocation_policy.soft_fail);
	ck_assert_int_eq(c->directory_revocation[0].method, REVOCATION_OCSP_THEN_CRL);
	ck_assert(!c->directory_revocation[0].soft_fail);
	ck_assert_ptr_null(c->revocation.ocsp_responder);
	ck_assert(c->revocation.ocsp_get);
	ck_assert(!c->revocation.ocsp_nonce_required);
	ck_assert_int_eq(c->revocation.clock_skew, 300);
	ck_assert_int_eq(c->revocation.max_age, 3600);
	ck_assert_int_eq(c->revocation.timeout, 5);
	ck_assert_uint_eq(c->revocation.max_crl_size, 20 * 1024 * 1024);
	ck_assert_uint_eq(c->revocation.ocsp_cache_size, 10000);
	ck_assert_uint_eq(c->revocation.crl_cache_size, 64);
	ck_assert_ptr_null(c->directories[0].ca_base);
	ck_assert_ptr_null(c->directories[0].ca_filter);
	config_free(c);
}
END_TEST

START_TEST(config_revocation_options)
{
	char *error;
	struct config *c = config_from_text("{" CONFIG_TRUST ", \"revocation\": {"
	    "\"policy\": \"ocsp\", \"unknownStatus\": \"soft-fail\", "
	    "\"ocspResponder\": \"http://ocsp.example/\", \"ocspGet\": false, "
	    "\"nonceRequired\": true, \"clockSkewSeconds\": 60, \"maxAgeSeconds\": 120, "
	    "\"timeoutSeconds\": 2, \"maxCrlSize\": 4096, \"ocspCacheSize\": 5, "
	    "\"crlCacheSize\": 3}, "
	    "\"directories\": [" CONFIG_DIRECTORY("corp", ", \"caBase\": \"ou=cas\", "
	    "\"caFilter\": \"(cn=%s)\", \"revocation\": {\"policy\": \"crl\"}") ", "
	    CONFIG_DIRECTORY("partner", ", \"revocation\": {\"unknownStatus\": \"hard-fail\"}")
	    ", " CONFIG_DIRECTORY("other", "") "]}", &error);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_int_eq(c->revocation_policy.method, REVOCATION_OCSP);
	ck_assert(c->revocation_policy.soft_fail);
	ck_assert_str_eq(c->revocation.ocsp_responder, "http://ocsp.example/");
	ck_assert(!c->revocation.ocsp_get);
	ck_assert(c->revocation.ocsp_nonce_required);
	ck_assert_int_eq(c->revocation.clock_skew, 60);
	ck_assert_int_eq(c->revocation.max_age, 120);
	ck_assert_int_eq(c->revocation.timeout, 2);
	ck_assert_uint_eq(c->revocation.max_crl_size, 4096);
	ck_assert_uint_eq(c->revocation.ocsp_cache_size, 5);
	ck_assert_uint_eq(c->revocation.crl_cache_size, 3);
	ck_assert_str_eq(c->directories[0].ca_base, "ou=cas");
	ck_assert_str_eq(c->directories[0].ca_filter, "(cn=%s)");
	/* A directory overrides what it names and inherits the rest. */
	ck_assert_int_eq(c->directory_revocation[0].method, REVOCATION_CRL);
	ck_assert(c->directory_revocation[0].soft_fail);
	ck_assert_int_eq(c->directory_revocation[1].method, REVOCATION_OCSP);
	ck_assert(!c->directory_revocation[1].soft_fail);
	ck_assert_int_eq(c->directory_revocation[2].method, REVOCATION_OCSP);
	ck_assert(c->directory_revocation[2].soft_fail);
	config_free(c);
}
END_TEST

static const struct {
	const char *text;
	const char *error_part;
} config_bad_cases[] = {
	{ "{" CONFIG_TRUST ", \"revocation\": {\"policy\": \"ocsp-only\"}}",
	    "\"revocation.policy\" is \"ocsp-only\"" },
	{ "{" CONFIG_TRUST ", \"revocation\": {\"unknownStatus\": \"ignore\"}}",
	    "\"revocation.unknownStatus\" is \"ignore\"" },
	{ "{" CONFIG_TRUST ", \"revocation\": {\"ocspResponder\": \"ldap://x/\"}}",
	    "\"revocation.ocspResponder\"" },
	{ "{" CONFIG_TRUST ", \"revocation\": {\"clockSkewSeconds\": -1}}",
	    "\"revocation.clockSkewSeconds\"" },
	{ "{" CONFIG_TRUST ", \"revocation\": {\"ocspCacheSize\": 0}}",
	    "\"revocation.ocspCacheSize\"" },
	{ "{" CONFIG_TRUST ", \"revocation\": {\"crls\": true}}",
	    "unknown option \"revocation.crls\"" },
	{ "{" CONFIG_TRUST ", \"directories\": [" CONFIG_DIRECTORY("corp",
	    ", \"revocation\": {\"policy\": \"sometimes\"}") "]}",
	    "\"directories[0].revocation.policy\" is \"sometimes\"" },
	{ "{" CONFIG_TRUST ", \"directories\": [" CONFIG_DIRECTORY("corp",
	    ", \"revocation\": {\"ocspResponder\": \"http://x/\"}") "]}",
	    "unknown option \"directories[0].revocation.ocspResponder\"" },
	{ "{" CONFIG_TRUST ", \"directories\": [" CONFIG_DIRECTORY("corp",
	    ", \"caFilter\": \"(objectClass=pkiCA)\"") "]}",
	    "\"directories[0].caFilter\"" },
};

START_TEST(config_revocation_rejects)
{
	char *error;
	struct config *c = config_from_text(config_bad_cases[_i].text, &error);

	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(error, config_bad_cases[_i].error_part) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, error, config_bad_cases[_i].error_part);
	free(error);
}
END_TEST

static Suite *
revocation_suite(void)
{
	Suite *s = suite_create("revocation");
	TCase *tc;

	tc = tcase_create("revcache");
	tcase_add_test(tc, revcache_fetch_then_hit);
	tcase_add_test(tc, revcache_expired_refetched);
	tcase_add_test(tc, revcache_evicts_least_recent);
	tcase_add_test(tc, revcache_forget_drops_value);
	tcase_add_test(tc, revcache_evicts_after_forget);
	tcase_add_test(tc, revcache_evicts_after_refetch);
	tcase_add_test(tc, revcache_waiters_share_fetch);
	suite_add_tcase(s, tc);

	tc = tcase_create("ocsp");
	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_add_loop_test(tc, ocsp_response_table, 0,
	    sizeof(ocsp_cases) / sizeof(ocsp_cases[0]));
	tcase_add_test(tc, ocsp_revoked_reason_and_times);
	tcase_add_test(tc, ocsp_garbage_rejected);
	tcase_add_test(tc, ocsp_response_wrong_issuer);
	tcase_add_test(tc, ocsp_get_url_encoding);
	tcase_add_test(tc, ocsp_cert_id_format);
	tcase_add_test(tc, ocsp_aia_urls);
	suite_add_tcase(s, tc);

	tc = tcase_create("crl");
	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_add_test(tc, crl_verify_accepts_issuer);
	tcase_add_test(tc, crl_verify_rejects);
	tcase_add_test(tc, crl_verify_needs_crlsign);
	tcase_add_loop_test(tc, crl_lookup_table, 0, sizeof(crl_cases) / sizeof(crl_cases[0]));
	tcase_add_test(tc, crl_parse_der_pem_garbage);
	tcase_add_test(tc, crl_distribution_points);
	tcase_add_test(tc, crl_fresh_until_dates);
	suite_add_tcase(s, tc);

	tc = tcase_create("checker");
	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, checker_good_via_ocsp);
	tcase_add_test(tc, checker_post_when_get_off);
	tcase_add_test(tc, checker_revoked_via_ocsp);
	tcase_add_test(tc, checker_revoked_intermediate);
	tcase_add_test(tc, checker_revoked_via_crl);
	tcase_add_test(tc, checker_ocsp_down_crl_fallback);
	tcase_add_test(tc, checker_all_down_unknown);
	tcase_add_test(tc, checker_ocsp_only_no_crl);
	tcase_add_test(tc, checker_none_asks_nobody);
	tcase_add_test(tc, checker_no_sources_unknown);
	tcase_add_test(tc, checker_ocsp_unknown_falls_back);
	tcase_add_test(tc, checker_no_next_update_not_cached);
	tcase_add_test(tc, checker_stale_crl);
	tcase_add_test(tc, checker_one_fetch_in_flight);
	tcase_add_test(tc, method_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("signer");
	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_add_test(tc, signer_good);
	tcase_add_test(tc, signer_revoked);
	tcase_add_test(tc, signer_unknown_hard_fail);
	tcase_add_test(tc, signer_unknown_soft_fail);
	tcase_add_test(tc, signer_policy_none);
	tcase_add_test(tc, signer_chain_verified_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, config_revocation_defaults);
	tcase_add_test(tc, config_revocation_options);
	tcase_add_loop_test(tc, config_revocation_rejects, 0,
	    sizeof(config_bad_cases) / sizeof(config_bad_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(revocation_suite());
	int failed;

	pthread_mutex_init(&net.lock, NULL);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
