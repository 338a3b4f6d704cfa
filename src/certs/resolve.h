/* Resolution of an address to one valid certificate: queries the
 * directories that serve its domain, validates every candidate and chooses
 * one. Used by Email/set and by the lookup command. */
#ifndef SMIMEGW_RESOLVE_H
#define SMIMEGW_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certs/directory.h"
#include "certs/validate.h"

struct cert_resolver;

/* Returns a resolver over dirs (queried in this order) and trust. Both are
 * borrowed and must outlive the resolver; the array itself is copied. */
struct cert_resolver *cert_resolver_new(struct directory **dirs, size_t dir_count,
    const struct cert_trust *trust);

void cert_resolver_free(struct cert_resolver *r);

struct cert_verdict {
	struct cert_candidate candidate;	/* owned */
	enum cert_reason reason;
	char *detail;		/* allocated human detail */
};

enum resolve_status { RESOLVE_OK, RESOLVE_NO_VALID, RESOLVE_UNAVAILABLE };

struct cert_resolution {
	enum resolve_status status;
	X509 *cert;		/* the chosen certificate when OK (owned) */
	STACK_OF(X509) *chain;	/* when OK: its verified chain above it (owned) */
	enum cert_reason reason;	/* CERT_OK, or the reason reported when NO_VALID */
	char *detail;		/* why chosen, why none, or which service is unavailable */
	struct cert_verdict *verdicts;	/* every candidate with its verdict */
	size_t verdict_count;
};

/* Resolves email for purpose at time now. The directories serving its
 * domain are queried in order, every candidate is validated, and among the
 * valid ones the latest notBefore wins (ties: the latest notAfter). The
 * first directory that yields a valid certificate ends the search.
 * RESOLVE_UNAVAILABLE when a directory that might hold the address could
 * not be asked and no valid certificate was found elsewhere;
 * RESOLVE_NO_VALID with reason CERT_NONE when no candidate was found, else
 * with the reason of the candidate with the latest notBefore. Logs every
 * verdict and the choice at debug level. Returns 0 always, filling *res,
 * which the caller clears with cert_resolution_clear. */
int cert_resolve(struct cert_resolver *r, const char *email,
    enum cert_purpose purpose, time_t now, struct cert_resolution *res);

void cert_resolution_clear(struct cert_resolution *res);

/* Chooses among verdicts the certificate with the latest notBefore (ties:
 * the latest notAfter; still tied: the first), considering only CERT_OK
 * verdicts when valid_only. Returns true with *index_r, or false when no
 * verdict qualifies. */
bool cert_choose(const struct cert_verdict *verdicts, size_t count,
    bool valid_only, size_t *index_r);

#endif
