/* Verified chain cache: a revcache whose values are a verified chain and
 * the period in which the verdict is valid. */
#include "certs/chaincache.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "certs/revcache.h"
#include "certs/validate.h"
#include "util/hex.h"
#include "util/xmalloc.h"

struct chaincache {
	struct revcache *cache;		/* struct chaincache_verdict */
	EVP_MD *sha256;			/* fetched once, not per digest */
	int ttl;
	atomic_uint_least64_t hits;
	atomic_uint_least64_t misses;
};

/* A successful verification: the chain above the certificate, and the
 * period valid_from <= now < expires in which the verdict is valid. */
struct chaincache_verdict {
	STACK_OF(X509) *chain;
	time_t valid_from;
	time_t expires;
};

static void *
chaincache_verdict_dup(void *value)
{
	const struct chaincache_verdict *src = value;
	struct chaincache_verdict *copy = xmalloc(sizeof(*copy));

	*copy = *src;
	copy->chain = X509_chain_up_ref(src->chain);
	if (copy->chain == NULL)
		abort();
	return copy;
}

static void
chaincache_verdict_release(void *value)
{
	struct chaincache_verdict *v = value;

	sk_X509_pop_free(v->chain, X509_free);
	free(v);
}

struct chaincache *
chaincache_new(size_t max_entries, int ttl)
{
	static const struct revcache_value_ops ops = { chaincache_verdict_dup,
	    chaincache_verdict_release };
	struct chaincache *c = xcalloc(1, sizeof(*c));

	c->cache = revcache_new(max_entries, &ops);
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (c->sha256 == NULL)
		abort();
	c->ttl = ttl > 0 ? ttl : 0;
	atomic_init(&c->hits, 0);
	atomic_init(&c->misses, 0);
	return c;
}

void
chaincache_free(struct chaincache *c)
{
	if (c == NULL)
		return;
	revcache_free(c->cache);
	EVP_MD_free(c->sha256);
	free(c);
}

char *
chaincache_key(struct chaincache *c, X509 *cert, STACK_OF(X509) *untrusted)
{
	unsigned char leaf[EVP_MAX_MD_SIZE], set[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
	unsigned int leaf_len = 0, set_len = 0, md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *key = NULL;
	bool ok;

	if (ctx == NULL)
		abort();
	ok = X509_digest(cert, c->sha256, leaf, &leaf_len) == 1 &&
	    EVP_DigestInit_ex(ctx, c->sha256, NULL) == 1;
	for (int i = 0; ok && untrusted != NULL && i < sk_X509_num(untrusted); i++) {
		ok = X509_digest(sk_X509_value(untrusted, i), c->sha256, md, &md_len) == 1 &&
		    EVP_DigestUpdate(ctx, md, md_len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, set, &set_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return NULL;
	}

	key = xmalloc(2 * leaf_len + 1 + 2 * set_len + 1);
	char *end = hex_encode(key, leaf, leaf_len, false);
	*end++ = '/';
	hex_encode(end, set, set_len, false);
	return key;
}

enum chaincache_outcome
chaincache_get(struct chaincache *c, const char *key, time_t now,
    STACK_OF(X509) **chain_r)
{
	enum chaincache_outcome outcome = CHAINCACHE_VERIFY_ONLY;
	struct chaincache_verdict *v = NULL;
	char *error = NULL;
	void *value = NULL;

	if (c->ttl <= 0) {
		atomic_fetch_add(&c->misses, 1);
		return CHAINCACHE_VERIFY_ONLY;
	}

	/* After waiting for another thread, value may be an expired verdict
	 * or NULL, so the period is checked here and not only by revcache. */
	if (revcache_begin(c->cache, key, now, &value, &error) == REVCACHE_FETCH) {
		outcome = CHAINCACHE_VERIFY;
	} else if (value != NULL) {
		v = value;
		if (v->valid_from <= now && now < v->expires) {
			*chain_r = v->chain;
			v->chain = NULL;
			outcome = CHAINCACHE_HIT;
		}
	}
	if (value != NULL)
		chaincache_verdict_release(value);
	free(error);
	atomic_fetch_add(outcome == CHAINCACHE_HIT ? &c->hits : &c->misses, 1);
	return outcome;
}

/* Narrows v's period to the validity period of cert. Returns -1 when a
 * time of cert cannot be read. */
static int
chaincache_narrow(struct chaincache_verdict *v, X509 *cert)
{
	time_t not_before, not_after;

	if (cert_time_epoch(X509_get0_notBefore(cert), &not_before) < 0 ||
	    cert_time_epoch(X509_get0_notAfter(cert), &not_after) < 0)
		return -1;
	if (not_before > v->valid_from)
		v->valid_from = not_before;
	if (not_after < v->expires)
		v->expires = not_after;
	return 0;
}

void
chaincache_put(struct chaincache *c, const char *key, X509 *cert,
    STACK_OF(X509) *chain, time_t now)
{
	struct chaincache_verdict v = { chain, 0, now + c->ttl };
	bool keep = chain != NULL && chaincache_narrow(&v, cert) == 0;

	for (int i = 0; keep && i < sk_X509_num(chain); i++)
		keep = chaincache_narrow(&v, sk_X509_value(chain, i)) == 0;
	if (!keep) {
		revcache_finish(c->cache, key, NULL, 0, chain == NULL ?
		    "the chain verification failed" :
		    "a validity period of the chain cannot be read");
		return;
	}
	revcache_finish(c->cache, key, chaincache_verdict_dup(&v), v.expires, NULL);
}

void
chaincache_get_stats(struct chaincache *c, struct chaincache_stats *stats)
{
	struct revcache_stats rs;

	revcache_get_stats(c->cache, &rs);
	stats->hits = atomic_load(&c->hits);
	stats->misses = atomic_load(&c->misses);
	stats->entries = rs.entries;
}
