/* smimegw: the command line. "serve" runs the JMAP daemon; "lookup" shows
 * which certificate each address would be encrypted to, and why. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509v3.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "certs/directory.h"
#include "certs/keystore.h"
#include "certs/resolve.h"
#include "certs/revocation.h"
#include "certs/validate.h"
#include "config.h"
#include "http/auth.h"
#include "http/server.h"
#include "jmap/server.h"
#include "mime/address.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SMIMEGW_VERSION "0.1.0"

/* Everything the daemon and the lookup command build from the config. */
struct smimegw {
	struct config *config;
	struct cert_trust *trust;
	struct directory **directories;
	struct cert_resolver *resolver;
	struct revocation_checker *revocation;
	struct keystore *keystore;
	struct store *store;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: smimegw serve --config FILE\n"
	    "       smimegw lookup --config FILE [--json] [--verbose] ADDRESS...\n"
	    "       smimegw --version\n"
	    "\n"
	    "serve   run the JMAP S/MIME gateway described by the configuration FILE\n"
	    "lookup  resolve each ADDRESS in the configured directories and show every\n"
	    "        candidate certificate with its verdict and the one chosen; exit status\n"
	    "        0 when every address has a usable certificate, 1 when some do not,\n"
	    "        2 when a directory or revocation service could not be asked or an\n"
	    "        ADDRESS is invalid; --json prints the same report as one JSON object,\n"
	    "        --verbose also prints the log lines of the lookup\n");
}

static void
smimegw_close(struct smimegw *gw)
{
	cert_resolver_free(gw->resolver);
	revocation_checker_free(gw->revocation);
	for (size_t i = 0; gw->directories != NULL && i < gw->config->directory_count; i++)
		directory_free(gw->directories[i]);
	free(gw->directories);
	keystore_free(gw->keystore);
	cert_trust_free(gw->trust);
	store_close(gw->store);
	config_free(gw->config);
}

/* Loads the configuration and what both commands need: trust anchors,
 * directories, the revocation checker and the resolver. */
static int
smimegw_open(struct smimegw *gw, const char *config_path, char **error_r)
{
	struct config *c;
	char *error = NULL;

	memset(gw, 0, sizeof(*gw));
	if (config_load(config_path, &gw->config, error_r) < 0)
		return -1;
	c = gw->config;
	log_set_level(c->log_level);
	if (cert_trust_load(c->trust_anchors, c->trust_anchor_count, c->intermediates,
	    c->intermediate_count, c->chain_cache_size, c->chain_cache_ttl, &gw->trust,
	    &error) < 0) {
		*error_r = xasprintf("%s: option \"trust\": %s", c->path, error);
		free(error);
		return -1;
	}
	gw->directories = xcalloc(c->directory_count + 1, sizeof(*gw->directories));
	for (size_t i = 0; i < c->directory_count; i++)
		gw->directories[i] = directory_new(&c->directories[i]);
	gw->resolver = cert_resolver_new(gw->directories, c->directory_count, gw->trust);
	gw->revocation = revocation_checker_new(&c->revocation, NULL);
	cert_resolver_set_revocation(gw->resolver, gw->revocation, &c->revocation_policy,
	    c->directory_revocation);
	return 0;
}

/* Each created message passes through buffers of a few hundred KiB. With
 * glibc's defaults, freeing them returns the pages to the kernel, and the
 * next message faults them in again, which cost about 8% of the CPU time
 * of a signed and encrypted message with a 100 KiB attachment. So buffers
 * up to 4 MiB come from the arenas, which keep up to 8 MiB free at their
 * top. Settings made through glibc's environment variables take
 * precedence. */
static void
smimegw_tune_malloc(void)
{
#ifdef __GLIBC__
	if (getenv("GLIBC_TUNABLES") != NULL || getenv("MALLOC_TRIM_THRESHOLD_") != NULL ||
	    getenv("MALLOC_MMAP_THRESHOLD_") != NULL)
		return;
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif
}

/* Blocks SIGTERM and SIGINT in the calling thread, and so in every thread
 * it starts later, so that only smimegw_wait_for_stop() receives them.
 * A handler with pause() would miss a signal that the kernel delivers to
 * one of the HTTP server's threads. */
static void
smimegw_block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Waits for SIGTERM or SIGINT and returns the signal's number. */
static int
smimegw_wait_for_stop(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
	return sig;
}

static struct directory *
smimegw_find_directory(struct smimegw *gw, const char *name)
{
	for (size_t i = 0; i < gw->config->directory_count; i++) {
		if (strcmp(gw->config->directories[i].name, name) == 0)
			return gw->directories[i];
	}
	return NULL;
}

static int
cmd_serve(const char *config_path)
{
	struct smimegw gw;
	struct jmap_server server = { 0 };
	struct http_server *http = NULL;
	struct auth *auth = NULL;
	sigset_t stop_signals;
	bool log_to_file = false;
	char *error = NULL;
	int ret = 1;

	if (smimegw_open(&gw, config_path, &error) < 0)
		goto fail;
	if (gw.config->log_file != NULL) {
		if (log_open_file(gw.config->log_file) < 0) {
			error = xasprintf("opening the log file %s failed: %s", gw.config->log_file,
			    strerror(errno));
			goto fail;
		}
		log_to_file = true;
	}
	if (gw.config->keystore_path != NULL &&
	    keystore_load(gw.config->keystore_path, &gw.keystore, &error) < 0)
		goto fail;
	if (store_open(gw.config->store_path, &gw.store, &error) < 0)
		goto fail;
	auth = auth_new(gw.config, gw.config->auth_directory != NULL ?
	    smimegw_find_directory(&gw, gw.config->auth_directory) : NULL);

	server.config = gw.config;
	server.store = gw.store;
	server.resolver = gw.resolver;
	server.trust = gw.trust;
	server.keystore = gw.keystore;
	server.limits = gw.config->limits;
	server.base_url = gw.config->public_url;
	server.session_state = "s1";

	smimegw_tune_malloc();
	smimegw_block_stop_signals(&stop_signals);
	signal(SIGPIPE, SIG_IGN);
	/* A write past a file size limit then fails with EFBIG instead of
	 * killing the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	if (http_server_start(&server, auth, gw.config->listen_address, gw.config->listen_port,
	    gw.config->threads, &gw.config->login_limit, &http, &error) < 0)
		goto fail;
	log_info("smimegw started version=%s listen=%s:%u url=%s directories=%zu signing_keys=%zu",
	    SMIMEGW_VERSION, gw.config->listen_address, gw.config->listen_port,
	    gw.config->public_url, gw.config->directory_count,
	    gw.keystore != NULL ? keystore_count(gw.keystore) : 0);
	log_info("smimegw stopping signal=%s: finishing requests in progress",
	    smimegw_wait_for_stop(&stop_signals) == SIGINT ? "SIGINT" : "SIGTERM");
	http_server_stop(http);
	log_info("smimegw stopped");
	ret = 0;
	goto out;
fail:
	/* Without a log file the log line already went to standard error. */
	log_error("smimegw failed to start: %s", error);
	if (log_to_file)
		fprintf(stderr, "smimegw: %s\n", error);
	free(error);
out:
	auth_free(auth);
	smimegw_close(&gw);
	return ret;
}

static const char *
lookup_key_type(X509 *cert)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);

	if (key == NULL)
		return "unknown";
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		return "RSA";
	case EVP_PKEY_EC:
		return "EC";
	default:
		return "other";
	}
}

static const char *
lookup_status_name(enum resolve_status status)
{
	return status == RESOLVE_OK ? "usable" :
	    status == RESOLVE_NO_VALID ? "noValidCertificate" : "unavailable";
}

/* Returns one candidate with its verdict as a JSON object; the text output
 * prints the same members. */
static json_t *
lookup_candidate_json(const struct cert_verdict *v, bool chosen)
{
	X509 *cert = v->candidate.cert;
	char *subject = cert_subject_string(cert);
	char *serial = cert_serial_string(cert);
	char *issuer = NULL, nb[32], na[32];
	BIO *bio = BIO_new(BIO_s_mem());
	json_t *o;

	if (bio != NULL && X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		char *data = NULL;
		long len = BIO_get_mem_data(bio, &data);

		issuer = xstrndup(data, (size_t)len);
	}
	BIO_free(bio);
	o = json_pack("{ss ss ss ss ss ss ss ss ss ss ss* sb}",
	    "directory", v->candidate.directory, "dn", v->candidate.dn,
	    "attribute", v->candidate.attribute, "subject", subject,
	    "issuer", issuer != NULL ? issuer : "", "serial", serial,
	    "notBefore", cert_time_string(X509_get0_notBefore(cert), nb, sizeof(nb)),
	    "notAfter", cert_time_string(X509_get0_notAfter(cert), na, sizeof(na)),
	    "keyType", lookup_key_type(cert), "verdict", cert_reason_name(v->reason),
	    "detail", v->detail, "chosen", chosen);
	free(issuer);
	free(serial);
	free(subject);
	return o;
}

/* Returns the report of one address: its status, the reason and detail,
 * every candidate and, after soft-fail, the serial whose revocation status
 * is unknown. */
static json_t *
lookup_address_json(const char *address, const struct cert_resolution *res)
{
	json_t *candidates = json_array();
	size_t chosen = (size_t)-1;

	if (res->status == RESOLVE_OK)
		cert_choose(res->verdicts, res->verdict_count, true, &chosen);
	for (size_t k = 0; k < res->verdict_count; k++)
		json_array_append_new(candidates, lookup_candidate_json(&res->verdicts[k],
		    k == chosen));
	return json_pack("{ss ss ss ss* so ss*}", "address", address,
	    "status", lookup_status_name(res->status),
	    "reason", cert_reason_name(res->reason), "detail", res->detail,
	    "candidates", candidates, "revocationUnknownSerial", res->unknown_serial);
}

/* Prints the report of one address (see lookup_address_json) as text. */
static void
lookup_print_text(json_t *report)
{
	const char *status = json_string_value(json_object_get(report, "status"));
	const char *detail = json_string_value(json_object_get(report, "detail"));
	const char *unknown = json_string_value(json_object_get(report,
	    "revocationUnknownSerial"));
	json_t *c;
	size_t k;

	printf("%s: %s\n", json_string_value(json_object_get(report, "address")),
	    strcmp(status, "usable") == 0 ? "usable" :
	    strcmp(status, "unavailable") == 0 ? "unavailable" :
	    strcmp(status, "invalidAddress") == 0 ? "invalid email address" :
	    "no valid certificate");
	json_array_foreach(json_object_get(report, "candidates"), k, c) {
		const char *cd = json_string_value(json_object_get(c, "detail"));

		printf("  %s candidate: directory=%s dn=%s attribute=%s\n",
		    json_is_true(json_object_get(c, "chosen")) ? "*" : "-",
		    json_string_value(json_object_get(c, "directory")),
		    json_string_value(json_object_get(c, "dn")),
		    json_string_value(json_object_get(c, "attribute")));
		printf("      subject=%s issuer=%s\n",
		    json_string_value(json_object_get(c, "subject")),
		    json_string_value(json_object_get(c, "issuer")));
		printf("      serial=%s key=%s valid %s .. %s\n",
		    json_string_value(json_object_get(c, "serial")),
		    json_string_value(json_object_get(c, "keyType")),
		    json_string_value(json_object_get(c, "notBefore")),
		    json_string_value(json_object_get(c, "notAfter")));
		printf("      verdict=%s%s%s\n", json_string_value(json_object_get(c, "verdict")),
		    cd != NULL ? " detail=" : "", cd != NULL ? cd : "");
	}
	if (detail != NULL)
		printf("  %s: %s\n", strcmp(status, "usable") == 0 ? "chosen" : "reason", detail);
	if (unknown != NULL)
		printf("  warning: accepted by soft-fail although the revocation status "
		    "of serial %s is unknown\n", unknown);
}

/* Resolves every address in one batch and prints a report per address, as
 * text or as one JSON object {"addresses": [...], "exitStatus": N}. */
static int
cmd_lookup(const char *config_path, bool verbose, bool json, char **addresses, int count)
{
	struct cert_resolution *results = xcalloc((size_t)count + 1, sizeof(*results));
	char **valid = xcalloc((size_t)count + 1, sizeof(*valid));
	json_t *reports = json_array();
	size_t valid_count = 0;
	struct smimegw gw;
	char *error = NULL;
	int ret = 0;

	if (smimegw_open(&gw, config_path, &error) < 0) {
		fprintf(stderr, "smimegw: %s\n", error);
		free(error);
		smimegw_close(&gw);
		free(results);
		free(valid);
		json_decref(reports);
		return 2;
	}
	/* The report below repeats what the log lines contain; print them on request. */
	log_set_level(verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	/* Invalid addresses are not looked up; the others share the searches. */
	for (int i = 0; i < count; i++) {
		if (mime_address_is_valid(addresses[i]))
			valid[valid_count++] = addresses[i];
	}
	cert_resolve_many(gw.resolver, valid, valid_count, CERT_PURPOSE_ENCRYPT, time(NULL),
	    results);
	for (int i = 0, v = 0; i < count; i++) {
		json_t *report;

		if (valid[v] != addresses[i]) {
			report = json_pack("{ss ss ss ss s[]}", "address", addresses[i],
			    "status", "invalidAddress", "reason", "invalid",
			    "detail", "not a valid email address", "candidates");
			ret = 2;
		} else {
			report = lookup_address_json(addresses[i], &results[v]);
			if (results[v].status == RESOLVE_UNAVAILABLE)
				ret = 2;
			else if (results[v].status == RESOLVE_NO_VALID && ret == 0)
				ret = 1;
			cert_resolution_clear(&results[v++]);
		}
		if (!json)
			lookup_print_text(report);
		json_array_append_new(reports, report);
	}
	if (json) {
		json_t *out = json_pack("{so si}", "addresses", reports, "exitStatus", ret);

		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		putchar('\n');
		json_decref(out);
	} else {
		json_decref(reports);
	}
	free(results);
	free(valid);
	smimegw_close(&gw);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *command;
	bool verbose = false, json = false;
	int opt;

	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("smimegw %s\n", SMIMEGW_VERSION);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	command = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "c:hv", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL) {
		fprintf(stderr, "smimegw: --config FILE is required\n");
		usage(stderr);
		return 2;
	}
	if (strcmp(command, "serve") == 0 && optind == argc)
		return cmd_serve(config_path);
	if (strcmp(command, "lookup") == 0 && optind < argc)
		return cmd_lookup(config_path, verbose, json, argv + optind, argc - optind);
	if (strcmp(command, "lookup") == 0)
		fprintf(stderr, "smimegw: lookup needs at least one ADDRESS\n");
	else if (strcmp(command, "serve") == 0)
		fprintf(stderr, "smimegw: serve takes no arguments besides --config\n");
	else
		fprintf(stderr, "smimegw: unknown command \"%s\"\n", command);
	usage(stderr);
	return 2;
}
