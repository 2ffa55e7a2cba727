/* Derived transaction ids: a hash of what a row says plus how often the file
 * said it before, counted in a small open-addressing table of hashes. */
#include "ingest/txn_key.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t ingest_fnv1a(uint64_t h, const void *s, size_t len)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot of key in keys[0..cap): where it is, or the empty one to take. */
static size_t find_slot(const uint64_t *keys, size_t cap, uint64_t key)
{
    size_t mask = cap - 1;
    /* the low bits of FNV-1a are well mixed; fold the high ones in anyway */
    size_t i = (size_t)(key ^ (key >> 32)) & mask;
    while (keys[i] != 0 && keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

/* Doubles the table (or creates it). Returns 0 or -1. */
static int grow(ingest_counter *c)
{
    size_t cap = c->cap ? 2 * c->cap : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *counts = calloc(cap, sizeof *counts);
    if (keys == NULL || counts == NULL) {
        free(keys);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (c->keys[i] == 0)
            continue;
        size_t j = find_slot(keys, cap, c->keys[i]);
        keys[j] = c->keys[i];
        counts[j] = c->counts[i];
    }
    free(c->keys);
    free(c->counts);
    c->keys = keys;
    c->counts = counts;
    c->cap = cap;
    return 0;
}

uint32_t ingest_counter_add(ingest_counter *c, uint64_t key)
{
    if (key == 0)
        key = 1;
    if (2 * (c->n + 1) > c->cap && grow(c) != 0)
        return 0;
    size_t i = find_slot(c->keys, c->cap, key);
    if (c->keys[i] == 0) {
        c->keys[i] = key;
        c->n++;
    }
    return ++c->counts[i];
}

void ingest_counter_free(ingest_counter *c)
{
    free(c->keys);
    free(c->counts);
    memset(c, 0, sizeof *c);
}

int ingest_derive_id(ingest_counter *c, const char *customer_id, int64_t occurred_at_s,
                     const char *amount, char out[INGEST_DERIVED_ID_MAX])
{
    char secs[24];
    int n = snprintf(secs, sizeof secs, "%" PRId64, occurred_at_s);
    /* the NULs separate the fields: ("a1", ...) and ("a", "1"...) differ */
    uint64_t h = ingest_fnv1a(INGEST_FNV_OFFSET, customer_id, strlen(customer_id) + 1);
    h = ingest_fnv1a(h, secs, (size_t)n + 1);
    h = ingest_fnv1a(h, amount, strlen(amount));
    uint32_t k = ingest_counter_add(c, h);
    if (k == 0)
        return -1;
    snprintf(out, INGEST_DERIVED_ID_MAX, "csv:%016" PRIx64 ":%" PRIu32, h, k);
    return 0;
}
