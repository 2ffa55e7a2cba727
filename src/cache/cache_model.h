/* Internal to src/cache: the holder of the current model snapshot, owned by
 * the cache (cache.c creates and frees it; cache_model.c implements it). */
#ifndef LTVD_CACHE_CACHE_MODEL_H
#define LTVD_CACHE_CACHE_MODEL_H

#include "cache/cache.h"

typedef struct cache_snap_holder cache_snap_holder;

/* NULL when out of memory. */
cache_snap_holder *cache_snap_holder_new(void);

/* Drops the holder's reference to the current snapshot. NULL is fine. */
void cache_snap_holder_free(cache_snap_holder *h);

/* The holder of c (for cache_model.c). */
cache_snap_holder *cache_snap_holder_of(cache *c);

#endif
