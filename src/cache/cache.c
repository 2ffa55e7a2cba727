/* The customer table of the cache (see cache.h for the layout and locking). */
#define _GNU_SOURCE /* PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP */
#include "cache/cache.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_chunk.h"
#include "cache/cache_dict.h"
#include "cache/cache_model.h"

/* ids: NUL-terminated, never across a block, addressed by a 32-bit offset. */
#define BLOCK_BITS 20
#define BLOCK_SIZE ((size_t)1 << BLOCK_BITS)
#define MAX_BLOCKS ((size_t)1 << (32 - BLOCK_BITS))
#define MAX_RECORDS ((size_t)UINT32_MAX - 1)
#define CHUNK 2048 /* records copied per read lock in cache_foreach */
/* The change journal: the record indices of the last JOURNAL_CAP applied
 * entries, for the score table's ranks (cache_chunk.h). 1 MiB. */
#define JOURNAL_BITS 18
#define JOURNAL_CAP ((size_t)1 << JOURNAL_BITS)

/* One customer: 40 bytes. The last day and the number of purchase days
 * are kept in 16 bits each (as the span last - first and the count), which
 * holds 179 years of days: ids are stored from 1970 to the next day, so no
 * customer of the service comes near (summary_valid refuses the others). */
typedef struct rec {
    int32_t first_day;
    uint16_t span;   /* last_day - first_day */
    uint16_t n_days; /* distinct purchase days */
    uint32_t id_off;
    uint16_t channel;  /* index into channels */
    uint16_t campaign; /* index into campaigns */
    int64_t repeat_units;
    int64_t first_units;
    uint64_t month_bits;
} rec;
_Static_assert(sizeof(rec) == 40, "a record is 40 bytes");

/* The table. Fields marked (w) change only under the write lock; the writer
 * alone reads them without it. */
struct cache {
    pthread_rwlock_t lock;
    rec *recs;                /* (w) recs[0..n) */
    size_t n, cap;            /* (w) */
    uint64_t *slots;          /* (w) tag << 32 | (index + 1); 0 = empty */
    size_t mask;              /* (w) number of slots - 1 */
    char *blocks[MAX_BLOCKS]; /* a block is set before any id in it is published */
    atomic_size_t n_blocks;   /* set by the writer, read by cache_memory */
    size_t arena_used;        /* writer only: next free offset */
    cache_snap_holder *snap;
    atomic_uint_fast64_t generation; /* bumped by every applied batch */
    uint32_t *journal;               /* (w) ring of JOURNAL_CAP record indices */
    uint64_t journal_pos;            /* (w) entries ever appended */
    cache_dict channels, campaigns;  /* (w) the attributes' strings */
};

/* ------------------------------------------------------------- hashing */

static uint64_t hash_id(const char *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a 64-bit finalizer */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static const char *id_at(const cache *c, uint32_t off)
{
    return c->blocks[off >> BLOCK_BITS] + (off & (BLOCK_SIZE - 1));
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(const cache *c, const char *id, size_t len, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t s = h & c->mask;; s = (s + 1) & c->mask) {
        uint64_t v = c->slots[s];
        if (v == 0)
            return s;
        if ((uint32_t)(v >> 32) == tag) {
            const rec *r = &c->recs[(uint32_t)v - 1];
            if (memcmp(id_at(c, r->id_off), id, len + 1) == 0)
                return s;
        }
    }
}

/* Index of id's record, or -1. Caller holds a lock (or is the writer). */
static long long find(const cache *c, const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > CACHE_ID_MAX)
        return -1;
    uint64_t v = c->slots[probe(c, id, len, hash_id(id, len))];
    return v == 0 ? -1 : (long long)(uint32_t)v - 1;
}

/* ------------------------------------------------------------- lifecycle */

static int lock_init(pthread_rwlock_t *l)
{
    pthread_rwlockattr_t a;
    if (pthread_rwlockattr_init(&a) != 0)
        return -1;
    /* Readers are many and short: without writer preference a steady stream
     * of them could keep a batch out indefinitely. */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

cache *cache_new(size_t expected)
{
    cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cap = expected > 1024 ? expected : 1024;
    size_t slots = 16;
    while (slots / 4 * 3 < c->cap)
        slots <<= 1;
    c->recs = malloc(c->cap * sizeof *c->recs);
    c->slots = calloc(slots, sizeof *c->slots);
    c->mask = slots - 1;
    c->snap = cache_snap_holder_new();
    c->journal = malloc(JOURNAL_CAP * sizeof *c->journal);
    if (c->recs == NULL || c->slots == NULL || c->snap == NULL || c->journal == NULL ||
        lock_init(&c->lock) != 0) {
        cache_snap_holder_free(c->snap);
        free(c->journal);
        free(c->recs);
        free(c->slots);
        free(c);
        return NULL;
    }
    return c;
}

void cache_free(cache *c)
{
    if (c == NULL)
        return;
    cache_snap_holder_free(c->snap);
    pthread_rwlock_destroy(&c->lock);
    for (size_t i = 0; i < c->n_blocks; i++)
        free(c->blocks[i]);
    free(c->recs);
    free(c->slots);
    free(c->journal);
    cache_dict_free(&c->channels);
    cache_dict_free(&c->campaigns);
    free(c);
}

cache_snap_holder *cache_snap_holder_of(cache *c)
{
    return c->snap;
}

/* ------------------------------------------------------------- growing */

/* The writer builds bigger arrays while readers go on with the old ones
 * (nothing else mutates them), then swaps the pointers under the write lock
 * and frees the old arrays after it. */
static int grow_records(cache *c, size_t need)
{
    if (need <= c->cap)
        return CACHE_OK;
    size_t cap = c->cap + c->cap / 2;
    if (cap < need)
        cap = need;
    rec *r = malloc(cap * sizeof *r);
    if (r == NULL)
        return CACHE_ENOMEM;
    memcpy(r, c->recs, c->n * sizeof *r);
    pthread_rwlock_wrlock(&c->lock);
    rec *old = c->recs;
    c->recs = r;
    c->cap = cap;
    pthread_rwlock_unlock(&c->lock);
    free(old);
    return CACHE_OK;
}

/* Keeps the load factor at most 3/4. */
static int grow_slots(cache *c, size_t need)
{
    size_t n = c->mask + 1;
    if (need <= n / 4 * 3)
        return CACHE_OK;
    while (need > n / 4 * 3)
        n <<= 1;
    uint64_t *s = calloc(n, sizeof *s);
    if (s == NULL)
        return CACHE_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        const char *id = id_at(c, c->recs[i].id_off);
        uint64_t h = hash_id(id, strlen(id));
        size_t j = h & (n - 1);
        while (s[j] != 0)
            j = (j + 1) & (n - 1);
        s[j] = (h >> 32) << 32 | (uint64_t)(i + 1);
    }
    pthread_rwlock_wrlock(&c->lock);
    uint64_t *old = c->slots;
    c->slots = s;
    c->mask = n - 1;
    pthread_rwlock_unlock(&c->lock);
    free(old);
    return CACHE_OK;
}

/* Free bytes for ids, counting whole blocks allocated ahead. */
static size_t arena_free(const cache *c)
{
    return c->n_blocks * BLOCK_SIZE - c->arena_used;
}

/* Allocates blocks until `bytes` of ids fit wherever the block ends fall
 * (at most CACHE_ID_MAX + 1 bytes are lost at the end of each block, and
 * a batch can start anywhere in one). */
static int grow_arena(cache *c, size_t bytes)
{
    size_t waste = (bytes / (BLOCK_SIZE - CACHE_ID_MAX - 1) + 2) * (CACHE_ID_MAX + 1);
    while (arena_free(c) < bytes + waste) {
        if (c->n_blocks == MAX_BLOCKS)
            return CACHE_EFULL;
        char *b = malloc(BLOCK_SIZE);
        if (b == NULL)
            return CACHE_ENOMEM;
        c->blocks[c->n_blocks++] = b; /* not yet referenced by any record */
    }
    return CACHE_OK;
}

int cache_reserve(cache *c, size_t n, size_t id_bytes)
{
    if (n > MAX_RECORDS - c->n)
        return CACHE_EFULL;
    int rc = grow_records(c, c->n + n);
    if (rc == CACHE_OK)
        rc = grow_slots(c, c->n + n);
    if (rc == CACHE_OK)
        rc = grow_arena(c, id_bytes);
    return rc;
}

/* ------------------------------------------------------------- writing */

/* n_days 0 is a record whose first day's delta is still in flight (see
 * cache_summary_add_day): kept, but hidden from cache_get and cache_foreach.
 * The record keeps the span and the count in 16 bits (rec). */
static bool summary_valid(const cache_summary *s)
{
    return s->first_day <= s->last_day &&
           (int64_t)s->n_days - 1 <= (int64_t)s->last_day - s->first_day &&
           (int64_t)s->last_day - s->first_day <= UINT16_MAX && s->n_days <= UINT16_MAX &&
           s->repeat_units >= 0 && s->first_units >= 0;
}

static size_t id_len(const char *id)
{
    return id == NULL ? 0 : strnlen(id, CACHE_ID_MAX + 1);
}

/* Copies id into the arena (room was reserved). Writer only. */
static uint32_t arena_add(cache *c, const char *id, size_t len)
{
    size_t in_block = c->arena_used & (BLOCK_SIZE - 1);
    if (in_block + len + 1 > BLOCK_SIZE)
        c->arena_used += BLOCK_SIZE - in_block;
    uint32_t off = (uint32_t)c->arena_used;
    memcpy(c->blocks[off >> BLOCK_BITS] + (off & (BLOCK_SIZE - 1)), id, len + 1);
    c->arena_used += len + 1;
    return off;
}

/* Inserts or overwrites one record; the write lock is held and room
 * reserved, so it cannot fail. a: the attributes to set, or NULL to keep
 * the record's. */
static void apply(cache *c, const char *id, const cache_summary *s, const cache_attrs *a)
{
    size_t len = strlen(id);
    uint64_t h = hash_id(id, len);
    size_t slot = probe(c, id, len, h);
    rec *r;
    if (c->slots[slot] != 0) {
        r = &c->recs[(uint32_t)c->slots[slot] - 1];
    } else {
        r = &c->recs[c->n];
        r->id_off = arena_add(c, id, len);
        r->channel = CACHE_ATTR_NONE;
        r->campaign = CACHE_ATTR_NONE;
        c->slots[slot] = (h >> 32) << 32 | (uint64_t)(c->n + 1);
        c->n++;
    }
    r->first_day = s->first_day;
    r->span = (uint16_t)(s->last_day - s->first_day); /* summary_valid checked */
    r->n_days = (uint16_t)s->n_days;
    r->repeat_units = s->repeat_units;
    r->first_units = s->first_units;
    r->month_bits = s->month_bits;
    if (a != NULL) {
        r->channel = a->channel;
        r->campaign = a->campaign;
    }
    c->journal[c->journal_pos++ & (JOURNAL_CAP - 1)] = (uint32_t)(r - c->recs);
}

/* A valid attribute value: NULL (unknown), or 1..CACHE_ATTR_MAX bytes. */
static bool attr_valid(const char *v)
{
    return v == NULL ||
           (v[0] != '\0' && strnlen(v, CACHE_ATTR_MAX + 1) <= CACHE_ATTR_MAX);
}

/* The dictionary indices of channel and campaign (write lock held).
 * CACHE_OK or CACHE_ENOMEM (the dictionaries may have gained unused
 * strings: harmless). */
static int intern(cache *c, const char *channel, const char *campaign, cache_attrs *out)
{
    long ch = cache_dict_intern(&c->channels, channel);
    long ca = ch < 0 ? -1 : cache_dict_intern(&c->campaigns, campaign);
    if (ca < 0)
        return CACHE_ENOMEM;
    *out = (cache_attrs){(uint16_t)ch, (uint16_t)ca};
    return CACHE_OK;
}

int cache_upsert_many(cache *c, const cache_entry *e, size_t n)
{
    size_t bytes = 0, n_attrs = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = id_len(e[i].id);
        if (len == 0 || len > CACHE_ID_MAX || !summary_valid(&e[i].s) ||
            (e[i].set_attrs && (!attr_valid(e[i].channel) || !attr_valid(e[i].campaign))))
            return CACHE_EINVAL;
        bytes += len + 1;
        n_attrs += e[i].set_attrs;
    }
    if (n == 0)
        return CACHE_OK;
    int rc = cache_reserve(c, n, bytes);
    cache_attrs *a = n_attrs > 0 ? malloc(n * sizeof *a) : NULL;
    if (rc == CACHE_OK && n_attrs > 0 && a == NULL)
        rc = CACHE_ENOMEM;
    if (rc != CACHE_OK)
        goto cleanup;
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < n && rc == CACHE_OK; i++)
        if (e[i].set_attrs)
            rc = intern(c, e[i].channel, e[i].campaign, &a[i]);
    for (size_t i = 0; i < n && rc == CACHE_OK; i++)
        apply(c, e[i].id, &e[i].s, e[i].set_attrs ? &a[i] : NULL);
    if (rc == CACHE_OK)
        atomic_fetch_add(&c->generation, 1);
    pthread_rwlock_unlock(&c->lock);
cleanup:
    free(a);
    return rc;
}

int cache_upsert(cache *c, const char *id, const cache_summary *s)
{
    cache_entry e = {.id = id, .s = *s};
    return cache_upsert_many(c, &e, 1);
}

/* ------------------------------------------------------------- reading */

static void copy_out(const rec *r, cache_summary *out)
{
    *out = (cache_summary){r->first_day,   (int32_t)((int64_t)r->first_day + r->span),
                           r->n_days,      r->repeat_units,
                           r->first_units, r->month_bits};
}

int cache_get(cache *c, const char *id, cache_summary *out)
{
    bool found;
    cache_get_many(c, &id, 1, out, &found);
    return found && out->n_days > 0 ? CACHE_OK : CACHE_NOT_FOUND;
}

size_t cache_get_many(cache *c, const char *const *ids, size_t n, cache_summary *out,
                      bool *found)
{
    size_t hits = 0;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        long long k = ids[i] == NULL ? -1 : find(c, ids[i]);
        found[i] = k >= 0;
        if (k >= 0) {
            copy_out(&c->recs[k], &out[i]);
            hits++;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return hits;
}

size_t cache_count(cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = c->n;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

size_t cache_memory(cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t b = sizeof *c + c->cap * sizeof(rec) + (c->mask + 1) * sizeof(uint64_t) +
               JOURNAL_CAP * sizeof *c->journal + cache_dict_memory(&c->channels) +
               cache_dict_memory(&c->campaigns);
    pthread_rwlock_unlock(&c->lock);
    return b + atomic_load(&c->n_blocks) * BLOCK_SIZE;
}

/* Copies records [from, from + CHUNK) and their ids under one read lock.
 * Returns how many were copied (0 at the end). */
static size_t copy_chunk(cache *c, size_t from, cache_summary *s,
                         char (*ids)[CACHE_ID_MAX + 1])
{
    pthread_rwlock_rdlock(&c->lock);
    size_t k = 0;
    for (; k < CHUNK && from + k < c->n; k++) {
        const rec *r = &c->recs[from + k];
        copy_out(r, &s[k]);
        strcpy(ids[k], id_at(c, r->id_off));
    }
    pthread_rwlock_unlock(&c->lock);
    return k;
}

int cache_foreach(cache *c, cache_foreach_fn fn, void *arg)
{
    cache_summary *s = malloc(CHUNK * sizeof *s);
    char(*ids)[CACHE_ID_MAX + 1] = malloc(CHUNK * sizeof *ids);
    int rc = CACHE_ENOMEM;
    if (s == NULL || ids == NULL)
        goto cleanup;
    rc = 0;
    for (size_t from = 0, k; rc == 0 && (k = copy_chunk(c, from, s, ids)) > 0; from += k)
        for (size_t i = 0; i < k; i++)
            if (s[i].n_days > 0 && fn(ids[i], &s[i], arg) != 0) {
                rc = 1;
                break;
            }
cleanup:
    free(s);
    free(ids);
    return rc;
}

/* ------------------------------------------------------------- references */

uint64_t cache_generation(cache *c)
{
    return atomic_load(&c->generation);
}

size_t cache_chunk_refs(cache *c, size_t from, size_t max, cache_summary *s,
                        const char **ids)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t k = 0;
    for (; k < max && from + k < c->n; k++) {
        const rec *r = &c->recs[from + k];
        copy_out(r, &s[k]);
        ids[k] = id_at(c, r->id_off);
    }
    pthread_rwlock_unlock(&c->lock);
    return k;
}

size_t cache_records(cache *c, size_t from, size_t max, cache_summary *s,
                     const char **ids)
{
    return cache_chunk_refs(c, from, max, s, ids);
}

void cache_chunk_recs(cache *c, const uint32_t *idx, size_t n, cache_summary *s,
                      const char **ids)
{
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        if (idx[i] < c->n) {
            copy_out(&c->recs[idx[i]], &s[i]);
            ids[i] = id_at(c, c->recs[idx[i]].id_off);
        } else {
            s[i] = (cache_summary){0};
            ids[i] = NULL;
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

bool cache_chunk_rec(cache *c, size_t index, cache_summary *s, const char **id)
{
    pthread_rwlock_rdlock(&c->lock);
    bool ok = index < c->n;
    if (ok) {
        copy_out(&c->recs[index], s);
        *id = id_at(c, c->recs[index].id_off);
    }
    pthread_rwlock_unlock(&c->lock);
    return ok;
}

size_t cache_journal_cap(void)
{
    return JOURNAL_CAP;
}

uint64_t cache_journal_pos(cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t pos = c->journal_pos;
    pthread_rwlock_unlock(&c->lock);
    return pos;
}

long cache_journal_since(cache *c, uint64_t pos, uint32_t *out, size_t max)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t n = c->journal_pos - pos;
    long k = -1;
    if (pos <= c->journal_pos && n <= JOURNAL_CAP && n <= max) {
        for (uint64_t i = 0; i < n; i++)
            out[i] = c->journal[(pos + i) & (JOURNAL_CAP - 1)];
        k = (long)n;
    }
    pthread_rwlock_unlock(&c->lock);
    return k;
}

const char *cache_id_ref(cache *c, const char *id)
{
    pthread_rwlock_rdlock(&c->lock);
    long long k = find(c, id);
    const char *ref = k >= 0 ? id_at(c, c->recs[k].id_off) : NULL;
    pthread_rwlock_unlock(&c->lock);
    return ref;
}

/* ------------------------------------------------------------- attributes */

int cache_set_attrs(cache *c, const char *id, const char *channel, const char *campaign)
{
    if (!attr_valid(channel) || !attr_valid(campaign))
        return CACHE_EINVAL;
    pthread_rwlock_wrlock(&c->lock);
    long long k = id == NULL ? -1 : find(c, id);
    cache_attrs a;
    int rc = k < 0 ? CACHE_NOT_FOUND : intern(c, channel, campaign, &a);
    if (rc == CACHE_OK) {
        c->recs[k].channel = a.channel;
        c->recs[k].campaign = a.campaign;
        atomic_fetch_add(&c->generation, 1);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int cache_get_attrs(cache *c, const char *id, const char **channel, const char **campaign)
{
    pthread_rwlock_rdlock(&c->lock);
    long long k = id == NULL ? -1 : find(c, id);
    bool ok = k >= 0 && c->recs[k].n_days > 0;
    if (ok) {
        *channel = cache_dict_name(&c->channels, c->recs[k].channel);
        *campaign = cache_dict_name(&c->campaigns, c->recs[k].campaign);
    }
    pthread_rwlock_unlock(&c->lock);
    return ok ? CACHE_OK : CACHE_NOT_FOUND;
}

static size_t dict_names(cache *c, const cache_dict *d, const char **names, size_t max)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = d->n > 0 ? d->n : 1;
    for (size_t i = 0; i < n && i < max; i++)
        names[i] = cache_dict_name(d, (uint32_t)i);
    pthread_rwlock_unlock(&c->lock);
    return n;
}

size_t cache_channel_names(cache *c, const char **names, size_t max)
{
    return dict_names(c, &c->channels, names, max);
}

size_t cache_campaign_names(cache *c, const char **names, size_t max)
{
    return dict_names(c, &c->campaigns, names, max);
}

size_t cache_records_attrs(cache *c, size_t from, size_t max, cache_summary *s,
                           cache_attrs *a, const char **ids)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t k = 0;
    for (; k < max && from + k < c->n; k++) {
        const rec *r = &c->recs[from + k];
        copy_out(r, &s[k]);
        a[k] = (cache_attrs){r->channel, r->campaign};
        if (ids != NULL)
            ids[k] = id_at(c, r->id_off);
    }
    pthread_rwlock_unlock(&c->lock);
    return k;
}

void cache_chunk_attrs(cache *c, const uint32_t *idx, size_t n, cache_attrs *a)
{
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        a[i] = idx[i] < c->n
                   ? (cache_attrs){c->recs[idx[i]].channel, c->recs[idx[i]].campaign}
                   : (cache_attrs){0, 0};
    pthread_rwlock_unlock(&c->lock);
}
