/* Counting of failed logins per client address in fixed time windows: an
 * address that fails max_failures times within one window is locked until
 * that window ends. */
#ifndef SMIMEGW_HTTP_RATELIMIT_H
#define SMIMEGW_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct ratelimit;	/* thread-safe */

/* Returns a limiter that tracks at most max_entries addresses, allocating
 * entries as addresses fail. A new address takes the entry of an expired
 * window, else a new entry while there are fewer than max_entries, else
 * the entry whose window started first, so memory stays bounded however
 * many addresses fail. After the clock went back, the entry replaced may
 * be another one. Checks and failures take constant time on average,
 * whatever max_entries is. */
struct ratelimit *ratelimit_new(unsigned max_failures, unsigned window_seconds,
    size_t max_entries);
void ratelimit_free(struct ratelimit *limit);

/* Addresses are compared on their first 45 bytes, the length of the
 * longest IPv6 address in text form. */

/* Returns 0 when address may try to log in at time now, else the number of
 * seconds until its lock ends. */
unsigned ratelimit_check(struct ratelimit *limit, const char *address, time_t now);

/* Records a failed login of address at time now. Returns true when this
 * failure locked the address. */
bool ratelimit_fail(struct ratelimit *limit, const char *address, time_t now);

#endif
