/* A bounded cache of verified certificate chains shared by all request
 * threads, so that a certificate used in every message has its chain
 * verified once per TTL rather than once per message. Only successful
 * verifications are kept. */
#ifndef SMIMEGW_CHAINCACHE_H
#define SMIMEGW_CHAINCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

struct chaincache;

/* Returns an empty cache of at most max_entries keys (at least 1) whose
 * verdicts are kept at most ttl seconds after their verification. A ttl of
 * 0 or less keeps nothing, so every chaincache_get returns
 * CHAINCACHE_VERIFY_ONLY. */
struct chaincache *chaincache_new(size_t max_entries, int ttl);

/* Releases every chain and frees c. No thread may be using it. */
void chaincache_free(struct chaincache *c);

/* Returns the key of the verification of cert with the extra certificates
 * untrusted (NULL counts as none): the hex SHA-256 of cert's DER, '/', and
 * the hex SHA-256 of the SHA-256 fingerprints of untrusted in their order,
 * so that another set or order of extra certificates gets another key.
 * Allocated; NULL when a certificate cannot be encoded. The trust anchors
 * and configured intermediates are not part of the key, because each trust
 * store owns its own cache. */
char *chaincache_key(struct chaincache *c, X509 *cert, STACK_OF(X509) *untrusted);

enum chaincache_outcome {
	/* A verdict is valid at now, and *chain_r is its chain. */
	CHAINCACHE_HIT,
	/* The caller verifies the chain and must then call chaincache_put. */
	CHAINCACHE_VERIFY,
	/* The caller verifies the chain and does not store the result. This
	 * happens when the verification of another thread that it waited for
	 * failed, when a certificate of the cached chain is not yet valid at
	 * now, or always when the TTL is 0 or less. */
	CHAINCACHE_VERIFY_ONLY,
};

/* Looks key up at time now. A verdict is valid from the latest notBefore
 * to the earliest notAfter of the certificate and its chain, and at most
 * ttl seconds after the time of its verification. When another thread is
 * verifying key, waits for its result. On CHAINCACHE_HIT, *chain_r is a new
 * stack of up-ref'd certificates, which the caller frees with
 * sk_X509_pop_free(chain, X509_free); otherwise it is left as it was. */
enum chaincache_outcome chaincache_get(struct chaincache *c, const char *key,
    time_t now, STACK_OF(X509) **chain_r);

/* Ends the verification of key that chaincache_get assigned, done at now.
 * chain is the verified chain above cert (borrowed: its certificates are
 * up-ref'd), or NULL when the verification failed, which keeps nothing. */
void chaincache_put(struct chaincache *c, const char *key, X509 *cert,
    STACK_OF(X509) *chain, time_t now);

struct chaincache_stats {
	uint64_t hits;		/* chaincache_get calls that returned a verdict */
	uint64_t misses;	/* the others: each is followed by one verification */
	size_t entries;		/* keys held now, successful or not */
};

void chaincache_get_stats(struct chaincache *c, struct chaincache_stats *stats);

#endif
