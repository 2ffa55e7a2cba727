/* Per-customer summaries from PostgreSQL, each an aggregate of the
 * customer's days (customer_days; the customers view): every customer
 * streamed for the cache rebuild at start-up, as of now or of a past day;
 * the customers changed since a moment (the cache catch-up); and a given set
 * of customers as of a day. Amounts are in STORE_AMOUNT_UNITS. */
#ifndef LTVD_STORE_CUSTOMERS_H
#define LTVD_STORE_CUSTOMERS_H

#include <stdint.h>

#include "store/db.h"
#include "store/ingest.h"

/* as_of_day meaning "every stored day". */
#define STORE_AS_OF_NOW INT64_MIN

/* Called once per customer; c and c->customer_id are valid only during the
 * call. Return 0 to go on, anything else to stop the stream. */
typedef int (*store_customer_cb)(const store_customer *c, void *arg);

/* Streams tenant's customers' summaries through a server-side cursor, in
 * batches (memory stays bounded whatever the number of customers), all from
 * one snapshot of the database; tenant NULL: every tenant's (as_of_day must
 * then be STORE_AS_OF_NOW). c->tenant_id says whose. With as_of_day =
 * STORE_AS_OF_NOW the rows come from customers; otherwise (a UTC day number)
 * only days <= as_of_day count and customers whose first day is later are
 * left out. No particular order.
 * Not retried (cb may have seen rows): on failure start over.
 * Returns 0 when every row was delivered, 1 when cb stopped the stream, -1 on
 * error (db->err set; cb may have seen some rows). */
int store_customers_stream(store_db *db, const char *tenant, int64_t as_of_day,
                           store_customer_cb cb, void *arg);

/* PostgreSQL's estimate of the number of customers (from the statistics of
 * customer_days: no scan), for a progress report; -1 when it has none (the
 * table never analyzed) or the query failed (db->err set; nothing else
 * changes). */
long long store_customers_estimate(store_db *db);

/* Longest text of store_customers_horizon. */
#define STORE_TIME_MAX 64

/* The transaction id below which every transaction (of any session or
 * role) has ended: the xmin of a fresh snapshot, as decimal text. Read it
 * before store_customers_changed: rows of lower ids are then visible to
 * that stream, and higher ones are caught by the next call with this value
 * as `since`. Returns 0 or -1. */
int store_customers_horizon(store_db *db, char out[STORE_TIME_MAX]);

/* Called once per customer (tenant and id valid during the call only).
 * Return 0 to go on, anything else to stop. */
typedef int (*store_id_cb)(const char *tenant_id, const char *customer_id, void *arg);

/* Delivers, once each, the customers with a row in transactions whose
 * ingested_xid (the PostgreSQL transaction that stored it) is at least since
 * (from store_customers_horizon) and none of skip_xids[0..n_skip) (the
 * writes the caller already knows of); customer_days changes only with such
 * a row. Returns 0, 1 when cb stopped, or -1 (db->err set). */
int store_customers_changed(store_db *db, const char *since, const uint64_t *skip_xids,
                            size_t n_skip, store_id_cb cb, void *arg);

/* Delivers the summaries of tenant's customers ids[0..n) as of as_of_day (a UTC
 * day number: only days <= as_of_day count; STORE_AS_OF_NOW: every stored
 * day), with their attributes (channel, campaign), one call of cb per customer
 * that has such a day, in no particular order; the others are left out.
 * Meant for the few customers of a batch or a request (one statement).
 * Returns 0, 1 when cb stopped, or -1 (db->err set). */
int store_customers_as_of(store_db *db, const char *tenant, const char *const *ids,
                          size_t n, int64_t as_of_day, store_customer_cb cb, void *arg);

#endif
