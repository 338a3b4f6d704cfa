/* The cryptographic limit of the benchmarks: the CMS signing and encryption
 * that smimegw does per message, done in a loop in-process with OpenSSL,
 * without HTTP, JSON, MIME or LDAP. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/strbuf.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

#define CMSLIMIT_MAX_CONTENT (64 * 1024 * 1024)
#define CMSLIMIT_MAX_THREADS 64

struct cmslimit_options {
	const char *content_path;
	const char *signer_cert_path, *signer_key_path, *chain_path;
	const char *recipients_path;
	unsigned threads;
	double seconds;
};

/* Inputs shared read-only by the threads. */
struct cmslimit_inputs {
	char *content;
	size_t content_len;
	X509 *signer_cert;
	EVP_PKEY *signer_key;
	STACK_OF(X509) *chain;
	STACK_OF(X509) *recipients;	/* NULL: sign only */
	unsigned char *key_preference;	/* SMIMEEncryptionKeyPreference value */
	size_t key_preference_len;
	double deadline;
};

struct cmslimit_worker {
	pthread_t thread;
	const struct cmslimit_inputs *in;
	double *latencies;	/* milliseconds */
	size_t count, cap;
	bool failed;
};

static double
cmslimit_clock(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cmslimit_now(void)
{
	return cmslimit_clock(CLOCK_MONOTONIC);
}

static void
cmslimit_openssl_fail(const char *what)
{
	fprintf(stderr, "cmslimit: %s failed\n", what);
	ERR_print_errors_fp(stderr);
}

/* Encodes SMIMEEncryptionKeyPreference (RFC 8551 2.5.3) for cert, as
 * smimegw does: [0] IMPLICIT IssuerAndSerialNumber, the issuer Name and the
 * serial INTEGER under the context tag. The value is the same for every
 * message, so it is made once. */
static int
cmslimit_key_preference(struct cmslimit_inputs *in)
{
	unsigned char *issuer = NULL, *serial = NULL, *p;
	int issuer_len = i2d_X509_NAME(X509_get_issuer_name(in->signer_cert), &issuer);
	int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(in->signer_cert), &serial);
	size_t body, octets = 0;

	if (issuer_len <= 0 || serial_len <= 0) {
		cmslimit_openssl_fail("encoding the issuer and serial number");
		OPENSSL_free(issuer);
		OPENSSL_free(serial);
		return -1;
	}
	body = (size_t)issuer_len + (size_t)serial_len;
	p = in->key_preference = xmalloc(body + 6);
	*p++ = 0xa0;
	if (body < 0x80) {
		*p++ = (unsigned char)body;
	} else {
		for (size_t rest = body; rest > 0; rest >>= 8)
			octets++;
		*p++ = (unsigned char)(0x80 | octets);
		for (size_t i = octets; i > 0; i--)
			*p++ = (unsigned char)(body >> (8 * (i - 1)));
	}
	memcpy(p, issuer, (size_t)issuer_len);
	memcpy(p + issuer_len, serial, (size_t)serial_len);
	in->key_preference_len = (size_t)(p - in->key_preference) + body;
	OPENSSL_free(issuer);
	OPENSSL_free(serial);
	return 0;
}

/* Signs content as smimegw does by default: detached SignedData with
 * SHA-256 and RSA PKCS#1 v1.5, the chain, SMIMECapabilities,
 * SMIMEEncryptionKeyPreference and the signing time. Appends the DER to
 * out. */
static int
cmslimit_sign(const struct cmslimit_inputs *in, struct strbuf *out)
{
	const unsigned int flags = CMS_BINARY | CMS_DETACHED;
	STACK_OF(X509_ALGOR) *caps = NULL;
	static const int cap_nids[] = {
		NID_aes_256_cbc, NID_aes_128_cbc, NID_aes_256_gcm, NID_aes_128_gcm,
	};
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	BIO *content = NULL, *der = NULL;
	char *data;
	long len;
	int ret = -1;

	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	if (cms == NULL)
		goto fail;
	si = CMS_add1_signer(cms, in->signer_cert, in->signer_key, EVP_sha256(),
	    CMS_BINARY | CMS_NOSMIMECAP);
	if (si == NULL)
		goto fail;
	for (int i = 0; i < sk_X509_num(in->chain); i++) {
		if (!CMS_add1_cert(cms, sk_X509_value(in->chain, i)))
			goto fail;
	}
	for (size_t i = 0; i < sizeof(cap_nids) / sizeof(cap_nids[0]); i++) {
		if (!CMS_add_simple_smimecap(&caps, cap_nids[i], -1))
			goto fail;
	}
	if (!CMS_add_smimecap(si, caps) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_encrypKeyPref,
		V_ASN1_SEQUENCE, in->key_preference, (int)in->key_preference_len))
		goto fail;
	content = BIO_new_mem_buf(in->content, (int)in->content_len);
	der = BIO_new(BIO_s_mem());
	if (content == NULL || der == NULL || !CMS_final(cms, content, NULL, flags) ||
	    !i2d_CMS_bio(der, cms))
		goto fail;
	len = BIO_get_mem_data(der, &data);
	strbuf_append(out, data, (size_t)len);
	ret = 0;
fail:
	if (ret < 0)
		cmslimit_openssl_fail("signing");
	sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
	BIO_free(content);
	BIO_free(der);
	CMS_ContentInfo_free(cms);
	return ret;
}

/* Encrypts data to every recipient with AES-256-CBC and RSA PKCS#1 v1.5 key
 * transport (smimegw's defaults) and DER-encodes the EnvelopedData. */
static int
cmslimit_encrypt(const struct cmslimit_inputs *in, const char *data, size_t len)
{
	CMS_ContentInfo *cms = NULL;
	BIO *content = NULL, *der = NULL;
	int ret = -1;

	cms = CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), CMS_BINARY | CMS_PARTIAL);
	if (cms == NULL)
		goto fail;
	for (int i = 0; i < sk_X509_num(in->recipients); i++) {
		if (CMS_add1_recipient_cert(cms, sk_X509_value(in->recipients, i), 0) == NULL)
			goto fail;
	}
	content = BIO_new_mem_buf(data, (int)len);
	der = BIO_new(BIO_s_mem());
	if (content == NULL || der == NULL || !CMS_final(cms, content, NULL, CMS_BINARY) ||
	    !i2d_CMS_bio(der, cms))
		goto fail;
	ret = 0;
fail:
	if (ret < 0)
		cmslimit_openssl_fail("encryption");
	BIO_free(content);
	BIO_free(der);
	CMS_ContentInfo_free(cms);
	return ret;
}

/* Makes one message: signs the content when a signer is set, then, when
 * recipients are set, encrypts the content followed by the base64
 * signature, which is about the size of the multipart/signed entity that
 * smimegw encrypts. */
static int
cmslimit_message(const struct cmslimit_inputs *in)
{
	struct strbuf sig = STRBUF_INIT, plain = STRBUF_INIT;
	int ret = -1;

	if (in->signer_key != NULL && cmslimit_sign(in, &sig) < 0)
		goto fail;
	if (in->recipients != NULL) {
		strbuf_append(&plain, in->content, in->content_len);
		if (sig.len > 0) {
			size_t b64_cap = 4 * ((sig.len + 2) / 3) + 1;
			char *b64 = xmalloc(b64_cap);
			int n = EVP_EncodeBlock((unsigned char *)b64,
			    (const unsigned char *)sig.data, (int)sig.len);

			strbuf_append(&plain, b64, (size_t)n);
			free(b64);
		}
		if (cmslimit_encrypt(in, plain.data, plain.len) < 0)
			goto fail;
	}
	ret = 0;
fail:
	strbuf_free(&sig);
	strbuf_free(&plain);
	return ret;
}

static void *
cmslimit_worker_main(void *arg)
{
	struct cmslimit_worker *w = arg;

	while (cmslimit_now() < w->in->deadline) {
		double start = cmslimit_now();

		if (cmslimit_message(w->in) < 0) {
			w->failed = true;
			break;
		}
		if (w->count == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 1024;
			w->latencies = xreallocarray(w->latencies, w->cap,
			    sizeof(*w->latencies));
		}
		w->latencies[w->count++] = (cmslimit_now() - start) * 1000.0;
	}
	return NULL;
}

/* Reads every certificate of a PEM file; NULL on error. */
static STACK_OF(X509) *
cmslimit_read_certs(const char *path)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *bio = BIO_new_file(path, "r");
	X509 *cert;

	if (bio == NULL || certs == NULL) {
		fprintf(stderr, "cmslimit: opening %s failed\n", path);
		sk_X509_free(certs);
		BIO_free(bio);
		return NULL;
	}
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(certs, cert);
	ERR_clear_error();
	BIO_free(bio);
	if (sk_X509_num(certs) == 0) {
		fprintf(stderr, "cmslimit: no PEM certificate in %s\n", path);
		sk_X509_free(certs);
		return NULL;
	}
	return certs;
}

static int
cmslimit_load(const struct cmslimit_options *o, struct cmslimit_inputs *in)
{
	char *error = NULL;
	BIO *bio;

	if (fs_read_file(o->content_path, CMSLIMIT_MAX_CONTENT, &in->content,
		&in->content_len, &error) < 0) {
		fprintf(stderr, "cmslimit: %s\n", error);
		free(error);
		return -1;
	}
	if (o->signer_cert_path != NULL) {
		STACK_OF(X509) *certs = cmslimit_read_certs(o->signer_cert_path);

		bio = BIO_new_file(o->signer_key_path, "r");
		in->signer_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		if (certs == NULL || in->signer_key == NULL) {
			fprintf(stderr, "cmslimit: reading the signer %s and %s failed\n",
			    o->signer_cert_path, o->signer_key_path);
			return -1;
		}
		in->signer_cert = sk_X509_shift(certs);
		sk_X509_pop_free(certs, X509_free);
		in->chain = o->chain_path ? cmslimit_read_certs(o->chain_path) : sk_X509_new_null();
		if (in->chain == NULL || cmslimit_key_preference(in) < 0)
			return -1;
	}
	if (o->recipients_path != NULL &&
	    (in->recipients = cmslimit_read_certs(o->recipients_path)) == NULL)
		return -1;
	return 0;
}

static int
cmslimit_compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
cmslimit_percentile(const double *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	return sorted[rank > 0 ? rank - 1 : 0];
}

/* Prints the results; cpu_seconds is the process's CPU time of the run. */
static void
cmslimit_report(struct cmslimit_worker *workers, unsigned count, double seconds,
    double cpu_seconds)
{
	size_t n = 0, k = 0;
	double *all;

	for (unsigned i = 0; i < count; i++)
		n += workers[i].count;
	all = xcalloc(n > 0 ? n : 1, sizeof(*all));
	for (unsigned i = 0; i < count; i++) {
		memcpy(all + k, workers[i].latencies, workers[i].count * sizeof(*all));
		k += workers[i].count;
	}
	qsort(all, n, sizeof(*all), cmslimit_compare_double);
	printf("{\"requests\": %zu, \"threads\": %u, \"seconds\": %.4f, \"rate\": %.2f, "
	    "\"p50_ms\": %.3f, \"p95_ms\": %.3f, \"p99_ms\": %.3f, \"cpu_seconds\": %.4f}\n",
	    n, count, seconds, seconds > 0 ? (double)n / seconds : 0.0,
	    cmslimit_percentile(all, n, 50), cmslimit_percentile(all, n, 95),
	    cmslimit_percentile(all, n, 99), cpu_seconds);
	free(all);
}

static void
cmslimit_usage(FILE *out)
{
	fprintf(out,
	    "Usage: cmslimit --content FILE [--signer-cert PEM --signer-key PEM\n"
	    "                [--chain PEM]] [--recipients PEM] [--threads N] [--seconds S]\n"
	    "Signs (with a signer) and encrypts (with recipients, every certificate of\n"
	    "the PEM file) the content in a loop on N threads (default 1) for S seconds\n"
	    "(default 5), with smimegw's default algorithms. Prints one JSON object:\n"
	    "requests, threads, seconds, rate (messages per second), p50_ms, p95_ms,\n"
	    "p99_ms and cpu_seconds (CPU time of the process during the run).\n");
}

static int
cmslimit_parse(int argc, char **argv, struct cmslimit_options *o)
{
	static const struct option longopts[] = {
		{ "content", required_argument, NULL, 'c' },
		{ "signer-cert", required_argument, NULL, 's' },
		{ "signer-key", required_argument, NULL, 'k' },
		{ "chain", required_argument, NULL, 'C' },
		{ "recipients", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->threads = 1;
	o->seconds = 5;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->content_path = optarg; break;
		case 's': o->signer_cert_path = optarg; break;
		case 'k': o->signer_key_path = optarg; break;
		case 'C': o->chain_path = optarg; break;
		case 'r': o->recipients_path = optarg; break;
		case 't': o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': o->seconds = strtod(optarg, NULL); break;
		case 'h': cmslimit_usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || o->content_path == NULL ||
	    (o->signer_cert_path == NULL) != (o->signer_key_path == NULL) ||
	    (o->signer_cert_path == NULL && o->recipients_path == NULL) ||
	    o->threads == 0 || o->threads > CMSLIMIT_MAX_THREADS || !(o->seconds > 0)) {
		fprintf(stderr, "cmslimit: --content, a signer (--signer-cert with "
		    "--signer-key) or --recipients or both, 1 to %d --threads and "
		    "--seconds above 0 are required\n", CMSLIMIT_MAX_THREADS);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cmslimit_options options = { 0 };
	struct cmslimit_inputs in = { 0 };
	struct cmslimit_worker *workers;
	double start, cpu_start;
	int status = 0;

	if (cmslimit_parse(argc, argv, &options) < 0) {
		cmslimit_usage(stderr);
		return 2;
	}
	if (cmslimit_load(&options, &in) < 0)
		return 2;
	/* One untimed message loads the algorithm implementations, as a
	 * running daemon has long done. */
	if (cmslimit_message(&in) < 0)
		return 1;

	workers = xcalloc(options.threads, sizeof(*workers));
	cpu_start = cmslimit_clock(CLOCK_PROCESS_CPUTIME_ID);
	start = cmslimit_now();
	in.deadline = start + options.seconds;
	for (unsigned i = 0; i < options.threads; i++) {
		workers[i].in = &in;
		if (pthread_create(&workers[i].thread, NULL, cmslimit_worker_main,
			&workers[i]) != 0) {
			fprintf(stderr, "cmslimit: pthread_create failed\n");
			return 2;
		}
	}
	for (unsigned i = 0; i < options.threads; i++)
		pthread_join(workers[i].thread, NULL);
	cmslimit_report(workers, options.threads, cmslimit_now() - start,
	    cmslimit_clock(CLOCK_PROCESS_CPUTIME_ID) - cpu_start);

	for (unsigned i = 0; i < options.threads; i++) {
		if (workers[i].failed)
			status = 1;
		free(workers[i].latencies);
	}
	free(workers);
	free(in.content);
	X509_free(in.signer_cert);
	EVP_PKEY_free(in.signer_key);
	sk_X509_pop_free(in.chain, X509_free);
	sk_X509_pop_free(in.recipients, X509_free);
	free(in.key_preference);
	return status;
}
