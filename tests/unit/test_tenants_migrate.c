/* The migration of a database from before tenants into the tenant
 * `default` (issue 10), on a real PostgreSQL: a database with the schema of
 * migrations 001..008 only (the main before tenants) and rows written as
 * that main wrote them (transactions, customer_days, a model snapshot, an
 * API key, by SQL), then the current service on it (which applies 009):
 * every row is there and in `default`, the old key still works on the
 * unprefixed paths, and every document equals the one of a database
 * written by the current service with the same data and snapshot. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/list_table.h"
#include "app/tenant.h"
#include "auth/auth.h"
#include "auth/auth_token.h"
#include "store/migrate.h"
#include "testdb.h"
#include "testhttp.h"

static testhttp_app old; /* written as before tenants, then migrated */
static testhttp_app ctl; /* written by the current service */
static char tmpdir[256];

/* The fitted_at of both databases' snapshot (2025-12-31T12:00:00Z). */
#define FITTED_AT "1767182400"

/* Runs sql (statements without results) on t's database. */
static void sql_run(const testhttp_app *t, const char *sql)
{
    store_db *db = testhttp_db_open(t);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
                      PQresultStatus(res) == PGRES_TUPLES_OK,
                  "%.200s: %s", sql, PQerrorMessage(db->conn));
    PQclear(res);
    store_db_close(db);
}

/* The one value of a query on t's database, into out. */
static void sql_value(const testhttp_app *t, const char *sql, char *out, size_t cap)
{
    store_db *db = testhttp_db_open(t);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1,
                  "%.200s: %s", sql, PQerrorMessage(db->conn));
    snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    store_db_close(db);
}

static long long sql_ll(const testhttp_app *t, const char *sql)
{
    char v[64];
    sql_value(t, sql, v, sizeof v);
    return strtoll(v, NULL, 10);
}

/* One GET (auth: "Bearer <token>" or NULL); the body into body[cap] and
 * the status returned. */
/* Starts t's list keeper and waits (at most 10 s) for its score table:
 * documents carry predicted_ltv_percentile once it is ranked, so two
 * services compare equal only when both are. */
static void wait_ranked(const testhttp_app *t)
{
    testhttp_wait_ranked(t, 10000);
}

static int get(const testhttp_app *t, const char *target, const char *token, char *body,
               size_t cap)
{
    char raw[1024], auth[256] = "";
    if (token != NULL)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n",
             target, auth);
    testhttp_response r;
    testhttp_exchange(t->port, raw, &r);
    ck_assert_uint_lt(r.body_len, cap);
    memcpy(body, r.body, r.body_len + 1);
    return r.status;
}

/* The model document without this process's counters (last_refit,
 * refits), as compact text into out. */
static void model_doc(const testhttp_app *t, char *out, size_t cap)
{
    char body[16384];
    ck_assert_int_eq(get(t, "/v1/model", NULL, body, sizeof body), 200);
    json_t *j = json_loads(body, 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_object_del(j, "last_refit");
    json_object_del(j, "refits");
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, cap, "%s", s);
    free(s);
    json_decref(j);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ltvd_tnm.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    testhttp_db_drop(&old);
    testhttp_db_drop(&ctl);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "tenants_migrate: could not remove %s\n", tmpdir);
}

/* testhttp_batch's rows as the main before tenants stored them: the
 * transactions and the per-customer-day sums of ingest (store/ingest.c at
 * 28d5280), ingested_at and ingested_xid by their defaults. */
static const char old_rows[] =
    "INSERT INTO transactions (customer_id, txn_id, occurred_at, amount) VALUES"
    " ('c1', 't1', '2025-01-06T10:00:00Z', 10),"
    " ('c1', 't2', '2025-01-06T12:00:00Z', 5.5),"
    " ('c1', 't3', '2025-03-03T09:00:00Z', 20.25),"
    " ('c1', 't4', '2025-06-02T09:00:00+02:00', 30),"
    " ('c2', 't1', '2025-02-01T00:00:00Z', 7);"
    "INSERT INTO customer_days (customer_id, day, amount, n_transactions) VALUES"
    " ('c1', '2025-01-06', 15.5000, 2),"
    " ('c1', '2025-03-03', 20.2500, 1),"
    " ('c1', '2025-06-02', 30.0000, 1),"
    " ('c2', '2025-02-01', 7.0000, 1);";

/* The control: the current service, as of 2025-12-31 weekly, with the
 * testhttp snapshot (its fitted_at FITTED_AT) and testhttp_batch posted. */
static void control_start(void)
{
    testhttp_app_start_served(&ctl, "ltvd_tnm_new");
    testhttp_response r;
    testhttp_request(ctl.port, "POST", "/v1/transactions", testhttp_batch, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    sql_run(&ctl, "UPDATE model_snapshots SET created_at = to_timestamp(" FITTED_AT ")");
    testhttp_app_stop(&ctl);
    testhttp_app_start(&ctl, false);
}

/* The old database: migrations 001..008 only, testhttp_batch's rows, the
 * control's snapshot row (its pre-009 columns), and a key of every scope
 * the old main knew (its token into token). */
static void old_write(char token[AUTH_TOKEN_LEN + 1])
{
    testhttp_db_create(&old, "ltvd_tnm_old");
    old.cfg = ctl.cfg;
    testdb_url_with_db(old.base_url, old.dbname, old.cfg.database_url,
                       sizeof old.cfg.database_url);
    char cmd[800], dir[300];
    snprintf(dir, sizeof dir, "%s/migrations", tmpdir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp migrations/00[1-8]_*.sql '%s'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    store_db *db = testhttp_db_open(&old);
    int applied = 0;
    ck_assert_msg(store_migrate(db, dir, &applied) == 0, "%s", store_db_error(db));
    ck_assert_int_eq(applied, 8);
    store_db_close(db);
    ck_assert_int_eq(sql_ll(&old, "SELECT count(*) FROM information_schema.columns"
                                  " WHERE column_name = 'tenant_id'"),
                     0);
    sql_run(&old, old_rows);

    /* the snapshot row, column by column as the control stored it */
    char json[8192], sql[9000];
    sql_value(&ctl, "SELECT row_to_json(s)::text FROM model_snapshots s", json,
              sizeof json);
    db = testhttp_db_open(&old);
    char *lit = PQescapeLiteral(db->conn, json, strlen(json));
    store_db_close(db);
    ck_assert_ptr_nonnull(lit);
    snprintf(sql, sizeof sql,
             "INSERT INTO model_snapshots SELECT * FROM"
             " json_populate_record(NULL::model_snapshots, %s);"
             "SELECT setval('model_snapshots_id_seq', 1)",
             lit);
    PQfreemem(lit);
    sql_run(&old, sql);

    /* a key as `ltvd key create --scopes ingest,read,admin` stored it */
    char id[AUTH_KEY_ID_LEN + 1], hex[2 * AUTH_HASH_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_token_new(token, id), 0);
    ck_assert_int_eq(auth_token_hash(token, strlen(token), hash), 0);
    for (size_t i = 0; i < AUTH_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    snprintf(sql, sizeof sql,
             "INSERT INTO api_keys (key_id, name, token_sha256, scopes) VALUES"
             " ('%s', 'old', decode('%s', 'hex'), ARRAY['ingest', 'read', 'admin'])",
             id, hex);
    sql_run(&old, sql);
}

START_TEST(test_tenants_migrate_into_default)
{
    char token[AUTH_TOKEN_LEN + 1];
    control_start();
    old_write(token);
    testhttp_app_start(&old, false); /* applies 009 */

    /* every row is there, and in default */
    ck_assert_int_eq(sql_ll(&old, "SELECT count(*) FROM schema_migrations"),
                     sql_ll(&ctl, "SELECT count(*) FROM schema_migrations"));
    static const char *const tables[] = {"transactions", "customer_days",
                                         "model_snapshots", "api_keys"};
    static const long long want[] = {5, 4, 1, 1};
    for (size_t i = 0; i < 4; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE tenant_id = 'default'",
                 tables[i]);
        ck_assert_int_eq(sql_ll(&old, sql), want[i]);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        ck_assert_int_eq(sql_ll(&old, sql), want[i]);
    }
    /* the same rows as the current service writes */
    static const char *const sums[] = {
        "SELECT md5(string_agg(tenant_id || customer_id || txn_id || occurred_at::text"
        " || amount::text, ',' ORDER BY customer_id, txn_id)) FROM transactions",
        "SELECT md5(string_agg(tenant_id || customer_id || day::text"
        " || trim_scale(amount)::text"
        " || n_transactions::text, ',' ORDER BY customer_id, day)) FROM customer_days",
        "SELECT md5(string_agg(tenant_id || customer_id || first_day::text"
        " || last_day::text || n_days::text || trim_scale(total_amount)::text, ','"
        " ORDER BY customer_id)) FROM customers",
        "SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM tenants",
    };
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
        char a[64], b[64];
        sql_value(&old, sums[i], a, sizeof a);
        sql_value(&ctl, sums[i], b, sizeof b);
        ck_assert_msg(strcmp(a, b) == 0, "%s: %s after the migration, %s written now",
                      sums[i], a, b);
    }

    /* the documents are those of the current service's database */
    static const char *const targets[] = {
        "/v1/customers/c1",
        "/v1/customers/c2",
        "/v1/customers?limit=10",
        "/v1/customers?sort=-predicted_ltv",
        "/v1/segments",
        "/v1/tenants/default",
        "/v1/tenants/default/customers/c1",
    };
    static char a[65536], b[65536];
    wait_ranked(&old);
    wait_ranked(&ctl);
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        ck_assert_int_eq(get(&old, targets[i], NULL, a, sizeof a), 200);
        ck_assert_int_eq(get(&ctl, targets[i], NULL, b, sizeof b), 200);
        ck_assert_msg(strcmp(a, b) == 0, "%s after the migration:\n%s\nwritten now:\n%s",
                      targets[i], a, b);
    }
    model_doc(&old, a, sizeof a);
    model_doc(&ctl, b, sizeof b);
    ck_assert_msg(strcmp(a, b) == 0, "the model after the migration:\n%s\nnow:\n%s", a,
                  b);

    /* the old key: the tenant default's, on the unprefixed paths */
    old.cfg.auth_required = true; /* read per request */
    ck_assert_int_eq(get(&old, "/v1/customers/c1", NULL, a, sizeof a), 401);
    ck_assert_int_eq(get(&old, "/v1/customers/c1", token, a, sizeof a), 200);
    ck_assert_int_eq(get(&old, "/v1/tenants/default/model", token, a, sizeof a), 200);
    ck_assert_int_eq(get(&old, "/v1/tenants", token, a, sizeof a), 403);
    testhttp_response r;
    char raw[2048];
    snprintf(raw, sizeof raw,
             "POST /v1/transactions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             token, strlen(testhttp_batch), testhttp_batch);
    testhttp_exchange(old.port, raw, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"duplicates\":5") != NULL, "%d %s",
                  r.status, r.body);
}
END_TEST

Suite *suite_tenants_migrate(void)
{
    Suite *s = suite_create("tenants_migrate");
    TCase *tc = tcase_create("tenants_migrate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tenants_migrate_into_default);
    suite_add_tcase(s, tc);
    return s;
}
