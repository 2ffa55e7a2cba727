/* `bench_service cache` and `rebuild`: the cache's memory per customer, and
 * the start-up rebuild of the cache from PostgreSQL. Both go through the
 * service's own code (cache_upsert one customer at a time, as the rebuild
 * does; app_open), so what is measured is what `ltvd serve` does. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "cache/cache.h"
#include "client.h"
#include "config/config.h"
#include "service.h"

/* A customer id of exactly 12 ("c" and 11 digits) or 36 bytes (a UUID's
 * textual form, from a hash of i). */
static void make_id(size_t i, size_t id_len, char out[40])
{
    if (id_len != 36) {
        snprintf(out, 40, "c%011zu", i);
        return;
    }
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15u + 0x632BE59BD9B4E019u;
    uint64_t g = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9u;
    snprintf(
        out, 40, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-a%03" PRIx64 "-%012" PRIx64,
        h >> 32, (h >> 16) & 0xffff, h & 0xfff, (g >> 52) & 0xfff, g & 0xffffffffffffu);
}

int service_cache(const service_opts *o)
{
    cache *c = cache_new(0); /* as app_open: grown while it fills */
    if (c == NULL)
        return 1;
    char id[40];
    double t0 = bench_now();
    for (size_t i = 0; i < o->n; i++) {
        int32_t first = 9862 + (int32_t)(i % 365), span = (int32_t)(i % 200);
        cache_summary s = {first,
                           first + span,
                           1 + (uint32_t)(i % 7) % (uint32_t)(span + 1),
                           (int64_t)(i % 1000) * 1000,
                           2500,
                           1 | (uint64_t)(i % 64) << 1};
        make_id(i, o->id_len, id);
        /* two customers of three with an acquisition channel and campaign */
        static const char *const channels[] = {"search", "social", "email", "partner"};
        char campaign[16];
        snprintf(campaign, sizeof campaign, "cmp-%zu", i % 500);
        cache_entry e = {.id = id,
                         .s = s,
                         .set_attrs = i % 3 != 0,
                         .channel = channels[i % 4],
                         .campaign = campaign};
        if (cache_upsert_many(c, &e, 1) != CACHE_OK) {
            fprintf(stderr, "cache: upsert %zu failed\n", i);
            cache_free(c);
            return 1;
        }
    }
    double secs = bench_now() - t0;
    size_t n = cache_count(c), bytes = cache_memory(c);
    printf("CACHE customers=%zu id_len=%zu bytes=%zu bytes_per_customer=%.1f "
           "upsert_s=%.3f\n",
           n, o->id_len == 36 ? (size_t)36 : (size_t)12, bytes,
           (double)bytes / (double)(n > 0 ? n : 1), secs);
    cache_free(c);
    return n == o->n ? 0 : 1;
}

int service_rebuild(const service_opts *o)
{
    (void)o;
    static ltvd_config cfg;
    char err[CONFIG_ERR_MAX];
    if (!config_load(&cfg, NULL, err)) {
        fprintf(stderr, "rebuild: %s\n", err);
        return 1;
    }
    const char *dir = getenv("LTVD_MIGRATIONS_DIR");
    double t0 = bench_now();
    app *a = app_open(&cfg, dir != NULL && dir[0] != '\0' ? dir : "migrations", err);
    double secs = bench_now() - t0;
    if (a == NULL) {
        fprintf(stderr, "rebuild: %s\n", err);
        return 1;
    }
    size_t n = cache_count(a->dflt->cache), bytes = cache_memory(a->dflt->cache);
    printf("REBUILD customers=%zu seconds=%.3f bytes_per_customer=%.1f pool=%ld\n", n,
           secs, (double)bytes / (double)(n > 0 ? n : 1), cfg.thread_pool_size);
    app_free(a);
    return 0;
}
