/* Text the store sends PostgreSQL (internal to src/store/): COPY text-format
 * rows in a growing buffer, COPY FROM STDIN of such a buffer, array literals
 * for text[] parameters, and a transaction's time and amount as the store
 * writes them. */
#ifndef LTVD_STORE_COPY_TEXT_H
#define LTVD_STORE_COPY_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/ingest.h"

typedef struct store_sbuf {
    char *p;
    size_t len, cap;
} store_sbuf;

/* Room for extra more bytes. 0, or -1 when out of memory. */
int store_sbuf_reserve(store_sbuf *b, size_t extra);

/* Appends s as a COPY text-format field (backslash escapes) and then sep
 * ('\t' between fields, '\n' after the last). 0, or -1 when out of memory. */
int store_sbuf_field(store_sbuf *b, const char *s, char sep);

/* Sends b as the data of `sql` (a COPY ... FROM STDIN). Returns 0, or -1
 * with db->err and db->sqlstate set (the connection is usable again). */
int store_copy_in(store_db *db, const char *sql, const store_sbuf *b, const char *what);

/* ids[0..n) as a PostgreSQL array literal, {"a","b\"c"} (a NULL element
 * is NULL). NULL when out of memory; free() it. */
char *store_text_array(const char *const *ids, size_t n);

/* v in decimal at out (room for 21 bytes); returns the length. */
size_t store_fmt_i64(char *out, int64_t v);

/* occurred_at as text PostgreSQL reads as timestamptz (in buf unless the
 * item carries its own text). */
const char *store_when_text(const store_item *it, char buf[64]);

/* The amount text of an item ("12", "12.5", "0.0001", at most 14 digits
 * before the point and 4 significant after it, as the validators let
 * through) in STORE_AMOUNT_UNITS. 0, or -1 for any other text. */
int store_amount_units(const char *s, int64_t *out);

#endif
