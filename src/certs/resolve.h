/* Resolution of an address to one valid certificate: queries the
 * directories that serve its domain, validates every candidate and chooses
 * one. Used by Email/set and by the lookup command. */
#ifndef SMIMEGW_RESOLVE_H
#define SMIMEGW_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certs/directory.h"
#include "certs/revocation.h"
#include "certs/validate.h"

struct cert_resolver;

/* Returns a resolver over dirs (queried in this order) and trust. Both are
 * borrowed and must outlive the resolver; the array itself is copied. */
struct cert_resolver *cert_resolver_new(struct directory **dirs, size_t dir_count,
    const struct cert_trust *trust);

void cert_resolver_free(struct cert_resolver *r);

/* Makes r check the revocation status of the certificates it would choose,
 * and of signing certificates, with checker (borrowed; NULL: no checks).
 * policy applies to signing certificates; dir_policies (copied) has one
 * policy per directory given to cert_resolver_new, or is NULL to apply
 * policy everywhere. */
void cert_resolver_set_revocation(struct cert_resolver *r,
    struct revocation_checker *checker, const struct revocation_policy *policy,
    const struct revocation_policy *dir_policies);

struct cert_verdict {
	struct cert_candidate candidate;	/* owned */
	enum cert_reason reason;
	char *detail;		/* allocated human detail */
	/* The verdict is CERT_UNTRUSTED only because the CA entries that may
	 * hold an intermediate could not be searched. */
	bool unavailable;
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
	/* Set when soft-fail let the chosen certificate through although the
	 * revocation status of it or of a CA certificate of its chain could
	 * not be obtained: that certificate's serial (hexadecimal) and why,
	 * naming every source tried. NULL otherwise. */
	char *unknown_serial;
	char *unknown_detail;
};

/* Resolves email for purpose at time now. The directories serving its
 * domain are queried in order, every candidate is validated (with the CA
 * certificates of the directory's CA entries when the configured ones do
 * not reach a trust anchor), and among the
 * valid ones the latest notBefore wins (ties: the latest notAfter). With a
 * revocation checker, the valid candidates are checked in that order, with
 * the policy of their directory, until one is not revoked; a revoked one
 * gets the verdict CERT_REVOKED, and one whose status could not be obtained
 * under hard-fail CERT_REVOCATION_UNKNOWN. The first directory that yields
 * a usable certificate ends the search.
 * RESOLVE_UNAVAILABLE when no usable certificate was found and a directory
 * that might hold the address could not be asked, or the revocation status
 * of a candidate could not be obtained (res->detail names the directory or
 * the OCSP responders and CRLs tried); RESOLVE_NO_VALID with reason
 * CERT_NONE when no candidate was found, else with the reason of the
 * candidate with the latest notBefore. Logs every verdict and the choice at
 * debug level. Returns 0 always, filling *res, which the caller clears with
 * cert_resolution_clear. */
int cert_resolve(struct cert_resolver *r, const char *email,
    enum cert_purpose purpose, time_t now, struct cert_resolution *res);

/* Resolves count addresses like cert_resolve and fills results[i] for
 * emails[i], with one directory_lookup_many call per directory for every
 * address that the directory serves and that has no usable certificate
 * from an earlier directory, so that a message's recipients cost one
 * search per directory and batch. Certificates are validated against the
 * address with its domain in A-labels. An address without '@' or with an
 * invalid internationalised domain gets RESOLVE_NO_VALID, CERT_NONE and a
 * detail saying why. Returns 0 always; the caller clears every result with
 * cert_resolution_clear. */
int cert_resolve_many(struct cert_resolver *r, char *const *emails, size_t count,
    enum cert_purpose purpose, time_t now, struct cert_resolution *results);

void cert_resolution_clear(struct cert_resolution *res);

/* Checks a signing certificate for email at now: cert_validate_chain for
 * CERT_PURPOSE_SIGN (untrusted may hold intermediates), then the revocation
 * status of cert and its chain under the resolver's default policy, with
 * the first directory serving email for CRLs in CA entries. Fills *res:
 * RESOLVE_OK with cert (up-ref'd), chain and, after soft-fail,
 * unknown_serial and unknown_detail; RESOLVE_NO_VALID with the reason
 * (CERT_REVOKED among others); RESOLVE_UNAVAILABLE with reason
 * CERT_REVOCATION_UNKNOWN when the status could not be obtained under
 * hard-fail. res->detail explains in every case. Returns 0 always; the
 * caller clears *res with cert_resolution_clear. */
int cert_resolver_check_signer(struct cert_resolver *r, X509 *cert,
    STACK_OF(X509) *untrusted, const char *email, time_t now,
    struct cert_resolution *res);

/* Chooses among verdicts the certificate with the latest notBefore (ties:
 * the latest notAfter; still tied: the first), considering only CERT_OK
 * verdicts when valid_only. Returns true with *index_r, or false when no
 * verdict qualifies. */
bool cert_choose(const struct cert_verdict *verdicts, size_t count,
    bool valid_only, size_t *index_r);

#endif
