/* The HTTP front end (libmicrohttpd with a thread pool): authentication,
 * the JMAP session resource, the API endpoint, blob upload and download, and
 * an unauthenticated health check. */
#ifndef SMIMEGW_HTTP_SERVER_H
#define SMIMEGW_HTTP_SERVER_H

struct jmap_server;
struct auth;
struct http_server;

/* Starts listening on address:port with threads worker threads. Returns
 * 0, or -1 with *error_r allocated. Borrows jmap and auth. */
int http_server_start(struct jmap_server *jmap, struct auth *auth,
    const char *address, unsigned port, unsigned threads,
    struct http_server **server_r, char **error_r);

/* Stops accepting, waits for requests in progress, frees the server. */
void http_server_stop(struct http_server *server);

#endif
