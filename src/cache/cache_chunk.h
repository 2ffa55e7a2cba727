/* Internal to src/cache: reading the customer table by record index with
 * references to the ids themselves, for the score table (scores.c). Ids
 * live in arena blocks that never move and records are never removed, so
 * an id reference stays valid, and its record index stays its own, for the
 * cache's lifetime. */
#ifndef LTVD_CACHE_CACHE_CHUNK_H
#define LTVD_CACHE_CACHE_CHUNK_H

#include "cache/cache.h"

/* Copies the summaries of records [from, from + max) into s and their id
 * references into ids, under one read lock. Records with n_days 0 are
 * included (the caller skips them). Returns how many (0 past the end). */
size_t cache_chunk_refs(cache *c, size_t from, size_t max, cache_summary *s,
                        const char **ids);

/* The summary and the id reference of record index. False past the end. */
bool cache_chunk_rec(cache *c, size_t index, cache_summary *s, const char **id);

#endif
