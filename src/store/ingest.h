/* Idempotent batch writes: a batch of validated transactions goes into
 * PostgreSQL in one transaction, together with the per-customer-day sums it
 * changes; the batch's customers' summaries are read back after COMMIT. */
#ifndef LTVD_STORE_INGEST_H
#define LTVD_STORE_INGEST_H

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
} store_item;

/* A customer's summary over all stored days ("as of now"). Days are UTC
 * calendar days counted from 1970-01-01, as in summary/summary.h. */
typedef struct store_customer {
    char *customer_id; /* owned by the containing result or stream */
    int64_t first_day;
    int64_t last_day;
    int64_t n_days;       /* distinct purchase days: x = n_days - 1 */
    double repeat_amount; /* total of the amounts on days after first_day */
} store_customer;

typedef struct store_batch_result {
    size_t n_new;              /* items stored by this batch */
    size_t n_duplicate;        /* items already stored, or repeated inside the batch */
    store_customer *customers; /* every customer of the batch, after commit */
    size_t n_customers;
} store_batch_result;

/* How the batch reaches the staging table (both give the same result). */
typedef enum store_ingest_method {
    STORE_INGEST_COPY = 0, /* COPY FROM STDIN (faster: see the numbers in ingest.c) */
    STORE_INGEST_INSERT,   /* one multi-row INSERT with parameters */
} store_ingest_method;

/* Stores items[0..n) in one transaction: each (customer_id, txn_id) not yet
 * stored is inserted (the first occurrence wins when one repeats inside the
 * batch), the others count as duplicates; customer_days is
 * updated for the new ones in the same transaction. Concurrent batches with
 * the same items, on other connections, store each item once. Serialization
 * failures, deadlocks and a connection broken before COMMIT are retried.
 * Returns 0 with *out filled (free with store_batch_result_free; the
 * customers are those of the batch with their committed summaries, in
 * customer_id byte order, read after COMMIT), or -1 with db->err set and
 * nothing stored (or, when the connection broke during COMMIT or before the
 * summaries were read, an unknown outcome or a stored batch: resend it). */
int store_insert_batch(store_db *db, const store_item *items, size_t n,
                       store_batch_result *out);

/* store_insert_batch with a chosen staging method (for the bench and tests). */
int store_insert_batch_via(store_db *db, const store_item *items, size_t n,
                           store_ingest_method method, store_batch_result *out);

void store_batch_result_free(store_batch_result *r);

#endif
