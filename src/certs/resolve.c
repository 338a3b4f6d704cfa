/* Certificate resolution: directories in order, validation of every
 * candidate, choice of the most recent valid certificate. */
#include "certs/resolve.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "certs/mailaddr.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

struct cert_resolver {
	struct directory **dirs;
	size_t dir_count;
	const struct cert_trust *trust;
	struct revocation_checker *revocation;	/* NULL: no revocation checks */
	struct revocation_policy policy;	/* for signing certificates */
	struct revocation_policy *dir_policies;	/* one per directory */
};

/* The outcome of a revocation check for one certificate and its chain. */
struct cert_revocation {
	enum cert_reason reason;	/* OK, REVOKED or REVOCATION_UNKNOWN */
	char *detail;			/* NULL when nothing was checked */
	char *unknown_serial;		/* after soft-fail: as in cert_resolution */
	char *unknown_detail;
};

struct cert_resolver *
cert_resolver_new(struct directory **dirs, size_t dir_count,
    const struct cert_trust *trust)
{
	struct cert_resolver *r = xcalloc(1, sizeof(*r));

	r->dirs = xcalloc(dir_count + 1, sizeof(*r->dirs));
	if (dir_count > 0)
		memcpy(r->dirs, dirs, dir_count * sizeof(*dirs));
	r->dir_count = dir_count;
	r->trust = trust;
	r->policy.method = REVOCATION_NONE;
	r->dir_policies = xcalloc(dir_count + 1, sizeof(*r->dir_policies));
	for (size_t i = 0; i < dir_count; i++)
		r->dir_policies[i] = r->policy;
	return r;
}

void
cert_resolver_set_revocation(struct cert_resolver *r, struct revocation_checker *checker,
    const struct revocation_policy *policy, const struct revocation_policy *dir_policies)
{
	r->revocation = checker;
	r->policy = *policy;
	for (size_t i = 0; i < r->dir_count; i++)
		r->dir_policies[i] = dir_policies != NULL ? dir_policies[i] : *policy;
}

void
cert_resolver_free(struct cert_resolver *r)
{
	if (r == NULL)
		return;
	free(r->dir_policies);
	free(r->dirs);
	free(r);
}

/* Returns true when a is more recent than b: a later notBefore, or the same
 * notBefore and a later notAfter. */
static bool
cert_is_newer(X509 *a, X509 *b)
{
	int cmp = ASN1_TIME_compare(X509_get0_notBefore(a), X509_get0_notBefore(b));

	if (cmp == 1)
		return true;
	if (cmp != 0)
		return false;
	return ASN1_TIME_compare(X509_get0_notAfter(a), X509_get0_notAfter(b)) == 1;
}

bool
cert_choose(const struct cert_verdict *verdicts, size_t count, bool valid_only,
    size_t *index_r)
{
	bool found = false;
	size_t best = 0;

	for (size_t i = 0; i < count; i++) {
		if (verdicts[i].candidate.cert == NULL ||
		    (valid_only && verdicts[i].reason != CERT_OK))
			continue;
		if (!found || cert_is_newer(verdicts[i].candidate.cert,
		    verdicts[best].candidate.cert))
			best = i;
		found = true;
	}
	if (found)
		*index_r = best;
	return found;
}

/* Describes a verdict's certificate for details and logs: serial,
 * notBefore, directory and entry. Returns an allocated string. */
static char *
cert_describe(const struct cert_verdict *v)
{
	char *serial = cert_serial_string(v->candidate.cert);
	char not_before[32];
	char *s;

	s = xasprintf("serial %s, notBefore %s, directory %s, entry \"%s\"", serial,
	    cert_time_string(X509_get0_notBefore(v->candidate.cert), not_before,
	    sizeof(not_before)), v->candidate.directory, v->candidate.dn);
	free(serial);
	return s;
}

/* Checks the revocation status of cert and chain with policy at now. Under
 * soft-fail an unknown status gives CERT_OK with unknown_serial set. */
static void
cert_check_revocation(struct cert_resolver *r, const struct revocation_policy *policy,
    struct directory *dir, X509 *cert, STACK_OF(X509) *chain, time_t now,
    struct cert_revocation *out)
{
	struct revocation_result rr;

	memset(out, 0, sizeof(*out));
	out->reason = CERT_OK;
	if (r->revocation == NULL || policy->method == REVOCATION_NONE)
		return;
	revocation_check_chain(r->revocation, policy->method, cert, chain, dir, now, &rr);
	switch (rr.status) {
	case REVOCATION_GOOD:
		out->detail = xasprintf("not revoked (%s)", rr.detail);
		break;
	case REVOCATION_REVOKED:
		out->reason = CERT_REVOKED;
		out->detail = xasprintf("%s", rr.detail);
		break;
	case REVOCATION_UNKNOWN:
		if (policy->soft_fail) {
			out->unknown_serial = xstrdup(rr.serial);
			out->unknown_detail = xstrdup(rr.detail);
			out->detail = xasprintf("revocation status unknown, accepted by "
			    "soft-fail: %s", rr.detail);
		} else {
			out->reason = CERT_REVOCATION_UNKNOWN;
			out->detail = xasprintf("the revocation status could not be "
			    "obtained: %s", rr.detail);
		}
		break;
	}
	revocation_result_clear(&rr);
}

/* Checks the revocation status of the valid candidates of one directory,
 * the most recent first, until one may be used. Returns true with *best_r,
 * or false when every valid candidate got the verdict CERT_REVOKED or
 * CERT_REVOCATION_UNKNOWN. */
static bool
cert_resolve_choose(struct cert_resolver *r, size_t dir_index, struct cert_verdict *verdicts,
    size_t count, STACK_OF(X509) **chains, time_t now, struct cert_resolution *res,
    size_t *best_r)
{
	size_t best;

	while (cert_choose(verdicts, count, true, &best)) {
		struct cert_verdict *v = &verdicts[best];
		struct cert_revocation rev;
		char *detail;

		cert_check_revocation(r, &r->dir_policies[dir_index], r->dirs[dir_index],
		    v->candidate.cert, chains[best], now, &rev);
		if (rev.detail != NULL) {
			detail = rev.reason == CERT_OK ?
			    xasprintf("%s; %s", v->detail, rev.detail) : rev.detail;
			if (rev.reason == CERT_OK)
				free(rev.detail);
			free(v->detail);
			v->detail = detail;
		}
		v->reason = rev.reason;
		log_debug("cert revocation directory=%s dn=\"%s\" reason=%s detail=\"%s\"",
		    v->candidate.directory, v->candidate.dn, cert_reason_name(v->reason),
		    v->detail);
		if (rev.reason == CERT_OK) {
			res->unknown_serial = rev.unknown_serial;
			res->unknown_detail = rev.unknown_detail;
			*best_r = best;
			return true;
		}
	}
	return false;
}

/* Validates the candidate of v. When no chain to a trust anchor is found and
 * the directory has CA entries, the CA certificates above it are fetched
 * from them into the candidate's extra certificates and it is validated
 * again. */
static void
cert_validate_candidate(struct cert_resolver *r, struct directory *dir,
    struct cert_verdict *v, const char *email, enum cert_purpose purpose, time_t now,
    STACK_OF(X509) **chain_r)
{
	char *error = NULL, *detail;

	v->reason = cert_validate_chain(r->trust, v->candidate.cert, v->candidate.extra,
	    email, purpose, now, chain_r, &v->detail);
	if (v->reason != CERT_UNTRUSTED || !directory_has_cas(dir))
		return;
	switch (directory_find_issuers(dir, v->candidate.cert, now, v->candidate.extra,
	    &error)) {
	case LOOKUP_FOUND:
		free(v->detail);
		v->reason = cert_validate_chain(r->trust, v->candidate.cert,
		    v->candidate.extra, email, purpose, now, chain_r, &v->detail);
		detail = xasprintf("%s; with CA certificates from the CA entries of "
		    "directory %s", v->detail, directory_name(dir));
		free(v->detail);
		v->detail = detail;
		break;
	case LOOKUP_NOT_FOUND:
		break;
	case LOOKUP_UNAVAILABLE:
		v->unavailable = true;
		detail = xasprintf("%s; the CA entries that may hold its issuer could not "
		    "be searched: %s", v->detail, error);
		free(v->detail);
		v->detail = detail;
		free(error);
		break;
	}
}

/* Validates every candidate of one directory into res->verdicts and, when
 * one or more are valid and not revoked, chooses one and sets res to
 * RESOLVE_OK. */
static void
cert_resolve_candidates(struct cert_resolver *r, size_t dir_index,
    struct cert_candidates *cands, const char *email, enum cert_purpose purpose,
    time_t now, struct cert_resolution *res)
{
	size_t first = res->verdict_count;
	STACK_OF(X509) **chains = xcalloc(cands->count + 1, sizeof(*chains));
	size_t valid = 0, best;

	res->verdicts = xreallocarray(res->verdicts, first + cands->count,
	    sizeof(*res->verdicts));
	for (size_t i = 0; i < cands->count; i++) {
		struct cert_verdict *v = &res->verdicts[first + i];

		memset(v, 0, sizeof(*v));
		v->candidate = cands->items[i];
		memset(&cands->items[i], 0, sizeof(cands->items[i]));
		cert_validate_candidate(r, r->dirs[dir_index], v, email, purpose, now,
		    &chains[i]);
		res->verdict_count++;

		char *what = cert_describe(v);
		log_debug("cert verdict email=%s certificate=\"%s\" attribute=%s "
		    "reason=%s detail=\"%s\"", email, what, v->candidate.attribute,
		    cert_reason_name(v->reason), v->detail);
		free(what);
	}

	if (cert_resolve_choose(r, dir_index, res->verdicts + first, cands->count, chains,
	    now, res, &best)) {
		struct cert_verdict *v = &res->verdicts[first + best];
		char *what = cert_describe(v);

		for (size_t i = 0; i < cands->count; i++)
			valid += res->verdicts[first + i].reason == CERT_OK;

		res->status = RESOLVE_OK;
		res->reason = CERT_OK;
		X509_up_ref(v->candidate.cert);
		res->cert = v->candidate.cert;
		res->chain = chains[best];
		chains[best] = NULL;
		res->detail = valid > 1 ?
		    xasprintf("chose %s: the latest notBefore of %zu valid certificates",
		    what, valid) :
		    xasprintf("chose %s: the only valid certificate", what);
		free(what);
	}
	for (size_t i = 0; i < cands->count; i++)
		sk_X509_pop_free(chains[i], X509_free);
	free(chains);
}

/* Sets the outcome when no valid certificate was found. A candidate whose
 * revocation status is unknown, or whose CA entries could not be searched,
 * makes the address unavailable, not invalid, because that certificate may
 * well be good. skipped counts the certificates left out because they name
 * other addresses. */
static void
cert_resolve_failed(struct cert_resolution *res, const char *email, bool served,
    size_t skipped, struct strbuf *unavailable)
{
	size_t newest;

	for (size_t i = 0; i < res->verdict_count; i++) {
		struct cert_verdict *v = &res->verdicts[i];

		if (v->reason != CERT_REVOCATION_UNKNOWN && !v->unavailable)
			continue;
		if (unavailable->len > 0)
			strbuf_appends(unavailable, "; ");
		strbuf_printf(unavailable, "certificate from directory %s: %s",
		    v->candidate.directory, v->detail);
	}
	if (unavailable->len > 0) {
		res->status = RESOLVE_UNAVAILABLE;
		res->reason = CERT_NONE;
		res->detail = strbuf_detach(unavailable, NULL);
		return;
	}
	res->status = RESOLVE_NO_VALID;
	if (!cert_choose(res->verdicts, res->verdict_count, false, &newest)) {
		res->reason = CERT_NONE;
		if (!served)
			res->detail = xasprintf("no directory is configured for the domain of %s",
			    email);
		else if (skipped > 0)
			res->detail = xasprintf("no certificate for %s was found in the "
			    "directories; %zu certificates of the entries that match it are "
			    "issued to other addresses", email, skipped);
		else
			res->detail = xasprintf("no certificate for %s was found in the "
			    "directories", email);
		return;
	}

	struct cert_verdict *v = &res->verdicts[newest];
	char *what = cert_describe(v);

	res->reason = v->reason;
	if (res->verdict_count == 1)
		res->detail = xasprintf("%s: %s; the only certificate found: %s",
		    cert_reason_text(v->reason), v->detail, what);
	else
		res->detail = xasprintf("%s: %s; the most recent of %zu certificates "
		    "found: %s", cert_reason_text(v->reason), v->detail,
		    res->verdict_count, what);
	free(what);
}

/* The state of a cert_resolve_many call, per address. */
struct cert_resolve_state {
	char *const *emails;
	char **forms;		/* validation form: domain in A-labels; NULL: invalid */
	size_t count;
	bool *served;
	size_t *skipped;
	struct strbuf *unavailable;
	enum cert_purpose purpose;
	time_t now;
	struct cert_resolution *results;
};

/* Looks up, in directory d, every address that it serves and that has no
 * usable certificate yet, in one call of directory_lookup_many. */
static void
cert_resolve_directory(struct cert_resolver *r, size_t d, struct cert_resolve_state *st)
{
	struct directory *dir = r->dirs[d];
	size_t *index = xcalloc(st->count + 1, sizeof(*index));
	char **batch = xcalloc(st->count + 1, sizeof(*batch));
	struct directory_result *found;
	size_t n = 0;

	for (size_t i = 0; i < st->count; i++) {
		if (st->forms[i] == NULL || st->results[i].status == RESOLVE_OK ||
		    !directory_serves(dir, st->emails[i]))
			continue;
		st->served[i] = true;
		index[n] = i;
		batch[n++] = st->emails[i];
	}
	found = xcalloc(n + 1, sizeof(*found));
	if (n > 0)
		directory_lookup_many(dir, batch, n, st->now, found);
	for (size_t k = 0; k < n; k++) {
		size_t i = index[k];

		st->skipped[i] += found[k].skipped;
		if (found[k].status == LOOKUP_FOUND) {
			cert_resolve_candidates(r, d, &found[k].candidates, st->forms[i], st->purpose,
			    st->now, &st->results[i]);
		} else if (found[k].status == LOOKUP_UNAVAILABLE) {
			log_debug("cert lookup unavailable email=%s directory=%s error=\"%s\"",
			    st->emails[i], directory_name(dir), found[k].error);
			if (st->unavailable[i].len > 0)
				strbuf_appends(&st->unavailable[i], "; ");
			strbuf_appends(&st->unavailable[i], found[k].error);
		}
		directory_result_clear(&found[k]);
	}
	free(found);
	free(batch);
	free(index);
}

int
cert_resolve_many(struct cert_resolver *r, char *const *emails, size_t count,
    enum cert_purpose purpose, time_t now, struct cert_resolution *results)
{
	struct cert_resolve_state st = {
		emails, xcalloc(count + 1, sizeof(char *)), count,
		xcalloc(count + 1, sizeof(bool)), xcalloc(count + 1, sizeof(size_t)),
		xcalloc(count + 1, sizeof(struct strbuf)), purpose, now, results,
	};

	for (size_t i = 0; i < count; i++) {
		char *error = NULL;

		memset(&results[i], 0, sizeof(results[i]));
		results[i].status = RESOLVE_NO_VALID;
		results[i].reason = CERT_NONE;
		st.forms[i] = mailaddr_normalize(emails[i], false, &error);
		if (st.forms[i] == NULL)
			results[i].detail = error;
	}
	for (size_t d = 0; d < r->dir_count; d++)
		cert_resolve_directory(r, d, &st);

	for (size_t i = 0; i < count; i++) {
		struct cert_resolution *res = &results[i];

		if (res->status != RESOLVE_OK && st.forms[i] != NULL)
			cert_resolve_failed(res, emails[i], st.served[i], st.skipped[i],
			    &st.unavailable[i]);
		strbuf_free(&st.unavailable[i]);
		free(st.forms[i]);
		log_debug("cert resolved email=%s purpose=%s status=%s reason=%s "
		    "detail=\"%s\"", emails[i], purpose == CERT_PURPOSE_SIGN ? "sign" :
		    "encrypt", res->status == RESOLVE_OK ? "ok" :
		    res->status == RESOLVE_UNAVAILABLE ? "unavailable" : "noValid",
		    cert_reason_name(res->reason), res->detail);
	}
	free(st.forms);
	free(st.served);
	free(st.skipped);
	free(st.unavailable);
	return 0;
}

int
cert_resolve(struct cert_resolver *r, const char *email, enum cert_purpose purpose,
    time_t now, struct cert_resolution *res)
{
	char *emails[] = { (char *)email };

	return cert_resolve_many(r, emails, 1, purpose, now, res);
}

void
cert_resolution_clear(struct cert_resolution *res)
{
	X509_free(res->cert);
	sk_X509_pop_free(res->chain, X509_free);
	free(res->detail);
	for (size_t i = 0; i < res->verdict_count; i++) {
		cert_candidate_clear(&res->verdicts[i].candidate);
		free(res->verdicts[i].detail);
	}
	free(res->verdicts);
	free(res->unknown_serial);
	free(res->unknown_detail);
	memset(res, 0, sizeof(*res));
}

int
cert_resolver_check_signer(struct cert_resolver *r, X509 *cert,
    STACK_OF(X509) *untrusted, const char *email, time_t now,
    struct cert_resolution *res)
{
	struct directory *dir = NULL;
	STACK_OF(X509) *chain = NULL;
	struct cert_revocation rev;

	memset(res, 0, sizeof(*res));
	res->status = RESOLVE_NO_VALID;
	res->reason = cert_validate_chain(r->trust, cert, untrusted, email,
	    CERT_PURPOSE_SIGN, now, &chain, &res->detail);
	if (res->reason != CERT_OK)
		return 0;

	for (size_t i = 0; i < r->dir_count && dir == NULL; i++) {
		if (directory_serves(r->dirs[i], email))
			dir = r->dirs[i];
	}
	cert_check_revocation(r, &r->policy, dir, cert, chain, now, &rev);
	res->reason = rev.reason;
	if (rev.detail != NULL && rev.reason == CERT_OK) {
		char *detail = xasprintf("%s; %s", res->detail, rev.detail);

		free(res->detail);
		free(rev.detail);
		res->detail = detail;
	} else if (rev.detail != NULL) {
		free(res->detail);
		res->detail = rev.detail;
	}
	res->unknown_serial = rev.unknown_serial;
	res->unknown_detail = rev.unknown_detail;
	if (rev.reason == CERT_OK) {
		res->status = RESOLVE_OK;
		X509_up_ref(cert);
		res->cert = cert;
		res->chain = chain;
		return 0;
	}
	res->status = rev.reason == CERT_REVOCATION_UNKNOWN ? RESOLVE_UNAVAILABLE :
	    RESOLVE_NO_VALID;
	sk_X509_pop_free(chain, X509_free);
	log_debug("cert signer rejected email=%s reason=%s detail=\"%s\"", email,
	    cert_reason_name(res->reason), res->detail);
	return 0;
}
