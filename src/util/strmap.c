/* String-keyed hash table with chaining; the bucket count doubles when the
 * entries outnumber the buckets. */
#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define STRMAP_INITIAL_BUCKETS 16

struct strmap_entry {
	char *key;
	void *value;
	struct strmap_entry *next;
};

struct strmap {
	struct strmap_entry **buckets;
	size_t bucket_count;	/* a power of two */
	size_t count;
};

uint64_t
strmap_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *map = xcalloc(1, sizeof(*map));

	map->bucket_count = STRMAP_INITIAL_BUCKETS;
	map->buckets = xcalloc(map->bucket_count, sizeof(*map->buckets));
	return map;
}

void
strmap_free(struct strmap *map, void (*free_value)(void *value))
{
	if (map == NULL)
		return;
	for (size_t b = 0; b < map->bucket_count; b++) {
		struct strmap_entry *e = map->buckets[b];

		while (e != NULL) {
			struct strmap_entry *next = e->next;

			if (free_value != NULL)
				free_value(e->value);
			free(e->key);
			free(e);
			e = next;
		}
	}
	free(map->buckets);
	free(map);
}

void *
strmap_get(const struct strmap *map, const char *key)
{
	struct strmap_entry *e;

	e = map->buckets[strmap_hash(key) & (map->bucket_count - 1)];
	for (; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

/* Doubles the bucket count and moves every entry to its new bucket. */
static void
strmap_grow(struct strmap *map)
{
	size_t count = map->bucket_count * 2;
	struct strmap_entry **buckets = xcalloc(count, sizeof(*buckets));

	for (size_t b = 0; b < map->bucket_count; b++) {
		struct strmap_entry *e = map->buckets[b];

		while (e != NULL) {
			struct strmap_entry *next = e->next;
			size_t slot = strmap_hash(e->key) & (count - 1);

			e->next = buckets[slot];
			buckets[slot] = e;
			e = next;
		}
	}
	free(map->buckets);
	map->buckets = buckets;
	map->bucket_count = count;
}

void
strmap_add(struct strmap *map, const char *key, void *value)
{
	struct strmap_entry *e = xmalloc(sizeof(*e));
	size_t slot;

	if (map->count >= map->bucket_count)
		strmap_grow(map);
	slot = strmap_hash(key) & (map->bucket_count - 1);
	e->key = xstrdup(key);
	e->value = value;
	e->next = map->buckets[slot];
	map->buckets[slot] = e;
	map->count++;
}

void *
strmap_remove(struct strmap *map, const char *key)
{
	struct strmap_entry **link, *e;
	void *value;

	link = &map->buckets[strmap_hash(key) & (map->bucket_count - 1)];
	while (*link != NULL && strcmp((*link)->key, key) != 0)
		link = &(*link)->next;
	if (*link == NULL)
		return NULL;

	e = *link;
	value = e->value;
	*link = e->next;
	free(e->key);
	free(e);
	map->count--;
	return value;
}

void
strmap_foreach(const struct strmap *map,
    void (*fn)(const char *key, void *value, void *arg), void *arg)
{
	for (size_t b = 0; b < map->bucket_count; b++) {
		for (struct strmap_entry *e = map->buckets[b]; e != NULL; e = e->next)
			fn(e->key, e->value, arg);
	}
}
