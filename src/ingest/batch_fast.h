/* The one-pass reader of the common POST /v1/transactions body
 * (batch_fast.c), and the general jansson reader it falls back to, both
 * behind ingest_batch_parse; apart for the fuzz target and the tests. */
#ifndef LTVD_INGEST_BATCH_FAST_H
#define LTVD_INGEST_BATCH_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/batch.h"

/* The members of an item, in the order of ingest_item_fields. */
enum { INGEST_F_ID, INGEST_F_CUSTOMER, INGEST_F_TIME, INGEST_F_AMOUNT, INGEST_F_COUNT };
extern const char *const ingest_item_fields[INGEST_F_COUNT];

/* 1 with *out filled when body is a valid batch of the common shape (the
 * same items ingest_batch_parse_jansson would give), 0 when it must go to
 * ingest_batch_parse_jansson (*out empty), -1 when out of memory. */
int ingest_batch_fast(const char *body, size_t len, const ingest_limits *lim, int64_t now,
                      ingest_batch *out);

/* ingest_batch_parse without the fast path. */
ingest_result ingest_batch_parse_jansson(const char *body, size_t len,
                                         const ingest_limits *lim, int64_t now,
                                         ingest_batch *out, ingest_errors *errs);

#endif
