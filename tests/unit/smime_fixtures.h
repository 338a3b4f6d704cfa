/* A throwaway PKI made in memory for the smime/ tests: a root CA, an
 * intermediate CA and leaf certificates for S/MIME with RSA, EC and Ed25519
 * keys. Only check_smime.c includes this file. */
#ifndef SMIMEGW_SMIME_FIXTURES_H
#define SMIMEGW_SMIME_FIXTURES_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct fixture_identity {
	EVP_PKEY *key;
	X509 *cert;
};

struct fixture_pki {
	struct fixture_identity root;		/* RSA, self-signed */
	struct fixture_identity intermediate;	/* EC P-256, issued by root */
	struct fixture_identity alice;		/* RSA, issued by root */
	struct fixture_identity bob;		/* RSA, issued by root */
	struct fixture_identity carol;		/* EC P-256, issued by intermediate */
	struct fixture_identity dave;		/* Ed25519, issued by root */
	X509_STORE *store;			/* trusts the root only */
};

/* Adds an extension given in openssl.cnf syntax and returns false on error. */
static bool
fixture_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return false;
	ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* Issues a certificate for key, valid from an hour ago for a year. A NULL
 * issuer makes it self-signed. leaf_usage is the keyUsage of an end entity,
 * and NULL makes a CA. Returns NULL on error. */
static X509 *
fixture_issue(const char *common_name, const char *email, EVP_PKEY *key,
    const struct fixture_identity *issuer, long serial, const char *leaf_usage)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509 *issuer_cert;
	EVP_PKEY *issuer_key;
	bool ok;

	if (cert == NULL || name == NULL)
		goto fail;
	issuer_cert = issuer != NULL ? issuer->cert : cert;
	issuer_key = issuer != NULL ? issuer->key : key;

	ok = X509_set_version(cert, X509_VERSION_3) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) == 1 &&
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
		(const unsigned char *)"smimegw test", -1, -1, 0) == 1 &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)common_name, -1, -1, 0) == 1 &&
	    X509_set_subject_name(cert, name) == 1 &&
	    X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600) != NULL &&
	    X509_set_pubkey(cert, key) == 1 &&
	    fixture_add_ext(cert, issuer_cert, NID_subject_key_identifier, "hash");
	if (!ok)
		goto fail;

	if (leaf_usage == NULL) {
		ok = fixture_add_ext(cert, issuer_cert, NID_basic_constraints,
			 "critical,CA:TRUE") &&
		    fixture_add_ext(cert, issuer_cert, NID_key_usage,
			"critical,keyCertSign,cRLSign");
	} else {
		char san[256];

		snprintf(san, sizeof(san), "email:%s", email);
		ok = fixture_add_ext(cert, issuer_cert, NID_basic_constraints,
			 "critical,CA:FALSE") &&
		    fixture_add_ext(cert, issuer_cert, NID_key_usage, leaf_usage) &&
		    fixture_add_ext(cert, issuer_cert, NID_ext_key_usage,
			"emailProtection") &&
		    fixture_add_ext(cert, issuer_cert, NID_subject_alt_name, san);
	}
	if (!ok || (issuer != NULL && !fixture_add_ext(cert, issuer_cert,
			 NID_authority_key_identifier, "keyid")))
		goto fail;

	if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	X509_NAME_free(name);
	return cert;
fail:
	X509_NAME_free(name);
	X509_free(cert);
	return NULL;
}

static void
fixture_identity_free(struct fixture_identity *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	id->key = NULL;
	id->cert = NULL;
}

static void
fixture_pki_free(struct fixture_pki *pki)
{
	fixture_identity_free(&pki->root);
	fixture_identity_free(&pki->intermediate);
	fixture_identity_free(&pki->alice);
	fixture_identity_free(&pki->bob);
	fixture_identity_free(&pki->carol);
	fixture_identity_free(&pki->dave);
	X509_STORE_free(pki->store);
	pki->store = NULL;
}

/* Fills pki, or returns false with pki freed when any step fails. */
static bool
fixture_pki_init(struct fixture_pki *pki)
{
	static const char *const rsa_usage =
	    "critical,digitalSignature,keyEncipherment";
	static const char *const ec_usage = "critical,digitalSignature,keyAgreement";

	*pki = (struct fixture_pki){ 0 };
	pki->root.key = EVP_RSA_gen(2048);
	pki->intermediate.key = EVP_EC_gen("P-256");
	pki->alice.key = EVP_RSA_gen(2048);
	pki->bob.key = EVP_RSA_gen(2048);
	pki->carol.key = EVP_EC_gen("P-256");
	pki->dave.key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pki->root.key == NULL || pki->intermediate.key == NULL ||
	    pki->alice.key == NULL || pki->bob.key == NULL ||
	    pki->carol.key == NULL || pki->dave.key == NULL)
		goto fail;

	pki->root.cert = fixture_issue("Test Root CA", NULL, pki->root.key,
	    NULL, 1, NULL);
	if (pki->root.cert == NULL)
		goto fail;
	pki->intermediate.cert = fixture_issue("Test Intermediate CA", NULL,
	    pki->intermediate.key, &pki->root, 2, NULL);
	pki->alice.cert = fixture_issue("Alice", "alice@example.org",
	    pki->alice.key, &pki->root, 10, rsa_usage);
	pki->bob.cert = fixture_issue("Bob", "bob@example.org", pki->bob.key,
	    &pki->root, 11, rsa_usage);
	pki->dave.cert = fixture_issue("Dave", "dave@example.org", pki->dave.key,
	    &pki->root, 13, "critical,digitalSignature");
	if (pki->intermediate.cert == NULL || pki->alice.cert == NULL ||
	    pki->bob.cert == NULL || pki->dave.cert == NULL)
		goto fail;
	pki->carol.cert = fixture_issue("Carol", "carol@example.org",
	    pki->carol.key, &pki->intermediate, 12, ec_usage);
	if (pki->carol.cert == NULL)
		goto fail;

	pki->store = X509_STORE_new();
	if (pki->store == NULL || X509_STORE_add_cert(pki->store,
				      pki->root.cert) != 1)
		goto fail;
	return true;
fail:
	fixture_pki_free(pki);
	return false;
}

#endif
