/* The ingest path, with one owner: a parsed batch goes into PostgreSQL in
 * one transaction and, once committed, into the cache, before it is
 * acknowledged. HTTP only parses the body, calls app_ingest_batch and
 * replies.
 *
 * How the cache stays equal to PostgreSQL (the protocol of a->gate, see
 * apply.h): the batch's COMMIT is sent holding a->gate for reading, and the
 * gate is released only once the batch's deltas are in the cache; the
 * catch-up takes the gate for writing to start a read, so the batches in
 * its snapshot are exactly those already applied. The gate is taken and
 * released here and in store_db_transaction_gated only. */
#ifndef LTVD_APP_INGEST_H
#define LTVD_APP_INGEST_H

#include <stddef.h>

#include "app/app.h"
#include "app/db_wait.h"
#include "ingest/batch.h"

typedef enum app_ingest_status {
    APP_INGEST_OK = 0,       /* committed and in the cache: acknowledge */
    APP_INGEST_UNAVAILABLE,  /* not acknowledged (database failed, timed out or
                                busy); resending is safe: detail says why */
    APP_INGEST_READ_ONLY,    /* not stored: the database does not take writes
                                (a standby after a failover, a read-only
                                session); detail says so and where writes go */
    APP_INGEST_CACHE_FAILED, /* committed, but the cache could not be updated */
    APP_INGEST_NO_MEMORY,    /* nothing sent */
    APP_INGEST_NO_TENANT,    /* not stored: the tenant was deleted meanwhile */
} app_ingest_status;

typedef struct app_ingest_result {
    size_t n_new;       /* items stored by this batch */
    size_t n_duplicate; /* items stored before, or repeated in the batch */
    char detail[APP_DB_DETAIL_MAX];
} app_ingest_result;

/* Stores the valid batch b (ingest_batch_parse) within the request bounds
 * of db_wait.h (a slot, db_request_timeout_ms), applies it to the cache,
 * counts it for /metrics and the refit worker. A batch whose COMMIT got no
 * answer may be stored or not: it is not acknowledged, resending it is
 * safe (stored items count as duplicates), and the catch-up brings it into
 * the cache if it was. */
app_ingest_status app_ingest_batch(app_tenant *t, const ingest_batch *b,
                                   app_ingest_result *out);

#endif
