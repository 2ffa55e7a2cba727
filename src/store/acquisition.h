/* Acquisition inputs (issue 11, part A; migration 012): customers'
 * first-touch attributes (acquisition channel and campaign) and the spend
 * per channel and month. Every statement is filtered by the tenant. */
#ifndef LTVD_STORE_ACQUISITION_H
#define LTVD_STORE_ACQUISITION_H

#include <stdint.h>

#include "store/db.h"
#include "store/ingest.h"

/* Inside a batch's transaction (store/ingest.c): for each customer of
 * items[0..n) without attributes yet, stores those of its first item (in
 * batch order) that carries any (INSERT ... ON CONFLICT DO NOTHING: the
 * first writer wins, across batches and processes). out->attrs gets the
 * rows stored. Returns 0 or -1 (db->err; the transaction fails). */
int store_attrs_first_touch(store_db *db, const char *tenant, const store_item *items,
                            size_t n, store_batch_result *out);

/* Replaces the attributes of tenant's customer (NULL: unknown) in one
 * transaction. Returns 0 when stored, 1 when the customer has no stored
 * transaction (nothing stored), -1 (db->err). */
int store_attrs_put(store_db *db, const char *tenant, const char *customer,
                    const char *channel, const char *campaign);

/* Called once per row (strings valid during the call only). Return 0 to
 * go on, anything else to stop. */
typedef int (*store_attr_cb)(const store_attr_row *r, void *arg);

/* Delivers every tenant's attribute rows written by PostgreSQL
 * transactions whose id is at least since (store_customers_horizon's
 * text): the cache catch-up of writes by other processes. Returns 0, 1
 * when cb stopped, -1 (db->err). */
int store_attrs_changed(store_db *db, const char *since, store_attr_cb cb, void *arg);

/* One month of a channel's acquisition spend. */
typedef struct store_spend {
    const char *channel; /* 1..128 bytes */
    int64_t month;       /* year * 12 + month - 1 (base/month.h's count) */
    const char *spend;   /* decimal text >= 0, at most 14 digits before the point */
    int64_t leads;       /* -1: not given */
} store_spend;

/* Most rows of one store_spend_put. */
#define STORE_SPEND_MAX 1000

/* Stores s[0..n) (n <= STORE_SPEND_MAX; each (channel, month) once) for
 * tenant in one transaction, replacing the rows of the same (channel,
 * month). A channel must be known: declared[i] true (the caller's list of
 * declared channels has it), or, in the same transaction, a customer of
 * the tenant has it as acquisition_channel or the tenant has spend rows of
 * it. declared may be NULL (none declared). Returns 0; 1 when some channel
 * is unknown (unknown[i] set for each such item, the rest false; nothing
 * stored); -1 (db->err; nothing stored). */
int store_spend_put(store_db *db, const char *tenant, const store_spend *s, size_t n,
                    const bool *declared, bool *unknown);

/* The check of store_spend_put alone, outside any write (for a 422 that
 * lists every bad item at once): unknown[i] set for each item whose channel
 * is unknown to tenant; items with declared[i] or a NULL channel (invalid:
 * the caller's error already) are not checked. Returns 0 (none unknown), 1,
 * or -1 (db->err). */
int store_spend_unknown_channels(store_db *db, const char *tenant, const store_spend *s,
                                 size_t n, const bool *declared, bool *unknown);

/* Called once per stored row, in (channel, month) order; strings valid
 * during the call only. */
typedef int (*store_spend_cb)(const store_spend *s, void *arg);

/* Delivers at most limit of tenant's spend rows after (after_channel,
 * after_month) in (channel, month) order (after_channel NULL: from the
 * first; after_month from 12, year 1, to 9999 * 12 + 11). Returns the
 * number delivered, or -1 (db->err). */
long store_spend_page(store_db *db, const char *tenant, const char *after_channel,
                      int64_t after_month, long limit, store_spend_cb cb, void *arg);

#endif
