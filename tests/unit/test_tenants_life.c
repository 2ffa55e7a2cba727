/* Tenants over their life (issue 10), on a real PostgreSQL with the
 * in-process service (tests/unit/testhttp.h, testtenant.h):
 * - tenant deletion and customer erasure leave no row behind (SQL) and
 *   survive a restart; a purchase after erasure starts the customer afresh;
 * - settings per tenant (PATCH): horizon_days and model change that
 *   tenant's documents and model alone; as_of cannot change;
 * - two services on one database: a tenant created, changed and deleted
 *   (also deleted and created again unseen), and a customer erased, on one
 *   are followed by the other;
 * - a tenant with its own as_of: its customers as of that day, in memory
 *   and from PostgreSQL.
 * Run from the repository root (migrations/, tests/data/). */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_token.h"
#include "testhttp.h"
#include "testserve.h"
#include "testtenant.h"

#define HORIZON_DAYS 365

static testhttp_app svc;
static testhttp_app other; /* a second service on svc's database */
static char tmpdir[256];

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ltvd_tnl.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    testhttp_app_stop(&other);
    testhttp_db_drop(&svc);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "tenants_life: could not remove %s\n", tmpdir);
}

/* ---- 1. deletion and erasure: no row behind, after a restart too ------------------- */

/* The erased customer c1 of default: no document (and a second erasure
 * 404), in no list page or segment count, not in the tenant's count; keep's
 * c1, the same id, untouched. */
static void erased_everywhere(void)
{
    json_t *p = testtenant_call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 404);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:customer-not-found");
    json_decref(p);
    testtenant_call_ok0(svc.port, "DELETE", "/v1/customers/c1", NULL, 404);
    ck_assert_int_eq(testtenant_walk_list(svc.port, "/v1", testtenant_any_id),
                     1); /* c2 */
    json_t *doc =
        testtenant_call_ok(svc.port, "GET", "/v1/customers?limit=10", NULL, 200);
    json_t *items = json_object_get(doc, "customers");
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_str_eq(testhttp_jstr(json_array_get(items, 0), "customer_id"), "c2");
    json_decref(doc);
    doc = testtenant_call_ok(svc.port, "GET", "/v1/segments", NULL, 200);
    ck_assert_int_eq(testhttp_jint(doc, "customers") + testhttp_jint(doc, "unscored"), 1);
    json_decref(doc);
    ck_assert_int_eq(testtenant_customers(svc.port, "default"), 1);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM transactions"
                                   " WHERE tenant_id = 'default' AND customer_id = 'c1'"),
        0);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM customer_days"
                                   " WHERE tenant_id = 'default' AND customer_id = 'c1'"),
        0);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM transactions"
                                   " WHERE tenant_id = 'keep' AND customer_id = 'c1'"),
        4);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT count(*) FROM customer_days"
                                   " WHERE tenant_id = 'keep' AND customer_id = 'c1'"),
        3);
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/keep/customers/c1", NULL, 200);
    ck_assert_int_eq(testtenant_customers(svc.port, "keep"), 2);
}

/* The deleted tenant gone: 404 everywhere, no row of it. */
static void tenant_gone(void)
{
    json_t *p = testtenant_call_ok(svc.port, "GET", "/v1/tenants/gone", NULL, 404);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:tenant-not-found");
    json_decref(p);
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/gone/customers/c1", NULL, 404);
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/gone/model", NULL, 404);
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/gone", NULL, 404);
    ck_assert_int_eq(testtenant_rows(&svc, "gone"), 0);
    json_t *list = testtenant_call_ok(svc.port, "GET", "/v1/tenants", NULL, 200);
    json_t *items = json_object_get(list, "items"), *t;
    size_t i;
    json_array_foreach(items, i, t) ck_assert_str_ne(testhttp_jstr(t, "id"), "gone");
    ck_assert_int_eq(json_array_size(items), 2);
    json_decref(list);
}

START_TEST(test_tenants_delete_and_erase)
{
    testtenant_start_weekly(&svc, "ltvd_tn_del");
    testtenant_create(svc.port, "gone", "{\"currency\":\"EUR\"}");
    testtenant_create(svc.port, "keep", NULL);
    const char *prefixes[3] = {"/v1", "/v1/tenants/gone", "/v1/tenants/keep"};
    for (int i = 0; i < 3; i++) {
        char target[128];
        snprintf(target, sizeof target, "%s/transactions", prefixes[i]);
        testtenant_call_ok0(svc.port, "POST", target, testhttp_batch, 200);
    }
    /* acquisition inputs (migration 012): c1's attributes, a spend row */
    const char *attrs = "{\"acquisition_channel\":\"search\",\"campaign\":null}";
    const char *spend = "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-01\","
                        "\"spend\":10}]}";
    testtenant_call_ok0(svc.port, "PUT", "/v1/tenants/gone/customers/c1/attributes",
                        attrs, 200);
    testtenant_call_ok0(svc.port, "PUT", "/v1/customers/c1/attributes", attrs, 200);
    testtenant_call_ok0(svc.port, "PUT", "/v1/tenants/gone/acquisition/spend", spend,
                        200);
    testtenant_snapshot_save(&svc, "default", 1);
    testtenant_snapshot_save(&svc, "gone", 1);
    testtenant_snapshot_save(&svc, "keep", 1);
    char token[AUTH_TOKEN_LEN + 1];
    testtenant_key_make(&svc, "gone", AUTH_SCOPE_READ, token);
    testtenant_restart(&svc);
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/gone/customers/c1", NULL, 200);
    /* every table holds gone's rows: 5 transactions, 4 days, a snapshot, a
     * key, c1's attributes, a spend row */
    ck_assert_int_eq(testtenant_rows(&svc, "gone"), 5 + 4 + 1 + 1 + 1 + 1 + 1);
    long long others = testtenant_rows(&svc, "default") + testtenant_rows(&svc, "keep");

    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/gone", NULL, 204);
    tenant_gone();
    testtenant_call_ok0(svc.port, "DELETE", "/v1/customers/c1", NULL, 204);
    erased_everywhere();
    /* nothing else went: c1 of default had 4 transactions, 3 days and its
     * attributes */
    ck_assert_int_eq(testtenant_rows(&svc, "default") + testtenant_rows(&svc, "keep"),
                     others - 4 - 3 - 1);

    testtenant_restart(&svc);
    tenant_gone();
    erased_everywhere();

    /* a purchase after the erasure: a new customer, from that day */
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions",
                        "{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"c1\","
                        "\"occurred_at\":\"2025-11-02T08:00:00Z\",\"amount\":3}]}",
                        200);
    json_t *doc = testtenant_call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 200);
    json_t *s = json_object_get(doc, "summary");
    ck_assert_str_eq(testhttp_jstr(s, "first_purchase"), "2025-11-02");
    ck_assert_str_eq(testhttp_jstr(s, "last_purchase"), "2025-11-02");
    ck_assert_int_eq(testhttp_jint(s, "frequency"), 0);
    ck_assert_double_eq(testhttp_jnum(s, "monetary_value"), 0);
    ck_assert(json_is_null(json_object_get(doc, "acquisition_channel"))); /* erased too */
    json_decref(doc);
    testtenant_restart(&svc); /* and so from PostgreSQL */
    doc = testtenant_call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(json_object_get(doc, "summary"), "first_purchase"),
                     "2025-11-02");
    json_decref(doc);
    ck_assert_int_eq(testtenant_customers(svc.port, "default"), 2);

    /* gone created again: a new, empty tenant, with no model, nor settings */
    testtenant_create(svc.port, "gone", NULL);
    for (int i = 0; i < 2; i++) {
        json_t *t = testtenant_call_ok(svc.port, "GET", "/v1/tenants/gone", NULL, 200);
        ck_assert_int_eq(testhttp_jint(t, "customers"), 0);
        ck_assert(json_is_null(json_object_get(t, "model_version")));
        ck_assert_uint_eq(json_object_size(json_object_get(t, "settings")), 0);
        json_decref(t);
        testtenant_call_ok0(svc.port, "GET", "/v1/tenants/gone/customers/c1", NULL, 404);
        ck_assert_int_eq(testtenant_rows(&svc, "gone"), 1);
        testtenant_restart(&svc);
    }
}
END_TEST

/* ---- 2. settings per tenant ------------------------------------------------------- */

/* The body of GET target (200), caller frees. */
static char *body_of(int port, const char *target)
{
    testhttp_response r;
    testtenant_call(port, "GET", target, NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
    char *b = strdup(r.body);
    ck_assert_ptr_nonnull(b);
    testhttp_response_free(&r);
    return b;
}

/* GET target's "version" (or model.version) as an integer. */
static long long model_version(int port, const char *target)
{
    json_t *doc = testtenant_call_ok(port, "GET", target, NULL, 200);
    json_t *m = json_object_get(doc, "model");
    long long v =
        json_is_object(m) ? testhttp_jint(m, "version") : testhttp_jint(doc, "version");
    json_decref(doc);
    return v;
}

static void patch_acme(const char *settings, int want, const char *slug)
{
    char body[256];
    snprintf(body, sizeof body, "{\"settings\":%s}", settings);
    testhttp_response r;
    testtenant_call(svc.port, "PATCH", "/v1/tenants/acme", NULL, body, &r);
    ck_assert_msg(r.status == want, "PATCH %s: %d %s", body, r.status, r.body);
    if (slug != NULL)
        testhttp_assert_problem(&r, want, slug);
    testhttp_response_free(&r);
}

START_TEST(test_tenants_settings)
{
    char acme_csv[320];
    snprintf(acme_csv, sizeof acme_csv, "%s/acme.csv", tmpdir);
    long acme_n;
    json_t *models[2];
    testtenant_start_two_fitted(&svc, acme_csv, &acme_n, models);
    long long dflt_version = testhttp_jint(models[0], "version");
    long long acme_version = testhttp_jint(models[1], "version");
    json_decref(models[0]);
    json_decref(models[1]);
    char *dflt_doc = body_of(svc.port, "/v1/customers/1");
    char *dflt_model = body_of(svc.port, "/v1/model");

    /* horizon_days: acme's documents, not default's */
    json_t *acme1 =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/customers/1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(acme1, "horizon_days"), HORIZON_DAYS);
    patch_acme("{\"horizon_days\":90}", 200, NULL);
    json_t *acme2 =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/customers/1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(acme2, "horizon_days"), 90);
    ck_assert_double_lt(testhttp_jnum(acme2, "expected_purchases"),
                        testhttp_jnum(acme1, "expected_purchases"));
    ck_assert_int_eq(testhttp_jint(json_object_get(acme2, "model"), "version"),
                     acme_version); /* no refit for that */
    json_decref(acme1);
    json_decref(acme2);
    json_t *t = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme", NULL, 200);
    ck_assert_int_eq(testhttp_jint(json_object_get(t, "effective"), "horizon_days"), 90);
    ck_assert_int_eq(testhttp_jint(json_object_get(t, "settings"), "horizon_days"), 90);
    json_decref(t);
    char *now = body_of(svc.port, "/v1/customers/1");
    ck_assert_str_eq(now, dflt_doc);
    free(now);

    /* as_of is fixed: 422, nothing changed */
    patch_acme("{\"as_of\":\"1997-10-31\"}", 422, "validation-failed");
    patch_acme("{\"horizon_days\":0}", 422, "validation-failed");
    t = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(json_object_get(t, "effective"), "as_of"),
                     CDNOW_AS_OF);
    ck_assert_int_eq(testhttp_jint(json_object_get(t, "effective"), "horizon_days"), 90);
    json_decref(t);

    /* model: acme refits under Pareto/NBD, default keeps its model */
    patch_acme("{\"model\":\"pareto\",\"horizon_days\":null}", 200, NULL);
    json_t *m = NULL;
    for (int i = 0; i < 600 && m == NULL; i++) {
        m = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/model", NULL, 200);
        if (testhttp_jint(m, "version") == acme_version) {
            json_decref(m);
            m = NULL;
            testserve_sleep_ms(100);
        }
    }
    ck_assert_msg(m != NULL, "acme: no new model 60 s after the change of model");
    ck_assert_str_eq(testhttp_jstr(json_object_get(m, "settings"), "model"), "pareto");
    ck_assert_int_eq(testhttp_jint(m, "n_customers"), acme_n);
    json_decref(m);
    json_t *doc =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/customers/1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(doc, "horizon_days"), HORIZON_DAYS);
    ck_assert_int_gt(testhttp_jint(json_object_get(doc, "model"), "version"),
                     acme_version);
    json_decref(doc);
    ck_assert_int_eq(model_version(svc.port, "/v1/model"), dflt_version);
    now = body_of(svc.port, "/v1/customers/1");
    ck_assert_str_eq(now, dflt_doc);
    free(now);
    json_t *before = json_loads(dflt_model, 0, NULL),
           *after = testtenant_call_ok(svc.port, "GET", "/v1/model", NULL, 200);
    json_object_del(before, "last_refit");
    json_object_del(after, "last_refit");
    ck_assert_msg(json_equal(before, after), "default's model changed: %s", dflt_model);
    json_decref(before);
    json_decref(after);

    /* an erased customer is left out of the tenant's next fit */
    long long version = model_version(svc.port, "/v1/tenants/acme/model");
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/acme/customers/1", NULL, 204);
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/acme/model/refit", NULL, 202);
    m = NULL;
    for (int i = 0; i < 600 && m == NULL; i++) {
        m = testtenant_call_ok(svc.port, "GET", "/v1/tenants/acme/model", NULL, 200);
        if (testhttp_jint(m, "version") == version) {
            json_decref(m);
            m = NULL;
            testserve_sleep_ms(100);
        }
    }
    ck_assert_msg(m != NULL, "acme: no new model 60 s after the refit request");
    ck_assert_int_eq(testhttp_jint(m, "n_customers"), acme_n - 1);
    json_decref(m);
    ck_assert_int_eq(testtenant_customers(svc.port, "acme"), acme_n - 1);
    ck_assert_int_eq(
        testtenant_walk_list(svc.port, "/v1/tenants/acme", testtenant_acme_id),
        acme_n - 1);
    ck_assert_int_eq(model_version(svc.port, "/v1/model"), dflt_version);
    free(dflt_doc);
    free(dflt_model);
}
END_TEST

/* ---- 3. two services on one database ------------------------------------------------
 */

/* Polls GET target on port until it answers want (10 s); the last body
 * parsed is returned (caller decrefs). */
static json_t *await_status(int port, const char *target, int want)
{
    testhttp_response r;
    for (int i = 0; i < 200; i++) {
        testtenant_call(port, "GET", target, NULL, NULL, &r);
        if (r.status == want)
            return r.json;
        testhttp_response_free(&r);
        testserve_sleep_ms(50);
    }
    ck_abort_msg("%s: still %d, not %d, after 10 s: %s", target, r.status, want, r.body);
    return NULL;
}

/* Polls the "customers" of GET /v1/tenants/acme on port until it is want
 * (10 s). */
static void await_customers(int port, long long want)
{
    long long n = -1;
    for (int i = 0; i < 200 && n != want; i++) {
        json_t *doc = await_status(port, "/v1/tenants/acme", 200);
        n = testhttp_jint(doc, "customers");
        json_decref(doc);
        if (n != want)
            testserve_sleep_ms(50);
    }
    ck_assert_int_eq(n, want);
}

START_TEST(test_tenants_two_services)
{
    testtenant_start_weekly(&svc, "ltvd_tn_two");
    other = svc;
    other.app = NULL;
    other.auth = NULL;
    other.server = NULL;
    /* each as `ltvd serve` runs: its worker, follower and catch-up */
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, true);
    testhttp_app_start(&other, true);
    ck_assert(app_sync_begin(svc.app));
    ck_assert(app_sync_begin(other.app));

    /* created on one, served by the other, with its settings */
    testtenant_create(svc.port, "acme", "{\"horizon_days\":90}");
    json_t *doc = await_status(other.port, "/v1/tenants/acme", 200);
    ck_assert_int_eq(testhttp_jint(json_object_get(doc, "effective"), "horizon_days"),
                     90);
    json_decref(doc);
    /* ingest on the other, a model saved: both serve the customers */
    testtenant_call_ok0(other.port, "POST", "/v1/tenants/acme/transactions",
                        testhttp_batch, 200);
    testtenant_snapshot_save(&svc, "acme", 1);
    await_customers(svc.port, 2);
    doc = await_status(svc.port, "/v1/tenants/acme/customers/c1", 200);
    ck_assert_int_eq(testhttp_jint(doc, "horizon_days"), 90);
    json_decref(doc);
    json_decref(await_status(other.port, "/v1/tenants/acme/customers/c1", 200));

    /* changed on one: the other follows */
    patch_acme("{\"horizon_days\":30}", 200, NULL);
    for (int i = 0; i < 200; i++) {
        doc = await_status(other.port, "/v1/tenants/acme/customers/c1", 200);
        long long h = testhttp_jint(doc, "horizon_days");
        json_decref(doc);
        if (h == 30)
            break;
        ck_assert_msg(i < 199, "the other service's horizon is still %lld after 10 s", h);
        testserve_sleep_ms(50);
    }

    /* a customer erased on one: gone from the other */
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/acme/customers/c1", NULL, 204);
    json_decref(await_status(other.port, "/v1/tenants/acme/customers/c1", 404));
    await_customers(other.port, 1);
    ck_assert_int_eq(
        testtenant_walk_list(other.port, "/v1/tenants/acme", testtenant_any_id), 1);

    /* deleted on one: gone from the other */
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/acme", NULL, 204);
    json_decref(await_status(other.port, "/v1/tenants/acme", 404));
    json_t *p =
        testtenant_call_ok(other.port, "GET", "/v1/tenants/acme/customers/c2", NULL, 404);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:tenant-not-found");
    json_decref(p);
    testtenant_call_ok0(other.port, "POST", "/v1/tenants/acme/transactions",
                        testhttp_batch, 404);
    ck_assert_int_eq(testtenant_rows(&svc, "acme"), 0);

    /* deleted and created again between two looks of the services (as by a
     * process they cannot see, or while they were cut off): both serve the
     * new tenant, empty, not the deleted one's customers */
    testtenant_create(svc.port, "acme", NULL);
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/acme/transactions", testhttp_batch,
                        200);
    await_customers(other.port, 2);
    testtenant_sql_exec(
        &svc, "BEGIN; DELETE FROM tenants WHERE id = 'acme';"
              " INSERT INTO tenants (id, settings) VALUES ('acme', '{\"margin\": 0.25}');"
              " COMMIT");
    await_customers(other.port, 0);
    await_customers(svc.port, 0);
    testtenant_call_ok0(other.port, "GET", "/v1/tenants/acme/customers/c1", NULL, 404);
    testhttp_app_stop(&other);
}
END_TEST

/* An erasure reaches a process that hears no announcement: a read-only one
 * (as on a standby, it never listens) drops the customer on its next
 * catch-up, which reads the erasures table (migration 011). */
START_TEST(test_tenants_erasure_unheard)
{
    testtenant_start_weekly(&svc, "ltvd_tn_unheard");
    other = svc;
    other.app = NULL;
    other.auth = NULL;
    other.server = NULL;
    other.cfg.read_only = true;
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, true);
    testhttp_app_start(&other, true);
    ck_assert(app_sync_begin(svc.app));
    ck_assert(app_sync_begin(other.app));
    testtenant_create(svc.port, "acme", NULL);
    json_decref(await_status(other.port, "/v1/tenants/acme", 200));
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/acme/transactions", testhttp_batch,
                        200);
    testtenant_snapshot_save(&svc, "acme", 1);
    json_decref(await_status(other.port, "/v1/tenants/acme/customers/c1", 200));
    testtenant_call_ok0(svc.port, "DELETE", "/v1/tenants/acme/customers/c1", NULL, 204);
    json_decref(await_status(other.port, "/v1/tenants/acme/customers/c1", 404));
    await_customers(other.port, 1);
    /* bought again after the erasure: afresh, on both */
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/acme/transactions",
                        "{\"transactions\":[{\"id\":\"again\",\"customer_id\":\"c1\","
                        "\"occurred_at\":\"2025-03-01T10:00:00Z\",\"amount\":\"3.00\"}]}",
                        200);
    json_t *doc = await_status(other.port, "/v1/tenants/acme/customers/c1", 200);
    ck_assert_str_eq(testhttp_jstr(json_object_get(doc, "summary"), "first_purchase"),
                     "2025-03-01");
    json_decref(doc);
    testhttp_app_stop(&other);
}
END_TEST

/* ---- 4. a tenant with its own as_of ----------------------------------------------- */

#define MAR_31_2025 20178 /* UTC day number */

/* GET prefix/customers/c1's summary member name (a string or integer,
 * as text) into out. */
static void c1_summary(const char *prefix, const char *name, char *out, size_t cap)
{
    char target[128];
    snprintf(target, sizeof target, "%s/customers/c1", prefix);
    json_t *doc = testtenant_call_ok(svc.port, "GET", target, NULL, 200);
    json_t *v = json_object_get(json_object_get(doc, "summary"), name);
    if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "?");
    json_decref(doc);
}

static void want_c1(const char *prefix, const char *freq, const char *last)
{
    char got[64];
    c1_summary(prefix, "frequency", got, sizeof got);
    ck_assert_msg(strcmp(got, freq) == 0, "%s c1: frequency %s, want %s", prefix, got,
                  freq);
    c1_summary(prefix, "last_purchase", got, sizeof got);
    ck_assert_msg(strcmp(got, last) == 0, "%s c1: last purchase %s, want %s", prefix, got,
                  last);
}

/* c1's document under prefix once it carries a percentile, or has no
 * predicted LTV to rank (at most 10 s): predicted_ltv_percentile is null
 * until the tenant's score table is ranked, a moment after a start. */
static char *body_c1(const char *prefix)
{
    char target[128];
    snprintf(target, sizeof target, "%s/customers/c1", prefix);
    for (int i = 0;; i++) {
        char *body = body_of(svc.port, target);
        if (i == 100 || strstr(body, "\"predicted_ltv\":null") != NULL ||
            strstr(body, "\"predicted_ltv_percentile\":null") == NULL)
            return body;
        free(body);
        usleep(100000);
    }
}

START_TEST(test_tenants_own_as_of)
{
    testtenant_start_weekly(&svc, "ltvd_tn_asof"); /* as of 2025-12-31 */
    testtenant_create(svc.port, "past", "{\"as_of\":\"2025-03-31\"}");
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", testhttp_batch, 200);
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/past/transactions", testhttp_batch,
                        200);
    testtenant_snapshot_save(&svc, "default", 1);
    testtenant_snapshot_save_at(&svc, "past", 1, MAR_31_2025);
    testtenant_restart(&svc);
    /* c1 bought on 2025-01-06, 03-03 and 06-02: past sees two of the days */
    want_c1("/v1", "2", "2025-06-02");
    want_c1("/v1/tenants/past", "1", "2025-03-03");
    json_t *doc =
        testtenant_call_ok(svc.port, "GET", "/v1/tenants/past/customers/c1", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(doc, "as_of"), "2025-03-31");
    json_decref(doc);
    /* a purchase before its as_of counts, one after it does not */
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/past/transactions",
                        "{\"transactions\":[{\"id\":\"t9\",\"customer_id\":\"c1\","
                        "\"occurred_at\":\"2025-03-20T10:00:00Z\",\"amount\":4},"
                        "{\"id\":\"t10\",\"customer_id\":\"c1\","
                        "\"occurred_at\":\"2025-05-01T10:00:00Z\",\"amount\":4}]}",
                        200);
    want_c1("/v1/tenants/past", "2", "2025-03-20");
    want_c1("/v1", "2", "2025-06-02");
    /* the same from PostgreSQL (its customers read as of its day) */
    char *before = body_c1("/v1/tenants/past"), *dflt = body_c1("/v1");
    testtenant_restart(&svc);
    char *after = body_c1("/v1/tenants/past"), *dflt_after = body_c1("/v1");
    ck_assert_str_eq(after, before);
    ck_assert_str_eq(dflt_after, dflt);
    free(before);
    free(after);
    free(dflt);
    free(dflt_after);
}
END_TEST

Suite *suite_tenants_life(void)
{
    Suite *s = suite_create("tenants_life");
    TCase *tc = tcase_create("tenants_life");
    tcase_add_checked_fixture(tc, setup_tmp, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_tenants_delete_and_erase);
    tcase_add_test(tc, test_tenants_erasure_unheard);
    tcase_add_test(tc, test_tenants_settings);
    tcase_add_test(tc, test_tenants_two_services);
    tcase_add_test(tc, test_tenants_own_as_of);
    suite_add_tcase(s, tc);
    return s;
}
