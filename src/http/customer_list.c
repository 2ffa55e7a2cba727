/* GET /v1/customers: lists of scored customers for campaign tools, e.g.
 *   /v1/customers?churn_risk=high&sort=-predicted_ltv&limit=100&cursor=...
 * Filters: churn_risk, lifecycle_stage, at_risk. sort: one of key_names,
 * "-" first for descending; ties go by customer id (byte order, ascending),
 * and sort=-customer_id is descending. limit: 1..1000 (100). The scoring options are
 * those of GET /v1/customers/{id} (score_doc.h), so an item equals that
 * customer's own document.
 *
 * Pagination is by key set: next_cursor names the sort and the last item's
 * (key, customer id); the next page holds the items strictly after it in the
 * order. A page is found by one pass over the cache keeping the best
 * limit + 1 items in a bounded heap, so memory stays O(limit) whatever the
 * number of customers, and pages never repeat or skip a customer whose score
 * did not change between the requests. Body:
 *   {"customers": [...], "next_cursor": "..." | null, "as_of": "YYYY-MM-DD"} */
#include "http/customers.h"

#include <gsl/gsl_errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cache/cache.h"
#include "log/log.h"
#include "http/score_doc.h"
#include "store/customers.h"
#include "summary/summary.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
/* Customers recomputed from PostgreSQL per statement (as_of in the past). */
#define LIST_LATE_CHUNK 500

typedef enum list_key {
    KEY_CUSTOMER_ID,
    KEY_P_ALIVE,
    KEY_EXPECTED,
    KEY_LTV,
    KEY_SPEND,
    KEY_FREQUENCY,
    KEY_RECENCY,
    KEY_LAST_PURCHASE,
    KEY_COUNT
} list_key;

static const char *const key_names[KEY_COUNT] = {
    "customer_id", "p_alive", "expected_purchases", "predicted_ltv",
    "expected_spend", "frequency", "recency", "last_purchase"};

static const char *const known_query[] = {SCORE_QUERY_NAMES, "churn_risk",
                                          "lifecycle_stage", "at_risk", "sort",
                                          "limit", "cursor", NULL};

typedef struct list_query {
    score_opts o;
    const char *sort; /* as given, e.g. "-p_alive" */
    list_key key;
    bool desc;
    int risk, stage, at_risk; /* -1: any */
    size_t limit;
    bool has_cursor;
    double cursor_key;
    char cursor_id[CACHE_ID_MAX + 1];
} list_query;

typedef struct list_item {
    char *id;
    double key;
    score_row row;
} list_item;

/* One pass over the customers. */
typedef struct list_walk {
    app *a;
    const cache_model *m;
    const list_query *q;
    list_item *heap; /* a max-heap in the list order: the worst item on top */
    size_t n, cap;   /* cap = limit + 1 */
    store_db *db;
    char *late[LIST_LATE_CHUNK];
    size_t n_late;
    size_t n_failed; /* customers whose scores could not be computed */
    int failure;     /* the code of the first of them */
    bool db_failed, no_memory;
} list_walk;

/* ---------------------------------------------------------------- order */

static int compare(const list_query *q, double ka, const char *ia, double kb, const char *ib)
{
    if (q->key != KEY_CUSTOMER_ID && ka != kb)
        return (ka < kb) != q->desc ? -1 : 1;
    int c = strcmp(ia, ib);
    c = (c > 0) - (c < 0);
    return q->key == KEY_CUSTOMER_ID && q->desc ? -c : c;
}

static double key_of(list_key k, const score_row *row)
{
    const cache_score_result *r = &row->r;
    switch (k) {
    case KEY_P_ALIVE:
        return r->p_alive;
    case KEY_EXPECTED:
        return r->expected;
    case KEY_LTV:
        return r->has_spend ? r->clv : 0;
    case KEY_SPEND:
        return r->has_spend ? r->expected_spend : 0;
    case KEY_FREQUENCY:
        return r->x;
    case KEY_RECENCY:
        return r->t_x;
    case KEY_LAST_PURCHASE:
        return r->summary.last_day;
    default:
        return 0;
    }
}

static int item_cmp(const list_walk *w, size_t i, size_t j)
{
    const list_item *a = &w->heap[i], *b = &w->heap[j];
    return compare(w->q, a->key, a->id, b->key, b->id);
}

static void heap_swap(list_walk *w, size_t i, size_t j)
{
    list_item t = w->heap[i];
    w->heap[i] = w->heap[j];
    w->heap[j] = t;
}

static void sift_up(list_walk *w, size_t i)
{
    while (i > 0 && item_cmp(w, (i - 1) / 2, i) < 0) {
        heap_swap(w, (i - 1) / 2, i);
        i = (i - 1) / 2;
    }
}

static void sift_down(list_walk *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < w->n && item_cmp(w, l, big) > 0)
            big = l;
        if (r < w->n && item_cmp(w, r, big) > 0)
            big = r;
        if (big == i)
            return;
        heap_swap(w, i, big);
        i = big;
    }
}

/* ---------------------------------------------------------------- the walk */

static bool passes(const list_query *q, const score_row *row)
{
    return (q->risk < 0 || (int)row->risk == q->risk) &&
           (q->stage < 0 || (int)row->stage == q->stage) &&
           (q->at_risk < 0 || (row->risk == SCORE_RISK_HIGH) == (q->at_risk == 1));
}

/* Scores one customer and keeps it when it belongs to the page. A
 * customer whose scores cannot be computed is left out (and counted): one
 * such customer must not take every list down. Returns 0 to go on, 1 to
 * stop (out of memory). */
static int consider(list_walk *w, const char *id, const cache_summary *s)
{
    list_item it;
    int rc = score_compute(w->m, s, &w->q->o, w->a->config, &it.row);
    if (rc != GSL_SUCCESS) {
        if (w->n_failed++ == 0)
            w->failure = rc;
        return 0;
    }
    if (!passes(w->q, &it.row))
        return 0;
    it.key = key_of(w->q->key, &it.row);
    if (w->q->has_cursor &&
        compare(w->q, it.key, id, w->q->cursor_key, w->q->cursor_id) <= 0)
        return 0;
    if (w->n == w->cap && compare(w->q, it.key, id, w->heap[0].key, w->heap[0].id) >= 0)
        return 0;
    if ((it.id = strdup(id)) == NULL) {
        w->no_memory = true;
        return 1;
    }
    if (w->n < w->cap) {
        w->heap[w->n] = it;
        sift_up(w, w->n++);
    } else {
        free(w->heap[0].id);
        w->heap[0] = it;
        sift_down(w, 0);
    }
    return 0;
}

static int consider_stored(const store_customer *c, void *arg)
{
    cache_summary s;
    return app_summary_from_store(c, &s) ? consider(arg, c->customer_id, &s) : 0;
}

/* Scores the customers waiting for their summary as of the day. */
static int flush_late(list_walk *w)
{
    if (w->n_late == 0)
        return 0;
    int rc = 1;
    if (w->db == NULL && (w->db = store_pool_acquire(w->a->pool, APP_POOL_WAIT_MS)) == NULL)
        w->db_failed = true;
    else if ((rc = store_customers_as_of(w->db, (const char *const *)w->late, w->n_late,
                                         w->q->o.as_of_day, consider_stored, w)) < 0)
        w->db_failed = true;
    for (size_t i = 0; i < w->n_late; i++)
        free(w->late[i]);
    w->n_late = 0;
    return rc != 0;
}

static int visit(const char *id, const cache_summary *s, void *arg)
{
    list_walk *w = arg;
    if (s->first_day > w->q->o.as_of_day)
        return 0;
    if (s->last_day <= w->q->o.as_of_day)
        return consider(w, id, s);
    if ((w->late[w->n_late] = strdup(id)) == NULL) {
        w->no_memory = true;
        return 1;
    }
    return ++w->n_late == LIST_LATE_CHUNK ? flush_late(w) : 0;
}

/* Sorts the heap into the list order (heap sort: the worst goes last). */
static void heap_sort(list_walk *w)
{
    size_t n = w->n;
    while (w->n > 1) {
        heap_swap(w, 0, --w->n);
        sift_down(w, 0);
    }
    w->n = n;
}

/* ---------------------------------------------------------------- cursor */

/* "<sort>.<16 hex digits: the key's bits>.<the id in hex>" */
static char *cursor_make(const list_query *q, const list_item *it)
{
    uint64_t bits;
    memcpy(&bits, &it->key, sizeof bits);
    size_t idlen = strlen(it->id), len = strlen(q->sort) + 19 + 2 * idlen;
    char *c = malloc(len + 1);
    if (c == NULL)
        return NULL;
    int k = snprintf(c, len + 1, "%s.%016" PRIx64 ".", q->sort, bits);
    for (size_t i = 0; i < idlen; i++)
        k += snprintf(c + k, len + 1 - (size_t)k, "%02x", (unsigned char)it->id[i]);
    return c;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool customer_list_cursor_parse(const char *sort, const char *c, double *key, char *id,
                                size_t id_cap)
{
    size_t sl = strlen(sort);
    if (strncmp(c, sort, sl) != 0 || c[sl] != '.')
        return false;
    const char *p = c + sl + 1;
    uint64_t bits = 0;
    for (int i = 0; i < 16; i++) {
        int d = hex_digit(p[i]);
        if (d < 0)
            return false;
        bits = bits << 4 | (uint64_t)d;
    }
    if (p[16] != '.')
        return false;
    memcpy(key, &bits, sizeof bits);
    if (*key != *key) /* NaN: never a key */
        return false;
    p += 17;
    size_t n = strlen(p);
    if (n == 0 || n % 2 != 0 || n / 2 >= id_cap)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(p[2 * i]), lo = hex_digit(p[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0)
            return false;
        id[i] = (char)(hi << 4 | lo);
    }
    id[n / 2] = '\0';
    return true;
}

/* ---------------------------------------------------------------- request */

static bool bad_param(http_request *req, const char *detail, http_result *res)
{
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

/* Reads the enum parameter name into *out (-1 when absent). */
static bool enum_param(http_request *req, const char *name, int (*parse)(const char *),
                       const char *allowed, int *out, http_result *res)
{
    const char *v = NULL;
    int q = http_query(req, name, &v);
    *out = -1;
    if (q == 0)
        return true;
    if (q > 0 && (*out = parse(v)) >= 0)
        return true;
    char detail[160];
    snprintf(detail, sizeof detail, "%s must be one of %s", name, allowed);
    return bad_param(req, detail, res);
}

static int bool_parse(const char *s)
{
    return strcmp(s, "true") == 0 ? 1 : strcmp(s, "false") == 0 ? 0 : -1;
}

static bool query_or_reply(http_request *req, list_query *q, http_result *res)
{
    memset(q, 0, sizeof *q);
    double limit = LIST_LIMIT_DEFAULT;
    if (!score_query_known_or_reply(req, known_query, res) ||
        !score_opts_or_reply(req, &q->o, res) ||
        !enum_param(req, "churn_risk", score_risk_parse, "low, medium, high", &q->risk,
                    res) ||
        !enum_param(req, "lifecycle_stage", score_stage_parse,
                    "new, developing, established, sleeping, lost", &q->stage, res) ||
        !enum_param(req, "at_risk", bool_parse, "true, false", &q->at_risk, res) ||
        !score_query_number(req, "limit", 1, LIST_LIMIT_MAX, true, &limit, res))
        return false;
    q->limit = (size_t)limit;
    q->sort = key_names[KEY_CUSTOMER_ID];
    if (http_query(req, "sort", &q->sort) < 0)
        return bad_param(req, "sort is not valid percent-encoding", res);
    const char *name = q->sort + (q->sort[0] == '-');
    q->desc = q->sort[0] == '-';
    q->key = KEY_COUNT;
    for (int k = 0; k < KEY_COUNT; k++) {
        if (strcmp(name, key_names[k]) == 0)
            q->key = (list_key)k;
    }
    if (q->key == KEY_COUNT)
        return bad_param(req,
                         "sort must be one of customer_id, p_alive, expected_purchases, "
                         "predicted_ltv, expected_spend, frequency, recency, "
                         "last_purchase, each optionally preceded by -",
                         res);
    const char *cursor = NULL;
    int c = http_query(req, "cursor", &cursor);
    if (c < 0 || (c > 0 && !customer_list_cursor_parse(q->sort, cursor, &q->cursor_key,
                                                        q->cursor_id, sizeof q->cursor_id)))
        return bad_param(req, "cursor is not a next_cursor of this sort", res);
    q->has_cursor = c > 0;
    return true;
}

static http_result reply_page(http_request *req, list_walk *w)
{
    heap_sort(w);
    size_t shown = w->n < w->q->limit ? w->n : w->q->limit;
    char *next = w->n > w->q->limit ? cursor_make(w->q, &w->heap[shown - 1]) : NULL;
    json_out b = {0};
    json_out_raw(&b, "{\"customers\":[");
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            json_out_raw(&b, ",");
        score_doc_write(&b, w->heap[i].id, w->m, &w->q->o, &w->heap[i].row);
    }
    json_out_raw(&b, "],\"next_cursor\":");
    if (next != NULL)
        json_out_str(&b, next);
    else
        json_out_raw(&b, "null");
    char day[11];
    if (summary_format_day(w->q->o.as_of_day, day) != 0)
        day[0] = '\0';
    json_out_raw(&b, ",\"as_of\":");
    json_out_str(&b, day);
    json_out_raw(&b, "}");
    if (w->n > w->q->limit && next == NULL)
        b.failed = true; /* out of memory for the cursor */
    free(next);
    size_t len = 0;
    char *body = json_out_take(&b, &len);
    return http_reply_owned(req, 200, "application/json", body, len);
}

/* GET /v1/customers */
static http_result list_customers(http_request *req)
{
    app *a = req->ctx->app;
    list_query q;
    http_result res;
    if (!query_or_reply(req, &q, &res))
        return res;
    score_mark_stale(req);
    list_walk w = {.a = a, .q = &q, .cap = q.limit + 1};
    w.m = cache_snapshot_acquire(a->cache);
    if (w.m == NULL)
        return http_reply_problem(req, PROBLEM_NO_MODEL, "no model has been fitted yet",
                                  NULL);
    w.heap = calloc(w.cap, sizeof *w.heap);
    int rc = w.heap == NULL ? CACHE_ENOMEM : cache_foreach(a->cache, visit, &w);
    if (rc == 0)
        flush_late(&w);
    if (rc == CACHE_ENOMEM || w.no_memory)
        res = http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    else if (w.db_failed)
        res = http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE,
                                 "summaries as of that day need the database", NULL);
    else
        res = reply_page(req, &w);
    if (w.n_failed > 0) /* no customer id: logs carry no customer data */
        log_write(LOG_WARN, "list: %zu customer(s) left out, scores not computable (%s)",
                  w.n_failed, gsl_strerror(w.failure));
    for (size_t i = 0; i < w.n_late; i++)
        free(w.late[i]);
    for (size_t i = 0; i < w.n; i++)
        free(w.heap[i].id);
    free(w.heap);
    if (w.db != NULL)
        store_pool_release(a->pool, w.db);
    cache_snapshot_release(w.m);
    return res;
}

const http_route customer_list_routes[] = {
    {"GET", "/v1/customers", list_customers, 0, NULL},
};
const size_t customer_list_nroutes =
    sizeof customer_list_routes / sizeof customer_list_routes[0];
