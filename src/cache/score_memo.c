/* The process's memo of per-history scores at request options
 * (score_memo.h): direct-mapped slots, each under one of STRIPES mutexes,
 * held only to copy a slot in or out; the numbers are computed outside. */
#include "cache/score_memo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "cache/scores_impl.h"

#define STRIPES 64

typedef struct slot {
    uint64_t serial; /* 0: empty (serials start at 1) */
    int64_t as_of_day;
    long horizon_days;
    double discount_rate;
    cache_history h; /* n_days, span, age: the rest of the key */
} slot;

static slot slots[CACHE_SCORE_MEMO_SLOTS];
static pthread_mutex_t stripes[STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t hits, misses;

/* The mutexes, and every page of the slots written once: a page's first
 * touch costs a fault (about 13 us each on this project's machines), and
 * the first page at a custom horizon touches most of the ~700 pages. */
static void stripes_init(void)
{
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL); /* default attributes: cannot fail */
    memset(slots, 0, sizeof slots);
}

void cache_score_memo_prepare(void)
{
    pthread_once(&stripes_once, stripes_init);
}

/* splitmix64's finalizer over h ^ v: every bit of the key reaches the slot */
static uint64_t mix(uint64_t h, uint64_t v)
{
    uint64_t z = h ^ v;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t slot_of(const cache_scores_spec *sp, uint32_t n_days, int32_t span,
                      int32_t age)
{
    uint64_t d;
    memcpy(&d, &sp->discount_rate, sizeof d);
    uint64_t h = mix(sp->model_version, (uint64_t)sp->as_of_day);
    h = mix(mix(h, (uint64_t)sp->horizon_days), d);
    h = mix(h, (uint64_t)n_days << 32 ^ (uint32_t)span);
    h = mix(h, (uint32_t)age);
    return (size_t)(h & (CACHE_SCORE_MEMO_SLOTS - 1));
}

/* The key: the snapshot (serial), the day, horizon_days and the discount,
 * and the history. The spec's other fields follow from these: horizon and
 * the CLV's months and month length from horizon_days and the snapshot's
 * period, p_horizon from the period; the margin is not used here. */
static bool same(const slot *e, const cache_scores_spec *sp, uint32_t n_days,
                 int32_t span, int32_t age)
{
    return e->serial == sp->model_version && e->as_of_day == sp->as_of_day &&
           e->horizon_days == sp->horizon_days &&
           memcmp(&e->discount_rate, &sp->discount_rate, sizeof e->discount_rate) == 0 &&
           e->h.n_days == n_days && e->h.span == span && e->h.age == age;
}

bool cache_score_memo_row(const cache_model *m, const cache_scores_spec *sp,
                          const cache_summary *s, cache_score_row *row)
{
    if (sp->as_of_day < s->first_day || sp->as_of_day < s->last_day ||
        sp->model_version == 0)
        return false;
    int32_t span = s->last_day - s->first_day,
            age = (int32_t)(sp->as_of_day - s->first_day);
    size_t i = slot_of(sp, s->n_days, span, age);
    pthread_once(&stripes_once, stripes_init);
    pthread_mutex_t *lock = &stripes[i % STRIPES];
    cache_history h;
    pthread_mutex_lock(lock);
    bool found = same(&slots[i], sp, s->n_days, span, age);
    if (found)
        h = slots[i].h;
    pthread_mutex_unlock(lock);
    if (!found) {
        cache_history_score(m, sp, s, &h);
        pthread_mutex_lock(lock);
        slots[i] = (slot){sp->model_version, sp->as_of_day, sp->horizon_days,
                          sp->discount_rate, h};
        pthread_mutex_unlock(lock);
    }
    atomic_fetch_add_explicit(found ? &hits : &misses, 1, memory_order_relaxed);
    cache_history_row(m, s, &h, row);
    return true;
}

void cache_score_memo_counts(uint64_t *h, uint64_t *m)
{
    *h = atomic_load(&hits);
    *m = atomic_load(&misses);
}
