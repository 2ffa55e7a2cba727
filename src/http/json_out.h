/* JSON text written straight into a growing buffer, for the hot responses
 * (a customer's scores, a list page): formatting directly is about 1.6x
 * faster than building a jansson tree and json_dumps-ing it (DESIGN.md,
 * "Serving notes"). The output is what json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(17)) gives for the same values: strings escaped as
 * jansson escapes them, reals as %.17g with ".0" when that looks integral. */
#ifndef LTVD_HTTP_JSON_OUT_H
#define LTVD_HTTP_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json_out {
    char *p; /* NUL-terminated text so far (malloc'd), NULL before any */
    size_t len, cap;
    bool failed; /* out of memory: everything after is dropped */
} json_out;

/* Appends raw text (already JSON). */
void json_out_raw(json_out *b, const char *s);

/* Appends s as a JSON string (quotes included); s is UTF-8. */
void json_out_str(json_out *b, const char *s);

/* Appends a JSON number: d must be finite. */
void json_out_real(json_out *b, double d);
void json_out_int(json_out *b, long long v);

/* Appends "\"key\":" (key needs no escaping). */
void json_out_key(json_out *b, const char *key);

/* The text (the caller frees it) and its length, or NULL when out of
 * memory (nothing to free then). */
char *json_out_take(json_out *b, size_t *len);

#endif
