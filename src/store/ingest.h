/* Idempotent batch writes: a batch of validated transactions goes into
 * PostgreSQL in one transaction, together with the per-customer-day sums it
 * changes; what each customer's days gained comes back from the same
 * statement. */
#ifndef LTVD_STORE_INGEST_H
#define LTVD_STORE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* One validated transaction. Strings are borrowed, valid UTF-8 (the server
 * refuses other bytes, failing the whole batch). */
typedef struct store_item {
    const char *txn_id; /* the caller's id, unique per customer */
    const char *customer_id;
    const char *occurred_at; /* RFC 3339 text, or NULL to use occurred_at_s */
    int64_t occurred_at_s;   /* UTC seconds since 1970, when occurred_at is NULL */
    const char *amount;      /* decimal string >= 0, at most 14 digits before the point */
    /* The customer's first-touch attributes the item carries (NULL: none;
     * 1..128 bytes): stored when the customer has none yet. */
    const char *channel;
    const char *campaign;
} store_item;

/* Amounts leave the store as integers of 1/STORE_AMOUNT_UNITS of the
 * currency (the scale of transactions.amount, numeric(18, 4)), so sums are
 * exact and the same whichever order they are added in; past INT64_MAX they
 * saturate (STORE_SQL_UNITS). */
#define STORE_AMOUNT_UNITS 10000
#define STORE_SQL_UNITS(x) "LEAST((" x ") * 10000, 9223372036854775807)::bigint"
_Static_assert(STORE_AMOUNT_UNITS == 10000, "STORE_SQL_UNITS spells the scale out");

/* A customer's summary over all stored days ("as of now"). Days are UTC
 * calendar days counted from 1970-01-01, as in summary/summary.h. */
typedef struct store_customer {
    char *tenant_id;   /* owned by the containing stream (NULL elsewhere) */
    char *customer_id; /* owned by the containing result or stream */
    int64_t first_day;
    int64_t last_day;
    int64_t n_days;       /* distinct purchase days: x = n_days - 1 */
    int64_t repeat_units; /* total of the amounts on days after first_day */
    int64_t first_units;  /* total of the amounts on first_day */
    /* Bit k: a purchase in calendar month month(first_day) + k (k < 64). */
    uint64_t month_bits;
    /* The acquisition attributes (customer_attributes; NULL: none), owned
     * like customer_id; filled by the streams and the checkpoints only. */
    char *channel;
    char *campaign;
} store_customer;

/* A customer's acquisition attributes as stored (strings borrowed from
 * the result that holds them; NULL: unknown). */
typedef struct store_attr_row {
    const char *tenant_id; /* NULL where the tenant is implied */
    const char *customer_id;
    const char *channel;
    const char *campaign;
} store_attr_row;

/* What a batch added to one customer's day. */
typedef struct store_day_delta {
    const char *customer_id; /* points into the store_batch_result */
    int64_t day;
    bool new_day;  /* no purchase of the customer was stored on this day before */
    int64_t units; /* amount added to the day (STORE_AMOUNT_UNITS) */
    int64_t n;     /* transactions added to the day */
} store_day_delta;

typedef struct store_batch_result {
    size_t n_new;          /* items stored by this batch */
    size_t n_duplicate;    /* items already stored, or repeated inside the batch */
    uint64_t xid;          /* the PostgreSQL transaction that stored them (0: none new) */
    store_day_delta *days; /* the (customer, day)s the new items fell on, in
                              customer_id byte order, then day */
    size_t n_days;
    void *res;   /* the PGresult days[].customer_id point into, or */
    char *arena; /* the copies they point into */
    /* The first-touch attributes this batch stored (customers who had
     * none): the cache learns them with the deltas. */
    store_attr_row *attrs;
    size_t n_attrs;
    void *attrs_res; /* the PGresult they point into */
} store_batch_result;

/* How the batch is written (all give the same result). */
typedef enum store_ingest_method {
    STORE_INGEST_COPY = 0, /* new batches by COPY straight into transactions
                              (direct.c), others staged by COPY */
    STORE_INGEST_INSERT,   /* staged by one multi-row INSERT with parameters */
} store_ingest_method;

/* Which days of the customers ids[0..n) may be stored already, as far as
 * the caller knows (the service's cache): lo[i]..hi[i] (lo > hi: none).
 * Days outside are taken for new without asking PostgreSQL; a wrong answer
 * costs a fallback to the staged path, never a wrong result. */
typedef void (*store_days_hint_fn)(void *arg, const char *const *ids, size_t n,
                                   int64_t *lo, int64_t *hi);

/* Options of store_insert_batch; NULL for none. */
typedef struct store_batch_opts {
    const char *tenant; /* whose items (NULL: STORE_TENANT_DEFAULT) */
    /* Taken for reading before COMMIT (store_db_transaction_gated): on
     * success the caller holds it and must release it. */
    pthread_rwlock_t *commit_gate;
    store_days_hint_fn days_hint;
    void *days_hint_arg;
} store_batch_opts;

/* Stores items[0..n) in one transaction: each (customer_id, txn_id) not yet
 * stored is inserted (the first occurrence wins when one repeats inside the
 * batch), the others count as duplicates; customer_days is updated for the
 * new ones in the same transaction, and what each (customer, day) gained is
 * returned: exact deltas, each counted once however batches interleave
 * (customer_days' unique key orders them), which a cache can add up in any
 * order. Concurrent batches with the same items, on other connections,
 * store each item once. Serialization failures, deadlocks and a connection
 * broken before COMMIT are retried. Returns 0 with *out filled (free with
 * store_batch_result_free), or -1 with db->err set and nothing stored (or,
 * when the connection broke during COMMIT, an unknown outcome: resend). */
int store_insert_batch(store_db *db, const store_item *items, size_t n,
                       const store_batch_opts *opts, store_batch_result *out);

/* store_insert_batch with a chosen method (for the bench and tests). */
int store_insert_batch_via(store_db *db, const store_item *items, size_t n,
                           store_ingest_method method, const store_batch_opts *opts,
                           store_batch_result *out);

void store_batch_result_free(store_batch_result *r);

#endif
