/* libFuzzer target: the body of POST /v1/transactions (ingest_batch_parse),
 * with the contract of ingest/batch.h checked on every outcome: a valid
 * batch holds only valid items, a refused one says why, and nothing leaks.
 * And differentially: whatever the one-pass reader (batch_fast.c) accepts,
 * the jansson reader accepts too, with the same items. The input is the
 * body as received. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "ingest/batch.h"
#include "ingest/batch_fast.h"

/* 2026-01-01T00:00:00Z: occurred_at may be up to a day later. */
#define NOW 1767225600

static void check_item(const ingest_item *it, const ingest_limits *lim)
{
    char buf[128], amount[INGEST_AMOUNT_MAX];
    FUZZ_CHECK(it->id != NULL && it->customer_id != NULL);
    size_t idn = strlen(it->id), cn = strlen(it->customer_id);
    FUZZ_CHECK(idn >= 1 && idn <= lim->max_id_bytes);
    FUZZ_CHECK(cn >= 1 && cn <= lim->max_id_bytes);
    FUZZ_CHECK(ingest_check_id(it->id, idn, lim->max_id_bytes, buf, sizeof buf) == NULL);
    FUZZ_CHECK(ingest_check_id(it->customer_id, cn, lim->max_id_bytes, buf, sizeof buf) ==
               NULL);
    FUZZ_CHECK(it->occurred_at_s >= 0 && it->occurred_at_s <= NOW + 86400);
    FUZZ_CHECK(it->day == it->occurred_at_s / 86400);

    size_t an = strnlen(it->amount, sizeof it->amount);
    FUZZ_CHECK(an >= 1 && an < sizeof it->amount);
    FUZZ_CHECK(strspn(it->amount, "0123456789.") == an);
    char *end;
    double v = strtod(it->amount, &end);
    FUZZ_CHECK(*end == '\0' && isfinite(v) && v >= 0);
    /* the kept text is itself a valid amount, and kept as it is */
    FUZZ_CHECK(ingest_parse_amount(it->amount, an, amount) == NULL);
    FUZZ_CHECK(strcmp(amount, it->amount) == 0);

    /* the first-touch attributes: absent, or valid by the id rules */
    const char *attr[2] = {it->channel, it->campaign};
    for (int k = 0; k < 2; k++)
        FUZZ_CHECK(attr[k] == NULL ||
                   (strlen(attr[k]) >= 1 && strlen(attr[k]) <= INGEST_ATTR_BYTES &&
                    ingest_check_id(attr[k], strlen(attr[k]), INGEST_ATTR_BYTES, buf,
                                    sizeof buf) == NULL));

    store_item si;
    ingest_item_to_store(it, &si);
    FUZZ_CHECK(si.channel == it->channel && si.campaign == it->campaign);
}

/* The fast reader never accepts what the jansson one refuses, and agrees
 * with it item by item. */
static void check_fast(const uint8_t *data, size_t size, const ingest_limits *lim)
{
    ingest_batch fast, slow;
    ingest_errors e;
    int rc = ingest_batch_fast((const char *)data, size, lim, NOW, &fast);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    if (rc != 1) {
        FUZZ_CHECK(fast.n == 0 && fast.items == NULL);
        return;
    }
    ingest_result r = ingest_batch_parse_jansson((const char *)data, size, lim, NOW, &slow, &e);
    FUZZ_CHECK(r == INGEST_OK || r == INGEST_ENOMEM);
    if (r == INGEST_OK) {
        FUZZ_CHECK(slow.n == fast.n);
        for (size_t i = 0; i < fast.n; i++) {
            const ingest_item *a = &fast.items[i], *b = &slow.items[i];
            FUZZ_CHECK(strcmp(a->id, b->id) == 0);
            FUZZ_CHECK(strcmp(a->customer_id, b->customer_id) == 0);
            FUZZ_CHECK(a->occurred_at_s == b->occurred_at_s && a->day == b->day);
            FUZZ_CHECK(strcmp(a->amount, b->amount) == 0);
            /* the fast reader takes items of the four members only */
            FUZZ_CHECK(a->channel == NULL && a->campaign == NULL);
            FUZZ_CHECK(b->channel == NULL && b->campaign == NULL);
        }
    }
    ingest_batch_free(&fast);
    ingest_batch_free(&slow);
    ingest_errors_free(&e);
}

static void check_errors(const ingest_errors *e, ingest_result r, const ingest_limits *lim)
{
    FUZZ_CHECK(e->n >= 1 && e->n_total >= e->n);
    FUZZ_CHECK(lim->max_errors == 0 || e->n <= lim->max_errors);
    if (r == INGEST_MALFORMED || r == INGEST_TOO_MANY)
        FUZZ_CHECK(e->n == 1 && e->items[0].index == -1);
    for (size_t i = 0; i < e->n; i++) {
        FUZZ_CHECK(e->items[i].index >= -1);
        FUZZ_CHECK(e->items[i].reason != NULL && e->items[i].reason[0] != '\0');
        FUZZ_CHECK(e->items[i].field == NULL || strlen(e->items[i].field) < 1u << 20);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the limits vary with the input, so that both error-list policies and
     * short ids are exercised */
    ingest_limits lim = {.max_items = 64,
                         .max_id_bytes = size % 3 == 0 ? 8 : INGEST_ID_BYTES_DEFAULT,
                         .max_errors = size % 2 == 0 ? 4 : 0};
    ingest_batch b;
    ingest_errors e;
    ingest_result r = ingest_batch_parse((const char *)data, size, &lim, NOW, &b, &e);
    switch (r) {
    case INGEST_OK:
        FUZZ_CHECK(e.n == 0 && e.n_total == 0);
        FUZZ_CHECK(b.n >= 1 && b.n <= lim.max_items && b.items != NULL);
        for (size_t i = 0; i < b.n; i++)
            check_item(&b.items[i], &lim);
        break;
    case INGEST_INVALID:
    case INGEST_MALFORMED:
    case INGEST_TOO_MANY:
        FUZZ_CHECK(b.n == 0);
        check_errors(&e, r, &lim);
        break;
    case INGEST_ENOMEM:
        FUZZ_CHECK(b.n == 0 && e.n == 0);
        break;
    default:
        FUZZ_CHECK(!"unknown ingest_result");
    }
    ingest_batch_free(&b);
    ingest_errors_free(&e);
    check_fast(data, size, &lim);
    return 0;
}
