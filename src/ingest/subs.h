/* Subscription events as POST /v1/subscriptions and `ltvd import
 * --subscriptions` send them, parsed and validated: no HTTP, no PostgreSQL.
 * Two stages, both all or nothing with every error listed (index, field,
 * reason, as ingest/batch.h): the items alone (subs_batch_parse,
 * subs_batch_add_row), then their order against the events already stored
 * for their subscriptions (subs_check_order, run by the store inside the
 * batch's transaction). */
#ifndef LTVD_INGEST_SUBS_H
#define LTVD_INGEST_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/batch.h"
#include "store/subscriptions.h"

typedef enum subs_kind { SUBS_START = 0, SUBS_RENEW, SUBS_CANCEL } subs_kind;
typedef enum subs_period { SUBS_MONTH = 0, SUBS_YEAR } subs_period;

/* One valid event; strings owned by the batch. */
typedef struct subs_item {
    char *id; /* unique within its subscription */
    char *customer_id;
    char *subscription_id;
    subs_kind event;
    int64_t occurred_at_s;
    char amount[INGEST_AMOUNT_MAX]; /* decimal text >= 0 (ingest_parse_amount) */
    subs_period period;
} subs_item;

typedef struct subs_batch {
    subs_item *items;
    size_t n, cap;
} subs_batch;

const char *subs_kind_name(subs_kind k);
const char *subs_period_name(subs_period p);
bool subs_kind_parse(const char *s, subs_kind *out);
bool subs_period_parse(const char *s, subs_period *out);

/* Parses body[0..len) as {"items": [item, ...]} with each item
 * {"id", "customer_id", "subscription_id", "event", "occurred_at",
 * "amount", "billing_period"} and nothing else: ids as ingest_check_id
 * (1..lim->max_id_bytes bytes), event start|renew|cancel, occurred_at as
 * ingest_parse_time (RFC 3339, 1970 .. now + 1 day), amount a JSON number
 * (read with 15 significant digits) or a decimal string, >= 0 within
 * numeric(18, 4) (ingest_parse_amount: NaN, Infinity, negatives refused),
 * billing_period month|year. Results as ingest_batch_parse's: INGEST_OK with
 * every item, or INVALID (every error, 422), MALFORMED (400), TOO_MANY
 * (more than lim->max_items, 413), ENOMEM. *out and *errs are overwritten
 * and can always be freed. */
ingest_result subs_batch_parse(const char *body, size_t len, const ingest_limits *lim,
                               int64_t now, subs_batch *out, ingest_errors *errs)
    __attribute__((warn_unused_result));

/* The columns of a CSV row, in this order (the header names). */
#define SUBS_N_COLUMNS 7
extern const char *const subs_columns[SUBS_N_COLUMNS];

/* Validates one row's fields (text, NUL-terminated, in subs_columns order)
 * by the rules of subs_batch_parse, appending the event to b, or its
 * errors (with index) to errs. Returns 0, or -1 when out of memory. */
int subs_batch_add_row(subs_batch *b, const char *const fields[SUBS_N_COLUMNS],
                       long index, int64_t now, const ingest_limits *lim,
                       ingest_errors *errs);

/* The order rules, over the events of each subscription (stored[0..n) and
 * the batch's) sorted by time (start before renew before cancel at the
 * same second):
 *  - an (subscription_id, id) already stored, or repeated in the batch, is
 *    a duplicate when every field is equal (dup[i] set: not stored again),
 *    else an error;
 *  - one start per subscription; a renew or cancel needs a start, and may
 *    not come before it; nothing comes after a cancel (a second cancel
 *    neither); all events of a subscription have its customer_id and
 *    billing_period.
 * Errors are the batch's items only (index = position in b), at most one
 * per item, appended to errs (max_errors as ingest_limits). Returns 0 when
 * the batch may be stored, 1 when not, -1 when out of memory. dup has room
 * for b->n flags. */
int subs_check_order(const subs_batch *b, const store_sub_event *stored, size_t n_stored,
                     size_t max_errors, ingest_errors *errs, bool *dup);

/* subs_check_order as the store's check (store_subs_check_fn): arg is a
 * subs_check_ctx; errs is emptied first (a retried transaction calls it
 * again). */
typedef struct subs_check_ctx {
    const subs_batch *b;
    size_t max_errors;
    ingest_errors *errs;
    bool *dup; /* b->n flags */
} subs_check_ctx;
int subs_store_check(void *arg, const store_sub_event *stored, size_t n);

/* A store event borrowing b's strings. */
void subs_item_to_store(const subs_item *in, store_sub_event *out);

void subs_batch_free(subs_batch *b);

#endif
