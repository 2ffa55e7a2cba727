/* suite_replica: `ltvd serve` (the real binary, LTVD_BIN) on a database it
 * cannot write to serves reads and refuses writes clearly
 * (docs/operations.md, "Read replicas"; src/app/mode.h).
 *   - streaming: a real streaming replica of the test cluster
 *     (scripts/pg_replica.sh: pg_basebackup -R, a hot standby on another
 *     loopback port). ltvd on it starts without a write (the standby's log
 *     has no ERROR: a CREATE or INSERT there would be one), /readyz is 200
 *     with mode read-only, /metrics says ltvd_read_only 1, a customer
 *     stored on the primary before it started is served, one ingested on
 *     the primary (by an ordinary ltvd, in-process) while it runs appears
 *     within a generous bound (the catch-up on the replica), and POST
 *     /v1/transactions and POST /v1/model/refit answer 503 `read-only`
 *     (no Retry-After, saying this process cannot write and where writes
 *     go, not that resending is safe) with nothing stored.
 *   - read_only: the same refusals from a process on the primary told
 *     read_only = true, and from one whose session is read-only
 *     (default_transaction_read_only=on); an ordinary process says mode
 *     read-write; a read-only process whose database misses a migration of
 *     its own, or has no schema at all, exits 1 saying so, and writes
 *     nothing (schema_migrations is not created).
 * Needs DATABASE_URL naming a role that may replicate (scripts/with_pg.sh's
 * superuser); databases ltvd_rep_<pid>, ltvd_rep_empty_<pid>. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testdb.h"
#include "testhttp.h"
#include "testserve.h"

/* Generous: only to detect a catch-up that never comes. */
#define CATCH_UP_BOUND_MS 30000
#define WRITE_URL "http://ltvd-primary.example:8080"

static testhttp_app svc;      /* the primary's database and an ordinary ltvd on it */
static char replica_dir[128]; /* the standby's directory ("" when none): see
                                 replica_dir_make */
static int replica_port;

/* ---- helpers --------------------------------------------------------------------- */

/* t's database, on the server at 127.0.0.1:port when port > 0 (the
 * replica), with extra conninfo appended (NULL: none); the later of two
 * settings wins. */
static void conninfo(int port, const char *extra, char *out, size_t size)
{
    testdb_url_with_db(svc.base_url, svc.dbname, out, size);
    size_t len = strlen(out);
    if (port > 0)
        len +=
            (size_t)snprintf(out + len, size - len, " host='127.0.0.1' port='%d'", port);
    if (extra != NULL)
        len += (size_t)snprintf(out + len, size - len, " %s", extra);
    ck_assert_uint_lt(len, size - 1);
}

/* Spawns `ltvd serve` on url (no key needed, the snapshot's settings, a
 * fast catch-up), plus extra and extra2 (NULL or "K=V", first so that they
 * win); does not wait. */
static void spawn(testserve *s, const char *url, const char *extra, const char *extra2)
{
    const char *env[] = {
        extra != NULL ? extra : "LTVD_TEST_REPLICA=1",
        extra2 != NULL ? extra2 : "LTVD_TEST_REPLICA=1",
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=2",
        "LTVD_PERIOD=week",
        "LTVD_AS_OF=2025-12-31",
        "LTVD_AUTH_REQUIRED=false",
        "LTVD_CACHE_SYNC_MS=200",
        "LTVD_READINESS_INTERVAL_MS=200",
        "LTVD_REFIT_INTERVAL_S=604800",
        "LTVD_SHUTDOWN_DEADLINE_S=2",
        "LTVD_WRITE_URL=" WRITE_URL,
        NULL,
    };
    testserve_spawn(s, url, env);
}

/* A free TCP port on 127.0.0.1 (bound, read, released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* `ltvd migrate` on url: its exit status, its output into out[size]. */
static int run_migrate(const char *url, char *out, size_t size)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        setenv("DATABASE_URL", url, 1);
        execl(testserve_bin(), testserve_bin(), "migrate", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < size && (k = read(fds[0], out + n, size - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int call(int port, const char *method, const char *target, const char *body,
                testserve_reply *r)
{
    return testserve_http(port, method, target, body, 5, r);
}

/* Transactions stored for customer id on the primary. */
static long long stored_for(const char *id)
{
    char sql[160];
    PGconn *c = PQconnectdb(svc.cfg.database_url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM transactions WHERE customer_id = '%s'", id);
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    long long n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return n;
}

/* /readyz is 200 with mode want (and, read-only, a detail holding why). */
static void assert_ready(int port, const char *want, const char *why)
{
    testserve_reply r;
    call(port, "GET", "/readyz", NULL, &r);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *mode = json_string_value(json_object_get(doc, "mode"));
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    ck_assert_msg(r.status == 200 && mode != NULL && strcmp(mode, want) == 0,
                  "/readyz: %d %s", r.status, r.body);
    ck_assert_msg(why == NULL || (detail != NULL && strstr(detail, why) != NULL),
                  "/readyz does not say \"%s\": %s", why, r.body);
    json_decref(doc);
    testserve_reply_free(&r);
}

/* /metrics says ltvd_read_only want. */
static void assert_metric(int port, int want)
{
    testserve_reply r;
    char line[32];
    snprintf(line, sizeof line, "\nltvd_read_only %d\n", want);
    call(port, "GET", "/metrics", NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, line) != NULL, "/metrics: no%s",
                  line);
    testserve_reply_free(&r);
}

/* method target answers the 503 read-only problem: no Retry-After, the
 * detail says the process cannot write, why (want) and where writes go,
 * and nothing about resending. */
static void assert_read_only(int port, const char *method, const char *target,
                             const char *body, const char *want)
{
    testserve_reply r;
    char retry[16];
    call(port, method, target, body, &r);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *type = json_string_value(json_object_get(doc, "type"));
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    ck_assert_msg(r.status == 503 && type != NULL &&
                      strcmp(type, "urn:ltvd:problem:read-only") == 0,
                  "%s %s: %d %s", method, target, r.status, r.body);
    ck_assert_msg(detail != NULL && strstr(detail, "cannot write") != NULL &&
                      strstr(detail, want) != NULL && strstr(detail, WRITE_URL) != NULL &&
                      strstr(detail, "resend") == NULL,
                  "%s %s: detail: %s", method, target, r.body);
    ck_assert_msg(!testserve_reply_header(&r, "Retry-After", retry, sizeof retry),
                  "%s %s: Retry-After: %s", method, target, r.head);
    json_decref(doc);
    testserve_reply_free(&r);
}

static const char w_batch[] = "{\"transactions\":[{\"id\":\"w\",\"customer_id\":\"w1\","
                              "\"occurred_at\":\"2025-05-05T10:00:00Z\",\"amount\":12}]}";

/* Every write this process has is refused, nothing stored. */
static void assert_writes_refused(int port, const char *want)
{
    assert_read_only(port, "POST", "/v1/transactions", w_batch, want);
    assert_read_only(port, "POST", "/v1/model/refit", NULL, want);
    ck_assert_int_eq(stored_for("w1"), 0);
}

/* ---- the standby ------------------------------------------------------------------- */

/* Runs scripts/pg_replica.sh with args; its stdout into out[size]. */
static int replica_script(const char *args, char *out, size_t size)
{
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "scripts/pg_replica.sh %s", args);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen %s", cmd);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/* The standby's directory, made in the runner's own process (an unchecked
 * fixture), so that the standby is stopped and removed by
 * replica_dir_remove there even when the test fails in its fork. */
static void replica_dir_make(void)
{
    char tmpl[] = "/tmp/ltvd_replica.XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        perror("replica: mkdtemp");
        abort();
    }
    snprintf(replica_dir, sizeof replica_dir, "%s", tmpl);
}

static void replica_dir_remove(void)
{
    if (replica_dir[0] == '\0')
        return;
    char args[200], out[64], cmd[256];
    snprintf(args, sizeof args, "stop '%s'", replica_dir);
    replica_script(args, out, sizeof out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", replica_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "replica: %s failed\n", cmd);
    replica_dir[0] = '\0';
}

/* Starts the standby of the test cluster in replica_dir. */
static void replica_start(void)
{
    char args[2400], out[256];
    snprintf(args, sizeof args, "start '%s' '%s'", replica_dir, svc.base_url);
    int rc = replica_script(args, out, sizeof out);
    const char *p = strstr(out, "REPLICA_PORT=");
    ck_assert_msg(rc == 0 && p != NULL, "pg_replica.sh start: status %d: %s", rc, out);
    replica_port = atoi(p + strlen("REPLICA_PORT="));
    ck_assert_int_gt(replica_port, 0);
}

/* ---- fixtures ---------------------------------------------------------------------- */

/* The primary: migrated, the snapshot stored, c1 and c2 ingested through
 * an ordinary in-process ltvd (kept running to ingest more). */
static void setup(void)
{
    testhttp_app_start_served(&svc, "ltvd_rep");
    testhttp_response r;
    testhttp_request(svc.port, "POST", "/v1/transactions", testhttp_batch, &r);
    ck_assert_msg(r.status == 200, "ingest on the primary: %d %s", r.status, r.body);
    testhttp_response_free(&r);
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* Runs sql on the server at conninfo url. */
static void exec_on(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    ck_assert_msg(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

/* SELECT sql's one value on the server at conninfo url, into out[size]. */
static void value_on(const char *url, const char *sql, char *out, size_t size)
{
    PGconn *c = PQconnectdb(url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s",
                  sql, PQerrorMessage(c));
    snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
}

/* GET target on port until 200, within CATCH_UP_BOUND_MS; the last status. */
static int wait_200(int port, const char *target)
{
    double t0 = testserve_now();
    int status = 0;
    while (status != 200 && testserve_now() - t0 < CATCH_UP_BOUND_MS / 1000.0) {
        testserve_reply r;
        status = call(port, "GET", target, NULL, &r);
        testserve_reply_free(&r);
        if (status != 200)
            testserve_sleep_ms(100);
    }
    return status;
}

/* A writing process on the primary that rebuilds from the replica
 * (DATABASE_READ_URL, replica_url), while the replica lags: replay is
 * paused after r2 is stored on the primary, so the rebuild misses r2 and
 * the catch-up (on the primary) must bring it. It writes as usual. Then
 * an unreachable DATABASE_READ_URL fails start-up, saying so. */
static void read_url_rebuild(const char *replica_url)
{
    static const char r2_batch[] =
        "{\"transactions\":[{\"id\":\"a\",\"customer_id\":\"r2\",\"occurred_at\":"
        "\"2025-04-01T10:00:00Z\",\"amount\":40}]}";
    exec_on(replica_url, "SELECT pg_wal_replay_pause()");
    char v[32] = "";
    for (int i = 0; i < 300 && strcmp(v, "paused") != 0; i++) {
        testserve_sleep_ms(i > 0 ? 100 : 0);
        value_on(replica_url, "SELECT pg_get_wal_replay_pause_state()", v, sizeof v);
    }
    ck_assert_str_eq(v, "paused");
    testhttp_response pr;
    testhttp_request(svc.port, "POST", "/v1/transactions", r2_batch, &pr);
    ck_assert_msg(pr.status == 200, "ingest on the primary: %d %s", pr.status, pr.body);
    testhttp_response_free(&pr);
    value_on(replica_url, "SELECT count(*) FROM transactions WHERE customer_id = 'r2'", v,
             sizeof v);
    ck_assert_str_eq(v, "0"); /* the rebuild below cannot see r2 */

    char primary[2400], read_url[2500];
    conninfo(0, NULL, primary, sizeof primary);
    snprintf(read_url, sizeof read_url, "DATABASE_READ_URL=%s", replica_url);
    testserve s;
    spawn(&s, primary, read_url, NULL);
    testserve_wait_listening(&s, 30000);
    ck_assert_msg(testserve_log_wait(&s, "from DATABASE_READ_URL", 100),
                  "the log does not say the rebuild read DATABASE_READ_URL");
    assert_ready(s.port, "read-write", NULL);
    ck_assert_int_eq(wait_200(s.port, "/v1/customers/r2"), 200);
    ck_assert_int_eq(wait_200(s.port, "/v1/customers/c1"), 200);
    testserve_reply r;
    call(s.port, "POST", "/v1/transactions", w_batch, &r);
    ck_assert_msg(r.status == 200, "ingest: %d %s", r.status, r.body);
    testserve_reply_free(&r);
    ck_assert_int_eq(stored_for("w1"), 1);
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);
    exec_on(replica_url, "SELECT pg_wal_replay_resume()");

    static char log[8192];
    spawn(&s, primary,
          "DATABASE_READ_URL=postgresql://ltvd@127.0.0.1:1/none?connect_timeout=2", NULL);
    int status = testserve_wait_exit(&s, 15000);
    testserve_log(&s, log, sizeof log);
    ck_assert_msg(status == 1 && strstr(log, "ltvd serve: DATABASE_READ_URL: ") != NULL,
                  "status %d: %s", status, log);
    testserve_forget(&s);
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(test_replica_serves_reads_refuses_writes)
{
    replica_start();
    char url[2400];
    conninfo(replica_port, NULL, url, sizeof url);
    testserve s;
    spawn(&s, url, NULL, NULL);
    testserve_wait_listening(&s, 30000);
    ck_assert_msg(
        testserve_log_wait(&s, "read-only, as its database is a streaming replica", 100),
        "the log does not say read-only");
    assert_ready(s.port, "read-only", "streaming replica");
    assert_metric(s.port, 1);

    /* stored before it started: from the rebuild */
    testserve_reply r;
    call(s.port, "GET", "/v1/customers/c1", NULL, &r);
    ck_assert_msg(r.status == 200, "c1: %d %s", r.status, r.body);
    testserve_reply_free(&r);

    /* ingested on the primary while it runs: through the catch-up */
    static const char r_batch[] =
        "{\"transactions\":[{\"id\":\"a\",\"customer_id\":\"r1\",\"occurred_at\":"
        "\"2025-04-01T10:00:00Z\",\"amount\":40},{\"id\":\"b\",\"customer_id\":\"r1\","
        "\"occurred_at\":\"2025-07-01T10:00:00Z\",\"amount\":60}]}";
    testhttp_response pr;
    testhttp_request(svc.port, "POST", "/v1/transactions", r_batch, &pr);
    ck_assert_msg(pr.status == 200, "ingest on the primary: %d %s", pr.status, pr.body);
    testhttp_response_free(&pr);
    int status = wait_200(s.port, "/v1/customers/r1");
    ck_assert_msg(status == 200,
                  "r1 ingested on the primary not served by the replica "
                  "process within %d ms (last %d)",
                  CATCH_UP_BOUND_MS, status);

    assert_writes_refused(s.port, "streaming replica");
    call(s.port, "GET", "/v1/model", NULL, &r);
    ck_assert_msg(r.status == 200, "GET /v1/model: %d %s", r.status, r.body);
    testserve_reply_free(&r);

    /* a snapshot saved on the primary later is served here too: the
     * follower looks for it every snapshot_poll_ms (no LISTEN on a
     * standby, so nothing in its log) */
    testhttp_snapshot_save(&svc);
    char newest[32], want[64], primary[2400];
    conninfo(0, NULL, primary, sizeof primary);
    value_on(primary, "SELECT max(id) FROM model_snapshots", newest, sizeof newest);
    snprintf(want, sizeof want, "\"version\":%s", newest);
    bool served = false;
    for (double t0 = testserve_now(); !served && testserve_now() - t0 < 10;) {
        call(s.port, "GET", "/v1/model", NULL, &r);
        served = r.status == 200 && strstr(r.body, want) != NULL;
        testserve_reply_free(&r);
        if (!served)
            testserve_sleep_ms(100);
    }
    ck_assert_msg(served,
                  "snapshot %s saved on the primary not served by the replica's "
                  "process within 10 s",
                  newest);
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);

    read_url_rebuild(url);

    /* no write was tried: the standby refuses each with an ERROR in its log */
    char path[200];
    static char log[1 << 16];
    snprintf(path, sizeof path, "%s/server.log", replica_dir);
    testserve_read_file(path, log, sizeof log);
    ck_assert_msg(strstr(log, "ERROR") == NULL, "the standby logged an error: %s", log);

    /* `ltvd migrate` there fails (after the check above: it tries to write),
     * saying why */
    static char out[4096];
    ck_assert_int_eq(run_migrate(url, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "does not take writes (a streaming replica") != NULL &&
                      strstr(out, "against the primary") != NULL,
                  "ltvd migrate on the replica: %s", out);
}
END_TEST

START_TEST(test_read_only_configured)
{
    char url[2400];
    conninfo(0, NULL, url, sizeof url);
    testserve s;
    char health[64];
    int hport = free_port();
    snprintf(health, sizeof health, "LTVD_HEALTH_LISTEN=127.0.0.1:%d", hport);
    spawn(&s, url, "LTVD_READ_ONLY=true", health);
    testserve_wait_listening(&s, 30000);
    assert_ready(s.port, "read-only", "read_only = true");
    assert_ready(hport, "read-only", "read_only = true"); /* the probes' listener */
    assert_metric(s.port, 1);
    testserve_reply r;
    call(s.port, "GET", "/v1/customers/c1", NULL, &r);
    ck_assert_msg(r.status == 200, "c1: %d %s", r.status, r.body);
    testserve_reply_free(&r);
    assert_writes_refused(s.port, "read_only = true");
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);

    /* an ordinary process on the same database writes */
    spawn(&s, url, NULL, NULL);
    testserve_wait_listening(&s, 30000);
    assert_ready(s.port, "read-write", NULL);
    assert_metric(s.port, 0);
    call(s.port, "POST", "/v1/transactions", w_batch, &r);
    ck_assert_msg(r.status == 200, "ingest: %d %s", r.status, r.body);
    testserve_reply_free(&r);
    ck_assert_int_eq(stored_for("w1"), 1);
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);
}
END_TEST

START_TEST(test_read_only_session)
{
    char url[2400];
    conninfo(0, "options='-c default_transaction_read_only=on'", url, sizeof url);
    testserve s;
    spawn(&s, url, NULL, NULL);
    testserve_wait_listening(&s, 30000);
    assert_ready(s.port, "read-only", "session is read-only");
    assert_metric(s.port, 1);
    assert_writes_refused(s.port, "session is read-only");
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);
}
END_TEST

/* /readyz on port until 503 with why in its body, within CATCH_UP_BOUND_MS. */
static bool wait_not_ready(int port, const char *why)
{
    double t0 = testserve_now();
    while (testserve_now() - t0 < CATCH_UP_BOUND_MS / 1000.0) {
        testserve_reply r;
        call(port, "GET", "/readyz", NULL, &r);
        bool seen = r.status == 503 && strstr(r.body, why) != NULL;
        testserve_reply_free(&r);
        if (seen)
            return true;
        testserve_sleep_ms(100);
    }
    return false;
}

/* A writing process whose database stops taking writes while it runs (as
 * after a failover: here its sessions are made read-only and reconnected):
 * /readyz turns 503 saying so, and a batch is answered 503 read-only (not
 * "resending is safe"), nothing stored. */
START_TEST(test_read_only_after_start)
{
    char url[2400], sql[512];
    conninfo(0, NULL, url, sizeof url);
    testserve s;
    spawn(&s, url, NULL, NULL);
    testserve_wait_listening(&s, 30000);
    assert_ready(s.port, "read-write", NULL);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET default_transaction_read_only = on",
             svc.dbname);
    exec_on(svc.cfg.database_url, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE datname = '%s' AND pid <> pg_backend_pid()",
             svc.dbname);
    exec_on(svc.cfg.database_url, sql);
    ck_assert_msg(wait_not_ready(s.port, "no longer takes writes"),
                  "/readyz does not say the database no longer takes writes");
    /* the first try may meet a pooled connection that was cut: 503 as ever */
    int status = 0;
    for (int i = 0; i < 20 && status != 503; i++) {
        testserve_reply r;
        call(s.port, "POST", "/v1/transactions", w_batch, &r);
        if (strstr(r.body, "urn:ltvd:problem:read-only") != NULL) {
            ck_assert_msg(strstr(r.body, "no longer takes writes") != NULL &&
                              strstr(r.body, WRITE_URL) != NULL &&
                              strstr(r.body, "resend") == NULL,
                          "%s", r.body);
            status = r.status;
        }
        testserve_reply_free(&r);
    }
    ck_assert_int_eq(status, 503);
    ck_assert_int_eq(stored_for("w1"), 0);
    ck_assert_int_eq(testserve_stop(&s, 10000), 0);
    testserve_forget(&s);
}
END_TEST

/* Copies ./migrations and adds 999_future.sql into a new directory. */
static void future_migrations(char dir[64])
{
    snprintf(dir, 64, "/tmp/ltvd_mig.XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "cp migrations/*.sql '%s'/ && echo 'CREATE TABLE future (x int);' > "
             "'%s'/999_future.sql",
             dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_read_only_schema_behind)
{
    char dir[64], url[2400], cmd[128];
    long long applied = testhttp_count_rows(&svc, "schema_migrations");
    future_migrations(dir);
    conninfo(0, NULL, url, sizeof url);
    testserve s;
    static char log[8192];
    char mig[96];
    snprintf(mig, sizeof mig, "LTVD_MIGRATIONS_DIR=%s", dir);
    spawn(&s, url, "LTVD_READ_ONLY=true", mig);
    int status = testserve_wait_exit(&s, 15000);
    testserve_log(&s, log, sizeof log);
    ck_assert_msg(
        status == 1 && strstr(log, "schema is behind this ltvd: 1 of ") != NULL &&
            strstr(log, "999_future.sql") != NULL && strstr(log, "ltvd migrate") != NULL,
        "status %d: %s", status, log);
    testserve_forget(&s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(testhttp_count_rows(&svc, "schema_migrations"), applied);

    /* a database never migrated: said, and left so */
    char empty[64], eurl[2400];
    snprintf(empty, sizeof empty, "ltvd_rep_empty_%d", (int)getpid());
    testdb_create(svc.base_url, empty);
    testdb_url_with_db(svc.base_url, empty, eurl, sizeof eurl);
    spawn(&s, eurl, "LTVD_READ_ONLY=true", NULL);
    status = testserve_wait_exit(&s, 15000);
    testserve_log(&s, log, sizeof log);
    ck_assert_msg(status == 1 && strstr(log, "no ltvd schema") != NULL, "status %d: %s",
                  status, log);
    testserve_forget(&s);
    PGconn *c = PQconnectdb(eurl);
    PGresult *res = PQexec(c, "SELECT to_regclass('schema_migrations') IS NULL");
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK &&
                      strcmp(PQgetvalue(res, 0, 0), "t") == 0,
                  "schema_migrations was created: %s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    testdb_drop(svc.base_url, empty);
}
END_TEST

Suite *suite_replica(void)
{
    Suite *s = suite_create("replica");
    TCase *tc = tcase_create("streaming");
    tcase_add_unchecked_fixture(tc, replica_dir_make, replica_dir_remove);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_replica_serves_reads_refuses_writes);
    suite_add_tcase(s, tc);
    tc = tcase_create("read_only");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_read_only_configured);
    tcase_add_test(tc, test_read_only_session);
    tcase_add_test(tc, test_read_only_schema_behind);
    tcase_add_test(tc, test_read_only_after_start);
    suite_add_tcase(s, tc);
    return s;
}
