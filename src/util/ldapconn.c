/* LDAP connection helper: connects to the first usable URI with the
 * configured TLS and bind, checks passwords, escapes filter values. */
#include "util/ldapconn.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "util/hex.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static pthread_once_t ldapconn_once = PTHREAD_ONCE_INIT;

/* libldap initialises its global options on first use without a lock, so
 * threads that open their first connections at the same time race on it
 * (found with ThreadSanitizer, OpenLDAP 2.5.13). Reading a global option
 * does that initialisation, once. */
static void
ldapconn_init_library(void)
{
	int version = 0;

	ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
}

static bool
ldapconn_uri_is_ldaps(const char *uri)
{
	return strncasecmp(uri, "ldaps://", 8) == 0;
}

/* Returns true for the results that mean this server cannot be used now,
 * so that the next URI should be tried. */
static bool
ldapconn_is_unreachable(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_LOCAL_ERROR:
	case LDAP_NO_MEMORY:
		return true;
	default:
		return false;
	}
}

/* Appends "uri: step failed: LDAP error" and the diagnostic message to sb. */
static void
ldapconn_append_error(struct strbuf *sb, const struct ldapconn_config *cfg, LDAP *ld,
    const char *uri, const char *step, int rc)
{
	char *diag = NULL;

	if (sb->len > 0)
		strbuf_appends(sb, "; ");
	strbuf_printf(sb, "%s: %s failed: %s", uri, step, ldap_err2string(rc));
	if (ld != NULL &&
	    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS &&
	    diag != NULL) {
		if (diag[0] != '\0')
			strbuf_printf(sb, ", diagnostic message \"%s\"", diag);
		ldap_memfree(diag);
	}
	/* libldap reports a failed TLS handshake, including a server
	 * certificate that does not verify, only as a connection error. */
	if ((cfg->starttls || ldapconn_uri_is_ldaps(uri)) &&
	    (rc == LDAP_CONNECT_ERROR || rc == LDAP_SERVER_DOWN))
		strbuf_appends(sb, " (the TLS handshake or the verification of the "
		    "server certificate may have failed: check the CA file and that the "
		    "certificate names the host of the URI)");
}

static int
ldapconn_set_tls(const struct ldapconn_config *cfg, LDAP *ld, const char **step_r)
{
	int demand = LDAP_OPT_X_TLS_DEMAND;
	int newctx = 0;
	int rc;

	*step_r = "setting TLS options";
	rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if (rc == LDAP_OPT_SUCCESS && cfg->ca_file != NULL)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file);
	if (rc == LDAP_OPT_SUCCESS && cfg->tls_cert_file != NULL)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CERTFILE, cfg->tls_cert_file);
	if (rc == LDAP_OPT_SUCCESS && cfg->tls_key_file != NULL)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_KEYFILE, cfg->tls_key_file);
	if (rc != LDAP_OPT_SUCCESS)
		return rc;

	/* The options above apply to a handle only once its own TLS context
	 * is created from them. */
	*step_r = "creating the TLS context";
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
}

/* Initialises a handle for uri with protocol version 3, timeouts, no
 * referral chasing and TLS (StartTLS is done here, so the connection is
 * made for it). Returns an LDAP result code; *step_r names the failed
 * step. */
static int
ldapconn_connect(const struct ldapconn_config *cfg, const char *uri, LDAP **ld_r,
    const char **step_r)
{
	int timeout = cfg->timeout_seconds > 0 ? cfg->timeout_seconds :
	    LDAPCONN_DEFAULT_TIMEOUT;
	struct timeval tv = { .tv_sec = timeout, .tv_usec = 0 };
	int version = LDAP_VERSION3;
	bool ldaps = ldapconn_uri_is_ldaps(uri);
	LDAP *ld = NULL;
	int rc;

	pthread_once(&ldapconn_once, ldapconn_init_library);
	*step_r = "ldap_initialize";
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS)
		return rc;
	*ld_r = ld;

	*step_r = "setting connection options";
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS)
		return LDAP_LOCAL_ERROR;

	if (ldaps || cfg->starttls) {
		rc = ldapconn_set_tls(cfg, ld, step_r);
		if (rc != LDAP_OPT_SUCCESS)
			return rc;
	}
	if (cfg->starttls && !ldaps) {
		*step_r = "StartTLS";
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS)
			return rc;
	}
	return LDAP_SUCCESS;
}

static char ldapconn_empty[1];

static int
ldapconn_bind(const struct ldapconn_config *cfg, LDAP *ld, const char **step_r)
{
	struct berval cred = { 0, NULL };

	switch (cfg->bind_method) {
	case LDAPCONN_BIND_SIMPLE:
		*step_r = "simple bind";
		if (cfg->bind_password != NULL) {
			cred.bv_val = cfg->bind_password;
			cred.bv_len = strlen(cfg->bind_password);
		}
		return ldap_sasl_bind_s(ld, cfg->bind_dn, LDAP_SASL_SIMPLE, &cred,
		    NULL, NULL, NULL);
	case LDAPCONN_BIND_SASL_EXTERNAL:
		/* An empty initial response, not an absent one, completes the
		 * exchange in one step (RFC 4422 appendix A). Without it slapd
		 * 2.5 returns saslBindInProgress. */
		*step_r = "SASL EXTERNAL bind";
		cred.bv_val = ldapconn_empty;
		return ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &cred, NULL, NULL, NULL);
	case LDAPCONN_BIND_ANONYMOUS:
	default:
		/* An explicit anonymous bind makes the connection now, so an
		 * unreachable server is found here and the next URI tried. */
		*step_r = "anonymous bind";
		return ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
		    NULL);
	}
}

int
ldapconn_open(const struct ldapconn_config *cfg, LDAP **ld_r, char **error_r)
{
	struct strbuf errors = STRBUF_INIT;

	if (cfg->uri_count == 0) {
		*error_r = xstrdup("no LDAP URI is configured");
		return -1;
	}
	for (size_t i = 0; i < cfg->uri_count; i++) {
		const char *uri = cfg->uris[i];
		const char *step = "";
		LDAP *ld = NULL;
		int rc;

		rc = ldapconn_connect(cfg, uri, &ld, &step);
		if (rc == LDAP_SUCCESS)
			rc = ldapconn_bind(cfg, ld, &step);
		if (rc == LDAP_SUCCESS) {
			strbuf_free(&errors);
			*ld_r = ld;
			return 0;
		}
		ldapconn_append_error(&errors, cfg, ld, uri, step, rc);
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
	}
	*error_r = strbuf_detach(&errors, NULL);
	return -1;
}

/* Maps the result of a user's bind to 1 (accepted) or 0 (rejected). A
 * rejection other than invalidCredentials usually means a server policy or
 * setting, so it is logged for the admin. */
static int
ldapconn_bind_verdict(const char *uri, const char *dn, int rc)
{
	if (rc == LDAP_SUCCESS)
		return 1;
	if (rc != LDAP_INVALID_CREDENTIALS)
		log_warn("ldap password check rejected uri=%s dn=\"%s\" error=\"%s\"",
		    uri, dn, ldap_err2string(rc));
	return 0;
}

int
ldapconn_check_password(const struct ldapconn_config *cfg, const char *dn,
    const char *password, char **error_r)
{
	struct strbuf errors = STRBUF_INIT;

	if (dn == NULL || dn[0] == '\0' || password == NULL || password[0] == '\0')
		return 0;
	if (cfg->uri_count == 0) {
		*error_r = xstrdup("no LDAP URI is configured");
		return -1;
	}
	for (size_t i = 0; i < cfg->uri_count; i++) {
		const char *uri = cfg->uris[i];
		struct berval cred = { strlen(password), (char *)password };
		const char *step = "";
		LDAP *ld = NULL;
		int rc;

		rc = ldapconn_connect(cfg, uri, &ld, &step);
		if (rc == LDAP_SUCCESS) {
			step = "simple bind";
			rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL,
			    NULL, NULL);
			if (rc == LDAP_SUCCESS || !ldapconn_is_unreachable(rc)) {
				ldap_unbind_ext_s(ld, NULL, NULL);
				strbuf_free(&errors);
				return ldapconn_bind_verdict(uri, dn, rc);
			}
		}
		ldapconn_append_error(&errors, cfg, ld, uri, step, rc);
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
	}
	*error_r = strbuf_detach(&errors, NULL);
	return -1;
}

char *
ldapconn_filter_escape(const char *value, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0')
			hex_append_escape(&sb, '\\', c, false);
		else
			strbuf_appendc(&sb, (char)c);
	}
	return strbuf_detach(&sb, NULL);
}

char *
ldapconn_filter_build(const char *template, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	char *escaped = ldapconn_filter_escape(value, strlen(value));

	for (const char *p = template; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			strbuf_appends(&sb, escaped);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			strbuf_appendc(&sb, '%');
			p++;
		} else {
			strbuf_appendc(&sb, *p);
		}
	}
	free(escaped);
	return strbuf_detach(&sb, NULL);
}
