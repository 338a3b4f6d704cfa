/* A hash table from strings to pointers, which grows as it fills. It is not
 * thread-safe: callers that share one hold their own lock. */
#ifndef SMIMEGW_STRMAP_H
#define SMIMEGW_STRMAP_H

#include <stdint.h>

struct strmap;

/* Returns the 64-bit FNV-1a hash of key, which other string-keyed tables
 * may use too. */
uint64_t strmap_hash(const char *key);

struct strmap *strmap_new(void);
/* Frees the table and its copies of the keys. free_value, unless NULL, is
 * called on every value. NULL is ignored. */
void strmap_free(struct strmap *map, void (*free_value)(void *value));

/* Returns the value of key, or NULL when key is not in the table. */
void *strmap_get(const struct strmap *map, const char *key);
/* Adds key (copied) with value. key must not be in the table yet. */
void strmap_add(struct strmap *map, const char *key, void *value);
/* Removes key and frees the table's copy of it. Returns the value that key
 * had, which the caller now owns, or NULL when key is not in the table. The
 * bucket count never shrinks. */
void *strmap_remove(struct strmap *map, const char *key);
/* Calls fn on every entry, in no particular order. fn must not change the
 * table. */
void strmap_foreach(const struct strmap *map,
    void (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
