/* Failed-login counting per client address, in a fixed-size table that a
 * mutex guards. */
#include "http/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

/* Long enough for any IPv6 address in text form (INET6_ADDRSTRLEN). */
#define RATELIMIT_ADDRESS_MAX 46

struct ratelimit_entry {
	char address[RATELIMIT_ADDRESS_MAX];
	time_t window_start;
	unsigned failures;
	bool used;
};

struct ratelimit {
	pthread_mutex_t lock;
	unsigned max_failures;
	time_t window;
	struct ratelimit_entry *entries;
	size_t entry_count;
};

struct ratelimit *
ratelimit_new(unsigned max_failures, unsigned window_seconds, size_t max_entries)
{
	struct ratelimit *limit = xcalloc(1, sizeof(*limit));

	pthread_mutex_init(&limit->lock, NULL);
	limit->max_failures = max_failures > 0 ? max_failures : 1;
	limit->window = window_seconds > 0 ? (time_t)window_seconds : 1;
	limit->entry_count = max_entries > 0 ? max_entries : 1;
	limit->entries = xcalloc(limit->entry_count, sizeof(*limit->entries));
	return limit;
}

void
ratelimit_free(struct ratelimit *limit)
{
	if (limit == NULL)
		return;
	pthread_mutex_destroy(&limit->lock);
	free(limit->entries);
	free(limit);
}

static bool
ratelimit_expired(const struct ratelimit *limit, const struct ratelimit_entry *e,
    time_t now)
{
	return now - e->window_start >= limit->window || now < e->window_start;
}

/* Returns the entry of address, or NULL. */
static struct ratelimit_entry *
ratelimit_find(struct ratelimit *limit, const char *address)
{
	for (size_t i = 0; i < limit->entry_count; i++) {
		struct ratelimit_entry *e = &limit->entries[i];

		if (e->used && strncmp(e->address, address, sizeof(e->address) - 1) == 0)
			return e;
	}
	return NULL;
}

/* Returns a free or expired entry, else the one whose window started
 * first. */
static struct ratelimit_entry *
ratelimit_slot(struct ratelimit *limit, time_t now)
{
	struct ratelimit_entry *oldest = &limit->entries[0];

	for (size_t i = 0; i < limit->entry_count; i++) {
		struct ratelimit_entry *e = &limit->entries[i];

		if (!e->used || ratelimit_expired(limit, e, now))
			return e;
		if (e->window_start < oldest->window_start)
			oldest = e;
	}
	return oldest;
}

unsigned
ratelimit_check(struct ratelimit *limit, const char *address, time_t now)
{
	struct ratelimit_entry *e;
	unsigned wait = 0;

	pthread_mutex_lock(&limit->lock);
	e = ratelimit_find(limit, address);
	if (e != NULL && !ratelimit_expired(limit, e, now) &&
	    e->failures >= limit->max_failures)
		wait = (unsigned)(e->window_start + limit->window - now);
	pthread_mutex_unlock(&limit->lock);
	return wait;
}

bool
ratelimit_fail(struct ratelimit *limit, const char *address, time_t now)
{
	struct ratelimit_entry *e;
	bool locked;

	pthread_mutex_lock(&limit->lock);
	e = ratelimit_find(limit, address);
	if (e == NULL) {
		e = ratelimit_slot(limit, now);
		e->used = true;
		snprintf(e->address, sizeof(e->address), "%s", address);
		e->window_start = now;
		e->failures = 0;
	} else if (ratelimit_expired(limit, e, now)) {
		e->window_start = now;
		e->failures = 0;
	}
	e->failures++;
	locked = e->failures == limit->max_failures;
	pthread_mutex_unlock(&limit->lock);
	return locked;
}
