/* Tenants end to end (issue 10), on a real PostgreSQL with the in-process
 * service (tests/unit/testhttp.h, testtenant.h):
 * - two tenants with the same customer ids and different data (the CDNOW
 *   sample in `default`, a transformed copy in `acme`: amounts doubled,
 *   days shifted, every fifth customer dropped, another margin), each
 *   fitted by its own worker: every customer's document equals `ltvd score`
 *   on that tenant's own CSV with that tenant's parameters, and lists,
 *   segments and the tenant document count that tenant's customers only;
 * - isolation, for every tenant operation of openapi.yaml and every scope:
 *   another tenant's key, an unknown and a malformed tenant get 404
 *   tenant-not-found (never 403, never data), a platform key reaches every
 *   tenant, tenant management needs a platform key, refused writes change
 *   no row (counted in SQL per tenant), and a private /metrics (every
 *   tenant's totals) refuses another tenant's key.
 * Deletion, erasure, settings and two services: test_tenants_life.c; the
 * migration of a database from before tenants: test_tenants_migrate.c.
 * Run from the repository root (openapi.yaml, migrations/, tests/data/). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_token.h"
#include "openapi_check.h"
#include "openapi_http.h"
#include "testhttp.h"
#include "testserve.h"
#include "testtenant.h"

#define REL 1e-9
#define ABS 1e-12
#define HORIZON_DAYS 365
#define P_PURCHASE_DAYS 30

static testhttp_app svc;
static char tmpdir[256];

/* ---- `ltvd score` (as the integration suite runs it) --------------------------------
 */

typedef struct score_row {
    char id[32];
    double frequency, recency, T, p_alive, expected, p_purchase, monetary, spend, clv;
} score_row;

static void write_json(const char *path, json_t *j)
{
    ck_assert_msg(json_dump_file(j, path, JSON_COMPACT | JSON_REAL_PRECISION(17)) == 0,
                  "%s", path);
}

/* `ltvd score` of csv with the model document model (its params and
 * spend) over horizon_days with margin, its CSV output into out. */
static void run_score(const char *csv, json_t *model, const char *margin,
                      int horizon_days, const char *out)
{
    char params[320], spend[320], horizon[32], months[16], err_path[320];
    snprintf(params, sizeof params, "%s/params.json", tmpdir);
    snprintf(spend, sizeof spend, "%s/spend.json", tmpdir);
    snprintf(err_path, sizeof err_path, "%s/score.err", tmpdir);
    write_json(params, model);
    write_json(spend, json_object_get(model, "spend"));
    snprintf(horizon, sizeof horizon, "%.17g", (double)horizon_days / 7.0);
    snprintf(months, sizeof months, "%ld", lround(fmax(1, HORIZON_DAYS / 30.0)));
    const char *bin = testserve_bin(), *name = testhttp_jstr(model, "model");
    pid_t parent = getpid(), pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (getppid() != parent || efd < 0 || ofd < 0)
            _exit(127);
        dup2(efd, 2);
        dup2(ofd, 1);
        execl(bin, bin, "score", "--transactions", csv, "--as-of", CDNOW_AS_OF,
              "--period", "week", "--model", name, "--params", params, "--spend-model",
              "gg", "--spend-params", spend, "--horizon", horizon, "--discount-rate",
              "0.01", "--margin", margin, "--clv-months", months, (char *)NULL);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    static char err[4096];
    testserve_read_file(err_path, err, sizeof err);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ltvd score: status %d: %s", st,
                  err);
}

/* The rows `ltvd score` printed into rows[cap]; returns how many. */
static size_t read_scores(const char *path, score_row *rows, size_t cap)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    char line[1024];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    size_t n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        ck_assert_uint_lt(n, cap);
        score_row *r = &rows[n++];
        ck_assert_msg(sscanf(line, "%31[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", r->id,
                             &r->frequency, &r->recency, &r->T, &r->p_alive, &r->expected,
                             &r->p_purchase, &r->monetary, &r->spend, &r->clv) == 10,
                      "%s: %s", path, line);
    }
    fclose(f);
    return n;
}

static void near(const char *tenant, const char *id, const char *what, double got,
                 double want)
{
    double d = fabs(got - want);
    ck_assert_msg(d <= ABS || d <= REL * fabs(want),
                  "tenant %s, customer %s: %s is %.17g, ltvd score says %.17g", tenant,
                  id, what, got, want);
}

/* Every customer of `ltvd score`'s rows (want over the horizon, want30
 * over 30 days) against the tenant's documents (prefix), on one keep-alive
 * connection. */
static void compare_all(int port, const char *tenant, const char *prefix,
                        const score_row *want, const score_row *want30, size_t n)
{
    int fd = testhttp_dial(port);
    for (size_t i = 0; i < n; i++) {
        char target[128];
        ck_assert_int_lt(
            snprintf(target, sizeof target, "%.60s/customers/%.31s", prefix, want[i].id),
            (int)sizeof target);
        testhttp_response r;
        testhttp_request_on(fd, "GET", target, NULL, &r);
        ck_assert_msg(r.status == 200 && r.json != NULL, "%s: %d %s", target, r.status,
                      r.body);
        ck_assert_str_eq(want30[i].id, want[i].id);
        json_t *j = r.json, *s = json_object_get(j, "summary");
        const char *id = want[i].id;
        ck_assert_str_eq(testhttp_jstr(j, "customer_id"), id);
        ck_assert_str_eq(testhttp_jstr(j, "as_of"), CDNOW_AS_OF);
        ck_assert_int_eq(testhttp_jint(s, "frequency"), (long long)want[i].frequency);
        near(tenant, id, "recency", testhttp_jnum(s, "recency"), want[i].recency);
        near(tenant, id, "T", testhttp_jnum(s, "T"), want[i].T);
        near(tenant, id, "monetary_value", testhttp_jnum(s, "monetary_value"),
             want[i].monetary);
        near(tenant, id, "p_alive", testhttp_jnum(j, "p_alive"), want[i].p_alive);
        near(tenant, id, "expected_purchases", testhttp_jnum(j, "expected_purchases"),
             want[i].expected);
        near(tenant, id, "p_purchase", testhttp_jnum(j, "p_purchase"),
             want30[i].p_purchase);
        near(tenant, id, "expected_spend", testhttp_jnum(j, "expected_spend"),
             want[i].spend);
        near(tenant, id, "predicted_ltv", testhttp_jnum(j, "predicted_ltv"), want[i].clv);
        testhttp_response_free(&r);
    }
    close(fd);
}

/* prefix/segments once its counts are of the served model (version): the
 * number of customers counted, unscored ones included (30 s). */
static long segment_customers(int port, const char *prefix, long long version)
{
    char target[128];
    static char last[2048];
    snprintf(target, sizeof target, "%s/segments", prefix);
    for (int i = 0; i < 300; i++) {
        json_t *doc = testtenant_call_ok(port, "GET", target, NULL, 200);
        json_t *m = json_object_get(doc, "model");
        long n = (long)(testhttp_jint(doc, "customers") + testhttp_jint(doc, "unscored"));
        bool now = json_is_integer(json_object_get(m, "version")) &&
                   testhttp_jint(m, "version") == version;
        char *text = json_dumps(doc, JSON_COMPACT);
        snprintf(last, sizeof last, "%s", text != NULL ? text : "");
        free(text);
        json_decref(doc);
        if (now)
            return n;
        testserve_sleep_ms(100);
    }
    ck_abort_msg("%s: not counted with model %lld after 30 s: %s", target, version, last);
    return -1;
}

/* ---- fixtures ------------------------------------------------------------------------
 */

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ltvd_tn.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "tenants: could not remove %s\n", tmpdir);
}

/* ---- 1. the same customer ids, different data: each equals `ltvd score` ----------- */

START_TEST(test_tenants_score_each_own)
{
    char acme_csv[320];
    snprintf(acme_csv, sizeof acme_csv, "%s/acme.csv", tmpdir);
    long acme_n;
    json_t *models[2];
    testtenant_start_two_fitted(&svc, acme_csv, &acme_n, models);
    ck_assert_int_lt(acme_n, CDNOW_CUSTOMERS);
    /* two fits of different data: different parameters */
    ck_assert(!json_equal(json_object_get(models[0], "params"),
                          json_object_get(models[1], "params")));

    static const struct {
        const char *tenant, *prefix, *csv_default, *margin;
        bool (*keep)(const char *);
    } tenants[2] = {{"default", "/v1", CDNOW_CSV, "1", testtenant_any_id},
                    {"acme", "/v1/tenants/acme", NULL, ACME_MARGIN, testtenant_acme_id}};
    static score_row want[CDNOW_CUSTOMERS + 1], want30[CDNOW_CUSTOMERS + 1];
    for (int k = 0; k < 2; k++) {
        const char *csv =
            tenants[k].csv_default != NULL ? tenants[k].csv_default : acme_csv;
        long customers = k == 0 ? CDNOW_CUSTOMERS : acme_n;
        char out[320], out30[320];
        snprintf(out, sizeof out, "%s/score_%s.csv", tmpdir, tenants[k].tenant);
        snprintf(out30, sizeof out30, "%s/score30_%s.csv", tmpdir, tenants[k].tenant);
        run_score(csv, models[k], tenants[k].margin, HORIZON_DAYS, out);
        run_score(csv, models[k], tenants[k].margin, P_PURCHASE_DAYS, out30);
        size_t n = read_scores(out, want, CDNOW_CUSTOMERS + 1);
        ck_assert_int_eq((long)n, customers);
        ck_assert_uint_eq(read_scores(out30, want30, CDNOW_CUSTOMERS + 1), n);
        compare_all(svc.port, tenants[k].tenant, tenants[k].prefix, want, want30, n);

        /* lists, segments and the tenant document: its customers alone */
        ck_assert_int_eq(
            testtenant_walk_list(svc.port, tenants[k].prefix, tenants[k].keep),
            customers);
        ck_assert_int_eq(segment_customers(svc.port, tenants[k].prefix,
                                           testhttp_jint(models[k], "version")),
                         customers);
        ck_assert_int_eq(testtenant_customers(svc.port, tenants[k].tenant), customers);
    }
    /* a customer acme dropped is unknown there, known in default */
    testtenant_call_ok0(svc.port, "GET", "/v1/tenants/acme/customers/5", NULL, 404);
    testtenant_call_ok0(svc.port, "GET", "/v1/customers/5", NULL, 200);
    json_decref(models[0]);
    json_decref(models[1]);
}
END_TEST

/* ---- 2. isolation: every tenant operation, every scope --------------------------- */

#define N_A_KEYS 4

typedef struct iso_keys {
    char a[N_A_KEYS][AUTH_TOKEN_LEN + 1]; /* alpha's: ingest, read, admin, all */
    char dflt[AUTH_TOKEN_LEN + 1];        /* default's, every tenant scope */
    char platform[AUTH_TOKEN_LEN + 1];    /* '*', every scope */
    char a_platform[AUTH_TOKEN_LEN + 1];  /* alpha's with the scope platform (by hand) */
    long checked;                         /* requests checked */
} iso_keys;

/* A batch a refused write must not store. */
static const char stray_batch[] =
    "{\"transactions\":[{\"id\":\"x1\",\"customer_id\":\"zz\","
    "\"occurred_at\":\"2025-05-01T00:00:00Z\",\"amount\":1}]}";

/* A subscription batch a refused write must not store. */
static const char stray_subs[] =
    "{\"items\":[{\"id\":\"x1\",\"customer_id\":\"zz\",\"subscription_id\":\"zs\","
    "\"event\":\"start\",\"occurred_at\":\"2025-05-01T00:00:00Z\",\"amount\":1,"
    "\"billing_period\":\"month\"}]}";

/* The target of the tenant operation path under prefix ("" for the
 * unprefixed path): its {customer_id} is customer. */
static void tenant_target(const char *prefix, const char *path, const char *customer,
                          char *out, size_t cap)
{
    char rest[256];
    snprintf(rest, sizeof rest, "%s", path + 3); /* after /v1 */
    char *brace = strchr(rest, '{');
    if (brace != NULL) {
        char *end = strchr(brace, '}');
        char tail[128];
        snprintf(tail, sizeof tail, "%s", end + 1);
        snprintf(brace, sizeof rest - (size_t)(brace - rest), "%s%s", customer, tail);
    }
    snprintf(out, cap, "/v1%s%s", prefix, rest);
}

/* method target with token answers 404 tenant-not-found. */
static void want_tenant_404(iso_keys *k, const char *method, const char *target,
                            const char *token, const char *body)
{
    testhttp_response r;
    testtenant_call(svc.port, method, target, token, body, &r);
    ck_assert_msg(r.status == 404 && r.json != NULL, "%s %s: %d %s", method, target,
                  r.status, r.body);
    testhttp_assert_problem(&r, 404, "tenant-not-found");
    /* nothing of the tenant's: no customer, model or count in it */
    ck_assert(json_object_get(r.json, "customer_id") == NULL);
    testhttp_response_free(&r);
    k->checked++;
}

/* An id of 64 characters: one more than a tenant id has. */
#define TOO_LONG                                                                         \
    "/tenants/a123456789012345678901234567890123456789012345678901234567890123"

static bool is_tenant_op(const char *path)
{
    return strncmp(path, "/v1/", 4) == 0 && strncmp(path, "/v1/tenants", 11) != 0;
}

static void iso_op(const char *method, const char *path, const json_t *op, void *arg)
{
    (void)op;
    iso_keys *k = arg;
    if (strncmp(path, "/v1/tenants", 11) == 0) { /* management: a platform key's */
        char target[128];
        snprintf(target, sizeof target, "%s", path);
        char *brace = strchr(target, '{');
        if (brace != NULL)
            snprintf(brace, sizeof target - (size_t)(brace - target), "beta");
        const char *body = strcmp(method, "POST") == 0    ? "{\"id\":\"gamma\"}"
                           : strcmp(method, "PATCH") == 0 ? "{\"settings\":{}}"
                                                          : NULL;
        const char *tokens[] = {k->a[N_A_KEYS - 1], k->dflt, k->a_platform};
        for (size_t i = 0; i < 3; i++) {
            testhttp_response r;
            testtenant_call(svc.port, method, target, tokens[i], body, &r);
            ck_assert_msg(r.status == 403, "%s %s with key %zu: %d %s", method, target, i,
                          r.status, r.body);
            testhttp_assert_problem(&r, 403, "forbidden");
            testhttp_response_free(&r);
            k->checked++;
        }
        return;
    }
    if (!is_tenant_op(path))
        return;
    const char *body = strcmp(path, "/v1/transactions") == 0    ? stray_batch
                       : strcmp(path, "/v1/subscriptions") == 0 ? stray_subs
                                                                : NULL;
    char target[512];
    /* alpha's keys, each scope alone and all, and default's key, on beta */
    tenant_target("/tenants/beta", path, "c1", target, sizeof target);
    for (int i = 0; i < N_A_KEYS; i++)
        want_tenant_404(k, method, target, k->a[i], body);
    want_tenant_404(k, method, target, k->dflt, body);
    /* alpha's keys on the unprefixed paths: the tenant default */
    tenant_target("", path, "c1", target, sizeof target);
    for (int i = 0; i < N_A_KEYS; i++)
        want_tenant_404(k, method, target, k->a[i], body);
    /* unknown and malformed tenants, with any key, the platform's too */
    static const char *const bad[] = {
        "/tenants/nosuch", "/tenants/Alpha",    "/tenants/_alpha",
        "/tenants/al.pha", "/tenants/al%20pha", TOO_LONG,
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        tenant_target(bad[b], path, "c1", target, sizeof target);
        want_tenant_404(k, method, target, k->platform, body);
        want_tenant_404(k, method, target, k->a[N_A_KEYS - 1], body);
    }
}

/* What the platform key gets from both tenants: their own data. */
static void platform_reaches_both(const iso_keys *k)
{
    testhttp_response r;
    double ltv[2];
    const char *tenants[2] = {"alpha", "beta"};
    for (int i = 0; i < 2; i++) {
        char target[128];
        snprintf(target, sizeof target, "/v1/tenants/%s/customers/c1", tenants[i]);
        testtenant_call(svc.port, "GET", target, k->platform, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
        ltv[i] = testhttp_jnum(r.json, "predicted_ltv");
        testhttp_response_free(&r);
        snprintf(target, sizeof target, "/v1/tenants/%s", tenants[i]);
        testtenant_call(svc.port, "GET", target, k->platform, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
        testhttp_response_free(&r);
        /* alpha's all-scope key reads alpha's own */
        snprintf(target, sizeof target, "/v1/tenants/%s/customers/c1", tenants[i]);
        testtenant_call(svc.port, "GET", target, k->a[N_A_KEYS - 1], NULL, &r);
        ck_assert_int_eq(r.status, i == 0 ? 200 : 404);
        testhttp_response_free(&r);
    }
    ck_assert_msg(ltv[0] != ltv[1], "alpha and beta's c1 alike: %g", ltv[0]);
    testtenant_call(svc.port, "GET", "/v1/tenants", k->platform, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
    testhttp_response_free(&r);
    testtenant_call(svc.port, "POST", "/v1/tenants/beta/transactions", k->platform,
                    stray_batch, &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
    testtenant_call(svc.port, "GET", "/v1/customers/c1", k->dflt, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
}

/* beta's rows, and default's, by table. */
#define N_TABLES 6
static void rows_of(const char *tenant, long long out[N_TABLES])
{
    static const char *const tables[N_TABLES] = {
        "transactions",        "customer_days",     "model_snapshots",
        "customer_attributes", "acquisition_spend", "subscription_events"};
    for (int i = 0; i < N_TABLES; i++)
        out[i] = testtenant_sql_count(
            &svc, "SELECT count(*) FROM %s WHERE tenant_id = '%s'", tables[i], tenant);
}

static const char beta_batch[] =
    "{\"transactions\":["
    "{\"id\":\"b1\",\"customer_id\":\"c1\",\"occurred_at\":\"2025-02-06T10:00:00Z\","
    "\"amount\":100},"
    "{\"id\":\"b2\",\"customer_id\":\"c1\",\"occurred_at\":\"2025-07-01T10:00:00Z\","
    "\"amount\":200},"
    "{\"id\":\"b3\",\"customer_id\":\"c3\",\"occurred_at\":\"2025-03-01T10:00:00Z\","
    "\"amount\":1}]}";

START_TEST(test_tenants_isolation)
{
    testtenant_start_weekly(&svc, "ltvd_tn_iso");
    testtenant_create(svc.port, "alpha", NULL);
    testtenant_create(svc.port, "beta", NULL);
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", testhttp_batch, 200);
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/alpha/transactions",
                        testhttp_batch, 200);
    testtenant_call_ok0(svc.port, "POST", "/v1/tenants/beta/transactions", beta_batch,
                        200);
    /* beta's acquisition inputs, which alpha's keys must not reach */
    testtenant_call_ok0(svc.port, "PUT", "/v1/tenants/beta/customers/c1/attributes",
                        "{\"acquisition_channel\":\"beta-web\",\"campaign\":\"b\"}", 200);
    testtenant_call_ok0(svc.port, "PUT", "/v1/tenants/beta/acquisition/spend",
                        "{\"items\":[{\"channel\":\"beta-web\",\"month\":\"2025-03\","
                        "\"spend\":5}]}",
                        200);
    testtenant_snapshot_save(&svc, "default", 1);
    testtenant_snapshot_save(&svc, "alpha", 1);
    testtenant_snapshot_save(&svc, "beta", 2);
    testtenant_restart(&svc); /* serves the snapshots */

    static iso_keys k;
    memset(&k, 0, sizeof k);
    static const unsigned scopes[N_A_KEYS] = {
        AUTH_SCOPE_INGEST, AUTH_SCOPE_READ, AUTH_SCOPE_ADMIN,
        AUTH_SCOPE_INGEST | AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN};
    for (int i = 0; i < N_A_KEYS; i++)
        testtenant_key_make(&svc, "alpha", scopes[i], k.a[i]);
    testtenant_key_make(&svc, "default", scopes[N_A_KEYS - 1], k.dflt);
    testtenant_key_make(&svc, "*", AUTH_SCOPE_ALL, k.platform);
    testtenant_key_make(&svc, "alpha", AUTH_SCOPE_ALL, k.a_platform);
    svc.cfg.auth_required = true; /* read per request */

    long long beta_before[N_TABLES], dflt_before[N_TABLES], beta_after[N_TABLES],
        dflt_after[N_TABLES];
    rows_of("beta", beta_before);
    rows_of("default", dflt_before);
    char err[OA_ERR_MAX];
    json_t *spec = oa_load("openapi.yaml", err);
    ck_assert_msg(spec != NULL, "%s", err);
    oa_each_operation(spec, iso_op, &k);
    json_decref(spec);
    /* 17 tenant operations (3 of them acquisition inputs, 3 of subscriptions, 2 of
     * model diagnostics, 2 the dashboard's), 5 management ones at least */
    ck_assert_int_ge(k.checked, 17 * (N_A_KEYS + 1 + N_A_KEYS + 12) + 5 * 3);
    rows_of("beta", beta_after);
    rows_of("default", dflt_after);
    for (int i = 0; i < N_TABLES; i++) {
        ck_assert_int_eq(beta_after[i], beta_before[i]);
        ck_assert_int_eq(dflt_after[i], dflt_before[i]);
    }
    ck_assert_int_eq(testtenant_sql_count(&svc, "SELECT count(*) FROM tenants"), 3);
    ck_assert_int_eq(
        testtenant_sql_count(
            &svc, "SELECT count(*) FROM transactions WHERE customer_id = 'zz'"),
        0);
    platform_reaches_both(&k);

    /* a private /metrics adds up every tenant's figures: not for alpha */
    svc.cfg.metrics_public = false; /* read per request */
    const char *metrics_keys[] = {k.a[1], k.a[2], k.a[N_A_KEYS - 1], k.dflt, k.platform};
    for (int i = 0; i < 5; i++) {
        testhttp_response r;
        testtenant_call(svc.port, "GET", "/metrics", metrics_keys[i], NULL, &r);
        ck_assert_msg(r.status == (i < 3 ? 403 : 200), "/metrics with key %d: %d %.200s",
                      i, r.status, r.body);
        if (i < 3)
            testhttp_assert_problem(&r, 403, "forbidden");
        testhttp_response_free(&r);
    }
    svc.cfg.metrics_public = true;
    ck_assert_int_eq(
        testtenant_sql_count(&svc,
                             "SELECT count(*) FROM transactions WHERE customer_id = 'zz'"
                             " AND tenant_id = 'beta'"),
        1);
}
END_TEST

Suite *suite_tenants(void)
{
    Suite *s = suite_create("tenants");
    TCase *tc = tcase_create("tenants");
    tcase_add_checked_fixture(tc, setup_tmp, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_tenants_score_each_own);
    tcase_add_test(tc, test_tenants_isolation);
    suite_add_tcase(s, tc);
    return s;
}
