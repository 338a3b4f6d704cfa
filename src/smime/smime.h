/* S/MIME (RFC 8551) signing and encryption of MIME entities with the OpenSSL
 * CMS API. Input and output are complete MIME entities (Content-* header
 * fields, empty line, body) with CRLF line ends and 7-bit content, so the
 * result can be placed under the message header or signed or encrypted
 * again. Nothing here knows about JMAP, LDAP or how certificates were
 * chosen. */
#ifndef SMIMEGW_SMIME_H
#define SMIMEGW_SMIME_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/strbuf.h"

enum smime_cipher {
	SMIME_CIPHER_AES256_CBC,	/* default: widest client support */
	SMIME_CIPHER_AES128_CBC,
	SMIME_CIPHER_AES128_GCM,	/* AuthEnvelopedData (RFC 5083/5084) */
	SMIME_CIPHER_AES256_GCM,
};

enum smime_digest { SMIME_DIGEST_SHA256, SMIME_DIGEST_SHA384, SMIME_DIGEST_SHA512 };

/* Signature scheme for RSA signing keys; EC keys always sign with ECDSA. */
enum smime_signature {
	SMIME_SIGNATURE_RSA_PKCS1,	/* default: RSASSA-PKCS1-v1_5 */
	SMIME_SIGNATURE_RSA_PSS,	/* RSASSA-PSS (RFC 4056) */
};

/* Algorithm choices, taken per call so that each request can use its own.
 * A NULL options pointer means SHA-256, AES-256-CBC, PKCS#1 v1.5 key
 * transport and PKCS#1 v1.5 signatures. */
struct smime_options {
	enum smime_digest digest;
	enum smime_cipher cipher;
	bool rsa_oaep;		/* RSA recipients: OAEP instead of PKCS#1 v1.5 */
	enum smime_signature signature;
};

/* Parses "aes-256-cbc", "aes-128-cbc", "aes-128-gcm", "aes-256-gcm";
 * "sha256", "sha384", "sha512"; and "rsa-pkcs1", "rsa-pss". Return 0 or -1
 * for an unknown name. */
int smime_cipher_parse(const char *name, enum smime_cipher *cipher_r);
int smime_digest_parse(const char *name, enum smime_digest *digest_r);
int smime_signature_parse(const char *name, enum smime_signature *signature_r);

struct smime_signer {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;	/* intermediates to include; may be NULL */
	/* Certificate named in the SMIMEEncryptionKeyPreference attribute
	 * (RFC 8551 2.5.3); NULL means the signing certificate. */
	X509 *encryption_cert;
};

/* Signs entity. With opaque false the result is multipart/signed with
 * protocol "application/pkcs7-signature" and micalg matching the digest
 * (RFC 1847, RFC 8551 3.5.3), the entity copied unchanged as its first part;
 * with opaque true it is application/pkcs7-mime; smime-type=signed-data with
 * the entity inside the SignedData. The signature carries the signer's chain
 * (the chain's certificates in any order; the signer's own certificate and
 * repeats are left out) and the signed attributes contentType,
 * messageDigest, signingTime, SMIMECapabilities and
 * SMIMEEncryptionKeyPreference. RSA keys sign with PKCS#1 v1.5 or, when
 * options ask for it, RSASSA-PSS (RFC 4056) with MGF1 over the digest and a
 * salt as long as the digest; EC keys sign with ECDSA. Appends to out and
 * returns 0, or -1 with *error_r allocated. */
int smime_sign(const struct smime_signer *signer, const char *entity,
    size_t entity_len, bool opaque, const struct smime_options *options,
    struct strbuf *out, char **error_r);

/* Encrypts entity for every certificate in recipients (RSA key transport, or
 * ECDH key agreement for EC keys) into application/pkcs7-mime with
 * smime-type=enveloped-data, or authEnveloped-data for a GCM cipher
 * (RFC 8551 3.3), body base64. Appends to out and returns 0, or -1 with
 * *error_r allocated. */
int smime_encrypt(STACK_OF(X509) *recipients, const char *entity,
    size_t entity_len, const struct smime_options *options,
    struct strbuf *out, char **error_r);

#endif
