/* The attribute dictionaries of a cache (see cache_dict.h). */
#include "cache/cache_dict.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ^ h >> 29;
}

/* The slot of name, or the empty one where it would go. */
static size_t probe(const cache_dict *d, const char *name)
{
    for (size_t s = hash_name(name) & d->mask;; s = (s + 1) & d->mask)
        if (d->slots[s] == 0 || strcmp(d->names[d->slots[s]], name) == 0)
            return s;
}

/* Doubles the table (load at most 1/2) and the name array as needed. */
static int grow(cache_dict *d)
{
    if (d->n >= d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        char **v = realloc(d->names, cap * sizeof *v);
        if (v == NULL)
            return -1;
        if (d->cap == 0)
            v[0] = NULL;
        d->names = v;
        d->cap = cap;
    }
    if (d->mask != 0 && d->n + 1 <= (d->mask + 1) / 2)
        return 0;
    size_t size = d->mask ? 2 * (d->mask + 1) : 32;
    uint32_t *s = calloc(size, sizeof *s);
    if (s == NULL)
        return -1;
    free(d->slots);
    d->slots = s;
    d->mask = size - 1;
    for (size_t i = 1; i < d->n; i++)
        d->slots[probe(d, d->names[i])] = (uint32_t)i;
    return 0;
}

long cache_dict_intern(cache_dict *d, const char *name)
{
    if (name == NULL)
        return CACHE_ATTR_NONE;
    if (d->mask != 0) {
        size_t s = probe(d, name);
        if (d->slots[s] != 0)
            return d->slots[s];
    }
    if (d->n == 0)
        d->n = 1; /* index 0: unknown */
    if (d->n >= CACHE_ATTR_OVERFLOW)
        return CACHE_ATTR_OVERFLOW;
    char *copy = strdup(name);
    if (copy == NULL || grow(d) != 0) {
        free(copy);
        return -1;
    }
    d->names[d->n] = copy;
    d->slots[probe(d, name)] = (uint32_t)d->n;
    return (long)d->n++;
}

const char *cache_dict_name(const cache_dict *d, uint32_t i)
{
    return i == CACHE_ATTR_NONE || i >= d->n ? NULL : d->names[i];
}

void cache_dict_free(cache_dict *d)
{
    for (size_t i = 1; i < d->n; i++)
        free(d->names[i]);
    free(d->names);
    free(d->slots);
    *d = (cache_dict){0};
}

size_t cache_dict_memory(const cache_dict *d)
{
    size_t b =
        d->cap * sizeof *d->names + (d->mask ? (d->mask + 1) * sizeof *d->slots : 0);
    for (size_t i = 1; i < d->n; i++)
        b += strlen(d->names[i]) + 1;
    return b;
}
