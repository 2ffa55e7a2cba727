/* libFuzzer target: the body of POST /v1/subscriptions (subs_batch_parse)
 * and the order rules (subs_check_order), with their contracts checked: a
 * valid batch holds only valid events; errors name items of the batch, at
 * most one each for the order rules; and a retried batch changes nothing:
 * once a batch passed with nothing stored, checking it again against its
 * own events as stored finds every event a duplicate and no error. The
 * first half of a valid batch is also tried as stored events for the
 * second. The input is the body as received. */
#include <string.h>

#include "fuzz.h"
#include "ingest/subs.h"

/* 2026-01-01T00:00:00Z: occurred_at may be up to a day later. */
#define NOW 1767225600

static void check_order_errors(const ingest_errors *e, size_t n_batch, int rc)
{
    FUZZ_CHECK((rc == 1) == (e->n_total > 0));
    FUZZ_CHECK(e->n_total <= n_batch); /* at most one error per item */
    for (size_t i = 0; i < e->n; i++)
        FUZZ_CHECK(e->items[i].index >= 0 && (size_t)e->items[i].index < n_batch);
}

/* Checks b (from) against its first n_stored events as stored. */
static void check_split(const subs_batch *b, size_t n_stored)
{
    store_sub_event *stored = calloc(n_stored + 1, sizeof *stored);
    bool *dup = calloc(b->n + 1, sizeof *dup);
    FUZZ_CHECK(stored != NULL && dup != NULL);
    for (size_t i = 0; i < n_stored; i++)
        subs_item_to_store(&b->items[i], &stored[i]);
    subs_batch rest = {b->items + n_stored, b->n - n_stored, 0};
    ingest_errors e = {0};
    int rc = subs_check_order(&rest, stored, n_stored, 0, &e, dup);
    FUZZ_CHECK(rc == 0 || rc == 1);
    check_order_errors(&e, rest.n, rc);
    ingest_errors_free(&e);
    free(stored);
    free(dup);
}

/* A batch that passes is a no-op the second time. */
static void check_retry(const subs_batch *b)
{
    bool *dup = calloc(b->n + 1, sizeof *dup);
    store_sub_event *stored = calloc(b->n + 1, sizeof *stored);
    FUZZ_CHECK(dup != NULL && stored != NULL);
    ingest_errors e = {0};
    int rc = subs_check_order(b, NULL, 0, 0, &e, dup);
    FUZZ_CHECK(rc == 0 || rc == 1);
    check_order_errors(&e, b->n, rc);
    if (rc == 0) {
        size_t n = 0;
        for (size_t i = 0; i < b->n; i++)
            if (!dup[i])
                subs_item_to_store(&b->items[i], &stored[n++]);
        ingest_errors_free(&e);
        rc = subs_check_order(b, stored, n, 0, &e, dup);
        FUZZ_CHECK(rc == 0 && e.n_total == 0);
        for (size_t i = 0; i < b->n; i++)
            FUZZ_CHECK(dup[i]);
    }
    ingest_errors_free(&e);
    free(dup);
    free(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_limits lim = {.max_items = 64,
                         .max_id_bytes = size % 3 == 0 ? 8 : INGEST_ID_BYTES_DEFAULT,
                         .max_errors = size % 2 == 0 ? 4 : 0};
    subs_batch b;
    ingest_errors e;
    ingest_result r = subs_batch_parse((const char *)data, size, &lim, NOW, &b, &e);
    if (r == INGEST_OK) {
        FUZZ_CHECK(e.n_total == 0 && b.n >= 1 && b.n <= lim.max_items);
        for (size_t i = 0; i < b.n; i++) {
            const subs_item *it = &b.items[i];
            char buf[128];
            FUZZ_CHECK(ingest_check_id(it->id, strlen(it->id), lim.max_id_bytes, buf,
                                       sizeof buf) == NULL);
            FUZZ_CHECK(subs_kind_name(it->event) != NULL &&
                       subs_period_name(it->period) != NULL);
            FUZZ_CHECK(it->occurred_at_s >= 0 && it->occurred_at_s <= NOW + 86400);
        }
        check_retry(&b);
        check_split(&b, b.n / 2);
    } else if (r != INGEST_ENOMEM) {
        FUZZ_CHECK(b.n == 0 && e.n >= 1 && e.n_total >= e.n);
        FUZZ_CHECK(lim.max_errors == 0 || e.n <= lim.max_errors);
    }
    subs_batch_free(&b);
    ingest_errors_free(&e);
    return 0;
}
