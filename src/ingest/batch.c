/* The body of POST /v1/transactions: jansson parses it, this file decides
 * what is a valid batch (see batch.h for every policy) and collects every
 * error before answering, so a client fixes a batch in one round trip.
 * Bodies of the common shape are read first by batch_fast.c, in one pass;
 * whatever it does not accept comes here. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/batch.h"
#include "ingest/batch_fast.h"
#include "ingest/body_scan.h"
#include "ingest/json_arena.h"
#include "summary/summary.h"

/* One number token of the body: jansson keeps only a double or an integer,
 * so the exact text of a JSON amount is read back from here. */
typedef struct numtok {
    size_t off, len;
} numtok;

/* The state of one parse. */
typedef struct walk {
    const ingest_limits *lim;
    int64_t now;
    ingest_errors *errs;
    int oom;
    const char *body;
    numtok *toks; /* every number token of the body, in order */
    size_t ntok;
    size_t tok_next; /* the token of the next number met in document order */
} walk;

/* ------------------------------------------------------------------ errors */

ingest_limits ingest_limits_default(size_t max_items)
{
    ingest_limits l = {max_items, INGEST_ID_BYTES_DEFAULT, INGEST_MAX_ERRORS_DEFAULT};
    return l;
}

int ingest_errors_vadd(ingest_errors *e, size_t max, long index, const char *field,
                       const char *fmt, va_list ap)
{
    e->n_total++;
    if (max > 0 && e->n >= max)
        return 0;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        ingest_error *p = realloc(e->items, cap * sizeof *p);
        if (p == NULL)
            return -1;
        e->items = p;
        e->cap = cap;
    }
    char reason[256];
    vsnprintf(reason, sizeof reason, fmt, ap);
    ingest_error *x = &e->items[e->n];
    x->index = index;
    x->field = field != NULL ? strdup(field) : NULL;
    x->reason = strdup(reason);
    if ((field != NULL && x->field == NULL) || x->reason == NULL) {
        free(x->field);
        free(x->reason);
        return -1;
    }
    e->n++;
    return 0;
}

/* Records an error (field may be NULL); past max_errors it is only counted.
 * Out of memory sets w->oom. */
static void add_error(walk *w, long index, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(walk *w, long index, const char *field, const char *fmt, ...)
{
    if (w->oom) {
        w->errs->n_total++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (ingest_errors_vadd(w->errs, w->lim->max_errors, index, field, fmt, ap) != 0)
        w->oom = 1;
    va_end(ap);
}

void ingest_errors_free(ingest_errors *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->items[i].field);
        free(e->items[i].reason);
    }
    free(e->items);
    memset(e, 0, sizeof *e);
}

void ingest_batch_free(ingest_batch *b)
{
    if (b == NULL)
        return;
    free(b->items);
    free(b->strings);
    memset(b, 0, sizeof *b);
}

void ingest_item_to_store(const ingest_item *in, store_item *out)
{
    out->txn_id = in->id;
    out->customer_id = in->customer_id;
    out->occurred_at = NULL;
    out->occurred_at_s = in->occurred_at_s;
    out->amount = in->amount;
    out->channel = in->channel;
    out->campaign = in->campaign;
}

/* ----------------------------------------------------------- number tokens */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Collects the number tokens of a body jansson has accepted: outside
 * strings, a number is the only thing that starts with '-' or a digit.
 * Returns 0, or -1 when out of memory. */
static int scan_numbers(walk *w, size_t len)
{
    const char *b = w->body;
    size_t cap = 0;
    for (size_t i = 0; i < len; i++) {
        if (b[i] == '"') {
            for (i++; i < len && b[i] != '"'; i++)
                i += b[i] == '\\';
        } else if (b[i] == '-' || is_digit(b[i])) {
            size_t start = i;
            while (i + 1 < len && strchr("0123456789+-.eE", b[i + 1]) && b[i + 1])
                i++;
            if (w->ntok == cap) {
                cap = cap ? 2 * cap : 64;
                numtok *p = realloc(w->toks, cap * sizeof *p);
                if (p == NULL)
                    return -1;
                w->toks = p;
            }
            w->toks[w->ntok++] = (numtok){start, i + 1 - start};
        }
    }
    return 0;
}

/* Numbers in v, so that tok_next skips the ones that are not amounts. */
static size_t count_numbers(const json_t *v)
{
    size_t n = 0;
    if (json_is_number(v))
        return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            n += count_numbers(json_array_get(v, i));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) n += count_numbers(x);
    }
    return n;
}

/* ------------------------------------------------------------------ fields */

const char *ingest_check_id(const char *s, size_t len, size_t max, char *buf, size_t cap)
{
    if (len == 0)
        return "must not be empty";
    if (len > max) {
        snprintf(buf, cap, "longer than %zu bytes", max);
        return buf;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return "contains a control character (U+0000..U+001F or U+007F)";
        /* U+0080..U+009F are C2 80..C2 9F in UTF-8: the GET path refuses
         * them (url_text_ok), so an id holding one could not be read back */
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return "contains a C1 control character (U+0080..U+009F)";
    }
    return NULL;
}

/* Exactly n digits at s. */
static int fixed(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = 10 * v + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* The zone at s[0..n): 0 with minutes east of UTC, or -1. */
static int parse_zone(const char *s, size_t n, int *minutes)
{
    int h, m;
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *minutes = 0;
        return 0;
    }
    if (n != 6 || (s[0] != '+' && s[0] != '-') || !fixed(s + 1, 2, &h) || s[3] != ':' ||
        !fixed(s + 4, 2, &m) || h > 23 || m > 59)
        return -1;
    *minutes = (s[0] == '-' ? -1 : 1) * (60 * h + m);
    return 0;
}

const char *ingest_parse_time(const char *s, size_t len, int64_t now, int64_t *secs)
{
    static const char *syntax = "must be an RFC 3339 date-time with seconds and a zone, "
                                "e.g. 2024-01-31T12:00:00Z";
    int y, mo, d, h, mi, sec, zone;
    if (len < 20 || len > INGEST_TIME_MAX || !fixed(s, 4, &y) || s[4] != '-' ||
        !fixed(s + 5, 2, &mo) || s[7] != '-' || !fixed(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't') || !fixed(s + 11, 2, &h) || s[13] != ':' ||
        !fixed(s + 14, 2, &mi) || s[16] != ':' || !fixed(s + 17, 2, &sec))
        return syntax;
    size_t p = 19;
    if (s[p] == '.') {
        size_t q = ++p;
        while (p < len && is_digit(s[p]))
            p++;
        if (p == q)
            return syntax;
    }
    if (parse_zone(s + p, len - p, &zone) != 0)
        return syntax;
    if (mo < 1 || mo > 12 || d < 1 || d > summary_days_in_month(y, mo))
        return "no such date";
    if (h > 23 || mi > 59 || sec > 60)
        return "no such time of day";
    /* A leap second (:60) is read as :59 of its minute, so it stays in its
     * own minute and day, as summary_parse_day reads it (docs/http.md) */
    sec = sec == 60 ? 59 : sec;
    int64_t t =
        summary_days_from_civil(y, mo, d) * 86400 + 3600 * h + 60 * mi + sec - 60 * zone;
    if (t < 0)
        return "before 1970-01-01T00:00:00Z";
    if (t > now + 86400)
        return "more than one day in the future";
    *secs = t;
    return NULL;
}

/* The digits are counted as in digits[.digits] x 10^exp. */
const char *ingest_parse_amount(const char *s, size_t len, char out[INGEST_AMOUNT_MAX])
{
    static const char *syntax = "must be a decimal number, e.g. 12.30";
    const char *end = s + len, *p = s;
    int neg = p < end && *p == '-';
    p += p < end && (*p == '+' || *p == '-');
    const char *ip = p;
    while (p < end && is_digit(*p))
        p++;
    int64_t int_n = p - ip, frac_n = 0;
    const char *fp = p;
    if (p < end && *p == '.') {
        fp = ++p;
        while (p < end && is_digit(*p))
            p++;
        frac_n = p - fp;
    }
    if (int_n + frac_n == 0)
        return syntax;
    int64_t exp = 0;
    int has_exp = p < end && (*p == 'e' || *p == 'E');
    if (has_exp) {
        p++;
        int eneg = p < end && *p == '-';
        p += p < end && (*p == '+' || *p == '-');
        const char *ep = p;
        for (; p < end && is_digit(*p); p++)
            exp = exp < 1000000 ? 10 * exp + (*p - '0') : exp;
        if (p == ep)
            return syntax;
        exp = eneg ? -exp : exp;
    }
    if (p != end)
        return syntax;
    /* digit k of digits = ip[0..int_n) fp[0..frac_n); the point is before k = point */
    int64_t total = int_n + frac_n, point = int_n + exp, lead = 0, sig_end = total;
#define DIGIT(k) ((k) < 0 || (k) >= total ? '0' : (k) < int_n ? ip[(k)] : fp[(k)-int_n])
    while (lead < total && DIGIT(lead) == '0')
        lead++;
    while (sig_end > lead && DIGIT(sig_end - 1) == '0')
        sig_end--;
    int zero = lead == total;
    if (neg && !zero)
        return "must be >= 0 (refunds are not supported: net them into the purchase)";
    if (!zero && point - lead > INGEST_AMOUNT_INT_DIGITS)
        return "more than 14 digits before the point";
    if (!zero && sig_end - point > INGEST_AMOUNT_FRAC_DIGITS)
        return "more than 4 digits after the point";
    if (!has_exp) { /* the text as sent, sign dropped */
        size_t n = (size_t)(end - (s + (s[0] == '+' || s[0] == '-')));
        if (n >= INGEST_AMOUNT_MAX)
            return "longer than 31 characters";
        memcpy(out, end - n, n);
        out[n] = '\0';
        return NULL;
    }
    size_t o = 0;
    if (zero || point <= lead)
        out[o++] = '0';
    for (int64_t k = lead; !zero && k < point; k++)
        out[o++] = DIGIT(k);
    if (!zero && sig_end > point) {
        out[o++] = '.';
        for (int64_t k = point; k < sig_end; k++)
            out[o++] = DIGIT(k);
    }
#undef DIGIT
    out[o] = '\0';
    return NULL;
}

/* ------------------------------------------------------------------- items */

const char *const ingest_item_fields[INGEST_F_COUNT] = {"id", "customer_id",
                                                        "occurred_at", "amount"};

/* A string member's value, or NULL after recording why not. */
static const char *string_field(walk *w, long i, const char *name, const json_t *v,
                                size_t *len)
{
    if (!json_is_string(v)) {
        add_error(w, i, name, "must be a string");
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

static void check_amount(walk *w, long i, const json_t *v, ingest_item *it)
{
    const char *s, *why;
    size_t len;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_number(v)) {
        if (w->tok_next >= w->ntok) { /* cannot happen: jansson accepted the body */
            add_error(w, i, "amount", "number not found in the body");
            return;
        }
        numtok t = w->toks[w->tok_next++];
        s = w->body + t.off;
        len = t.len;
        char tmp[64]; /* the token must be the number jansson read */
        snprintf(tmp, sizeof tmp, "%.*s", (int)(len < 63 ? len : 63), s);
        if (len <= 63 && strtod(tmp, NULL) != json_number_value(v)) {
            add_error(w, i, "amount", "number token mismatch");
            return;
        }
    } else {
        add_error(w, i, "amount", "must be a number or a decimal string");
        return;
    }
    if ((why = ingest_parse_amount(s, len, it->amount)) != NULL)
        add_error(w, i, "amount", "%s", why);
}

/* One member of item i. */
static void check_member(walk *w, long i, int f, const json_t *v, ingest_item *it,
                         size_t *bytes)
{
    char buf[64];
    const char *s, *why;
    size_t len;
    if (f == INGEST_F_AMOUNT) {
        check_amount(w, i, v, it);
        return;
    }
    w->tok_next += count_numbers(v); /* a number here is a type error */
    if ((s = string_field(w, i, ingest_item_fields[f], v, &len)) == NULL)
        return;
    if (f == INGEST_F_TIME) {
        if ((why = ingest_parse_time(s, len, w->now, &it->occurred_at_s)) != NULL)
            add_error(w, i, "occurred_at", "%s", why);
        it->day = summary_day_of(it->occurred_at_s);
        return;
    }
    if ((why = ingest_check_id(s, len, w->lim->max_id_bytes, buf, sizeof buf)) != NULL) {
        add_error(w, i, ingest_item_fields[f], "%s", why);
        return;
    }
    *(f == INGEST_F_ID ? &it->id : &it->customer_id) = s; /* borrowed until copied */
    *bytes += len + 1;
}

/* The optional members of an item (not in ingest_item_fields, which the
 * fast path reads exactly): its first-touch attributes. */
static const char *const attr_fields[2] = {"acquisition_channel", "campaign"};

/* Attribute member k of item i: a string under the id rules, or null. */
static void check_attr(walk *w, long i, int k, const json_t *v, ingest_item *it,
                       size_t *bytes)
{
    char buf[64];
    const char *s, *why;
    size_t len;
    w->tok_next += count_numbers(v);
    if (json_is_null(v))
        return;
    if ((s = string_field(w, i, attr_fields[k], v, &len)) == NULL)
        return;
    if ((why = ingest_check_id(s, len, INGEST_ATTR_BYTES, buf, sizeof buf)) != NULL) {
        add_error(w, i, attr_fields[k], "%s", why);
        return;
    }
    *(k == 0 ? &it->channel : &it->campaign) = s; /* borrowed until copied */
    *bytes += len + 1;
}

/* Item i: its members in body order (so amounts meet their tokens). */
static void check_item(walk *w, long i, const json_t *v, ingest_item *it, size_t *bytes)
{
    if (!json_is_object(v)) {
        add_error(w, i, NULL, "must be an object");
        w->tok_next += count_numbers(v);
        return;
    }
    int seen[INGEST_F_COUNT] = {0};
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x)
    {
        int f = 0;
        while (f < INGEST_F_COUNT && strcmp(key, ingest_item_fields[f]) != 0)
            f++;
        int k = strcmp(key, attr_fields[0]) == 0   ? 0
                : strcmp(key, attr_fields[1]) == 0 ? 1
                                                   : -1;
        if (f == INGEST_F_COUNT && k >= 0) {
            check_attr(w, i, k, x, it, bytes);
            continue;
        }
        if (f == INGEST_F_COUNT) {
            add_error(w, i, key, "unknown field");
            w->tok_next += count_numbers(x);
            continue;
        }
        seen[f] = 1;
        check_member(w, i, f, x, it, bytes);
    }
    for (int f = 0; f < INGEST_F_COUNT; f++)
        if (!seen[f])
            add_error(w, i, ingest_item_fields[f], "missing");
}

/* --------------------------------------------------------------- the batch */

/* Copies the ids of the valid items into one block owned by the batch. */
static int build_batch(ingest_item *items, size_t n, size_t bytes, ingest_batch *out)
{
    char *block = malloc(bytes ? bytes : 1), *p = block;
    if (block == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char **ids[4] = {&items[i].id, &items[i].customer_id, &items[i].channel,
                               &items[i].campaign};
        for (int k = 0; k < 4; k++) {
            if (*ids[k] == NULL)
                continue;
            size_t len = strlen(*ids[k]); /* no NUL inside: check_id refused it */
            memcpy(p, *ids[k], len + 1);
            *ids[k] = p;
            p += len + 1;
        }
    }
    out->items = items;
    out->n = n;
    out->strings = block;
    return 0;
}

/* The top-level object: every member but "transactions" is an error;
 * returns that array (or NULL) and leaves tok_next at its first number. */
static const json_t *top_level(walk *w, const json_t *root)
{
    if (!json_is_object(root)) {
        add_error(w, -1, NULL,
                  "the body must be a JSON object {\"transactions\": [...]}");
        return NULL;
    }
    const json_t *tx = NULL;
    size_t tx_tok = 0;
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)root, key, x)
    {
        if (strcmp(key, "transactions") == 0) {
            tx = x;
            tx_tok = w->tok_next;
        } else {
            add_error(w, -1, key, "unknown member");
        }
        w->tok_next += count_numbers(x);
    }
    w->tok_next = tx_tok;
    if (tx == NULL)
        add_error(w, -1, "transactions", "missing");
    else if (!json_is_array(tx))
        add_error(w, -1, "transactions", "must be an array");
    else if (json_array_size(tx) == 0)
        add_error(w, -1, "transactions", "must not be empty");
    else
        return tx;
    return NULL;
}

/* Whole-body outcome of a jansson failure. */
static ingest_result parse_failed(walk *w, const json_error_t *je)
{
    enum json_error_code code = json_error_code(je);
    if (code == json_error_out_of_memory)
        return INGEST_ENOMEM;
    add_error(w, -1, NULL, "line %d, column %d: %s", je->line, je->column, je->text);
    if (w->oom)
        return INGEST_ENOMEM;
    return code == json_error_duplicate_key ? INGEST_INVALID : INGEST_MALFORMED;
}

/* Validates every item of tx; fills out when all are valid. */
static ingest_result check_items(walk *w, const json_t *tx, ingest_batch *out)
{
    size_t n = json_array_size(tx), bytes = 0;
    ingest_item *items = calloc(n, sizeof *items);
    if (items == NULL)
        return INGEST_ENOMEM;
    for (size_t i = 0; i < n && !w->oom; i++)
        check_item(w, (long)i, json_array_get(tx, i), &items[i], &bytes);
    if (w->oom || w->errs->n_total > 0) {
        free(items);
        return w->oom ? INGEST_ENOMEM : INGEST_INVALID;
    }
    if (build_batch(items, n, bytes, out) != 0) {
        free(items);
        return INGEST_ENOMEM;
    }
    return INGEST_OK;
}

static ingest_result parse_root(walk *w, const json_t *root, ingest_batch *out)
{
    const json_t *tx = json_object_get(root, "transactions");
    if (json_is_object(root) && json_array_size(tx) > w->lim->max_items) {
        add_error(w, -1, "transactions", "more than %zu items", w->lim->max_items);
        return w->oom ? INGEST_ENOMEM : INGEST_TOO_MANY;
    }
    tx = top_level(w, root);
    if (tx == NULL || w->errs->n_total > 0) {
        if (tx != NULL) /* the items are checked too, for a complete list */
            (void)check_items(w, tx, out);
        ingest_batch_free(out);
        return w->oom ? INGEST_ENOMEM : INGEST_INVALID;
    }
    return check_items(w, tx, out);
}

ingest_result ingest_batch_parse(const char *body, size_t len, const ingest_limits *lim,
                                 int64_t now, ingest_batch *out, ingest_errors *errs)
{
    memset(errs, 0, sizeof *errs);
    int fast = ingest_batch_fast(body, len, lim, now, out);
    if (fast != 0)
        return fast > 0 ? INGEST_OK : INGEST_ENOMEM;
    return ingest_batch_parse_jansson(body, len, lim, now, out, errs);
}

/* The limits checked before jansson builds anything (body_scan.h), so that
 * the tree, and the time and memory it takes, stay within the item limit. */
static ingest_result scan_or_refuse(walk *w, size_t len)
{
    size_t max_values = w->lim->max_items * INGEST_VALUES_PER_ITEM + INGEST_VALUES_SLACK;
    if (w->lim->max_items > (SIZE_MAX - INGEST_VALUES_SLACK) / INGEST_VALUES_PER_ITEM)
        max_values = SIZE_MAX;
    switch (ingest_body_scan(w->body, len, w->lim->max_items, max_values)) {
    case INGEST_SCAN_TOO_MANY_ITEMS:
        add_error(w, -1, "transactions", "more than %zu items", w->lim->max_items);
        break;
    case INGEST_SCAN_TOO_MANY_VALUES:
        add_error(
            w, -1, NULL,
            "more than %zu JSON values in the body (%d per item of the limit of %zu "
            "items)",
            max_values, INGEST_VALUES_PER_ITEM, w->lim->max_items);
        break;
    default:
        return INGEST_OK;
    }
    if (w->oom) {
        ingest_errors_free(w->errs);
        return INGEST_ENOMEM;
    }
    return INGEST_TOO_MANY;
}

ingest_result ingest_batch_parse_jansson(const char *body, size_t len,
                                         const ingest_limits *lim, int64_t now,
                                         ingest_batch *out, ingest_errors *errs)
{
    memset(out, 0, sizeof *out);
    memset(errs, 0, sizeof *errs);
    walk w = {.lim = lim, .now = now, .errs = errs, .body = body ? body : ""};
    if (body == NULL)
        len = 0;
    ingest_result early = scan_or_refuse(&w, len);
    if (early != INGEST_OK)
        return early;
    json_error_t je;
    ingest_json_arena_begin(); /* the tree lives until the json_decref below */
    json_t *root = json_loadb(w.body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    ingest_result rc;
    if (root == NULL)
        rc = parse_failed(&w, &je);
    else if (scan_numbers(&w, len) != 0)
        rc = INGEST_ENOMEM;
    else
        rc = parse_root(&w, root, out);
    json_decref(root);
    ingest_json_arena_end();
    free(w.toks);
    if (rc == INGEST_ENOMEM)
        ingest_errors_free(errs);
    if (rc != INGEST_OK)
        ingest_batch_free(out);
    return rc;
}
