/* A bounded first look at a POST /v1/transactions body before jansson
 * builds a tree of it: one pass, constant memory, counting the items of the
 * "transactions" array and (an upper bound of) the JSON values, so that the
 * item limit holds while parsing and the tree's memory is bounded by the
 * limit, not by the body (issue 9: 1.6 million empty items took 430 MB). */
#ifndef LTVD_INGEST_BODY_SCAN_H
#define LTVD_INGEST_BODY_SCAN_H

#include <stddef.h>

/* The jansson reader builds at most this many JSON values per allowed item
 * (a valid item has five: the object and its four members). */
#define INGEST_VALUES_PER_ITEM 16
/* ... plus this many for the body around the items. */
#define INGEST_VALUES_SLACK 64

typedef enum ingest_scan_result {
    INGEST_SCAN_OK,             /* within both bounds (the JSON may still be malformed) */
    INGEST_SCAN_TOO_MANY_ITEMS, /* the top-level "transactions" array is too long */
    INGEST_SCAN_TOO_MANY_VALUES, /* the body holds too many JSON values */
} ingest_scan_result;

/* Scans body[0..len) as JSON text without building anything and stops at
 * the first bound exceeded: more than max_items elements in the array that
 * is the value of the top-level member "transactions" (spelled without
 * escapes: another spelling is an unknown member, counted by the second
 * bound), or more than max_values values anywhere, counted as 1 + the
 * '[', ',' and ':' outside strings (each value but the root follows one).
 * Malformed JSON is not detected here: the parser reports it. */
ingest_scan_result ingest_body_scan(const char *body, size_t len, size_t max_items,
                                    size_t max_values);

#endif
