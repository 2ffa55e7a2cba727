/* PUT /v1/customers/{customer_id}/attributes, PUT and GET
 * /v1/acquisition/spend. Bodies are validated whole before anything is
 * written (422 validation-failed lists every error with its index and
 * member, as for transactions; nothing is stored); handlers parse, call
 * app/acquisition.h and reply.
 *   attributes: {"acquisition_channel": string|null, "campaign":
 *     string|null}, both members required (PUT replaces: null is unknown);
 *     a string is 1..128 bytes of UTF-8 without control characters. 404
 *     customer-not-found when the customer has no stored transaction.
 *   spend: {"items": [{"channel", "month": "YYYY-MM", "spend", "leads"?}]},
 *     1..1000 items, each (channel, month) once; month from 1970-01 to the
 *     month after the current one (UTC); spend a number or decimal string
 *     >= 0 (at most 14 digits before the point, 4 after); leads an integer
 *     >= 0 (at most 2^53) or null. Each (channel, month) row is replaced.
 *   GET spend: ?limit=1..1000 (100) &cursor=...; rows by channel then
 *     month: {"items": [...], "next_cursor": string|null}. */
#include "http/acquisition.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/acquisition.h"
#include "base/month.h"
#include "http/json_body.h"
#include "http/json_out.h"
#include "http/query.h"
#include "http/url.h"
#include "ingest/batch.h"

/* At most this many errors listed (the rest counted in the detail). */
#define MAX_ERRORS 1000
#define SPEND_PAGE_DEFAULT 100
#define SPEND_PAGE_MAX 1000
/* The first month of spend: 1970-01, as transactions' occurred_at. */
#define MONTH_MIN (1970 * 12)

/* ------------------------------------------------------------ helpers */

/* A list of validation errors as the problem's `errors`. */
typedef struct errs {
    json_t *arr;
    size_t n;
} errs;

static void add_error(errs *e, long index, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(errs *e, long index, const char *field, const char *fmt, ...)
{
    e->n++;
    if (json_array_size(e->arr) >= MAX_ERRORS)
        return;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    json_array_append_new(
        e->arr,
        json_pack("{s:I, s:o, s:s}", "index", (json_int_t)index, "field",
                  field != NULL ? json_string(field) : json_null(), "reason", reason));
}

static http_result reply_errors(http_request *req, errs *e)
{
    char detail[160];
    snprintf(detail, sizeof detail, "%zu invalid value(s); nothing was stored", e->n);
    http_result r = http_reply_problem(req, PROBLEM_VALIDATION_FAILED, detail, e->arr);
    e->arr = NULL;
    return r;
}

/* An attribute-like string member (an acquisition channel, a campaign):
 * NULL after an error, *null_ok set for JSON null when allowed. */
static const char *attr_string(errs *e, long index, const char *field, const json_t *v,
                               bool null_ok)
{
    char buf[64];
    if (null_ok && json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        add_error(e, index, field,
                  null_ok ? "must be a string or null" : "must be a string");
        return NULL;
    }
    const char *why = ingest_check_id(json_string_value(v), json_string_length(v),
                                      INGEST_ATTR_BYTES, buf, sizeof buf);
    if (why != NULL) {
        add_error(e, index, field, "%s", why);
        return NULL;
    }
    return json_string_value(v);
}

static http_result reply_unavailable(http_request *req, app_acq_status st,
                                     const char *detail)
{
    if (st == APP_ACQ_UNAVAILABLE)
        return http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, detail, NULL);
    return http_reply_problem(req, PROBLEM_INTERNAL, detail, NULL);
}

/* ------------------------------------------------------------ attributes */

static const char *const attr_names[2] = {"acquisition_channel", "campaign"};

/* PUT /v1/customers/{customer_id}/attributes */
static http_result put_attributes(http_request *req)
{
    http_result res;
    json_t *body = json_body_object_or_reply(req, &res);
    if (body == NULL)
        return res;
    errs e = {json_array(), 0};
    const char *val[2] = {NULL, NULL};
    const char *key;
    json_t *x;
    json_object_foreach(body, key, x)
    {
        if (strcmp(key, attr_names[0]) != 0 && strcmp(key, attr_names[1]) != 0)
            add_error(&e, -1, key, "unknown member");
    }
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(body, attr_names[k]);
        if (v == NULL)
            add_error(&e, -1, attr_names[k], "missing (null for unknown)");
        else
            val[k] = attr_string(&e, -1, attr_names[k], v, true);
    }
    if (e.n > 0) {
        res = reply_errors(req, &e);
        goto cleanup;
    }
    char detail[APP_DB_DETAIL_MAX];
    const char *id = req->params[0];
    app_acq_status st = app_attrs_put(req->tenant_ref, id, val[0], val[1], detail);
    if (st == APP_ACQ_NOT_FOUND) {
        res = http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND,
                                 "the customer has no stored transaction", NULL);
        goto cleanup;
    }
    if (st != APP_ACQ_OK) {
        res = reply_unavailable(req, st, detail);
        goto cleanup;
    }
    json_out b = {0};
    json_out_raw(&b, "{");
    json_out_key(&b, "customer_id");
    json_out_str(&b, id);
    for (int k = 0; k < 2; k++) {
        json_out_raw(&b, ",");
        json_out_key(&b, attr_names[k]);
        if (val[k] != NULL)
            json_out_str(&b, val[k]);
        else
            json_out_raw(&b, "null");
    }
    json_out_raw(&b, "}");
    size_t len = 0;
    char *text = json_out_take(&b, &len);
    res = http_reply_owned(req, 200, "application/json", text, len);
cleanup:
    json_decref(e.arr);
    json_decref(body);
    return res;
}

/* ------------------------------------------------------------ spend */

/* "YYYY-MM" into a month count (base/month.h), or -1. */
static int64_t parse_month(const char *s)
{
    if (strlen(s) != 7 || s[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = atoi(s), m = atoi(s + 5);
    if (m < 1 || m > 12)
        return -1;
    return (int64_t)y * 12 + m - 1;
}

/* The latest month accepted: the month after the current one (UTC). */
static int64_t month_max(void)
{
    return base_month_of_day((int64_t)time(NULL) / 86400) + 1;
}

/* spend: a number or a decimal string, into out (decimal text). */
static void check_spend(errs *e, long i, const json_t *v, char out[INGEST_AMOUNT_MAX])
{
    const char *why = NULL;
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!isfinite(d) || d < 0)
            why = "must be at least 0";
        else if (d >= 1e14)
            why = "at most 14 digits before the point";
        else
            snprintf(out, INGEST_AMOUNT_MAX, "%.4f", d);
    } else if (json_is_string(v)) {
        why = ingest_parse_amount(json_string_value(v), json_string_length(v), out);
    } else {
        why = "must be a number or a decimal string";
    }
    if (why != NULL)
        add_error(e, i, "spend", "%s", why);
}

static void check_leads(errs *e, long i, const json_t *v, int64_t *out)
{
    *out = -1;
    if (v == NULL || json_is_null(v))
        return;
    double d = json_is_integer(v) ? (double)json_integer_value(v)
               : json_is_real(v)  ? json_real_value(v)
                                  : -1;
    /* an integer compared as one: 2^53 + 1 would round to 2^53 as a double */
    if (!json_is_number(v) || d < 0 || d != floor(d) || d > 9007199254740992.0 ||
        (json_is_integer(v) && json_integer_value(v) > 9007199254740992LL))
        add_error(e, i, "leads", "must be an integer from 0 to 2^53, or null");
    else
        *out = (int64_t)d;
}

static const char *const spend_members[] = {"channel", "month", "spend", "leads", NULL};

/* Item i of the body into *s (amount text in *amount). */
static void check_spend_item(errs *e, long i, const json_t *v, store_spend *s,
                             char amount[INGEST_AMOUNT_MAX], int64_t max_month)
{
    if (!json_is_object(v)) {
        add_error(e, i, NULL, "must be an object");
        return;
    }
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x)
    {
        int k = 0;
        while (spend_members[k] != NULL && strcmp(key, spend_members[k]) != 0)
            k++;
        if (spend_members[k] == NULL)
            add_error(e, i, key, "unknown field");
    }
    const json_t *ch = json_object_get(v, "channel"), *mo = json_object_get(v, "month"),
                 *sp = json_object_get(v, "spend");
    if (ch == NULL)
        add_error(e, i, "channel", "missing");
    else
        s->channel = attr_string(e, i, "channel", ch, false);
    if (mo == NULL) {
        add_error(e, i, "month", "missing");
    } else if (!json_is_string(mo) ||
               (s->month = parse_month(json_string_value(mo))) < 0) {
        add_error(e, i, "month", "must be a string YYYY-MM");
    } else if (s->month < MONTH_MIN || s->month > max_month) {
        add_error(e, i, "month",
                  "must be from 1970-01 to the month after the current one");
    }
    if (sp == NULL)
        add_error(e, i, "spend", "missing");
    else
        check_spend(e, i, sp, amount);
    s->spend = amount;
    check_leads(e, i, json_object_get(v, "leads"), &s->leads);
}

static int by_channel_month(const void *x, const void *y)
{
    const store_spend *a = *(store_spend *const *)x, *b = *(store_spend *const *)y;
    int c = strcmp(a->channel, b->channel);
    return c != 0 ? c : a->month < b->month ? -1 : a->month > b->month;
}

/* A (channel, month) given twice: an error on the later item. */
static void check_repeats(errs *e, store_spend *s, size_t n)
{
    store_spend **p = malloc((n ? n : 1) * sizeof *p);
    if (p == NULL) {
        add_error(e, -1, "items", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = &s[i];
    qsort(p, n, sizeof *p, by_channel_month);
    for (size_t i = 1; i < n; i++)
        if (by_channel_month(&p[i - 1], &p[i]) == 0) {
            store_spend *a = p[i - 1] < p[i] ? p[i - 1] : p[i];
            store_spend *b = p[i - 1] < p[i] ? p[i] : p[i - 1];
            add_error(e, (long)(b - s), "month",
                      "the item %ld has the same channel and month", (long)(a - s));
        }
    free(p);
}

/* An error into e for each unknown[i] of s[0..n). */
static void add_unknown_channels(errs *e, const bool *unknown, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (unknown[i])
            add_error(e, (long)i, "channel",
                      "unknown channel: no customer has it as acquisition_channel, "
                      "it has no spend yet, and the tenant's acquisition_channels "
                      "setting does not list it");
}

/* e's errors by item index (stable: an item's own errors keep their
 * order), once the channel check has added its own after the others. */
static void sort_errors(errs *e)
{
    size_t n = json_array_size(e->arr);
    for (size_t i = 1; i < n; i++) {
        json_t *v = json_incref(json_array_get(e->arr, i));
        json_int_t k = json_integer_value(json_object_get(v, "index"));
        size_t j = i;
        while (j > 0 && json_integer_value(json_object_get(json_array_get(e->arr, j - 1),
                                                           "index")) > k) {
            json_array_set(e->arr, j, json_array_get(e->arr, j - 1));
            j--;
        }
        json_array_set_new(e->arr, j, v);
    }
}

/* The 422 of items with other errors, with their unknown channels too
 * (when PostgreSQL answers: else those come in the next 422), so one
 * answer lists every bad item. */
static http_result reply_all_errors(http_request *req, errs *e, const store_spend *s,
                                    size_t n)
{
    char detail[APP_DB_DETAIL_MAX];
    bool unknown[STORE_SPEND_MAX];
    if (app_spend_check_channels(req->tenant_ref, s, n, unknown, detail) ==
        APP_ACQ_UNKNOWN_CHANNEL) {
        add_unknown_channels(e, unknown, n);
        sort_errors(e);
    }
    return reply_errors(req, e);
}

/* Stores the validated s[0..n) and replies: {"stored": n}, 422 naming
 * each item of an unknown channel (into e), or the database's problem. */
static http_result store_spend_or_reply(http_request *req, errs *e, const store_spend *s,
                                        size_t n)
{
    char detail[APP_DB_DETAIL_MAX];
    bool unknown[STORE_SPEND_MAX];
    app_acq_status st = app_spend_put(req->tenant_ref, s, n, unknown, detail);
    if (st == APP_ACQ_UNKNOWN_CHANNEL) {
        add_unknown_channels(e, unknown, n);
        return reply_errors(req, e);
    }
    if (st != APP_ACQ_OK)
        return reply_unavailable(req, st, detail);
    char out[64];
    int len = snprintf(out, sizeof out, "{\"stored\":%zu}", n);
    return http_reply(req, 200, "application/json", out, (size_t)len);
}

/* PUT /v1/acquisition/spend */
static http_result put_spend(http_request *req)
{
    http_result res;
    json_t *body = json_body_object_or_reply(req, &res);
    if (body == NULL)
        return res;
    errs e = {json_array(), 0};
    store_spend *s = NULL;
    char(*amounts)[INGEST_AMOUNT_MAX] = NULL;
    const char *key;
    json_t *x;
    json_object_foreach(body, key, x)
    {
        if (strcmp(key, "items") != 0)
            add_error(&e, -1, key, "unknown member");
    }
    json_t *items = json_object_get(body, "items");
    size_t n = json_array_size(items);
    if (!json_is_array(items) || n == 0 || n > STORE_SPEND_MAX) {
        add_error(&e, -1, "items", "must be an array of 1 to %d items", STORE_SPEND_MAX);
        res = reply_errors(req, &e);
        goto cleanup;
    }
    s = calloc(n, sizeof *s);
    amounts = calloc(n, sizeof *amounts);
    if (s == NULL || amounts == NULL) {
        res = http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
        goto cleanup;
    }
    int64_t max_month = month_max();
    for (size_t i = 0; i < n; i++)
        check_spend_item(&e, (long)i, json_array_get(items, i), &s[i], amounts[i],
                         max_month);
    if (e.n == 0)
        check_repeats(&e, s, n);
    res = e.n > 0 ? reply_all_errors(req, &e, s, n) : store_spend_or_reply(req, &e, s, n);
cleanup:
    free(s);
    free(amounts);
    json_decref(e.arr);
    json_decref(body);
    return res;
}

/* The page's JSON, written as rows arrive. */
typedef struct page {
    json_out b;
    long n, limit;
    char last_channel[INGEST_ATTR_BYTES + 1];
    int64_t last_month;
} page;

static int page_row(const store_spend *s, void *arg)
{
    page *p = arg;
    if (p->n++ >= p->limit)
        return 1; /* the extra row: there is a next page */
    json_out_raw(&p->b, p->n > 1 ? ",{" : "{");
    json_out_key(&p->b, "channel");
    json_out_str(&p->b, s->channel);
    char month[64];
    snprintf(month, sizeof month, ",\"month\":\"%04lld-%02lld\"",
             (long long)(s->month / 12), (long long)(s->month % 12 + 1));
    json_out_raw(&p->b, month);
    json_out_raw(&p->b, ",\"spend\":");
    json_out_raw(&p->b, s->spend); /* numeric text: a JSON number */
    json_out_raw(&p->b, ",\"leads\":");
    if (s->leads >= 0)
        json_out_int(&p->b, (long long)s->leads);
    else
        json_out_raw(&p->b, "null");
    json_out_raw(&p->b, "}");
    snprintf(p->last_channel, sizeof p->last_channel, "%s", s->channel);
    p->last_month = s->month;
    return 0;
}

/* The cursor: "<month count>.<channel in hex>", the last row of the page
 * (hex: a query parameter as it is, whatever bytes the channel holds). */
static void cursor_make(int64_t month, const char *channel, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%lld.", (long long)month);
    for (const unsigned char *p = (const unsigned char *)channel; *p && n + 3 <= cap; p++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", *p);
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool cursor_parse(const char *c, int64_t *month,
                         char channel[INGEST_ATTR_BYTES + 1])
{
    char *end;
    long long m = strtoll(c, &end, 10);
    size_t hex = end != c && *end == '.' ? strlen(end + 1) : 0;
    if (hex == 0 || hex % 2 != 0 || hex / 2 > INGEST_ATTR_BYTES || m < 12 ||
        m > 9999 * 12 + 11)
        return false;
    for (size_t i = 0; i < hex / 2; i++) {
        int hi = hex_digit(end[1 + 2 * i]), lo = hex_digit(end[2 + 2 * i]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        channel[i] = (char)(hi << 4 | lo);
    }
    channel[hex / 2] = '\0';
    /* a channel as stored ones are (UTF-8 without control characters):
     * other bytes would reach PostgreSQL and fail there (a 503) */
    if (!url_text_ok((const unsigned char *)channel, hex / 2))
        return false;
    *month = m;
    return true;
}

static const char *const spend_query[] = {"limit", "cursor", NULL};

/* GET /v1/acquisition/spend */
static http_result get_spend(http_request *req)
{
    http_result res;
    const char *bad = http_query_unknown(req, spend_query);
    if (bad != NULL) {
        char detail[200];
        snprintf(detail, sizeof detail, "unknown query parameter %.100s", bad);
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    }
    double limit = SPEND_PAGE_DEFAULT;
    if (!query_number(req, "limit", 1, SPEND_PAGE_MAX, true, &limit, &res))
        return res;
    const char *cursor = NULL, *after = NULL;
    char after_channel[INGEST_ATTR_BYTES + 1];
    int64_t after_month = 0;
    if (http_query(req, "cursor", &cursor) == 1) {
        if (!cursor_parse(cursor, &after_month, after_channel))
            return http_reply_problem(req, PROBLEM_INVALID_PARAMETER,
                                      "cursor: not one of ours", NULL);
        after = after_channel;
    }
    page p = {.limit = (long)limit};
    json_out_raw(&p.b, "{\"items\":[");
    long n = 0;
    char detail[APP_DB_DETAIL_MAX];
    app_acq_status st = app_spend_page(req->tenant_ref, after, after_month, p.limit + 1,
                                       page_row, &p, &n, detail);
    if (st != APP_ACQ_OK) {
        size_t ignored;
        free(json_out_take(&p.b, &ignored));
        return reply_unavailable(req, st, detail);
    }
    json_out_raw(&p.b, "],\"next_cursor\":");
    if (n > p.limit) {
        char c[2 * INGEST_ATTR_BYTES + 32];
        cursor_make(p.last_month, p.last_channel, c, sizeof c);
        json_out_str(&p.b, c);
    } else {
        json_out_raw(&p.b, "null");
    }
    json_out_raw(&p.b, "}");
    size_t len = 0;
    char *text = json_out_take(&p.b, &len);
    return http_reply_owned(req, 200, "application/json", text, len);
}

const http_route acquisition_routes[] = {
    {"PUT", "/v1/customers/{customer_id}/attributes", put_attributes, HTTP_BODY_CONFIG,
     "application/json", http_offload_always},
    {"PUT", "/v1/acquisition/spend", put_spend, HTTP_BODY_CONFIG, "application/json",
     http_offload_always},
    {"GET", "/v1/acquisition/spend", get_spend, 0, NULL, http_offload_always},
};
const size_t acquisition_nroutes =
    sizeof acquisition_routes / sizeof acquisition_routes[0];
