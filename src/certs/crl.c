/* CRL checks with OpenSSL's X509_CRL: issuer, signature, scope
 * (issuingDistributionPoint), freshness and the entry of one certificate. */
#include "certs/crl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs/sslerr.h"
#include "certs/validate.h"
#include "util/xmalloc.h"

/* The removeFromCRL reason: only meaningful in delta CRLs. */
#define CRL_REASON_REMOVE_FROM_CRL 8

static const char *const crl_reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", "unused",
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

const char *
crl_reason_name(int reason)
{
	if (reason < 0 ||
	    (size_t)reason >= sizeof(crl_reason_names) / sizeof(crl_reason_names[0]))
		return "unspecified";
	return crl_reason_names[reason];
}

X509_CRL *
crl_parse(const unsigned char *data, size_t len, char **error_r)
{
	const unsigned char *p = data;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	X509_REVOKED *unused;

	if (crl == NULL) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);

		if (bio == NULL)
			abort();
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (crl == NULL) {
		char *ssl = sslerr_pop();
		*error_r = xasprintf("not a DER or PEM CRL: %s", ssl);
		free(ssl);
		return NULL;
	}
	/* The first lookup sorts the revoked entries; doing it here, before
	 * the CRL is shared, keeps threads from doing it at the same time. */
	ASN1_INTEGER *zero = ASN1_INTEGER_new();

	if (zero == NULL || ASN1_INTEGER_set(zero, 0) != 1)
		abort();
	X509_CRL_get0_by_serial(crl, &unused, zero);
	ASN1_INTEGER_free(zero);
	ERR_clear_error();
	return crl;
}

/* Checks that every critical extension of crl is one this code handles. */
static int
crl_check_critical(X509_CRL *crl, char **error_r)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);

	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		char oid[80];

		if (!X509_EXTENSION_get_critical(ext) || nid == NID_issuing_distribution_point)
			continue;
		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 0);
		*error_r = xasprintf("the CRL has the unsupported critical extension %s", oid);
		return -1;
	}
	return 0;
}

int
crl_verify(X509_CRL *crl, X509 *issuer, char **error_r)
{
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	ISSUING_DIST_POINT *idp;
	bool indirect;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		*error_r = xstrdup("the CRL's issuer is not the certificate's issuer");
		return -1;
	}
	if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
		*error_r = xstrdup("the issuer's keyUsage does not include cRLSign");
		return -1;
	}
	if (key == NULL || X509_CRL_verify(crl, key) != 1) {
		char *ssl = sslerr_pop();
		*error_r = xasprintf("the CRL's signature does not verify with the "
		    "issuer's key: %s", ssl);
		free(ssl);
		return -1;
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		*error_r = xstrdup("the CRL is a delta CRL, which is not supported");
		return -1;
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL, NULL);
	indirect = idp != NULL && idp->indirectCRL;
	ISSUING_DIST_POINT_free(idp);
	if (indirect) {
		*error_r = xstrdup("the CRL is an indirect CRL, which is not supported");
		return -1;
	}
	return crl_check_critical(crl, error_r);
}

/* Returns true when a URI of the fullName names is among those of cert's
 * distribution points. */
static bool
crl_names_match(GENERAL_NAMES *names, X509 *cert)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points,
	    NULL, NULL);
	bool match = false;

	for (int i = 0; !match && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0; !match && j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *a = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);

			for (int k = 0; !match && k < sk_GENERAL_NAME_num(names); k++)
				match = GENERAL_NAME_cmp(a, sk_GENERAL_NAME_value(names, k)) == 0;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return match;
}

/* Checks that the scope in the issuingDistributionPoint of crl covers cert
 * for every reason (RFC 5280 6.3.3 b and d). Returns NULL when it does, or
 * the reason why not. */
static const char *
crl_scope_gap(X509_CRL *crl, X509 *cert)
{
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point,
	    NULL, NULL);
	bool is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
	const char *gap = NULL;

	if (idp == NULL)
		return NULL;
	if (idp->onlyattr)
		gap = "the CRL covers only attribute certificates";
	else if (idp->onlyuser && is_ca)
		gap = "the CRL covers only end-entity certificates";
	else if (idp->onlyCA && !is_ca)
		gap = "the CRL covers only CA certificates";
	else if (idp->onlysomereasons != NULL)
		gap = "the CRL covers only some revocation reasons";
	else if (idp->distpoint != NULL && (idp->distpoint->type != 0 ||
	    !crl_names_match(idp->distpoint->name.fullname, cert)))
		gap = "the CRL's distribution point is not one of the certificate's";
	ISSUING_DIST_POINT_free(idp);
	return gap;
}

/* Returns the reasonCode of an entry, -1 when it has none. */
static int
crl_entry_reason(X509_REVOKED *rev)
{
	ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	int code = reason != NULL ? (int)ASN1_ENUMERATED_get(reason) : -1;

	ASN1_ENUMERATED_free(reason);
	ERR_clear_error();
	return code;
}

static enum crl_result
crl_listed(X509_REVOKED *rev, int reason, X509 *cert, struct crl_entry *entry_r,
    char **detail_r)
{
	char *serial = cert_serial_string(cert);
	char buf[32];

	entry_r->reason = reason;
	if (cert_time_epoch(X509_REVOKED_get0_revocationDate(rev),
	    &entry_r->revocation_time) < 0)
		entry_r->revocation_time = 0;
	*detail_r = xasprintf("serial %s is listed as revoked on %s, reason %s", serial,
	    cert_time_string(X509_REVOKED_get0_revocationDate(rev), buf, sizeof(buf)),
	    crl_reason_name(entry_r->reason));
	free(serial);
	return CRL_REVOKED;
}

enum crl_result
crl_lookup(X509_CRL *crl, X509 *cert, time_t now, int clock_skew, int max_age,
    struct crl_entry *entry_r, char **detail_r)
{
	X509_REVOKED *rev = NULL;
	time_t this_update, next_update = 0;
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	const char *gap;
	char buf[32];

	entry_r->reason = -1;
	entry_r->revocation_time = 0;
	/* OpenSSL reports removeFromCRL entries itself only for CRLs it
	 * decoded, so the reason is read here as well. */
	if (X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(cert)) == 1) {
		int reason = crl_entry_reason(rev);

		if (reason != CRL_REASON_REMOVE_FROM_CRL)
			return crl_listed(rev, reason, cert, entry_r, detail_r);
	}

	if (cert_time_epoch(X509_CRL_get0_lastUpdate(crl), &this_update) < 0 ||
	    (next != NULL && cert_time_epoch(next, &next_update) < 0)) {
		*detail_r = xstrdup("thisUpdate or nextUpdate of the CRL cannot be read");
		return CRL_UNKNOWN;
	}
	if (this_update > now + clock_skew) {
		*detail_r = xasprintf("thisUpdate %s of the CRL is in the future",
		    cert_time_string(X509_CRL_get0_lastUpdate(crl), buf, sizeof(buf)));
		return CRL_UNKNOWN;
	}
	if (next != NULL && next_update < now - clock_skew) {
		*detail_r = xasprintf("the CRL is stale: nextUpdate %s is in the past",
		    cert_time_string(next, buf, sizeof(buf)));
		return CRL_UNKNOWN;
	}
	if (next == NULL && this_update < now - max_age) {
		*detail_r = xasprintf("the CRL has no nextUpdate and its thisUpdate is more "
		    "than %d seconds old", max_age);
		return CRL_UNKNOWN;
	}
	gap = crl_scope_gap(crl, cert);
	if (gap != NULL) {
		*detail_r = xstrdup(gap);
		return CRL_UNKNOWN;
	}
	*detail_r = xasprintf("not listed in the CRL with thisUpdate %s",
	    cert_time_string(X509_CRL_get0_lastUpdate(crl), buf, sizeof(buf)));
	return CRL_GOOD;
}

time_t
crl_fresh_until(X509_CRL *crl, int max_age)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	time_t t;

	if (next != NULL)
		return cert_time_epoch(next, &t) == 0 ? t : 0;
	if (cert_time_epoch(X509_CRL_get0_lastUpdate(crl), &t) < 0)
		return 0;
	return t + max_age;
}

static bool
crl_url_supported(const char *uri)
{
	return strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "ldap://", 7) == 0 ||
	    strncasecmp(uri, "ldaps://", 8) == 0;
}

char **
crl_distribution_urls(X509 *cert)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points,
	    NULL, NULL);
	char **urls = NULL;
	size_t count = 0;

	for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		GENERAL_NAMES *names;

		if (dp->distpoint == NULL || dp->distpoint->type != 0 || dp->reasons != NULL ||
		    dp->CRLissuer != NULL)
			continue;
		names = dp->distpoint->name.fullname;
		for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
			GENERAL_NAME *gen = sk_GENERAL_NAME_value(names, j);
			const char *uri;

			if (gen->type != GEN_URI)
				continue;
			uri = (const char *)ASN1_STRING_get0_data(gen->d.uniformResourceIdentifier);
			if ((size_t)ASN1_STRING_length(gen->d.uniformResourceIdentifier) !=
			    strlen(uri) || !crl_url_supported(uri))
				continue;
			urls = xreallocarray(urls, count + 2, sizeof(*urls));
			urls[count++] = xstrdup(uri);
			urls[count] = NULL;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return urls;
}
