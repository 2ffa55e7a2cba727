/* Transactions CSV files (`ltvd fit --transactions`'s format plus an optional
 * id column) read row by row and validated by the rules of POST
 * /v1/transactions (ingest/batch.h), so that a file and the API accept the
 * same values. For `ltvd import`; no PostgreSQL, no HTTP. */
#ifndef LTVD_INGEST_CSV_ROWS_H
#define LTVD_INGEST_CSV_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ingest/batch.h"

/* Longest "FILE:LINE: reason" message. */
#define INGEST_CSV_ERR_MAX 1024

typedef struct ingest_csv ingest_csv;

/* One valid row. Strings are borrowed from the reader: valid until the next
 * ingest_csv_next or ingest_csv_close. */
typedef struct ingest_csv_row {
    const char *id; /* the id column's value; NULL without that column */
    const char *customer_id;
    int64_t occurred_at_s;          /* UTC seconds since 1970 (fraction dropped) */
    char amount[INGEST_AMOUNT_MAX]; /* canonical decimal: "12.3", "0", "1500" */
    /* The optional acquisition_channel and campaign columns: NULL without
     * the column or for an empty field (not given). */
    const char *channel;
    const char *campaign;
} ingest_csv_row;

typedef enum ingest_csv_status {
    INGEST_CSV_ROW = 0, /* *row holds a valid row */
    INGEST_CSV_END,     /* no more rows */
    INGEST_CSV_BAD_ROW, /* err says what is wrong with this row ("FILE:LINE: a; b"),
                           reading can go on */
    INGEST_CSV_FAILED,  /* err says why reading cannot go on (I/O, CSV syntax) */
} ingest_csv_status;

/* Reads fp (from its current position; it stays the caller's), calling it
 * `name` in messages, and reads the header: it must name customer_id,
 * occurred_at and amount, and may name id, acquisition_channel and
 * campaign (the customer's first-touch attributes, as the API's items
 * carry them), in any order (other columns are ignored). now (UTC seconds) bounds
 * occurred_at as in the API. Returns the reader, or NULL with "NAME:LINE: reason" in err.
 */
ingest_csv *ingest_csv_open(FILE *fp, const char *name, int64_t now,
                            char err[INGEST_CSV_ERR_MAX]);

/* True when the header has an id column. */
bool ingest_csv_has_id(const ingest_csv *c);

/* Reads and validates the next row. Policies, beyond the API's (batch.h):
 *  - every row has as many fields as the header; blank lines are skipped.
 *  - customer_id and id: valid UTF-8 too (the API's JSON guarantees it).
 *  - occurred_at: YYYY-MM-DD (midnight UTC), or an RFC 3339 date-time with
 *    'T' or ' ' and an optional fraction; without a zone it is taken as UTC
 *    (`ltvd fit` takes it "as written": the same calendar day).
 *  - amount: as the API's amount string; kept in canonical form.
 *  - acquisition_channel, campaign: empty, or 1..128 bytes of UTF-8
 *    without control characters (the API's rule).
 * Every problem of a row is listed in one message. */
ingest_csv_status ingest_csv_next(ingest_csv *c, ingest_csv_row *row,
                                  char err[INGEST_CSV_ERR_MAX]);

/* Physical line where the current row starts (1-based). */
long ingest_csv_line(const ingest_csv *c);

void ingest_csv_close(ingest_csv *c);

#endif
