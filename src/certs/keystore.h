/* The signing keystore: a directory of private keys and certificates that
 * the admin manages, one identity per sender address. */
#ifndef SMIMEGW_KEYSTORE_H
#define SMIMEGW_KEYSTORE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct signing_identity {
	char *email;		/* from the file name */
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;	/* the certificates after cert, possibly empty */
};

struct keystore;

/* Loads every identity in dir: "<address>.p12" with its passphrase in
 * "<address>.pass" (one trailing newline stripped), or "<address>.key" (PEM
 * private key, encrypted with the passphrase in "<address>.pass" if that
 * file exists) with "<address>.pem" (the certificate followed by its chain).
 * Names without '@' and hidden files are ignored. The directory and every
 * file read must not be readable or writable by group or others. A missing
 * companion file, two keys for one address, a key that does not match its
 * certificate or an unreadable file make the whole load fail. Returns 0
 * with *ks_r, or -1 with *error_r naming the file and the reason (and the
 * mode for a permission error). Key material and passphrases never appear
 * in messages or logs. */
int keystore_load(const char *dir, struct keystore **ks_r, char **error_r);

/* Returns the identity for email (compared ignoring case), or NULL. The
 * identity lives as long as ks. */
const struct signing_identity *keystore_find(const struct keystore *ks,
    const char *email);

size_t keystore_count(const struct keystore *ks);

void keystore_free(struct keystore *ks);

#endif
