/* Subscriptions, the service side (issue 11, part B): POST /v1/subscriptions
 * (idempotent, all or nothing, every order rule against the batch and the
 * stored events, nothing stored on an error: counted in SQL), tenant
 * isolation, erasure and tenant deletion, restart, the catch-up of events
 * another writer stored, the subscriber document against the retention
 * model's functions at the served parameters, the Fader & Hardie (2007)
 * regular cohort loaded as events, the retention report, the customer
 * document's member, and `ltvd import --subscriptions`. In-process service
 * on a real PostgreSQL (scripts/with_pg.sh). Run from the repository root. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/subs_impl.h"
#include "model/retention.h"
#include "testhttp.h"
#include "testrun.h"
#include "testserve.h"
#include "testtenant.h"

static testhttp_app svc;

static void setup(void)
{
    testhttp_app_start_served(&svc, "ltvd_subs");
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

static long long events(const char *tenant)
{
    return testtenant_sql_count(
        &svc, "SELECT count(*) FROM subscription_events WHERE tenant_id = '%s'", tenant);
}

/* One event as JSON (amount as given: a number or a quoted string). */
static void ev(char *out, size_t cap, const char *id, const char *customer,
               const char *sub, const char *event, const char *when, const char *amount,
               const char *period)
{
    snprintf(out, cap,
             "{\"id\":\"%s\",\"customer_id\":\"%s\",\"subscription_id\":\"%s\","
             "\"event\":\"%s\",\"occurred_at\":\"%s\",\"amount\":%s,"
             "\"billing_period\":\"%s\"}",
             id, customer, sub, event, when, amount, period);
}

/* POST {"items": [a, b, c]} (NULLs end the list) to target; the status. */
static json_t *post3(const char *target, const char *a, const char *b, const char *c,
                     int want)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"items\":[%s%s%s%s%s]}", a, b != NULL ? "," : "",
             b != NULL ? b : "", c != NULL ? "," : "", c != NULL ? c : "");
    return testtenant_call_ok(svc.port, "POST", target, body, want);
}

static void want_refused(const char *target, const char *a, const char *b, const char *c,
                         long index, const char *field, const char *reason_part)
{
    long long before =
        testtenant_sql_count(&svc, "SELECT count(*) FROM subscription_events");
    json_t *p = post3(target, a, b, c, 422);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:validation-failed");
    json_t *errs = json_object_get(p, "errors");
    ck_assert_msg(json_array_size(errs) >= 1, "no errors");
    bool found = false;
    for (size_t i = 0; i < json_array_size(errs); i++) {
        json_t *e = json_array_get(errs, i);
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *r = json_string_value(json_object_get(e, "reason"));
        found = found ||
                (json_integer_value(json_object_get(e, "index")) == index && f != NULL &&
                 strcmp(f, field) == 0 && r != NULL && strstr(r, reason_part) != NULL);
    }
    char *text = json_dumps(errs, 0);
    ck_assert_msg(found, "want item %ld %s '%s' in %s", index, field, reason_part, text);
    free(text);
    json_decref(p);
    /* nothing stored: counted in SQL */
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM subscription_events"), before);
}

/* ---- ingest ------------------------------------------------------------------------ */

START_TEST(test_subs_idempotent_retry)
{
    char a[512], b[512], c[512], b2[512];
    ev(a, sizeof a, "e1", "c1", "s1", "start", "2025-01-10T00:00:00Z", "9.99", "month");
    ev(b, sizeof b, "e2", "c1", "s1", "renew", "2025-02-10T00:00:00Z", "\"9.99\"",
       "month");
    ev(c, sizeof c, "e1", "c2", "s2", "start", "2025-03-01T00:00:00Z", "100", "year");
    json_t *r = post3("/v1/subscriptions", a, b, c, 200);
    ck_assert_int_eq(testhttp_jint(r, "received"), 3);
    ck_assert_int_eq(testhttp_jint(r, "new"), 3);
    ck_assert_int_eq(testhttp_jint(r, "duplicates"), 0);
    json_decref(r);
    r = post3("/v1/subscriptions", a, b, c, 200); /* the retried batch */
    ck_assert_int_eq(testhttp_jint(r, "new"), 0);
    ck_assert_int_eq(testhttp_jint(r, "duplicates"), 3);
    json_decref(r);
    ck_assert_int_eq(events("default"), 3);
    /* the same (subscription_id, id) with another payload: 422, nothing stored */
    ev(b2, sizeof b2, "e2", "c1", "s1", "renew", "2025-02-10T00:00:00Z", "10", "month");
    want_refused("/v1/subscriptions", b2, NULL, NULL, 0, "id", "already given");
    /* repeated inside one batch, alike: one stored; differing: 422 */
    char d[512], d2[512];
    ev(d, sizeof d, "e3", "c1", "s1", "renew", "2025-03-10T00:00:00Z", "9.99", "month");
    ev(d2, sizeof d2, "e3", "c1", "s1", "renew", "2025-03-11T00:00:00Z", "9.99", "month");
    want_refused("/v1/subscriptions", d, d2, NULL, 1, "id", "already given");
    r = post3("/v1/subscriptions", d, d, NULL, 200);
    ck_assert_int_eq(testhttp_jint(r, "new"), 1);
    ck_assert_int_eq(testhttp_jint(r, "duplicates"), 1);
    json_decref(r);
    ck_assert_int_eq(events("default"), 4);
    r = testtenant_call_ok(svc.port, "GET", "/v1/subscriptions/s1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(r, "renewals"), 2);
    ck_assert_str_eq(testhttp_jstr(r, "customer_id"), "c1");
    json_decref(r);
}
END_TEST

START_TEST(test_subs_every_bad_item_listed)
{
    char body[4096];
    snprintf(body, sizeof body,
             "{\"items\":["
             "{\"id\":\"1\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"pause\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"amount\":1,"
             "\"billing_period\":\"month\"},"
             "{\"id\":\"2\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"amount\":1,"
             "\"billing_period\":\"week\"},"
             "{\"id\":\"3\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"amount\":-1,"
             "\"billing_period\":\"month\"},"
             "{\"id\":\"4\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"amount\":\"NaN\","
             "\"billing_period\":\"month\"},"
             "{\"id\":\"5\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"start\",\"occurred_at\":\"2025-02-30T00:00:00Z\",\"amount\":1,"
             "\"billing_period\":\"month\"},"
             "{\"id\":\"6\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"amount\":\"Infinity\","
             "\"billing_period\":\"month\"},"
             "{\"id\":\"7\",\"customer_id\":\"c\",\"subscription_id\":\"s\",\"event\":"
             "\"start\",\"occurred_at\":\"2025-01-01T00:00:00Z\",\"amount\":1}"
             "]}");
    json_t *p = testtenant_call_ok(svc.port, "POST", "/v1/subscriptions", body, 422);
    json_t *errs = json_object_get(p, "errors");
    ck_assert_int_eq(json_array_size(errs), 7);
    static const char *const fields[] = {"event",         "billing_period", "amount",
                                         "amount",        "occurred_at",    "amount",
                                         "billing_period"};
    for (size_t i = 0; i < 7; i++) {
        json_t *e = json_array_get(errs, i);
        ck_assert_int_eq(json_integer_value(json_object_get(e, "index")), (long long)i);
        ck_assert_str_eq(json_string_value(json_object_get(e, "field")), fields[i]);
    }
    json_decref(p);
    ck_assert_int_eq(events("default"), 0);
    testtenant_call_ok0(svc.port, "POST", "/v1/subscriptions", "{\"items\":[]}", 422);
    testtenant_call_ok0(svc.port, "POST", "/v1/subscriptions", "{\"items\":[", 400);
}
END_TEST

START_TEST(test_subs_order_rules)
{
    const char *T = "/v1/subscriptions";
    char s[512], r0[512], r1[512], c1[512], c2[512], x[512];
    /* within one batch */
    ev(s, sizeof s, "1", "c", "a", "start", "2025-03-01T00:00:00Z", "5", "month");
    ev(r0, sizeof r0, "2", "c", "a", "renew", "2025-02-01T00:00:00Z", "5", "month");
    want_refused(T, s, r0, NULL, 1, "occurred_at",
                 "renew before the subscription's start");
    ev(c1, sizeof c1, "3", "c", "a", "cancel", "2025-03-15T00:00:00Z", "0", "month");
    ev(r1, sizeof r1, "4", "c", "a", "renew", "2025-04-01T00:00:00Z", "5", "month");
    want_refused(T, s, c1, r1, 2, "occurred_at", "after the subscription's cancel");
    ev(x, sizeof x, "5", "c", "b", "cancel", "2025-03-15T00:00:00Z", "0", "month");
    want_refused(T, x, NULL, NULL, 0, "event", "a cancel without a start");
    ev(x, sizeof x, "5", "c", "b", "renew", "2025-03-15T00:00:00Z", "5", "month");
    want_refused(T, x, NULL, NULL, 0, "event", "a renew without a start");
    /* out of order in the body, in order in time: accepted */
    json_t *ok = post3(T, r1, s, NULL, 200);
    ck_assert_int_eq(testhttp_jint(ok, "new"), 2);
    json_decref(ok);
    /* against the stored events: a renew before the stored start, a second
     * start, a cancel before a stored renew, then after a stored cancel */
    ev(x, sizeof x, "6", "c", "a", "renew", "2025-02-15T00:00:00Z", "5", "month");
    want_refused(T, x, NULL, NULL, 0, "occurred_at",
                 "renew before the subscription's start");
    ev(x, sizeof x, "7", "c", "a", "start", "2025-05-01T00:00:00Z", "5", "month");
    want_refused(T, x, NULL, NULL, 0, "event", "another start");
    ev(x, sizeof x, "8", "c", "a", "cancel", "2025-03-20T00:00:00Z", "0", "month");
    want_refused(T, x, NULL, NULL, 0, "occurred_at", "comes after this cancel");
    ev(x, sizeof x, "9", "other", "a", "renew", "2025-05-01T00:00:00Z", "5", "month");
    want_refused(T, x, NULL, NULL, 0, "customer_id", "differs");
    ev(c2, sizeof c2, "10", "c", "a", "cancel", "2025-04-20T00:00:00Z", "0", "month");
    ok = post3(T, c2, NULL, NULL, 200);
    json_decref(ok);
    ev(x, sizeof x, "11", "c", "a", "renew", "2025-05-01T00:00:00Z", "5", "month");
    want_refused(T, x, NULL, NULL, 0, "occurred_at", "after the subscription's cancel");
    ev(x, sizeof x, "12", "c", "a", "cancel", "2025-05-01T00:00:00Z", "0", "month");
    want_refused(T, x, NULL, NULL, 0, "occurred_at", "after the subscription's cancel");
    /* a good item with a bad one: neither stored */
    char good[512];
    ev(good, sizeof good, "1", "c", "fresh", "start", "2025-01-01T00:00:00Z", "5",
       "month");
    want_refused(T, good, x, NULL, 1, "occurred_at", "after the subscription's cancel");
    ck_assert_int_eq(testtenant_sql_count(&svc,
                                          "SELECT count(*) FROM subscription_events "
                                          "WHERE subscription_id = 'fresh'"),
                     0);
    ck_assert_int_eq(events("default"), 3);
    json_t *d = testtenant_call_ok(svc.port, "GET", "/v1/subscriptions/a", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(d, "status"), "cancelled");
    ck_assert_int_eq(testhttp_jint(d, "renewals"), 1);
    ck_assert_double_eq(testhttp_jnum(d, "p_renew"), 0);
    json_decref(d);
    testtenant_call_ok0(svc.port, "GET", "/v1/subscriptions/nosuch", NULL, 404);
}
END_TEST

/* ---- size and concurrency ------------------------------------------------------------
 */

/* 8,000 subscriptions in one batch: more than PostgreSQL's shared lock
 * table would hold as one advisory lock each. */
START_TEST(test_subs_large_batch)
{
    size_t cap = 8000 * 200 + 64, len = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    len += (size_t)snprintf(b, cap, "{\"items\":[");
    for (int i = 0; i < 8000; i++)
        len += (size_t)snprintf(
            b + len, cap - len,
            "%s{\"id\":\"1\",\"customer_id\":\"c%d\",\"subscription_id\":"
            "\"big%d\",\"event\":\"start\",\"occurred_at\":"
            "\"2025-01-01T00:00:00Z\",\"amount\":1,\"billing_period\":"
            "\"month\"}",
            i > 0 ? "," : "", i, i);
    snprintf(b + len, cap - len, "]}");
    json_t *r = testtenant_call_ok(svc.port, "POST", "/v1/subscriptions", b, 200);
    free(b);
    ck_assert_int_eq(testhttp_jint(r, "new"), 8000);
    json_decref(r);
    ck_assert_int_eq(events("default"), 8000);
}
END_TEST

typedef struct racer {
    int round, who, status;
    char body[300];
} racer;

/* Posts a start of subscription race<round> with its own id. */
static void *race(void *arg)
{
    racer *x = arg;
    char e[512], body[640];
    char id[16], sub[32];
    snprintf(id, sizeof id, "w%d", x->who);
    snprintf(sub, sizeof sub, "race%d", x->round);
    ev(e, sizeof e, id, "c", sub, "start", "2025-01-01T00:00:00Z", "1", "month");
    snprintf(body, sizeof body, "{\"items\":[%s]}", e);
    testhttp_response r;
    testtenant_call(svc.port, "POST", "/v1/subscriptions", NULL, body, &r);
    x->status = r.status;
    snprintf(x->body, sizeof x->body, "%.299s", r.body);
    testhttp_response_free(&r);
    return NULL;
}

/* Two writers start one subscription at once, with different ids: one
 * wins, the other is told the subscription has another start. */
START_TEST(test_subs_concurrent_starts)
{
    testhttp_app_stop(&svc); /* room for both batches at once */
    svc.cfg.offload_threads = 4;
    svc.cfg.db_request_threads = 3;
    testhttp_app_start(&svc, false);
    for (int round = 0; round < 20; round++) {
        racer x[2] = {{round, 0, 0, ""}, {round, 1, 0, ""}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(pthread_create(&th[i], NULL, race, &x[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        ck_assert_msg((x[0].status == 200 && x[1].status == 422) ||
                          (x[0].status == 422 && x[1].status == 200),
                      "round %d: %d and %d: %s %s", round, x[0].status, x[1].status,
                      x[0].body, x[1].body);
    }
    ck_assert_int_eq(events("default"), 20);
}
END_TEST

/* ---- tenants, erasure, restart, catch-up ---------------------------------------------
 */

START_TEST(test_subs_isolation_erasure_restart)
{
    testtenant_create(svc.port, "acme", NULL);
    char s[512], t[512];
    ev(s, sizeof s, "1", "sub-only", "s1", "start", "2025-01-01T00:00:00Z", "5", "month");
    ev(t, sizeof t, "1", "k2", "s2", "start", "2025-01-01T00:00:00Z", "7", "year");
    json_decref(post3("/v1/tenants/acme/subscriptions", s, t, NULL, 200));
    ck_assert_int_eq(events("acme"), 2);
    ck_assert_int_eq(events("default"), 0);
    testtenant_call_ok0(svc.port, "GET", "/v1/subscriptions/s1", NULL, 404);
    json_t *d = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/subscriptions/s1",
                                   NULL, 200);
    ck_assert_str_eq(testhttp_jstr(d, "customer_id"), "sub-only");
    json_decref(d);
    /* restart: read back from PostgreSQL */
    testtenant_restart(&svc);
    d = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/subscriptions/s2", NULL,
                           200);
    ck_assert_str_eq(testhttp_jstr(d, "billing_period"), "year");
    ck_assert_double_eq(testhttp_jnum(d, "amount"), 7);
    json_decref(d);
    /* another writer's events (as `ltvd import` stores them): the catch-up
     * (as `ltvd serve` runs it) */
    ck_assert(app_sync_begin(svc.app));
    testtenant_sql_exec(&svc,
                        "INSERT INTO subscription_events (tenant_id, subscription_id,"
                        " event_id, customer_id, event, occurred_at, amount,"
                        " billing_period) VALUES ('acme', 's1', '2', 'sub-only',"
                        " 'renew', '2025-02-01', 5, 'month');"
                        " UPDATE subscription_versions SET version = version + 1"
                        " WHERE tenant_id = 'acme'");
    long long k = 0;
    for (int i = 0; i < 100 && k != 1; i++) {
        testserve_sleep_ms(50);
        d = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/subscriptions/s1", NULL,
                               200);
        k = testhttp_jint(d, "renewals");
        json_decref(d);
    }
    ck_assert_int_eq(k, 1);
    /* erasure of a customer with subscriptions only */
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/acme/customers/sub-only", NULL,
                        204);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM subscription_events WHERE "
                                   "customer_id = 'sub-only'"),
        0);
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/acme/subscriptions/s1", NULL, 404);
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/acme/subscriptions/s2", NULL, 200);
    /* deletion of the tenant */
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/acme", NULL, 204);
    ck_assert_int_eq(events("acme"), 0);
    ck_assert_int_eq(testtenant_sql_count(&svc,
                                          "SELECT count(*) FROM subscription_versions"
                                          " WHERE tenant_id = 'acme'"),
                     0);
}
END_TEST

/* ---- the documents against the model -------------------------------------------------
 */

/* Fader & Hardie (2007), the regular cohort: survivors of 1000 after years
 * 0..7. */
static const int fh_regular[8] = {1000, 631, 468, 382, 326, 289, 262, 241};

/* The cohort as events of tenant fh (yearly, started 2010-01-01): customer
 * i renews while i < survivors[t]; churned ones with an odd index cancel,
 * the even ones lapse. */
static char *fh_events(long *n)
{
    *n = 0;
    size_t cap = 2000000, len = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    len += (size_t)snprintf(b + len, cap - len, "{\"items\":[");
    for (int i = 0; i < 1000; i++) {
        int k = 0;
        while (k < 7 && i < fh_regular[k + 1])
            k++;
        *n += k + 1 + (k < 7 && i % 2 == 1);
        for (int t = 0; t <= k; t++)
            len += (size_t)snprintf(b + len, cap - len,
                                    "%s{\"id\":\"e%d\",\"customer_id\":\"fc%d\","
                                    "\"subscription_id\":\"f%d\",\"event\":\"%s\","
                                    "\"occurred_at\":\"%d-01-01T00:00:00Z\",\"amount\":"
                                    "100,\"billing_period\":\"year\"}",
                                    len > 10 ? "," : "", t, i, i,
                                    t == 0 ? "start" : "renew", 2010 + t);
        if (k < 7 && i % 2 == 1)
            len += (size_t)snprintf(b + len, cap - len,
                                    ",{\"id\":\"c\",\"customer_id\":\"fc%d\","
                                    "\"subscription_id\":\"f%d\",\"event\":\"cancel\","
                                    "\"occurred_at\":\"%d-12-01T00:00:00Z\",\"amount\":0,"
                                    "\"billing_period\":\"year\"}",
                                    i, i, 2010 + k);
    }
    snprintf(b + len, cap - len, "]}");
    return b;
}

/* The served parameters of a document's model. */
static retention_params params_of(json_t *model)
{
    json_t *p = json_object_get(model, "params");
    ck_assert_ptr_nonnull(p);
    retention_params rp = {RETENTION_SBG, testhttp_jnum(p, "alpha"),
                           testhttp_jnum(p, "beta"), 1};
    return rp;
}

static void near(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-9 * fmax(1, fabs(want)), "%s: %.17g, want %.17g",
                  what, got, want);
}

START_TEST(test_subs_fader_hardie_documents)
{
    testtenant_create(svc.port, "fh",
                      "{\"as_of\":\"2017-06-01\",\"discount_rate\":0.01}");
    long n_events;
    char *body = fh_events(&n_events);
    json_t *r =
        testtenant_call_ok(svc.port, "POST", "/v1/tenants/fh/subscriptions", body, 200);
    free(body);
    ck_assert_int_eq(testhttp_jint(r, "new"), n_events);
    json_decref(r);
    json_t *rep = testtenant_call_ok(svc.port, "GET",
                                     "/v1/tenants/fh/subscriptions/retention", NULL, 200);
    json_t *periods = json_object_get(rep, "billing_periods");
    ck_assert_int_eq(json_array_size(periods), 1);
    json_t *y = json_array_get(periods, 0);
    ck_assert_str_eq(testhttp_jstr(y, "billing_period"), "year");
    json_t *coh = json_array_get(json_object_get(y, "cohorts"), 0);
    ck_assert_str_eq(testhttp_jstr(coh, "start"), "2010");
    json_t *surv = json_object_get(coh, "survivors");
    ck_assert_int_eq(json_array_size(surv), 8);
    for (int t = 0; t < 8; t++)
        ck_assert_int_eq(json_integer_value(json_array_get(surv, (size_t)t)),
                         fh_regular[t]);
    json_t *fit = json_object_get(y, "fit");
    retention_params p = params_of(fit);
    ck_assert_msg(fabs(p.alpha - 0.704) < 0.005 && fabs(p.beta - 1.182) < 0.005,
                  "alpha %g beta %g", p.alpha, p.beta);
    /* the same fit as the model's own on the published counts */
    double counts[8];
    for (int t = 0; t < 8; t++)
        counts[t] = fh_regular[t];
    retention_cohort one = {counts, 8};
    retention_fit_result direct;
    ck_assert_int_eq(retention_fit(RETENTION_SBG, &one, 1, &direct), 0);
    near(p.alpha, direct.params.alpha, "alpha vs retention_fit");
    near(p.beta, direct.params.beta, "beta vs retention_fit");
    near(testhttp_jnum(fit, "log_likelihood"), direct.fit.log_likelihood, "LL");
    ck_assert_msg(fabs(direct.fit.log_likelihood - -1680.27) < 0.01, "LL %.4f",
                  direct.fit.log_likelihood);
    /* the curve and the new subscriber's value at the served params */
    json_t *curve = json_object_get(y, "curve");
    ck_assert_int_eq(json_array_size(curve), 13);
    for (unsigned t = 0; t <= 12; t++) {
        double s;
        ck_assert_int_eq(retention_survival(&p, t, &s), 0);
        near(json_real_value(json_array_get(curve, t)), s, "curve");
    }
    double d = pow(1.01, 12) - 1, value;
    near(testhttp_jnum(y, "discount_rate_per_period"), d, "discount per year");
    ck_assert_int_eq(retention_new_subscriber_value(&p, 100, d, &value), 0);
    near(testhttp_jnum(y, "new_subscriber_value"), value, "new subscriber value");
    json_t *naive = json_object_get(y, "naive");
    double churn = testhttp_jnum(naive, "churn");
    near(testhttp_jnum(naive, "value"), 100 / churn, "naive value");
    ck_assert_msg(testhttp_jnum(y, "gap") > 0, "the naive formula undervalues");
    ck_assert_ptr_nonnull(strstr(testhttp_jstr(y, "note"), "undervalues"));
    /* an alive subscriber (7 renewals), a cancelled one, a lapsed one */
    json_t *doc =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/fh/subscriptions/f0", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(doc, "status"), "active");
    ck_assert_int_eq(testhttp_jint(doc, "renewals"), 7);
    retention_params q = params_of(json_object_get(doc, "model"));
    near(q.alpha, p.alpha, "alpha");
    double pr, er, derl;
    ck_assert_int_eq(retention_p_renew(&q, 7, &pr), 0);
    ck_assert_int_eq(retention_expected_renewals(&q, 7, 12, &er), 0);
    ck_assert_int_eq(retention_derl(&q, 7, d, &derl), 0);
    near(testhttp_jnum(doc, "p_renew"), pr, "p_renew");
    near(testhttp_jnum(doc, "expected_renewals"), er, "expected_renewals");
    near(testhttp_jnum(doc, "derl"), derl, "derl");
    near(testhttp_jnum(doc, "residual_value"), 100 * derl, "residual value");
    ck_assert_str_eq(testhttp_jstr(doc, "paid_through"), "2018-01-01T00:00:00Z");
    json_decref(doc);
    doc = testtenant_call_ok(svc.port, "GET", "/v1/tenants/fh/subscriptions/f999", NULL,
                             200);
    ck_assert_str_eq(testhttp_jstr(doc, "status"), "cancelled");
    ck_assert_double_eq(testhttp_jnum(doc, "residual_value"), 0);
    json_decref(doc);
    doc = testtenant_call_ok(svc.port, "GET", "/v1/tenants/fh/subscriptions/f998", NULL,
                             200);
    ck_assert_str_eq(testhttp_jstr(doc, "status"), "lapsed");
    json_decref(doc);
    json_decref(rep);
    /* bdw as the tenant's retention_model */
    testtenant_call_ok0(svc.port, "PATCH", "/v1/tenants/fh",
                        "{\"settings\":{\"as_of\":\"2017-06-01\",\"discount_rate\":0.01,"
                        "\"retention_model\":\"bdw\"}}",
                        200);
    rep = testtenant_call_ok(svc.port, "GET", "/v1/tenants/fh/subscriptions/retention",
                             NULL, 200);
    ck_assert_str_eq(testhttp_jstr(rep, "model"), "bdw");
    fit = json_object_get(json_array_get(json_object_get(rep, "billing_periods"), 0),
                          "fit");
    ck_assert(isfinite(testhttp_jnum(json_object_get(fit, "params"), "c")));
    json_decref(rep);
}
END_TEST

START_TEST(test_subs_before_a_fit_and_customer_member)
{
    /* c1 has transactions (testhttp_batch) and the snapshot serves it */
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", testhttp_batch, 200);
    char s[512];
    ev(s, sizeof s, "1", "c1", "m1", "start", "2025-12-01T00:00:00Z", "12.5", "month");
    json_decref(post3("/v1/subscriptions", s, NULL, NULL, 200));
    json_t *d = testtenant_call_ok(svc.port, "GET", "/v1/subscriptions/m1", NULL, 200);
    ck_assert(json_is_null(json_object_get(d, "model")));
    ck_assert(json_is_null(json_object_get(d, "p_renew")));
    ck_assert(json_is_null(json_object_get(d, "derl")));
    ck_assert_ptr_nonnull(json_object_get(d, "note"));
    json_decref(d);
    json_t *rep =
        testtenant_call_ok(svc.port, "GET", "/v1/subscriptions/retention", NULL, 200);
    json_t *m = json_array_get(json_object_get(rep, "billing_periods"), 0);
    ck_assert(json_is_null(json_object_get(m, "fit")));
    ck_assert(json_is_null(json_object_get(m, "curve")));
    ck_assert(json_is_null(json_object_get(m, "new_subscriber_value")));
    json_decref(rep);
    json_t *c = testtenant_call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 200);
    json_t *subs = json_object_get(c, "subscriptions");
    ck_assert_int_eq(json_array_size(subs), 1);
    ck_assert_str_eq(testhttp_jstr(json_array_get(subs, 0), "subscription_id"), "m1");
    json_decref(c);
    c = testtenant_call_ok(svc.port, "GET", "/v1/customers/c2", NULL, 200);
    ck_assert_ptr_null(json_object_get(c, "subscriptions"));
    json_decref(c);
    testtenant_call_ok0(svc.port, "GET", "/v1/subscriptions/retention?horizon_periods=0",
                        NULL, 400);
    testtenant_call_ok0(svc.port, "GET", "/v1/subscriptions/m1?nosuch=1", NULL, 400);
}
END_TEST

/* ---- two `ltvd serve` on one database ------------------------------------------------
 */

/* Events posted to one process show in the other's documents (its
 * catch-up), and an erasure through one drops them from the other. */
START_TEST(test_subs_two_processes)
{
    const char *env[] = {"LTVD_LISTEN=127.0.0.1:0",
                         "LTVD_THREAD_POOL_SIZE=2",
                         "LTVD_CACHE_SYNC_MS=200",
                         "LTVD_AUTH_REQUIRED=false",
                         "LTVD_AS_OF=2025-12-31",
                         "LTVD_SHUTDOWN_DEADLINE_S=3",
                         NULL};
    testserve p[2];
    for (int i = 0; i < 2; i++)
        testserve_start(&p[i], svc.cfg.database_url, env);
    char s[512], r[512], body[1200];
    ev(s, sizeof s, "1", "k1", "t1", "start", "2025-01-05T00:00:00Z", "5", "month");
    ev(r, sizeof r, "2", "k1", "t1", "renew", "2025-02-05T00:00:00Z", "5", "month");
    snprintf(body, sizeof body, "{\"items\":[%s,%s]}", s, r);
    testserve_reply rep;
    ck_assert_int_eq(
        testserve_http(p[0].port, "POST", "/v1/subscriptions", body, 10, &rep), 200);
    testserve_reply_free(&rep);
    int got = -1;
    for (int i = 0; i < 100 && got != 200; i++) {
        got = testserve_http(p[1].port, "GET", "/v1/subscriptions/t1", NULL, 10, &rep);
        if (got == 200)
            ck_assert_msg(strstr(rep.body, "\"renewals\":1") != NULL, "%s", rep.body);
        testserve_reply_free(&rep);
        if (got != 200)
            testserve_sleep_ms(50);
    }
    ck_assert_int_eq(got, 200);
    ck_assert_int_eq(
        testserve_http(p[1].port, "DELETE", "/v1/customers/k1", NULL, 10, &rep), 204);
    testserve_reply_free(&rep);
    for (int i = 0; i < 100 && got != 404; i++) {
        got = testserve_http(p[0].port, "GET", "/v1/subscriptions/t1", NULL, 10, &rep);
        testserve_reply_free(&rep);
        if (got != 404)
            testserve_sleep_ms(50);
    }
    ck_assert_int_eq(got, 404);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(testserve_stop(&p[i], 10000), 0);
        testserve_forget(&p[i]);
    }
}
END_TEST

/* ---- the rules of periods, churn and cohorts ----------------------------------------
 */

START_TEST(test_subs_calendar)
{
    /* 2025-01-31 + 1 month: February's last day; + 13: 2026-02-28; a leap
     * year's February 29 + 1 year: February 28 */
    ck_assert_int_eq(subs_add_periods(1738281600, 1, SUBS_MONTH), 1740700800);
    ck_assert_int_eq(subs_add_periods(1738281600, 13, SUBS_MONTH), 1772236800);
    ck_assert_int_eq(subs_add_periods(1709164800, 1, SUBS_YEAR), 1740700800);
    ck_assert_int_eq(subs_add_periods(1709164800, 4, SUBS_YEAR), 1835395200);
}
END_TEST

/* A monthly cohort as of 2025-04-30 with 7 grace days: decisions 1..3 are
 * observed; a renews twice then lapses, b cancels, c never renews. */
START_TEST(test_subs_cohort_rule)
{
    testtenant_create(svc.port, "mo", "{\"as_of\":\"2025-04-30\"}");
    char e[6][512];
    ev(e[0], sizeof e[0], "1", "ca", "a", "start", "2025-01-15T10:00:00Z", "10", "month");
    ev(e[1], sizeof e[1], "2", "ca", "a", "renew", "2025-02-15T10:00:00Z", "10", "month");
    ev(e[2], sizeof e[2], "3", "ca", "a", "renew", "2025-03-14T10:00:00Z", "12", "month");
    ev(e[3], sizeof e[3], "1", "cb", "b", "start", "2025-01-20T10:00:00Z", "10", "month");
    ev(e[4], sizeof e[4], "2", "cb", "b", "cancel", "2025-02-01T10:00:00Z", "0", "month");
    ev(e[5], sizeof e[5], "1", "cc", "c", "start", "2025-01-02T10:00:00Z", "10", "month");
    json_decref(post3("/v1/tenants/mo/subscriptions", e[0], e[1], e[2], 200));
    json_decref(post3("/v1/tenants/mo/subscriptions", e[3], e[4], e[5], 200));
    json_t *rep = testtenant_call_ok(svc.port, "GET",
                                     "/v1/tenants/mo/subscriptions/retention", NULL, 200);
    json_t *m = json_array_get(json_object_get(rep, "billing_periods"), 0);
    ck_assert_int_eq(testhttp_jint(m, "lapsed"), 2);
    ck_assert_int_eq(testhttp_jint(m, "cancelled"), 1);
    json_t *coh = json_array_get(json_object_get(m, "cohorts"), 0);
    ck_assert_str_eq(testhttp_jstr(coh, "start"), "2025-01");
    char *text = json_dumps(json_object_get(coh, "survivors"), JSON_COMPACT);
    ck_assert_str_eq(text, "[3,1,1,0]");
    free(text);
    json_decref(rep);
    json_t *d =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/mo/subscriptions/a", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(d, "status"), "lapsed");
    ck_assert_str_eq(testhttp_jstr(d, "paid_through"), "2025-04-15T10:00:00Z");
    ck_assert_double_eq(testhttp_jnum(d, "amount"), 12);
    json_decref(d);
    /* 2025-04-30 is within the grace of a's paid period with a grace of 20 days */
    testtenant_call_ok0(svc.port, "PATCH", "/v1/tenants/mo",
                        "{\"settings\":{\"as_of\":\"2025-04-30\","
                        "\"subscription_grace_days\":20}}",
                        200);
    d = testtenant_call_ok(svc.port, "GET", "/v1/tenants/mo/subscriptions/a", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(d, "status"), "active");
    json_decref(d);
    /* nobody leaves: the counts do not determine the parameters, no model is
     * served and the figures are null with a note */
    testtenant_create(svc.port, "loyal", "{\"as_of\":\"2025-04-30\"}");
    char l[4][512];
    ev(l[0], sizeof l[0], "1", "x", "x", "start", "2025-01-02T00:00:00Z", "5", "month");
    ev(l[1], sizeof l[1], "2", "x", "x", "renew", "2025-02-02T00:00:00Z", "5", "month");
    ev(l[2], sizeof l[2], "3", "x", "x", "renew", "2025-03-02T00:00:00Z", "5", "month");
    ev(l[3], sizeof l[3], "4", "x", "x", "renew", "2025-04-02T00:00:00Z", "5", "month");
    json_decref(post3("/v1/tenants/loyal/subscriptions", l[0], l[1], l[2], 200));
    json_decref(post3("/v1/tenants/loyal/subscriptions", l[3], NULL, NULL, 200));
    d = testtenant_call_ok(svc.port, "GET", "/v1/tenants/loyal/subscriptions/x", NULL,
                           200);
    ck_assert(json_is_null(json_object_get(d, "model")));
    ck_assert(json_is_null(json_object_get(d, "derl")));
    ck_assert_ptr_nonnull(strstr(testhttp_jstr(d, "note"), "no sbg model is served"));
    json_decref(d);
}
END_TEST

/* ---- ltvd import --subscriptions ------------------------------------------------------
 */

/* Runs `$LTVD import --subscriptions FILE` (file content text) on svc's
 * database, with extra options. */
static testrun_out import_run(const char *text, const char *extra)
{
    char path[] = "/tmp/ltvd_subs_import_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("LTVD_SUBS_TEST_URL", svc.cfg.database_url, 1);
    char cmd[1024];
    snprintf(
        cmd, sizeof cmd,
        "export DATABASE_URL=\"$LTVD_SUBS_TEST_URL\"; $LTVD import --subscriptions %s %s",
        path, extra);
    testrun_out r = testrun_sh(cmd);
    unlink(path);
    return r;
}

START_TEST(test_subs_import)
{
    ck_assert(app_sync_begin(svc.app)); /* the service learns of the import */
    const char *good = "subscription_id,id,customer_id,event,occurred_at,amount,"
                       "billing_period\n"
                       "s1,1,c1,start,2025-01-05T00:00:00Z,9.5,month\n"
                       "s1,2,c1,renew,2025-02-05T00:00:00Z,9.5,month\n"
                       "s2,1,c2,start,2025-01-07T00:00:00Z,120,year\n";
    testrun_out r = import_run(good, "--dry-run");
    ck_assert_msg(r.status == 0 && strstr(r.out, "3 events valid") != NULL, "%s %s",
                  r.out, r.err);
    testrun_free(&r);
    ck_assert_int_eq(events("default"), 0);
    r = import_run(good, "");
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "3 events, 3 new, 0 duplicates") != NULL, "%s", r.out);
    testrun_free(&r);
    r = import_run(good, "--dry-run"); /* no database touched */
    ck_assert_msg(r.status == 0 && strstr(r.out, "3 events valid") != NULL, "%s %s",
                  r.out, r.err);
    testrun_free(&r);
    r = import_run(good, "--tenant default"); /* again: nothing new */
    ck_assert_msg(strstr(r.out, "3 events, 0 new, 3 duplicates") != NULL, "%s", r.out);
    testrun_free(&r);
    ck_assert_int_eq(events("default"), 3);
    /* bad values: every row listed with its line, nothing stored */
    r = import_run(
        "id,customer_id,subscription_id,event,occurred_at,amount,billing_period\n"
        "9,c3,s3,start,2025-01-05T00:00:00Z,1,week\n"
        "10,c3,s3,stop,2025-01-06T00:00:00Z,-1,month\n",
        "");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, ":2: billing_period") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, ":3: event") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, ":3: amount") != NULL, "%s", r.err);
    testrun_free(&r);
    /* out of order against the stored events: a cancel before s1's renew,
     * with a good event in the same file: nothing stored */
    r = import_run(
        "id,customer_id,subscription_id,event,occurred_at,amount,billing_period\n"
        "1,c4,s4,start,2025-01-05T00:00:00Z,1,month\n"
        "3,c1,s1,cancel,2025-01-20T00:00:00Z,0,month\n",
        "");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, ":3: occurred_at") != NULL, "%s", r.err);
    testrun_free(&r);
    ck_assert_int_eq(events("default"), 3);
    /* the unknown tenant: nothing read */
    r = import_run(good, "--tenant nosuch");
    ck_assert_int_ne(r.status, 0);
    testrun_free(&r);
    long long k = -1;
    for (int i = 0; i < 100 && k != 1; i++) {
        testhttp_response g;
        testtenant_call(svc.port, "GET", "/v1/subscriptions/s1", NULL, NULL, &g);
        k = g.status == 200 ? testhttp_jint(g.json, "renewals") : -1;
        testhttp_response_free(&g);
        if (k != 1)
            testserve_sleep_ms(50);
    }
    ck_assert_int_eq(k, 1);
}
END_TEST

Suite *suite_subscriptions(void)
{
    Suite *s = suite_create("subscriptions");
    TCase *tc = tcase_create("subscriptions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_subs_idempotent_retry);
    tcase_add_test(tc, test_subs_every_bad_item_listed);
    tcase_add_test(tc, test_subs_order_rules);
    tcase_add_test(tc, test_subs_isolation_erasure_restart);
    tcase_add_test(tc, test_subs_fader_hardie_documents);
    tcase_add_test(tc, test_subs_before_a_fit_and_customer_member);
    tcase_add_test(tc, test_subs_import);
    tcase_add_test(tc, test_subs_large_batch);
    tcase_add_test(tc, test_subs_calendar);
    tcase_add_test(tc, test_subs_two_processes);
    tcase_add_test(tc, test_subs_cohort_rule);
    tcase_add_test(tc, test_subs_concurrent_starts);
    suite_add_tcase(s, tc);
    return s;
}
