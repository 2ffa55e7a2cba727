/* GET /v1/customers/export: every customer's document of the tenant,
 * streamed for platforms that sync scores into their CRM (docs/service.md,
 * "Export"). NDJSON (application/x-ndjson, the default, also for an Accept
 * of any type): one line per customer, byte for byte the body of GET
 * /v1/customers/{customer_id} with the same options. CSV (Accept:
 * text/csv): a header line and one row per customer of EXPORT_CSV_HEADER's
 * columns, the numbers written as in the JSON, expected_spend and
 * predicted_ltv empty without a spend model, the id quoted as RFC 4180
 * says; lines end in CRLF. Another Accept: 406 not-acceptable.
 *
 * Query: horizon_days (at most list_horizon_days_max, as lists),
 * discount_rate, margin; any other parameter is a 400. The handler answers
 * 503 no-model before anything is sent; then the body is made as the
 * client reads it (http_reply_stream), a piece of about
 * HTTP_STREAM_CHUNK bytes at a time, from app_export_next steps
 * (app/export.h): one model snapshot and one as_of day for the whole
 * export, the tenant held until the response is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "app/export.h"
#include "http/customers.h"
#include "http/query.h"
#include "http/score_doc.h"
#include "http/score_fields.h"
#include "summary/summary.h"

#define EXPORT_CSV_HEADER                                                                \
    "customer_id,as_of,frequency,recency,T,monetary_value,first_purchase,"               \
    "last_purchase,p_alive,horizon_days,expected_purchases,p_purchase,expected_spend,"   \
    "predicted_ltv,churn_risk,lifecycle_stage,model_version,acquisition_channel,"        \
    "campaign," SCORE_FIELDS_CSV_HEADER "\r\n"

static const char *const known_query[] = {"horizon_days", "discount_rate", "margin",
                                          NULL};

typedef enum export_format { EXPORT_NDJSON, EXPORT_CSV, EXPORT_NONE } export_format;

typedef struct export_stream {
    app_export *e;
    export_format format;
    bool header_sent;
    score_opts o;
    app_export_item items[APP_EXPORT_STEP];
} export_stream;

/* -------------------------------------------------------------- Accept */

/* The format a media range asks for (type/subtype, parameters cut). */
static export_format range_format(const char *range, size_t len)
{
    static const struct {
        const char *range;
        export_format f;
    } served[] = {{"application/x-ndjson", EXPORT_NDJSON},
                  {"text/csv", EXPORT_CSV},
                  {"*/*", EXPORT_NDJSON},
                  {"application/*", EXPORT_NDJSON},
                  {"text/*", EXPORT_CSV}};
    for (size_t i = 0; i < sizeof served / sizeof served[0]; i++)
        if (strlen(served[i].range) == len &&
            strncasecmp(range, served[i].range, len) == 0)
            return served[i].f;
    return EXPORT_NONE;
}

/* The q of a media range's parameters ("; q=0.5"); 1 when absent. */
static double range_q(const char *params, size_t len)
{
    for (const char *p = params; p < params + len; p++) {
        if (*p != ';')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return strtod(p + 2, NULL);
    }
    return 1;
}

/* The format the Accept header asks for: the served one of highest q (the
 * first listed on a tie); NDJSON without the header; EXPORT_NONE when no
 * range of q > 0 is served. */
static export_format negotiate(const char *accept)
{
    if (accept == NULL || accept[strspn(accept, " \t")] == '\0')
        return EXPORT_NDJSON;
    export_format best = EXPORT_NONE;
    double best_q = 0;
    for (const char *p = accept; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const char *range = p + strspn(p, " \t");
        size_t rlen = strcspn(range, ";, \t");
        double q = range_q(range + rlen, len - (size_t)(range + rlen - p));
        export_format f = range_format(range, rlen);
        if (f != EXPORT_NONE && q > best_q) {
            best = f;
            best_q = q;
        }
        p += len + (p[len] == ',');
    }
    return best;
}

/* ---------------------------------------------------------------- rows */

static void csv_day(json_out *b, int64_t day)
{
    char s[11];
    if (summary_format_day(day, s) == 0)
        json_out_raw(b, s);
}

/* The id as a CSV field: quoted (quotes doubled) when it holds a comma, a
 * quote or a line break (RFC 4180). */
static void csv_id(json_out *b, const char *id)
{
    if (strpbrk(id, ",\"\r\n") == NULL) {
        json_out_raw(b, id);
        return;
    }
    char q[2 * CACHE_ID_MAX + 3];
    size_t n = 0;
    q[n++] = '"';
    for (const char *c = id; *c != '\0' && n < sizeof q - 3; c++) {
        if (*c == '"')
            q[n++] = '"';
        q[n++] = *c;
    }
    q[n++] = '"';
    q[n] = '\0';
    json_out_raw(b, q);
}

static void csv_real(json_out *b, double d)
{
    json_out_raw(b, ",");
    json_out_real(b, d);
}

static void csv_row(json_out *b, const app_export_item *it, const score_opts *o,
                    const cache_model *m)
{
    const cache_score_result *r = &it->row.r;
    csv_id(b, it->id);
    json_out_raw(b, ",");
    csv_day(b, o->as_of_day);
    json_out_raw(b, ",");
    json_out_int(b, (long long)r->x);
    csv_real(b, r->t_x);
    csv_real(b, r->T);
    csv_real(b, r->m);
    json_out_raw(b, ",");
    csv_day(b, r->summary.first_day);
    json_out_raw(b, ",");
    csv_day(b, r->summary.last_day);
    csv_real(b, r->p_alive);
    json_out_raw(b, ",");
    json_out_int(b, o->horizon_days);
    csv_real(b, r->expected);
    csv_real(b, r->p_purchase);
    if (r->has_spend) {
        csv_real(b, r->expected_spend);
        csv_real(b, r->clv);
    } else {
        json_out_raw(b, ",,");
    }
    json_out_raw(b, ",");
    json_out_raw(b, score_risk_name(it->row.risk));
    json_out_raw(b, ",");
    json_out_raw(b, score_stage_name(it->row.stage));
    json_out_raw(b, ",");
    json_out_int(b, (long long)m->version);
    json_out_raw(b, ",");
    if (it->row.channel != NULL)
        csv_id(b, it->row.channel);
    json_out_raw(b, ",");
    if (it->row.campaign != NULL)
        csv_id(b, it->row.campaign);
    score_fields_csv(b, m, o, &it->row);
    json_out_raw(b, "\r\n");
}

/* http_stream_fill: whole lines, steps until about HTTP_STREAM_CHUNK bytes
 * or the end. A step reads APP_EXPORT_STEP records; steps that give no line
 * (hidden or unscorable customers only) cost a copy each and go on. */
static int fill(void *cls, json_out *b)
{
    export_stream *st = cls;
    const cache_model *m = app_export_model(st->e);
    if (st->format == EXPORT_CSV && !st->header_sent) {
        json_out_raw(b, EXPORT_CSV_HEADER);
        st->header_sent = true;
    }
    while (b->len < HTTP_STREAM_CHUNK && !b->failed) {
        size_t n = 0;
        app_export_status s = app_export_next(st->e, st->items, &n);
        if (s == APP_EXPORT_GONE)
            return -1;
        if (s == APP_EXPORT_END)
            break;
        for (size_t i = 0; i < n; i++) {
            if (st->format == EXPORT_CSV) {
                csv_row(b, &st->items[i], &st->o, m);
            } else {
                score_doc_write(b, st->items[i].id, m, &st->o, &st->items[i].row);
                json_out_raw(b, "\n");
            }
        }
    }
    return b->len > 0 ? 1 : 0;
}

static void done(void *cls)
{
    export_stream *st = cls;
    app_export_end(st->e);
    free(st);
}

/* ------------------------------------------------------------- request */

static bool horizon_or_reply(http_request *req, const score_opts *o, http_result *res)
{
    long max = req->ctx->config->list_horizon_days_max;
    if (o->horizon_days <= max)
        return true;
    char detail[160];
    snprintf(detail, sizeof detail,
             "horizon_days must be at most %ld in exports (list_horizon_days_max)", max);
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

static http_result refusal_reply(http_request *req, app_export_refusal why)
{
    char detail[512];
    switch (why) {
    case APP_EXPORT_NO_MODEL: /* says which part of the eligibility rule is missing */
        app_no_model_detail(req->tenant_ref, detail, sizeof detail);
        return http_reply_problem(req, PROBLEM_NO_MODEL, detail, NULL);
    case APP_EXPORT_BUSY:
        snprintf(detail, sizeof detail,
                 "%ld export(s) already streaming, the most allowed at once (export_max)",
                 req->ctx->config->export_max);
        return http_reply_problem(req, PROBLEM_TOO_BUSY, detail, NULL);
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
}

/* GET /v1/customers/export */
static http_result export_customers(http_request *req)
{
    http_result res;
    score_opts o;
    if (!score_query_known_or_reply(req, known_query, &res) ||
        !score_opts_or_reply(req, &o, &res) || !horizon_or_reply(req, &o, &res))
        return res;
    export_format f = negotiate(
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    if (f == EXPORT_NONE)
        return http_reply_problem(req, PROBLEM_NOT_ACCEPTABLE,
                                  "the export is served as application/x-ndjson or "
                                  "text/csv",
                                  NULL);
    export_stream *st = calloc(1, sizeof *st);
    if (st == NULL)
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    app_export_refusal why;
    st->e = app_export_start(req->tenant_ref, &o, &why);
    if (st->e == NULL) {
        free(st);
        return refusal_reply(req, why);
    }
    st->format = f;
    st->o = o;
    score_mark_stale(req);
    return http_reply_stream(
        req, 200, f == EXPORT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson",
        fill, done, st);
}

const http_route customer_export_routes[] = {
    {"GET", "/v1/customers/export", export_customers, 0, NULL, NULL},
};
const size_t customer_export_nroutes =
    sizeof customer_export_routes / sizeof customer_export_routes[0];
