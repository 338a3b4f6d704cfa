/* HTTP front end on libmicrohttpd: routing, request bodies with size limits,
 * authentication, and the JMAP, upload and download endpoints. */
#define _GNU_SOURCE
#include "http/server.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http/auth.h"
#include "http/ratelimit.h"
#include "jmap/jmap.h"
#include "jmap/server.h"
#include "store/store.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Request header limits, checked before anything else: at most this many
 * header fields, and the request line and all fields together must fit in
 * libmicrohttpd's memory pool of a connection. */
#define HTTP_MAX_HEADER_FIELDS 100
#define HTTP_CONNECTION_MEMORY (64 * 1024)

/* Open connections in total and per client address, and seconds of
 * inactivity after which a connection is closed. */
#define HTTP_MAX_CONNECTIONS 1024
#define HTTP_MAX_CONNECTIONS_PER_ADDRESS 256
#define HTTP_CONNECTION_TIMEOUT 60

/* Seconds that http_server_stop waits for requests in progress. */
#define HTTP_STOP_GRACE_SECONDS 20

struct http_server {
	struct MHD_Daemon *daemon;
	struct jmap_server *jmap;
	struct auth *auth;
	struct http_login_limit login_limit;
	struct ratelimit *login_failures;	/* per client address */
	atomic_ulong next_request;
	atomic_uint active_requests;
	atomic_uint active_uploads;
	atomic_uint requests_in_progress;	/* from the header fields to the end of the response */
};

/* State of one HTTP request while its body arrives. */
struct http_request {
	char id[24];
	char address[INET6_ADDRSTRLEN];	/* of the client */
	struct strbuf body;
	size_t max_body;
	bool too_large;
	bool too_many_headers;
	atomic_uint *counter;	/* concurrency slot taken, released when done */
};

/* Set while a server stops. A process runs one server, and
 * http_respond_full has only the connection, so the flag is global. */
static atomic_bool http_stopping;

/* Queues a response. During shutdown it asks the client to close the
 * connection, so that keep-alive clients send no further requests.
 * retry_after is the Retry-After value in seconds, or 0 for none. */
static enum MHD_Result
http_respond_full(struct MHD_Connection *conn, unsigned status, const char *type,
    const void *body, size_t len, bool copy, unsigned retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body,
	    copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	if (type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Basic realm=\"smimegw\", charset=\"UTF-8\"");
	if (retry_after > 0) {
		char seconds[16];

		snprintf(seconds, sizeof(seconds), "%u", retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
	}
	if (atomic_load(&http_stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
http_respond(struct MHD_Connection *conn, unsigned status, const char *type,
    const void *body, size_t len, bool copy)
{
	return http_respond_full(conn, status, type, body, len, copy, 0);
}

/* Sends an RFC 7807 problem details object. For the JMAP "limit" type,
 * limit names the limit (RFC 8620 3.6.1 requires the member), else it is
 * NULL. */
static enum MHD_Result
http_problem_full(struct MHD_Connection *conn, unsigned status, const char *type,
    const char *limit, unsigned retry_after, const char *detail)
{
	json_t *p = json_pack("{ss si ss}", "type", type, "status", (int)status,
	    "detail", detail);
	char *text;

	if (limit != NULL)
		json_object_set_new(p, "limit", json_string(limit));
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	return http_respond_full(conn, status, "application/problem+json", text,
	    strlen(text), false, retry_after);
}

static enum MHD_Result
http_problem(struct MHD_Connection *conn, unsigned status, const char *type,
    const char *detail)
{
	return http_problem_full(conn, status, type, NULL, 0, detail);
}

/* Sends a urn:ietf:params:jmap:error:limit problem for the named limit. */
static enum MHD_Result
http_limit_problem(struct MHD_Connection *conn, unsigned status,
    const char *limit, unsigned retry_after, const char *detail)
{
	return http_problem_full(conn, status, "urn:ietf:params:jmap:error:limit",
	    limit, retry_after, detail);
}

static enum MHD_Result
http_json(struct MHD_Connection *conn, unsigned status, json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT);

	return http_respond(conn, status, "application/json", text, strlen(text), false);
}

/* Splits the path "/a/b/c" into at most max segments (allocated copies).
 * Returns the number of segments. */
static size_t
http_split_path(const char *path, char **segments, size_t max)
{
	size_t n = 0;

	while (*path == '/')
		path++;
	while (*path != '\0' && n < max) {
		const char *end = strchr(path, '/');
		size_t len = end == NULL ? strlen(path) : (size_t)(end - path);
		segments[n++] = xstrndup(path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

static void
http_free_segments(char **segments, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(segments[i]);
}

static enum MHD_Result
http_handle_session(struct http_server *srv, struct MHD_Connection *conn,
    const struct jmap_account *account)
{
	json_t *session = jmap_session_object(srv->jmap, account);
	enum MHD_Result ret = http_json(conn, MHD_HTTP_OK, session);

	json_decref(session);
	return ret;
}

static enum MHD_Result
http_handle_api(struct http_server *srv, struct MHD_Connection *conn,
    struct http_request *req, const struct jmap_account *account)
{
	struct jmap_context ctx = {
		.server = srv->jmap, .account = account, .request_id = req->id,
	};
	struct jmap_result result = { 0 };
	enum MHD_Result ret;

	jmap_request_process(&ctx, strbuf_str(&req->body), req->body.len, &result);
	ret = http_respond(conn, (unsigned)result.http_status, result.content_type,
	    result.body, strlen(result.body), true);
	jmap_result_clear(&result);
	return ret;
}

/* Returns true for a media type "type/subtype" of token characters and
 * optional parameters without control characters. */
static bool
http_media_type_valid(const char *type)
{
	const char *slash = strchr(type, '/');

	if (slash == NULL || slash == type || slash[1] == '\0' || strlen(type) > 255)
		return false;
	for (const char *p = type; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

static enum MHD_Result
http_handle_upload(struct http_server *srv, struct MHD_Connection *conn,
    struct http_request *req, const struct jmap_account *account,
    const char *account_id)
{
	const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	char *blob_id = NULL, *error = NULL;
	enum MHD_Result ret;
	json_t *resp;

	if (strcmp(account_id, account->id) != 0)
		return http_problem(conn, MHD_HTTP_NOT_FOUND,
		    "urn:ietf:params:jmap:error:accountNotFound",
		    "the account in the upload URL is not the authenticated account");
	if (type == NULL || !http_media_type_valid(type))
		type = "application/octet-stream";
	if (store_blob_put(srv->jmap->store, account->id, strbuf_str(&req->body),
	    req->body.len, type, &blob_id, &error) < 0) {
		log_error("upload failed request=%s account=%s error=\"%s\"", req->id,
		    account->id, error);
		free(error);
		return http_problem(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "urn:ietf:params:jmap:error:serverFail", "storing the upload failed");
	}
	log_info("upload stored request=%s account=%s blob=%s size=%zu", req->id,
	    account->id, blob_id, req->body.len);
	resp = json_pack("{ss ss ss sI}", "accountId", account->id, "blobId", blob_id,
	    "type", type, "size", (json_int_t)req->body.len);
	free(blob_id);
	ret = http_json(conn, MHD_HTTP_CREATED, resp);
	json_decref(resp);
	return ret;
}

/* Builds a Content-Disposition for name: the ASCII form quoted, and an
 * RFC 8187 filename* when name has other bytes. */
static char *
http_content_disposition(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	bool ascii = true;

	strbuf_appends(&sb, "attachment; filename=\"");
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p >= 0x80 || *p < 0x20 || *p == 0x7f) {
			ascii = false;
			strbuf_appendc(&sb, '_');
		} else {
			if (*p == '"' || *p == '\\')
				strbuf_appendc(&sb, '\\');
			strbuf_appendc(&sb, (char)*p);
		}
	}
	strbuf_appendc(&sb, '"');
	if (!ascii) {
		strbuf_appends(&sb, "; filename*=UTF-8''");
		for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p) != NULL)
				strbuf_appendc(&sb, (char)*p);
			else
				hex_append_escape(&sb, '%', *p, true);
		}
	}
	return strbuf_detach(&sb, NULL);
}

static enum MHD_Result
http_handle_download(struct http_server *srv, struct MHD_Connection *conn,
    struct http_request *req, const struct jmap_account *account,
    char **segments, size_t n)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "accept");
	char *data = NULL, *type = NULL, *error = NULL, *disposition;
	struct MHD_Response *resp;
	enum store_status status;
	enum MHD_Result ret;
	size_t len;

	/* segments: "jmap" "download" accountId blobId name */
	if (n != 5)
		return http_problem(conn, MHD_HTTP_NOT_FOUND, "about:blank",
		    "download URLs have the form /jmap/download/{accountId}/{blobId}/{name}");
	if (strcmp(segments[2], account->id) != 0)
		return http_problem(conn, MHD_HTTP_NOT_FOUND,
		    "urn:ietf:params:jmap:error:accountNotFound",
		    "the account in the download URL is not the authenticated account");
	if (accept != NULL && !http_media_type_valid(accept))
		return http_problem(conn, MHD_HTTP_BAD_REQUEST, "about:blank",
		    "the accept parameter is not a valid media type");
	status = store_blob_get(srv->jmap->store, account->id, segments[3], &data,
	    &len, &type, &error);
	if (status == STORE_ERROR) {
		log_error("download failed request=%s account=%s blob=%s error=\"%s\"",
		    req->id, account->id, segments[3], error);
		free(error);
		return http_problem(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "urn:ietf:params:jmap:error:serverFail", "reading the blob failed");
	}
	if (status == STORE_NOT_FOUND) {
		free(error);
		return http_problem(conn, MHD_HTTP_NOT_FOUND, "about:blank",
		    "no blob with this id in this account");
	}
	resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(data);
		free(type);
		return MHD_NO;
	}
	disposition = http_content_disposition(segments[4]);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    accept != NULL ? accept : type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
	MHD_add_response_header(resp, "Cache-Control", "private, immutable, max-age=31536000");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	free(disposition);
	free(type);
	return ret;
}

/* Routes an authenticated request whose body is complete. */
static enum MHD_Result
http_route(struct http_server *srv, struct MHD_Connection *conn,
    struct http_request *req, const char *url, const char *method,
    const struct jmap_account *account)
{
	char *segments[6];
	size_t n = http_split_path(url, segments, 6);
	enum MHD_Result ret;

	if (strcmp(url, "/.well-known/jmap") == 0 && strcmp(method, "GET") == 0)
		ret = http_handle_session(srv, conn, account);
	else if (strcmp(url, "/jmap/api") == 0 && strcmp(method, "POST") == 0)
		ret = http_handle_api(srv, conn, req, account);
	else if (n == 3 && strcmp(segments[0], "jmap") == 0 &&
	    strcmp(segments[1], "upload") == 0 && strcmp(method, "POST") == 0)
		ret = http_handle_upload(srv, conn, req, account, segments[2]);
	else if (n >= 2 && strcmp(segments[0], "jmap") == 0 &&
	    strcmp(segments[1], "download") == 0 && strcmp(method, "GET") == 0)
		ret = http_handle_download(srv, conn, req, account, segments, n);
	else if (strcmp(url, "/jmap/api") == 0 || strcmp(url, "/.well-known/jmap") == 0 ||
	    (n >= 2 && strcmp(segments[0], "jmap") == 0 &&
	    (strcmp(segments[1], "upload") == 0 || strcmp(segments[1], "download") == 0)))
		ret = http_problem(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "about:blank",
		    "method not allowed: the API and uploads take POST, the session and downloads GET");
	else
		ret = http_problem(conn, MHD_HTTP_NOT_FOUND, "about:blank",
		    "no such resource; the session is at /.well-known/jmap");
	http_free_segments(segments, n);
	return ret;
}

static bool
http_is_upload(const char *url)
{
	return strncmp(url, "/jmap/upload/", 13) == 0;
}

/* Authenticates a complete request and routes it. */
static enum MHD_Result
http_dispatch(struct http_server *srv, struct MHD_Connection *conn,
    struct http_request *req, const char *url, const char *method)
{
	const char *authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	struct jmap_account *account = NULL;
	char *error = NULL;
	enum auth_result auth;
	enum MHD_Result ret;

	if (req->too_large) {
		log_warn("request rejected request=%s path=%s reason=\"body larger than %zu bytes\"",
		    req->id, url, req->max_body);
		return http_limit_problem(conn, MHD_HTTP_CONTENT_TOO_LARGE,
		    http_is_upload(url) ? "maxSizeUpload" : "maxSizeRequest", 0,
		    http_is_upload(url) ? "the upload is larger than maxSizeUpload" :
		    "the request is larger than maxSizeRequest");
	}
	if (authorization != NULL) {
		unsigned wait = ratelimit_check(srv->login_failures, req->address, time(NULL));

		if (wait > 0) {
			log_debug("login rejected request=%s address=%s reason=\"too many failed logins\" retry_after=%u",
			    req->id, req->address, wait);
			return http_problem_full(conn, MHD_HTTP_TOO_MANY_REQUESTS, "about:blank",
			    NULL, wait, "too many failed logins from this address; retry later");
		}
	}
	auth = auth_check(srv->auth, authorization, &account, &error);
	if (auth == AUTH_UNAVAILABLE) {
		log_error("authentication unavailable request=%s error=\"%s\"", req->id, error);
		free(error);
		return http_problem(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "urn:ietf:params:jmap:error:serverUnavailable",
		    "the directory that checks passwords cannot be reached; retry later");
	}
	if (auth == AUTH_DENIED && authorization == NULL) {
		/* The usual first request of a Basic client: not a failure. */
		log_debug("authentication required request=%s address=%s path=%s", req->id,
		    req->address, url);
		free(error);
		return http_problem(conn, MHD_HTTP_UNAUTHORIZED, "about:blank",
		    "authentication required: Basic (directory password) or Bearer token");
	}
	if (auth == AUTH_DENIED) {
		log_warn("authentication failed request=%s address=%s path=%s reason=\"%s\"",
		    req->id, req->address, url, error);
		free(error);
		if (ratelimit_fail(srv->login_failures, req->address, time(NULL)))
			log_warn("logins locked address=%s failures=%u window_seconds=%u",
			    req->address, srv->login_limit.max_failures,
			    srv->login_limit.window_seconds);
		return http_problem(conn, MHD_HTTP_UNAUTHORIZED, "about:blank",
		    "invalid credentials: check the user name and directory password, or the bearer token");
	}
	log_debug("request request=%s method=%s path=%s account=%s", req->id, method,
	    url, account->id);
	ret = http_route(srv, conn, req, url, method, account);
	auth_account_free(account);
	return ret;
}

/* Takes a concurrency slot for an API request or an upload, enforcing
 * maxConcurrentRequests and maxConcurrentUpload. Returns -1 when none is
 * free. Other requests need no slot. */
static int
http_take_slot(struct http_server *srv, struct http_request *req, const char *url)
{
	atomic_uint *counter = NULL;
	size_t max = 0;

	if (http_is_upload(url)) {
		counter = &srv->active_uploads;
		max = srv->jmap->limits.max_concurrent_upload;
	} else if (strcmp(url, "/jmap/api") == 0) {
		counter = &srv->active_requests;
		max = srv->jmap->limits.max_concurrent_requests;
	}
	if (counter == NULL)
		return 0;
	if (atomic_fetch_add(counter, 1) >= max) {
		atomic_fetch_sub(counter, 1);
		return -1;
	}
	req->counter = counter;
	return 0;
}

/* Writes the client's IP address of conn into buf. */
static void
http_client_address(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;
	const void *addr = NULL;

	if (sa != NULL && sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa != NULL && sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "unknown");
}

/* Returns true when the Content-Length header of conn announces more than
 * max bytes, so that the body is discarded from its first byte. */
static bool
http_announces_more_than(struct MHD_Connection *conn, size_t max)
{
	const char *value = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t length = 0;

	if (value == NULL)
		return false;
	for (const char *p = value; *p >= '0' && *p <= '9'; p++) {
		if (length > (max - (size_t)(*p - '0')) / 10)
			return true;
		length = length * 10 + (size_t)(*p - '0');
	}
	return length > max;
}

/* Starts the state of a request whose header fields have arrived. */
static struct http_request *
http_request_new(struct http_server *srv, struct MHD_Connection *conn, const char *url)
{
	struct http_request *req = xcalloc(1, sizeof(*req));

	atomic_fetch_add(&srv->requests_in_progress, 1);
	snprintf(req->id, sizeof(req->id), "r%08lx",
	    (unsigned long)atomic_fetch_add(&srv->next_request, 1));
	http_client_address(conn, req->address, sizeof(req->address));
	req->max_body = http_is_upload(url) ? srv->jmap->limits.max_size_upload :
	    srv->jmap->limits.max_size_request;
	req->too_large = http_announces_more_than(conn, req->max_body);
	req->too_many_headers = MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL,
	    NULL) > HTTP_MAX_HEADER_FIELDS;
	return req;
}

static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	(void)version;
	if (req == NULL) {
		*con_cls = http_request_new(srv, conn, url);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (req->too_large || req->too_many_headers ||
		    req->body.len + *upload_data_size > req->max_body)
			req->too_large = true;
		else
			strbuf_append(&req->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->too_many_headers) {
		log_warn("request rejected request=%s address=%s reason=\"more than %d header fields\"",
		    req->id, req->address, HTTP_MAX_HEADER_FIELDS);
		return http_problem(conn, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
		    "about:blank", "the request has too many header fields");
	}
	if (strcmp(url, "/health") == 0 && strcmp(method, "GET") == 0)
		return http_respond(conn, MHD_HTTP_OK, "text/plain", "ok\n", 3, true);
	if (http_take_slot(srv, req, url) < 0) {
		log_warn("request rejected request=%s path=%s reason=\"too many concurrent requests\"",
		    req->id, url);
		return http_limit_problem(conn, MHD_HTTP_TOO_MANY_REQUESTS, http_is_upload(url) ?
		    "maxConcurrentUpload" : "maxConcurrentRequests", 1, http_is_upload(url) ?
		    "more than maxConcurrentUpload uploads are in progress; retry later" :
		    "more than maxConcurrentRequests requests are in progress; retry later");
	}
	return http_dispatch(srv, conn, req, url, method);
}

static void
http_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	(void)conn;
	if (req == NULL)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_debug("request ended early request=%s address=%s code=%d", req->id,
		    req->address, (int)toe);
	if (req->counter != NULL)
		atomic_fetch_sub(req->counter, 1);
	strbuf_free(&req->body);
	free(req);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->requests_in_progress, 1);
}

int
http_server_start(struct jmap_server *jmap, struct auth *auth,
    const char *address, unsigned port, unsigned threads,
    const struct http_login_limit *login_limit,
    struct http_server **server_r, char **error_r)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_in addr = { 0 };

	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
		*error_r = xasprintf("listen address \"%s\" is not an IPv4 address", address);
		free(srv);
		return -1;
	}
	srv->jmap = jmap;
	srv->auth = auth;
	srv->login_limit = *login_limit;
	srv->login_failures = ratelimit_new(login_limit->max_failures,
	    login_limit->window_seconds, login_limit->tracked_addresses);
	atomic_store(&http_stopping, false);
	/* MHD_USE_ITC lets http_server_stop stop the listening socket first.
	 * poll() rather than epoll: libmicrohttpd 0.9.75 can abort ("Failed to
	 * remove listen FD from epoll set") when a thread pool in epoll mode is
	 * quiesced. */
	srv->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ITC, (uint16_t)port, NULL, NULL, http_handler, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_NOTIFY_COMPLETED, http_request_completed, srv,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS_PER_ADDRESS,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		*error_r = xasprintf("listening on %s:%u failed (port in use or no permission)",
		    address, port);
		ratelimit_free(srv->login_failures);
		free(srv);
		return -1;
	}
	*server_r = srv;
	return 0;
}

/* Waits until no request is in progress, at most HTTP_STOP_GRACE_SECONDS. */
static void
http_server_drain(struct http_server *srv)
{
	const struct timespec step = { 0, 50 * 1000 * 1000 };
	unsigned left = atomic_load(&srv->requests_in_progress);

	if (left == 0)
		return;
	log_info("http server waiting for requests in progress requests=%u", left);
	for (int i = 0; i < HTTP_STOP_GRACE_SECONDS * 20 && left > 0; i++) {
		nanosleep(&step, NULL);
		left = atomic_load(&srv->requests_in_progress);
	}
	if (left > 0)
		log_warn("http server stopping with requests in progress requests=%u grace_seconds=%d",
		    left, HTTP_STOP_GRACE_SECONDS);
}

void
http_server_stop(struct http_server *srv)
{
	MHD_socket listen_fd;

	if (srv == NULL)
		return;
	atomic_store(&http_stopping, true);
	listen_fd = MHD_quiesce_daemon(srv->daemon);
	http_server_drain(srv);
	MHD_stop_daemon(srv->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	ratelimit_free(srv->login_failures);
	free(srv);
}
