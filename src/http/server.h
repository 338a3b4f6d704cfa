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

/* Stops accepting connections, waits up to 20 seconds for the requests in
 * progress to finish and their responses to be sent (asking clients to
 * close their connections), then closes every connection and frees the
 * server. */
void http_server_stop(struct http_server *server);

#endif
