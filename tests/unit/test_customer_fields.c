/* The fields marketers expect in every customer document (docs/service.md,
 * "The fields marketers expect"), in-process against a real PostgreSQL and
 * the server's routes: historic_value, historic_purchases,
 * average_order_value and average_days_between_purchases equal what the
 * test computes from the transactions (null with one purchase day);
 * expected_next_purchase_by is the first day by which the model's P(at
 * least one purchase) = 1 - p_n(0) reaches 50% (null when it does not
 * within 10 years), for BG/NBD and Pareto/NBD; predicted_ltv_percentile
 * and predicted_spend_tier agree with the list sorted by predicted_ltv,
 * and are null until the score table is ready; the single GET, the list,
 * the NDJSON and CSV exports and the tenant-prefixed GET give the same
 * values. Also btyd_next_purchase_steps on its own, for every served
 * model, against btyd_p_any. Data: the CDNOW sample with the published
 * BG/NBD and Gamma-Gamma parameters, weekly, as of 1997-09-30. */
#define _GNU_SOURCE /* strcasestr, strndup */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "app/list_table.h"
#include "app/tenant.h"
#include "cache/cache.h"
#include "model/bgnbd.h"
#include "model/next_purchase.h"
#include "summary/summary.h"
#include "testhttp.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"
#define AS_OF "1997-09-30"
#define MAX_CUSTOMERS 2400

static testhttp_app t;

static const double bg_params[4] = {0.242593, 4.413532, 0.792886, 2.425753};
static const double pareto_params[4] = {0.553, 10.58, 0.606, 11.67};

static void set_model(const btyd_model *model, const double *params, uint64_t version)
{
    cache_model m = {.model = model,
                     .has_spend = true,
                     .gg_params = {6.248802, 3.744588, 15.447748},
                     .period_days = 7,
                     .version = version};
    memcpy(m.params, params, sizeof m.params);
    ck_assert_int_eq(cache_snapshot_set(t.app->dflt->cache, &m), CACHE_OK);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_fields");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "period", "week", err));
    ck_assert(config_set(&t.cfg, "as_of", AS_OF, err));
    testhttp_app_start(&t, false); /* migrates */
    testhttp_app_stop(&t);
    testhttp_load_cdnow(&t, CDNOW_TXNS);
    testhttp_app_start(&t, false);
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

/* Starts the score table's keeper and waits (at most 20 s) for the table
 * of the current model and day. */
static void wait_table(void)
{
    testhttp_wait_ranked(&t, 20000);
}

/* ---- what the transactions say ------------------------------------------- */

typedef struct truth {
    bool seen;
    double total;
    unsigned days;
    int64_t first, last;
} truth;

static truth want[MAX_CUSTOMERS];

/* want[] from the CSV (rows are by customer, then date), up to AS_OF. */
static void read_truth(void)
{
    memset(want, 0, sizeof want);
    FILE *f = fopen(CDNOW_TXNS, "r");
    ck_assert_ptr_nonnull(f);
    char line[256], date[64];
    int64_t as_of;
    ck_assert_int_eq(summary_parse_day(AS_OF, &as_of), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the header */
    while (fgets(line, sizeof line, f) != NULL) {
        int id;
        double amount;
        int64_t day;
        ck_assert_int_eq(sscanf(line, "%d,%63[^,],%lf", &id, date, &amount), 3);
        ck_assert(id > 0 && id < MAX_CUSTOMERS);
        ck_assert_int_eq(summary_parse_day(date, &day), 0);
        if (day > as_of)
            continue;
        truth *w = &want[id];
        if (!w->seen) {
            *w = (truth){true, 0, 0, day, day};
        }
        if (w->days == 0 || day != w->last)
            w->days++;
        w->last = day;
        w->total += amount;
    }
    fclose(f);
}

/* ---- reading whole answers (lists, exports) -------------------------------- */

/* Decodes the chunked body raw[0..n) into a malloc'd string. */
static char *dechunk(const char *raw, size_t n)
{
    char *out = malloc(n + 1);
    size_t len = 0, i = 0;
    ck_assert_ptr_nonnull(out);
    for (;;) {
        char *end;
        size_t size = strtoul(raw + i, &end, 16);
        const char *crlf = strstr(raw + i, "\r\n");
        ck_assert(crlf != NULL && end != raw + i);
        i = (size_t)(crlf - raw) + 2;
        if (size == 0)
            break;
        ck_assert(i + size + 2 <= n);
        memcpy(out + len, raw + i, size);
        len += size;
        i += size + 2;
    }
    out[len] = '\0';
    return out;
}

/* GET target with Accept accept, the body read to its end (malloc'd). */
static char *get_body(const char *target, const char *accept)
{
    int fd = testhttp_dial(t.port);
    char req[1024];
    int n =
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAccept: %s\r\n\r\n",
                 target, accept);
    testhttp_send_all(fd, req, (size_t)n);
    size_t cap = 1 << 16, len = 0;
    char *raw = malloc(cap + 1);
    for (ssize_t got; (got = recv(fd, raw + len, cap - len, 0)) > 0;) {
        len += (size_t)got;
        if (len == cap)
            ck_assert_ptr_nonnull(raw = realloc(raw, (cap *= 2) + 1));
    }
    close(fd);
    raw[len] = '\0';
    char *body = strstr(raw, "\r\n\r\n");
    ck_assert_msg(body != NULL && strncmp(raw, "HTTP/1.1 200", 12) == 0, "%.300s", raw);
    size_t head = (size_t)(body - raw) + 4;
    bool chunked = strcasestr(raw, "\r\nTransfer-Encoding: chunked\r\n") != NULL &&
                   strcasestr(raw, "\r\nTransfer-Encoding: chunked\r\n") < body;
    char *out =
        chunked ? dechunk(raw + head, len - head) : strndup(raw + head, len - head);
    free(raw);
    return out;
}

/* Every document of the NDJSON export, keyed by customer id. */
static json_t *export_docs(void)
{
    char *body = get_body("/v1/customers/export", "application/x-ndjson");
    json_t *docs = json_object();
    for (char *save = NULL, *l = strtok_r(body, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        json_t *d = json_loads(l, 0, NULL);
        ck_assert_ptr_nonnull(d);
        json_object_set_new(docs, testhttp_jstr(d, "customer_id"), d);
    }
    free(body);
    ck_assert_uint_gt(json_object_size(docs), 2000);
    return docs;
}

/* The document of GET target (the caller decrefs). */
static json_t *get_doc(const char *target)
{
    testhttp_response r;
    testhttp_request(t.port, "GET", target, NULL, &r);
    ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
    json_t *d = json_incref(r.json);
    testhttp_response_free(&r);
    return d;
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

/* ---- the historic fields --------------------------------------------------- */

/* historic_value, historic_purchases, average_order_value and
 * average_days_between_purchases of every exported customer equal the
 * transactions' (total spent including the first day; purchase days;
 * total / days; (last - first) / (days - 1), null with one day). */
START_TEST(test_fields_historic)
{
    set_model(&bgnbd_model, bg_params, 7);
    read_truth();
    json_t *docs = export_docs(), *d;
    const char *id;
    size_t singles = 0, repeats = 0;
    json_object_foreach(docs, id, d)
    {
        const truth *w = &want[atoi(id)];
        ck_assert_msg(w->seen, "%s", id);
        ck_assert_msg(near(testhttp_jnum(d, "historic_value"), w->total),
                      "%s: %.17g vs %.17g", id, testhttp_jnum(d, "historic_value"),
                      w->total);
        ck_assert_int_eq(testhttp_jint(d, "historic_purchases"), w->days);
        ck_assert(near(testhttp_jnum(d, "average_order_value"), w->total / w->days));
        json_t *between = json_object_get(d, "average_days_between_purchases");
        ck_assert_ptr_nonnull(between);
        if (w->days == 1) {
            ck_assert(json_is_null(between));
            singles++;
        } else {
            ck_assert(near(json_number_value(between),
                           (double)(w->last - w->first) / (w->days - 1)));
            repeats++;
        }
    }
    ck_assert_uint_gt(singles, 100);
    ck_assert_uint_gt(repeats, 100);
    json_decref(docs);
}
END_TEST

/* ---- expected_next_purchase_by --------------------------------------------- */

static double p_any(const btyd_model *m, const double *p, json_t *sum, double horizon)
{
    double v;
    ck_assert_int_eq(btyd_p_any(m, p, testhttp_jnum(sum, "frequency"),
                                testhttp_jnum(sum, "recency"), testhttp_jnum(sum, "T"),
                                horizon, &v),
                     GSL_SUCCESS);
    return v;
}

/* Every exported document's date against the model: P(any) by then >= 0.5
 * and the day before < 0.5; null only when P(any in 3650 days) < 0.5. */
static void check_next(const btyd_model *m, const double *p)
{
    json_t *docs = export_docs(), *d;
    const char *id;
    size_t dated = 0, never = 0;
    int64_t as_of;
    ck_assert_int_eq(summary_parse_day(AS_OF, &as_of), 0);
    json_object_foreach(docs, id, d)
    {
        json_t *sum = json_object_get(d, "summary");
        json_t *by = json_object_get(d, "expected_next_purchase_by");
        ck_assert_ptr_nonnull(by);
        if (json_is_null(by)) {
            ck_assert_msg(p_any(m, p, sum, 3650 / 7.0) < 0.5, "%s", id);
            never++;
            continue;
        }
        int64_t day;
        ck_assert_int_eq(summary_parse_day(json_string_value(by), &day), 0);
        int64_t k = day - as_of;
        ck_assert(k >= 1 && k <= 3650);
        ck_assert_msg(p_any(m, p, sum, k / 7.0) >= 0.5, "%s", id);
        if (k > 1)
            ck_assert_msg(p_any(m, p, sum, (k - 1) / 7.0) < 0.5, "%s", id);
        dated++;
    }
    ck_assert_uint_gt(dated, 50);
    ck_assert_uint_gt(never, 50);
    json_decref(docs);
}

START_TEST(test_fields_next_purchase_bgnbd)
{
    set_model(&bgnbd_model, bg_params, 7);
    check_next(&bgnbd_model, bg_params);
}
END_TEST

START_TEST(test_fields_next_purchase_pareto)
{
    set_model(&pareto_model, pareto_params, 8);
    check_next(&pareto_model, pareto_params);
}
END_TEST

/* The library function alone, every served model, a grid of histories:
 * the step it gives is the first where btyd_p_any reaches the target. */
START_TEST(test_fields_next_purchase_steps)
{
    const btyd_model *models[] = {&bgnbd_model, &mbgnbd_model, &pareto_model,
                                  &bggeo_model, &bgpois_model};
    const double *params[] = {bg_params, bg_params, pareto_params,
                              (const double[]){0.4, 5, 0.1, 1},
                              (const double[]){0.3, 2, 1.5, 1}};
    size_t n_params[] = {4, 4, 4, 0, 0};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        const btyd_model *m = models[i];
        double p[4];
        memcpy(p, params[i], sizeof p);
        if (n_params[i] == 0) /* the fallbacks' own parameters: their init */
            memcpy(p, m->init, m->n_params * sizeof *p);
        size_t dated = 0;
        for (double x = 0; x <= 40; x += x < 5 ? 1 : 7) {
            for (double T = 1; T <= 80; T += 13) {
                for (double tx = x > 0 ? T / 4 : 0; tx <= T; tx += x > 0 ? T / 4 : 1) {
                    unsigned k;
                    ck_assert_int_eq(
                        btyd_next_purchase_steps(m, p, x, tx, T, 1 / 7.0, 3650, 0.5, &k),
                        GSL_SUCCESS);
                    double a, b = 0;
                    unsigned at = k > 0 ? k : 3650;
                    ck_assert_int_eq(btyd_p_any(m, p, x, tx, T, at / 7.0, &a),
                                     GSL_SUCCESS);
                    if (k == 0) {
                        ck_assert_msg(a < 0.5, "%s x=%g tx=%g T=%g", m->name, x, tx, T);
                        continue;
                    }
                    if (k > 1)
                        ck_assert_int_eq(btyd_p_any(m, p, x, tx, T, (k - 1) / 7.0, &b),
                                         GSL_SUCCESS);
                    ck_assert_msg(a >= 0.5 && b < 0.5, "%s x=%g tx=%g T=%g k=%u: %g %g",
                                  m->name, x, tx, T, k, a, b);
                    dated++;
                }
            }
        }
        ck_assert_msg(dated > 0, "%s never dated", m->name);
    }
    unsigned k;
    ck_assert_int_eq(
        btyd_next_purchase_steps(&bgnbd_model, bg_params, 1, 1, 2, 0, 10, 0.5, &k),
        GSL_EDOM);
    ck_assert_int_eq(
        btyd_next_purchase_steps(&bgnbd_model, bg_params, 1, 1, 2, 1, 10, 1.0, &k),
        GSL_EDOM);
}
END_TEST

/* ---- percentile and tier ------------------------------------------------- */

/* Every customer of the list sorted by -predicted_ltv, in order, from
 * pages of 25 (the caller decrefs). */
static json_t *list_all(const char *prefix)
{
    json_t *all = json_array();
    char cursor[512] = "";
    for (int page = 0; page < 200; page++) {
        char target[1024];
        snprintf(target, sizeof target, "%s/customers?sort=-predicted_ltv&limit=25%s%s",
                 prefix, cursor[0] ? "&cursor=" : "", cursor);
        json_t *p = get_doc(target), *c;
        size_t i;
        json_array_foreach(json_object_get(p, "customers"), i, c)
            json_array_append(all, c);
        json_t *next = json_object_get(p, "next_cursor");
        bool more = json_is_string(next);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(p);
        if (!more)
            break;
    }
    return all;
}

/* Percentile = 100 * (customers of strictly lower predicted_ltv) / all,
 * floored to 0.1; tier high from 90, medium from 50, low below. */
START_TEST(test_fields_percentile_tier)
{
    set_model(&bgnbd_model, bg_params, 7);
    wait_table();
    json_t *all = list_all("/v1");
    size_t n = json_array_size(all);
    ck_assert_uint_eq(n, cache_count(t.app->dflt->cache));
    size_t count[3] = {0};
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(all, i);
        double ltv = testhttp_jnum(c, "predicted_ltv");
        size_t lower = 0; /* sorted by descending LTV: the lower ones follow */
        for (size_t j = i + 1; j < n; j++)
            lower += testhttp_jnum(json_array_get(all, j), "predicted_ltv") < ltv;
        double pct = 100.0 * (double)lower / (double)n;
        const char *id = testhttp_jstr(c, "customer_id");
        ck_assert_msg(
            testhttp_jnum(c, "predicted_ltv_percentile") == floor(pct * 10) / 10,
            "%s: %.17g vs %.17g", id, testhttp_jnum(c, "predicted_ltv_percentile"), pct);
        const char *tier = testhttp_jstr(c, "predicted_spend_tier");
        const char *expect = pct >= 90 ? "high" : pct >= 50 ? "medium" : "low";
        ck_assert_msg(strcmp(tier, expect) == 0, "%s: %s at %g", id, tier, pct);
        count[pct >= 90 ? 0 : pct >= 50 ? 1 : 2]++;
    }
    /* about the cut points' shares (ties at the bottom push some down) */
    ck_assert(count[0] > 0.05 * n && count[0] <= 0.1 * n + 1);
    ck_assert(count[1] > 0.2 * n && count[0] + count[1] <= 0.5 * n + 1);
    ck_assert_uint_gt(count[2], 0);
    /* the top customer is high, at 100 * (n - 1) / n floored */
    ck_assert_str_eq(testhttp_jstr(json_array_get(all, 0), "predicted_spend_tier"),
                     "high");
    json_decref(all);
}
END_TEST

/* Before the score table exists, and with no spend model, percentile and
 * tier are null (the other fields are there). */
START_TEST(test_fields_percentile_null_cases)
{
    set_model(&bgnbd_model, bg_params, 7);
    json_t *d = get_doc("/v1/customers/1");
    ck_assert(json_is_null(json_object_get(d, "predicted_ltv_percentile")));
    ck_assert(json_is_null(json_object_get(d, "predicted_spend_tier")));
    ck_assert(json_is_number(json_object_get(d, "historic_value")));
    json_decref(d);
    wait_table();
    d = get_doc("/v1/customers/1");
    ck_assert(json_is_number(json_object_get(d, "predicted_ltv_percentile")));
    json_decref(d);
    /* another as_of: ranked against nobody, so null */
    d = get_doc("/v1/customers/1?as_of=1997-06-30");
    ck_assert(json_is_null(json_object_get(d, "predicted_ltv_percentile")));
    json_decref(d);
    /* another horizon: the percentile stays the one at the tenant's horizon */
    json_t *a = get_doc("/v1/customers/1"),
           *b = get_doc("/v1/customers/1?horizon_days=90");
    ck_assert(json_equal(json_object_get(a, "predicted_ltv_percentile"),
                         json_object_get(b, "predicted_ltv_percentile")));
    json_decref(a);
    json_decref(b);
    /* no spend model: no LTV, so no rank */
    cache_model m = {.model = &bgnbd_model, .period_days = 7, .version = 9};
    memcpy(m.params, bg_params, sizeof m.params);
    ck_assert_int_eq(cache_snapshot_set(t.app->dflt->cache, &m), CACHE_OK);
    d = get_doc("/v1/customers/1");
    ck_assert(json_is_null(json_object_get(d, "predicted_ltv_percentile")));
    ck_assert(json_is_null(json_object_get(d, "predicted_spend_tier")));
    json_decref(d);
}
END_TEST

/* ---- the same everywhere ----------------------------------------------------- */

static const char *const field_names[] = {"historic_value",
                                          "historic_purchases",
                                          "average_order_value",
                                          "average_days_between_purchases",
                                          "expected_next_purchase_by",
                                          "predicted_ltv_percentile",
                                          "predicted_spend_tier",
                                          "expected_purchases",
                                          "horizon_days"};

static void same_fields(json_t *a, json_t *b, const char *where)
{
    for (size_t i = 0; i < sizeof field_names / sizeof *field_names; i++) {
        json_t *x = json_object_get(a, field_names[i]),
               *y = json_object_get(b, field_names[i]);
        ck_assert_msg(x != NULL && y != NULL && json_equal(x, y), "%s: %s of %s", where,
                      field_names[i], testhttp_jstr(a, "customer_id"));
    }
}

/* The CSV cell of column col in line (no quoted cells in these rows). */
static void csv_cell(const char *line, int col, char *out, size_t cap)
{
    const char *p = line;
    for (int i = 0; i < col; i++) {
        p = strchr(p, ',');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    size_t n = strcspn(p, ",\r\n");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* The single GET, the tenant-prefixed GET, the list, the NDJSON export and
 * the CSV export give each customer the same fields. */
START_TEST(test_fields_same_everywhere)
{
    set_model(&bgnbd_model, bg_params, 7);
    wait_table();
    json_t *docs = export_docs(), *list = list_all("/v1/tenants/default"), *c;
    size_t i;
    json_array_foreach(list, i, c)
    {
        const char *id = testhttp_jstr(c, "customer_id");
        json_t *e = json_object_get(docs, id);
        ck_assert_ptr_nonnull(e);
        same_fields(c, e, "list vs export");
        if (i % 97 != 0)
            continue;
        char target[300];
        snprintf(target, sizeof target, "/v1/customers/%s", id);
        json_t *g = get_doc(target);
        same_fields(g, e, "GET vs export");
        json_decref(g);
        snprintf(target, sizeof target, "/v1/tenants/default/customers/%s", id);
        g = get_doc(target);
        same_fields(g, e, "tenant GET vs export");
        json_decref(g);
    }
    /* another horizon and margin: the items' own LTV changes, not their
     * percentile (from the table's row, or scored again at the tenant's
     * options when the page is scored for the request) */
    const char *other[] = {
        "/v1/customers?sort=-p_alive&limit=25&horizon_days=90&margin=0.5",
        "/v1/customers?sort=-predicted_ltv&limit=25&horizon_days=90"};
    for (int k = 0; k < 2; k++) {
        json_t *p = get_doc(other[k]);
        json_array_foreach(json_object_get(p, "customers"), i, c)
        {
            json_t *e = json_object_get(docs, testhttp_jstr(c, "customer_id"));
            ck_assert(testhttp_jnum(c, "predicted_ltv") !=
                      testhttp_jnum(e, "predicted_ltv"));
            for (int f = 5; f < 7; f++)
                ck_assert_msg(json_equal(json_object_get(c, field_names[f]),
                                         json_object_get(e, field_names[f])),
                              "%s: %s", other[k], field_names[f]);
        }
        json_decref(p);
    }
    /* the CSV: the header names the columns, each row the same values */
    char *csv = get_body("/v1/customers/export", "text/csv");
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_nonnull(strstr(line,
                                 ",campaign,historic_value,historic_purchases,"
                                 "average_order_value,average_days_between_purchases,"
                                 "expected_next_purchase_by,predicted_ltv_percentile,"
                                 "predicted_spend_tier\r"));
    size_t rows = 0;
    for (line = strtok_r(NULL, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char id[64], cell[64];
        csv_cell(line, 0, id, sizeof id);
        json_t *e = json_object_get(docs, id);
        ck_assert_ptr_nonnull(e);
        for (int k = 0; k < 7; k++) { /* columns 19.. are the fields */
            csv_cell(line, 19 + k, cell, sizeof cell);
            json_t *v = json_object_get(e, field_names[k]);
            if (json_is_null(v)) {
                ck_assert_msg(cell[0] == '\0', "%s %s: %s", id, field_names[k], cell);
            } else if (json_is_string(v)) {
                ck_assert_str_eq(cell, json_string_value(v));
            } else {
                ck_assert_msg(strtod(cell, NULL) == json_number_value(v), "%s %s: %s", id,
                              field_names[k], cell);
            }
        }
        rows++;
    }
    ck_assert_uint_eq(rows, json_object_size(docs));
    free(csv);
    json_decref(list);
    json_decref(docs);
}
END_TEST

Suite *suite_customer_fields(void)
{
    Suite *s = suite_create("customer_fields");
    TCase *lib = tcase_create("library");
    tcase_set_timeout(lib, 120);
    tcase_add_test(lib, test_fields_next_purchase_steps);
    suite_add_tcase(s, lib);
    TCase *tc = tcase_create("service");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_fields_historic);
    tcase_add_test(tc, test_fields_next_purchase_bgnbd);
    tcase_add_test(tc, test_fields_next_purchase_pareto);
    tcase_add_test(tc, test_fields_percentile_tier);
    tcase_add_test(tc, test_fields_percentile_null_cases);
    tcase_add_test(tc, test_fields_same_everywhere);
    suite_add_tcase(s, tc);
    return s;
}
