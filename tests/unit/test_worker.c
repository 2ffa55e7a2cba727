/* The refit worker and the model endpoints, in-process: the real server
 * (router, handlers, app, worker) against a real PostgreSQL, over raw
 * sockets. The CDNOW sample stored in full, the service run as of
 * 1997-09-30 (the cache rebuild leaves later days out): POST /v1/model/refit
 * gives 202, and the snapshot GET /v1/model then shows has the parameters
 * of fit_btyd and gg_fit on the summaries computed here from the CSV, is
 * persisted and comes back (standard errors too) after a restart. A fit on too few
 * customers (triggered by ingest through refit_after_txns, and by request) keeps the
 * previous snapshot and is reported. Needs DATABASE_URL; works in a database
 * of its own, ltvd_wk_<pid>, dropped at the end. Run from the repository
 * root (migrations/ and tests/data/ are read from there). */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/fit.h"
#include "model/gg.h"
#include "store/db.h"
#include "store/ingest.h"
#include "store/snapshot.h"
#include "summary/summary.h"
#include "testhttp.h"

#define CDNOW_CSV "tests/data/cdnow_sample_transactions.csv"
#define AS_OF "1997-09-30"

static testhttp_app svc; /* the service, with its worker, on ltvd_wk_<pid> */

/* ---- fixture ----------------------------------------------------------------- */

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&svc, "ltvd_wk");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "bgnbd", err));
    ck_assert_msg(config_set(&svc.cfg, "as_of", AS_OF, err), "%s", err);
    testhttp_app_start(&svc, true);
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* Stops and starts the service on the same database. */
static void restart(void)
{
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, true);
}

/* ---- the client ---------------------------------------------------------------- */

typedef testhttp_response response;

static void request(const char *method, const char *target, const char *body, response *r)
{
    testhttp_request(svc.port, method, target, body, r);
}

static void response_free(response *r)
{
    testhttp_response_free(r);
}

static void ask_refit(void)
{
    response r;
    request("POST", "/v1/model/refit", NULL, &r);
    ck_assert_msg(r.status == 202, "%d: %s", r.status, r.body);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "scheduled");
    response_free(&r);
}

static long long refits(const response *r, const char *which)
{
    return json_integer_value(json_object_get(json_object_get(r->json, "refits"), which));
}

/* Polls GET /v1/model (up to 10 s) until 200 with at least `ok` successful
 * and `failed` failed refits; r holds the last answer. */
static void wait_model(long long ok, long long failed, response *r)
{
    for (int i = 0; i < 200; i++) {
        request("GET", "/v1/model", NULL, r);
        if (r->status == 200 && refits(r, "succeeded") >= ok &&
            refits(r, "failed") >= failed)
            return;
        response_free(r);
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    ck_abort_msg("no refit within 10 s: %d %s", r->status, r->body);
}

static void assert_rel(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want), "%s: %.17g, want %.17g", what,
                  got, want);
}

static void assert_params(json_t *obj, const char *const *names, const double *want,
                          size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_rel(json_number_value(json_object_get(obj, names[i])), want[i], names[i]);
}

/* ---- ingest --------------------------------------------------------------------- */

/* Stores every transaction of the CSV through store_insert_batch, in
 * batches of 1000, on a connection of our own (the cache is not told). */
static void store_csv(const txn_set *t)
{
    enum { BATCH = 1000 };
    static char ids[BATCH][24], amounts[BATCH][32];
    store_item items[BATCH];
    store_db *db = testhttp_db_open(&svc);
    for (size_t i = 0; i < t->n; i += BATCH) {
        size_t n = t->n - i < BATCH ? t->n - i : BATCH;
        for (size_t k = 0; k < n; k++) {
            const txn *x = &t->items[i + k];
            snprintf(ids[k], sizeof ids[k], "t%zu", i + k);
            snprintf(amounts[k], sizeof amounts[k], "%.2f", x->amount);
            items[k] = (store_item){ids[k],     t->customer_ids[x->customer],
                                    NULL,       x->day * 86400,
                                    amounts[k], NULL,
                                    NULL};
        }
        store_batch_result r = {0};
        ck_assert_msg(store_insert_batch(db, items, n, NULL, &r) == 0, "%s",
                      store_db_error(db));
        ck_assert_uint_eq(r.n_new, n);
        store_batch_result_free(&r);
    }
    store_db_close(db);
}

/* fit_btyd and gg_fit on the summaries of the CSV as of AS_OF, in weeks. */
static void fit_directly(const txn_set *t, fit_result *bg, fit_result *gg, size_t *n_cust)
{
    int64_t day;
    ck_assert_int_eq(summary_parse_day(AS_OF, &day), 0);
    summary_set s = {0};
    ck_assert_int_eq(summary_from_transactions(t, day, 7, &s), 0);
    btyd_pattern *bp = NULL;
    gg_pattern *gp = NULL;
    size_t nb = 0, ng = 0;
    ck_assert_int_eq(summary_patterns(&s, &bp, &nb), 0);
    ck_assert_int_eq(summary_gg_patterns(&s, &gp, &ng), 0);
    ck_assert_int_eq(fit_btyd(&bgnbd_model, bp, nb, 0, NULL, bg), GSL_SUCCESS);
    ck_assert_int_eq(gg_fit(gp, ng, 0, NULL, gg), GSL_SUCCESS);
    *n_cust = s.n;
    free(bp);
    free(gp);
    summary_set_free(&s);
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(test_worker_refit_matches_fit_btyd)
{
    response r;
    request("GET", "/v1/model", NULL, &r);
    ck_assert_msg(r.status == 503 && strstr(r.body, "no-model") != NULL, "%d: %s",
                  r.status, r.body);
    response_free(&r);

    txn_set t = {0};
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(CDNOW_CSV, &t, err) == 0, "%s", err);
    store_csv(&t);
    restart(); /* the cache rebuilt as of AS_OF: later days left out */
    ask_refit();
    wait_model(1, 0, &r);

    fit_result bg, gg;
    size_t n_cust;
    fit_directly(&t, &bg, &gg, &n_cust);
    txn_set_free(&t);
    json_t *m = r.json;
    ck_assert_str_eq(json_string_value(json_object_get(m, "model")), "bgnbd");
    ck_assert_str_eq(json_string_value(json_object_get(m, "period")), "week");
    ck_assert_str_eq(json_string_value(json_object_get(m, "as_of")), AS_OF);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "n_customers")), (long)n_cust);
    assert_params(json_object_get(m, "params"), bgnbd_model.param_names, bg.params, 4);
    assert_rel(json_number_value(json_object_get(m, "log_likelihood")), bg.log_likelihood,
               "log_likelihood");
    json_t *se = json_incref(json_object_get(m, "std_errors"));
    ck_assert(json_is_object(se));
    json_t *spend = json_object_get(m, "spend");
    ck_assert_msg(json_is_object(spend), "%s", r.body);
    assert_params(json_object_get(spend, "params"), gg_param_names, gg.params, 3);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(m, "last_refit"), "outcome")),
        "succeeded");
    json_int_t version = json_integer_value(json_object_get(m, "version"));
    ck_assert_int_gt(version, 0);
    response_free(&r);

    /* persisted: a restart serves the same snapshot before any refit */
    svc.cfg.refit_interval_s = 3600;
    restart();
    request("GET", "/v1/model", NULL, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    ck_assert_int_ge(json_integer_value(json_object_get(r.json, "version")), version);
    assert_params(json_object_get(r.json, "params"), bgnbd_model.param_names, bg.params,
                  4);
    /* a second refit (the automatic first one and the one asked for may both
     * run) warm-starts from the same optimum: equal to far below 1e-6 */
    json_t *se2 = json_object_get(r.json, "std_errors");
    for (size_t i = 0; i < 4; i++) {
        const char *name = bgnbd_model.param_names[i];
        assert_rel(json_number_value(json_object_get(se2, name)),
                   json_number_value(json_object_get(se, name)), name);
    }
    json_decref(se);
    response_free(&r);
}
END_TEST

static const char few_customers[] =
    "{\"transactions\":["
    "{\"id\":\"a1\",\"customer_id\":\"c1\",\"occurred_at\":\"1997-01-01T00:00:00Z\","
    "\"amount\":10},"
    "{\"id\":\"a2\",\"customer_id\":\"c1\",\"occurred_at\":\"1997-02-01T00:00:00Z\","
    "\"amount\":12},"
    "{\"id\":\"b1\",\"customer_id\":\"c2\",\"occurred_at\":\"1997-03-01T00:00:00Z\","
    "\"amount\":5}]}";

START_TEST(test_worker_failure_keeps_snapshot)
{
    store_snapshot s = {
        .as_of = 875577600, /* 1997-09-30 */
        .period = "week",
        .purchase = {.model = "bgnbd",
                     .params_json = "{\"r\": 0.243, \"alpha\": 4.414, \"a\": 0.793, "
                                    "\"b\": 2.426}",
                     .converged = true},
        .settings_model = "bgnbd",
        .settings_as_of_set = true,
        .settings_as_of_day = 10134, /* AS_OF */
    };
    store_db *db = testhttp_db_open(&svc);
    ck_assert_msg(store_snapshot_save(db, &s) == 0, "%s", store_db_error(db));
    store_db_close(db);
    svc.cfg.refit_after_txns = 2; /* the batch below wakes the worker */
    restart();

    response r;
    request("POST", "/v1/transactions", few_customers, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    response_free(&r);
    wait_model(0, 1, &r);
    json_t *last = json_object_get(r.json, "last_refit");
    ck_assert_str_eq(json_string_value(json_object_get(last, "outcome")), "failed");
    ck_assert_msg(strstr(json_string_value(json_object_get(last, "reason")), "too few") !=
                      NULL,
                  "%s", r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), s.id);
    static const double planted[] = {0.243, 4.414, 0.793, 2.426};
    assert_params(json_object_get(r.json, "params"), bgnbd_model.param_names, planted, 4);
    response_free(&r);

    ask_refit(); /* and by request: a second failure, still the same model */
    wait_model(0, 2, &r);
    ck_assert_int_eq(refits(&r, "succeeded"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), s.id);
    response_free(&r);
}
END_TEST

Suite *suite_worker(void)
{
    Suite *s = suite_create("worker");
    TCase *tc = tcase_create("worker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_worker_refit_matches_fit_btyd);
    tcase_add_test(tc, test_worker_failure_keeps_snapshot);
    suite_add_tcase(s, tc);
    return s;
}
