/* Subscription events: parsing and per-item validation (see subs.h). */
#include "ingest/subs.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const subs_columns[SUBS_N_COLUMNS] = {
    "id",          "customer_id", "subscription_id", "event",
    "occurred_at", "amount",      "billing_period",
};

static const char *const kind_names[] = {"start", "renew", "cancel"};
static const char *const period_names[] = {"month", "year"};

const char *subs_kind_name(subs_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : NULL;
}

const char *subs_period_name(subs_period p)
{
    return (unsigned)p < 2 ? period_names[p] : NULL;
}

bool subs_kind_parse(const char *s, subs_kind *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (subs_kind)i;
            return true;
        }
    return false;
}

bool subs_period_parse(const char *s, subs_period *out)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(s, period_names[i]) == 0) {
            *out = (subs_period)i;
            return true;
        }
    return false;
}

/* ------------------------------------------------------------------ errors */

/* Appends an error (counted only past max, 0 = no limit). -1 when out of
 * memory. */
static int add_error(ingest_errors *e, size_t max, long index, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int add_error(ingest_errors *e, size_t max, long index, const char *field,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ingest_errors_vadd(e, max, index, field, fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------------- items */

void subs_batch_free(subs_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->items[i].id);
        free(b->items[i].customer_id);
        free(b->items[i].subscription_id);
    }
    free(b->items);
    memset(b, 0, sizeof *b);
}

void subs_item_to_store(const subs_item *in, store_sub_event *out)
{
    *out = (store_sub_event){in->subscription_id,
                             in->id,
                             in->customer_id,
                             subs_kind_name(in->event),
                             in->occurred_at_s,
                             in->amount,
                             subs_period_name(in->period)};
}

/* Checks every field of one event; on success appends it. */
int subs_batch_add_row(subs_batch *b, const char *const f[SUBS_N_COLUMNS], long index,
                       int64_t now, const ingest_limits *lim, ingest_errors *errs)
{
    size_t max = lim->max_errors, before = errs->n_total;
    subs_item it = {0};
    char buf[160];
    for (int c = 0; c < 3; c++) { /* id, customer_id, subscription_id */
        const char *why =
            ingest_check_id(f[c], strlen(f[c]), lim->max_id_bytes, buf, sizeof buf);
        /* GET /v1/subscriptions/retention is the report: a subscription of
         * that id was stored but could never be read */
        if (why == NULL && c == 2 && strcmp(f[c], "retention") == 0)
            why = "retention is reserved (GET /v1/subscriptions/retention is the report)";
        if (why != NULL && add_error(errs, max, index, subs_columns[c], "%s", why) != 0)
            return -1;
    }
    if (!subs_kind_parse(f[3], &it.event) &&
        add_error(errs, max, index, "event", "must be start, renew or cancel") != 0)
        return -1;
    const char *why = ingest_parse_time(f[4], strlen(f[4]), now, &it.occurred_at_s);
    if (why != NULL && add_error(errs, max, index, "occurred_at", "%s", why) != 0)
        return -1;
    why = ingest_parse_amount(f[5], strlen(f[5]), it.amount);
    if (why != NULL && add_error(errs, max, index, "amount", "%s", why) != 0)
        return -1;
    if (!subs_period_parse(f[6], &it.period) &&
        add_error(errs, max, index, "billing_period", "must be month or year") != 0)
        return -1;
    if (errs->n_total != before)
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        subs_item *p = realloc(b->items, cap * sizeof *p);
        if (p == NULL)
            return -1;
        b->items = p;
        b->cap = cap;
    }
    it.id = strdup(f[0]);
    it.customer_id = strdup(f[1]);
    it.subscription_id = strdup(f[2]);
    b->items[b->n++] = it; /* freed with the batch, even when a copy failed */
    return it.id != NULL && it.customer_id != NULL && it.subscription_id != NULL ? 0 : -1;
}

/* ---------------------------------------------------------------- the JSON */

/* A member's text for subs_batch_add_row: strings as they are, amounts
 * that are numbers with 15 significant digits; NULL after an error. */
static const char *member_text(json_t *item, const char *name, long index, size_t max,
                               ingest_errors *errs, char num[64], int *oom)
{
    json_t *v = json_object_get(item, name);
    if (v == NULL) {
        *oom |= add_error(errs, max, index, name, "is missing");
        return NULL;
    }
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            *oom |= add_error(errs, max, index, name, "must not contain NUL");
            return NULL;
        }
        return json_string_value(v);
    }
    if (strcmp(name, "amount") == 0 && json_is_integer(v)) {
        snprintf(num, 64, "%lld", (long long)json_integer_value(v));
        return num;
    }
    if (strcmp(name, "amount") == 0 && json_is_real(v) && isfinite(json_real_value(v))) {
        snprintf(num, 64, "%.15g", json_real_value(v));
        return num;
    }
    *oom |= add_error(errs, max, index, name,
                      strcmp(name, "amount") == 0 ? "must be a number or a decimal string"
                                                  : "must be a string");
    return NULL;
}

static int parse_item(subs_batch *b, json_t *item, long index, int64_t now,
                      const ingest_limits *lim, ingest_errors *errs)
{
    size_t max = lim->max_errors;
    if (!json_is_object(item))
        return add_error(errs, max, index, NULL, "must be an object");
    int oom = 0;
    const char *name;
    json_t *v;
    json_object_foreach(item, name, v)
    {
        bool known = false;
        for (int c = 0; c < SUBS_N_COLUMNS; c++)
            known = known || strcmp(name, subs_columns[c]) == 0;
        if (!known)
            oom |= add_error(errs, max, index, name, "unknown member");
    }
    const char *f[SUBS_N_COLUMNS];
    char num[64];
    bool all = true;
    for (int c = 0; c < SUBS_N_COLUMNS; c++)
        all = (f[c] = member_text(item, subs_columns[c], index, max, errs, num, &oom)) !=
                  NULL &&
              all;
    if (oom)
        return -1;
    return all ? subs_batch_add_row(b, f, index, now, lim, errs) : 0;
}

ingest_result subs_batch_parse(const char *body, size_t len, const ingest_limits *lim,
                               int64_t now, subs_batch *out, ingest_errors *errs)
{
    memset(out, 0, sizeof *out);
    memset(errs, 0, sizeof *errs);
    json_error_t je;
    json_t *root =
        body != NULL ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (root == NULL) {
        if (add_error(errs, 1, -1, NULL, "malformed JSON at line %d, column %d: %s",
                      body != NULL ? je.line : 1, body != NULL ? je.column : 1,
                      body != NULL ? je.text : "empty body") != 0)
            return INGEST_ENOMEM;
        return INGEST_MALFORMED;
    }
    ingest_result r = INGEST_OK;
    json_t *items = json_is_object(root) ? json_object_get(root, "items") : NULL;
    size_t max = lim->max_errors;
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_object_size(root) != 1) {
        r = add_error(errs, max, -1, "items",
                      "the body must be {\"items\": [...]} with at least one event") != 0
                ? INGEST_ENOMEM
                : INGEST_INVALID;
    } else if (json_array_size(items) > lim->max_items) {
        r = add_error(errs, max, -1, "items", "more than %zu events in one batch",
                      lim->max_items) != 0
                ? INGEST_ENOMEM
                : INGEST_TOO_MANY;
    } else {
        for (size_t i = 0; r == INGEST_OK && i < json_array_size(items); i++)
            if (parse_item(out, json_array_get(items, i), (long)i, now, lim, errs) != 0)
                r = INGEST_ENOMEM;
        if (r == INGEST_OK && errs->n_total > 0)
            r = INGEST_INVALID;
    }
    json_decref(root);
    if (r != INGEST_OK)
        subs_batch_free(out);
    if (r == INGEST_ENOMEM)
        ingest_errors_free(errs);
    return r;
}
