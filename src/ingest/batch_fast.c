/* The common case of a POST /v1/transactions body read in one pass, without
 * building a JSON tree: {"transactions":[{...},...]} whose items have exactly
 * the four members, strings of printable ASCII without escapes, and values
 * the field checks of batch.c accept. Anything else (an error to report, an
 * escape, UTF-8, another shape) is left to the jansson path, which decides
 * and words every refusal; so this file only ever says yes, and only to
 * what that path accepts with the same items (fuzz/fuzz_batch.c checks it).
 *
 * Why: parsing was 60% of ltvd's CPU during ingest (2.6 ms of a 1000-item
 * batch), most of it jansson building and freeing some 10,000 values that
 * are copied out at once. */
#include <stdlib.h>
#include <string.h>

#include "ingest/batch.h"
#include "ingest/batch_fast.h"
#include "summary/summary.h"

typedef struct cursor {
    const char *p, *end;
} cursor;

static void ws(cursor *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skips whitespace, then takes ch. */
static int take(cursor *c, char ch)
{
    ws(c);
    if (c->p == c->end || *c->p != ch)
        return 0;
    c->p++;
    return 1;
}

/* A string of printable ASCII without escapes: its span, quotes excluded. */
static int string(cursor *c, const char **s, size_t *len)
{
    if (!take(c, '"'))
        return 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            return 0;
        c->p++;
    }
    if (c->p == c->end)
        return 0;
    *s = start;
    *len = (size_t)(c->p - start);
    c->p++;
    return 1;
}

static int digits(cursor *c)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > start;
}

/* A JSON number token (RFC 8259 grammar): its span. */
static int number(cursor *c, const char **s, size_t *len)
{
    ws(c);
    const char *start = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (!digits(c))
        return 0;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c))
            return 0;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!digits(c))
            return 0;
    }
    *s = start;
    *len = (size_t)(c->p - start);
    return 1;
}

static int field_of(const char *k, size_t n)
{
    const char *const *names = ingest_item_fields;
    for (int f = 0; f < INGEST_F_COUNT; f++)
        if (strlen(names[f]) == n && memcmp(names[f], k, n) == 0)
            return f;
    return -1;
}

/* One item; the id spans are kept in span[] for the copy. */
static int item(cursor *c, const ingest_limits *lim, int64_t now, ingest_item *it,
                const char *span[2], size_t span_len[2])
{
    char buf[64];
    int seen = 0;
    if (!take(c, '{'))
        return 0;
    for (int m = 0; m < INGEST_F_COUNT; m++) {
        const char *k, *s;
        size_t kn, len;
        if ((m > 0 && !take(c, ',')) || !string(c, &k, &kn) || !take(c, ':'))
            return 0;
        int f = field_of(k, kn);
        if (f < 0 || (seen & (1 << f)))
            return 0;
        seen |= 1 << f;
        if (f == INGEST_F_AMOUNT) {
            ws(c);
            int ok =
                c->p < c->end && *c->p == '"' ? string(c, &s, &len) : number(c, &s, &len);
            if (!ok || ingest_parse_amount(s, len, it->amount) != NULL)
                return 0;
            continue;
        }
        if (!string(c, &s, &len))
            return 0;
        if (f == INGEST_F_TIME) {
            if (ingest_parse_time(s, len, now, &it->occurred_at_s) != NULL)
                return 0;
            it->day = summary_day_of(it->occurred_at_s);
            continue;
        }
        if (ingest_check_id(s, len, lim->max_id_bytes, buf, sizeof buf) != NULL)
            return 0;
        span[f] = s;
        span_len[f] = len;
    }
    return take(c, '}');
}

int ingest_batch_fast(const char *body, size_t len, const ingest_limits *lim, int64_t now,
                      ingest_batch *out)
{
    memset(out, 0, sizeof *out);
    cursor c = {body, body + len};
    const char *k;
    size_t kn, cap = 64, n = 0, bytes = 0;
    if (body == NULL || !take(&c, '{') || !string(&c, &k, &kn) || kn != 12 ||
        memcmp(k, "transactions", 12) != 0 || !take(&c, ':') || !take(&c, '['))
        return 0;
    ingest_item *items = malloc(cap * sizeof *items);
    const char *(*spans)[2] = malloc(cap * sizeof *spans);
    size_t(*lens)[2] = malloc(cap * sizeof *lens);
    int rc = -1;
    if (items == NULL || spans == NULL || lens == NULL)
        goto cleanup;
    rc = 0;
    do {
        if (n == lim->max_items)
            goto cleanup; /* too many: the jansson path says so */
        if (n == cap) {
            cap *= 2;
            void *a = realloc(items, cap * sizeof *items);
            if (a != NULL)
                items = a;
            void *b = realloc(spans, cap * sizeof *spans);
            if (b != NULL)
                spans = b;
            void *l = realloc(lens, cap * sizeof *lens);
            if (l != NULL)
                lens = l;
            if (a == NULL || b == NULL || l == NULL) {
                rc = -1;
                goto cleanup;
            }
        }
        memset(&items[n], 0, sizeof items[n]);
        if (!item(&c, lim, now, &items[n], spans[n], lens[n]))
            goto cleanup;
        bytes += lens[n][0] + lens[n][1] + 2;
        n++;
    } while (take(&c, ','));
    if (!take(&c, ']') || !take(&c, '}'))
        goto cleanup;
    ws(&c);
    if (c.p != c.end)
        goto cleanup;
    char *block = malloc(bytes), *p = block;
    if (block == NULL) {
        rc = -1;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) { /* id, then customer_id, as batch.c */
        for (int f = 0; f < 2; f++) {
            memcpy(p, spans[i][f], lens[i][f]);
            p[lens[i][f]] = '\0';
            *(f == INGEST_F_ID ? &items[i].id : &items[i].customer_id) = p;
            p += lens[i][f] + 1;
        }
    }
    out->items = items;
    out->n = n;
    out->strings = block;
    items = NULL;
    rc = 1;
cleanup:
    free(items);
    free(spans);
    free(lens);
    return rc;
}
