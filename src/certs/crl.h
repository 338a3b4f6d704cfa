/* Certificate revocation lists (RFC 5280 section 5): parsing, the checks
 * that let a CRL speak for an issuer, the lookup of one certificate, and the
 * distribution point URLs of a certificate. */
#ifndef SMIMEGW_CRL_H
#define SMIMEGW_CRL_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

/* Parses one CRL in DER or PEM. Returns it, or NULL with *error_r. */
X509_CRL *crl_parse(const unsigned char *data, size_t len, char **error_r);

/* Checks that crl is a complete CRL that issuer signed: its issuer name is
 * issuer's subject, its signature verifies with issuer's key, issuer's
 * keyUsage (when present) includes cRLSign, and it is neither a delta CRL
 * nor an indirect CRL nor has a critical extension other than
 * issuingDistributionPoint. Returns 0, or -1 with *error_r.
 * NOTE: CRLs signed by a key other than the issuer's are not supported. */
int crl_verify(X509_CRL *crl, X509 *issuer, char **error_r);

enum crl_result { CRL_GOOD, CRL_REVOKED, CRL_UNKNOWN };

struct crl_entry {
	int reason;		/* CRLReason, -1 when absent */
	time_t revocation_time;
};

/* Looks cert up in crl, which crl_verify accepted for cert's issuer, at now.
 * - CRL_REVOKED with *entry_r when cert is listed (reason certificateHold
 *   included, removeFromCRL excepted), whatever the dates of the CRL, since
 *   a stale CRL does not take a revocation back;
 * - CRL_GOOD when it is not listed, the CRL is current (thisUpdate at most
 *   clock_skew in the future and nextUpdate at most clock_skew in the past,
 *   or thisUpdate at most max_age old when there is no nextUpdate) and its
 *   issuingDistributionPoint, if any, covers cert with all reasons;
 * - CRL_UNKNOWN otherwise.
 * *detail_r is set to an allocated explanation in every case. */
enum crl_result crl_lookup(X509_CRL *crl, X509 *cert, time_t now, int clock_skew,
    int max_age, struct crl_entry *entry_r, char **detail_r);

/* Returns when crl stops being current: its nextUpdate, or thisUpdate plus
 * max_age when it has none, or 0 when the dates cannot be read. */
time_t crl_fresh_until(X509_CRL *crl, int max_age);

/* Returns the http://, ldap:// and ldaps:// URLs in the fullName of the
 * cRLDistributionPoints of cert, as an allocated NULL-terminated array of
 * allocated strings, or NULL when there is none. Distribution points that
 * cover only some reasons or name a cRLIssuer are skipped, because only
 * complete CRLs of the issuer are supported. */
char **crl_distribution_urls(X509 *cert);

/* Returns the name of a CRLReason code (RFC 5280 5.3.1), e.g.
 * "keyCompromise"; "unspecified" for -1 and unknown codes. */
const char *crl_reason_name(int reason);

#endif
