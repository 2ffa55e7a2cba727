/* GET /v1/customers: lists of scored customers for campaign tools, e.g.
 *   /v1/customers?churn_risk=high&sort=-predicted_ltv&limit=100&cursor=...
 * Filters: churn_risk, lifecycle_stage, at_risk. sort: one of key_names,
 * "-" first for descending; ties go by customer id (byte order, ascending),
 * and sort=-customer_id is descending. limit: 1..1000 (100). The scoring
 * options are those of GET /v1/customers/{id} (score_doc.h), so an item
 * equals that customer's own document; horizon_days is bounded by
 * list_horizon_days_max.
 *
 * This file reads the query, writes the cursor text and the JSON; the page
 * itself, its bounds and its budget are app_list_run's
 * (app/customer_query.h, docs/lists.md). Pagination is by key set:
 * next_cursor names the sort and the last item's (key, customer id); the
 * next page holds the items strictly after it in the order. Body:
 *   {"customers": [...], "next_cursor": "..." | null, "as_of": "YYYY-MM-DD"} */
#include "http/customers.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "app/app.h"
#include "app/customer_query.h"
#include "app/list_table.h"
#include "cache/cache.h"
#include "http/query.h"
#include "http/score_doc.h"
#include "log/log.h"
#include "summary/summary.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX APP_LIST_LIMIT_MAX

static const char *const key_names[APP_KEY_COUNT] = {
    "customer_id", "p_alive", "expected_purchases", "predicted_ltv", "expected_spend",
    "frequency",   "recency", "last_purchase"};

static const char *const known_query[] = {
    SCORE_QUERY_NAMES, "churn_risk", "lifecycle_stage", "at_risk", "sort", "limit",
    "cursor",          NULL};

/* A query and the sort as given (e.g. "-p_alive"), for the cursor. */
typedef struct list_query {
    app_list_query q;
    const char *sort;
} list_query;

/* ---------------------------------------------------------------- cursor */

/* "<sort>.<16 hex digits: the key's bits>.<the id in hex>" */
static char *cursor_make(const list_query *q, const app_list_item *it)
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

/* Refuses a horizon_days past list_horizon_days_max: the cost of one
 * customer's LTV grows with the horizon, and a page scores up to 1001. */
static bool horizon_or_reply(http_request *req, const list_query *lq, http_result *res)
{
    long max = req->ctx->config->list_horizon_days_max;
    if (lq->q.o.horizon_days <= max)
        return true;
    char detail[160];
    snprintf(detail, sizeof detail,
             "horizon_days must be at most %ld in lists (list_horizon_days_max)", max);
    return bad_param(req, detail, res);
}

static bool query_or_reply(http_request *req, list_query *lq, http_result *res)
{
    memset(lq, 0, sizeof *lq);
    app_list_query *q = &lq->q;
    double limit = LIST_LIMIT_DEFAULT;
    if (!score_query_known_or_reply(req, known_query, res) ||
        !score_opts_or_reply(req, &q->o, res) || !horizon_or_reply(req, lq, res) ||
        !enum_param(req, "churn_risk", score_risk_parse, "low, medium, high", &q->risk,
                    res) ||
        !enum_param(req, "lifecycle_stage", score_stage_parse,
                    "new, developing, established, sleeping, lost", &q->stage, res) ||
        !enum_param(req, "at_risk", bool_parse, "true, false", &q->at_risk, res) ||
        !query_number(req, "limit", 1, LIST_LIMIT_MAX, true, &limit, res))
        return false;
    q->limit = (size_t)limit;
    lq->sort = key_names[APP_KEY_CUSTOMER_ID];
    if (http_query(req, "sort", &lq->sort) < 0)
        return bad_param(req, "sort is not valid percent-encoding", res);
    const char *name = lq->sort + (lq->sort[0] == '-');
    q->desc = lq->sort[0] == '-';
    q->key = APP_KEY_COUNT;
    for (int k = 0; k < APP_KEY_COUNT; k++) {
        if (strcmp(name, key_names[k]) == 0)
            q->key = (app_list_key)k;
    }
    if (q->key == APP_KEY_COUNT)
        return bad_param(req,
                         "sort must be one of customer_id, p_alive, expected_purchases, "
                         "predicted_ltv, expected_spend, frequency, recency, "
                         "last_purchase, each optionally preceded by -",
                         res);
    const char *cursor = NULL;
    int c = http_query(req, "cursor", &cursor);
    if (c < 0 ||
        (c > 0 && !customer_list_cursor_parse(lq->sort, cursor, &q->cursor_key,
                                              q->cursor_id, sizeof q->cursor_id)))
        return bad_param(req, "cursor is not a next_cursor of this sort", res);
    q->has_cursor = c > 0;
    return true;
}

static http_result reply_page(http_request *req, const list_query *lq,
                              const app_list_page *p)
{
    const app_list_query *q = &lq->q;
    size_t shown = p->n < q->limit ? p->n : q->limit;
    char *next = (p->more || p->n > q->limit) && shown > 0
                     ? cursor_make(lq, &p->items[shown - 1])
                     : NULL;
    json_out b = {0};
    json_out_raw(&b, "{\"customers\":[");
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            json_out_raw(&b, ",");
        app_score_row row = p->items[i].row;
        if (cache_get_attrs(((app_tenant *)req->tenant_ref)->cache, p->items[i].id,
                            &row.channel, &row.campaign) != CACHE_OK)
            row.channel = row.campaign = NULL;
        score_doc_write(&b, p->items[i].id, p->m, &q->o, &row);
    }
    json_out_raw(&b, "],\"next_cursor\":");
    if (next != NULL)
        json_out_str(&b, next);
    else
        json_out_raw(&b, "null");
    char day[11];
    if (summary_format_day(q->o.as_of_day, day) != 0)
        day[0] = '\0';
    json_out_raw(&b, ",\"as_of\":");
    json_out_str(&b, day);
    json_out_raw(&b, "}");
    if (p->n > q->limit && next == NULL)
        b.failed = true; /* out of memory for the cursor */
    free(next);
    size_t len = 0;
    char *body = json_out_take(&b, &len);
    return http_reply_owned(req, 200, "application/json", body, len);
}

/* app_list_query.gone: the client closed its side of the connection (a
 * peek at the socket reads end of file, or the connection was reset). */
static bool client_gone(void *arg)
{
    http_request *req = arg;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return false;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

http_result customer_list_reply_failure(http_request *req, app_list_status st,
                                        size_t n_customers)
{
    const ltvd_config *cfg = req->ctx->config;
    char detail[400];
    switch (st) {
    case APP_LIST_NO_MODEL: /* says which part of the eligibility rule is missing */
        app_no_model_detail(req->tenant_ref, detail, sizeof detail);
        return http_reply_problem(req, PROBLEM_NO_MODEL, detail, NULL);
    case APP_LIST_DB_FAILED:
        return http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE,
                                  "summaries as of that day need the database", NULL);
    case APP_LIST_BUSY:
        snprintf(detail, sizeof detail,
                 "%d list request(s) already running, the most allowed at once "
                 "(list_thread_share)",
                 app_list_slots(cfg));
        return http_reply_problem(req, PROBLEM_TOO_BUSY, detail, NULL);
    case APP_LIST_BUDGET:
        snprintf(detail, sizeof detail,
                 "the list took longer than its budget of %ld ms (list_budget_ms)",
                 cfg->list_budget_ms);
        return http_reply_problem(req, PROBLEM_BUDGET_EXCEEDED, detail, NULL);
    case APP_LIST_WARMING:
        snprintf(detail, sizeof detail,
                 "the scores of the %zu customers for this model and day are being "
                 "computed; retry shortly",
                 n_customers);
        return http_reply_problem(req, PROBLEM_BUDGET_EXCEEDED, detail, NULL);
    case APP_LIST_TOO_MANY:
        snprintf(detail, sizeof detail,
                 "this list scores every customer per request (as_of other than the "
                 "service's day, or sort by expected_purchases or predicted_ltv with "
                 "horizon_days or discount_rate other than the configured): at most %ld "
                 "customers (list_rescore_max), there are %zu",
                 cfg->list_rescore_max, n_customers);
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    case APP_LIST_GONE:
        return HTTP_FATAL; /* nobody to answer: close */
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
}

/* GET /v1/customers */
static http_result list_customers(http_request *req)
{
    list_query lq;
    http_result res;
    if (!query_or_reply(req, &lq, &res))
        return res;
    score_mark_stale(req);
    lq.q.gone = client_gone;
    lq.q.gone_arg = req;
    app_list_page p;
    app_list_status st = app_list_run(req->tenant_ref, &lq.q, &p);
    res = st == APP_LIST_OK ? reply_page(req, &lq, &p)
                            : customer_list_reply_failure(req, st, p.n_customers);
    if (p.n_failed > 0) /* no customer id: logs carry no customer data */
        log_write(LOG_WARN, "list: %zu customer(s) left out, scores not computable (%s)",
                  p.n_failed, gsl_strerror(p.failure));
    app_list_page_free(&p);
    return res;
}

const http_route customer_list_routes[] = {
    {"GET", "/v1/customers", list_customers, 0, NULL, http_offload_always},
};
const size_t customer_list_nroutes =
    sizeof customer_list_routes / sizeof customer_list_routes[0];
