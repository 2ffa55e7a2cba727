/* Tenants end to end (issue 10), on a real PostgreSQL with the in-process
 * service (tests/unit/testhttp.h):
 * - two tenants with the same customer ids and different data (the CDNOW
 *   sample in `default`, a transformed copy in `acme`: amounts doubled,
 *   days shifted, every fifth customer dropped, another margin), each
 *   fitted by its own worker: every customer's document equals `ltvd score`
 *   on that tenant's own CSV with that tenant's parameters, and lists,
 *   segments and the tenant document count that tenant's customers only;
 * - isolation, for every tenant operation of openapi.yaml and every scope:
 *   another tenant's key, an unknown and a malformed tenant get 404
 *   tenant-not-found (never 403, never data), a platform key reaches every
 *   tenant, tenant management needs a platform key, and refused writes
 *   change no row (counted in SQL per tenant);
 * - tenant deletion and customer erasure leave no row behind (SQL) and
 *   survive a restart; a purchase after erasure starts the customer afresh;
 * - settings per tenant (PATCH): horizon_days and model change that
 *   tenant's documents and model alone; as_of cannot change;
 * - two services on one database: a tenant created, changed and deleted, and
 *   a customer erased, on one are followed by the other.
 * Run from the repository root (openapi.yaml, migrations/, tests/data/). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_store.h"
#include "auth/auth_token.h"
#include "openapi_check.h"
#include "openapi_http.h"
#include "store/ingest.h"
#include "store/snapshot.h"
#include "summary/summary.h"
#include "testhttp.h"
#include "testserve.h"

#define CDNOW_CSV "tests/data/cdnow_sample_transactions.csv"
#define CDNOW_AS_OF "1997-09-30"
#define CDNOW_CUSTOMERS 2357
#define REL 1e-9
#define ABS 1e-12
#define HORIZON_DAYS 365
#define P_PURCHASE_DAYS 30
#define ACME_MARGIN "0.5"
#define ACME_SHIFT_DAYS 10 /* acme's purchases are 10 days earlier */
#define PAGE 50            /* list page size: a page fits testhttp's body */

static testhttp_app svc;
static testhttp_app other; /* a second service on svc's database */
static char tmpdir[256];

/* ---- requests ------------------------------------------------------------------ */

/* One request to port (Connection: close) with the API key token (NULL:
 * none) and, when body is not NULL, an application/json body. r->json is
 * the body parsed; free with testhttp_response_free. */
static void call(int port, const char *method, const char *target, const char *token,
                 const char *body, testhttp_response *r)
{
    size_t blen = body != NULL ? strlen(body) : 0, cap = blen + 1024;
    char *raw = malloc(cap), auth[256] = "";
    ck_assert_ptr_nonnull(raw);
    if (token != NULL)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    snprintf(raw, cap,
             "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             method, target, auth, blen, body != NULL ? body : "");
    testhttp_exchange(port, raw, r);
    free(raw);
    r->json = json_loads(r->body, 0, NULL);
}

/* call, asserting the status; the parsed body is returned (caller decrefs,
 * may be NULL for a 204). */
static json_t *call_ok(int port, const char *method, const char *target, const char *body,
                       int want)
{
    testhttp_response r;
    call(port, method, target, NULL, body, &r);
    ck_assert_msg(r.status == want, "%s %s: %d, want %d: %s", method, target, r.status,
                  want, r.body);
    return r.json;
}

static void call_ok0(int port, const char *method, const char *target, const char *body,
                     int want)
{
    json_decref(call_ok(port, method, target, body, want));
}

/* count(*) of a query on t's database. */
static long long sql_count(const testhttp_app *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static long long sql_count(const testhttp_app *t, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    store_db *db = testhttp_db_open(t);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(db->conn));
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    store_db_close(db);
    return n;
}

/* Runs sql (no result rows) on t's database. */
static void sql_exec(const testhttp_app *t, const char *sql)
{
    store_db *db = testhttp_db_open(t);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
                  PQerrorMessage(db->conn));
    PQclear(res);
    store_db_close(db);
}

/* Every row tenant holds in the tenant-scoped tables and its keys. */
static long long tenant_rows(const testhttp_app *t, const char *tenant)
{
    return sql_count(t,
                     "SELECT (SELECT count(*) FROM transactions WHERE tenant_id = '%s')"
                     " + (SELECT count(*) FROM customer_days WHERE tenant_id = '%s')"
                     " + (SELECT count(*) FROM model_snapshots WHERE tenant_id = '%s')"
                     " + (SELECT count(*) FROM api_keys WHERE tenant_id = '%s')"
                     " + (SELECT count(*) FROM tenants WHERE id = '%s')",
                     tenant, tenant, tenant, tenant, tenant);
}

/* A new key of tenant ("*": a platform key) with scopes, known to t's
 * service when this returns: its token into token. */
static void key_make(testhttp_app *t, const char *tenant, unsigned scopes,
                     char token[AUTH_TOKEN_LEN + 1])
{
    char id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_token_new(token, id), 0);
    ck_assert_int_eq(auth_token_hash(token, strlen(token), hash), 0);
    store_db *db = testhttp_db_open(t);
    ck_assert_msg(auth_store_create(db, id, "tenants", hash, scopes, tenant) == 0, "%s",
                  store_db_error(db));
    store_db_close(db);
    ck_assert_int_eq(auth_keys_reload(t->auth), 0);
}

/* Saves for tenant the snapshot testhttp_snapshot_save saves for default
 * (CDNOW-like BG/NBD and Gamma-Gamma, weekly, as of 2025-12-31), with the
 * BG/NBD r scaled by r_scale (so tenants' models differ). */
static void snapshot_save(const testhttp_app *t, const char *tenant, double r_scale)
{
    char params[160];
    snprintf(params, sizeof params,
             "{\"r\": %.6f, \"alpha\": 4.414, \"a\": 0.793, \"b\": 2.426}",
             0.243 * r_scale);
    store_snapshot s = {
        .as_of = 1767139200, /* 2025-12-31 */
        .period = "week",
        .purchase = {.model = "bgnbd",
                     .params_json = params,
                     .log_likelihood = -9582.4,
                     .n_customers = 2357,
                     .n_patterns = 1000,
                     .converged = true,
                     .iterations = 20},
        .has_spend = true,
        .spend = {.model = "gg",
                  .params_json = "{\"p\": 6.25, \"q\": 3.74, \"v\": 15.44}",
                  .converged = true},
        .settings_model = "bgnbd",
        .settings_as_of_set = t->cfg.has_as_of,
        .settings_as_of_day = t->cfg.as_of_day,
    };
    store_db *db = testhttp_db_open(t);
    ck_assert_msg(store_snapshot_save_fit(db, tenant, NULL, &s) == 0, "%s",
                  store_db_error(db));
    store_db_close(db);
}

/* The service on a fresh database, period week as of 2025-12-31, no API
 * keys needed, no worker. */
static void start_weekly(const char *prefix)
{
    testhttp_db_create(&svc, prefix);
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert_msg(config_set(&svc.cfg, "as_of", "2025-12-31", err), "%s", err);
    testhttp_app_start(&svc, false);
}

/* testhttp_app_stop and start again on the same database (no worker). */
static void restart(void)
{
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, false);
}

static void create_tenant(int port, const char *id, const char *settings)
{
    char body[512];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"settings\":%s}", id,
             settings != NULL ? settings : "{}");
    json_t *doc = call_ok(port, "POST", "/v1/tenants", body, 201);
    ck_assert_str_eq(testhttp_jstr(doc, "id"), id);
    json_decref(doc);
}

/* ---- the CDNOW sample per tenant -------------------------------------------------- */

static void write_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void write_line(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vfprintf(f, fmt, ap), 0);
    va_end(ap);
}

/* acme's data: the CDNOW sample without every fifth customer (ids 5, 10,
 * ...), each purchase ACME_SHIFT_DAYS earlier and twice the amount, into
 * out. Returns its number of customers. */
static long write_acme_csv(const char *out)
{
    FILE *in = fopen(CDNOW_CSV, "r"), *f = fopen(out, "w");
    ck_assert(in != NULL && f != NULL);
    char line[256], last[32] = "";
    long lineno = 0, customers = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        if (++lineno == 1) {
            write_line(f, "%s", line);
            continue;
        }
        char id[32], day[16];
        double amount;
        ck_assert(sscanf(line, "%31[^,],%15[^,],%lf", id, day, &amount) == 3);
        if (atol(id) % 5 == 0)
            continue;
        struct tm tm = {0};
        ck_assert(sscanf(day, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t when = timegm(&tm) - ACME_SHIFT_DAYS * 86400;
        gmtime_r(&when, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        write_line(f, "%s,%s,%.2f\n", id, day, 2 * amount);
        if (strcmp(id, last) != 0)
            customers++;
        snprintf(last, sizeof last, "%s", id);
    }
    fclose(in);
    ck_assert_int_eq(fclose(f), 0);
    return customers;
}

/* ---- `ltvd score` (as the integration suite runs it) -------------------------------- */

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
static void run_score(const char *csv, json_t *model, const char *margin, int horizon_days,
                      const char *out)
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
        execl(bin, bin, "score", "--transactions", csv, "--as-of", CDNOW_AS_OF, "--period",
              "week", "--model", name, "--params", params, "--spend-model", "gg",
              "--spend-params", spend, "--horizon", horizon, "--discount-rate", "0.01",
              "--margin", margin, "--clv-months", months, (char *)NULL);
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
                  "tenant %s, customer %s: %s is %.17g, ltvd score says %.17g", tenant, id,
                  what, got, want);
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
        ck_assert_int_lt(snprintf(target, sizeof target, "%.60s/customers/%.31s", prefix,
                                  want[i].id),
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

/* Every page of prefix/customers (PAGE a page): the number of customers,
 * each of which keep(id) must accept, and no id twice. */
static long walk_list(int port, const char *prefix, bool (*keep)(const char *id))
{
    char target[512], cursor[256] = "";
    long n = 0;
    json_t *seen = json_object();
    for (int page = 0; page < 10000; page++) {
        snprintf(target, sizeof target, "%s/customers?limit=%d%s%s", prefix, PAGE,
                 cursor[0] != '\0' ? "&cursor=" : "", cursor);
        json_t *doc = call_ok(port, "GET", target, NULL, 200);
        json_t *items = json_object_get(doc, "customers"), *c;
        size_t i;
        json_array_foreach(items, i, c)
        {
            const char *id = testhttp_jstr(c, "customer_id");
            ck_assert_msg(keep(id), "%s: customer %s is not the tenant's", prefix, id);
            ck_assert_msg(json_object_get(seen, id) == NULL, "%s: %s twice", prefix, id);
            json_object_set_new(seen, id, json_true());
            n++;
        }
        json_t *next = json_object_get(doc, "next_cursor");
        bool last = !json_is_string(next);
        if (!last)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(doc);
        if (last) {
            json_decref(seen);
            return n;
        }
    }
    ck_abort_msg("%s: more than 10000 pages", prefix);
    return -1;
}

/* prefix/segments once its counts are of the served model (version): the
 * number of customers counted, unscored ones included (30 s). */
static long segment_customers(int port, const char *prefix, long long version)
{
    char target[128];
    static char last[2048];
    snprintf(target, sizeof target, "%s/segments", prefix);
    for (int i = 0; i < 300; i++) {
        json_t *doc = call_ok(port, "GET", target, NULL, 200);
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

/* The "customers" of GET /v1/tenants/{tenant}. */
static long long tenant_customers(int port, const char *tenant)
{
    char target[128];
    snprintf(target, sizeof target, "/v1/tenants/%s", tenant);
    json_t *doc = call_ok(port, "GET", target, NULL, 200);
    long long n = testhttp_jint(doc, "customers");
    json_decref(doc);
    return n;
}

static bool any_id(const char *id)
{
    return id[0] != '\0';
}

static bool acme_id(const char *id)
{
    return atol(id) % 5 != 0;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ltvd_tn.XXXXXX",
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
        fprintf(stderr, "tenants: could not remove %s\n", tmpdir);
}

/* Stores every transaction of csv for tenant, ids "t<row>", straight into
 * PostgreSQL (as `ltvd import --tenant` does). Returns their number. */
static long load_csv(const testhttp_app *t, const char *tenant, const char *csv)
{
    txn_set set;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(csv, &set, err) == 0, "%s", err);
    store_item *items = calloc(set.n, sizeof *items);
    char(*ids)[24] = calloc(set.n, sizeof *ids);
    char(*amounts)[32] = calloc(set.n, sizeof *amounts);
    ck_assert(items != NULL && ids != NULL && amounts != NULL);
    for (size_t i = 0; i < set.n; i++) {
        snprintf(ids[i], sizeof ids[i], "t%zu", i);
        snprintf(amounts[i], sizeof amounts[i], "%.2f", set.items[i].amount);
        items[i] = (store_item){ids[i], set.customer_ids[set.items[i].customer], NULL,
                                set.items[i].day * 86400, amounts[i]};
    }
    store_db *db = testhttp_db_open(t);
    store_batch_opts opts = {.tenant = tenant};
    store_batch_result r;
    ck_assert_msg(store_insert_batch(db, items, set.n, &opts, &r) == 0, "%s",
                  store_db_error(db));
    ck_assert_uint_eq(r.n_new, set.n);
    long n = (long)set.n;
    store_batch_result_free(&r);
    store_db_close(db);
    free(items);
    free(ids);
    free(amounts);
    txn_set_free(&set);
    return n;
}

/* GET prefix/model until the model of customers customers is served
 * (60 s). Returns the model document. */
static json_t *await_model(int port, const char *prefix, long customers)
{
    char target[128];
    snprintf(target, sizeof target, "%s/model", prefix);
    testhttp_response r;
    for (int i = 0; i < 600; i++) {
        call(port, "GET", target, NULL, NULL, &r);
        if (r.status == 200 && testhttp_jint(r.json, "n_customers") == customers)
            return r.json;
        testhttp_response_free(&r);
        testserve_sleep_ms(100);
    }
    ck_abort_msg("%s: no model of %ld customers after 60 s: %d %s", target, customers,
                 r.status, r.body);
    return NULL;
}

/* The service with its worker, as of the CDNOW sample's end, weekly BG/NBD,
 * refitting only when asked: `default` holds the CDNOW sample and `acme`
 * (margin ACME_MARGIN) its transformed copy, stored before the service
 * starts, so that each worker's first fit (at start: no model yet) sees all
 * of its tenant's data and no other fit follows. *acme_n: acme's customers;
 * models[0..1]: default's and acme's model documents. */
static void start_two_fitted(const char *acme_csv, long *acme_n, json_t *models[2])
{
    testhttp_db_create(&svc, "ltvd_tn");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "model", "bgnbd", err));
    ck_assert(config_set(&svc.cfg, "as_of", CDNOW_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "refit_interval_s", "604800", err));
    ck_assert(config_set(&svc.cfg, "refit_after_txns", "1000000000", err));
    testhttp_app_start(&svc, false); /* the migrations */
    create_tenant(svc.port, "acme", "{\"margin\":" ACME_MARGIN "}");
    testhttp_app_stop(&svc);
    *acme_n = write_acme_csv(acme_csv);
    ck_assert_int_eq(load_csv(&svc, "default", CDNOW_CSV), 6919);
    ck_assert_int_gt(load_csv(&svc, "acme", acme_csv), 4000);
    testhttp_app_start(&svc, true);
    models[0] = await_model(svc.port, "/v1", CDNOW_CUSTOMERS);
    models[1] = await_model(svc.port, "/v1/tenants/acme", *acme_n);
}

/* ---- 1. the same customer ids, different data: each equals `ltvd score` ----------- */

START_TEST(test_tenants_score_each_own)
{
    char acme_csv[320];
    snprintf(acme_csv, sizeof acme_csv, "%s/acme.csv", tmpdir);
    long acme_n;
    json_t *models[2];
    start_two_fitted(acme_csv, &acme_n, models);
    ck_assert_int_lt(acme_n, CDNOW_CUSTOMERS);
    /* two fits of different data: different parameters */
    ck_assert(!json_equal(json_object_get(models[0], "params"),
                          json_object_get(models[1], "params")));

    static const struct {
        const char *tenant, *prefix, *csv_default, *margin;
        bool (*keep)(const char *);
    } tenants[2] = {{"default", "/v1", CDNOW_CSV, "1", any_id},
                    {"acme", "/v1/tenants/acme", NULL, ACME_MARGIN, acme_id}};
    static score_row want[CDNOW_CUSTOMERS + 1], want30[CDNOW_CUSTOMERS + 1];
    for (int k = 0; k < 2; k++) {
        const char *csv = tenants[k].csv_default != NULL ? tenants[k].csv_default : acme_csv;
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
        ck_assert_int_eq(walk_list(svc.port, tenants[k].prefix, tenants[k].keep),
                         customers);
        ck_assert_int_eq(segment_customers(svc.port, tenants[k].prefix,
                                           testhttp_jint(models[k], "version")),
                         customers);
        ck_assert_int_eq(tenant_customers(svc.port, tenants[k].tenant), customers);
    }
    /* a customer acme dropped is unknown there, known in default */
    call_ok0(svc.port, "GET", "/v1/tenants/acme/customers/5", NULL, 404);
    call_ok0(svc.port, "GET", "/v1/customers/5", NULL, 200);
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
    call(svc.port, method, target, token, body, &r);
    ck_assert_msg(r.status == 404 && r.json != NULL, "%s %s: %d %s", method, target,
                  r.status, r.body);
    testhttp_assert_problem(&r, 404, "tenant-not-found");
    /* nothing of the tenant's: no customer, model or count in it */
    ck_assert(json_object_get(r.json, "customer_id") == NULL);
    testhttp_response_free(&r);
    k->checked++;
}

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
            call(svc.port, method, target, tokens[i], body, &r);
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
    const char *body = strcmp(path, "/v1/transactions") == 0 ? stray_batch : NULL;
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
        "/tenants/nosuch",
        "/tenants/Alpha",
        "/tenants/_alpha",
        "/tenants/al.pha",
        "/tenants/al%20pha",
        "/tenants/"
        "a123456789012345678901234567890123456789012345678901234567890123",
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
        call(svc.port, "GET", target, k->platform, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
        ltv[i] = testhttp_jnum(r.json, "predicted_ltv");
        testhttp_response_free(&r);
        snprintf(target, sizeof target, "/v1/tenants/%s", tenants[i]);
        call(svc.port, "GET", target, k->platform, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
        testhttp_response_free(&r);
        /* alpha's all-scope key reads alpha's own */
        snprintf(target, sizeof target, "/v1/tenants/%s/customers/c1", tenants[i]);
        call(svc.port, "GET", target, k->a[N_A_KEYS - 1], NULL, &r);
        ck_assert_int_eq(r.status, i == 0 ? 200 : 404);
        testhttp_response_free(&r);
    }
    ck_assert_msg(ltv[0] != ltv[1], "alpha and beta's c1 alike: %g", ltv[0]);
    call(svc.port, "GET", "/v1/tenants", k->platform, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
    testhttp_response_free(&r);
    call(svc.port, "POST", "/v1/tenants/beta/transactions", k->platform, stray_batch, &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
    call(svc.port, "GET", "/v1/customers/c1", k->dflt, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
}

/* beta's rows, and default's, by table. */
static void rows_of(const char *tenant, long long out[3])
{
    static const char *const tables[3] = {"transactions", "customer_days",
                                          "model_snapshots"};
    for (int i = 0; i < 3; i++)
        out[i] = sql_count(&svc, "SELECT count(*) FROM %s WHERE tenant_id = '%s'",
                           tables[i], tenant);
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
    start_weekly("ltvd_tn_iso");
    create_tenant(svc.port, "alpha", NULL);
    create_tenant(svc.port, "beta", NULL);
    call_ok0(svc.port, "POST", "/v1/transactions", testhttp_batch, 200);
    call_ok0(svc.port, "POST", "/v1/tenants/alpha/transactions", testhttp_batch, 200);
    call_ok0(svc.port, "POST", "/v1/tenants/beta/transactions", beta_batch, 200);
    snapshot_save(&svc, "default", 1);
    snapshot_save(&svc, "alpha", 1);
    snapshot_save(&svc, "beta", 2);
    restart(); /* serves the snapshots */

    static iso_keys k;
    memset(&k, 0, sizeof k);
    static const unsigned scopes[N_A_KEYS] = {AUTH_SCOPE_INGEST, AUTH_SCOPE_READ,
                                              AUTH_SCOPE_ADMIN,
                                              AUTH_SCOPE_INGEST | AUTH_SCOPE_READ |
                                                  AUTH_SCOPE_ADMIN};
    for (int i = 0; i < N_A_KEYS; i++)
        key_make(&svc, "alpha", scopes[i], k.a[i]);
    key_make(&svc, "default", scopes[N_A_KEYS - 1], k.dflt);
    key_make(&svc, "*", AUTH_SCOPE_ALL, k.platform);
    key_make(&svc, "alpha", AUTH_SCOPE_ALL, k.a_platform);
    svc.cfg.auth_required = true; /* read per request */

    long long beta_before[3], dflt_before[3], beta_after[3], dflt_after[3];
    rows_of("beta", beta_before);
    rows_of("default", dflt_before);
    char err[OA_ERR_MAX];
    json_t *spec = oa_load("openapi.yaml", err);
    ck_assert_msg(spec != NULL, "%s", err);
    oa_each_operation(spec, iso_op, &k);
    json_decref(spec);
    /* 7 tenant operations, 5 management ones at least */
    ck_assert_int_ge(k.checked, 7 * (N_A_KEYS + 1 + N_A_KEYS + 12) + 5 * 3);
    rows_of("beta", beta_after);
    rows_of("default", dflt_after);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(beta_after[i], beta_before[i]);
        ck_assert_int_eq(dflt_after[i], dflt_before[i]);
    }
    ck_assert_int_eq(sql_count(&svc, "SELECT count(*) FROM tenants"), 3);
    ck_assert_int_eq(
        sql_count(&svc, "SELECT count(*) FROM transactions WHERE customer_id = 'zz'"), 0);
    platform_reaches_both(&k);
    ck_assert_int_eq(
        sql_count(&svc, "SELECT count(*) FROM transactions WHERE customer_id = 'zz'"
                        " AND tenant_id = 'beta'"),
        1);
}
END_TEST

/* ---- 3. deletion and erasure: no row behind, after a restart too ------------------- */

/* The erased customer c1 of default: no document (and a second erasure
 * 404), in no list page or segment count, not in the tenant's count; keep's
 * c1, the same id, untouched. */
static void erased_everywhere(void)
{
    json_t *p = call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 404);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:customer-not-found");
    json_decref(p);
    call_ok0(svc.port, "DELETE", "/v1/customers/c1", NULL, 404);
    ck_assert_int_eq(walk_list(svc.port, "/v1", any_id), 1); /* c2 */
    json_t *doc = call_ok(svc.port, "GET", "/v1/customers?limit=10", NULL, 200);
    json_t *items = json_object_get(doc, "customers");
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_str_eq(testhttp_jstr(json_array_get(items, 0), "customer_id"), "c2");
    json_decref(doc);
    doc = call_ok(svc.port, "GET", "/v1/segments", NULL, 200);
    ck_assert_int_eq(testhttp_jint(doc, "customers") + testhttp_jint(doc, "unscored"), 1);
    json_decref(doc);
    ck_assert_int_eq(tenant_customers(svc.port, "default"), 1);
    ck_assert_int_eq(sql_count(&svc, "SELECT count(*) FROM transactions"
                                     " WHERE tenant_id = 'default' AND customer_id = 'c1'"),
                     0);
    ck_assert_int_eq(sql_count(&svc, "SELECT count(*) FROM customer_days"
                                     " WHERE tenant_id = 'default' AND customer_id = 'c1'"),
                     0);
    ck_assert_int_eq(sql_count(&svc, "SELECT count(*) FROM transactions"
                                     " WHERE tenant_id = 'keep' AND customer_id = 'c1'"),
                     4);
    ck_assert_int_eq(sql_count(&svc, "SELECT count(*) FROM customer_days"
                                     " WHERE tenant_id = 'keep' AND customer_id = 'c1'"),
                     3);
    call_ok0(svc.port, "GET", "/v1/tenants/keep/customers/c1", NULL, 200);
    ck_assert_int_eq(tenant_customers(svc.port, "keep"), 2);
}

/* The deleted tenant gone: 404 everywhere, no row of it. */
static void tenant_gone(void)
{
    json_t *p = call_ok(svc.port, "GET", "/v1/tenants/gone", NULL, 404);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:tenant-not-found");
    json_decref(p);
    call_ok0(svc.port, "GET", "/v1/tenants/gone/customers/c1", NULL, 404);
    call_ok0(svc.port, "GET", "/v1/tenants/gone/model", NULL, 404);
    call_ok0(svc.port, "DELETE", "/v1/tenants/gone", NULL, 404);
    ck_assert_int_eq(tenant_rows(&svc, "gone"), 0);
    json_t *list = call_ok(svc.port, "GET", "/v1/tenants", NULL, 200);
    json_t *items = json_object_get(list, "items"), *t;
    size_t i;
    json_array_foreach(items, i, t) ck_assert_str_ne(testhttp_jstr(t, "id"), "gone");
    ck_assert_int_eq(json_array_size(items), 2);
    json_decref(list);
}

START_TEST(test_tenants_delete_and_erase)
{
    start_weekly("ltvd_tn_del");
    create_tenant(svc.port, "gone", "{\"currency\":\"EUR\"}");
    create_tenant(svc.port, "keep", NULL);
    const char *prefixes[3] = {"/v1", "/v1/tenants/gone", "/v1/tenants/keep"};
    for (int i = 0; i < 3; i++) {
        char target[128];
        snprintf(target, sizeof target, "%s/transactions", prefixes[i]);
        call_ok0(svc.port, "POST", target, testhttp_batch, 200);
    }
    snapshot_save(&svc, "default", 1);
    snapshot_save(&svc, "gone", 1);
    snapshot_save(&svc, "keep", 1);
    char token[AUTH_TOKEN_LEN + 1];
    key_make(&svc, "gone", AUTH_SCOPE_READ, token);
    restart();
    call_ok0(svc.port, "GET", "/v1/tenants/gone/customers/c1", NULL, 200);
    /* every table holds gone's rows: 5 transactions, 4 days, a snapshot, a key */
    ck_assert_int_eq(tenant_rows(&svc, "gone"), 5 + 4 + 1 + 1 + 1);
    long long others = tenant_rows(&svc, "default") + tenant_rows(&svc, "keep");

    call_ok0(svc.port, "DELETE", "/v1/tenants/gone", NULL, 204);
    tenant_gone();
    call_ok0(svc.port, "DELETE", "/v1/customers/c1", NULL, 204);
    erased_everywhere();
    /* nothing else went: c1 of default had 4 transactions and 3 days */
    ck_assert_int_eq(tenant_rows(&svc, "default") + tenant_rows(&svc, "keep"),
                     others - 4 - 3);

    restart();
    tenant_gone();
    erased_everywhere();

    /* a purchase after the erasure: a new customer, from that day */
    call_ok0(svc.port, "POST", "/v1/transactions",
             "{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"c1\","
             "\"occurred_at\":\"2025-11-02T08:00:00Z\",\"amount\":3}]}",
             200);
    json_t *doc = call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 200);
    json_t *s = json_object_get(doc, "summary");
    ck_assert_str_eq(testhttp_jstr(s, "first_purchase"), "2025-11-02");
    ck_assert_str_eq(testhttp_jstr(s, "last_purchase"), "2025-11-02");
    ck_assert_int_eq(testhttp_jint(s, "frequency"), 0);
    ck_assert_double_eq(testhttp_jnum(s, "monetary_value"), 0);
    json_decref(doc);
    restart(); /* and so from PostgreSQL */
    doc = call_ok(svc.port, "GET", "/v1/customers/c1", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(json_object_get(doc, "summary"), "first_purchase"),
                     "2025-11-02");
    json_decref(doc);
    ck_assert_int_eq(tenant_customers(svc.port, "default"), 2);
}
END_TEST

/* ---- 4. settings per tenant ------------------------------------------------------- */

/* The body of GET target (200), caller frees. */
static char *body_of(int port, const char *target)
{
    testhttp_response r;
    call(port, "GET", target, NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
    char *b = strdup(r.body);
    ck_assert_ptr_nonnull(b);
    testhttp_response_free(&r);
    return b;
}

/* GET target's "version" (or model.version) as an integer. */
static long long model_version(int port, const char *target)
{
    json_t *doc = call_ok(port, "GET", target, NULL, 200);
    json_t *m = json_object_get(doc, "model");
    long long v = json_is_object(m) ? testhttp_jint(m, "version")
                                    : testhttp_jint(doc, "version");
    json_decref(doc);
    return v;
}

static void patch_acme(const char *settings, int want, const char *slug)
{
    char body[256];
    snprintf(body, sizeof body, "{\"settings\":%s}", settings);
    testhttp_response r;
    call(svc.port, "PATCH", "/v1/tenants/acme", NULL, body, &r);
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
    start_two_fitted(acme_csv, &acme_n, models);
    long long dflt_version = testhttp_jint(models[0], "version");
    long long acme_version = testhttp_jint(models[1], "version");
    json_decref(models[0]);
    json_decref(models[1]);
    char *dflt_doc = body_of(svc.port, "/v1/customers/1");
    char *dflt_model = body_of(svc.port, "/v1/model");

    /* horizon_days: acme's documents, not default's */
    json_t *acme1 = call_ok(svc.port, "GET", "/v1/tenants/acme/customers/1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(acme1, "horizon_days"), HORIZON_DAYS);
    patch_acme("{\"horizon_days\":90}", 200, NULL);
    json_t *acme2 = call_ok(svc.port, "GET", "/v1/tenants/acme/customers/1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(acme2, "horizon_days"), 90);
    ck_assert_double_lt(testhttp_jnum(acme2, "expected_purchases"),
                        testhttp_jnum(acme1, "expected_purchases"));
    ck_assert_int_eq(testhttp_jint(json_object_get(acme2, "model"), "version"),
                     acme_version); /* no refit for that */
    json_decref(acme1);
    json_decref(acme2);
    json_t *t = call_ok(svc.port, "GET", "/v1/tenants/acme", NULL, 200);
    ck_assert_int_eq(testhttp_jint(json_object_get(t, "effective"), "horizon_days"), 90);
    ck_assert_int_eq(testhttp_jint(json_object_get(t, "settings"), "horizon_days"), 90);
    json_decref(t);
    char *now = body_of(svc.port, "/v1/customers/1");
    ck_assert_str_eq(now, dflt_doc);
    free(now);

    /* as_of is fixed: 422, nothing changed */
    patch_acme("{\"as_of\":\"1997-10-31\"}", 422, "validation-failed");
    patch_acme("{\"horizon_days\":0}", 422, "validation-failed");
    t = call_ok(svc.port, "GET", "/v1/tenants/acme", NULL, 200);
    ck_assert_str_eq(testhttp_jstr(json_object_get(t, "effective"), "as_of"), CDNOW_AS_OF);
    ck_assert_int_eq(testhttp_jint(json_object_get(t, "effective"), "horizon_days"), 90);
    json_decref(t);

    /* model: acme refits under Pareto/NBD, default keeps its model */
    patch_acme("{\"model\":\"pareto\",\"horizon_days\":null}", 200, NULL);
    json_t *m = NULL;
    for (int i = 0; i < 600 && m == NULL; i++) {
        m = call_ok(svc.port, "GET", "/v1/tenants/acme/model", NULL, 200);
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
    json_t *doc = call_ok(svc.port, "GET", "/v1/tenants/acme/customers/1", NULL, 200);
    ck_assert_int_eq(testhttp_jint(doc, "horizon_days"), HORIZON_DAYS);
    ck_assert_int_gt(testhttp_jint(json_object_get(doc, "model"), "version"), acme_version);
    json_decref(doc);
    ck_assert_int_eq(model_version(svc.port, "/v1/model"), dflt_version);
    now = body_of(svc.port, "/v1/customers/1");
    ck_assert_str_eq(now, dflt_doc);
    free(now);
    json_t *before = json_loads(dflt_model, 0, NULL), *after = call_ok(svc.port, "GET",
                                                                          "/v1/model",
                                                                          NULL, 200);
    json_object_del(before, "last_refit");
    json_object_del(after, "last_refit");
    ck_assert_msg(json_equal(before, after), "default's model changed: %s", dflt_model);
    json_decref(before);
    json_decref(after);
    free(dflt_doc);
    free(dflt_model);
}
END_TEST

/* ---- 5. two services on one database ------------------------------------------------ */

/* Polls GET target on port until it answers want (10 s); the last body
 * parsed is returned (caller decrefs). */
static json_t *await_status(int port, const char *target, int want)
{
    testhttp_response r;
    for (int i = 0; i < 200; i++) {
        call(port, "GET", target, NULL, NULL, &r);
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
    start_weekly("ltvd_tn_two");
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
    create_tenant(svc.port, "acme", "{\"horizon_days\":90}");
    json_t *doc = await_status(other.port, "/v1/tenants/acme", 200);
    ck_assert_int_eq(testhttp_jint(json_object_get(doc, "effective"), "horizon_days"), 90);
    json_decref(doc);
    /* ingest on the other, a model saved: both serve the customers */
    call_ok0(other.port, "POST", "/v1/tenants/acme/transactions", testhttp_batch, 200);
    snapshot_save(&svc, "acme", 1);
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
    call_ok0(svc.port, "DELETE", "/v1/tenants/acme/customers/c1", NULL, 204);
    json_decref(await_status(other.port, "/v1/tenants/acme/customers/c1", 404));
    await_customers(other.port, 1);
    ck_assert_int_eq(walk_list(other.port, "/v1/tenants/acme", any_id), 1);

    /* deleted on one: gone from the other */
    call_ok0(svc.port, "DELETE", "/v1/tenants/acme", NULL, 204);
    json_decref(await_status(other.port, "/v1/tenants/acme", 404));
    json_t *p = call_ok(other.port, "GET", "/v1/tenants/acme/customers/c2", NULL, 404);
    ck_assert_str_eq(testhttp_jstr(p, "type"), "urn:ltvd:problem:tenant-not-found");
    json_decref(p);
    call_ok0(other.port, "POST", "/v1/tenants/acme/transactions", testhttp_batch, 404);
    ck_assert_int_eq(tenant_rows(&svc, "acme"), 0);

    /* deleted and created again between two looks of the services (as by a
     * process they cannot see, or while they were cut off): both serve the
     * new tenant, empty, not the deleted one's customers */
    create_tenant(svc.port, "acme", NULL);
    call_ok0(svc.port, "POST", "/v1/tenants/acme/transactions", testhttp_batch, 200);
    await_customers(other.port, 2);
    sql_exec(&svc, "BEGIN; DELETE FROM tenants WHERE id = 'acme';"
                   " INSERT INTO tenants (id, settings) VALUES ('acme', '{\"margin\": 0.25}');"
                   " COMMIT");
    await_customers(other.port, 0);
    await_customers(svc.port, 0);
    call_ok0(other.port, "GET", "/v1/tenants/acme/customers/c1", NULL, 404);
    testhttp_app_stop(&other);
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
    tcase_add_test(tc, test_tenants_delete_and_erase);
    tcase_add_test(tc, test_tenants_settings);
    tcase_add_test(tc, test_tenants_two_services);
    suite_add_tcase(s, tc);
    return s;
}
