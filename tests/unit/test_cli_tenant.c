/* `ltvd tenant` and `ltvd import --tenant` end to end: the binary (LTVD_BIN)
 * run on a database of its own, read back in SQL, next to an in-process
 * service (catch-up every 50 ms) that must follow what the command line
 * changed: a tenant created by `ltvd tenant create` is served (503 no-model,
 * not 404 tenant-not-found), its imported customers counted, its settings
 * changed and its deletion followed. `ltvd key create --tenant` refuses an
 * unknown tenant. Needs DATABASE_URL
 * (scripts/with_pg.sh). */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "testhttp.h"
#include "testrun.h"

static testhttp_app svc;

static void setup(void)
{
    testhttp_db_create(&svc, "ltvd_clit");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "cache_sync_ms", "50", err));
    testhttp_app_start(&svc, false);
    ck_assert(app_sync_begin(svc.app));
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* ---- running the binary ---------------------------------------------------- */

/* Runs the shell text cmd ($LTVD is the binary) with DATABASE_URL naming
 * the suite's database (passed through a variable: the conninfo is quoted). */
static testrun_out run(const char *cmd)
{
    setenv("LTVD_CLI_TENANT_URL", svc.cfg.database_url, 1);
    char full[4096];
    snprintf(full, sizeof full, "export DATABASE_URL=\"$LTVD_CLI_TENANT_URL\"; %s", cmd);
    return testrun_sh(full);
}

/* Runs cmd and checks its exit status and that its stderr holds err_part
 * (when not NULL); nothing on stdout unless it succeeded. */
static void expect(const char *cmd, int status, const char *err_part)
{
    testrun_out r = run(cmd);
    ck_assert_msg(r.status == status, "%s: exit %d, not %d: %s", cmd, r.status, status,
                  r.err);
    if (err_part != NULL)
        ck_assert_msg(strstr(r.err, err_part) != NULL, "%s: stderr '%s' lacks '%s'", cmd,
                      r.err, err_part);
    if (status != 0)
        ck_assert_msg(r.out[0] == '\0', "%s: stdout '%s'", cmd, r.out);
    testrun_free(&r);
}

/* Runs cmd, which must succeed, and returns its stdout parsed as JSON. */
static json_t *run_json(const char *cmd)
{
    testrun_out r = run(cmd);
    ck_assert_msg(r.status == 0, "%s: exit %d: %s", cmd, r.status, r.err);
    json_error_t jerr;
    json_t *j = json_loads(r.out, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: not JSON (%s): %s", cmd, jerr.text, r.out);
    testrun_free(&r);
    return j;
}

/* Whether doc's "settings" equal the JSON text want. */
static bool settings_are(json_t *doc, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    ck_assert_ptr_nonnull(w);
    bool eq = json_equal(json_object_get(doc, "settings"), w);
    json_decref(w);
    return eq;
}

/* ---- the database ------------------------------------------------------------ */

/* The one value of sql (a new string). */
static char *sql_text(const char *sql)
{
    store_db *db = testhttp_db_open(&svc);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s",
                  sql, PQresultErrorMessage(res));
    char *v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    store_db_close(db);
    return v;
}

static long long sql_ll(const char *sql)
{
    char *v = sql_text(sql);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Whether tenant id's stored settings equal the JSON text want. */
static bool stored_settings_are(const char *id, const char *want)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT settings = '%s'::jsonb FROM tenants WHERE id = '%s'", want, id);
    char *v = sql_text(sql);
    bool eq = strcmp(v, "t") == 0;
    free(v);
    return eq;
}

static long long tenants_named(const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tenants WHERE id = '%s'", id);
    return sql_ll(sql);
}

/* ---- create, list, show, update, delete -------------------------------------- */

START_TEST(test_tenant_round_trip)
{
    json_t *doc = run_json(
        "$LTVD tenant create acme --settings '{\"currency\":\"EUR\",\"margin\":0.3}'");
    ck_assert_str_eq(testhttp_jstr(doc, "id"), "acme");
    ck_assert(settings_are(doc, "{\"currency\":\"EUR\",\"margin\":0.3}"));
    json_t *eff = json_object_get(doc, "effective");
    ck_assert_double_eq(testhttp_jnum(eff, "margin"), 0.3);
    ck_assert_str_eq(testhttp_jstr(eff, "currency"), "EUR");
    ck_assert_int_eq(strlen(testhttp_jstr(doc, "created_at")), 20);
    json_decref(doc);
    ck_assert(stored_settings_are("acme", "{\"currency\":\"EUR\",\"margin\":0.3}"));

    testrun_out r = run("$LTVD tenant list");
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strncmp(r.out, "ID\tSETTINGS\tCREATED\tUPDATED\n", 28) == 0, "%s",
                  r.out);
    ck_assert_msg(strstr(r.out, "\nacme\t{\"currency\":\"EUR\",\"margin\":0.3}\t20") !=
                      NULL,
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "\ndefault\t{}\t20") != NULL, "%s", r.out);
    testrun_free(&r);

    doc = run_json("$LTVD tenant show acme");
    ck_assert(settings_are(doc, "{\"currency\":\"EUR\",\"margin\":0.3}"));
    json_decref(doc);

    /* update merges: a value sets, null removes */
    doc = run_json(
        "$LTVD tenant update acme --settings '{\"margin\":null,\"horizon_days\":90}'");
    ck_assert(settings_are(doc, "{\"currency\":\"EUR\",\"horizon_days\":90}"));
    ck_assert_int_eq(testhttp_jint(json_object_get(doc, "effective"), "horizon_days"),
                     90);
    json_decref(doc);
    ck_assert(stored_settings_are("acme", "{\"currency\":\"EUR\",\"horizon_days\":90}"));

    expect("$LTVD tenant create acme", 1, "a tenant acme exists already");
    ck_assert(stored_settings_are("acme", "{\"currency\":\"EUR\",\"horizon_days\":90}"));

    /* delete asks for --yes, then erases */
    expect("$LTVD tenant delete acme", 2, "add --yes");
    ck_assert_int_eq(tenants_named("acme"), 1);
    expect("$LTVD tenant delete acme --yes", 0, "deleted acme");
    ck_assert_int_eq(tenants_named("acme"), 0);
    expect("$LTVD tenant show acme", 1, "no tenant acme");
    expect("$LTVD tenant delete acme --yes", 1, "no tenant acme");
    ck_assert_int_eq(tenants_named("default"), 1);
}
END_TEST

START_TEST(test_tenant_bad_input)
{
    expect("$LTVD tenant create Acme", 2, "'Acme' is not a tenant id");
    expect("$LTVD tenant create "
           "a123456789012345678901234567890123456789012345678901234567890123",
           2, "is not a tenant id");
    expect("$LTVD tenant create b1 --settings '{\"horizon_days\":-3,\"bogus\":1}'", 2,
           "ltvd tenant: --settings: horizon_days: must be");
    expect("$LTVD tenant create b1 --settings '{\"horizon_days\":-3,\"bogus\":1}'", 2,
           "ltvd tenant: --settings: bogus: not a tenant setting");
    expect("$LTVD tenant create b1 --settings '{\"currency\":\"eur\"}'", 2,
           "currency: must be an ISO 4217 code");
    expect("$LTVD tenant create b1 --settings nope", 2, "--settings: not JSON");
    expect("$LTVD tenant create b1 --settings '[1]'", 2,
           "--settings: must be a JSON object");
    expect("$LTVD tenant create b1 --settings '{\"margin\":1,\"margin\":2}'", 2,
           "duplicate object key");
    /* checked over the configuration (LTVD_* too), as a server does */
    expect("LTVD_CHURN_HIGH_BELOW=0.5 $LTVD tenant create b1 --settings "
           "'{\"churn_medium_below\":0.4}'",
           2, "churn_high_below: must not exceed churn_medium_below");
    expect("$LTVD tenant create b1 --config /nonexistent/ltvd.conf", 2,
           "/nonexistent/ltvd.conf");
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM tenants"), 1);
    expect("$LTVD tenant create b1 --settings '{\"churn_medium_below\":0.4}'", 0, NULL);

    /* update: the same checks on the merge; as_of cannot change */
    expect("$LTVD tenant update b1 --settings '{\"model\":\"nope\"}'", 2, "model:");
    expect("$LTVD tenant update b1 --settings '{\"as_of\":\"2025-01-01\"}'", 2,
           "as_of: cannot change");
    ck_assert(stored_settings_are("b1", "{\"churn_medium_below\":0.4}"));
    expect("$LTVD tenant create c1 --settings '{\"as_of\":\"2025-06-30\"}'", 0, NULL);
    expect(
        "$LTVD tenant update c1 --settings '{\"as_of\":\"2025-06-30\",\"margin\":0.5}'",
        0, NULL);
    expect("$LTVD tenant update c1 --settings '{\"as_of\":null}'", 2,
           "as_of: cannot change");
    ck_assert(stored_settings_are("c1", "{\"as_of\":\"2025-06-30\",\"margin\":0.5}"));
    expect("$LTVD tenant update nope --settings '{}'", 1, "no tenant nope");
    expect("$LTVD tenant update b1", 2, "update needs --settings");

    /* default stays; usage errors */
    expect("$LTVD tenant delete default --yes", 2, "cannot be deleted");
    ck_assert_int_eq(tenants_named("default"), 1);
    expect("$LTVD tenant create x1 --yes", 2, "bad option for create");
    expect("$LTVD tenant list x1", 2, "list takes no arguments");
    expect("$LTVD tenant show", 2, "show takes one ID");
    expect("$LTVD tenant rename b1", 2, "unknown sub-command");
    expect("$LTVD tenant", 2, "missing sub-command");
    expect("unset DATABASE_URL; $LTVD tenant list", 1, "DATABASE_URL is not set");
    testrun_out r = run("$LTVD tenant --help");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "usage: ltvd tenant create") != NULL, "%s", r.out);
    testrun_free(&r);
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM tenants"), 3);
}
END_TEST

/* ---- import --tenant ---------------------------------------------------------- */

/* Two customers, five purchases (the same file in any tenant). */
static const char *write_csv(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/ltvd_clit_csvXXXXXX");
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    const char text[] = "customer_id,occurred_at,amount\n"
                        "c1,2025-01-02,10.50\n"
                        "c1,2025-02-03,20\n"
                        "c1,2025-03-04,5.25\n"
                        "c2,2025-01-10,99.99\n"
                        "c2,2025-01-20,1\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    return path;
}

static long long rows_of(const char *table, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", table, where);
    return sql_ll(sql);
}

START_TEST(test_import_tenant)
{
    const char *csv = write_csv();
    char cmd[512];
    expect("$LTVD tenant create acme", 0, NULL);
    snprintf(cmd, sizeof cmd, "$LTVD import --tenant acme %s", csv);
    testrun_out r = run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, ": 5 rows, 5 new, 0 duplicates, 2 customers;") != NULL,
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "; tenant acme") != NULL, "%s", r.out);
    testrun_free(&r);
    ck_assert_int_eq(rows_of("transactions", "tenant_id = 'acme'"), 5);
    ck_assert_int_eq(rows_of("transactions", "tenant_id <> 'acme'"), 0);
    ck_assert_int_eq(rows_of("customer_days", "tenant_id = 'acme'"), 5);
    ck_assert_int_eq(rows_of("customer_days", "tenant_id <> 'acme'"), 0);

    /* the same file into default: other customers, all new */
    snprintf(cmd, sizeof cmd, "$LTVD import %s", csv);
    r = run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, ": 5 rows, 5 new, 0 duplicates") != NULL, "%s", r.out);
    ck_assert_msg(strstr(r.out, "tenant") == NULL, "%s", r.out);
    testrun_free(&r);
    ck_assert_int_eq(rows_of("transactions", "tenant_id = 'default'"), 5);
    ck_assert_int_eq(rows_of("transactions", "tenant_id = 'acme'"), 5);

    /* an unknown tenant: refused before the file is read, nothing stored */
    snprintf(cmd, sizeof cmd, "$LTVD import --tenant nope %s", csv);
    expect(cmd, 1, "no tenant nope");
    expect("$LTVD import --tenant nope /nonexistent/x.csv", 1,
           "ltvd import: no tenant nope (ltvd tenant create nope makes it): nothing "
           "imported");
    r = run("$LTVD import --tenant nope /nonexistent/x.csv");
    ck_assert_msg(strstr(r.err, "/nonexistent") == NULL, "the file was opened: %s",
                  r.err);
    testrun_free(&r);
    expect("$LTVD import --tenant Nope /nonexistent/x.csv", 2, "--tenant must be");
    ck_assert_int_eq(rows_of("transactions", "true"), 10);
    ck_assert_int_eq(rows_of("customer_days", "true"), 10);

    /* deleting acme erases its rows and no other tenant's */
    expect("$LTVD tenant delete acme --yes", 0, NULL);
    ck_assert_int_eq(rows_of("transactions", "tenant_id = 'acme'"), 0);
    ck_assert_int_eq(rows_of("customer_days", "tenant_id = 'acme'"), 0);
    ck_assert_int_eq(rows_of("transactions", "tenant_id = 'default'"), 5);
    unlink(csv);
}
END_TEST

/* ---- key create --tenant ------------------------------------------------------ */

START_TEST(test_key_tenant)
{
    expect("$LTVD key create --scopes read --tenant acme", 1,
           "ltvd key: no tenant acme (ltvd tenant create acme makes it): no key created");
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM api_keys"), 0);
    expect("$LTVD tenant create acme", 0, NULL);
    expect("$LTVD key create --scopes ingest,read --tenant acme", 0, NULL);
    expect("$LTVD key create --scopes platform --tenant '*'", 0, NULL);
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM api_keys WHERE tenant_id = 'acme'"), 1);
    /* its keys go with the tenant; the platform key stays */
    expect("$LTVD tenant delete acme --yes", 0, NULL);
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM api_keys WHERE tenant_id = 'acme'"), 0);
    ck_assert_int_eq(sql_ll("SELECT count(*) FROM api_keys WHERE tenant_id = '*'"), 1);
}
END_TEST

/* ---- a running server follows --------------------------------------------------- */

/* GETs target until its status is not `leave` (at most 10 s: a bound
 * against hangs, not a timing), into *r (free it). */
static void get_until_not(const char *target, int leave, testhttp_response *r)
{
    for (int i = 0; i < 200; i++) {
        testhttp_request(svc.port, "GET", target, NULL, r);
        if (r->status != leave)
            return;
        testhttp_response_free(r);
        usleep(50 * 1000);
    }
    ck_abort_msg("%s still answers %d after 10 s", target, leave);
}

/* GETs /v1/tenants/acme until its member key of object `in` (or of the
 * document when NULL) is want (at most 10 s). acme must be served already
 * (wait for the catch-up to find a tenant created elsewhere first, with
 * get_until_not): once served, it answers 200 on every look. */
static void tenant_until(const char *in, const char *key, long long want)
{
    long long got = -1;
    for (int i = 0; i < 200; i++) {
        testhttp_response r;
        testhttp_request(svc.port, "GET", "/v1/tenants/acme", NULL, &r);
        ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
        json_t *o = in != NULL ? json_object_get(r.json, in) : r.json;
        got = testhttp_jint(o, key);
        testhttp_response_free(&r);
        if (got == want)
            return;
        usleep(50 * 1000);
    }
    ck_abort_msg("acme's %s is %lld, not %lld, after 10 s", key, got, want);
}

START_TEST(test_server_follows)
{
    testhttp_response r;
    testhttp_request(svc.port, "GET", "/v1/tenants/acme/model", NULL, &r);
    testhttp_assert_problem(&r, 404, "tenant-not-found");
    testhttp_response_free(&r);

    expect("$LTVD tenant create acme --settings '{\"horizon_days\":30}'", 0, NULL);
    get_until_not("/v1/tenants/acme/model", 404, &r);
    testhttp_assert_problem(&r, 503, "no-model");
    testhttp_response_free(&r);
    tenant_until("effective", "horizon_days", 30);

    /* its imported customers, and no other tenant's */
    const char *csv = write_csv();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "$LTVD import --tenant acme %s", csv);
    expect(cmd, 0, NULL);
    unlink(csv);
    tenant_until(NULL, "customers", 2);
    testhttp_request(svc.port, "GET", "/v1/tenants/default", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(testhttp_jint(r.json, "customers"), 0);
    testhttp_response_free(&r);

    expect("$LTVD tenant update acme --settings '{\"horizon_days\":90}'", 0, NULL);
    tenant_until("effective", "horizon_days", 90);

    expect("$LTVD tenant delete acme --yes", 0, NULL);
    get_until_not("/v1/tenants/acme/model", 503, &r);
    testhttp_assert_problem(&r, 404, "tenant-not-found");
    testhttp_response_free(&r);
}
END_TEST

/* A settings object of many unknown members is answered with at most
 * APP_TENANT_MAX_ERRORS errors (200,000 members made a 12 MB answer). */
START_TEST(test_many_bad_settings)
{
    json_t *settings = json_object(), *big = json_object();
    for (int i = 0; i < 5000; i++) {
        char name[32];
        snprintf(name, sizeof name, "k%d", i);
        json_object_set_new(settings, name, json_integer(i));
        json_object_set_new(big, name, json_integer(i));
    }
    json_t *body = json_pack("{s:s, s:o}", "id", "acme", "settings", settings);
    char *text = json_dumps(body, JSON_COMPACT);
    testhttp_response r;
    testhttp_request(svc.port, "POST", "/v1/tenants", text, &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "errors")),
                      APP_TENANT_MAX_ERRORS);
    testhttp_response_free(&r);
    free(text);
    json_decref(body);
    /* the same as members of the body, and in a PATCH */
    json_object_set_new(big, "id", json_string("acme"));
    text = json_dumps(big, JSON_COMPACT);
    testhttp_request(svc.port, "POST", "/v1/tenants", text, &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "errors")),
                      APP_TENANT_MAX_ERRORS);
    testhttp_response_free(&r);
    free(text);
    json_object_del(big, "id");
    body = json_pack("{s:o}", "settings", big);
    text = json_dumps(body, JSON_COMPACT);
    testhttp_request(svc.port, "POST", "/v1/tenants", "{\"id\":\"acme\"}", &r);
    ck_assert_int_eq(r.status, 201);
    testhttp_response_free(&r);
    testhttp_request(svc.port, "PATCH", "/v1/tenants/acme", text, &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "errors")),
                      APP_TENANT_MAX_ERRORS);
    testhttp_response_free(&r);
    free(text);
    json_decref(body);
}
END_TEST

/* A PATCH that changes nothing keeps the settings version served (every
 * version stays allocated until the tenant goes: 20,000 PATCHes of the
 * same settings grew the process by 95 MB). */
START_TEST(test_patch_unchanged)
{
    testhttp_response r;
    testhttp_request(svc.port, "POST", "/v1/tenants",
                     "{\"id\":\"acme\",\"settings\":{\"margin\":0.5}}", &r);
    ck_assert_msg(r.status == 201, "%d: %s", r.status, r.body);
    testhttp_response_free(&r);
    app_tenant *t = app_tenant_find(svc.app, "acme");
    ck_assert_ptr_nonnull(t);
    const app_tenant_cfg *before = app_tenant_settings(t);
    for (int i = 0; i < 3; i++) {
        testhttp_request(svc.port, "PATCH", "/v1/tenants/acme",
                         "{\"settings\":{\"margin\":0.5,\"currency\":null}}", &r);
        ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
        ck_assert_double_eq(testhttp_jnum(json_object_get(r.json, "settings"), "margin"),
                            0.5);
        testhttp_response_free(&r);
    }
    ck_assert_ptr_eq(app_tenant_settings(t), before);
    testhttp_request(svc.port, "PATCH", "/v1/tenants/acme",
                     "{\"settings\":{\"margin\":0.25}}", &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
    ck_assert_ptr_ne(app_tenant_settings(t), before);
    ck_assert(stored_settings_are("acme", "{\"margin\":0.25}"));
    app_tenant_release(t);
}
END_TEST

/* A tenant deleted and created again by another process between two
 * looks of the catch-up (the same id, a new row) is the new one here too:
 * the deleted one's customers were served under it until a restart (and
 * fitted into its first model). */
START_TEST(test_recreated_elsewhere)
{
    expect("$LTVD tenant create acme", 0, NULL);
    testhttp_response r;
    get_until_not("/v1/tenants/acme", 404, &r); /* until the catch-up finds it */
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
    const char *csv = write_csv();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "$LTVD import --tenant acme %s", csv);
    expect(cmd, 0, NULL);
    unlink(csv);
    tenant_until(NULL, "customers", 2);
    /* both in one transaction: no look of the catch-up can fall between */
    store_db *db = testhttp_db_open(&svc);
    PGresult *res = PQexec(db->conn, "BEGIN; DELETE FROM tenants WHERE id = 'acme';"
                                     " INSERT INTO tenants (id) VALUES ('acme'); COMMIT");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s",
                  PQresultErrorMessage(res));
    PQclear(res);
    store_db_close(db);
    /* the old one is served until the new one takes its place in one
     * step: never a 404 meanwhile */
    long long n = -1;
    for (int i = 0; i < 200 && n != 0; i++) {
        testhttp_request(svc.port, "GET", "/v1/tenants/acme", NULL, &r);
        ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
        n = testhttp_jint(r.json, "customers");
        testhttp_response_free(&r);
        if (n != 0)
            usleep(50 * 1000);
    }
    ck_assert_int_eq(n, 0);
    /* the new tenant's worker says why it fits nothing once it has looked
     * (before: "the worker is looking at the data"); at most 10 s */
    bool looked = false;
    for (int i = 0; i < 200 && !looked; i++) {
        testhttp_request(svc.port, "GET", "/v1/tenants/acme/model", NULL, &r);
        testhttp_assert_problem(&r, 503, "no-model");
        looked = strstr(r.body, "is looking at the data") == NULL;
        if (looked)
            ck_assert_msg(strstr(r.body, "0 customers") != NULL, "%s", r.body);
        testhttp_response_free(&r);
        if (!looked)
            usleep(50 * 1000);
    }
    ck_assert_msg(looked, "acme's worker never looked at its data");
}
END_TEST

/* A tenant created over HTTP is served from its 201 on: the catch-up's
 * reconcile read the tenants table before the new row was in, then
 * dropped the new tenant from the registry as "deleted by another process"
 * (404 tenant-not-found until the next catch-up; a batch acknowledged
 * meanwhile went to the dropped tenant's cache only, and was missing from
 * the one served after until a restart). Four clients create tenants
 * while the catch-up runs every millisecond. */
#define RACE_CLIENTS 4
#define RACE_TENANTS 40

static atomic_int race_lost, race_failed;

static void *race_client(void *arg)
{
    int c = (int)(intptr_t)arg;
    char target[96], body[96];
    for (int i = 0; i < RACE_TENANTS; i++) {
        testhttp_response r;
        snprintf(body, sizeof body, "{\"id\":\"race%d-%d\"}", c, i);
        for (int tries = 0; tries < 100; tries++) { /* 503: the slots are taken */
            testhttp_request(svc.port, "POST", "/v1/tenants", body, &r);
            if (r.status != 503)
                break;
            testhttp_response_free(&r);
            usleep(10 * 1000);
        }
        if (r.status != 201)
            atomic_fetch_add(&race_failed, 1);
        testhttp_response_free(&r);
        snprintf(target, sizeof target, "/v1/tenants/race%d-%d/model", c, i);
        for (int j = 0; j < 5; j++) {
            testhttp_request(svc.port, "GET", target, NULL, &r);
            if (r.status == 404)
                atomic_fetch_add(&race_lost, 1);
            testhttp_response_free(&r);
        }
    }
    return NULL;
}

START_TEST(test_create_while_reconciling)
{
    char err[CONFIG_ERR_MAX];
    testhttp_app_stop(&svc);
    ck_assert(config_set(&svc.cfg, "cache_sync_ms", "60000", err));
    testhttp_app_start(&svc, true);
    ck_assert(app_sync_begin(svc.app));
    pthread_t th[RACE_CLIENTS];
    for (int c = 0; c < RACE_CLIENTS; c++)
        ck_assert_int_eq(pthread_create(&th[c], NULL, race_client, (void *)(intptr_t)c),
                         0);
    for (int c = 0; c < RACE_CLIENTS; c++)
        pthread_join(th[c], NULL);
    ck_assert_int_eq(atomic_load(&race_failed), 0);
    ck_assert_msg(atomic_load(&race_lost) == 0,
                  "%d GETs of a tenant created before answered 404",
                  atomic_load(&race_lost));
}
END_TEST

Suite *suite_cli_tenant(void)
{
    Suite *s = suite_create("cli_tenant");
    TCase *tc = tcase_create("postgres");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tenant_round_trip);
    tcase_add_test(tc, test_tenant_bad_input);
    tcase_add_test(tc, test_import_tenant);
    tcase_add_test(tc, test_key_tenant);
    tcase_add_test(tc, test_server_follows);
    tcase_add_test(tc, test_create_while_reconciling);
    tcase_add_test(tc, test_recreated_elsewhere);
    tcase_add_test(tc, test_patch_unchanged);
    tcase_add_test(tc, test_many_bad_settings);
    suite_add_tcase(s, tc);
    return s;
}
