/* HTTP/1.1 load generator for the benchmarks: keep-alive connections to
 * 127.0.0.1, each sending POST requests one at a time, timing each one. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "util/fsutil.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define LOADGEN_MAX_BODIES 256
#define LOADGEN_MAX_BODY_SIZE (64 * 1024 * 1024)
#define LOADGEN_MAX_RESPONSE (64 * 1024 * 1024)
#define LOADGEN_MAX_CONNECTIONS 256
#define LOADGEN_ERROR_EXCERPT 300

struct loadgen_options {
	unsigned port;
	const char *path;
	char *token;
	const char *body_paths[LOADGEN_MAX_BODIES];
	size_t body_count;
	unsigned connections;
	double duration;	/* seconds; 0 when requests is set */
	uint64_t requests;	/* total over all connections; 0 when duration is set */
	const char *expect;	/* substring every response body must contain */
	long rss_pid;		/* process whose VmRSS is sampled; 0: none */
	uint64_t rss_every;	/* sample after every this many responses */
	bool print_latencies;
};

/* Everything the connection threads share. */
struct loadgen_run {
	const struct loadgen_options *options;
	char **requests;	/* one complete HTTP request per body */
	size_t *request_lens;
	double deadline;	/* monotonic seconds */
	atomic_uint_fast64_t next;	/* requests started */
	atomic_uint_fast64_t completed;
	pthread_mutex_t lock;	/* guards the fields below */
	long *rss_samples;	/* kB; index i is after i * rss_every responses */
	size_t rss_count;
	char *first_error;
};

struct loadgen_worker {
	pthread_t thread;
	struct loadgen_run *run;
	double *latencies;	/* milliseconds */
	size_t latency_count, latency_cap;
	uint64_t errors;
};

static double
loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns VmRSS of pid in kB, or -1. */
static long
loadgen_read_rss(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static void
loadgen_record_error(struct loadgen_run *run, struct loadgen_worker *w,
    const char *message)
{
	w->errors++;
	pthread_mutex_lock(&run->lock);
	if (run->first_error == NULL)
		run->first_error = xstrdup(message);
	pthread_mutex_unlock(&run->lock);
}

static void
loadgen_sample_rss(struct loadgen_run *run, uint64_t done)
{
	const struct loadgen_options *o = run->options;
	size_t index;

	if (o->rss_pid == 0 || o->rss_every == 0 || done % o->rss_every != 0)
		return;
	index = (size_t)(done / o->rss_every);
	pthread_mutex_lock(&run->lock);
	if (index >= run->rss_count) {
		run->rss_samples = xreallocarray(run->rss_samples, index + 1,
		    sizeof(*run->rss_samples));
		for (size_t i = run->rss_count; i <= index; i++)
			run->rss_samples[i] = -1;
		run->rss_count = index + 1;
	}
	run->rss_samples[index] = loadgen_read_rss(o->rss_pid);
	pthread_mutex_unlock(&run->lock);
}

static int
loadgen_connect(unsigned port)
{
	struct sockaddr_in addr = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
loadgen_send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Returns the value of header field name in the header block, or NULL. */
static const char *
loadgen_header(const char *headers, size_t headers_len, const char *name)
{
	size_t name_len = strlen(name);
	const char *line = strstr(headers, "\r\n");

	while (line != NULL && (size_t)(line - headers) < headers_len) {
		line += 2;
		if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':')
			return line + name_len + 1;
		line = strstr(line, "\r\n");
	}
	return NULL;
}

/* Reads one response with a Content-Length into buf (status line, header
 * and body) and returns its status code, with *body_offset set to where
 * the body starts and *close_r set when the server will close the
 * connection. Returns -1 with a static message in *error_r on failure. */
static int
loadgen_read_response(int fd, struct strbuf *buf, size_t *body_offset,
    bool *close_r, const char **error_r)
{
	char chunk[65536];
	const char *end = NULL, *value;
	size_t header_len = 0, total = 0;
	int status;

	strbuf_reset(buf);
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = "connection closed before the response was complete";
			return -1;
		}
		strbuf_append(buf, chunk, (size_t)n);
		if (end == NULL && (end = strstr(buf->data, "\r\n\r\n")) != NULL) {
			header_len = (size_t)(end - buf->data) + 4;
			value = loadgen_header(buf->data, header_len, "Content-Length");
			if (value == NULL) {
				*error_r = "response without Content-Length";
				return -1;
			}
			total = header_len + strtoull(value, NULL, 10);
		}
		if (end != NULL && buf->len >= total)
			break;
		if (buf->len > LOADGEN_MAX_RESPONSE) {
			*error_r = "response larger than 64 MiB";
			return -1;
		}
	}
	if (buf->len != total) {
		*error_r = "bytes after the response on a connection without pipelining";
		return -1;
	}
	if (sscanf(buf->data, "HTTP/1.%*d %d", &status) != 1) {
		*error_r = "response without an HTTP/1.x status line";
		return -1;
	}
	value = loadgen_header(buf->data, header_len, "Connection");
	*close_r = value != NULL && strstr(value, "close") != NULL;
	*body_offset = header_len;
	return status;
}

static bool
loadgen_should_start(struct loadgen_run *run, uint64_t *index_r)
{
	const struct loadgen_options *o = run->options;

	if (o->duration > 0 && loadgen_now() >= run->deadline)
		return false;
	*index_r = atomic_fetch_add(&run->next, 1);
	return o->requests == 0 || *index_r < o->requests;
}

static void
loadgen_add_latency(struct loadgen_worker *w, double ms)
{
	if (w->latency_count == w->latency_cap) {
		w->latency_cap = w->latency_cap ? 2 * w->latency_cap : 1024;
		w->latencies = xreallocarray(w->latencies, w->latency_cap,
		    sizeof(*w->latencies));
	}
	w->latencies[w->latency_count++] = ms;
}

/* Sends one request on *fd (connecting first when *fd < 0) and checks the
 * response. Returns 0 when it succeeded. */
static int
loadgen_exchange(struct loadgen_worker *w, int *fd, size_t body_index,
    struct strbuf *buf)
{
	struct loadgen_run *run = w->run;
	const char *error = NULL;
	char message[LOADGEN_ERROR_EXCERPT + 64];
	size_t offset = 0;
	bool close_after = false;
	int status;

	if (*fd < 0 && (*fd = loadgen_connect(run->options->port)) < 0) {
		loadgen_record_error(run, w, "connect to the server failed");
		return -1;
	}
	if (loadgen_send_all(*fd, run->requests[body_index],
		run->request_lens[body_index]) < 0) {
		error = "sending the request failed";
		status = -1;
	} else {
		status = loadgen_read_response(*fd, buf, &offset, &close_after, &error);
	}
	if (status < 0 || close_after) {
		close(*fd);
		*fd = -1;
	}
	if (status < 0) {
		loadgen_record_error(run, w, error);
		return -1;
	}
	if (status != 200 || (run->options->expect != NULL &&
		strstr(buf->data + offset, run->options->expect) == NULL)) {
		snprintf(message, sizeof(message), "status %d, body: %.*s", status,
		    LOADGEN_ERROR_EXCERPT, buf->data + offset);
		loadgen_record_error(run, w, message);
		return -1;
	}
	return 0;
}

static void *
loadgen_worker_main(void *arg)
{
	struct loadgen_worker *w = arg;
	struct loadgen_run *run = w->run;
	struct strbuf buf = STRBUF_INIT;
	uint64_t index;
	int fd = -1;

	while (loadgen_should_start(run, &index)) {
		double start = loadgen_now();

		if (loadgen_exchange(w, &fd, (size_t)(index % run->options->body_count),
			&buf) == 0)
			loadgen_add_latency(w, (loadgen_now() - start) * 1000.0);
		loadgen_sample_rss(run, atomic_fetch_add(&run->completed, 1) + 1);
	}
	if (fd >= 0)
		close(fd);
	strbuf_free(&buf);
	return NULL;
}

static int
loadgen_compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double
loadgen_percentile(const double *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	return sorted[rank > 0 ? rank - 1 : 0];
}

static void
loadgen_report(struct loadgen_run *run, struct loadgen_worker *workers,
    unsigned count, double seconds)
{
	size_t n = 0, k = 0;
	uint64_t errors = 0;
	double *all;

	for (unsigned i = 0; i < count; i++) {
		n += workers[i].latency_count;
		errors += workers[i].errors;
	}
	all = xcalloc(n > 0 ? n : 1, sizeof(*all));
	for (unsigned i = 0; i < count; i++) {
		memcpy(all + k, workers[i].latencies,
		    workers[i].latency_count * sizeof(*all));
		k += workers[i].latency_count;
	}
	qsort(all, n, sizeof(*all), loadgen_compare_double);
	printf("{\"requests\": %zu, \"errors\": %" PRIu64 ", \"seconds\": %.4f, "
	    "\"rate\": %.2f, \"p50_ms\": %.3f, \"p95_ms\": %.3f, \"p99_ms\": %.3f, "
	    "\"max_ms\": %.3f, \"rss_kb\": [", n, errors, seconds,
	    seconds > 0 ? (double)n / seconds : 0.0, loadgen_percentile(all, n, 50),
	    loadgen_percentile(all, n, 95), loadgen_percentile(all, n, 99),
	    n > 0 ? all[n - 1] : 0.0);
	for (size_t i = 0; i < run->rss_count; i++)
		printf("%s%ld", i > 0 ? ", " : "", run->rss_samples[i]);
	printf("]");
	if (run->options->print_latencies) {
		printf(", \"latencies_ms\": [");
		for (size_t i = 0; i < n; i++)
			printf("%s%.3f", i > 0 ? ", " : "", all[i]);
		printf("]");
	}
	printf("}\n");
	if (run->first_error != NULL)
		fprintf(stderr, "loadgen: %" PRIu64 " failed requests; first: %s\n",
		    errors, run->first_error);
	free(all);
}

static void
loadgen_usage(FILE *out)
{
	fprintf(out,
	    "Usage: loadgen --port PORT --token-file FILE --body FILE [--body FILE...]\n"
	    "               [--path PATH] [--connections N] (--seconds S | --requests N)\n"
	    "               [--expect TEXT] [--rss-pid PID --rss-every N] [--latencies]\n"
	    "Sends POST requests with the bodies in turn to http://127.0.0.1:PORT/PATH\n"
	    "(default /jmap/api) with \"Authorization: Bearer TOKEN\", over N keep-alive\n"
	    "connections (default 2), for S seconds or N requests in total. A response\n"
	    "counts as a success when its status is 200 and its body contains TEXT.\n"
	    "Prints one JSON object: requests, errors, seconds, rate (successful\n"
	    "requests per second), p50_ms, p95_ms, p99_ms, max_ms and rss_kb, the\n"
	    "VmRSS of PID before the first request and after every N responses, and\n"
	    "with --latencies every latency in milliseconds, sorted (latencies_ms).\n");
}

static int
loadgen_parse(int argc, char **argv, struct loadgen_options *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "path", required_argument, NULL, 'P' },
		{ "token-file", required_argument, NULL, 't' },
		{ "body", required_argument, NULL, 'b' },
		{ "connections", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "requests", required_argument, NULL, 'n' },
		{ "expect", required_argument, NULL, 'e' },
		{ "rss-pid", required_argument, NULL, 'r' },
		{ "rss-every", required_argument, NULL, 'R' },
		{ "latencies", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *error = NULL, *token = NULL;
	size_t len;
	int c;

	o->path = "/jmap/api";
	o->connections = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'P': o->path = optarg; break;
		case 't':
			if (fs_read_file(optarg, 4096, &token, &len, &error) < 0) {
				fprintf(stderr, "loadgen: %s\n", error);
				free(error);
				return -1;
			}
			token[strcspn(token, "\r\n")] = '\0';
			free(o->token);
			o->token = token;
			break;
		case 'b':
			if (o->body_count == LOADGEN_MAX_BODIES) {
				fprintf(stderr, "loadgen: more than %d --body files\n",
				    LOADGEN_MAX_BODIES);
				return -1;
			}
			o->body_paths[o->body_count++] = optarg;
			break;
		case 'c': o->connections = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o->duration = strtod(optarg, NULL); break;
		case 'n': o->requests = strtoull(optarg, NULL, 10); break;
		case 'e': o->expect = optarg; break;
		case 'r': o->rss_pid = strtol(optarg, NULL, 10); break;
		case 'R': o->rss_every = strtoull(optarg, NULL, 10); break;
		case 'l': o->print_latencies = true; break;
		case 'h': loadgen_usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || o->port == 0 || o->port > 65535 || o->token == NULL ||
	    o->body_count == 0 || o->connections == 0 ||
	    o->connections > LOADGEN_MAX_CONNECTIONS ||
	    (o->duration > 0) == (o->requests > 0)) {
		fprintf(stderr, "loadgen: --port (1 to 65535), --token-file, at least one "
		    "--body, 1 to %d --connections and exactly one of --seconds and "
		    "--requests are required\n", LOADGEN_MAX_CONNECTIONS);
		return -1;
	}
	return 0;
}

/* Builds the complete HTTP request of each body file. */
static int
loadgen_build_requests(const struct loadgen_options *o, struct loadgen_run *run)
{
	run->requests = xcalloc(o->body_count, sizeof(*run->requests));
	run->request_lens = xcalloc(o->body_count, sizeof(*run->request_lens));
	for (size_t i = 0; i < o->body_count; i++) {
		struct strbuf req = STRBUF_INIT;
		char *body = NULL, *error = NULL;
		size_t len;

		if (fs_read_file(o->body_paths[i], LOADGEN_MAX_BODY_SIZE, &body, &len,
			&error) < 0) {
			fprintf(stderr, "loadgen: %s\n", error);
			free(error);
			return -1;
		}
		strbuf_printf(&req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
		    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n", o->path, o->port, o->token, len);
		strbuf_append(&req, body, len);
		free(body);
		run->requests[i] = strbuf_detach(&req, &run->request_lens[i]);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct loadgen_options options = { 0 };
	struct loadgen_run run = { 0 };
	struct loadgen_worker *workers;
	double start;
	int status = 0;

	if (loadgen_parse(argc, argv, &options) < 0) {
		loadgen_usage(stderr);
		return 2;
	}
	if (loadgen_build_requests(&options, &run) < 0)
		return 2;
	run.options = &options;
	pthread_mutex_init(&run.lock, NULL);
	atomic_init(&run.next, 0);
	atomic_init(&run.completed, 0);
	loadgen_sample_rss(&run, 0);

	workers = xcalloc(options.connections, sizeof(*workers));
	start = loadgen_now();
	run.deadline = start + options.duration;
	for (unsigned i = 0; i < options.connections; i++) {
		workers[i].run = &run;
		if (pthread_create(&workers[i].thread, NULL, loadgen_worker_main,
			&workers[i]) != 0) {
			fprintf(stderr, "loadgen: pthread_create failed\n");
			return 2;
		}
	}
	for (unsigned i = 0; i < options.connections; i++)
		pthread_join(workers[i].thread, NULL);
	loadgen_report(&run, workers, options.connections, loadgen_now() - start);

	for (unsigned i = 0; i < options.connections; i++) {
		if (workers[i].errors > 0)
			status = 1;
		free(workers[i].latencies);
	}
	for (size_t i = 0; i < options.body_count; i++)
		free(run.requests[i]);
	free(run.requests);
	free(run.request_lens);
	free(run.rss_samples);
	free(run.first_error);
	free(options.token);
	free(workers);
	pthread_mutex_destroy(&run.lock);
	return status;
}
