/* A fleet of `ltvd serve` processes on one database (issue 10): three real
 * servers (LTVD_BIN) on one real PostgreSQL take the CDNOW sample's
 * transactions concurrently, a third each; a refit requested on one is
 * served by all three (LISTEN/NOTIFY, app/follow.c), which then answer
 * byte-identical customer documents and list pages (a cursor of one gives
 * the same next page on the others); the snapshots table shows that no two
 * fits overlapped (the fit lock, worker.c), also when all three are asked
 * to refit at once; and rows stored through one process make another's
 * worker refit once refit_after_txns is passed (the trigger counts in
 * PostgreSQL, worker_loop.c). In process: the fit
 * lock (one session at a time, per tenant, lost with its session), the
 * announcement sent by a save, and the follower's look without one, which
 * serves only what start-up would. Bounds only catch hangs; the time from a
 * refit to every process serving it is printed. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/follow.h"
#include "store/db.h"
#include "store/fleet.h"
#include "store/snapshot.h"
#include "testhttp.h"
#include "testserve.h"

#define FL_TXNS "tests/data/cdnow_sample_transactions.csv"
#define FL_AS_OF "1998-06-30"
#define FL_PROCS 3
#define FL_BATCH 400
#define FL_SAMPLE 40

static testhttp_app svc; /* the database */

static void setup(void)
{
    testhttp_db_create(&svc, "ltvd_fleet");
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* ---- the data ---------------------------------------------------------------------- */

typedef struct row {
    char customer[16];
    char day[16];
    char amount[16];
} row;

static row *rows;
static size_t n_rows;

/* The CDNOW sample's rows (customer_id,occurred_at,amount). */
static void read_rows(void)
{
    FILE *f = fopen(FL_TXNS, "r");
    ck_assert_ptr_nonnull(f);
    char line[128];
    size_t cap = 8192;
    rows = calloc(cap, sizeof *rows);
    n_rows = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) != NULL && n_rows < cap) {
        row *r = &rows[n_rows];
        if (sscanf(line, "%15[^,],%15[^,],%15s", r->customer, r->day, r->amount) == 3)
            n_rows++;
    }
    fclose(f);
    ck_assert_uint_gt(n_rows, 6000);
}

/* A batch of rows [from, to) with step, ids "<tag><row>", into a new
 * string (caller frees). */
static char *batch_json(size_t from, size_t to, size_t step, const char *tag)
{
    size_t cap = (to - from) / step * 140 + 64, k = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    k += (size_t)snprintf(b, cap, "{\"transactions\":[");
    for (size_t i = from; i < to; i += step)
        k += (size_t)snprintf(
            b + k, cap - k,
            "%s{\"id\":\"%s%zu\",\"customer_id\":\"%s\",\"occurred_at\":"
            "\"%sT12:00:00Z\",\"amount\":\"%s\"}",
            i == from ? "" : ",", tag, i, rows[i].customer, rows[i].day, rows[i].amount);
    snprintf(b + k, cap - k, "]}");
    return b;
}

/* ---- the servers ------------------------------------------------------------------- */

static testserve procs[FL_PROCS];

/* Starts process i; refit_after_txns as given (a string), no schedule. */
static void serve(int i, const char *after_txns)
{
    char after[64];
    snprintf(after, sizeof after, "LTVD_REFIT_AFTER_TXNS=%s", after_txns);
    const char *env[] = {
        "LTVD_LISTEN=127.0.0.1:0",
        "LTVD_THREAD_POOL_SIZE=2",
        "LTVD_PERIOD=week",
        "LTVD_MODEL=bgnbd",
        "LTVD_AS_OF=" FL_AS_OF,
        "LTVD_REFIT_INTERVAL_S=604800",
        after,
        "LTVD_CACHE_SYNC_MS=200",
        "LTVD_AUTH_REQUIRED=false",
        "LTVD_SHUTDOWN_DEADLINE_S=3",
        NULL,
    };
    testserve_start(&procs[i], svc.cfg.database_url, env);
}

/* Stops the first n processes; with FLEET_SHOW_LOGS set, prints their
 * logs first. */
static void stop_all(int n)
{
    for (int i = 0; i < n && getenv("FLEET_SHOW_LOGS") != NULL; i++) {
        static char log[1 << 18];
        testserve_log(&procs[i], log, sizeof log);
        fprintf(stderr, "---- process %d\n%s", i, log);
    }
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(testserve_stop(&procs[i], 10000), 0);
        testserve_forget(&procs[i]);
    }
}

/* GET target on process i: the status; the body into *body (caller frees). */
static int get(int i, const char *target, char **body)
{
    testserve_reply r;
    int st = testserve_http(procs[i].port, "GET", target, NULL, 10, &r);
    *body = r.body;
    r.body = NULL;
    testserve_reply_free(&r);
    return st;
}

/* The model version process i serves for the tenant whose routes start
 * with prefix ("" for default, "/tenants/acme"), 0: none. */
static long long version_in(int i, const char *prefix)
{
    char *body, target[96];
    snprintf(target, sizeof target, "/v1%s/model", prefix);
    int st = get(i, target, &body);
    json_t *doc = json_loads(body != NULL ? body : "", 0, NULL);
    long long v = st == 200 ? json_integer_value(json_object_get(doc, "version")) : 0;
    json_decref(doc);
    free(body);
    return v;
}

static long long version_of(int i)
{
    return version_in(i, "");
}

/* Waits (up to 60 s: a hang) until every one of the first n processes
 * serves a version other than old for the tenant of prefix, the same on
 * all; returns it. */
static long long wait_same_version_in(int n, const char *prefix, long long old)
{
    for (int tries = 0; tries < 3000; tries++) {
        long long v0 = version_in(0, prefix);
        bool same = v0 != 0 && v0 != old;
        for (int i = 1; same && i < n; i++)
            same = version_in(i, prefix) == v0;
        if (same)
            return v0;
        testserve_sleep_ms(20);
    }
    static char log[1 << 16];
    testserve_log(&procs[1], log, sizeof log);
    ck_abort_msg("the processes never served one new version; log of the second:\n%s",
                 log);
    return 0;
}

static long long wait_same_version(int n, long long old)
{
    return wait_same_version_in(n, "", old);
}

typedef struct poster {
    int proc;
    size_t from, to, step;
    int failures;
    const char *path; /* NULL: /v1/transactions */
    char last_failure[300];
} poster;

/* POSTs rows from, from + step, ... to process proc in batches. */
static void *post_rows(void *arg)
{
    poster *p = arg;
    size_t span = FL_BATCH * p->step;
    for (size_t b = p->from; b < p->to; b += span) {
        size_t end = b + span < p->to ? b + span : p->to;
        char *body = batch_json(b, end, p->step, "r");
        testserve_reply r;
        int st;
        /* two clients of one process may find its one database slot taken:
         * 503, resending is safe */
        for (int tries = 0;; tries++) {
            st = testserve_http(procs[p->proc].port, "POST",
                                p->path != NULL ? p->path : "/v1/transactions", body, 30,
                                &r);
            if (st != 503 || tries == 100)
                break;
            testserve_reply_free(&r);
            testserve_sleep_ms(20);
        }
        if (st != 200) {
            p->failures++;
            snprintf(p->last_failure, sizeof p->last_failure, "%d %.250s", st,
                     r.body != NULL ? r.body : "");
        }
        testserve_reply_free(&r);
        free(body);
    }
    return NULL;
}

/* ---- comparing -----------------------------------------------------------------------
 */

/* Whether every process answers target with status 200 and the same bytes;
 * the first body into first (when not NULL, caller frees). */
static bool same_everywhere(int n, const char *target, char **first)
{
    char *b0 = NULL;
    bool same = get(0, target, &b0) == 200;
    for (int i = 1; same && i < n; i++) {
        char *b = NULL;
        same = get(i, target, &b) == 200 && strcmp(b, b0) == 0;
        free(b);
    }
    if (first != NULL && same)
        *first = b0;
    else
        free(b0);
    return same;
}

/* Whether every "model" object in j names version v (v 0: any). */
static bool models_are(json_t *j, long long v)
{
    if (v == 0)
        return true;
    if (json_is_array(j)) {
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) if (!models_are(e, v)) return false;
        return true;
    }
    if (!json_is_object(j))
        return true;
    const char *k;
    json_t *e;
    json_object_foreach(j, k, e)
    {
        if (strcmp(k, "model") == 0 && json_is_object(e) &&
            json_integer_value(json_object_get(e, "version")) != v)
            return false;
        if (!models_are(e, v))
            return false;
    }
    return true;
}

/* Polls (up to 30 s) until target is the same on every process, each model
 * in it version v (0: any). */
static char *wait_same(int n, const char *target, long long v)
{
    for (int tries = 0; tries < 300; tries++) {
        char *body = NULL;
        if (same_everywhere(n, target, &body)) {
            json_t *doc = json_loads(body, 0, NULL);
            bool ok = models_are(doc, v);
            json_decref(doc);
            if (ok)
                return body;
            free(body);
        }
        testserve_sleep_ms(100);
    }
    char *b[FL_PROCS] = {0};
    for (int i = 0; i < n; i++)
        get(i, target, &b[i]);
    ck_abort_msg("%s differs between processes:\n%.600s\n%.600s", target, b[0], b[1]);
    return NULL;
}

/* Fits of one tenant whose [fit_started_at, created_at] overlap, and
 * snapshots without a start; the number of snapshots into *n. */
static long long overlapping_fits(long long *n)
{
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(svc.cfg.database_url, err);
    ck_assert_msg(db != NULL, "%s", err);
    PGresult *res = store_db_query(
        db,
        "SELECT (SELECT count(*) FROM model_snapshots a JOIN model_snapshots b"
        "         ON a.tenant_id = b.tenant_id AND a.id < b.id"
        "        AND a.fit_started_at < b.created_at AND b.fit_started_at < a.created_at)"
        "     + (SELECT count(*) FROM model_snapshots WHERE fit_started_at IS NULL"
        "         OR fit_started_at > created_at OR data_xmin IS NULL),"
        "       (SELECT count(*) FROM model_snapshots)",
        0, NULL);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", store_db_error(db));
    long long bad = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *n = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    store_db_close(db);
    return bad;
}

/* "refit: done" lines in process i's log. */
static int refits_done(int i)
{
    static char log[1 << 18];
    testserve_log(&procs[i], log, sizeof log);
    int n = 0;
    for (const char *p = log; (p = strstr(p, "refit: done")) != NULL; p++)
        n++;
    return n;
}

/* POST /v1/model/refit to the process arg (a client thread: no asserts). */
static void *request_refit(void *arg)
{
    const testserve *p = arg;
    testserve_reply r;
    testserve_http(p->port, "POST", "/v1/model/refit", NULL, 10, &r);
    testserve_reply_free(&r);
    return NULL;
}

/* ---- the tests ----------------------------------------------------------------------
 */

START_TEST(test_three_processes_agree)
{
    read_rows();
    serve(0, "1000000000"); /* migrates */
    serve(1, "1000000000");
    serve(2, "1000000000");
    pthread_t th[FL_PROCS];
    poster p[FL_PROCS];
    for (int i = 0; i < FL_PROCS; i++) {
        p[i] = (poster){.proc = i, .from = (size_t)i, .to = n_rows, .step = FL_PROCS};
        ck_assert_int_eq(pthread_create(&th[i], NULL, post_rows, &p[i]), 0);
    }
    for (int i = 0; i < FL_PROCS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(p[i].failures, 0);
    }
    /* the first model, fitted by whichever process got the lock */
    long long v1 = wait_same_version(FL_PROCS, 0);
    /* every process has every row (the catch-up) before the refit */
    free(wait_same(FL_PROCS, "/v1/customers/1", 0));
    free(wait_same(FL_PROCS, "/v1/customers?limit=5&sort=-predicted_ltv", 0));

    double t0 = testserve_now();
    testserve_reply r;
    int st = testserve_http(procs[0].port, "POST", "/v1/model/refit", NULL, 10, &r);
    testserve_reply_free(&r);
    ck_assert_msg(st >= 200 && st < 300, "refit: %d", st);
    long long v2 = 0;
    for (int tries = 0; tries < 3000 && (v2 = version_of(0)) == v1; tries++)
        testserve_sleep_ms(10);
    double t_fit = testserve_now();
    ck_assert_int_gt(v2, v1);
    ck_assert_int_eq(wait_same_version(FL_PROCS, v1), v2);
    double t_all = testserve_now();
    fprintf(stderr,
            "fleet: refit on A served by A after %.3f s, by all three %.3f s after A\n",
            t_fit - t0, t_all - t_fit);

    /* the same documents everywhere, for a sample of customers */
    for (int k = 0; k < FL_SAMPLE; k++) {
        char target[64];
        snprintf(target, sizeof target, "/v1/customers/%s",
                 rows[(size_t)k * (n_rows / FL_SAMPLE)].customer);
        char *body = wait_same(FL_PROCS, target, v2);
        json_t *doc = json_loads(body, 0, NULL);
        json_t *model = json_object_get(doc, "model");
        ck_assert_msg(json_integer_value(json_object_get(model, "version")) == v2,
                      "%s: not version %lld: %s", target, v2, body);
        json_decref(doc);
        free(body);
    }
    /* a cursor from one process gives the same next page on the others */
    const char *lists[] = {"/v1/customers?limit=7&sort=-predicted_ltv",
                           "/v1/customers?limit=5&churn_risk=high&sort=-p_alive"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        char *page = wait_same(FL_PROCS, lists[l], v2);
        json_t *doc = json_loads(page, 0, NULL);
        const char *cursor = json_string_value(json_object_get(doc, "next_cursor"));
        ck_assert_msg(cursor != NULL, "no next page: %s", page);
        char target[512];
        snprintf(target, sizeof target, "%s&cursor=%s", lists[l], cursor);
        ck_assert_msg(same_everywhere(FL_PROCS, target, NULL), "%s differs", target);
        json_decref(doc);
        free(page);
    }
    /* refits requested on all three at once: one at a time, and one served */
    pthread_t rt[FL_PROCS];
    for (int i = 0; i < FL_PROCS; i++)
        ck_assert_int_eq(pthread_create(&rt[i], NULL, request_refit, &procs[i]), 0);
    for (int i = 0; i < FL_PROCS; i++)
        pthread_join(rt[i], NULL);
    long long v3 = wait_same_version(FL_PROCS, v2);
    ck_assert_int_gt(v3, v2);
    long long n = 0;
    ck_assert_int_eq(overlapping_fits(&n), 0);
    ck_assert_int_ge(n, 3);
    stop_all(FL_PROCS);
    free(rows);
}
END_TEST

/* Two tenants on three processes (docs/tenants.md): a tenant created on
 * one is served by all; concurrent ingest into both tenants through all
 * three; each tenant's first model is served everywhere, the documents of
 * each tenant are identical on every process and differ between the
 * tenants (the same customer ids, other data), and no two fits of one
 * tenant overlapped. */
START_TEST(test_three_processes_two_tenants)
{
    read_rows();
    serve(0, "1000000000");
    serve(1, "1000000000");
    serve(2, "1000000000");
    testserve_reply r;
    int st =
        testserve_http(procs[1].port, "POST", "/v1/tenants", "{\"id\":\"acme\"}", 10, &r);
    testserve_reply_free(&r);
    ck_assert_int_eq(st, 201);
    /* known everywhere (the announcement, then the catch-up's reconcile) */
    for (int i = 0; i < FL_PROCS; i++) {
        char *body = NULL;
        int tries = 0;
        while (get(i, "/v1/tenants/acme", &body) != 200 && tries++ < 300) {
            free(body);
            testserve_sleep_ms(20);
        }
        free(body);
        ck_assert_int_lt(tries, 300);
    }
    /* default gets every row, acme every second one: the same customer ids,
     * other data; each process takes a share of both */
    pthread_t th[2 * FL_PROCS];
    poster p[2 * FL_PROCS];
    for (int i = 0; i < FL_PROCS; i++) {
        p[i] = (poster){.proc = i, .from = (size_t)i, .to = n_rows, .step = FL_PROCS};
        p[FL_PROCS + i] = (poster){.proc = i,
                                   .from = 2 * (size_t)i,
                                   .to = n_rows,
                                   .step = 2 * FL_PROCS,
                                   .path = "/v1/tenants/acme/transactions"};
    }
    for (int i = 0; i < 2 * FL_PROCS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, post_rows, &p[i]), 0);
    for (int i = 0; i < 2 * FL_PROCS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2 * FL_PROCS; i++)
        ck_assert_msg(p[i].failures == 0, "poster %d: %d failures, the last: %s", i,
                      p[i].failures, p[i].last_failure);
    long long vd = wait_same_version_in(FL_PROCS, "", 0);
    long long va = wait_same_version_in(FL_PROCS, "/tenants/acme", 0);
    ck_assert_int_ne(vd, va);
    /* every process has every row of both before the refits */
    free(
        wait_same(FL_PROCS, "/v1/tenants/acme/customers?limit=5&sort=-predicted_ltv", 0));
    free(wait_same(FL_PROCS, "/v1/customers?limit=5&sort=-predicted_ltv", 0));
    st = testserve_http(procs[2].port, "POST", "/v1/tenants/acme/model/refit", NULL, 10,
                        &r);
    testserve_reply_free(&r);
    ck_assert_msg(st >= 200 && st < 300, "refit: %d", st);
    long long va2 = wait_same_version_in(FL_PROCS, "/tenants/acme", va);
    ck_assert_int_eq(version_of(0), vd); /* the other tenant's model stays */
    for (int k = 0; k < FL_SAMPLE; k++) {
        const char *id = rows[(size_t)k * (n_rows / FL_SAMPLE)].customer;
        char target[96];
        snprintf(target, sizeof target, "/v1/tenants/acme/customers/%s", id);
        char *a = NULL;
        for (int tries = 0; tries < 300 && a == NULL; tries++) {
            if (same_everywhere(FL_PROCS, target, &a))
                break;
            testserve_sleep_ms(50);
        }
        ck_assert_msg(a != NULL, "%s differs between processes", target);
        snprintf(target, sizeof target, "/v1/customers/%s", id);
        char *d = wait_same(FL_PROCS, target, vd);
        ck_assert_msg(strcmp(a, d) != 0, "%s: the two tenants answer alike", id);
        json_t *doc = json_loads(a, 0, NULL);
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_object_get(doc, "model"), "version")),
            va2);
        json_decref(doc);
        free(a);
        free(d);
    }
    long long n = 0;
    ck_assert_int_eq(overlapping_fits(&n), 0);
    ck_assert_int_ge(n, 3);
    stop_all(FL_PROCS);
    free(rows);
}
END_TEST

START_TEST(test_trigger_counts_other_writers)
{
    read_rows();
    size_t half = n_rows / 2;
    serve(0, "500");        /* A: refits after 500 rows, wherever they came */
    serve(1, "1000000000"); /* B: never by count */
    poster p = {.proc = 1, .from = 0, .to = half, .step = 1};
    post_rows(&p);
    ck_assert_int_eq(p.failures, 0);
    wait_same_version(2, 0);
    /* the first model may have come before the last batches: let A's count
     * of them (every second) have its refit before looking */
    testserve_sleep_ms(3000);
    long long v1 = wait_same_version(2, 0);
    int done_a = refits_done(0), done_b = refits_done(1);
    /* more than 500 new rows, all through B: A never sees them itself */
    p = (poster){.proc = 1, .from = half, .to = half + 900, .step = 1};
    post_rows(&p);
    ck_assert_int_eq(p.failures, 0);
    long long v2 = wait_same_version(2, v1);
    ck_assert_int_gt(v2, v1);
    ck_assert_int_ge(refits_done(0), done_a + 1); /* A fitted it */
    ck_assert_int_eq(refits_done(1), done_b);     /* B did not */
    long long n = 0;
    ck_assert_int_eq(overlapping_fits(&n), 0);
    stop_all(2);
    free(rows);
}
END_TEST

/* ---- in process: the lock, the announcement, the follower's checks ---------------- */

static testhttp_app inproc;

static void inproc_teardown(void)
{
    testhttp_app_stop(&inproc);
    testhttp_db_drop(&inproc);
}

/* Saves a snapshot like testhttp_snapshot_save with these purchase and
 * spend parameters and settings model on db; its id. */
/* A store_notice_fn: the default tenant's highest snapshot id. */
static void keep_heard(const char *tenant, int64_t id, const char *customer, void *arg)
{
    (void)customer;
    if (strcmp(tenant, "default") == 0 && id > *(int64_t *)arg)
        *(int64_t *)arg = id;
}

static int64_t save_on(store_db *db, const char *settings_model, const char *params,
                       const char *gg_params, const store_fit_lock *lock)
{
    store_snapshot s = {
        .as_of = 1767139200, /* 2025-12-31 */
        .period = "week",
        .purchase = {.model = "bgnbd", .params_json = (char *)params, .converged = true},
        .has_spend = true,
        .spend = {.model = "gg", .params_json = (char *)gg_params, .converged = true},
        .settings_as_of_set = true,
        .settings_as_of_day = inproc.cfg.as_of_day,
    };
    snprintf(s.settings_model, sizeof s.settings_model, "%s", settings_model);
    int rc = store_snapshot_save_fit(db, NULL, lock, &s);
    return rc == 0 ? s.id : -1;
}

#define GOOD_BGNBD "{\"r\": 0.25, \"alpha\": 4.5, \"a\": 0.8, \"b\": 2.5}"
#define GOOD_GG "{\"p\": 6.25, \"q\": 3.74, \"v\": 15.44}"

START_TEST(test_lock_and_announcement)
{
    testhttp_app_start_served(&inproc, "ltvd_fleet_l");
    store_db *a = testhttp_db_open(&inproc), *b = testhttp_db_open(&inproc);
    ck_assert_int_eq(store_snapshot_listen(b), 0);
    store_fit_lock la, lb;
    ck_assert_int_eq(store_fit_lock_try(a, NULL, &la), 0);
    ck_assert(la.held);
    ck_assert(la.started_at > 0 && la.data_xmin > 0);
    ck_assert_int_eq(store_fit_lock_try(b, "default", &lb), 0);
    ck_assert(!lb.held); /* one process at a time */
    /* another tenant's lock is another lock */
    ck_assert_int_eq(store_fit_lock_try(b, "other", &lb), 0);
    ck_assert(lb.held);
    ck_assert_int_eq(store_fit_lock_release(b, "other", &lb), 0);
    /* a save while another session holds the lock fails; the holder's works */
    ck_assert_int_eq(save_on(b, "bgnbd", GOOD_BGNBD, GOOD_GG, NULL), -1);
    ck_assert_msg(strstr(store_db_error(b), "another process holds the fit lock") != NULL,
                  "%s", store_db_error(b));
    int64_t id = save_on(a, "bgnbd", GOOD_BGNBD, GOOD_GG, &la);
    ck_assert_msg(id > 1, "%s", store_db_error(a));
    /* announced to the listener, in the saving transaction */
    int64_t heard = 0;
    int rc = 0;
    for (int i = 0; i < 50 && rc == 0; i++)
        rc = store_snapshot_wait(b, 100, keep_heard, &heard);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(heard, id);
    /* the fit's start and data horizon are recorded */
    store_snapshot got;
    ck_assert_int_eq(store_snapshot_load_latest(b, NULL, &got), 1);
    ck_assert_int_eq(got.id, id);
    ck_assert(got.has_data_xmin && got.data_xmin == la.data_xmin);
    ck_assert(got.fit_started_at > 0 && got.fit_started_at <= got.created_at);
    store_snapshot_free(&got);
    /* a lock whose session was lost saves nothing */
    ck_assert_int_eq(store_db_reconnect(a), 0);
    ck_assert_int_eq(save_on(a, "bgnbd", GOOD_BGNBD, GOOD_GG, &la), -1);
    ck_assert_int_eq(store_fit_lock_release(a, NULL, &la), 0);
    ck_assert_int_eq(store_fit_lock_try(b, NULL, &lb), 0);
    ck_assert(lb.held); /* the server released it with the session */
    ck_assert_int_eq(store_fit_lock_release(b, NULL, &lb), 0);
    store_db_close(a);
    store_db_close(b);
}
END_TEST

static int64_t served_version(void)
{
    const cache_model *m = cache_snapshot_acquire(inproc.app->dflt->cache);
    int64_t v = m != NULL ? (int64_t)m->version : 0;
    cache_snapshot_release(m);
    return v;
}

/* Without any announcement (the fallback look): a snapshot under other
 * settings, or one that cannot be served, is never served; a usable newer
 * one is. */
START_TEST(test_follow_checks_like_start_up)
{
    testhttp_app_start_served(&inproc, "ltvd_fleet_f");
    testhttp_load_cdnow(&inproc, FL_TXNS);
    int64_t v1 = served_version();
    ck_assert_int_gt(v1, 0);
    store_db *db = testhttp_db_open(&inproc);
    int64_t rejected = 0;
    ck_assert_int_eq(app_follow_once(inproc.app, db, &rejected), 0);
    ck_assert_int_gt(save_on(db, "pareto", GOOD_BGNBD, GOOD_GG, NULL), v1);
    ck_assert_int_eq(app_follow_once(inproc.app, db, &rejected), 0);
    ck_assert_int_eq(served_version(), v1); /* other settings */
    /* Gamma-Gamma q <= 1: no finite expected spend */
    int64_t bad =
        save_on(db, "bgnbd", GOOD_BGNBD, "{\"p\": 6, \"q\": 0.5, \"v\": 15}", NULL);
    ck_assert_int_eq(app_follow_once(inproc.app, db, &rejected), 0);
    ck_assert_int_eq(rejected, bad);
    ck_assert_int_eq(served_version(), v1);
    int64_t good = save_on(db, "bgnbd", GOOD_BGNBD, GOOD_GG, NULL);
    ck_assert_int_eq(app_follow_once(inproc.app, db, &rejected), 1);
    ck_assert_int_eq(served_version(), good);
    const cache_model *m = cache_snapshot_acquire(inproc.app->dflt->cache);
    ck_assert(m->params[0] == 0.25 && m->gg_params[1] == 3.74);
    cache_snapshot_release(m);
    ck_assert_int_eq(app_follow_once(inproc.app, db, &rejected), 0);
    store_db_close(db);
}
END_TEST

Suite *suite_fleet(void)
{
    Suite *s = suite_create("fleet");
    TCase *tc = tcase_create("fleet");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_three_processes_agree);
    tcase_add_test(tc, test_three_processes_two_tenants);
    tcase_add_test(tc, test_trigger_counts_other_writers);
    suite_add_tcase(s, tc);
    tc = tcase_create("in_process");
    tcase_add_checked_fixture(tc, NULL, inproc_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lock_and_announcement);
    tcase_add_test(tc, test_follow_checks_like_start_up);
    suite_add_tcase(s, tc);
    return s;
}
