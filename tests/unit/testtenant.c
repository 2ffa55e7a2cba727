/* Helpers of the tenant suites (test_tenants.c, test_tenants_life.c): see
 * testtenant.h. */
#include "testtenant.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_store.h"
#include "auth/auth_token.h"
#include "store/ingest.h"
#include "store/snapshot.h"
#include "summary/summary.h"
#include "testserve.h"

/* ---- requests and SQL ------------------------------------------------------------- */

/* One request to port (Connection: close) with the API key token (NULL:
 * none) and, when body is not NULL, an application/json body. r->json is
 * the body parsed; free with testhttp_response_free. */
void testtenant_call(int port, const char *method, const char *target, const char *token,
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

/* testtenant_call, asserting the status; the parsed body is returned (caller decrefs,
 * may be NULL for a 204). */
json_t *testtenant_call_ok(int port, const char *method, const char *target,
                           const char *body, int want)
{
    testhttp_response r;
    testtenant_call(port, method, target, NULL, body, &r);
    ck_assert_msg(r.status == want, "%s %s: %d, want %d: %s", method, target, r.status,
                  want, r.body);
    return r.json;
}

void testtenant_call_ok0(int port, const char *method, const char *target,
                         const char *body, int want)
{
    json_decref(testtenant_call_ok(port, method, target, body, want));
}

/* count(*) of a query on t's database. */
long long testtenant_sql_count(const testhttp_app *t, const char *fmt, ...)
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
void testtenant_sql_exec(const testhttp_app *t, const char *sql)
{
    store_db *db = testhttp_db_open(t);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
                  PQerrorMessage(db->conn));
    PQclear(res);
    store_db_close(db);
}

/* Every row tenant holds in the tenant-scoped tables and its keys. */
long long testtenant_rows(const testhttp_app *t, const char *tenant)
{
    return testtenant_sql_count(
        t,
        "SELECT (SELECT count(*) FROM transactions WHERE tenant_id = '%s')"
        " + (SELECT count(*) FROM customer_days WHERE tenant_id = '%s')"
        " + (SELECT count(*) FROM model_snapshots WHERE tenant_id = '%s')"
        " + (SELECT count(*) FROM api_keys WHERE tenant_id = '%s')"
        " + (SELECT count(*) FROM customer_attributes WHERE tenant_id = '%s')"
        " + (SELECT count(*) FROM acquisition_spend WHERE tenant_id = '%s')"
        " + (SELECT count(*) FROM tenants WHERE id = '%s')",
        tenant, tenant, tenant, tenant, tenant, tenant, tenant);
}

/* A new key of tenant ("*": a platform key) with scopes, known to t's
 * service when this returns: its token into token. */
void testtenant_key_make(testhttp_app *t, const char *tenant, unsigned scopes,
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
void testtenant_snapshot_save_at(const testhttp_app *t, const char *tenant,
                                 double r_scale, int64_t as_of_day)
{
    char params[160];
    snprintf(params, sizeof params,
             "{\"r\": %.6f, \"alpha\": 4.414, \"a\": 0.793, \"b\": 2.426}",
             0.243 * r_scale);
    store_snapshot s = {
        .as_of = (double)as_of_day * 86400,
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
        .settings_as_of_set = true,
        .settings_as_of_day = as_of_day,
    };
    store_db *db = testhttp_db_open(t);
    ck_assert_msg(store_snapshot_save_fit(db, tenant, NULL, &s) == 0, "%s",
                  store_db_error(db));
    store_db_close(db);
}

void testtenant_snapshot_save(const testhttp_app *t, const char *tenant, double r_scale)
{
    ck_assert(t->cfg.has_as_of);
    testtenant_snapshot_save_at(t, tenant, r_scale, t->cfg.as_of_day);
}

/* The service on a fresh database, period week as of 2025-12-31, no API
 * keys needed, no worker. */
void testtenant_start_weekly(testhttp_app *t, const char *prefix)
{
    testhttp_db_create(t, prefix);
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t->cfg, "period", "week", err));
    ck_assert_msg(config_set(&t->cfg, "as_of", "2025-12-31", err), "%s", err);
    testhttp_app_start(t, false);
}

/* testhttp_app_stop and start again on the same database (no worker). */
void testtenant_restart(testhttp_app *t)
{
    testhttp_app_stop(t);
    testhttp_app_start(t, false);
}

void testtenant_create(int port, const char *id, const char *settings)
{
    char body[512];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"settings\":%s}", id,
             settings != NULL ? settings : "{}");
    json_t *doc = testtenant_call_ok(port, "POST", "/v1/tenants", body, 201);
    ck_assert_str_eq(testhttp_jstr(doc, "id"), id);
    json_decref(doc);
}

/* ---- the CDNOW sample per tenant ----------------------------------------------------
 */

static void write_line(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
long testtenant_write_acme_csv(const char *out)
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

/* Every page of prefix/customers (TESTTENANT_PAGE a page): the number of customers,
 * each of which keep(id) must accept, and no id twice. */
long testtenant_walk_list(int port, const char *prefix, bool (*keep)(const char *id))
{
    char target[512], cursor[256] = "";
    long n = 0;
    json_t *seen = json_object();
    for (int page = 0; page < 10000; page++) {
        snprintf(target, sizeof target, "%s/customers?limit=%d%s%s", prefix,
                 TESTTENANT_PAGE, cursor[0] != '\0' ? "&cursor=" : "", cursor);
        json_t *doc = testtenant_call_ok(port, "GET", target, NULL, 200);
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

/* The "customers" of GET /v1/tenants/{tenant}. */
long long testtenant_customers(int port, const char *tenant)
{
    char target[128];
    snprintf(target, sizeof target, "/v1/tenants/%s", tenant);
    json_t *doc = testtenant_call_ok(port, "GET", target, NULL, 200);
    long long n = testhttp_jint(doc, "customers");
    json_decref(doc);
    return n;
}

bool testtenant_any_id(const char *id)
{
    return id[0] != '\0';
}

bool testtenant_acme_id(const char *id)
{
    return atol(id) % 5 != 0;
}

/* Stores every transaction of csv for tenant, ids "t<row>", straight into
 * PostgreSQL (as `ltvd import --tenant` does). Returns their number. */
long testtenant_load_csv(const testhttp_app *t, const char *tenant, const char *csv)
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
        items[i] = (store_item){ids[i],     set.customer_ids[set.items[i].customer],
                                NULL,       set.items[i].day * 86400,
                                amounts[i], NULL,
                                NULL};
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
json_t *testtenant_await_model(int port, const char *prefix, long customers)
{
    char target[128];
    snprintf(target, sizeof target, "%s/model", prefix);
    testhttp_response r;
    for (int i = 0; i < 600; i++) {
        testtenant_call(port, "GET", target, NULL, NULL, &r);
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
void testtenant_start_two_fitted(testhttp_app *t, const char *acme_csv, long *acme_n,
                                 json_t *models[2])
{
    testhttp_db_create(t, "ltvd_tn");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t->cfg, "period", "week", err));
    ck_assert(config_set(&t->cfg, "model", "bgnbd", err));
    ck_assert(config_set(&t->cfg, "as_of", CDNOW_AS_OF, err));
    ck_assert(config_set(&t->cfg, "refit_interval_s", "604800", err));
    ck_assert(config_set(&t->cfg, "refit_after_txns", "1000000000", err));
    testhttp_app_start(t, false); /* the migrations */
    testtenant_create(t->port, "acme", "{\"margin\":" ACME_MARGIN "}");
    testhttp_app_stop(t);
    *acme_n = testtenant_write_acme_csv(acme_csv);
    ck_assert_int_eq(testtenant_load_csv(t, "default", CDNOW_CSV), 6919);
    ck_assert_int_gt(testtenant_load_csv(t, "acme", acme_csv), 4000);
    testhttp_app_start(t, true);
    models[0] = testtenant_await_model(t->port, "/v1", CDNOW_CUSTOMERS);
    models[1] = testtenant_await_model(t->port, "/v1/tenants/acme", *acme_n);
}
