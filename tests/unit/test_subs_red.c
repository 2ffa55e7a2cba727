/* Subscriptions, regressions found by the red team (issue 11, part B): the
 * order check's duplicate rule on amounts as sent against amounts as
 * PostgreSQL gives them back (no database: subs_check_order on stored
 * events made up here); the read of a batch's stored events when the plan
 * scans the table (a real PostgreSQL, scripts/with_pg.sh, and the
 * in-process service). */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/subs.h"
#include "model/retention.h"
#include "testhttp.h"
#include "testrun.h"
#include "testtenant.h"

/* A batch of one start of s1 with amount as sent (parsed as the service
 * does), checked against one stored start of s1 with amount stored. */
static int one_against_stored(const char *amount, const char *stored_amount, bool *dup)
{
    subs_batch b;
    ingest_errors e;
    ingest_limits lim = ingest_limits_default(1000);
    char body[512];
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"e0\",\"customer_id\":\"c1\",\"subscription_id\":"
             "\"s1\",\"event\":\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\","
             "\"amount\":%s,\"billing_period\":\"month\"}]}",
             amount);
    ck_assert_int_eq(subs_batch_parse(body, strlen(body), &lim, 1800000000, &b, &e),
                     INGEST_OK);
    ingest_errors_free(&e);
    store_sub_event stored = {"s1",       "e0",          "c1",   "start",
                              1735689600, stored_amount, "month"};
    ingest_errors errs = {0};
    int rc = subs_check_order(&b, &stored, 1, 100, &errs, dup);
    ingest_errors_free(&errs);
    subs_batch_free(&b);
    return rc;
}

/* An amount sent as ".5" is stored as 0.5000: sent again it is a duplicate,
 * not a 422 "this id was already given to another event" (a retried batch
 * was refused). */
START_TEST(test_subs_red_amount_leading_point)
{
    const char *cases[][2] = {
        {"\".5\"", "0.5000"},     {"\"+.5\"", "0.5000"}, {"\".50\"", "0.5000"},
        {"\"0.5\"", "0.5000"},    {"0.5", "0.5000"},     {"\"5.\"", "5.0000"},
        {"\"-0\"", "0.0000"},     {"\".0\"", "0.0000"},  {"\"1e2\"", "100.0000"},
        {"\"012.5\"", "12.5000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool dup = false;
        ck_assert_msg(one_against_stored(cases[i][0], cases[i][1], &dup) == 0,
                      "%s against stored %s: refused", cases[i][0], cases[i][1]);
        ck_assert_msg(dup, "%s against stored %s: not a duplicate", cases[i][0],
                      cases[i][1]);
    }
    bool dup = false; /* a different amount is still refused */
    ck_assert_int_eq(one_against_stored("\".5\"", "5.0000", &dup), 1);
    ck_assert_int_eq(one_against_stored("\".05\"", "0.5000", &dup), 1);
}
END_TEST

/* 683 monthly cohorts (one a month since 1970, as the service accepts),
 * the oldest observed for 683 decisions: the likelihood was evaluated per
 * cohort, 233,000 steps of the model's recursion per evaluation (the BdW
 * fit took 8 s under the tenant's lock; a subscriber's document waited for
 * it); pooled, one pass of at most 684. The pooled log-likelihood equals
 * the sum of the cohorts' own; the 2 s bound only detects the old cost. */
START_TEST(test_subs_red_fit_many_cohorts)
{
    enum { N = 683 };
    retention_cohort *c = calloc(N, sizeof *c);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < N; i++) {
        c[i].n = N - i + 1;
        double *v = malloc(c[i].n * sizeof *v);
        ck_assert_ptr_nonnull(v);
        for (size_t t = 0; t < c[i].n; t++) /* retention rising with tenure */
            v[t] = floor(200.0 * pow(1.0 + (double)t, -0.6 - 0.001 * (double)(i % 7)));
        c[i].survivors = v;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int kind = 0; kind < 2; kind++) {
        retention_kind k = kind == 0 ? RETENTION_SBG : RETENTION_BDW;
        retention_fit_result r;
        ck_assert_int_eq(retention_fit(k, c, N, &r), GSL_SUCCESS);
        ck_assert_msg(r.fit.converged, "%s did not converge", retention_kind_name(k));
        double all, sum = 0;
        ck_assert_int_eq(retention_loglik(&r.params, c, N, &all), GSL_SUCCESS);
        for (size_t i = 0; i < N; i++) {
            double one;
            ck_assert_int_eq(retention_loglik(&r.params, &c[i], 1, &one), GSL_SUCCESS);
            sum += one;
        }
        ck_assert_msg(fabs(all - sum) <= 1e-9 * fabs(sum), "%.17g vs %.17g", all, sum);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    ck_assert_msg(secs < 2.0, "two fits on %d cohorts took %.2f s", N, secs);
    for (size_t i = 0; i < N; i++)
        free((void *)c[i].survivors);
    free(c);
}
END_TEST

/* A header naming a column twice: the first was read and the other
 * silently ignored (which id was stored depended on the order); now
 * refused, nothing read (a dry run: no database). */
START_TEST(test_subs_red_import_column_twice)
{
    char path[] = "/tmp/ltvd_subs_red_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "id,customer_id,subscription_id,event,occurred_at,amount,"
                       "billing_period,id\n"
                       "e,c,s,start,2025-01-01T00:00:00Z,1,month,x\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "$LTVD import --subscriptions %s --dry-run", path);
    testrun_out r = testrun_sh(cmd);
    unlink(path);
    ck_assert_msg(r.status == 1 && strstr(r.err, "names column id twice") != NULL,
                  "exit %d: %s %s", r.status, r.out, r.err);
    testrun_free(&r);
}
END_TEST

/* A subscription named retention was stored, then shadowed by the report
 * (GET /v1/subscriptions/retention): refused at the parse now. */
START_TEST(test_subs_red_retention_id_reserved)
{
    subs_batch b;
    ingest_errors e;
    ingest_limits lim = ingest_limits_default(1000);
    const char *body =
        "{\"items\":[{\"id\":\"e0\",\"customer_id\":\"c1\",\"subscription_id\":"
        "\"retention\",\"event\":\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\","
        "\"amount\":1,\"billing_period\":\"month\"}]}";
    ck_assert_int_eq(subs_batch_parse(body, strlen(body), &lim, 1800000000, &b, &e),
                     INGEST_INVALID);
    ck_assert_int_eq(e.n, 1);
    ck_assert_str_eq(e.items[0].field, "subscription_id");
    ck_assert_msg(strstr(e.items[0].reason, "reserved") != NULL, "%s", e.items[0].reason);
    ingest_errors_free(&e);
}
END_TEST

static testhttp_app svc;

static void setup(void)
{
    testhttp_app_start_served(&svc, "ltvd_subsred");
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* A batch of 10,000 events of one subscription in a tenant of 100,000
 * stored events, the service's sessions planning as a plan cached while
 * the table was small would (generic plans, no index scans): the stored
 * events were read with `subscription_id = ANY ($2)` as a filter, every row
 * against every element (1e9 comparisons, over 5 s: 503 after the wait);
 * now a join on the distinct ids, sent unnamed. The 2 s wait only detects
 * the quadratic read (it takes ~0.1 s). */
START_TEST(test_subs_red_big_batch_scanning_plan)
{
    testtenant_sql_exec(
        &svc, "INSERT INTO subscription_events (tenant_id, subscription_id, event_id,"
              " customer_id, event, occurred_at, amount, billing_period)"
              " SELECT 'default', 'g' || i, 'e', 'c' || i, 'start',"
              " '2025-01-01T00:00:00Z', 1, 'month' FROM generate_series(1, 100000) i");
    testtenant_sql_exec(&svc, "ANALYZE subscription_events");
    testtenant_sql_exec(&svc,
                        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET "
                        "plan_cache_mode = force_generic_plan', current_database());"
                        " EXECUTE format('ALTER DATABASE %I SET enable_indexscan ="
                        " off', current_database()); EXECUTE format('ALTER DATABASE"
                        " %I SET enable_indexonlyscan = off', current_database());"
                        " EXECUTE format('ALTER DATABASE %I SET enable_bitmapscan ="
                        " off', current_database()); END $$");
    testhttp_app_stop(&svc);
    svc.cfg.db_statement_timeout_ms = 2000;
    testhttp_app_start(&svc, false);
    size_t cap = 10000 * 220 + 64, len = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    len += (size_t)snprintf(b, cap, "{\"items\":[");
    for (int i = 0; i < 10000; i++)
        len += (size_t)snprintf(
            b + len, cap - len,
            "%s{\"id\":\"r%d\",\"customer_id\":\"ck\",\"subscription_id\":"
            "\"kk\",\"event\":\"%s\",\"occurred_at\":"
            "\"2025-06-01T00:00:00Z\",\"amount\":5,\"billing_period\":"
            "\"month\"}",
            i > 0 ? "," : "", i, i == 0 ? "start" : "renew");
    snprintf(b + len, cap - len, "]}");
    json_t *r = testtenant_call_ok(svc.port, "POST", "/v1/subscriptions", b, 200);
    free(b);
    ck_assert_int_eq(testhttp_jint(r, "new"), 10000);
    json_decref(r);
    ck_assert_int_eq(
        testtenant_sql_count(
            &svc,
            "SELECT count(*) FROM subscription_events WHERE subscription_id = 'kk'"),
        10000);
}
END_TEST

/* Posts body (a JSON text) to target, wanting status 200. */
static void post_ok(const char *target, const char *body)
{
    json_t *r = testtenant_call_ok(svc.port, "POST", target, body, 200);
    json_decref(r);
}

/* DELETE /v1/customers/c1 on another thread (the erasure under test). */
static void *erase_c1(void *arg)
{
    (void)arg;
    testtenant_call_ok0(svc.port, "DELETE", "/v1/customers/c1", NULL, 204);
    return NULL;
}

/* An erasure racing a batch of events: the batch took its subscription's
 * lock bucket and read the stored start, the erasure's DELETE (not waiting
 * on that lock) took its snapshot, then the batch committed its renew: a
 * renew with no start was left, its document saying it started in 1970
 * (red team). The erasure now takes the customer's subscriptions' buckets
 * first, so it deletes the renew too. The batch is played by hand in its
 * own transaction: its lock, then its row. */
START_TEST(test_subs_red_erase_waits_for_a_batch)
{
    post_ok("/v1/subscriptions",
            "{\"items\":[{\"id\":\"e0\",\"customer_id\":\"c1\",\"subscription_id\":"
            "\"s1\",\"event\":\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\","
            "\"amount\":5,\"billing_period\":\"month\"}]}");
    store_db *db = testhttp_db_open(&svc);
    PGresult *res = PQexec(db->conn, "BEGIN; SELECT pg_advisory_xact_lock("
                                     "hashtext('default'), hashtext('s1') & 63)");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, erase_c1, NULL), 0);
    usleep(300 * 1000); /* the erasure waits on the bucket meanwhile */
    res = PQexec(db->conn,
                 "INSERT INTO subscription_events (tenant_id, subscription_id, event_id,"
                 " customer_id, event, occurred_at, amount, billing_period) VALUES"
                 " ('default', 's1', 'e1', 'c1', 'renew', '2025-02-01T00:00:00Z', 5,"
                 " 'month'); COMMIT");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    store_db_close(db);
    pthread_join(th, NULL);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM subscription_events"
                                   " WHERE tenant_id = 'default' AND customer_id = 'c1'"),
        0);
}
END_TEST

/* A served sBG with beta < 1 at discount_rate 0: the naive figures exist
 * (churn observed) but the model's value of a new subscriber is infinite;
 * the note said "no churn was observed yet". Three cohorts of 200 following
 * an sBG(0.5, 0.5), as of 2025-12-31, and one active subscriber. */
START_TEST(test_subs_red_unbounded_value_note)
{
    testtenant_create(svc.port, "zero", "{\"as_of\":\"2025-12-31\",\"discount_rate\":0}");
    retention_params truth = {RETENTION_SBG, 0.5, 0.5, 1.0};
    size_t cap = 1 << 20, len = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    for (int m = 0; m < 3; m++) {
        int T = 23 - m; /* decisions observed as of 2025-12-31 */
        len = (size_t)snprintf(b, cap, "{\"items\":[");
        for (int j = 0; j < 200; j++) {
            int k = 0; /* renewals: survives decision t while j < 200 S(t) */
            for (int t = 1; t <= T; t++) {
                double st;
                ck_assert_int_eq(retention_survival(&truth, (unsigned)t, &st),
                                 GSL_SUCCESS);
                if (j < (int)lround(200 * st))
                    k = t;
            }
            char sub[32];
            snprintf(sub, sizeof sub, "m%dj%d", m, j);
            for (int t = 0; t <= k; t++) {
                int mo = m + t; /* month index from 2024-01 */
                len += (size_t)snprintf(
                    b + len, cap - len,
                    "%s{\"id\":\"e%d\",\"customer_id\":\"c%s\",\"subscription_id\":"
                    "\"%s\",\"event\":\"%s\",\"occurred_at\":\"%d-%02d-05T00:00:00Z\","
                    "\"amount\":10,\"billing_period\":\"month\"}",
                    j + t > 0 ? "," : "", t, sub, sub, t == 0 ? "start" : "renew",
                    2024 + mo / 12, mo % 12 + 1);
            }
            if (k < T) {
                int mo = m + k;
                len += (size_t)snprintf(
                    b + len, cap - len,
                    ",{\"id\":\"x\",\"customer_id\":\"c%s\",\"subscription_id\":"
                    "\"%s\",\"event\":\"cancel\",\"occurred_at\":\"%d-%02d-20T00:00:"
                    "00Z\","
                    "\"amount\":0,\"billing_period\":\"month\"}",
                    sub, sub, 2024 + mo / 12, mo % 12 + 1);
            }
        }
        snprintf(b + len, cap - len, "]}");
        post_ok("/v1/tenants/zero/subscriptions", b);
    }
    free(b);
    json_t *r = testtenant_call_ok(svc.port, "GET",
                                   "/v1/tenants/zero/subscriptions/retention", NULL, 200);
    json_t *p = json_array_get(json_object_get(r, "billing_periods"), 0);
    json_t *fit = json_object_get(p, "fit");
    ck_assert_msg(json_is_object(fit), "no fit");
    double beta =
        json_number_value(json_object_get(json_object_get(fit, "params"), "beta"));
    ck_assert_msg(beta < 1, "beta %g", beta);
    ck_assert(json_is_number(json_object_get(json_object_get(p, "naive"), "value")));
    ck_assert(json_is_null(json_object_get(p, "new_subscriber_value")));
    const char *note = json_string_value(json_object_get(p, "note"));
    ck_assert_msg(note != NULL && strstr(note, "no churn") == NULL &&
                      strstr(note, "not finite") != NULL,
                  "%s", note);
    json_decref(r);
    /* an active subscriber: P(renew) and the expected renewals are finite,
     * only DERL (and the residual value) is not (they were all null) */
    r = testtenant_call_ok(svc.port, "GET", "/v1/tenants/zero/subscriptions/m0j0", NULL,
                           200);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "active");
    ck_assert(json_is_number(json_object_get(r, "p_renew")));
    ck_assert(json_is_number(json_object_get(r, "expected_renewals")));
    ck_assert(json_is_null(json_object_get(r, "derl")));
    ck_assert(json_is_null(json_object_get(r, "residual_value")));
    note = json_string_value(json_object_get(r, "note"));
    ck_assert_msg(note != NULL && strstr(note, "does not converge") != NULL, "%s", note);
    json_decref(r);
}
END_TEST

Suite *suite_subs_red(void)
{
    Suite *s = suite_create("subs_red");
    TCase *tc = tcase_create("subs_red");
    tcase_add_test(tc, test_subs_red_amount_leading_point);
    tcase_add_test(tc, test_subs_red_fit_many_cohorts);
    tcase_add_test(tc, test_subs_red_import_column_twice);
    tcase_add_test(tc, test_subs_red_retention_id_reserved);
    suite_add_tcase(s, tc);
    TCase *db = tcase_create("subs_red_db");
    tcase_add_checked_fixture(db, setup, teardown);
    tcase_set_timeout(db, 120);
    tcase_add_test(db, test_subs_red_big_batch_scanning_plan);
    tcase_add_test(db, test_subs_red_unbounded_value_note);
    tcase_add_test(db, test_subs_red_erase_waits_for_a_batch);
    suite_add_tcase(s, db);
    return s;
}
