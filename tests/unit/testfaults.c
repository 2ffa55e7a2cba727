/* The database, server, batches and checks shared by suite_faults (see
 * testfaults.h). */
#include "testfaults.h"

#include <dirent.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/migrate.h"
#include "store/snapshot.h"
#include "testdb.h"

/* 1997-01-01T12:00:00Z; generated days are 0..299 after it. */
#define FAULTS_DAY0 852120000L
#define FAULTS_DAYS 300

/* ------------------------------------------------------------ database */

static const char *base_url(void)
{
    const char *url = getenv("DATABASE_URL");
    ck_assert_msg(url != NULL && url[0] != '\0',
                  "DATABASE_URL is not set: run through scripts/with_pg.sh");
    return url;
}

store_db *faults_db_open(const char *url)
{
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(url, err);
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

long long faults_sql_int(store_db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s",
                  sql, PQerrorMessage(db->conn));
    long long v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

void faults_db_prepare(const char *url)
{
    store_db *db = faults_db_open(url);
    int applied = 0;
    ck_assert_msg(store_migrate(db, "migrations", &applied) == 0, "%s",
                  store_db_error(db));
    /* BG/NBD on CDNOW in weeks (Fader, Hardie and Lee 2005) and a
     * Gamma-Gamma spend model: a good snapshot to serve */
    store_snapshot s = {
        .as_of = FAULTS_AS_OF_EPOCH,
        .period = "week",
        .purchase = {.model = "bgnbd",
                     .params_json =
                         "{\"r\":0.243,\"alpha\":4.414,\"a\":0.793,\"b\":2.426}",
                     .log_likelihood = -9582.4,
                     .n_customers = 2357,
                     .converged = true},
        .has_spend = true,
        .spend = {.model = "gg",
                  .params_json = "{\"p\":6.25,\"q\":3.74,\"v\":15.44}",
                  .log_likelihood = -4000,
                  .n_customers = 946,
                  .converged = true},
        /* the settings of faults_server_start */
        .settings_model = "bgnbd",
        .settings_as_of_set = true,
        .settings_as_of_day = (int64_t)(FAULTS_AS_OF_EPOCH / 86400),
    };
    ck_assert_msg(store_snapshot_save(db, &s) == 0, "%s", store_db_error(db));
    store_db_close(db);
}

void faults_db_create(const char *prefix, char *url, size_t size)
{
    char name[64];
    snprintf(name, sizeof name, "%s_%ld", prefix, (long)getpid());
    testdb_create(base_url(), name);
    testdb_url_with_db(base_url(), name, url, size);
    faults_db_prepare(url);
}

void faults_db_drop(const char *prefix)
{
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0' || prefix == NULL || prefix[0] == '\0')
        return;
    char name[64];
    snprintf(name, sizeof name, "%s_%ld", prefix, (long)getpid());
    testdb_drop(url, name);
}

/* ------------------------------------------------------------ a cluster */

static char pgdir[256];
static pid_t reaper;

/* scripts/pg_local.sh cmd pgdir, its output read whole (into out[cap] when
 * not NULL: the script fails when nobody reads what it prints), its
 * messages into pgdir.log. Returns pclose's status. */
static int pg_local(const char *cmd, char *out, size_t cap)
{
    char line[600], sink[1024];
    snprintf(line, sizeof line, "scripts/pg_local.sh %s '%s' 2>>'%s.log'", cmd, pgdir,
             pgdir);
    FILE *p = popen(line, "r");
    ck_assert_ptr_nonnull(p);
    if (out == NULL) {
        out = sink;
        cap = sizeof sink;
    }
    size_t n = 0, got;
    while (n + 1 < cap && (got = fread(out + n, 1, cap - 1 - n, p)) > 0)
        n += got;
    out[n] = '\0';
    while (fread(sink, 1, sizeof sink, p) > 0)
        continue;
    return pclose(p);
}

/* The parent PID of process pid (from /proc), or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')'); /* the name may hold spaces */
    char state;
    long ppid;
    if (close == NULL || sscanf(close + 1, " %c %ld", &state, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

/* faults_cluster_pids without check assertions (for the reaper too): 0
 * when the postmaster is not found. */
static size_t cluster_pids(pid_t *pids, size_t cap)
{
    char path[320], line[32];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", pgdir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    pid_t pm = got ? (pid_t)strtol(line, NULL, 10) : 0;
    DIR *d = pm > 0 && cap > 0 ? opendir("/proc") : NULL;
    if (d == NULL)
        return 0;
    size_t n = 0;
    pids[n++] = pm;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        if (pid > 0 && parent_of(pid) == pm)
            pids[n++] = pid;
    }
    closedir(d);
    return n;
}

size_t faults_cluster_pids(pid_t *pids, size_t cap)
{
    size_t n = cluster_pids(pids, cap);
    ck_assert_msg(n > 0, "no postmaster found in %s/data/postmaster.pid", pgdir);
    return n;
}

/* The reaper: stops the cluster and removes its directory when told
 * (SIGTERM, by faults_cluster_drop) or when the test process dies. */
static void reaper_start(void)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    pid_t parent = getpid();
    reaper = fork();
    ck_assert_int_ge(reaper, 0);
    if (reaper == 0) {
        /* out of the test's process group: check kills that group when a
         * test fails or times out, and the reaper must outlive it */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int sig = 0;
        if (getppid() == parent)
            sigwait(&term, &sig);
        prctl(PR_SET_PDEATHSIG, 0); /* the shell below must finish */
        /* a frozen cluster cannot stop: wake it first */
        pid_t pids[256];
        size_t n = cluster_pids(pids, 256);
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGCONT);
        char cmd[900];
        snprintf(cmd, sizeof cmd,
                 "scripts/pg_local.sh stop '%s' >/dev/null 2>&1; rm -rf '%s' '%s.log'",
                 pgdir, pgdir, pgdir);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    sigprocmask(SIG_UNBLOCK, &term, NULL);
}

void faults_cluster_start(char *url, size_t size)
{
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    snprintf(pgdir, sizeof pgdir, "%s/ltvd_fpg.XXXXXX", tmp);
    ck_assert_ptr_nonnull(mkdtemp(pgdir));
    reaper_start();
    char out[2048];
    ck_assert_msg(pg_local("start", out, sizeof out) == 0,
                  "pg_local.sh start failed (%s.log)", pgdir);
    char *at = strstr(out, "DATABASE_URL=");
    ck_assert_msg(at != NULL, "pg_local.sh printed: %s", out);
    snprintf(url, size, "%.*s", (int)strcspn(at + 13, "\n"), at + 13);
}

void faults_cluster_ctl(const char *cmd)
{
    ck_assert_msg(pg_local(cmd, NULL, 0) == 0, "pg_local.sh %s failed (%s.log)", cmd,
                  pgdir);
}

void faults_cluster_drop(void)
{
    if (reaper > 0) {
        kill(reaper, SIGTERM);
        waitpid(reaper, NULL, 0);
    }
    reaper = 0;
}

/* ------------------------------------------------------------ the server */

void faults_server_start(testserve *s, const char *url, const char *extra)
{
    const char *env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=4",
        "LTVD_DB_REQUEST_THREADS=4", /* every client's batch may wait at once */
        "LTVD_AS_OF=" FAULTS_AS_OF,
        "LTVD_PERIOD=week",
        "LTVD_MODEL=bgnbd",
        /* only the refits asked for: the planted snapshot keeps serving */
        "LTVD_REFIT_INTERVAL_S=604800",
        "LTVD_REFIT_AFTER_TXNS=1000000000",
        "LTVD_SHUTDOWN_DEADLINE_S=3",
        "LTVD_CACHE_SYNC_MS=200",
        "LTVD_AUTH_REQUIRED=false", /* API keys are suite_auth's */
        extra,
        NULL,
    };
    testserve_start(s, url, env);
}

/* ------------------------------------------------------------ batches */

void faults_item_make(long b, int i, int n_customers, faults_item *out)
{
    snprintf(out->id, sizeof out->id, "b%ld-%d", b, i);
    snprintf(out->customer_id, sizeof out->customer_id, "c%ld",
             (b * 7 + (long)i * 13) % n_customers);
    time_t t = (time_t)(FAULTS_DAY0 + ((b * 31 + (long)i * 17) % FAULTS_DAYS) * 86400L);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out->occurred_at, sizeof out->occurred_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out->cents = 100 + (b * 53 + (long)i * 29) % 9900;
}

char *faults_batch_json(long b, int n, int n_customers)
{
    size_t cap = 64 + (size_t)n * 128, len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    len += (size_t)snprintf(s, cap, "{\"transactions\":[");
    for (int i = 0; i < n; i++) {
        faults_item it;
        faults_item_make(b, i, n_customers, &it);
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"id\":\"%s\",\"customer_id\":\"%s\",\"occurred_at\":"
                                "\"%s\",\"amount\":\"%ld.%02ld\"}",
                                i > 0 ? "," : "", it.id, it.customer_id, it.occurred_at,
                                it.cents / 100, it.cents % 100);
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* ------------------------------------------------------------ the checks */

/* One stored row against the item its id names; counts it for its batch. */
static void check_row(PGresult *res, int r, long *count, long n_batches, int n,
                      int n_customers)
{
    const char *id = PQgetvalue(res, r, 1);
    long b = -1;
    int i = -1;
    ck_assert_msg(sscanf(id, "b%ld-%d", &b, &i) == 2 && b >= 0 && b < n_batches &&
                      i >= 0 && i < n,
                  "a stored transaction of no batch: %s", id);
    faults_item want;
    faults_item_make(b, i, n_customers, &want);
    ck_assert_str_eq(PQgetvalue(res, r, 0), want.customer_id);
    ck_assert_str_eq(PQgetvalue(res, r, 2), want.occurred_at);
    ck_assert_int_eq(strtol(PQgetvalue(res, r, 3), NULL, 10), want.cents);
    count[b]++;
}

long faults_check_batches(store_db *db, const bool *acked, long n_batches, int n,
                          int n_customers)
{
    PGresult *res = PQexec(
        db->conn,
        "SELECT customer_id, txn_id,"
        " to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " round(amount * 100)::bigint FROM transactions");
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(db->conn));
    long *count = calloc((size_t)n_batches + 1, sizeof *count);
    ck_assert_ptr_nonnull(count);
    for (int r = 0; r < PQntuples(res); r++)
        check_row(res, r, count, n_batches, n, n_customers);
    PQclear(res);
    long stored = 0;
    for (long b = 0; b < n_batches; b++) {
        ck_assert_msg(count[b] == 0 || count[b] == n,
                      "batch %ld is half written: %ld of its %d items stored", b,
                      count[b], n);
        ck_assert_msg(!acked[b] || count[b] == n,
                      "batch %ld was acknowledged but is not stored", b);
        stored += count[b] == n;
    }
    free(count);
    return stored;
}

/* sql counts mismatching rows and names the first one ("<count> <id>"). */
static void expect_no_mismatch(store_db *db, const char *what, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", what,
                  PQerrorMessage(db->conn));
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "0") == 0,
                  "%s: %s rows differ (the first: customer %s)", what,
                  PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    PQclear(res);
}

void faults_check_summaries(store_db *db)
{
    expect_no_mismatch(
        db, "customer_days against transactions",
        "SELECT count(*), min(customer_id) FROM ("
        "  SELECT customer_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,"
        "         sum(amount) AS amount, count(*)::integer AS n"
        "    FROM transactions GROUP BY 1, 2) t"
        " FULL JOIN customer_days d USING (customer_id, day)"
        " WHERE t.n IS DISTINCT FROM d.n_transactions OR t.amount IS DISTINCT FROM "
        "d.amount");
    expect_no_mismatch(
        db, "customers against customer_days",
        "SELECT count(*), min(customer_id) FROM ("
        "  SELECT customer_id, min(day) AS first_day, max(day) AS last_day,"
        "         count(*)::integer AS n_days, sum(amount) AS total,"
        "         (array_agg(amount ORDER BY day))[1] AS first_amount"
        "    FROM customer_days GROUP BY 1) t"
        " FULL JOIN customers c USING (customer_id)"
        " WHERE t.first_day IS DISTINCT FROM c.first_day"
        "    OR t.last_day IS DISTINCT FROM c.last_day"
        "    OR t.n_days IS DISTINCT FROM c.n_days"
        "    OR t.total IS DISTINCT FROM c.total_amount"
        "    OR t.first_amount IS DISTINCT FROM c.first_day_amount");
}

/* One customer's document against its customers row r. */
static void check_customer(const char *body, PGresult *res, int r)
{
    const char *id = PQgetvalue(res, r, 0);
    json_t *doc = json_loads(body, 0, NULL);
    json_t *s = json_object_get(doc, "summary");
    ck_assert_msg(json_is_object(s), "customer %s: %s", id, body);
    long n_days = strtol(PQgetvalue(res, r, 3), NULL, 10);
    double repeat = strtod(PQgetvalue(res, r, 4), NULL);
    ck_assert_msg(json_integer_value(json_object_get(s, "frequency")) == n_days - 1,
                  "customer %s: the cache says frequency %lld, PostgreSQL %ld", id,
                  (long long)json_integer_value(json_object_get(s, "frequency")),
                  n_days - 1);
    ck_assert_str_eq(json_string_value(json_object_get(s, "first_purchase")),
                     PQgetvalue(res, r, 1));
    ck_assert_str_eq(json_string_value(json_object_get(s, "last_purchase")),
                     PQgetvalue(res, r, 2));
    if (n_days > 1) {
        double m = json_number_value(json_object_get(s, "monetary_value"));
        double want = repeat / (double)(n_days - 1);
        ck_assert_msg(fabs(m - want) <= 1e-9 * want,
                      "customer %s: monetary %.17g, want %.17g", id, m, want);
    }
    json_decref(doc);
}

long faults_check_cache(store_db *db, int port, int n_customers, char **bodies)
{
    PGresult *res =
        PQexec(db->conn, "SELECT customer_id, first_day::text, last_day::text,"
                         " n_days, repeat_amount FROM customers");
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(db->conn));
    for (int k = 0; bodies != NULL && k < n_customers; k++)
        bodies[k] = strdup("");
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        const char *id = PQgetvalue(res, r, 0);
        char target[64];
        snprintf(target, sizeof target, "/v1/customers/%s", id);
        testserve_reply rep;
        int st = testserve_http(port, "GET", target, NULL, 10, &rep);
        ck_assert_msg(st == 200, "GET %s: %d %s", target, st, rep.body);
        check_customer(rep.body, res, r);
        int k = atoi(id + 1);
        if (bodies != NULL && k >= 0 && k < n_customers) {
            free(bodies[k]);
            bodies[k] = rep.body;
        } else {
            testserve_reply_free(&rep);
        }
    }
    PQclear(res);
    return rows;
}
