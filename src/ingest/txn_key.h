/* Deterministic transaction ids for rows that come without one (`ltvd import`
 * of a CSV file without an id column): the same file always yields the same
 * ids, so importing it again adds nothing. No PostgreSQL, no HTTP. */
#ifndef LTVD_INGEST_TXN_KEY_H
#define LTVD_INGEST_TXN_KEY_H

#include <stddef.h>
#include <stdint.h>

/* "csv:" 16 hex digits ":" occurrence (at most 10 digits), NUL included. */
#define INGEST_DERIVED_ID_MAX 32

/* Counts occurrences of 64-bit keys (open addressing, load <= 1/2). The key
 * is a hash: two values with one hash share a count (at 1M distinct keys a
 * collision has a chance of about 3e-8; see ingest_derive_id for its effect). */
typedef struct ingest_counter {
    uint64_t *keys; /* 0: empty slot (key 0 is stored as 1) */
    uint32_t *counts;
    size_t cap; /* a power of two, or 0 */
    size_t n;   /* distinct keys */
} ingest_counter;

/* FNV-1a, 64 bits, of s[0..len) continuing from h (start with
 * INGEST_FNV_OFFSET). */
#define INGEST_FNV_OFFSET 14695981039346656037ULL
uint64_t ingest_fnv1a(uint64_t h, const void *s, size_t len);

/* Counts one more occurrence of key. Returns the count including this one
 * (1 the first time), or 0 when out of memory (nothing counted). */
uint32_t ingest_counter_add(ingest_counter *c, uint64_t key);

/* Frees the table and leaves c empty (reusable). */
void ingest_counter_free(ingest_counter *c);

/* The id of a row without one: "csv:" + FNV-1a 64 of (customer_id, occurred_at
 * in UTC seconds, amount in canonical decimal text) in hex + ":" + the
 * occurrence number of that triple so far (counted in c, from 1), e.g.
 * "csv:9f3a...:1". Two identical purchases in one file both stay (:1, :2);
 * the same file, even with its rows in another order, yields the same ids.
 * Writes out and returns 0, or -1 when out of memory. */
int ingest_derive_id(ingest_counter *c, const char *customer_id, int64_t occurred_at_s,
                     const char *amount, char out[INGEST_DERIVED_ID_MAX]);

#endif
