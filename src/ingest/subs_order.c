/* Subscription events: the order rules over stored and new events (see
 * subs_check_order in subs.h). Every subscription's events are sorted by
 * time and walked once; errors go to the batch's items only (the stored
 * events were valid when they were stored), at most one per item. */
#include <stdlib.h>
#include <string.h>

#include "ingest/subs.h"

/* An event of the merged list: a stored one (index -1) or a batch item. */
typedef struct ev {
    const char *sub, *id, *customer, *amount, *period;
    int kind; /* subs_kind */
    int64_t t;
    long index; /* position in the batch, -1 when stored */
} ev;

typedef struct order_ctx {
    ingest_errors *errs;
    size_t max;
    char *flagged; /* per batch item: an error is reported */
    int oom;
} order_ctx;

static void flag(order_ctx *c, long index, const char *field, const char *reason,
                 const ev *other)
{
    if (index < 0 || c->flagged[index])
        return;
    c->flagged[index] = 1;
    ingest_errors *e = c->errs;
    e->n_total++;
    if (c->max > 0 && e->n >= c->max)
        return;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        ingest_error *p = realloc(e->items, cap * sizeof *p);
        if (p == NULL) {
            c->oom = 1;
            return;
        }
        e->items = p;
        e->cap = cap;
    }
    size_t len = strlen(reason) + (other != NULL ? strlen(other->id) + 40 : 0) + 1;
    char *r = malloc(len);
    char *f = field != NULL ? strdup(field) : NULL;
    if (r == NULL || (field != NULL && f == NULL)) {
        free(r);
        free(f);
        c->oom = 1;
        return;
    }
    if (other != NULL)
        snprintf(r, len, "%s (event %s, %s)", reason, other->id,
                 other->index < 0 ? "stored" : "in this batch");
    else
        snprintf(r, len, "%s", reason);
    e->items[e->n++] = (ingest_error){index, f, r};
}

/* A decimal text without leading zeros and trailing fraction zeros, so
 * "12.5000" and "012.5" compare equal; ".5" (as sent) reads as "0.5" (as
 * PostgreSQL gives it back), or a retried batch was refused. */
static void amount_norm(const char *s, char out[INGEST_AMOUNT_MAX + 1])
{
    while (*s == '0' && s[1] != '\0' && s[1] != '.')
        s++;
    snprintf(out, INGEST_AMOUNT_MAX + 1, "%s%s", *s == '.' ? "0" : "", s);
    char *dot = strchr(out, '.');
    if (dot == NULL)
        return;
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
}

static bool same_payload(const ev *a, const ev *b)
{
    char x[INGEST_AMOUNT_MAX + 1], y[INGEST_AMOUNT_MAX + 1];
    amount_norm(a->amount, x);
    amount_norm(b->amount, y);
    return strcmp(a->customer, b->customer) == 0 && a->kind == b->kind && a->t == b->t &&
           strcmp(x, y) == 0 && strcmp(a->period, b->period) == 0;
}

static int by_key(const void *x, const void *y)
{
    const ev *a = x, *b = y;
    int c = strcmp(a->sub, b->sub);
    if (c == 0)
        c = strcmp(a->id, b->id);
    if (c == 0) /* stored first, then in batch order */
        c = a->index < b->index ? -1 : a->index > b->index;
    return c;
}

static int by_time(const void *x, const void *y)
{
    const ev *a = x, *b = y;
    int c = strcmp(a->sub, b->sub);
    if (c == 0)
        c = a->t < b->t ? -1 : a->t > b->t;
    if (c == 0)
        c = a->kind - b->kind;
    if (c == 0)
        c = a->index < b->index ? -1 : a->index > b->index;
    return c;
}

/* Duplicates: equal repeats of a key are dropped (dup set), others flagged;
 * the events left are moved to the front of v. Returns their count. */
static size_t drop_repeats(ev *v, size_t n, order_ctx *c, bool *dup)
{
    qsort(v, n, sizeof *v, by_key);
    size_t kept = 0;
    for (size_t i = 0, first = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i].sub, v[first].sub) != 0 ||
            strcmp(v[i].id, v[first].id) != 0) {
            first = i;
            v[kept++] = v[i];
            continue;
        }
        if (v[i].index < 0) /* two stored alike: the key forbids it; ignored */
            continue;
        if (same_payload(&v[i], &v[first]))
            dup[v[i].index] = true;
        else
            flag(c, v[i].index, "id",
                 "this id was already given to another event of the subscription",
                 &v[first]);
    }
    return kept;
}

/* The rules over one subscription's events v[0..n), sorted by time. */
static void check_one(const ev *v, size_t n, order_ctx *c)
{
    long first_start = -1, second_start = -1, first_cancel = -1, n_starts = 0;
    long first_stored = -1, last_stored = -1;
    const ev *ref = NULL; /* the event giving customer_id and billing_period */
    for (size_t p = 0; p < n; p++) {
        if (v[p].kind == SUBS_START && n_starts++ == 0)
            first_start = (long)p;
        else if (v[p].kind == SUBS_START && n_starts == 2)
            second_start = (long)p;
        if (v[p].index < 0 && first_stored < 0)
            first_stored = (long)p;
        if (v[p].index < 0)
            last_stored = (long)p;
        if (v[p].kind == SUBS_CANCEL && first_cancel < 0)
            first_cancel = (long)p;
        if (ref == NULL || (ref->index >= 0 && v[p].index < 0))
            ref = &v[p];
    }
    for (size_t p = 0; p < n; p++) {
        const ev *e = &v[p];
        if (e->index < 0)
            continue;
        if (strcmp(e->customer, ref->customer) != 0)
            flag(c, e->index, "customer_id",
                 "differs from the customer_id of the subscription's events", ref);
        if (strcmp(e->period, ref->period) != 0)
            flag(c, e->index, "billing_period",
                 "differs from the billing_period of the subscription's events", ref);
        if (e->kind == SUBS_START && n_starts > 1)
            flag(c, e->index, "event", "the subscription has another start",
                 &v[first_start == (long)p ? second_start : first_start]);
        if (e->kind != SUBS_START && first_start < 0)
            flag(c, e->index, "event",
                 e->kind == SUBS_RENEW ? "a renew without a start of the subscription"
                                       : "a cancel without a start of the subscription",
                 NULL);
        if (e->kind != SUBS_START && first_start > (long)p)
            flag(c, e->index, "occurred_at",
                 e->kind == SUBS_RENEW ? "a renew before the subscription's start"
                                       : "a cancel before the subscription's start",
                 &v[first_start]);
        if (e->kind == SUBS_START && first_stored >= 0 && first_stored < (long)p)
            flag(c, e->index, "occurred_at",
                 "a stored event of the subscription comes before this start",
                 &v[first_stored]);
        if (first_cancel >= 0 && (long)p > first_cancel)
            flag(c, e->index, "occurred_at", "an event after the subscription's cancel",
                 &v[first_cancel]);
        if ((long)p == first_cancel && last_stored > (long)p)
            flag(c, e->index, "occurred_at",
                 "a stored event of the subscription comes after this cancel",
                 &v[last_stored]);
    }
}

int subs_check_order(const subs_batch *b, const store_sub_event *stored, size_t n_stored,
                     size_t max_errors, ingest_errors *errs, bool *dup)
{
    size_t n = n_stored + b->n;
    ev *v = malloc((n > 0 ? n : 1) * sizeof *v);
    order_ctx c = {errs, max_errors, calloc(b->n > 0 ? b->n : 1, 1), 0};
    if (v == NULL || c.flagged == NULL) {
        free(v);
        free(c.flagged);
        return -1;
    }
    size_t before = errs->n_total;
    for (size_t i = 0; i < n_stored; i++) {
        const store_sub_event *s = &stored[i];
        subs_kind k = SUBS_START;
        subs_kind_parse(s->event, &k);
        v[i] = (ev){s->subscription_id, s->id,  s->customer_id,   s->amount,
                    s->billing_period,  (int)k, s->occurred_at_s, -1};
    }
    for (size_t i = 0; i < b->n; i++) {
        const subs_item *it = &b->items[i];
        dup[i] = false;
        v[n_stored + i] = (ev){
            it->subscription_id,          it->id,         it->customer_id,   it->amount,
            subs_period_name(it->period), (int)it->event, it->occurred_at_s, (long)i};
    }
    size_t kept = drop_repeats(v, n, &c, dup);
    qsort(v, kept, sizeof *v, by_time);
    for (size_t i = 0, end; i < kept; i = end) {
        for (end = i + 1; end < kept && strcmp(v[end].sub, v[i].sub) == 0;)
            end++;
        check_one(v + i, end - i, &c);
    }
    free(v);
    free(c.flagged);
    if (c.oom)
        return -1;
    return errs->n_total != before ? 1 : 0;
}

int subs_store_check(void *arg, const store_sub_event *stored, size_t n)
{
    subs_check_ctx *c = arg;
    ingest_errors_free(c->errs);
    return subs_check_order(c->b, stored, n, c->max_errors, c->errs, c->dup);
}
