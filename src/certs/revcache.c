/* Revocation data cache: a strmap from keys to entries with a
 * least-recently-used list for eviction, one mutex, and a condition variable
 * for the threads that wait for a fetch in flight. */
#include "certs/revcache.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/strmap.h"
#include "util/xmalloc.h"

struct revcache_entry {
	char *key;		/* a copy of its own, since eviction cannot reach strmap's */
	void *value;		/* NULL until a fetch succeeds */
	time_t expires;
	bool fetching;
	unsigned waiters;
	uint64_t generation;	/* incremented when a fetch ends */
	char *error;		/* of the last fetch, when it failed */
	struct revcache_entry *lru_prev, *lru_next;	/* head: most recently used */
};

struct revcache {
	pthread_mutex_t lock;
	pthread_cond_t fetch_done;
	struct revcache_value_ops ops;
	size_t max_entries;
	struct strmap *by_key;	/* key -> entry, which the LRU list owns */
	struct revcache_entry *lru_head, *lru_tail;
	struct revcache_stats stats;
};

struct revcache *
revcache_new(size_t max_entries, const struct revcache_value_ops *ops)
{
	struct revcache *c = xcalloc(1, sizeof(*c));

	c->ops = *ops;
	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->by_key = strmap_new();
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->fetch_done, NULL);
	return c;
}

static void
revcache_entry_free(struct revcache *c, struct revcache_entry *e)
{
	if (e->value != NULL)
		c->ops.release(e->value);
	free(e->error);
	free(e->key);
	free(e);
}

void
revcache_free(struct revcache *c)
{
	struct revcache_entry *e, *next;

	if (c == NULL)
		return;
	for (e = c->lru_head; e != NULL; e = next) {
		next = e->lru_next;
		revcache_entry_free(c, e);
	}
	strmap_free(c->by_key, NULL);
	pthread_cond_destroy(&c->fetch_done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void
revcache_lru_unlink(struct revcache *c, struct revcache_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
revcache_lru_push(struct revcache *c, struct revcache_entry *e)
{
	e->lru_next = c->lru_head;
	if (c->lru_head != NULL)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (c->lru_tail == NULL)
		c->lru_tail = e;
}

static void
revcache_remove(struct revcache *c, struct revcache_entry *e)
{
	struct revcache_entry *removed = strmap_remove(c->by_key, e->key);

	assert(removed == e);
	(void)removed;
	revcache_lru_unlink(c, e);
	c->stats.entries--;
	revcache_entry_free(c, e);
}

/* Drops least recently used entries until there is room for one more.
 * Entries that a thread fetches or waits for stay, so the cache may exceed
 * its size while many different keys are fetched at once. */
static void
revcache_make_room(struct revcache *c)
{
	struct revcache_entry *e = c->lru_tail;

	while (c->stats.entries >= c->max_entries && e != NULL) {
		struct revcache_entry *prev = e->lru_prev;

		if (!e->fetching && e->waiters == 0)
			revcache_remove(c, e);
		e = prev;
	}
}

static struct revcache_entry *
revcache_insert(struct revcache *c, const char *key)
{
	struct revcache_entry *e = xcalloc(1, sizeof(*e));

	revcache_make_room(c);
	e->key = xstrdup(key);
	strmap_add(c->by_key, key, e);
	revcache_lru_push(c, e);
	c->stats.entries++;
	return e;
}

enum revcache_outcome
revcache_begin(struct revcache *c, const char *key, time_t now, void **value_r,
    char **error_r)
{
	struct revcache_entry *e;
	enum revcache_outcome outcome = REVCACHE_DONE;

	*value_r = NULL;
	*error_r = NULL;
	pthread_mutex_lock(&c->lock);
	e = strmap_get(c->by_key, key);
	if (e == NULL) {
		e = revcache_insert(c, key);
	} else {
		revcache_lru_unlink(c, e);
		revcache_lru_push(c, e);
	}

	if (e->value != NULL && now < e->expires) {
		c->stats.hits++;
		*value_r = c->ops.dup(e->value);
	} else if (e->fetching) {
		uint64_t generation = e->generation;

		c->stats.waits++;
		e->waiters++;
		while (e->fetching && e->generation == generation)
			pthread_cond_wait(&c->fetch_done, &c->lock);
		e->waiters--;
		if (e->value != NULL)
			*value_r = c->ops.dup(e->value);
		if (e->error != NULL)
			*error_r = xstrdup(e->error);
	} else {
		c->stats.fetches++;
		e->fetching = true;
		if (e->value != NULL)
			*value_r = c->ops.dup(e->value);
		outcome = REVCACHE_FETCH;
	}
	pthread_mutex_unlock(&c->lock);
	return outcome;
}

void
revcache_finish(struct revcache *c, const char *key, void *value, time_t expires,
    const char *error)
{
	struct revcache_entry *e;

	pthread_mutex_lock(&c->lock);
	e = strmap_get(c->by_key, key);
	if (e == NULL)
		e = revcache_insert(c, key);
	free(e->error);
	e->error = NULL;
	if (value != NULL) {
		if (e->value != NULL)
			c->ops.release(e->value);
		e->value = value;
		e->expires = expires;
	} else {
		e->error = xstrdup(error != NULL ? error : "the fetch failed");
	}
	e->fetching = false;
	e->generation++;
	pthread_cond_broadcast(&c->fetch_done);
	pthread_mutex_unlock(&c->lock);
}

void
revcache_forget(struct revcache *c, const char *key)
{
	struct revcache_entry *e;

	pthread_mutex_lock(&c->lock);
	e = strmap_get(c->by_key, key);
	if (e != NULL && !e->fetching && e->waiters == 0) {
		revcache_remove(c, e);
	} else if (e != NULL && e->value != NULL) {
		c->ops.release(e->value);
		e->value = NULL;
	}
	pthread_mutex_unlock(&c->lock);
}

void
revcache_get_stats(struct revcache *c, struct revcache_stats *stats)
{
	pthread_mutex_lock(&c->lock);
	*stats = c->stats;
	pthread_mutex_unlock(&c->lock);
}
