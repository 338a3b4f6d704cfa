/* Failed-login counting per client address: a strmap from addresses to
 * entries and a list of the entries in the order their windows started,
 * under one mutex. */
#include "http/ratelimit.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xmalloc.h"

/* Long enough for any IPv6 address in text form (INET6_ADDRSTRLEN). */
#define RATELIMIT_ADDRESS_MAX 46

struct ratelimit_entry {
	char address[RATELIMIT_ADDRESS_MAX];	/* the key, truncated */
	time_t window_start;
	unsigned failures;
	struct ratelimit_entry *prev, *next;	/* in the order windows started */
};

struct ratelimit {
	pthread_mutex_t lock;
	unsigned max_failures;
	time_t window;
	size_t max_entries;
	size_t entry_count;
	struct strmap *by_address;	/* address -> entry, which the list owns */
	struct ratelimit_entry *oldest, *newest;	/* ends of the list */
};

struct ratelimit *
ratelimit_new(unsigned max_failures, unsigned window_seconds, size_t max_entries)
{
	struct ratelimit *limit = xcalloc(1, sizeof(*limit));

	pthread_mutex_init(&limit->lock, NULL);
	limit->max_failures = max_failures > 0 ? max_failures : 1;
	limit->window = window_seconds > 0 ? (time_t)window_seconds : 1;
	limit->max_entries = max_entries > 0 ? max_entries : 1;
	limit->by_address = strmap_new();
	return limit;
}

void
ratelimit_free(struct ratelimit *limit)
{
	struct ratelimit_entry *e, *next;

	if (limit == NULL)
		return;
	for (e = limit->oldest; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	strmap_free(limit->by_address, NULL);
	pthread_mutex_destroy(&limit->lock);
	free(limit);
}

/* Copies the first RATELIMIT_ADDRESS_MAX - 1 bytes of address into key,
 * the part that identifies an address. */
static void
ratelimit_key(const char *address, char key[RATELIMIT_ADDRESS_MAX])
{
	size_t length = strnlen(address, RATELIMIT_ADDRESS_MAX - 1);

	memcpy(key, address, length);
	key[length] = '\0';
}

/* A window whose start is in the future counts as expired, so that a clock
 * set back cannot lock an address for longer than one window. */
static bool
ratelimit_expired(const struct ratelimit *limit, const struct ratelimit_entry *e,
    time_t now)
{
	return now - e->window_start >= limit->window || now < e->window_start;
}

static void
ratelimit_unlink(struct ratelimit *limit, struct ratelimit_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		limit->oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		limit->newest = e->prev;
	e->prev = e->next = NULL;
}

static void
ratelimit_append(struct ratelimit *limit, struct ratelimit_entry *e)
{
	e->prev = limit->newest;
	e->next = NULL;
	if (limit->newest != NULL)
		limit->newest->next = e;
	else
		limit->oldest = e;
	limit->newest = e;
}

/* Returns an expired entry, or NULL when there is none. The list is in the
 * order in which windows started, so while the clock runs forward, an
 * ended window is at its start. A window that starts in the future after
 * the clock went back is at its start or its end.
 * NOTE: after the clock goes back, the list is no longer sorted by window
 * start, so an expired entry in its middle can be missed and its first entry
 * may not be the oldest. Keeping it sorted would cost a walk of the list on
 * every failure until the clock catches up. */
static struct ratelimit_entry *
ratelimit_find_expired(struct ratelimit *limit, time_t now)
{
	if (limit->oldest != NULL && ratelimit_expired(limit, limit->oldest, now))
		return limit->oldest;
	if (limit->newest != NULL && ratelimit_expired(limit, limit->newest, now))
		return limit->newest;
	return NULL;
}

/* Returns an entry for a new address, unlinked and out of the map: an
 * expired one, else a new one while the table has room, else the one whose
 * window started first. */
static struct ratelimit_entry *
ratelimit_take_entry(struct ratelimit *limit, time_t now)
{
	struct ratelimit_entry *e = ratelimit_find_expired(limit, now);
	struct ratelimit_entry *removed;

	if (e == NULL && limit->entry_count < limit->max_entries) {
		limit->entry_count++;
		return xcalloc(1, sizeof(*e));
	}

	if (e == NULL)
		e = limit->oldest;
	removed = strmap_remove(limit->by_address, e->address);
	assert(removed == e);
	(void)removed;
	ratelimit_unlink(limit, e);
	return e;
}

unsigned
ratelimit_check(struct ratelimit *limit, const char *address, time_t now)
{
	char key[RATELIMIT_ADDRESS_MAX];
	struct ratelimit_entry *e;
	unsigned wait = 0;

	ratelimit_key(address, key);
	pthread_mutex_lock(&limit->lock);
	e = strmap_get(limit->by_address, key);
	if (e != NULL && !ratelimit_expired(limit, e, now) &&
	    e->failures >= limit->max_failures)
		wait = (unsigned)(e->window_start + limit->window - now);
	pthread_mutex_unlock(&limit->lock);
	return wait;
}

bool
ratelimit_fail(struct ratelimit *limit, const char *address, time_t now)
{
	char key[RATELIMIT_ADDRESS_MAX];
	struct ratelimit_entry *e;
	bool locked;

	ratelimit_key(address, key);
	pthread_mutex_lock(&limit->lock);
	e = strmap_get(limit->by_address, key);
	if (e == NULL) {
		e = ratelimit_take_entry(limit, now);
		memcpy(e->address, key, strlen(key) + 1);
		strmap_add(limit->by_address, e->address, e);
		e->window_start = now;
		e->failures = 0;
		ratelimit_append(limit, e);
	} else if (ratelimit_expired(limit, e, now)) {
		/* The window restarts, so the entry moves to the end. */
		ratelimit_unlink(limit, e);
		e->window_start = now;
		e->failures = 0;
		ratelimit_append(limit, e);
	}
	e->failures++;
	locked = e->failures == limit->max_failures;
	pthread_mutex_unlock(&limit->lock);
	return locked;
}
