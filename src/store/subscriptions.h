/* Subscription events in PostgreSQL (migration 013): a validated batch is
 * checked against the stored events of its subscriptions and inserted in
 * one transaction, all or nothing, idempotent by (subscription_id, id); a
 * tenant's events are read back per subscription (start-up, catch-up); and
 * the per-tenant version that tells other processes to reload. */
#ifndef LTVD_STORE_SUBSCRIPTIONS_H
#define LTVD_STORE_SUBSCRIPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* One event. Strings are borrowed (valid UTF-8 without control
 * characters), event "start" | "renew" | "cancel", billing_period
 * "month" | "year", amount a decimal text >= 0 within numeric(18, 4). */
typedef struct store_sub_event {
    const char *subscription_id;
    const char *id; /* unique within its subscription */
    const char *customer_id;
    const char *event;
    int64_t occurred_at_s; /* UTC seconds since 1970 */
    const char *amount;
    const char *billing_period;
} store_sub_event;

/* Called inside the batch's transaction, the batch's subscriptions locked
 * (a transaction-scoped advisory lock each), with every event already
 * stored for them (strings valid during the call). Returns 0 when the batch
 * may be stored, 1 when it may not (the callback keeps its reasons), -1 when
 * out of memory. */
typedef int (*store_subs_check_fn)(void *arg, const store_sub_event *stored, size_t n);

typedef struct store_subs_result {
    size_t n_new;           /* events stored by this batch */
    bool refused;           /* the check said 1: nothing stored */
    int64_t version;        /* the tenant's version after the batch (0: unchanged) */
    int64_t version_before; /* and before it */
} store_subs_result;

/* Stores the events items[0..n) of tenant in one transaction: locks their
 * subscriptions, calls check with the stored events of those subscriptions,
 * and, when it says 0, inserts the events whose (subscription_id, id) is not
 * stored (the first of a repeat inside the batch wins: the check has made
 * sure repeats are equal) and counts the tenant's version up when any was
 * new. Serialization failures and deadlocks are retried (check is called
 * again). Returns 0 with *out filled (out->refused: nothing stored), or -1
 * with db->err set (a foreign-key violation, SQLSTATE 23503: the tenant is
 * gone). */
int store_subs_insert(store_db *db, const char *tenant, const store_sub_event *items,
                      size_t n, store_subs_check_fn check, void *arg,
                      store_subs_result *out);

/* One subscription as its stored events sum it up. Strings are valid
 * during the callback only. */
typedef struct store_sub_row {
    const char *subscription_id;
    const char *customer_id;
    const char *billing_period;
    bool has_start;
    int64_t start_s;
    int64_t renewals; /* renew events */
    bool cancelled;
    int64_t cancel_s;
    const char *amount;       /* of the latest start or renew ("0" when none) */
    int64_t last_s;           /* latest event */
    const char *start_amount; /* of the start ("0" when none) */
} store_sub_row;

typedef int (*store_sub_row_cb)(const store_sub_row *row, void *arg);

/* The tenant's subscriptions (one statement, one row per subscription: the
 * work grows with the events stored, the answer with the subscriptions),
 * each passed to cb (non-zero stops: returned as 1), and the tenant's
 * version into *version (0: no events ever stored), read in the same
 * snapshot. 0, 1, or -1 with db->err set. */
int store_subs_load(store_db *db, const char *tenant, store_sub_row_cb cb, void *arg,
                    int64_t *version);

/* Every tenant's version (one row per tenant with events), passed to cb.
 * 0, or -1 with db->err set. */
int store_subs_versions(store_db *db,
                        void (*cb)(const char *tenant, int64_t version, void *arg),
                        void *arg);

/* In the erasure's transaction, before store_subs_erase_sql: takes the
 * lock buckets of the customer's subscriptions, the ones a batch of events
 * takes (store_subs_write), so a batch that read a subscription's stored
 * start commits before the erasure's DELETE takes its snapshot (else its
 * renew was left with no start, red team) or reads after the erasure
 * (then its renew has no start: a 422). 0, or -1 with db->err set. */
int store_subs_lock_customer(store_db *db, const char *tenant, const char *customer_id);

/* The statement that deletes a customer's subscription events and counts
 * the tenant's version up (parameters: tenant, customer id), for the
 * erasure's transaction (store/tenants.c). */
extern const char store_subs_erase_sql[];

#endif
