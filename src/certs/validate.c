/* Certificate validation for S/MIME: trust anchors, chain building with
 * X509_STORE_CTX, validity, key usage, extended key usage, address match. */
#include "certs/validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certs/certvalue.h"
#include "certs/chaincache.h"
#include "certs/sslerr.h"
#include "util/fsutil.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Certificate bundles larger than this are rejected as the wrong file. */
#define CERT_BUNDLE_MAX_SIZE (16 * 1024 * 1024)

struct cert_trust {
	X509_STORE *store;			/* the anchors */
	STACK_OF(X509) *intermediates;		/* configured bundle, untrusted */
	struct chaincache *chains;		/* verified with these anchors */
};

static const struct {
	const char *name;
	const char *text;
} cert_reasons[] = {
	[CERT_OK] = { "ok", "the certificate is valid" },
	[CERT_NONE] = { "noCertificate", "no certificate was found" },
	[CERT_EXPIRED] = { "expired", "the certificate has expired" },
	[CERT_NOT_YET_VALID] = { "notYetValid", "the certificate is not yet valid" },
	[CERT_KEY_USAGE] = { "keyUsage",
	    "the key usage of the certificate does not allow this use" },
	[CERT_NO_EMAIL_PROTECTION] = { "noEmailProtection",
	    "the extended key usage of the certificate does not include email protection" },
	[CERT_UNTRUSTED] = { "untrusted",
	    "the certificate does not chain to a trusted certificate authority" },
	[CERT_ADDRESS_MISMATCH] = { "addressMismatch",
	    "the certificate is not issued for this address" },
	[CERT_REVOKED] = { "revoked", "the certificate has been revoked" },
	[CERT_UNSUPPORTED_KEY] = { "unsupportedKey",
	    "the key type of the certificate is not supported" },
	[CERT_INVALID] = { "invalid", "the certificate is invalid" },
	[CERT_REVOCATION_UNKNOWN] = { "revocationUnknown",
	    "the revocation status of the certificate could not be obtained" },
};

const char *
cert_reason_name(enum cert_reason r)
{
	if ((size_t)r >= sizeof(cert_reasons) / sizeof(cert_reasons[0]))
		return "invalid";
	return cert_reasons[r].name;
}

const char *
cert_reason_text(enum cert_reason r)
{
	if ((size_t)r >= sizeof(cert_reasons) / sizeof(cert_reasons[0]))
		return cert_reasons[CERT_INVALID].text;
	return cert_reasons[r].text;
}

char *
cert_time_string(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		ERR_clear_error();
		snprintf(buf, size, "invalid time");
	}
	return buf;
}

int
cert_time_epoch(const ASN1_TIME *t, time_t *epoch_r)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int days = 0, seconds = 0;
	int ok = epoch != NULL && t != NULL && ASN1_TIME_diff(&days, &seconds, epoch, t);

	ASN1_TIME_free(epoch);
	if (!ok) {
		ERR_clear_error();
		return -1;
	}
	*epoch_r = (time_t)days * 86400 + seconds;
	return 0;
}

char *
cert_serial_string(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	char *s = xstrdup(hex != NULL ? hex : "?");

	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
	return s;
}

/* Returns the name in RFC 2253 form, allocated. */
static char *
cert_name_string(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	char *s;

	if (bio == NULL)
		abort();
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(bio, &data);
	s = xstrndup(data != NULL ? data : "", len > 0 ? (size_t)len : 0);
	BIO_free(bio);
	return s;
}

char *
cert_subject_string(X509 *cert)
{
	return cert_name_string(X509_get_subject_name(cert));
}

static int
cert_trust_read(const char *path, STACK_OF(X509) *out, char **error_r)
{
	char *data = NULL, *error = NULL;
	size_t len = 0;

	if (fs_read_file(path, CERT_BUNDLE_MAX_SIZE, &data, &len, error_r) < 0)
		return -1;
	if (certvalue_parse((const unsigned char *)data, len, out, &error) < 0) {
		*error_r = xasprintf("%s: no certificate could be read: %s", path, error);
		free(error);
		free(data);
		return -1;
	}
	free(data);
	return 0;
}

int
cert_trust_load(char *const *anchor_files, size_t anchor_count,
    char *const *intermediate_files, size_t intermediate_count,
    size_t chain_cache_size, int chain_cache_ttl, struct cert_trust **trust_r,
    char **error_r)
{
	struct cert_trust *trust = xcalloc(1, sizeof(*trust));
	STACK_OF(X509) *anchors = sk_X509_new_null();

	trust->store = X509_STORE_new();
	trust->intermediates = sk_X509_new_null();
	trust->chains = chaincache_new(chain_cache_size, chain_cache_ttl);
	if (anchors == NULL || trust->store == NULL || trust->intermediates == NULL)
		abort();

	for (size_t i = 0; i < anchor_count; i++) {
		if (cert_trust_read(anchor_files[i], anchors, error_r) < 0)
			goto fail;
	}
	for (int i = 0; i < sk_X509_num(anchors); i++) {
		/* OpenSSL 3 accepts a certificate that is already in the
		 * store, so duplicates in the bundles are harmless. */
		if (X509_STORE_add_cert(trust->store, sk_X509_value(anchors, i)) != 1) {
			char *ssl = sslerr_pop();
			*error_r = xasprintf("adding trust anchor %d failed: %s", i + 1, ssl);
			free(ssl);
			goto fail;
		}
	}
	for (size_t i = 0; i < intermediate_count; i++) {
		if (cert_trust_read(intermediate_files[i], trust->intermediates, error_r) < 0)
			goto fail;
	}
	/* OpenSSL computes a certificate's extension cache on first use and
	 * threads that verify at the same time race on it (found with
	 * ThreadSanitizer, OpenSSL 3.0), so it is filled here, before the
	 * certificates are shared. */
	for (int i = 0; i < sk_X509_num(anchors); i++)
		X509_check_purpose(sk_X509_value(anchors, i), -1, 0);
	for (int i = 0; i < sk_X509_num(trust->intermediates); i++)
		X509_check_purpose(sk_X509_value(trust->intermediates, i), -1, 0);
	ERR_clear_error();

	sk_X509_pop_free(anchors, X509_free);
	*trust_r = trust;
	return 0;
fail:
	sk_X509_pop_free(anchors, X509_free);
	cert_trust_free(trust);
	return -1;
}

void
cert_trust_free(struct cert_trust *trust)
{
	if (trust == NULL)
		return;
	X509_STORE_free(trust->store);
	sk_X509_pop_free(trust->intermediates, X509_free);
	chaincache_free(trust->chains);
	free(trust);
}

void
cert_trust_get_chain_stats(const struct cert_trust *trust, struct chaincache_stats *stats)
{
	chaincache_get_stats(trust->chains, stats);
}

/* Sets *detail_r (if wanted) to an allocated printf result and returns r. */
static enum cert_reason cert_verdict(char **detail_r, enum cert_reason r,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum cert_reason
cert_verdict(char **detail_r, enum cert_reason r, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (detail_r == NULL)
		return r;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		abort();
	*detail_r = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(*detail_r, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return r;
}

static enum cert_reason
cert_check_time(X509 *cert, time_t now, char **detail_r)
{
	char buf[32];
	int cmp;

	cmp = X509_cmp_time(X509_get0_notAfter(cert), &now);
	if (cmp == 0)
		return cert_verdict(detail_r, CERT_INVALID, "notAfter cannot be read");
	if (cmp < 0)
		return cert_verdict(detail_r, CERT_EXPIRED, "notAfter %s is in the past",
		    cert_time_string(X509_get0_notAfter(cert), buf, sizeof(buf)));

	cmp = X509_cmp_time(X509_get0_notBefore(cert), &now);
	if (cmp == 0)
		return cert_verdict(detail_r, CERT_INVALID, "notBefore cannot be read");
	if (cmp > 0)
		return cert_verdict(detail_r, CERT_NOT_YET_VALID,
		    "notBefore %s is in the future",
		    cert_time_string(X509_get0_notBefore(cert), buf, sizeof(buf)));
	return CERT_OK;
}

/* Maps the error of a failed X509_verify_cert to a reason. */
static enum cert_reason
cert_chain_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return CERT_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return CERT_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
	case X509_V_ERR_PERMITTED_VIOLATION:
	case X509_V_ERR_EXCLUDED_VIOLATION:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return CERT_UNTRUSTED;
	default:
		return CERT_INVALID;
	}
}

/* Builds and verifies the chain of cert at now. On CERT_OK, *chain_r gets
 * the chain above cert. */
static enum cert_reason
cert_verify_chain(const struct cert_trust *trust, X509 *cert, STACK_OF(X509) *untrusted,
    time_t now, STACK_OF(X509) **chain_r, char **detail_r)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *pool = sk_X509_dup(trust->intermediates);
	enum cert_reason r;
	int ok;

	if (ctx == NULL || pool == NULL)
		abort();
	for (int i = 0; untrusted != NULL && i < sk_X509_num(untrusted); i++)
		sk_X509_push(pool, sk_X509_value(untrusted, i));

	if (X509_STORE_CTX_init(ctx, trust->store, cert, pool) != 1) {
		char *ssl = sslerr_pop();
		r = cert_verdict(detail_r, CERT_INVALID, "chain verification failed: %s", ssl);
		free(ssl);
		goto out;
	}
	/* No purpose is set, so the store checks neither keyUsage nor
	 * extendedKeyUsage of the certificate: they are checked below with
	 * their own reasons. A configured anchor need not be self-signed. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set_time(ctx, 0, now);

	ok = X509_verify_cert(ctx);
	if (ok == 1) {
		*chain_r = X509_STORE_CTX_get1_chain(ctx);
		X509_free(sk_X509_shift(*chain_r));
		r = CERT_OK;
		goto out;
	}

	int err = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *current = X509_STORE_CTX_get_current_cert(ctx);
	char *subject = cert_name_string(X509_get_subject_name(current != NULL ?
	    current : cert));
	char *issuer = cert_name_string(X509_get_issuer_name(current != NULL ?
	    current : cert));

	r = cert_verdict(detail_r, ok < 0 ? CERT_INVALID : cert_chain_reason(err),
	    "%s at chain depth %d (subject \"%s\", issuer \"%s\")",
	    X509_verify_cert_error_string(err), depth, subject, issuer);
	free(subject);
	free(issuer);
	ERR_clear_error();
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(pool);
	return r;
}

/* Verifies the chain of cert at now like cert_verify_chain, or takes it
 * from the cache of trust when an earlier verification is valid at now.
 * Only successes are cached, so a failure is verified again and gets its
 * own detail. */
static enum cert_reason
cert_check_chain(const struct cert_trust *trust, X509 *cert, STACK_OF(X509) *untrusted,
    time_t now, STACK_OF(X509) **chain_r, char **detail_r)
{
	char *key = chaincache_key(trust->chains, cert, untrusted);
	enum chaincache_outcome outcome = CHAINCACHE_VERIFY_ONLY;
	enum cert_reason r;

	if (key != NULL)
		outcome = chaincache_get(trust->chains, key, now, chain_r);
	if (outcome == CHAINCACHE_HIT) {
		free(key);
		return CERT_OK;
	}

	r = cert_verify_chain(trust, cert, untrusted, now, chain_r, detail_r);
	if (outcome == CHAINCACHE_VERIFY)
		chaincache_put(trust->chains, key, cert, r == CERT_OK ? *chain_r : NULL, now);
	free(key);
	return r;
}

static const struct {
	uint32_t bit;
	const char *name;
} cert_key_usages[] = {
	{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
	{ KU_NON_REPUDIATION, "nonRepudiation" },
	{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
	{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
	{ KU_KEY_AGREEMENT, "keyAgreement" },
	{ KU_KEY_CERT_SIGN, "keyCertSign" },
	{ KU_CRL_SIGN, "cRLSign" },
	{ KU_ENCIPHER_ONLY, "encipherOnly" },
	{ KU_DECIPHER_ONLY, "decipherOnly" },
};

static void
cert_key_usage_names(uint32_t ku, struct strbuf *sb)
{
	for (size_t i = 0; i < sizeof(cert_key_usages) / sizeof(cert_key_usages[0]); i++) {
		if ((ku & cert_key_usages[i].bit) == 0)
			continue;
		if (sb->len > 0)
			strbuf_appends(sb, ", ");
		strbuf_appends(sb, cert_key_usages[i].name);
	}
	if (sb->len == 0)
		strbuf_appends(sb, "none");
}

/* Checks the key type and, when the extension is present, keyUsage. */
static enum cert_reason
cert_check_key(X509 *cert, enum cert_purpose purpose, char **detail_r)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	struct strbuf names = STRBUF_INIT;
	uint32_t ku, need;
	const char *need_text;
	int type;
	enum cert_reason r;

	if (key == NULL) {
		ERR_clear_error();
		return cert_verdict(detail_r, CERT_INVALID, "the public key cannot be read");
	}
	type = EVP_PKEY_get_base_id(key);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
		return cert_verdict(detail_r, CERT_UNSUPPORTED_KEY,
		    "key type %s is not supported (RSA and EC are)",
		    OBJ_nid2sn(type != NID_undef ? type : EVP_PKEY_get_id(key)));

	if (purpose == CERT_PURPOSE_SIGN) {
		need = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
		need_text = "digitalSignature or nonRepudiation";
	} else if (type == EVP_PKEY_RSA) {
		need = KU_KEY_ENCIPHERMENT;
		need_text = "keyEncipherment (RSA key)";
	} else {
		need = KU_KEY_AGREEMENT;
		need_text = "keyAgreement (EC key)";
	}
	/* X509_get_key_usage returns all bits when the extension is absent. */
	ku = X509_get_key_usage(cert);
	if ((ku & need) != 0)
		return CERT_OK;
	cert_key_usage_names(ku, &names);
	r = cert_verdict(detail_r, CERT_KEY_USAGE, "keyUsage (%s) does not include %s",
	    strbuf_str(&names), need_text);
	strbuf_free(&names);
	return r;
}

static enum cert_reason
cert_check_eku(X509 *cert, char **detail_r)
{
	EXTENDED_KEY_USAGE *eku;
	struct strbuf names = STRBUF_INIT;
	enum cert_reason r;

	/* Returns all bits when the extension is absent. */
	if ((X509_get_extended_key_usage(cert) & (XKU_SMIME | XKU_ANYEKU)) != 0)
		return CERT_OK;

	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(obj);
		char oid[128];

		if (names.len > 0)
			strbuf_appends(&names, ", ");
		if (nid != NID_undef) {
			strbuf_appends(&names, OBJ_nid2sn(nid));
		} else {
			OBJ_obj2txt(oid, sizeof(oid), obj, 1);
			strbuf_appends(&names, oid);
		}
	}
	EXTENDED_KEY_USAGE_free(eku);
	r = cert_verdict(detail_r, CERT_NO_EMAIL_PROTECTION,
	    "extendedKeyUsage (%s) includes neither emailProtection nor "
	    "anyExtendedKeyUsage", names.len > 0 ? strbuf_str(&names) : "none");
	strbuf_free(&names);
	return r;
}

/* Compares an address from the certificate with email, ignoring ASCII case
 * in both parts. An embedded NUL never matches. */
static bool
cert_address_equal(const ASN1_STRING *s, const char *email)
{
	const unsigned char *data = ASN1_STRING_get0_data(s);
	size_t len = (size_t)ASN1_STRING_length(s);

	if (len != strlen(email))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char a = data[i], b = (unsigned char)email[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

static void
cert_append_address(struct strbuf *sb, const ASN1_STRING *s)
{
	if (sb->len > 0)
		strbuf_appends(sb, ", ");
	strbuf_append(sb, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
}

/* Matches email against the rfc822Name entries of subjectAltName or, only
 * when there are none, the subject emailAddress attributes. */
static enum cert_reason
cert_check_address(X509 *cert, const char *email, char **detail_r)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	struct strbuf seen = STRBUF_INIT;
	bool in_san = false, match = false;
	enum cert_reason r = CERT_OK;

	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		GENERAL_NAME *gen = sk_GENERAL_NAME_value(names, i);

		if (gen->type != GEN_EMAIL)
			continue;
		in_san = true;
		match = match || cert_address_equal(gen->d.rfc822Name, email);
		cert_append_address(&seen, gen->d.rfc822Name);
	}
	GENERAL_NAMES_free(names);

	if (!in_san) {
		const X509_NAME *subject = X509_get_subject_name(cert);
		int idx = -1;

		while ((idx = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress,
		    idx)) >= 0) {
			const ASN1_STRING *s = X509_NAME_ENTRY_get_data(
			    X509_NAME_get_entry(subject, idx));

			match = match || cert_address_equal(s, email);
			cert_append_address(&seen, s);
		}
	}
	if (!match)
		r = cert_verdict(detail_r, CERT_ADDRESS_MISMATCH,
		    "%s is not among the certificate's addresses (%s%s)", email,
		    in_san ? "subjectAltName: " : "subject emailAddress: ",
		    seen.len > 0 ? strbuf_str(&seen) : "none");
	strbuf_free(&seen);
	return r;
}

enum cert_reason
cert_validate_chain(const struct cert_trust *trust, X509 *cert,
    STACK_OF(X509) *untrusted, const char *email, enum cert_purpose purpose,
    time_t now, STACK_OF(X509) **chain_r, char **detail_r)
{
	STACK_OF(X509) *chain = NULL;
	enum cert_reason r;
	char buf[32];

	if (chain_r != NULL)
		*chain_r = NULL;
	if (cert == NULL)
		return cert_verdict(detail_r, CERT_NONE, "no certificate");
	if ((X509_get_extension_flags(cert) & EXFLAG_INVALID) != 0)
		return cert_verdict(detail_r, CERT_INVALID,
		    "the certificate has invalid or duplicate extensions");

	/* The certificate's own period first, so that an expired certificate
	 * is reported as expired even when its chain is broken too. */
	r = cert_check_time(cert, now, detail_r);
	if (r != CERT_OK)
		return r;
	r = cert_check_chain(trust, cert, untrusted, now, &chain, detail_r);
	if (r != CERT_OK)
		return r;
	r = cert_check_key(cert, purpose, detail_r);
	if (r == CERT_OK)
		r = cert_check_eku(cert, detail_r);
	if (r == CERT_OK && email != NULL)
		r = cert_check_address(cert, email, detail_r);
	if (r != CERT_OK) {
		sk_X509_pop_free(chain, X509_free);
		return r;
	}

	char *issuer = cert_name_string(X509_get_issuer_name(cert));
	cert_verdict(detail_r, CERT_OK, "valid until %s, issued by \"%s\"",
	    cert_time_string(X509_get0_notAfter(cert), buf, sizeof(buf)), issuer);
	free(issuer);
	if (chain_r != NULL)
		*chain_r = chain;
	else
		sk_X509_pop_free(chain, X509_free);
	return CERT_OK;
}

enum cert_reason
cert_validate(const struct cert_trust *trust, X509 *cert, STACK_OF(X509) *untrusted,
    const char *email, enum cert_purpose purpose, time_t now, char **detail_r)
{
	return cert_validate_chain(trust, cert, untrusted, email, purpose, now, NULL,
	    detail_r);
}
