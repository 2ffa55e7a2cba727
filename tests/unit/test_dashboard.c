/* The dashboard (docs/dashboard.md), end to end: the real `ltvd serve`
 * (LTVD_BIN) on a real PostgreSQL with the CDNOW sample imported (made-up
 * channels, spend by channel, a yearly subscription cohort) and a BG/NBD
 * fitted by its worker, weekly, as of 1997-09-30, keys required.
 *   test_dashboard_routes: GET / and the assets (public, CSP, cache
 *     validation, 304), the two endpoints the dashboard added (bounds,
 *     scope, the histogram adding up to the customers, its total and max
 *     those of every customer's document in the export);
 *   test_dashboard_browser: tests/browser/dashboard.mjs in Debian's headless
 *     Chromium through playwright-core: every panel drawn with data, the
 *     numbers shown equal the API's, basic accessibility, a screenshot
 *     (<build dir>/dashboard.png), and a tenant without a model says so.
 * node and chromium are required: missing, the suite fails (make test
 * installs them through scripts/deps.sh). */
#include <check.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdb.h"
#include "testrun.h"
#include "testserve.h"

#define KEY_MAX 160

static testserve srv;
static char db_name[64], db_url[1024], data_dir[256];
static char key[KEY_MAX], ingest_key[KEY_MAX], platform_key[KEY_MAX];

/* The value after "<word> " in the lines of text into out. */
static void line_value(const char *text, const char *word, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "%s ", word);
    const char *p = strstr(text, pat);
    ck_assert_msg(p != NULL, "no %s in the setup's output: %s", word, text);
    p += strlen(pat);
    size_t n = strcspn(p, "\r\n");
    ck_assert(n > 0 && n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* GET target with the key until its body contains want (and not avoid), at
 * most timeout_s: a check failure with the last answer after that. */
static void await_body(const char *target, const char *want, const char *avoid,
                       int timeout_s)
{
    testserve_reply r = {0};
    double until = testserve_now() + timeout_s;
    for (;;) {
        int st = testserve_http_auth(srv.port, "GET", target, key, NULL, 10, &r);
        if (st == 200 && strstr(r.body, want) != NULL &&
            (avoid == NULL || strstr(r.body, avoid) == NULL))
            break;
        ck_assert_msg(testserve_now() < until, "GET %s: %d %.400s", target, st, r.body);
        testserve_reply_free(&r);
        testserve_sleep_ms(200);
    }
    testserve_reply_free(&r);
}

/* GET target with the key until it answers anything but 503 (a back-test
 * or history being computed) within timeout_s: 404 when the route does not
 * exist, 200 when it has its answer; the page and the test then see the
 * same. */
static void await_settled(const char *target, int timeout_s)
{
    testserve_reply r = {0};
    double until = testserve_now() + timeout_s;
    int st;
    while ((st = testserve_http_auth(srv.port, "GET", target, key, NULL, 10, &r)) ==
               503 ||
           st <= 0) {
        ck_assert_msg(testserve_now() < until, "GET %s: %d %.400s", target, st, r.body);
        testserve_reply_free(&r);
        testserve_sleep_ms(200);
    }
    testserve_reply_free(&r);
}

static void setup(void)
{
    const char *base = getenv("DATABASE_URL");
    ck_assert_msg(base != NULL, "DATABASE_URL is not set (scripts/with_pg.sh)");
    snprintf(db_name, sizeof db_name, "ltvd_dashboard_%d", (int)getpid());
    testdb_create(base, db_name);
    testdb_url_with_db(base, db_name, db_url, sizeof db_url);
    snprintf(data_dir, sizeof data_dir, "/tmp/ltvd_dashboard_%d", (int)getpid());
    char cmd[2048];
    snprintf(
        cmd, sizeof cmd,
        "mkdir -p %s && DATABASE_URL='%s' LTVD=\"$LTVD\" tests/browser/setup_data.sh %s",
        data_dir, db_url, data_dir);
    testrun_out o = testrun_sh(cmd);
    ck_assert_msg(o.status == 0, "setup_data.sh: %d %s %s", o.status, o.out, o.err);
    line_value(o.out, "KEY", key, sizeof key);
    line_value(o.out, "INGEST", ingest_key, sizeof ingest_key);
    line_value(o.out, "PLATFORM", platform_key, sizeof platform_key);
    testrun_free(&o);

    const char *env[] = {"LTVD_LISTEN=127.0.0.1:0", "LTVD_SHUTDOWN_DEADLINE_S=2",
                         "LTVD_AS_OF=1997-09-30",   "LTVD_PERIOD=week",
                         "LTVD_MODEL=bgnbd",        "LTVD_AUTH_REQUIRED=true",
                         "LTVD_CACHE_SYNC_MS=200",  NULL};
    testserve_start(&srv, db_url, env);
    await_body("/v1/model", "\"n_customers\":2357", NULL, 60);
    char spend_path[320], spend[4096];
    snprintf(spend_path, sizeof spend_path, "%s/spend.json", data_dir);
    testserve_read_file(spend_path, spend, sizeof spend);
    testserve_reply r = {0};
    int st = testserve_http_auth(srv.port, "PUT", "/v1/acquisition/spend", ingest_key,
                                 spend, 10, &r);
    ck_assert_msg(st == 200, "PUT spend: %d %s", st, r.body);
    testserve_reply_free(&r);
    /* the page is compared with the API: let the background work settle */
    await_body("/v1/acquisition", "\"channel\":\"search\"", "\"status\":\"fitting\"", 60);
    await_body("/v1/subscriptions/retention", "\"subscriptions\":1000", NULL, 60);
    await_settled("/v1/model/diagnostics", 60);
    await_settled("/v1/model/history", 60);
}

static void teardown(void)
{
    testserve_stop(&srv, 5000);
    testserve_forget(&srv);
    const char *base = getenv("DATABASE_URL");
    if (base != NULL && db_name[0] != '\0')
        testdb_drop(base, db_name);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", data_dir);
    testrun_out o = testrun_sh(cmd);
    testrun_free(&o);
}

/* The number after the first member name (e.g. "\"total\":") in text. */
static double number_after(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    ck_assert_msg(p != NULL, "no %s in %.300s", name, text);
    return strtod(p + strlen(name), NULL);
}

/* GET target (token may be NULL) with If-None-Match inm (NULL: none). */
static int get(const char *target, const char *token, const char *inm, testserve_reply *r)
{
    if (inm == NULL)
        return testserve_http_auth(srv.port, "GET", target, token, NULL, 10, r);
    char raw[512];
    int n = snprintf(raw, sizeof raw,
                     "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     "If-None-Match: %s\r\n\r\n",
                     target, inm);
    int fd = testserve_connect(srv.port, 10);
    ck_assert(fd >= 0);
    ck_assert_int_eq(write(fd, raw, (size_t)n), n);
    char buf[2048];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    ck_assert(got > 12);
    buf[got] = '\0';
    memset(r, 0, sizeof *r);
    r->status = atoi(buf + 9);
    snprintf(r->head, sizeof r->head, "%s", buf);
    r->body = calloc(1, 1);
    return r->status;
}

static void assert_status(const char *target, const char *token, int want)
{
    testserve_reply r = {0};
    int st = get(target, token, NULL, &r);
    ck_assert_msg(st == want, "GET %s: %d, want %d: %.300s", target, st, want, r.body);
    testserve_reply_free(&r);
}

START_TEST(test_dashboard_routes)
{
    testserve_reply r = {0};
    char v[512], etag[128];
    /* the page: no key needed, strict CSP, revalidated */
    ck_assert_int_eq(get("/", NULL, NULL, &r), 200);
    ck_assert(strstr(r.body, "<script src=\"/assets/app.js\"") != NULL);
    ck_assert(testserve_reply_header(&r, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "text/html; charset=utf-8");
    ck_assert(testserve_reply_header(&r, "Content-Security-Policy", v, sizeof v));
    ck_assert_msg(strstr(v, "script-src 'self'") && strstr(v, "connect-src 'self'") &&
                      strstr(v, "default-src 'none'"),
                  "%s", v);
    ck_assert(testserve_reply_header(&r, "Cache-Control", v, sizeof v));
    ck_assert_str_eq(v, "no-cache");
    ck_assert(testserve_reply_header(&r, "ETag", etag, sizeof etag));
    testserve_reply_free(&r);
    ck_assert_int_eq(get("/", NULL, etag, &r), 304);
    testserve_reply_free(&r);
    ck_assert_int_eq(get("/", NULL, "\"other\"", &r), 200);
    testserve_reply_free(&r);
    /* the bundle: ECharts inside, nothing fetched from elsewhere */
    ck_assert_int_eq(get("/assets/app.js", NULL, NULL, &r), 200);
    ck_assert(r.body_len > 100000);
    ck_assert(testserve_reply_header(&r, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "text/javascript; charset=utf-8");
    ck_assert(testserve_reply_header(&r, "Cache-Control", v, sizeof v));
    ck_assert_str_eq(v, "public, max-age=3600");
    ck_assert(strstr(r.body, "https://cdn") == NULL);
    testserve_reply_free(&r);
    assert_status("/assets/style.css", NULL, 200);
    assert_status("/assets/nosuch.js", NULL, 404);
    assert_status("/assets/..%2Fapp.js", NULL, 404);

    /* the data: a key with the scope read */
    assert_status("/v1/model/p_alive_matrix", NULL, 401);
    assert_status("/v1/customers/ltv_distribution", NULL, 401);
    assert_status("/v1/model/p_alive_matrix?max_frequency=0", key, 400);
    assert_status("/v1/model/p_alive_matrix?max_frequency=101", key, 400);
    assert_status("/v1/model/p_alive_matrix?max_recency=1001", key, 400);
    assert_status("/v1/model/p_alive_matrix?max_frequency=100&max_recency=1000", key,
                  400);
    assert_status("/v1/model/p_alive_matrix?frequency=3", key, 400);
    assert_status("/v1/customers/ltv_distribution?bins=0", key, 400);
    assert_status("/v1/customers/ltv_distribution?bins=101", key, 400);
    assert_status("/v1/customers/ltv_distribution?bins=2.5", key, 400);
    assert_status("/v1/tenants/empty/model/p_alive_matrix", platform_key, 503);
    assert_status("/v1/tenants/empty/customers/ltv_distribution", platform_key, 503);

    /* P(alive): rows by frequency, 1 for no repeat purchase, rising with recency */
    ck_assert_int_eq(
        get("/v1/model/p_alive_matrix?max_frequency=3&max_recency=4", key, NULL, &r),
        200);
    ck_assert_msg(strstr(r.body, "\"T\":4,\"frequency\":[0,1,2,3],\"recency\":[0,1,2,3,4]"
                                 ",\"p_alive\":[[1.0,1.0,1.0,1.0,1.0],[null,") != NULL,
                  "%s", r.body);
    testserve_reply_free(&r);
    ck_assert_int_eq(
        get("/v1/tenants/default/model/p_alive_matrix", platform_key, NULL, &r), 200);
    ck_assert(strstr(r.body, "\"T\":52,") != NULL); /* weekly default */
    testserve_reply_free(&r);

    /* the LTV histogram counts every customer once */
    ck_assert_int_eq(get("/v1/customers/ltv_distribution?bins=7", key, NULL, &r), 200);
    long total = 0, n = 0, bins = 0;
    const char *p = r.body;
    while ((p = strstr(p, "\"customers\":")) != NULL) {
        long c = strtol(p + 12, NULL, 10);
        if (n++ == 0)
            total = c; /* the first: the document's own count */
        else
            bins += c; /* the bins', "above"'s, then the model's none */
        p += 12;
    }
    ck_assert_int_eq(total, 2357);
    ck_assert_int_eq(bins, 2357);
    ck_assert_int_eq(n, 1 + 7 + 1);
    double sum_served = number_after(r.body, "\"total\":"),
           max_served = number_after(r.body, "\"max\":");
    testserve_reply_free(&r);

    /* its total and max are those of every customer's document (every page
     * of the list: Content-Length bodies, where the export's chunks could
     * split a member name) */
    double sum = 0, max = 0;
    long docs = 0;
    char target[256] = "/v1/customers?limit=1000", cursor[160];
    for (int page = 0; page < 10; page++) {
        int st = testserve_http_auth(srv.port, "GET", target, key, NULL, 30, &r);
        ck_assert_msg(st == 200, "GET %s: %d", target, st);
        for (p = r.body; (p = strstr(p, "\"predicted_ltv\":")) != NULL; p++, docs++) {
            double ltv = strtod(p + 16, NULL);
            sum += ltv;
            max = ltv > max ? ltv : max;
        }
        const char *c = strstr(r.body, "\"next_cursor\":\"");
        size_t n_c = c != NULL ? strcspn(c + 15, "\"") : 0;
        ck_assert(n_c < sizeof cursor);
        memcpy(cursor, c != NULL ? c + 15 : "", n_c);
        cursor[n_c] = '\0';
        testserve_reply_free(&r);
        if (c == NULL)
            break;
        snprintf(target, sizeof target, "/v1/customers?limit=1000&cursor=%s", cursor);
    }
    ck_assert_int_eq(docs, 2357);
    ck_assert_msg(fabs(sum - sum_served) <= 1e-9 * sum, "total %.17g, documents %.17g",
                  sum_served, sum);
    ck_assert_msg(max == max_served, "max %.17g, documents %.17g", max_served, max);
}
END_TEST

/* Where the screenshot goes: the directory of the binary under test
 * (build/x for LTVD_BIN=build/x/ltvd), build for ./ltvd (make test). */
static void build_dir(char *out, size_t cap)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s", testserve_bin());
    const char *dir = dirname(bin);
    snprintf(out, cap, "%s", strcmp(dir, ".") == 0 ? "build" : dir);
}

START_TEST(test_dashboard_browser)
{
    testrun_out o =
        testrun_sh("command -v node && test -x \"${CHROMIUM:-/usr/bin/chromium}\" "
                   "&& test -d web/node_modules/playwright-core");
    ck_assert_msg(
        o.status == 0,
        "node, Chromium (/usr/bin/chromium) or web/node_modules/playwright-core "
        "missing: run scripts/deps.sh and make (npm ci in web/)");
    testrun_free(&o);
    char dir[512], cmd[2048];
    build_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "LTVD_URL=http://127.0.0.1:%d LTVD_KEY=%s LTVD_PLATFORM_KEY=%s "
             "LTVD_EMPTY_TENANT=empty LTVD_SCREENSHOT=%s/dashboard.png "
             "timeout 120 node tests/browser/dashboard.mjs",
             srv.port, key, platform_key, dir);
    o = testrun_sh(cmd);
    ck_assert_msg(o.status == 0, "dashboard.mjs exited %d:\n%s\n%s", o.status, o.out,
                  o.err);
    ck_assert(strstr(o.out, "every check passed") != NULL);
    testrun_free(&o);
    snprintf(cmd, sizeof cmd, "test -s %s/dashboard.png", dir);
    o = testrun_sh(cmd);
    ck_assert_msg(o.status == 0, "no screenshot in %s", dir);
    testrun_free(&o);
}
END_TEST

Suite *suite_dashboard(void)
{
    Suite *s = suite_create("dashboard");
    TCase *tc = tcase_create("dashboard");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_dashboard_routes);
    tcase_add_test(tc, test_dashboard_browser);
    suite_add_tcase(s, tc);
    return s;
}
