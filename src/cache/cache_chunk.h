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

/* The summaries and id references of records idx[0..n), under one read
 * lock. An index past the table's end gives ids[i] NULL and an all-zero
 * s[i]. */
void cache_chunk_recs(cache *c, const uint32_t *idx, size_t n, cache_summary *s,
                      const char **ids);

/* The attributes of records idx[0..n), under one read lock (all zero past
 * the table's end). */
void cache_chunk_attrs(cache *c, const uint32_t *idx, size_t n, cache_attrs *a);

/* The summary and the id reference of record index. False past the end. */
bool cache_chunk_rec(cache *c, size_t index, cache_summary *s, const char **id);

/* The change journal: every entry applied to the table appends its record
 * index. cache_journal_pos is how many were ever appended (take it before
 * reading records: whatever changes afterwards is in the journal from it). */
uint64_t cache_journal_pos(cache *c);

/* Copies the record indices appended since position pos into out, oldest
 * first (a record may repeat). Returns how many, or -1 when the journal no
 * longer holds them all (it keeps the last 2^18) or there are more than
 * max. */
long cache_journal_since(cache *c, uint64_t pos, uint32_t *out, size_t max);

/* The journal's capacity (entries). */
size_t cache_journal_cap(void);

#endif
