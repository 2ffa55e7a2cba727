/* The body of POST /v1/transactions, parsed and validated: no HTTP, no
 * PostgreSQL. A batch is all or nothing: either every item is valid and the
 * caller gets them all, or it gets every error found (index, field, reason)
 * and no item. */
#ifndef LTVD_INGEST_BATCH_H
#define LTVD_INGEST_BATCH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "store/ingest.h"

/* Fixed by the schema (transactions.amount is numeric(18, 4)). */
#define INGEST_AMOUNT_INT_DIGITS 14 /* significant digits before the point */
#define INGEST_AMOUNT_FRAC_DIGITS 4 /* significant digits after it */
#define INGEST_AMOUNT_MAX 32        /* amount text, NUL included */
#define INGEST_TIME_MAX 64          /* occurred_at text, NUL excluded */

#define INGEST_ID_BYTES_DEFAULT 128
#define INGEST_MAX_ERRORS_DEFAULT 1000

typedef enum ingest_result {
    INGEST_OK = 0,    /* *out holds every item; errs is empty */
    INGEST_INVALID,   /* valid JSON, bad content: errs lists it (HTTP 422) */
    INGEST_MALFORMED, /* not JSON: one error, index -1, with line and column (400) */
    INGEST_TOO_MANY,  /* more than max_items: one error, index -1 (413) */
    INGEST_ENOMEM,    /* out of memory: out and errs are empty (500) */
} ingest_result;

typedef struct ingest_limits {
    size_t max_items;    /* most transactions in one batch (config max_batch_items) */
    size_t max_id_bytes; /* longest id and customer_id in bytes (>= 1) */
    size_t max_errors;   /* errors kept in errs (the rest are only counted); 0 = all */
} ingest_limits;

/* One valid transaction. The strings are owned by the batch. */
typedef struct ingest_item {
    const char *id;          /* the caller's transaction id, 1..max_id_bytes bytes */
    const char *customer_id; /* same rules as id */
    int64_t occurred_at_s;   /* UTC seconds since 1970-01-01, >= 0 */
    int64_t day;             /* UTC day of occurred_at_s (days since 1970-01-01) */
    char amount[INGEST_AMOUNT_MAX]; /* decimal text >= 0 for PostgreSQL numeric */
    /* Optional first-touch attributes (NULL: not given), 1..INGEST_ATTR_BYTES
     * bytes without control characters. */
    const char *channel;
    const char *campaign;
} ingest_item;

/* Longest acquisition_channel or campaign, in bytes. */
#define INGEST_ATTR_BYTES 128

/* items[0..n) in body order (duplicates included); owns everything. */
typedef struct ingest_batch {
    ingest_item *items;
    size_t n;
    char *strings; /* every id and customer_id, back to back */
} ingest_batch;

/* index: the item's position in the array, or -1 for the body as a whole.
 * field: the member concerned ("id", ..., an unknown member's name,
 * "transactions"), or NULL for the body or a whole item. Both strings owned. */
typedef struct ingest_error {
    long index;
    char *field;
    char *reason;
} ingest_error;

typedef struct ingest_errors {
    ingest_error *items; /* in body order */
    size_t n;
    size_t cap;
    size_t n_total; /* errors found, >= n when max_errors cut the list */
} ingest_errors;

/* Parses and validates body[0..len) (need not be NUL-terminated; NULL with
 * len 0 is an empty body) as {"transactions": [item, ...]}, where each item
 * is {"id", "customer_id", "occurred_at", "amount"}, optionally
 * "acquisition_channel" and "campaign" (strings of 1..INGEST_ATTR_BYTES
 * bytes under the id rules, or null for not given), and nothing else.
 * now is the current UTC time in seconds (occurred_at may be at most one day
 * later). Policies:
 *  - JSON: duplicate member names are errors; malformed JSON gives
 *    INGEST_MALFORMED. Unknown members, missing members and wrong types are
 *    errors, top-level (index -1) or per item.
 *  - ids: strings of 1..max_id_bytes bytes of UTF-8 (jansson refuses invalid
 *    UTF-8 and lone surrogates as malformed JSON) without control characters
 *    (U+0000..U+001F, U+007F, U+0080..U+009F: the ones a path parameter may
 *    not hold, so every stored id can be fetched); anything else is kept
 *    verbatim (quotes, SQL, JSON text).
 *  - occurred_at: RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)",
 *    T/Z in either case, a leap second :60 allowed and read as :59 of the
 *    same minute (so it stays on its day); the fraction is dropped (floor);
 *    from 1970-01-01T00:00:00Z to now + 1 day.
 *  - amount: a JSON number or a string digits[.digits][e[+-]digits] (a
 *    string may also start with '+' and omit digits on one side of the
 *    point); >= 0 (negative amounts are refused: refunds are not supported,
 *    as in the CLI; -0 is 0); at most 14 significant digits before the point
 *    and 4 after (numeric(18, 4): nothing is rounded). The text is kept
 *    exactly as sent, JSON numbers included (their token is read from the
 *    body, not from jansson's double); only a leading sign is dropped and
 *    exponent forms are written out ("1.5e3" -> "1500"). NaN, Infinity and
 *    1e400 as strings are invalid amounts; 1e400 as a number is malformed
 *    JSON (jansson refuses the overflow).
 *  - duplicates (customer_id, id) inside the batch are accepted and returned:
 *    the store keeps the first and counts the others as duplicates.
 *  - more than lim->max_items items gives INGEST_TOO_MANY at once, found by
 *    a bounded scan before any JSON value is built (ingest_body_scan: the
 *    items are not looked at); so does a body of more JSON values than
 *    INGEST_VALUES_PER_ITEM per allowed item. Time and memory are linear in
 *    len and bounded by max_items. An empty array is an error.
 * *out and *errs are overwritten (initialised first, so both can always be
 * freed); on INGEST_OK errs is empty, otherwise out is. */
ingest_result ingest_batch_parse(const char *body, size_t len, const ingest_limits *lim,
                                 int64_t now, ingest_batch *out, ingest_errors *errs)
    __attribute__((warn_unused_result));

/* The limits used when the config says nothing. */
ingest_limits ingest_limits_default(size_t max_items);

/* The per-field rules of ingest_batch_parse (see there), for the other inputs
 * of the same transactions (`ltvd import` CSV files), so that both accept the
 * same values. Each returns NULL when the value is valid, else the reason (a
 * static string, or buf for ingest_check_id). s[0..len) need not be
 * NUL-terminated.
 *  - ingest_check_id: an id or customer_id of 1..max_bytes bytes without
 *    C0, DEL or C1 control characters (UTF-8 validity is the caller's:
 *    jansson's for JSON).
 *  - ingest_parse_time: RFC 3339 with seconds and a zone, 1970 .. now + 1 day;
 *    *secs set (fraction dropped).
 *  - ingest_parse_amount: a decimal >= 0 within numeric(18, 4); out gets the
 *    text without its sign, exponent forms written out. */
const char *ingest_check_id(const char *s, size_t len, size_t max_bytes, char *buf,
                            size_t cap);
const char *ingest_parse_time(const char *s, size_t len, int64_t now, int64_t *secs);
const char *ingest_parse_amount(const char *s, size_t len, char out[INGEST_AMOUNT_MAX]);

/* Fills a store item from a valid one (strings borrowed from the batch). */
void ingest_item_to_store(const ingest_item *in, store_item *out);

/* Free what the structures own and leave them empty (NULL-safe). */
void ingest_batch_free(ingest_batch *b);
/* Appends an error (field may be NULL; the reason formatted from fmt, cut
 * at 255 bytes) to e; past max (0: no limit) it is only counted in
 * n_total. Returns 0, or -1 when out of memory (counted, not listed). The
 * one error list of every ingest input (transactions, subscriptions). */
int ingest_errors_vadd(ingest_errors *e, size_t max, long index, const char *field,
                       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

void ingest_errors_free(ingest_errors *e);

#endif
