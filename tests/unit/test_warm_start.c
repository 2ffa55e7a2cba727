/* suite_warm_start: `ltvd serve` (the real binary, LTVD_BIN) listens before
 * its start-up is over, and serves nothing it cannot yet serve rightly.
 * Start-up is held at two points by the test's own sessions, so nothing
 * depends on timing: the migrations wait for their advisory lock, the
 * cache rebuild for an ACCESS EXCLUSIVE lock on customer_days. Meanwhile:
 *   - /healthz answers 200 on `listen` and on `health_listen`; /readyz 503
 *     `starting` saying where start-up is (the migrations, then "cache
 *     rebuild: N of about M customers loaded");
 *   - every /v1 route answers 503 `starting` with Retry-After, and nothing
 *     is stored; a request without a key is 401 at any time, one with a
 *     bad key 401 as soon as the keys are loaded (after the migrations),
 *     before that 503 `starting`; a private /metrics likewise, then 200
 *     with ltvd_started 0;
 *   - a second server on the port exits 1 at once; SIGTERM exits 0 at once;
 * and once the locks go, /readyz turns 200 and the documents equal those of
 * a server started the ordinary way on the same data. Start-ups that fail
 * after the listener is up (no migrations directory, no database) still
 * exit 1 with their message. Needs DATABASE_URL; database ltvd_ws_<pid>. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/auth_store.h"
#include "auth/auth_token.h"
#include "testhttp.h"
#include "testserve.h"

/* pg_advisory_xact_lock key of the migrators (src/store/migrate.c). */
#define MIGRATE_LOCK "7814536254063945586"
#define N_CUSTOMERS 3000

static testhttp_app svc; /* the database (the in-process service only migrates) */
static char bearer[AUTH_TOKEN_LEN + 1]; /* a key with every scope */

/* The customer ids compared with the reference server, and what it said. */
static const char *const probe_targets[] = {
    "/v1/customers/c1",   "/v1/customers/c2",    "/v1/customers/c17",
    "/v1/customers/c999", "/v1/customers/c3000", "/v1/model",
};
#define N_TARGETS (sizeof probe_targets / sizeof probe_targets[0])
static char *reference[N_TARGETS];

/* ---- set-up ---------------------------------------------------------------------- */

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(res);
}

static PGconn *session(void)
{
    PGconn *c = PQconnectdb(svc.cfg.database_url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* A key of every scope, stored as `ltvd key create` stores it. */
static void key_new(void)
{
    char id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_token_new(bearer, id), 0);
    ck_assert_int_eq(auth_token_hash(bearer, strlen(bearer), hash), 0);
    store_db *db = testhttp_db_open(&svc);
    ck_assert_msg(auth_store_create(db, id, "warm start", hash, AUTH_SCOPE_ALL, "*") == 0,
                  "%s", store_db_error(db));
    store_db_close(db);
}

/* N_CUSTOMERS customers of 1 to 4 purchase days, written straight into
 * customer_days (as bench/service.sh does) and analyzed, so that
 * PostgreSQL has an estimate of them; the snapshot of testhttp. */
static void setup(void)
{
    testhttp_db_create(&svc, "ltvd_ws");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "as_of", "2025-12-31", err));
    testhttp_app_start(&svc, false); /* the migrations */
    testhttp_app_stop(&svc);
    PGconn *c = session();
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO customer_days (customer_id, day, amount, n_transactions)"
             " SELECT 'c' || g, date '2025-01-01' + g %% 200 + k * (1 + g %% 20),"
             "        20 + (g %% 100) / 4.0 + k, 1"
             "   FROM generate_series(1, %d) AS g, generate_series(0, g %% 4) AS k",
             N_CUSTOMERS);
    exec_ok(c, sql);
    exec_ok(c, "VACUUM ANALYZE customer_days");
    PQfinish(c);
    testhttp_snapshot_save(&svc);
    key_new();
}

static void teardown(void)
{
    for (size_t i = 0; i < N_TARGETS; i++) {
        free(reference[i]);
        reference[i] = NULL;
    }
    testhttp_db_drop(&svc);
}

/* ---- the server ------------------------------------------------------------------ */

/* A free TCP port on 127.0.0.1 (bound, read, released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Spawns `ltvd serve` on the database with auth on, a private /metrics, the
 * snapshot's settings and health_listen on hport (0: none), plus extra
 * (NULL or "K=V"); does not wait. */
static void spawn(testserve *s, const char *url, int hport, const char *extra)
{
    char health[64] = "LTVD_HEALTH_LISTEN=";
    if (hport > 0)
        snprintf(health, sizeof health, "LTVD_HEALTH_LISTEN=127.0.0.1:%d", hport);
    /* extra first: the first of two settings of a key wins */
    const char *env[] = {
        extra != NULL ? extra : "LTVD_TEST_WARM_START=1",
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=2",
        "LTVD_PERIOD=week",
        "LTVD_AS_OF=2025-12-31",
        "LTVD_AUTH_REQUIRED=true",
        "LTVD_METRICS_PUBLIC=false",
        "LTVD_REFIT_INTERVAL_S=604800",
        "LTVD_REFIT_AFTER_TXNS=1000000000",
        "LTVD_SHUTDOWN_DEADLINE_S=2",
        health,
        NULL,
    };
    testserve_spawn(s, url, env);
}

/* One request (token NULL: no key); the reply, freed by the caller. */
static int call(int port, const char *method, const char *target, const char *token,
                const char *body, testserve_reply *r)
{
    return testserve_http_auth(port, method, target, token, body, 5, r);
}

/* The reply is the problem slug with status, and its detail holds want
 * (NULL: any). */
static void assert_problem(const testserve_reply *r, int status, const char *slug,
                           const char *want, const char *what)
{
    ck_assert_msg(r->status == status, "%s: %d, want %d: %s", what, r->status, status,
                  r->body);
    json_t *doc = json_loads(r->body, 0, NULL);
    char type[96];
    snprintf(type, sizeof type, "urn:ltvd:problem:%s", slug);
    const char *got = json_string_value(json_object_get(doc, "type"));
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    ck_assert_msg(got != NULL && strcmp(got, type) == 0, "%s: type %s: %s", what,
                  got != NULL ? got : "(none)", r->body);
    ck_assert_msg(want == NULL || (detail != NULL && strstr(detail, want) != NULL),
                  "%s: the detail does not say \"%s\": %s", what, want, r->body);
    json_decref(doc);
}

/* A 503 `starting` with Retry-After, detail holding want. */
static void assert_starting(int port, const char *method, const char *target,
                            const char *token, const char *body, const char *want)
{
    testserve_reply r;
    char what[160], retry[16];
    snprintf(what, sizeof what, "%s %s during start-up", method, target);
    call(port, method, target, token, body, &r);
    assert_problem(&r, 503, "starting", want, what);
    ck_assert_msg(testserve_reply_header(&r, "Retry-After", retry, sizeof retry) &&
                      atoi(retry) >= 1,
                  "%s: no Retry-After: %s", what, r.head);
    testserve_reply_free(&r);
}

static int status_of(int port, const char *method, const char *target, const char *token)
{
    testserve_reply r;
    int st = call(port, method, target, token, NULL, &r);
    testserve_reply_free(&r);
    return st;
}

/* Polls /readyz (10 s) until its detail holds want; a failure otherwise. */
static void wait_readyz_says(int port, const char *want)
{
    static char last[4096];
    for (int i = 0; i < 500; i++) {
        testserve_reply r;
        call(port, "GET", "/readyz", NULL, NULL, &r);
        snprintf(last, sizeof last, "%d %s", r.status, r.body);
        bool hit = strstr(r.body, want) != NULL;
        testserve_reply_free(&r);
        if (hit)
            return;
        testserve_sleep_ms(20);
    }
    ck_abort_msg("/readyz never said \"%s\"; last: %s", want, last);
}

/* The bodies of probe_targets from a server started the ordinary way. */
/* GET target with 200 once the document is ranked: its
 * predicted_ltv_percentile is null until the service's score table is (at
 * most 10 s), so two services compare equal only when both are. */
static void get_ranked(int port, const char *target, testserve_reply *r)
{
    for (int i = 0;; i++) {
        ck_assert_int_eq(call(port, "GET", target, bearer, NULL, r), 200);
        if (strstr(r->body, "\"predicted_ltv_percentile\":null") == NULL || i == 500)
            return;
        testserve_reply_free(r);
        testserve_sleep_ms(20);
    }
}

static void fetch_reference(void)
{
    testserve ref;
    spawn(&ref, svc.cfg.database_url, 0, NULL);
    testserve_wait_listening(&ref, 30000);
    for (size_t i = 0; i < N_TARGETS; i++) {
        testserve_reply r;
        get_ranked(ref.port, probe_targets[i], &r);
        reference[i] = strdup(r.body);
        testserve_reply_free(&r);
    }
    ck_assert_int_eq(testserve_stop(&ref, 5000), 0);
    testserve_forget(&ref);
}

static long long count_transactions(void)
{
    return testhttp_count_rows(&svc, "transactions");
}

/* ---- the tests ------------------------------------------------------------------- */

static const char batch[] = "{\"transactions\":[{\"id\":\"w1\",\"customer_id\":\"c1\","
                            "\"occurred_at\":\"2025-11-02T10:00:00Z\",\"amount\":12}]}";

/* While the migrations wait: probes yes, keys not loaded, /v1 503. */
static void check_while_migrating(int port, int hport)
{
    ck_assert_int_eq(status_of(port, "GET", "/healthz", NULL), 200);
    ck_assert_int_eq(status_of(hport, "GET", "/healthz", NULL), 200);
    wait_readyz_says(port, "the service is starting: "); /* connecting, maybe */
    wait_readyz_says(port, "applying the database migrations");
    assert_starting(port, "GET", "/readyz", NULL, NULL,
                    "applying the database migrations");
    assert_starting(hport, "GET", "/readyz", NULL, NULL, "migrations");
    assert_starting(port, "GET", "/v1/customers/c1", bearer, NULL,
                    "API keys are not loaded");
    assert_starting(port, "GET", "/metrics", bearer, NULL, "API keys are not loaded");
    assert_starting(hport, "GET", "/metrics", bearer, NULL, "API keys are not loaded");
    ck_assert_int_eq(status_of(port, "GET", "/v1/customers/c1", NULL), 401);
    ck_assert_int_eq(status_of(port, "GET", "/metrics", NULL), 401);
}

/* While the rebuild waits: auth first, then 503 on every /v1 route. */
static void check_while_rebuilding(int port, int hport)
{
    wait_readyz_says(port, "cache rebuild: 0 of about ");
    assert_starting(hport, "GET", "/readyz", NULL, NULL, "cache rebuild: 0 of about ");
    ck_assert_int_eq(status_of(port, "GET", "/healthz", NULL), 200);
    ck_assert_int_eq(status_of(hport, "GET", "/healthz", NULL), 200);
    static const char *const gets[] = {"/v1/customers/c1",
                                       "/v1/customers/c1?as_of=2025-06-01",
                                       "/v1/customers?limit=5", "/v1/model"};
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++)
        assert_starting(port, "GET", gets[i], bearer, NULL, "cache rebuild");
    assert_starting(port, "POST", "/v1/transactions", bearer, batch, "cache rebuild");
    assert_starting(port, "POST", "/v1/model/refit", bearer, NULL, "cache rebuild");
    char wrong[AUTH_TOKEN_LEN + 1];
    snprintf(wrong, sizeof wrong, "%s", bearer);
    wrong[AUTH_TOKEN_LEN - 1] = wrong[AUTH_TOKEN_LEN - 1] == '0' ? '1' : '0';
    testserve_reply r;
    call(port, "GET", "/v1/customers/c1", wrong, NULL, &r);
    assert_problem(&r, 401, "unauthorized", NULL, "a bad key during the rebuild");
    testserve_reply_free(&r);
    ck_assert_int_eq(status_of(port, "GET", "/v1/customers/c1", NULL), 401);
    call(hport, "GET", "/metrics", bearer, NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\nltvd_started 0\n") != NULL,
                  "%d: %s", r.status, r.body);
    testserve_reply_free(&r);
    ck_assert_int_eq(count_transactions(), 0);
}

/* A second server on the port of the one starting exits 1 at once. */
static void check_second_server(int port)
{
    testserve second;
    char listen[64];
    snprintf(listen, sizeof listen, "LTVD_LISTEN=127.0.0.1:%d", port);
    spawn(&second, svc.cfg.database_url, 0, listen);
    int status = testserve_wait_exit(&second, 5000);
    static char log[8192];
    testserve_log(&second, log, sizeof log);
    ck_assert_msg(status == 1 && strstr(log, "already in use") != NULL, "status %d: %s",
                  status, log);
    testserve_forget(&second);
}

START_TEST(test_warm_start_serves_while_rebuilding)
{
    fetch_reference();
    PGconn *migrations = session(), *days = session();
    exec_ok(migrations, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")");
    exec_ok(days, "BEGIN");
    exec_ok(days, "LOCK TABLE customer_days IN ACCESS EXCLUSIVE MODE");
    int hport = free_port();
    testserve s;
    spawn(&s, svc.cfg.database_url, hport, NULL);
    testserve_wait_port(&s, 10000);
    check_while_migrating(s.port, hport);
    exec_ok(migrations, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")");
    check_while_rebuilding(s.port, hport);
    check_second_server(s.port);
    ck_assert_int_eq(status_of(s.port, "GET", "/healthz", NULL), 200);
    exec_ok(days, "COMMIT");
    PQfinish(days);
    PQfinish(migrations);
    for (int i = 0; i < 1000 && status_of(s.port, "GET", "/readyz", NULL) != 200; i++)
        testserve_sleep_ms(20);
    ck_assert_int_eq(status_of(s.port, "GET", "/readyz", NULL), 200);
    ck_assert(testserve_log_wait(&s, "msg=started in ", 1000));
    for (size_t i = 0; i < N_TARGETS; i++) {
        testserve_reply r;
        get_ranked(s.port, probe_targets[i], &r);
        ck_assert_msg(strcmp(r.body, reference[i]) == 0, "%s: %s\nwant %s",
                      probe_targets[i], r.body, reference[i]);
        testserve_reply_free(&r);
    }
    testserve_reply r;
    call(hport, "GET", "/metrics", bearer, NULL, &r);
    ck_assert_msg(strstr(r.body, "\nltvd_started 1\n") != NULL &&
                      strstr(r.body, "\nltvd_cache_customers 3000\n") != NULL,
                  "%s", r.body);
    testserve_reply_free(&r);
    ck_assert_int_eq(call(s.port, "POST", "/v1/transactions", bearer, batch, &r), 200);
    testserve_reply_free(&r);
    ck_assert_int_eq(testserve_stop(&s, 5000), 0);
    testserve_forget(&s);
}
END_TEST

/* SIGTERM while the rebuild waits: status 0 at once. */
START_TEST(test_warm_start_sigterm_while_rebuilding)
{
    PGconn *days = session();
    exec_ok(days, "BEGIN");
    exec_ok(days, "LOCK TABLE customer_days IN ACCESS EXCLUSIVE MODE");
    testserve s;
    spawn(&s, svc.cfg.database_url, 0, NULL);
    testserve_wait_port(&s, 10000);
    wait_readyz_says(s.port, "cache rebuild");
    double t0 = testserve_now();
    ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
    int status = testserve_wait_exit(&s, 5000);
    double took = testserve_now() - t0;
    exec_ok(days, "COMMIT");
    PQfinish(days);
    static char log[8192];
    testserve_log(&s, log, sizeof log);
    ck_assert_msg(status == 0 && took < 2.0, "status %d after %.1f s: %s", status, took,
                  log);
    ck_assert_msg(strstr(log, "SIGTERM during start-up") != NULL, "%s", log);
    testserve_forget(&s);
}
END_TEST

/* Start-ups that fail once the listener is up: status 1 and the message,
 * promptly. */
START_TEST(test_warm_start_failures_exit_1)
{
    struct {
        const char *url, *extra, *message;
    } cases[] = {
        {svc.cfg.database_url, "LTVD_MIGRATIONS_DIR=/nonexistent/migrations",
         "ltvd serve: migrate: migrations: cannot open directory "
         "/nonexistent/migrations"},
        {"postgresql://ltvd@127.0.0.1:1/none?connect_timeout=2", NULL, "ltvd serve: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        testserve s;
        spawn(&s, cases[i].url, 0, cases[i].extra);
        int status = testserve_wait_exit(&s, 10000);
        static char log[8192];
        testserve_log(&s, log, sizeof log);
        ck_assert_msg(status == 1, "case %zu: status %d: %s", i, status, log);
        ck_assert_msg(strstr(log, cases[i].message) != NULL, "case %zu: %s", i, log);
        ck_assert_msg(strstr(log, "listening on") != NULL, "case %zu: %s", i, log);
        testserve_forget(&s);
    }
}
END_TEST

Suite *suite_warm_start(void)
{
    Suite *s = suite_create("warm_start");
    TCase *tc = tcase_create("warm_start");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_warm_start_serves_while_rebuilding);
    tcase_add_test(tc, test_warm_start_sigterm_while_rebuilding);
    tcase_add_test(tc, test_warm_start_failures_exit_1);
    suite_add_tcase(s, tc);
    return s;
}
