/* Revocation data by URL: http:// through OSSL_HTTP_transfer on a socket
 * connected here, ldap:// and ldaps:// through libldap. */
#include "certs/urlfetch.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <ldap.h>
#include <openssl/err.h>
#include <openssl/http.h>

#include "util/ldapconn.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define URLFETCH_DEFAULT_TIMEOUT 10
/* Room for the LDAP message around an attribute value of max_size bytes. */
#define URLFETCH_LDAP_OVERHEAD (64 * 1024)

static int
urlfetch_timeout(const struct urlfetch_limits *limits)
{
	return limits->timeout_seconds > 0 ? limits->timeout_seconds :
	    URLFETCH_DEFAULT_TIMEOUT;
}

/* Returns the errors queued in this thread by OpenSSL, oldest first, as one
 * allocated message, and clears the queue. */
static char *
urlfetch_ssl_errors(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char *data = NULL;
	unsigned long code;
	int flags = 0;

	while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		const char *reason = ERR_reason_error_string(code);

		if (sb.len > 0)
			strbuf_appends(&sb, ": ");
		strbuf_appends(&sb, reason != NULL ? reason : "unknown error");
		if ((flags & ERR_TXT_STRING) != 0 && data != NULL && data[0] != '\0')
			strbuf_printf(&sb, " (%s)", data);
	}
	if (sb.len == 0)
		strbuf_appends(&sb, "unknown error");
	return strbuf_detach(&sb, NULL);
}

static bool
urlfetch_has_scheme(const char *url, const char *scheme)
{
	size_t len = strlen(scheme);

	return strncasecmp(url, scheme, len) == 0 && strncmp(url + len, "://", 3) == 0;
}

/* Reads all of bio, at most max_size bytes. */
static int
urlfetch_read_bio(BIO *bio, size_t max_size, unsigned char **data_r, size_t *len_r,
    char **error_r)
{
	struct strbuf body = STRBUF_INIT;
	char buf[8192];
	int n;

	while ((n = BIO_read(bio, buf, sizeof(buf))) > 0) {
		if (body.len + (size_t)n > max_size) {
			*error_r = xasprintf("the response is larger than %zu bytes",
			    max_size);
			strbuf_free(&body);
			return -1;
		}
		strbuf_append(&body, buf, (size_t)n);
	}
	if (body.len == 0) {
		*error_r = xstrdup("the response body is empty");
		strbuf_free(&body);
		return -1;
	}
	*data_r = (unsigned char *)strbuf_detach(&body, len_r);
	return 0;
}

/* Returns the milliseconds left until deadline, at least 1. */
static int
urlfetch_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 1)
		return 1;
	if (ms > 3600000)
		return 3600000;
	return (int)ms;
}

/* Connects fd to addr without blocking longer than deadline. Returns 0, or
 * an errno value. */
static int
urlfetch_connect_one(int fd, const struct addrinfo *addr, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT, .revents = 0 };
	socklen_t len = sizeof(int);
	int err = 0, rc;

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return errno;
	if (connect(fd, addr->ai_addr, addr->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	do {
		rc = poll(&pfd, 1, urlfetch_ms_left(deadline));
	} while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return ETIMEDOUT;
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/* Opens a TCP connection to host:port. OpenSSL's own connect is not used
 * because it retries a refused connection until its timeout (OpenSSL 3.0),
 * which would make an unreachable responder look like a slow one. Returns
 * a socket BIO, or NULL with *error_r. */
static BIO *
urlfetch_connect(const char *host, const char *port, const struct timespec *deadline,
    char **error_r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *addrs = NULL;
	char name[256];
	size_t len = strlen(host);
	int rc, err = 0, fd = -1;
	BIO *bio;

	/* OSSL_HTTP_parse_url keeps the brackets of an IPv6 address. */
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(name)) {
		memcpy(name, host + 1, len - 2);
		name[len - 2] = '\0';
		host = name;
	}
	rc = getaddrinfo(host, port, &hints, &addrs);
	if (rc != 0) {
		*error_r = xasprintf("resolving %s failed: %s", host, gai_strerror(rc));
		return NULL;
	}
	for (struct addrinfo *a = addrs; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = urlfetch_connect_one(fd, a, deadline);
		if (err != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(addrs);
	if (fd < 0) {
		*error_r = xasprintf("connecting to %s port %s failed: %s", host, port,
		    err == ETIMEDOUT ? "timed out" : strerror(err));
		return NULL;
	}
	bio = BIO_new_socket(fd, BIO_CLOSE);
	if (bio == NULL)
		abort();
	return bio;
}

/* GET (body NULL) or POST over HTTP. Redirects are not followed. */
static int
urlfetch_http(const char *url, const struct urlfetch_limits *limits,
    const char *content_type, const unsigned char *body, size_t body_len,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	char *host = NULL, *port = NULL, *path = NULL;
	BIO *conn = NULL, *req = NULL, *resp = NULL;
	struct timespec deadline;
	int use_ssl = 0, ret = -1;

	ERR_clear_error();
	if (OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL, &path, NULL,
	    NULL) != 1 || use_ssl) {
		ERR_clear_error();
		*error_r = xstrdup("not a valid http:// URL");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += urlfetch_timeout(limits);
	conn = urlfetch_connect(host, port != NULL && port[0] != '\0' ? port : "80",
	    &deadline, error_r);
	if (conn == NULL)
		goto out;
	if (body != NULL) {
		req = BIO_new_mem_buf(body, (int)body_len);
		if (req == NULL)
			abort();
	}
	/* The timeout is in whole seconds, so the exchange may take up to one
	 * second longer than the limit. */
	resp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, conn, conn,
	    NULL, NULL, 0, NULL, content_type, req, expected_type, 1, limits->max_size,
	    (urlfetch_ms_left(&deadline) + 999) / 1000, 0);
	if (resp == NULL) {
		char *ssl = urlfetch_ssl_errors();

		*error_r = xasprintf("HTTP %s failed: %s", body == NULL ? "GET" : "POST",
		    ssl);
		free(ssl);
		goto out;
	}
	ret = urlfetch_read_bio(resp, limits->max_size, data_r, len_r, error_r);
out:
	BIO_free(req);
	BIO_free(resp);
	BIO_free(conn);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return ret;
}

/* Compares attribute descriptions without their options (";binary"). */
static bool
urlfetch_same_attribute(const char *a, const char *b)
{
	size_t la = strcspn(a, ";"), lb = strcspn(b, ";");

	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Copies the first value of attribute in entry. Returns 1, 0 when the
 * entry has no such value, or -1 with *error_r when it is too large. */
static int
urlfetch_ldap_value(LDAP *ld, LDAPMessage *entry, const char *attribute,
    size_t max_size, unsigned char **data_r, size_t *len_r, char **error_r)
{
	BerElement *ber = NULL;
	int found = 0;

	for (char *attr = ldap_first_attribute(ld, entry, &ber); attr != NULL && found == 0;
	    attr = ldap_next_attribute(ld, entry, ber)) {
		struct berval **vals = NULL;

		if (urlfetch_same_attribute(attr, attribute))
			vals = ldap_get_values_len(ld, entry, attr);
		if (vals != NULL && vals[0] != NULL && vals[0]->bv_len > max_size) {
			*error_r = xasprintf("the value of %s is larger than %zu bytes", attr,
			    max_size);
			found = -1;
		} else if (vals != NULL && vals[0] != NULL && vals[0]->bv_len > 0) {
			*data_r = xmalloc(vals[0]->bv_len);
			memcpy(*data_r, vals[0]->bv_val, vals[0]->bv_len);
			*len_r = vals[0]->bv_len;
			found = 1;
		}
		ldap_value_free_len(vals);
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	return found;
}

/* Raises libldap's limit on incoming messages to what max_size needs. */
static void
urlfetch_ldap_limit_size(LDAP *ld, size_t max_size)
{
	Sockbuf *sb = NULL;
	ber_len_t max = (ber_len_t)max_size + URLFETCH_LDAP_OVERHEAD;

	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb != NULL)
		ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max);
}

static char *
urlfetch_ldap_server(const LDAPURLDesc *lud)
{
	bool ipv6 = strchr(lud->lud_host, ':') != NULL;

	if (lud->lud_port <= 0)
		return xasprintf("%s://%s%s%s/", lud->lud_scheme, ipv6 ? "[" : "",
		    lud->lud_host, ipv6 ? "]" : "");
	return xasprintf("%s://%s%s%s:%d/", lud->lud_scheme, ipv6 ? "[" : "",
	    lud->lud_host, ipv6 ? "]" : "", lud->lud_port);
}

static int
urlfetch_ldap(const char *url, const struct urlfetch_limits *limits,
    unsigned char **data_r, size_t *len_r, char **error_r)
{
	struct timeval tv = { .tv_sec = urlfetch_timeout(limits), .tv_usec = 0 };
	struct ldapconn_config cfg = { 0 };
	LDAPURLDesc *lud = NULL;
	LDAPMessage *res = NULL, *entry;
	LDAP *ld = NULL;
	char *server = NULL, *error = NULL;
	char *attrs[2] = { NULL, NULL };
	int rc, ret = -1;

	rc = ldap_url_parse(url, &lud);
	if (rc != LDAP_URL_SUCCESS) {
		*error_r = xasprintf("not a valid LDAP URL (ldap_url_parse error %d)", rc);
		goto out;
	}
	/* NOTE: RFC 4516 lets a URL without a host mean "a server the client
	 * knows"; such URLs are rejected rather than guessed. */
	if (lud->lud_host == NULL || lud->lud_host[0] == '\0' || lud->lud_attrs == NULL ||
	    lud->lud_attrs[0] == NULL) {
		*error_r = xstrdup("the LDAP URL names no host or no attribute");
		goto out;
	}
	server = urlfetch_ldap_server(lud);
	cfg.uris = &server;
	cfg.uri_count = 1;
	cfg.bind_method = LDAPCONN_BIND_ANONYMOUS;
	cfg.timeout_seconds = urlfetch_timeout(limits);
	if (ldapconn_open(&cfg, &ld, &error) < 0) {
		*error_r = xasprintf("connection failed: %s", error);
		free(error);
		goto out;
	}
	urlfetch_ldap_limit_size(ld, limits->max_size);

	attrs[0] = lud->lud_attrs[0];
	rc = ldap_search_ext_s(ld, lud->lud_dn != NULL ? lud->lud_dn : "",
	    lud->lud_scope == LDAP_SCOPE_DEFAULT ? LDAP_SCOPE_BASE : lud->lud_scope,
	    lud->lud_filter != NULL ? lud->lud_filter : "(objectClass=*)", attrs, 0,
	    NULL, NULL, &tv, 1, &res);
	entry = rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED ?
	    ldap_first_entry(ld, res) : NULL;
	if (entry == NULL) {
		*error_r = rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED ?
		    xstrdup("no entry was found") :
		    xasprintf("search failed: %s", ldap_err2string(rc));
		goto out;
	}
	rc = urlfetch_ldap_value(ld, entry, attrs[0], limits->max_size, data_r, len_r,
	    error_r);
	if (rc == 0)
		*error_r = xasprintf("the entry has no value of %s", attrs[0]);
	ret = rc == 1 ? 0 : -1;
out:
	ldap_msgfree(res);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	ldap_free_urldesc(lud);
	free(server);
	return ret;
}

int
urlfetch_get(const char *url, const struct urlfetch_limits *limits,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	if (urlfetch_has_scheme(url, "http"))
		return urlfetch_http(url, limits, NULL, NULL, 0, expected_type, data_r,
		    len_r, error_r);
	if (urlfetch_has_scheme(url, "ldap") || urlfetch_has_scheme(url, "ldaps"))
		return urlfetch_ldap(url, limits, data_r, len_r, error_r);
	*error_r = xstrdup("only http://, ldap:// and ldaps:// URLs are supported");
	return -1;
}

int
urlfetch_post(const char *url, const struct urlfetch_limits *limits,
    const char *content_type, const unsigned char *body, size_t body_len,
    const char *expected_type, unsigned char **data_r, size_t *len_r, char **error_r)
{
	if (!urlfetch_has_scheme(url, "http")) {
		*error_r = xstrdup("only http:// URLs are supported for POST");
		return -1;
	}
	return urlfetch_http(url, limits, content_type, body, body_len, expected_type,
	    data_r, len_r, error_r);
}
