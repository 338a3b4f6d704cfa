/* Validation of a certificate for S/MIME use by one address: chain to a
 * configured trust anchor, validity periods, key usage, extended key usage
 * and address match (RFC 8550, RFC 5280). */
#ifndef SMIMEGW_VALIDATE_H
#define SMIMEGW_VALIDATE_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "certs/chaincache.h"

enum cert_reason {
	CERT_OK,
	CERT_NONE,		/* no certificate at all */
	CERT_EXPIRED,
	CERT_NOT_YET_VALID,
	CERT_KEY_USAGE,
	CERT_NO_EMAIL_PROTECTION,
	CERT_UNTRUSTED,
	CERT_ADDRESS_MISMATCH,
	CERT_REVOKED,
	CERT_UNSUPPORTED_KEY,
	CERT_INVALID,
	/* The revocation status could not be obtained under hard-fail. Never a
	 * reason of validEncryptionKeyNotFound: resolution turns it into
	 * RESOLVE_UNAVAILABLE, so that clients retry. */
	CERT_REVOCATION_UNKNOWN,
};

/* Returns a stable machine token: "ok", "noCertificate", "expired",
 * "notYetValid", "keyUsage", "noEmailProtection", "untrusted",
 * "addressMismatch", "revoked", "unsupportedKey", "invalid" or
 * "revocationUnknown". */
const char *cert_reason_name(enum cert_reason r);

/* Returns a human sentence fragment, e.g. "the certificate has expired". */
const char *cert_reason_text(enum cert_reason r);

enum cert_purpose { CERT_PURPOSE_ENCRYPT, CERT_PURPOSE_SIGN };

/* Trust anchors, the configured intermediate bundle, and a cache of the
 * chains verified with them. The anchors and the bundle are immutable after
 * cert_trust_load and the cache has its own lock, so threads may share
 * one. */
struct cert_trust;

/* Verified chains kept per trust store by default: as many as the directory
 * lookup cache and the OCSP cache keep by default (10000), so that every
 * certificate that those caches hold can keep its verdict too. */
#define CERT_CHAIN_CACHE_DEFAULT_SIZE 10000

/* Default maximum seconds a verified chain is reused. The verdict depends
 * only on the certificates, the anchors and the time, and the validity
 * periods of the chain already limit it. The TTL bounds the effect of a
 * dependence on time that those periods miss, such as a rule of a later
 * OpenSSL version, at the cost of verifying each chain again once per TTL. */
#define CERT_CHAIN_CACHE_DEFAULT_TTL 3600

/* Loads the trust anchors and intermediates from files in any form that
 * certvalue_parse accepts (usually PEM bundles). Every file must contain at
 * least one certificate. An anchor need not be self-signed: a chain may end
 * at any anchor. The cache of verified chains keeps at most
 * chain_cache_size chains (at least 1), each for at most chain_cache_ttl
 * seconds, and none when the TTL is 0. Returns 0 with *trust_r, or -1 with
 * *error_r naming the file. */
int cert_trust_load(char *const *anchor_files, size_t anchor_count,
    char *const *intermediate_files, size_t intermediate_count,
    size_t chain_cache_size, int chain_cache_ttl, struct cert_trust **trust_r,
    char **error_r);

void cert_trust_free(struct cert_trust *trust);

/* Fills stats with the counters of trust's cache of verified chains. */
void cert_trust_get_chain_stats(const struct cert_trust *trust,
    struct chaincache_stats *stats);

/* Validates cert for email and purpose at time now. The checks, in order:
 * 1. the validity period of cert itself;
 * 2. a chain to a trust anchor, every certificate of it valid at now;
 * 3. the key type, RSA or EC;
 * 4. keyUsage when present: keyEncipherment (RSA) or keyAgreement (EC) to
 *    encrypt, digitalSignature or nonRepudiation to sign;
 * 5. extendedKeyUsage when present: emailProtection or anyExtendedKeyUsage;
 * 6. email equal, ignoring case, to an rfc822Name of subjectAltName or, only
 *    when there is none, to a subject emailAddress. email NULL skips this.
 * untrusted contains extra certificates that may serve as intermediates
 * (may be NULL). Revocation is not checked here but by the resolver.
 * A chain verified for step 2 is kept in trust's cache. It is reused for
 * cert with the same untrusted certificates in the same order, while every
 * certificate of the chain is valid and for at most the chain cache TTL of
 * trust (an hour by default). Steps 1 and 3
 * to 6 run on every call.
 * Returns CERT_OK or the first failing reason, and CERT_NONE for cert NULL.
 * When detail_r is not NULL, *detail_r is set to an allocated human detail,
 * e.g. "notAfter 2024-01-01T00:00:00Z is in the past". */
enum cert_reason cert_validate(const struct cert_trust *trust, X509 *cert,
    STACK_OF(X509) *untrusted, const char *email, enum cert_purpose purpose,
    time_t now, char **detail_r);

/* Validates like cert_validate. On CERT_OK it also sets *chain_r (when not
 * NULL) to the verified chain above cert, intermediates first and the trust
 * anchor last, which the caller frees with sk_X509_pop_free(chain,
 * X509_free). For any other result *chain_r is NULL. */
enum cert_reason cert_validate_chain(const struct cert_trust *trust, X509 *cert,
    STACK_OF(X509) *untrusted, const char *email, enum cert_purpose purpose,
    time_t now, STACK_OF(X509) **chain_r, char **detail_r);

/* Formats an ASN1_TIME as "YYYY-MM-DDTHH:MM:SSZ" into buf; writes "invalid
 * time" when it cannot be read. Returns buf. */
char *cert_time_string(const ASN1_TIME *t, char *buf, size_t size);

/* Converts an ASN1_TIME to seconds since the Epoch. Returns 0 with *epoch_r,
 * or -1 when t is NULL or cannot be read. */
int cert_time_epoch(const ASN1_TIME *t, time_t *epoch_r);

/* Returns the serial number of cert in upper-case hexadecimal, allocated. */
char *cert_serial_string(X509 *cert);

/* Returns the subject of cert in RFC 2253 form, allocated. */
char *cert_subject_string(X509 *cert);

#endif
