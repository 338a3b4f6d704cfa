/* A bounded cache of revocation data (OCSP statuses, CRLs) shared by all
 * request threads. Only one thread at a time fetches a given key; the others
 * wait for its result instead of asking the same server again. */
#ifndef SMIMEGW_REVCACHE_H
#define SMIMEGW_REVCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* How the cache copies and releases its values: dup returns a new
 * reference (an up-ref or a copy) that the receiver frees with release. */
struct revcache_value_ops {
	void *(*dup)(void *value);
	void (*release)(void *value);
};

struct revcache;

/* Returns an empty cache of at most max_entries keys (at least 1). ops is
 * copied. */
struct revcache *revcache_new(size_t max_entries, const struct revcache_value_ops *ops);

/* Releases every value and frees c. No thread may be using it. */
void revcache_free(struct revcache *c);

enum revcache_outcome {
	/* The cache has the answer. *value_r is a new reference to the value,
	 * or NULL. It is fresh unless this thread waited for another thread's
	 * fetch: then it is what that fetch left, and when the fetch failed
	 * *error_r (allocated) is its error and *value_r the expired value or
	 * NULL. */
	REVCACHE_DONE,
	/* This thread must fetch key and then call revcache_finish, whatever
	 * happens. *value_r is a new reference to the expired value, or NULL. */
	REVCACHE_FETCH,
};

/* Looks key up at time now. A value is fresh while now < its expiry time.
 * When key has no fresh value and another thread is fetching it, waits
 * until that fetch ends and returns its result; otherwise assigns the fetch
 * to the calling thread. *value_r and *error_r are always set (possibly to
 * NULL). */
enum revcache_outcome revcache_begin(struct revcache *c, const char *key, time_t now,
    void **value_r, char **error_r);

/* Ends the fetch of key assigned by revcache_begin. value (taken over by the
 * cache) replaces the old value and stays fresh until expires; NULL keeps
 * the old value. error is passed to the threads that waited when value is
 * NULL. When the cache is full, the least recently used key that nobody is
 * fetching is dropped. */
void revcache_finish(struct revcache *c, const char *key, void *value, time_t expires,
    const char *error);

/* Drops the value of key, if any, so that the next revcache_begin fetches it. */
void revcache_forget(struct revcache *c, const char *key);

struct revcache_stats {
	uint64_t hits;		/* revcache_begin answered from a fresh value */
	uint64_t fetches;	/* fetches assigned to a thread */
	uint64_t waits;		/* revcache_begin calls that waited for another fetch */
	size_t entries;		/* keys held now */
};

void revcache_get_stats(struct revcache *c, struct revcache_stats *stats);

#endif
