/* S/MIME signing (RFC 8551 3.5): CMS SignedData with the S/MIME signed
 * attributes, written as multipart/signed (RFC 1847) or opaque
 * application/pkcs7-mime. */
#define _GNU_SOURCE /* memmem */
#include "smime/smime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "smime/smime_internal.h"
#include "util/hex.h"
#include "util/xmalloc.h"

/* Number of random octets in a boundary. 16 octets give 128 bits, written as
 * 32 hex digits. */
#define SIGN_BOUNDARY_RANDOM 16

/* Attempts at a boundary that does not occur in the entity. With 128 random
 * bits even a second attempt is practically never needed. */
#define SIGN_BOUNDARY_ATTEMPTS 4

/* Context-specific constructed tag [0], the issuerAndSerialNumber choice of
 * SMIMEEncryptionKeyPreference (RFC 8551 2.5.3, IMPLICIT tags). */
#define SIGN_TAG_CONTEXT_0 0xa0

static const char sign_preamble[] =
    "This is a cryptographically signed message in MIME format.\r\n";

static const EVP_MD *
sign_digest_md(enum smime_digest digest, const char **micalg_r)
{
	switch (digest) {
	case SMIME_DIGEST_SHA384:
		*micalg_r = "sha-384";
		return EVP_sha384();
	case SMIME_DIGEST_SHA512:
		*micalg_r = "sha-512";
		return EVP_sha512();
	case SMIME_DIGEST_SHA256:
		break;
	}
	*micalg_r = "sha-256";
	return EVP_sha256();
}

/* Adds SMIMECapabilities (RFC 8551 2.5.2) in order of preference. The
 * gateway cannot know what the sender's other clients decrypt, so the CBC
 * ciphers that every S/MIME client supports come before GCM. */
static int
sign_add_capabilities(CMS_SignerInfo *si, char **error_r)
{
	static const int nids[] = {
		NID_aes_256_cbc, NID_aes_128_cbc, NID_aes_256_gcm, NID_aes_128_gcm,
	};
	STACK_OF(X509_ALGOR) *algs = NULL;
	int ret = -1;

	for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
		if (!CMS_add_simple_smimecap(&algs, nids[i], -1)) {
			*error_r = smime_openssl_error("CMS_add_simple_smimecap");
			goto fail;
		}
	}
	if (!CMS_add_smimecap(si, algs)) {
		*error_r = smime_openssl_error("CMS_add_smimecap");
		goto fail;
	}
	ret = 0;
fail:
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	return ret;
}

/* Writes a DER tag and definite length at p, which has room for 6 octets,
 * and returns the number written. */
static size_t
sign_der_header(unsigned char *p, unsigned char tag, size_t len)
{
	size_t n = 0;

	p[n++] = tag;
	if (len < 0x80) {
		p[n++] = (unsigned char)len;
		return n;
	}

	size_t octets = 0;
	for (size_t rest = len; rest > 0; rest >>= 8)
		octets++;
	p[n++] = (unsigned char)(0x80 | octets);
	for (size_t i = octets; i > 0; i--)
		p[n++] = (unsigned char)(len >> (8 * (i - 1)));
	return n;
}

/* Adds SMIMEEncryptionKeyPreference (RFC 8551 2.5.3) naming cert by issuer
 * and serial number. OpenSSL has no type for this attribute, so the value
 * [0] IMPLICIT IssuerAndSerialNumber is encoded here: the issuer Name and
 * the serial INTEGER under a context tag in place of the SEQUENCE tag. */
static int
sign_add_key_preference(CMS_SignerInfo *si, X509 *cert, char **error_r)
{
	unsigned char *issuer = NULL, *serial = NULL, *value = NULL;
	int issuer_len = i2d_X509_NAME(X509_get_issuer_name(cert), &issuer);
	int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
	int ret = -1;

	if (issuer_len <= 0 || serial_len <= 0) {
		*error_r = smime_openssl_error("encoding the issuer and serial number");
		goto fail;
	}

	size_t body_len = (size_t)issuer_len + (size_t)serial_len;
	value = xmalloc(body_len + 6);
	size_t len = sign_der_header(value, SIGN_TAG_CONTEXT_0, body_len);
	memcpy(value + len, issuer, (size_t)issuer_len);
	len += (size_t)issuer_len;
	memcpy(value + len, serial, (size_t)serial_len);
	len += (size_t)serial_len;

	/* With the type V_ASN1_SEQUENCE OpenSSL writes the bytes as they are,
	 * tag included. */
	if (!CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_encrypKeyPref,
		V_ASN1_SEQUENCE, value, (int)len)) {
		*error_r = smime_openssl_error("adding SMIMEEncryptionKeyPreference");
		goto fail;
	}
	ret = 0;
fail:
	OPENSSL_free(issuer);
	OPENSSL_free(serial);
	free(value);
	return ret;
}

/* Adds the chain certificates, skipping the signer's own certificate and
 * repeats, which CMS_add1_cert rejects. */
static int
sign_add_chain(CMS_ContentInfo *cms, const struct smime_signer *signer,
    char **error_r)
{
	for (int i = 0; i < sk_X509_num(signer->chain); i++) {
		X509 *cert = sk_X509_value(signer->chain, i);
		bool seen = X509_cmp(cert, signer->cert) == 0;

		for (int j = 0; j < i && !seen; j++)
			seen = X509_cmp(cert, sk_X509_value(signer->chain, j)) == 0;
		if (seen)
			continue;
		if (!CMS_add1_cert(cms, cert)) {
			char *subject = smime_cert_subject(cert);
			char *operation = xasprintf("CMS_add1_cert(%s)", subject);

			*error_r = smime_openssl_error(operation);
			free(operation);
			free(subject);
			return -1;
		}
	}
	return 0;
}

/* Switches an RSA signer to RSASSA-PSS (RFC 4056) with MGF1 over the
 * message digest and a salt as long as the digest. Other keys are left
 * alone. */
static int
sign_set_pss(CMS_SignerInfo *si, EVP_PKEY *key, const EVP_MD *md, char **error_r)
{
	EVP_PKEY_CTX *pctx;

	if (!EVP_PKEY_is_a(key, "RSA"))
		return 0;
	pctx = CMS_SignerInfo_get0_pkey_ctx(si);
	if (pctx == NULL ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0) {
		*error_r = smime_openssl_error("setting RSASSA-PSS");
		return -1;
	}
	return 0;
}

/* Builds the SignedData over entity. CMS_BINARY keeps OpenSSL from changing
 * line ends, because the entity is already canonical and must be signed
 * exactly as it will be sent. */
static CMS_ContentInfo *
sign_build_cms(const struct smime_signer *signer, const char *entity,
    size_t entity_len, bool opaque, const EVP_MD *md, bool pss, char **error_r)
{
	unsigned int flags = CMS_BINARY | (opaque ? 0 : CMS_DETACHED);
	X509 *key_cert = signer->encryption_cert != NULL ?
	    signer->encryption_cert : signer->cert;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;

	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	if (cms == NULL) {
		*error_r = smime_openssl_error("CMS_sign");
		goto fail;
	}
	/* CMS_KEY_PARAM keeps the key context open so that the padding can
	 * be set before CMS_final signs. */
	si = CMS_add1_signer(cms, signer->cert, signer->key, md,
	    CMS_BINARY | CMS_NOSMIMECAP | (pss ? CMS_KEY_PARAM : 0));
	if (si == NULL) {
		*error_r = smime_openssl_error("CMS_add1_signer");
		goto fail;
	}
	if (pss && sign_set_pss(si, signer->key, md, error_r) < 0)
		goto fail;
	if (sign_add_chain(cms, signer, error_r) < 0 ||
	    sign_add_capabilities(si, error_r) < 0 ||
	    sign_add_key_preference(si, key_cert, error_r) < 0)
		goto fail;

	if (smime_cms_final(cms, entity, entity_len, flags, error_r) < 0)
		goto fail;
	return cms;
fail:
	CMS_ContentInfo_free(cms);
	return NULL;
}

/* Picks a random boundary that does not occur in the entity. "=_" cannot
 * occur in base64 or quoted-printable text, which makes a clash with the
 * body of any part unlikely even before the check. */
static int
sign_make_boundary(const char *entity, size_t entity_len, char *boundary,
    size_t size, char **error_r)
{
	unsigned char octets[SIGN_BOUNDARY_RANDOM];
	char hex[2 * SIGN_BOUNDARY_RANDOM + 1];

	for (int attempt = 0; attempt < SIGN_BOUNDARY_ATTEMPTS; attempt++) {
		if (RAND_bytes(octets, sizeof(octets)) != 1) {
			*error_r = smime_openssl_error("RAND_bytes for the boundary");
			return -1;
		}

		hex_encode(hex, octets, sizeof(octets), false);
		snprintf(boundary, size, "=_smime_%s", hex);
		if (memmem(entity, entity_len, boundary, strlen(boundary)) == NULL)
			return 0;
	}
	*error_r = xstrdup("no multipart boundary absent from the entity was found");
	return -1;
}

/* Appends the multipart/signed entity: the signed entity unchanged as the
 * first part and the detached signature as the second (RFC 8551 3.5.3). */
static int
sign_append_multipart(struct strbuf *out, const char *entity,
    size_t entity_len, const char *micalg, const unsigned char *der,
    size_t der_len, char **error_r)
{
	char boundary[64];

	if (sign_make_boundary(entity, entity_len, boundary, sizeof(boundary),
		error_r) < 0)
		return -1;

	strbuf_appends(out, "Content-Type: multipart/signed; "
	    "protocol=\"application/pkcs7-signature\";\r\n");
	strbuf_printf(out, " micalg=%s; boundary=\"%s\"\r\n", micalg, boundary);
	strbuf_appends(out, "\r\n");
	strbuf_appends(out, sign_preamble);
	strbuf_printf(out, "\r\n--%s\r\n", boundary);
	strbuf_append(out, entity, entity_len);
	strbuf_printf(out, "\r\n--%s\r\n", boundary);
	strbuf_appends(out, "Content-Type: application/pkcs7-signature; "
	    "name=\"smime.p7s\"\r\n");
	strbuf_appends(out, "Content-Transfer-Encoding: base64\r\n");
	strbuf_appends(out, "Content-Disposition: attachment; "
	    "filename=\"smime.p7s\"\r\n");
	strbuf_appends(out, "\r\n");
	smime_append_base64(out, der, der_len);
	strbuf_printf(out, "\r\n--%s--\r\n", boundary);
	return 0;
}

int
smime_sign(const struct smime_signer *signer, const char *entity,
    size_t entity_len, bool opaque, const struct smime_options *options,
    struct strbuf *out, char **error_r)
{
	enum smime_digest digest = options != NULL ?
	    options->digest : SMIME_DIGEST_SHA256;
	const char *micalg;
	const EVP_MD *md = sign_digest_md(digest, &micalg);
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	size_t der_len;
	int ret = -1;

	ERR_clear_error();
	if (signer == NULL || signer->key == NULL || signer->cert == NULL) {
		*error_r = xstrdup("signer key or certificate is missing");
		return -1;
	}
	if (smime_check_entity(entity, entity_len, error_r) < 0)
		return -1;

	cms = sign_build_cms(signer, entity, entity_len, opaque, md,
	    options != NULL && options->signature == SMIME_SIGNATURE_RSA_PSS, error_r);
	if (cms == NULL)
		goto fail;
	if (smime_cms_to_der(cms, &der, &der_len, error_r) < 0)
		goto fail;

	if (opaque) {
		smime_append_pkcs7_mime(out, "signed-data", der, der_len);
	} else if (sign_append_multipart(out, entity, entity_len, micalg, der,
		       der_len, error_r) < 0) {
		goto fail;
	}
	ret = 0;
fail:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ret;
}
