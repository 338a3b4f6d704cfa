/* The HTTP front end (libmicrohttpd with a thread pool): authentication,
 * the JMAP session resource, the API endpoint, blob upload and download, and
 * an unauthenticated health check. */
#ifndef SMIMEGW_HTTP_SERVER_H
#define SMIMEGW_HTTP_SERVER_H

#include <stddef.h>

/* Limit on failed logins (wrong password, unknown user or token) per client
 * address. After max_failures failures within one window, requests with
 * credentials from that address get 429 until the window ends, without a
 * check of the credentials. Clients behind one proxy or NAT share its
 * address and so its limit. */
struct http_login_limit {
	unsigned max_failures;
	unsigned window_seconds;
	/* Size of the table of addresses. When it is full, the address whose
	 * window started first is dropped, which also ends its lock. */
	size_t tracked_addresses;
};

#define HTTP_LOGIN_DEFAULT_MAX_FAILURES 20
#define HTTP_LOGIN_DEFAULT_WINDOW_SECONDS 60
#define HTTP_LOGIN_DEFAULT_TRACKED_ADDRESSES 1024

struct jmap_server;
struct auth;
struct http_server;

/* Starts listening on address:port with threads worker threads, counting
 * failed logins as login_limit sets. Returns 0, or -1 with *error_r
 * allocated. Borrows jmap and auth, and copies login_limit. */
int http_server_start(struct jmap_server *jmap, struct auth *auth,
    const char *address, unsigned port, unsigned threads,
    const struct http_login_limit *login_limit,
    struct http_server **server_r, char **error_r);

/* Stops accepting connections, waits up to 20 seconds for the requests in
 * progress to finish and their responses to be sent (asking clients to
 * close their connections), then closes every connection and frees the
 * server. */
void http_server_stop(struct http_server *server);

#endif
