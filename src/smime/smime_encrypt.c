/* S/MIME encryption (RFC 8551 3.3): CMS EnvelopedData, or AuthEnvelopedData
 * for AES-GCM (RFC 5083, RFC 5084), for RSA and EC recipient certificates. */
#include "smime/smime.h"

#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "smime/smime_internal.h"
#include "util/xmalloc.h"

static const EVP_CIPHER *
encrypt_cipher(enum smime_cipher cipher)
{
	switch (cipher) {
	case SMIME_CIPHER_AES128_CBC:
		return EVP_aes_128_cbc();
	case SMIME_CIPHER_AES128_GCM:
		return EVP_aes_128_gcm();
	case SMIME_CIPHER_AES256_GCM:
		return EVP_aes_256_gcm();
	case SMIME_CIPHER_AES256_CBC:
		break;
	}
	return EVP_aes_256_cbc();
}

static bool
encrypt_cipher_is_aead(enum smime_cipher cipher)
{
	return cipher == SMIME_CIPHER_AES128_GCM ||
	    cipher == SMIME_CIPHER_AES256_GCM;
}

/* Returns "<operation> for recipient <subject> failed: <OpenSSL error>". */
static char *
encrypt_recipient_error(const char *operation, X509 *cert)
{
	char *subject = smime_cert_subject(cert);
	char *context = xasprintf("%s for recipient %s", operation, subject);
	char *error = smime_openssl_error(context);

	free(context);
	free(subject);
	return error;
}

/* Adds an RSA key transport recipient (RFC 8551 2.3), identified by issuer
 * and serial number. With oaep the key is wrapped with RSAES-OAEP using
 * SHA-256 for the hash and MGF1 (RFC 8017), else with PKCS#1 v1.5. */
static int
encrypt_add_rsa(CMS_ContentInfo *cms, X509 *cert, bool oaep, char **error_r)
{
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;

	/* CMS_KEY_PARAM keeps the key context open so that the padding can be
	 * set before CMS_final encrypts the content key. */
	ri = CMS_add1_recipient_cert(cms, cert, oaep ? CMS_KEY_PARAM : 0);
	if (ri == NULL) {
		*error_r = encrypt_recipient_error("CMS_add1_recipient_cert", cert);
		return -1;
	}
	if (!oaep)
		return 0;

	pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	if (pctx == NULL ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0) {
		*error_r = encrypt_recipient_error("setting RSA-OAEP", cert);
		return -1;
	}
	return 0;
}

/* Adds an ECDH key agreement recipient (RFC 5753) with an ephemeral key.
 * OpenSSL 3.0 derives the key-encryption key with the X9.63 KDF over SHA-1
 * unless a digest is set, so SHA-256 is set here, which gives
 * dhSinglePass-stdDH-sha256kdf-scheme. */
static int
encrypt_add_ec(CMS_ContentInfo *cms, X509 *cert, char **error_r)
{
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;

	ri = CMS_add1_recipient_cert(cms, cert, 0);
	if (ri == NULL) {
		*error_r = encrypt_recipient_error("CMS_add1_recipient_cert", cert);
		return -1;
	}
	pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	if (pctx == NULL || EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0) {
		*error_r = encrypt_recipient_error("setting the ECDH KDF digest", cert);
		return -1;
	}
	return 0;
}

static int
encrypt_add_recipient(CMS_ContentInfo *cms, X509 *cert, bool oaep,
    char **error_r)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);

	if (key == NULL) {
		*error_r = encrypt_recipient_error("reading the public key", cert);
		return -1;
	}
	if (EVP_PKEY_is_a(key, "RSA"))
		return encrypt_add_rsa(cms, cert, oaep, error_r);
	if (EVP_PKEY_is_a(key, "EC"))
		return encrypt_add_ec(cms, cert, error_r);

	char *subject = smime_cert_subject(cert);
	*error_r = xasprintf("recipient certificate %s has a %s key, but only RSA "
	    "and EC keys can receive encrypted mail", subject,
	    EVP_PKEY_get0_type_name(key));
	free(subject);
	return -1;
}

static CMS_ContentInfo *
encrypt_build_cms(STACK_OF(X509) *recipients, const char *entity,
    size_t entity_len, enum smime_cipher cipher, bool oaep, char **error_r)
{
	unsigned int flags = CMS_BINARY;
	CMS_ContentInfo *cms = NULL;

	/* For an AEAD cipher OpenSSL 3.0 creates AuthEnvelopedData. */
	cms = CMS_encrypt(NULL, NULL, encrypt_cipher(cipher), flags | CMS_PARTIAL);
	if (cms == NULL) {
		*error_r = smime_openssl_error("CMS_encrypt");
		goto fail;
	}
	for (int i = 0; i < sk_X509_num(recipients); i++) {
		if (encrypt_add_recipient(cms, sk_X509_value(recipients, i), oaep,
			error_r) < 0)
			goto fail;
	}

	if (smime_cms_final(cms, entity, entity_len, flags, error_r) < 0)
		goto fail;
	return cms;
fail:
	CMS_ContentInfo_free(cms);
	return NULL;
}

int
smime_encrypt(STACK_OF(X509) *recipients, const char *entity,
    size_t entity_len, const struct smime_options *options,
    struct strbuf *out, char **error_r)
{
	enum smime_cipher cipher = options != NULL ?
	    options->cipher : SMIME_CIPHER_AES256_CBC;
	bool oaep = options != NULL && options->rsa_oaep;
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	size_t der_len;
	int ret = -1;

	ERR_clear_error();
	if (sk_X509_num(recipients) <= 0) {
		*error_r = xstrdup("no recipient certificates to encrypt for");
		return -1;
	}
	if (smime_check_entity(entity, entity_len, error_r) < 0)
		return -1;

	cms = encrypt_build_cms(recipients, entity, entity_len, cipher, oaep,
	    error_r);
	if (cms == NULL)
		goto fail;
	if (smime_cms_to_der(cms, &der, &der_len, error_r) < 0)
		goto fail;

	smime_append_pkcs7_mime(out, encrypt_cipher_is_aead(cipher) ?
	    "authEnveloped-data" : "enveloped-data", der, der_len);
	ret = 0;
fail:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ret;
}
