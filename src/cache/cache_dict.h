/* Internal to src/cache: a dictionary of short strings (the acquisition
 * channels, or the campaigns, of one cache), each given a small index
 * once and kept for the cache's lifetime, so a customer's record holds two
 * bytes instead of the string. Index CACHE_ATTR_NONE (0) is "unknown" and
 * has no string; CACHE_ATTR_OVERFLOW stands for every string past the
 * dictionary's capacity. Adding is done under the cache's write lock (it
 * is rare: a string never seen before), reading under its read lock;
 * names never move once added. */
#ifndef LTVD_CACHE_CACHE_DICT_H
#define LTVD_CACHE_CACHE_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct cache_dict {
    char **names;    /* names[1..n): the strings (names[0] is NULL) */
    size_t n, cap;   /* n counts index 0 */
    uint32_t *slots; /* open addressing over indices, 0 = empty */
    size_t mask;     /* slots - 1 (0: no table yet) */
} cache_dict;

/* The index of name in d, adding it when new: CACHE_ATTR_NONE for NULL,
 * CACHE_ATTR_OVERFLOW when the dictionary is full, -1 when out of memory
 * (d unchanged). Under the cache's write lock. */
long cache_dict_intern(cache_dict *d, const char *name);

/* The name of index i, or NULL (CACHE_ATTR_NONE, CACHE_ATTR_OVERFLOW, past
 * the end). Under either lock. */
const char *cache_dict_name(const cache_dict *d, uint32_t i);

/* Frees the names and the table (d itself is the caller's). */
void cache_dict_free(cache_dict *d);

/* Bytes held. */
size_t cache_dict_memory(const cache_dict *d);

#endif
