/* Integration: the real `ltvd serve` (./ltvd, or LTVD_BIN) as a subprocess
 * against a real PostgreSQL, a database of its own (ltvd_it_<pid>), as of
 * 1997-09-30 in weeks with BG/NBD. The CDNOW sample goes in through
 * POST /v1/transactions in batches of 1000, POST /v1/model/refit fits, and
 * then every customer's GET /v1/customers/{id} must give the numbers
 * `ltvd score` prints for the same CSV, as-of, period, horizon, discount
 * rate, margin and LTV months, with the service's fitted parameters handed
 * to it (--params, --spend-params): so the comparison is of the scoring
 * path alone, to 1e-9 relative. Then a restart (SIGTERM, start again on the
 * same database): every customer's body and the model document come back
 * byte-identical from PostgreSQL. Needs DATABASE_URL (scripts/with_pg.sh);
 * run from the repository root. */
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

#include "testhttp.h"
#include "testserve.h"

#define IT_CSV "tests/data/cdnow_sample_transactions.csv"
#define IT_AS_OF "1997-09-30"
#define IT_CUSTOMERS 2357 /* in the sample, all first buying in Q1 1997 */
#define IT_BATCH 1000
#define IT_REL 1e-9
#define IT_ABS 1e-12

/* The service's scoring settings (the config defaults, set explicitly). */
#define IT_HORIZON_DAYS 365
#define IT_STR_(x) #x
#define IT_STR(x) IT_STR_(x)
#define IT_DISCOUNT "0.01"
#define IT_MARGIN "1"
#define IT_P_PURCHASE_DAYS 30

static testhttp_app db; /* the database only: the service is the subprocess */
static char tmpdir[256];

/* ---- the subprocess --------------------------------------------------------- */

static testserve srv;

/* In the child of run_score: dies with the test process (a failed assertion
 * leaves nothing behind), stdout and stderr into path. */
static void child_prepare(pid_t parent, const char *path)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        _exit(127);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static void sleep_ms(long ms)
{
    testserve_sleep_ms(ms);
}

/* The service's settings, over whatever the environment says. */
static const char *const server_env[] = {
    "LTVD_LISTEN=127.0.0.1:0",
    "LTVD_THREAD_POOL_SIZE=2",
    "LTVD_AS_OF=" IT_AS_OF,
    "LTVD_PERIOD=week",
    "LTVD_MODEL=bgnbd",
    "LTVD_HORIZON_DAYS=" IT_STR(IT_HORIZON_DAYS),
    "LTVD_DISCOUNT_RATE=" IT_DISCOUNT,
    "LTVD_MARGIN=" IT_MARGIN,
    /* only the refit asked for: none on a timer or by ingest counts */
    "LTVD_REFIT_INTERVAL_S=604800",
    "LTVD_REFIT_AFTER_TXNS=1000000000",
    "LTVD_SHUTDOWN_DEADLINE_S=10",
    "LTVD_AUTH_REQUIRED=false", /* API keys are suite_auth's */
    NULL,
};

/* Starts `ltvd serve` on a free port and waits (30 s) for it to listen. */
static void server_start(testserve *s)
{
    testserve_forget(s);
    testserve_start(s, db.cfg.database_url, server_env);
}

/* SIGTERM, and the exit status 0 within 20 s. */
static void server_stop(testserve *s)
{
    int st = testserve_stop(s, 20000);
    static char log[16384];
    testserve_log(s, log, sizeof log);
    ck_assert_msg(st >= 0, "ltvd serve did not stop within 20 s: %s", log);
    ck_assert_msg(st == 0, "ltvd serve: status %d: %s", st, log);
}

/* GET path until it answers 200 (60 s). */
static void wait_status_200(const char *path)
{
    testhttp_response r;
    for (int i = 0; i < 600; i++) {
        testhttp_request(srv.port, "GET", path, NULL, &r);
        testhttp_response_free(&r);
        if (r.status == 200)
            return;
        sleep_ms(100);
    }
    ck_abort_msg("%s: still %d after 60 s: %s", path, r.status, r.body);
}

/* Waits (at most 60 s) for customer id's document to carry a percentile:
 * predicted_ltv_percentile is null until the service's score table is
 * ranked, a few seconds after a start or a refit. */
static void wait_ranked(const char *id)
{
    char target[300];
    snprintf(target, sizeof target, "/v1/customers/%s", id);
    testhttp_response r;
    for (int i = 0; i < 600; i++) {
        testhttp_request(srv.port, "GET", target, NULL, &r);
        bool ranked = r.status == 200 &&
                      strstr(r.body, "\"predicted_ltv_percentile\":") &&
                      !strstr(r.body, "\"predicted_ltv_percentile\":null");
        testhttp_response_free(&r);
        if (ranked)
            return;
        sleep_ms(100);
    }
    ck_abort_msg("%s: no predicted_ltv_percentile after 60 s: %s", target, r.body);
}

/* ---- fixture ----------------------------------------------------------------- */

static void setup(void)
{
    testhttp_db_create(&db, "ltvd_it");
    snprintf(tmpdir, sizeof tmpdir, "%s/ltvd_it.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    testserve_forget(&srv);
    testhttp_db_drop(&db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "integration: could not remove %s\n", tmpdir);
}

/* ---- ingest through the API ---------------------------------------------------- */

typedef struct it_buf {
    char *s;
    size_t len, cap;
} it_buf;

static void buf_add(it_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void buf_add(it_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(n, 0);
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = 2 * b->cap + (size_t)n + 1;
        b->s = realloc(b->s, b->cap);
        ck_assert_ptr_nonnull(b->s);
    }
}

static void post_batch(it_buf *b, long n_items, long *n_posted)
{
    buf_add(b, "]}");
    testhttp_response r;
    testhttp_request(srv.port, "POST", "/v1/transactions", b->s, &r);
    ck_assert_msg(r.status == 200, "batch at %ld: %d %s", *n_posted, r.status, r.body);
    ck_assert_int_eq(testhttp_jint(r.json, "received"), n_items);
    ck_assert_int_eq(testhttp_jint(r.json, "new"), n_items);
    testhttp_response_free(&r);
    *n_posted += n_items;
    b->len = 0;
}

/* POSTs every line of the CSV (customer_id,occurred_at day,amount) as a
 * transaction "t<line>" at midnight UTC, IT_BATCH to a request. Returns the
 * number of transactions. */
static long ingest_csv(void)
{
    FILE *f = fopen(IT_CSV, "r");
    ck_assert_msg(f != NULL, "%s: %s", IT_CSV, strerror(errno));
    it_buf b = {malloc(1 << 17), 0, 1 << 17};
    ck_assert_ptr_nonnull(b.s);
    char line[256];
    long lineno = 0, n_items = 0, n_posted = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (++lineno == 1)
            continue; /* the header */
        line[strcspn(line, "\r\n")] = '\0';
        char *day = strchr(line, ','), *amount = day ? strchr(day + 1, ',') : NULL;
        ck_assert_msg(amount != NULL, "%s:%ld: %s", IT_CSV, lineno, line);
        *day++ = '\0';
        *amount++ = '\0';
        if (n_items == 0)
            buf_add(&b, "{\"transactions\":[");
        buf_add(&b,
                "%s{\"id\":\"t%ld\",\"customer_id\":\"%s\",\"occurred_at\":"
                "\"%sT00:00:00Z\",\"amount\":%s}",
                n_items > 0 ? "," : "", lineno, line, day, amount);
        if (++n_items == IT_BATCH) {
            post_batch(&b, n_items, &n_posted);
            n_items = 0;
        }
    }
    if (n_items > 0)
        post_batch(&b, n_items, &n_posted);
    fclose(f);
    free(b.s);
    return n_posted;
}

/* POST /v1/model/refit, then GET /v1/model until the model of every
 * customer is there (60 s).
 * Returns the model document (caller decrefs). */
static json_t *refit_and_wait(void)
{
    testhttp_response r;
    testhttp_request(srv.port, "POST", "/v1/model/refit", NULL, &r);
    ck_assert_msg(r.status == 202, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    /* the worker may already serve a first model, fitted on the customers
     * of the first batches as soon as they were eligible: wait for the one
     * fitted on every customer */
    for (int i = 0; i < 600; i++) {
        testhttp_request(srv.port, "GET", "/v1/model", NULL, &r);
        if (r.status == 200 && testhttp_jint(r.json, "n_customers") == IT_CUSTOMERS)
            return r.json;
        testhttp_response_free(&r);
        sleep_ms(100);
    }
    ck_abort_msg("no model after 60 s: %d %s", r.status, r.body);
    return NULL;
}

/* ---- `ltvd score` ------------------------------------------------------------------ */

typedef struct it_row {
    char id[32];
    double frequency, recency, T, p_alive, expected, p_purchase, monetary, spend, clv;
} it_row;

static void write_json(const char *path, json_t *j)
{
    ck_assert_msg(json_dump_file(j, path, JSON_COMPACT | JSON_REAL_PRECISION(17)) == 0,
                  "%s", path);
}

/* Runs `ltvd score` with the service's parameters (files params, spend) on
 * the CSV over horizon_days, its CSV output into out. */
static void run_score(const char *params, const char *spend, int horizon_days,
                      const char *out)
{
    char horizon[32], months[16], err_path[320];
    snprintf(horizon, sizeof horizon, "%.17g", (double)horizon_days / 7.0);
    snprintf(months, sizeof months, "%ld", lround(fmax(1, IT_HORIZON_DAYS / 30.0)));
    snprintf(err_path, sizeof err_path, "%s/score.err", tmpdir);
    const char *bin = testserve_bin();
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child_prepare(parent, err_path);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        close(fd);
        execl(bin, bin, "score", "--transactions", IT_CSV, "--as-of", IT_AS_OF,
              "--period", "week", "--model", "bgnbd", "--params", params, "--spend-model",
              "gg", "--spend-params", spend, "--horizon", horizon, "--discount-rate",
              IT_DISCOUNT, "--margin", IT_MARGIN, "--clv-months", months, (char *)NULL);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    static char err[4096];
    testserve_read_file(err_path, err, sizeof err);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ltvd score: status %d: %s", st,
                  err);
}

/* Reads the CSV `ltvd score` printed (with spend columns) into rows[cap]. */
static size_t read_scores(const char *path, it_row *rows, size_t cap)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    char line[1024];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "customer_id,frequency,recency,T,p_alive,expected_purchases,"
                           "p_purchase,monetary_value,expected_spend,clv\n");
    size_t n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        ck_assert_uint_lt(n, cap);
        it_row *r = &rows[n++];
        ck_assert_msg(sscanf(line, "%31[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", r->id,
                             &r->frequency, &r->recency, &r->T, &r->p_alive, &r->expected,
                             &r->p_purchase, &r->monetary, &r->spend, &r->clv) == 10,
                      "%s: %s", path, line);
    }
    fclose(f);
    return n;
}

/* ---- the comparison ------------------------------------------------------------------
 */

/* The largest relative difference seen per field (reported verbose). */
typedef struct it_diff {
    const char *name;
    double max_rel;
} it_diff;

static it_diff diffs[] = {{"recency", 0},
                          {"T", 0},
                          {"monetary_value", 0},
                          {"p_alive", 0},
                          {"expected_purchases", 0},
                          {"p_purchase", 0},
                          {"expected_spend", 0},
                          {"predicted_ltv", 0}};

static void assert_near(const char *id, int k, double got, double want)
{
    double d = fabs(got - want), rel = want != 0 ? d / fabs(want) : d;
    if (rel > diffs[k].max_rel)
        diffs[k].max_rel = rel;
    ck_assert_msg(d <= IT_ABS || d <= IT_REL * fabs(want),
                  "customer %s: %s is %.17g, ltvd score says %.17g (rel %.3g)", id,
                  diffs[k].name, got, want, rel);
}

/* The service's document for one customer against ltvd score's rows (want
 * over the horizon, want30 over 30 days, for p_purchase). */
static void compare_customer(json_t *j, const it_row *want, const it_row *want30)
{
    const char *id = want->id;
    ck_assert_str_eq(testhttp_jstr(j, "customer_id"), id);
    ck_assert_str_eq(testhttp_jstr(j, "as_of"), IT_AS_OF);
    ck_assert_int_eq(testhttp_jint(j, "horizon_days"), IT_HORIZON_DAYS);
    json_t *s = json_object_get(j, "summary");
    ck_assert_int_eq(testhttp_jint(s, "frequency"), (long long)want->frequency);
    assert_near(id, 0, testhttp_jnum(s, "recency"), want->recency);
    assert_near(id, 1, testhttp_jnum(s, "T"), want->T);
    assert_near(id, 2, testhttp_jnum(s, "monetary_value"), want->monetary);
    assert_near(id, 3, testhttp_jnum(j, "p_alive"), want->p_alive);
    assert_near(id, 4, testhttp_jnum(j, "expected_purchases"), want->expected);
    assert_near(id, 5, testhttp_jnum(j, "p_purchase"), want30->p_purchase);
    assert_near(id, 6, testhttp_jnum(j, "expected_spend"), want->spend);
    assert_near(id, 7, testhttp_jnum(j, "predicted_ltv"), want->clv);
}

/* GETs every customer of rows on one keep-alive connection; their bodies
 * into bodies[] (caller frees). With want30, each is compared as well. */
static void fetch_all(const it_row *rows, const it_row *want30, size_t n, char **bodies)
{
    int fd = testhttp_dial(srv.port);
    for (size_t i = 0; i < n; i++) {
        char target[96];
        snprintf(target, sizeof target, "/v1/customers/%.31s", rows[i].id);
        testhttp_response r;
        testhttp_request_on(fd, "GET", target, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
        ck_assert_str_eq(r.content_type, "application/json");
        ck_assert_msg(r.json != NULL, "%s: %s", target, r.body);
        if (want30 != NULL) {
            ck_assert_str_eq(want30[i].id, rows[i].id);
            compare_customer(r.json, &rows[i], &want30[i]);
        }
        bodies[i] = strdup(r.body);
        ck_assert_ptr_nonnull(bodies[i]);
        testhttp_response_free(&r);
    }
    close(fd);
}

/* The model document without the worker's own status (last_refit, refits:
 * counters of this process, not stored), as compact text (caller frees). */
static char *model_stored_part(void)
{
    testhttp_response r;
    testhttp_request(srv.port, "GET", "/v1/model", NULL, &r);
    ck_assert_msg(r.status == 200 && r.json != NULL, "%d %s", r.status, r.body);
    json_object_del(r.json, "last_refit");
    json_object_del(r.json, "refits");
    char *s = json_dumps(r.json, JSON_COMPACT | JSON_REAL_PRECISION(17));
    ck_assert_ptr_nonnull(s);
    testhttp_response_free(&r);
    return s;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the test
 * -------------------------------------------------------------------------- */

START_TEST(test_integration_cdnow)
{
    bool verbose = getenv("LTVD_TEST_VERBOSE") != NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    server_start(&srv);
    wait_status_200("/healthz");
    ck_assert_int_eq(ingest_csv(), 6919);
    double t_ingest = seconds_since(&t0);

    json_t *model = refit_and_wait();
    double t_refit = seconds_since(&t0);
    ck_assert_str_eq(testhttp_jstr(model, "model"), "bgnbd");
    ck_assert_str_eq(testhttp_jstr(model, "period"), "week");
    ck_assert_str_eq(testhttp_jstr(model, "as_of"), IT_AS_OF);
    ck_assert_int_eq(testhttp_jint(model, "n_customers"), IT_CUSTOMERS);
    json_t *spend = json_object_get(model, "spend");
    ck_assert_msg(json_is_object(spend), "no spend model");

    /* ltvd score with the service's parameters, over the horizon and 30 days */
    char params[320], spend_params[320], out[320], out30[320];
    snprintf(params, sizeof params, "%s/params.json", tmpdir);
    snprintf(spend_params, sizeof spend_params, "%s/spend.json", tmpdir);
    snprintf(out, sizeof out, "%s/score.csv", tmpdir);
    snprintf(out30, sizeof out30, "%s/score30.csv", tmpdir);
    write_json(params, model);
    write_json(spend_params, spend);
    json_decref(model);
    run_score(params, spend_params, IT_HORIZON_DAYS, out);
    run_score(params, spend_params, IT_P_PURCHASE_DAYS, out30);
    static it_row rows[IT_CUSTOMERS + 1], rows30[IT_CUSTOMERS + 1];
    size_t n = read_scores(out, rows, IT_CUSTOMERS + 1);
    ck_assert_uint_eq(n, IT_CUSTOMERS);
    ck_assert_uint_eq(read_scores(out30, rows30, IT_CUSTOMERS + 1), IT_CUSTOMERS);
    double t_score = seconds_since(&t0);

    /* every customer as the service scores it, compared */
    static char *before[IT_CUSTOMERS], *after[IT_CUSTOMERS];
    wait_ranked(rows[0].id);
    fetch_all(rows, rows30, n, before);
    char *model_before = model_stored_part();
    double t_compare = seconds_since(&t0);

    /* restart: the cache and the model from PostgreSQL, byte for byte */
    server_stop(&srv);
    server_start(&srv);
    wait_status_200("/readyz");
    wait_ranked(rows[0].id);
    fetch_all(rows, NULL, n, after);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(strcmp(before[i], after[i]) == 0,
                      "customer %s after the restart:\n%s\nbefore:\n%s", rows[i].id,
                      after[i], before[i]);
        free(before[i]);
        free(after[i]);
    }
    char *model_after = model_stored_part();
    ck_assert_msg(strcmp(model_before, model_after) == 0,
                  "the model after the restart:\n%s\nbefore:\n%s", model_after,
                  model_before);
    free(model_before);
    free(model_after);
    server_stop(&srv);
    if (verbose) {
        fprintf(stderr,
                "integration: ingest %.2fs, refit %.2fs, ltvd score %.2fs, "
                "compare %.2fs, restart and compare %.2fs\n",
                t_ingest, t_refit - t_ingest, t_score - t_refit, t_compare - t_score,
                seconds_since(&t0) - t_compare);
        for (size_t k = 0; k < sizeof diffs / sizeof diffs[0]; k++)
            fprintf(stderr, "integration: %-18s max relative difference %.3g\n",
                    diffs[k].name, diffs[k].max_rel);
    }
}
END_TEST

Suite *suite_integration(void)
{
    Suite *s = suite_create("integration");
    TCase *tc = tcase_create("integration");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300); /* 5-10 s plain, about 13 s under ASan */
    tcase_add_test(tc, test_integration_cdnow);
    suite_add_tcase(s, tc);
    return s;
}
