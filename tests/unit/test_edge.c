/* The HTTP edge (issue 9): ambiguous request framing (Content-Length with
 * Transfer-Encoding, two Content-Lengths, ...) refused with 400 and the
 * connection closed, so nothing can be smuggled after it; a client that
 * reads its answer slowly, or not at all, cut at connection_timeout_s; the
 * one query reader (a repeated parameter, one without a value, numbers that
 * are not plain decimal: each a 400 naming the parameter), on a test route
 * and on the customer endpoints; and, with the real binary, a second
 * `ltvd serve` on a bound port exiting at once, and SIGTERM ending the
 * process with status 0 within shutdown_deadline_s while a request is stuck
 * on a table lock. The service cases need DATABASE_URL. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/health.h"
#include "http/query.h"
#include "http/server.h"
#include "log/log.h"
#include "testfaults.h"
#include "testhttp.h"
#include "testserve.h"

#define TIMEOUT_S 2                  /* connection_timeout_s of the in-process server */
#define BIG_BYTES ((size_t)48 << 20) /* 9 s at 5 MB/s */

/* ------------------------------------------------------------ test routes */

/* GET /test/big: a large answer, to be read slowly. */
static http_result get_big(http_request *req)
{
    char *big = malloc(BIG_BYTES);
    if (big != NULL)
        memset(big, 'x', BIG_BYTES);
    return http_reply_owned(req, 200, "text/plain", big, BIG_BYTES);
}

/* GET /test/num?n=..&r=..: n an integer in [1, 36500], r a real in [0, 1]. */
static http_result get_num(http_request *req)
{
    double n = 7, r = 0.5;
    http_result res;
    if (!query_number(req, "n", 1, 36500, true, &n, &res) ||
        !query_number(req, "r", 0, 1, false, &r, &res))
        return res;
    char out[64];
    int len = snprintf(out, sizeof out, "%g %g", n, r);
    return http_reply(req, 200, "text/plain", out, (size_t)len);
}

/* POST /test/echo: the body back. */
static http_result post_echo(http_request *req)
{
    return http_reply(req, 200, "application/json", req->body ? req->body : "",
                      req->body_len);
}

static const http_route routes[] = {
    {"GET", "/test/big", get_big, 0, NULL, NULL},
    {"GET", "/test/num", get_num, 0, NULL, NULL},
    {"POST", "/test/echo", post_echo, HTTP_BODY_CONFIG, "application/json", NULL},
};

static ltvd_config cfg;
static http_server *server;
static int port;

static void setup(void)
{
    char err[CONFIG_ERR_MAX];
    log_set_level(getenv("EDGE_DEBUG") ? LOG_DEBUG : LOG_ERROR);
    config_defaults(&cfg);
    ck_assert(config_set(&cfg, "listen", "127.0.0.1:0", err));
    cfg.thread_pool_size = 2;
    cfg.connection_timeout_s = TIMEOUT_S;
    cfg.auth_required = false;
    server = http_server_new(&cfg);
    ck_assert_ptr_nonnull(server);
    ck_assert(http_server_add_routes(server, health_routes, health_nroutes));
    ck_assert(http_server_add_routes(server, routes, sizeof routes / sizeof routes[0]));
    ck_assert_msg(http_server_start(server, err), "%s", err);
    port = http_server_port(server);
}

static void teardown(void)
{
    http_server_free(server);
    server = NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads fd to its end (5 s receive timeout): the bytes into out[cap]
 * (NUL-terminated, cut at cap - 1), true when the server closed. */
static bool read_to_close(int fd, char *out, size_t cap)
{
    size_t len = 0;
    char sink[4096];
    for (;;) {
        char *to = len + 1 < cap ? out + len : sink;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof sink;
        ssize_t n = recv(fd, to, room, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            break;
        if (n < 0)
            return false; /* timed out: still open */
        if (to != sink)
            len += (size_t)n;
    }
    out[len] = '\0';
    return true;
}

/* ---- framing
 * --------------------------------------------------------------------------- */

/* Sends raw, then a second request on the same connection: one 400
 * bad-request problem naming why, then the close (the second request is
 * never answered). */
static void assert_framing_refused(const char *raw, const char *why)
{
    int fd = testhttp_dial(port);
    testhttp_send_all(fd, raw, strlen(raw));
    const char *next = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    send(fd, next, strlen(next), MSG_NOSIGNAL); /* may fail: the server may have closed */
    static char out[8192];
    ck_assert_msg(read_to_close(fd, out, sizeof out), "still open after %.60s", raw);
    close(fd);
    ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%.200s", out);
    ck_assert_msg(strstr(out, "urn:ltvd:problem:bad-request") != NULL, "%s", out);
    ck_assert_msg(strstr(out, why) != NULL, "want %s: %s", why, out);
    ck_assert_msg(strstr(out + 13, "HTTP/1.1 ") == NULL, "a second answer: %s", out);
}

START_TEST(test_framing_refused)
{
    assert_framing_refused("POST /test/echo HTTP/1.1\r\nHost: t\r\n"
                           "Content-Type: application/json\r\nContent-Length: 4\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                           "both Content-Length and Transfer-Encoding");
    assert_framing_refused(
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Content-Length: 4\r\n\r\n0\r\n\r\n",
        "both Content-Length and Transfer-Encoding");
    assert_framing_refused("POST /test/echo HTTP/1.1\r\nHost: t\r\n"
                           "Content-Type: application/json\r\nContent-Length: 2\r\n"
                           "Content-Length: 40\r\n\r\n{}",
                           "more than one Content-Length");
    assert_framing_refused("POST /test/echo HTTP/1.1\r\nHost: t\r\n"
                           "Content-Type: application/json\r\nContent-Length: 2\r\n"
                           "Content-Length: 2\r\n\r\n{}",
                           "more than one Content-Length");
    assert_framing_refused(
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "more than one Transfer-Encoding");
    assert_framing_refused("POST /test/echo HTTP/1.1\r\nHost: t\r\n"
                           "Content-Type: application/json\r\n"
                           "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                           "Transfer-Encoding other than chunked");
    assert_framing_refused(
        "POST /test/echo HTTP/1.0\r\nHost: t\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "\r\n0\r\n\r\n",
        "a Transfer-Encoding in HTTP/1.0");
    /* whitespace before the colon: a proxy may read Transfer-Encoding there
     * (the red team smuggled a refit this way) */
    assert_framing_refused(
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding : chunked\r\n"
        "Content-Length: 4\r\n\r\n0\r\n\r\n",
        "not a token");
    assert_framing_refused(
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nContent-Length : 2\r\n\r\n{}",
        "not a token");
    /* an obsolete line folding of a framing header */
    assert_framing_refused(
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding:\r\n chunked\r\n"
        "Content-Length: 4\r\n\r\n0\r\n\r\n",
        "folded");
    /* HTTP/1.1 needs exactly one Host (RFC 9112, 3.2) */
    assert_framing_refused("GET /test/items/1 HTTP/1.1\r\n\r\n", "no Host header");
    assert_framing_refused("GET /test/items/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                           "more than one Host");
    /* on any route, known or not, whatever the method */
    assert_framing_refused("GET /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                           "both Content-Length and Transfer-Encoding");
}
END_TEST

/* What libmicrohttpd 0.9.75 refuses by itself, before ltvd sees the
 * request: a list or a sign in Content-Length (its own 400, then the close). */
START_TEST(test_framing_refused_by_libmicrohttpd)
{
    const char *raws[] = {
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nContent-Length: 2, 2\r\n\r\n{}",
        "POST /test/echo HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/json\r\nContent-Length: +2\r\n\r\n{}"};
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
        int fd = testhttp_dial(port);
        testhttp_send_all(fd, raws[i], strlen(raws[i]));
        static char out[8192];
        ck_assert_msg(read_to_close(fd, out, sizeof out), "still open after %s", raws[i]);
        close(fd);
        ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%.200s", out);
    }
}
END_TEST

/* Plain framings still work, keep-alive included. */
START_TEST(test_framing_plain_ok)
{
    int fd = testhttp_dial(port);
    const char *cl =
        "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 7\r\n\r\n{\"a\":1}";
    const char *te =
        "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: Chunked\r\n\r\n7\r\n{\"b\":2}\r\n0\r\n\r\n";
    testhttp_response r;
    testhttp_send_all(fd, cl, strlen(cl));
    ck_assert(testhttp_read(fd, &r, true));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"a\":1}");
    testhttp_send_all(fd, te, strlen(te));
    ck_assert(testhttp_read(fd, &r, true));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"b\":2}");
    close(fd);
}
END_TEST

/* ---- slow readers
 * ------------------------------------------------------------------------ */

/* Asks for the big answer, then reads up to chunk bytes every pause_ms
 * (chunk 0: never reads); returns the seconds until the server ended the
 * connection (a check failure past 15 s or when the whole answer came). */
static double big_answer_cut_after(size_t chunk, long pause_ms)
{
    int fd = testhttp_dial(port);
    const char *req = "GET /test/big HTTP/1.1\r\nHost: t\r\n\r\n";
    testhttp_send_all(fd, req, strlen(req));
    double t0 = now_s();
    size_t got = 0;
    static char buf[1 << 16];
    bool ended = false;
    while (!ended) {
        ck_assert_msg(now_s() - t0 < 15, "not cut after %zu bytes", got);
        testserve_sleep_ms(pause_ms);
        if (chunk == 0) { /* never reads: has the server ended it? */
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            ended = err != 0;
            if (!ended && now_s() - t0 > TIMEOUT_S + 1.5) {
                ssize_t n; /* by now it must have: what is queued ends */
                while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
                    got += (size_t)n;
                ended = true;
            }
            continue;
        }
        for (size_t taken = 0; taken < chunk && !ended;) {
            ssize_t n =
                recv(fd, buf, chunk - taken < sizeof buf ? chunk - taken : sizeof buf,
                     MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                ended = true;
            if (n <= 0)
                break;
            taken += (size_t)n;
            got += (size_t)n;
        }
    }
    double dt = now_s() - t0;
    close(fd);
    ck_assert_msg(got < BIG_BYTES, "the whole answer was read (%zu bytes)", got);
    return dt;
}

START_TEST(test_slow_reader_cut)
{
    /* 256 KiB every 50 ms (5 MB/s: the whole answer in 9 s) keeps the
     * connection busy, so libmicrohttpd's idle timeout never fires: the
     * answer's own deadline cuts it */
    double dt = big_answer_cut_after(256 * 1024, 50);
    ck_assert_msg(dt >= TIMEOUT_S - 0.5 && dt < TIMEOUT_S + 5, "cut after %.1f s", dt);
    fprintf(stderr, "edge: slow reader cut after %.1f s (connection_timeout_s %d)\n", dt,
            TIMEOUT_S);
    /* the server is fine meanwhile and after */
    testhttp_response r;
    testhttp_request(port, "GET", "/healthz", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
}
END_TEST

START_TEST(test_non_reader_cut)
{
    double dt = big_answer_cut_after(0, 100);
    ck_assert_msg(dt < TIMEOUT_S + 5, "cut after %.1f s", dt);
}
END_TEST

/* ---- the query reader
 * ---------------------------------------------------------------------- */

/* GET target answers 400 invalid-parameter whose detail has want. */
static void assert_param_refused(const char *target, const char *want)
{
    testhttp_response r;
    testhttp_request(port, "GET", target, NULL, &r);
    ck_assert_msg(r.json != NULL, "%s: %d %s", target, r.status, r.body);
    testhttp_assert_problem(&r, 400, "invalid-parameter");
    const char *detail = testhttp_jstr(r.json, "detail");
    ck_assert_msg(strstr(detail, want) != NULL, "%s: want \"%s\" in \"%s\"", target, want,
                  detail);
    testhttp_response_free(&r);
}

static void assert_num(const char *target, const char *want)
{
    testhttp_response r;
    testhttp_request(port, "GET", target, NULL, &r);
    ck_assert_msg(r.status == 200, "%s: %d %s", target, r.status, r.body);
    ck_assert_str_eq(r.body, want);
    testhttp_response_free(&r);
}

START_TEST(test_query_reader)
{
    assert_num("/test/num", "7 0.5");
    assert_num("/test/num?n=30&r=0.25", "30 0.25");
    assert_num("/test/num?r=2.5e-1", "7 0.25");
    assert_num("/test/num?r=0", "7 0");
    assert_param_refused("/test/num?n=1&n=2", "\"n\" is repeated");
    assert_param_refused("/test/num?n=1&r=0.1&n=1", "\"n\" is repeated");
    assert_param_refused("/test/num?n", "\"n\" has no value");
    assert_param_refused("/test/num?r=0.1&n", "\"n\" has no value");
    assert_param_refused("/test/num?=3", "has no name");
    const char *bad_n[] = {
        "0x1e", "%2B30", "+30", "%2030", "30%20", "1e1", "30.0",
        "030",  "inf",   "nan", "",      "-",     "3O",  "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++) {
        char target[128];
        snprintf(target, sizeof target, "/test/num?n=%s", bad_n[i]);
        assert_param_refused(target, "n must be a decimal integer in [1, 36500]");
    }
    const char *bad_r[] = {"0x0.1p0", "%2B0.5", ".5",   "0.",    "1e",
                           "0.5f",    "NaN",    "-inf", "1e-400"};
    for (size_t i = 0; i < sizeof bad_r / sizeof bad_r[0]; i++) {
        char target[128];
        snprintf(target, sizeof target, "/test/num?r=%s", bad_r[i]);
        assert_param_refused(target, "r must be a decimal number in [0, 1]");
    }
    assert_param_refused("/test/num?n=%C2%85", "\"n\" has a value that is not valid");
    assert_param_refused("/test/num?n=%zz", "\"n\" has a value that is not valid");
    assert_param_refused("/test/num?%00=1", "is not valid percent-encoded");
    /* the dispatcher checks the query of every route */
    assert_param_refused("/healthz?a=1&a=1", "\"a\" is repeated");
    char many[512] = "/test/num?";
    for (int i = 0; i < QUERY_MAX_PARAMS + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sp%d=1", i ? "&" : "",
                 i);
    assert_param_refused(many, "one too many (at most 32)");
}
END_TEST

/* ---- the customer endpoints (with a database)
 * --------------------------------------------- */

static testhttp_app svc;

static void svc_setup(void)
{
    gsl_set_error_handler_off();
    testhttp_app_start_served(&svc, "ltvd_edge");
    testhttp_response r;
    testhttp_request(svc.port, "POST", "/v1/transactions", testhttp_batch, &r);
    ck_assert_msg(r.status / 100 == 2, "%d: %s", r.status, r.body);
    testhttp_response_free(&r);
    port = svc.port;
}

static void svc_teardown(void)
{
    testhttp_db_drop(&svc);
}

START_TEST(test_customer_query_params)
{
    testhttp_response r;
    testhttp_request(port, "GET", "/v1/customers/c1?horizon_days=30", NULL, &r);
    ck_assert_msg(r.status == 200, "%d: %s", r.status, r.body);
    ck_assert_int_eq(testhttp_jint(r.json, "horizon_days"), 30);
    testhttp_response_free(&r);
    assert_param_refused("/v1/customers/c1?horizon_days=0x1e", "horizon_days must be");
    assert_param_refused("/v1/customers/c1?horizon_days=%2B30", "horizon_days must be");
    assert_param_refused("/v1/customers/c1?horizon_days=+30", "horizon_days must be");
    assert_param_refused("/v1/customers/c1?horizon_days=%2030", "horizon_days must be");
    assert_param_refused("/v1/customers/c1?margin=0x1p-1", "margin must be");
    assert_param_refused("/v1/customers/c1?horizon_days=30&horizon_days=60",
                         "\"horizon_days\" is repeated");
    assert_param_refused("/v1/customers/c1?as_of", "\"as_of\" has no value");
    /* the list endpoint reads its query the same way */
    assert_param_refused("/v1/customers?limit=1&limit=2", "\"limit\" is repeated");
    assert_param_refused("/v1/customers?at_risk", "\"at_risk\" has no value");
    assert_param_refused("/v1/customers?limit=0x10", "limit must be");
    assert_param_refused("/v1/customers?horizon_days=%2B30", "horizon_days must be");
}
END_TEST

/* ---- the real binary
 * ----------------------------------------------------------------------- */

START_TEST(test_second_server_refused)
{
    testserve first, second;
    const char *env1[] = {"LTVD_LISTEN=127.0.0.1:0", "LTVD_SHUTDOWN_DEADLINE_S=2", NULL};
    testserve_start(&first, NULL, env1);
    char listen[64];
    snprintf(listen, sizeof listen, "LTVD_LISTEN=127.0.0.1:%d", first.port);
    const char *env2[] = {listen, "LTVD_SHUTDOWN_DEADLINE_S=2", NULL};
    double t0 = now_s();
    testserve_spawn(&second, NULL, env2);
    int status = testserve_wait_exit(&second, 5000);
    double dt = now_s() - t0;
    static char log[8192];
    testserve_log(&second, log, sizeof log);
    ck_assert_msg(status != 0 && status != -1, "second server: status %d: %s", status,
                  log);
    ck_assert_msg(dt < 5, "%.1f s", dt);
    ck_assert_msg(strstr(log, "already in use") != NULL, "%s", log);
    /* the first still serves every request */
    for (int i = 0; i < 20; i++) {
        testserve_reply r;
        ck_assert_int_eq(testserve_http(first.port, "GET", "/healthz", NULL, 5, &r), 200);
        testserve_reply_free(&r);
    }
    ck_assert_int_eq(testserve_stop(&first, 5000), 0);
    testserve_forget(&first);
    testserve_forget(&second);
}
END_TEST

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

/* health_listen: the probes have a listener, a thread and connections of
 * their own, which clients holding every connection of `listen`
 * (connection_limit; the red team's slowloris) cannot starve. */
START_TEST(test_health_listener)
{
    char health[64];
    int hport = free_port();
    snprintf(health, sizeof health, "LTVD_HEALTH_LISTEN=127.0.0.1:%d", hport);
    const char *env[] = {"LTVD_LISTEN=127.0.0.1:0",
                         health,
                         "LTVD_CONNECTION_LIMIT=8",
                         "LTVD_THREAD_POOL_SIZE=1",
                         "LTVD_PER_IP_LIMIT=0",
                         "LTVD_SHUTDOWN_DEADLINE_S=2",
                         NULL};
    testserve s;
    testserve_start(&s, NULL, env);
    int fds[8];
    const char *part = "GET /healthz HTTP/1.1\r\nHost: t\r\n"; /* never finished */
    for (int i = 0; i < 8; i++) {
        fds[i] = testhttp_dial(s.port);
        testhttp_send_all(fds[i], part, strlen(part));
    }
    usleep(200 * 1000);
    testserve_reply r;
    for (int i = 0; i < 5; i++) {
        double t0 = now_s();
        ck_assert_int_eq(testserve_http(hport, "GET", "/healthz", NULL, 5, &r), 200);
        ck_assert_msg(now_s() - t0 < 2, "%.2f s", now_s() - t0);
        testserve_reply_free(&r);
    }
    ck_assert_int_eq(testserve_http(hport, "GET", "/readyz", NULL, 5, &r),
                     503); /* no db */
    testserve_reply_free(&r);
    ck_assert_int_eq(testserve_http(hport, "GET", "/v1/model", NULL, 5, &r), 404);
    testserve_reply_free(&r);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    ck_assert_int_eq(testserve_stop(&s, 5000), 0);
    testserve_forget(&s);
}
END_TEST

/* A POST that waits on a table lock, on its own thread. */
typedef struct stuck_post {
    int port;
    int status;
    double done_at;
} stuck_post;

static void *post_thread(void *arg)
{
    stuck_post *p = arg;
    char *body = faults_batch_json(1, 10, 5);
    testserve_reply r;
    p->status = testserve_http(p->port, "POST", "/v1/transactions", body, 30, &r);
    p->done_at = now_s();
    testserve_reply_free(&r);
    free(body);
    return NULL;
}

START_TEST(test_sigterm_with_request_stuck)
{
    char url[1024];
    faults_db_create("ltvd_edge_stop", url, sizeof url);
    testserve s;
    const char *env[] = {"LTVD_LISTEN=127.0.0.1:0",  "LTVD_SHUTDOWN_DEADLINE_S=2",
                         "LTVD_AS_OF=" FAULTS_AS_OF, "LTVD_PERIOD=week",
                         "LTVD_AUTH_REQUIRED=false", NULL};
    testserve_start(&s, url, env);
    PGconn *lock = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(lock), CONNECTION_OK);
    PGresult *res = PQexec(lock, "BEGIN; LOCK TABLE transactions IN EXCLUSIVE MODE");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    stuck_post p = {.port = s.port};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, post_thread, &p), 0);
    testserve_sleep_ms(700); /* the POST is in its handler, waiting on the lock */
    ck_assert_msg(p.done_at == 0, "the POST did not wait (status %d)", p.status);
    double t0 = now_s();
    kill(s.pid, SIGTERM);
    int status = testserve_wait_exit(&s, 6000);
    double dt = now_s() - t0;
    static char log[16384];
    testserve_log(&s, log, sizeof log);
    res = PQexec(lock, "ROLLBACK");
    PQclear(res);
    PQfinish(lock);
    pthread_join(t, NULL);
    ck_assert_msg(status == 0, "exit %d after %.1f s: %s", status, dt, log);
    ck_assert_msg(dt < 2 + 1.0, "exit after %.1f s (deadline 2 s): %s", dt, log);
    fprintf(stderr,
            "edge: SIGTERM with a request stuck: exit 0 after %.2f s (deadline 2 s)\n",
            dt);
    ck_assert_msg(p.status != 200 && p.status != 201, "the stuck POST was acknowledged");
    if (p.status <= 0) /* cut, not answered: the backstop ended the process */
        ck_assert_msg(strstr(log, "stopped at the deadline") != NULL, "%s", log);
    testserve_forget(&s);
    faults_db_drop("ltvd_edge_stop");
}
END_TEST

Suite *suite_edge(void)
{
    Suite *s = suite_create("edge");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_framing_refused);
    tcase_add_test(tc, test_framing_refused_by_libmicrohttpd);
    tcase_add_test(tc, test_framing_plain_ok);
    tcase_add_test(tc, test_slow_reader_cut);
    tcase_add_test(tc, test_non_reader_cut);
    tcase_add_test(tc, test_query_reader);
    suite_add_tcase(s, tc);
    TCase *svc_tc = tcase_create("service");
    tcase_set_timeout(svc_tc, 60);
    tcase_add_checked_fixture(svc_tc, svc_setup, svc_teardown);
    tcase_add_test(svc_tc, test_customer_query_params);
    suite_add_tcase(s, svc_tc);
    TCase *bin = tcase_create("binary");
    tcase_set_timeout(bin, 60);
    tcase_add_test(bin, test_second_server_refused);
    tcase_add_test(bin, test_health_listener);
    tcase_add_test(bin, test_sigterm_with_request_stuck);
    suite_add_tcase(s, bin);
    return s;
}
