/* Black-box tests of the HTTP layer: the real server in-process on a free
 * loopback port, spoken to over TCP sockets by the blocking HTTP/1.1
 * client of testhttp.c. Routing errors, body limits, problem+json from the registry,
 * keep-alive, metrics, 130 concurrent connections, graceful stop. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/health.h"
#include "http/problem.h"
#include "http/server.h"
#include "log/log.h"
#include "testhttp.h"

#define MAX_BODY 4096
#define MAX_URL 1024

/* ------------------------------------------------------- test-only routes */

/* POST /test/echo: answers the JSON body back. */
static http_result post_echo(http_request *req)
{
    return http_reply(req, 200, "application/json", req->body ? req->body : "",
                      req->body_len);
}

/* GET /test/items/{id}: answers the decoded path parameter. */
static http_result get_item(http_request *req)
{
    return http_reply(req, 200, "text/plain", req->params[0], strlen(req->params[0]));
}

/* GET /test/query: answers the decoded query parameter q, 400 when malformed. */
static http_result get_query(http_request *req)
{
    const char *q = NULL;
    int found = http_query(req, "q", &q);
    if (found < 0)
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, "q: bad encoding",
                                  NULL);
    return http_reply(req, 200, "text/plain", found ? q : "-", found ? strlen(q) : 1);
}

/* GET /test/slow: takes 300 ms (graceful stop). */
static http_result get_slow(http_request *req)
{
    nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    return http_reply(req, 200, "text/plain", "slow", 4);
}

static const http_route test_routes[] = {
    {"POST", "/test/echo", post_echo, HTTP_BODY_CONFIG, "application/json", NULL},
    {"GET", "/test/items/{id}", get_item, 0, NULL, NULL},
    {"GET", "/test/slow", get_slow, 0, NULL, NULL},
    {"GET", "/test/query", get_query, 0, NULL, NULL},
};

static bool not_ready(void *cls, char *why, size_t n)
{
    (void)cls;
    snprintf(why, n, "no database configured");
    return false;
}

/* --------------------------------------------------------------- fixture */

static ltvd_config cfg;
static http_server *server;
static uint16_t port;

static void setup(void)
{
    char err[CONFIG_ERR_MAX];
    log_set_level(LOG_ERROR);
    config_defaults(&cfg);
    ck_assert(config_set(&cfg, "listen", "127.0.0.1:0", err));
    cfg.thread_pool_size = 2;
    cfg.connection_limit = 512;
    cfg.per_ip_limit = 0;
    cfg.connection_timeout_s = 5;
    cfg.max_body_bytes = MAX_BODY;
    cfg.max_url_bytes = MAX_URL;
    cfg.auth_required = false; /* the /test routes are in no access table */
    server = http_server_new(&cfg);
    ck_assert(server != NULL);
    ck_assert(http_server_add_routes(server, health_routes, health_nroutes));
    ck_assert(http_server_add_routes(server, test_routes,
                                     sizeof test_routes / sizeof test_routes[0]));
    http_server_set_readiness(server, not_ready, NULL);
    ck_assert_msg(http_server_start(server, err), "%s", err);
    port = http_server_port(server);
    ck_assert_int_gt(port, 0);
}

static void teardown(void)
{
    http_server_free(server);
    server = NULL;
}

/* ------------------------------------------- the client (testhttp.c) */

typedef testhttp_response response;

static int dial(void)
{
    return testhttp_dial(port);
}

static bool read_response(int fd, response *r)
{
    return testhttp_read(fd, r, true);
}

/* One request on a fresh connection (HEAD: no body is read). */
static void exchange(const char *raw, response *r)
{
    testhttp_exchange(port, raw, r);
}

static void get(const char *target, response *r)
{
    char raw[8192];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    exchange(raw, r);
}

/* r is a problem+json of code, from the registry. */
static void assert_problem(const response *r, problem_code code)
{
    const problem_type *p = problem_get(code);
    char type[128];
    snprintf(type, sizeof type, "%s%s", PROBLEM_TYPE_BASE, p->slug);
    ck_assert_int_eq(r->status, (int)p->status);
    ck_assert_str_eq(testhttp_header(r, "Content-Type"), "application/problem+json");
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", r->body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), type);
    ck_assert_str_eq(json_string_value(json_object_get(j, "title")), p->title);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), p->status);
    json_decref(j);
}

/* ----------------------------------------------------------------- tests */

START_TEST(test_healthz)
{
    response r;
    get("/healthz", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(testhttp_header(&r, "Content-Type"), "application/json");
    ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
}
END_TEST

START_TEST(test_readyz_not_ready)
{
    response r;
    get("/readyz", &r);
    assert_problem(&r, PROBLEM_NOT_READY);
    ck_assert_msg(strstr(r.body, "\"detail\":\"no database configured\"") != NULL, "%s",
                  r.body);
}
END_TEST

START_TEST(test_unknown_route_404)
{
    response r;
    get("/nope", &r);
    assert_problem(&r, PROBLEM_NOT_FOUND);
    ck_assert_msg(strstr(r.body, "\"instance\":\"/nope\"") != NULL, "%s", r.body);
    get("/healthz/", &r); /* no trailing-slash aliases */
    assert_problem(&r, PROBLEM_NOT_FOUND);
    get("/test/items", &r);
    assert_problem(&r, PROBLEM_NOT_FOUND);
    /* an unknown route stays a 404 whatever body is announced */
    exchange("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n", &r);
    assert_problem(&r, PROBLEM_NOT_FOUND);
}
END_TEST

START_TEST(test_wrong_method_405)
{
    response r;
    exchange("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_problem(&r, PROBLEM_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(testhttp_header(&r, "Allow"), "GET, HEAD");
    exchange("GET /test/echo HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_problem(&r, PROBLEM_METHOD_NOT_ALLOWED);
    ck_assert_str_eq(testhttp_header(&r, "Allow"), "POST");
    exchange("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(testhttp_header(&r, "Content-Length"), "15");
}
END_TEST

START_TEST(test_url_too_long_414)
{
    char target[MAX_URL + 200];
    response r;
    memset(target, 'a', sizeof target - 1);
    target[sizeof target - 1] = '\0';
    target[0] = '/';
    get(target, &r);
    assert_problem(&r, PROBLEM_URL_TOO_LONG);
    memcpy(target, "/healthz?q=", 11);
    get(target, &r);
    assert_problem(&r, PROBLEM_URL_TOO_LONG);
    target[MAX_URL - 10] = '\0'; /* just under the limit: served */
    get(target, &r);
    ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_body_too_large_by_length_413)
{
    /* announced, never sent: answered from the headers alone */
    response r;
    exchange("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
             "Content-Length: 100000\r\n\r\n",
             &r);
    assert_problem(&r, PROBLEM_BODY_TOO_LARGE);
    /* a body on a route that takes none */
    exchange("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n", &r);
    assert_problem(&r, PROBLEM_BODY_TOO_LARGE);
}
END_TEST

START_TEST(test_body_too_large_chunked_413)
{
    int fd = dial();
    const char *head =
        "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    testhttp_send_all(fd, head, strlen(head));
    char chunk[1024 + 16];
    int n = snprintf(chunk, sizeof chunk, "400\r\n");
    memset(chunk + n, ' ', 1024);
    memcpy(chunk + n + 1024, "\r\n", 2);
    for (int i = 0; i < 5; i++) /* 5 KiB > MAX_BODY */
        testhttp_send_all(fd, chunk, (size_t)n + 1026);
    testhttp_send_all(fd, "0\r\n\r\n", 5);
    response r;
    ck_assert(read_response(fd, &r));
    close(fd);
    assert_problem(&r, PROBLEM_BODY_TOO_LARGE);
    ck_assert_str_eq(testhttp_header(&r, "Connection"), "close");

    /* under the limit, chunked, is collected whole */
    fd = dial();
    testhttp_send_all(fd, head, strlen(head));
    const char *chunks = "3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n";
    testhttp_send_all(fd, chunks, strlen(chunks));
    ck_assert(read_response(fd, &r));
    close(fd);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "[1,2]");
}
END_TEST

START_TEST(test_wrong_content_type_415)
{
    response r;
    exchange("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
             "Content-Length: 2\r\n\r\n{}",
             &r);
    assert_problem(&r, PROBLEM_UNSUPPORTED_MEDIA_TYPE);
    exchange("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}", &r);
    assert_problem(&r, PROBLEM_UNSUPPORTED_MEDIA_TYPE);
    exchange("POST /test/echo HTTP/1.1\r\nHost: t\r\n"
             "Content-Type: Application/JSON; charset=utf-8\r\n"
             "Content-Length: 11\r\n\r\n{\"a\":[1,2]}",
             &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"a\":[1,2]}");
}
END_TEST

START_TEST(test_path_parameters)
{
    response r;
    get("/test/items/a%2Fb%20c", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "a/b c");
    get("/test/items/%C3%A9t%C3%A9", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "\xc3\xa9t\xc3\xa9");
    const char *bad[] = {"/test/items/%zz", "/test/items/%ff",    "/test/items/a%0Ab",
                         "/test/items/%00", "/test/items/%C0%AF", "/test/items/",
                         "/test/items/%4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        get(bad[i], &r);
        assert_problem(&r, PROBLEM_INVALID_PARAMETER);
    }
    char longid[400] = "/test/items/";
    memset(longid + 12, 'x', 300);
    get(longid, &r);
    assert_problem(&r, PROBLEM_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_query_parameters)
{
    response r;
    get("/test/query?q=a%20b+c%2Fd&x=1", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "a b c/d");
    get("/test/query", &r);
    ck_assert_str_eq(r.body, "-");
    get("/test/query?q=%zz", &r);
    assert_problem(&r, PROBLEM_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_keep_alive)
{
    int fd = dial();
    const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    const char *nope = "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n";
    const char *post =
        "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n[]";
    response r;
    const char *seq[] = {req, nope, post, req};
    for (size_t i = 0; i < 4; i++) {
        testhttp_send_all(fd, seq[i], strlen(seq[i]));
        ck_assert_msg(read_response(fd, &r), "connection closed before request %zu", i);
        ck_assert(r.status == 200 || r.status == 404);
        const char *conn = testhttp_header(&r, "Connection");
        ck_assert_msg(conn == NULL || strcasecmp(conn, "close") != 0, "closed after %zu",
                      i);
    }
    close(fd);
}
END_TEST

/* The completion callback counts a request just after the response left:
 * poll /metrics until it shows what the test expects. */
static bool metrics_show(const char *needle, response *r)
{
    for (int i = 0; i < 100; i++) {
        get("/metrics", r);
        if (r->status == 200 && strstr(r->body, needle) != NULL)
            return true;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return false;
}

START_TEST(test_metrics)
{
    response r;
    for (int i = 0; i < 3; i++)
        get("/healthz", &r);
    get("/nope", &r);
    ck_assert_msg(
        metrics_show("ltvd_http_requests_total{method=\"GET\",route=\"/healthz\","
                     "status=\"200\"} 3\n",
                     &r),
        "%s", r.body);
    ck_assert_str_eq(testhttp_header(&r, "Content-Type"),
                     "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_msg(metrics_show("ltvd_http_requests_total{method=\"\",route=\"unmatched\","
                               "status=\"404\"} 1\n",
                               &r),
                  "%s", r.body);
    ck_assert(strstr(r.body, "ltvd_http_request_duration_seconds_count{method=\"GET\","
                             "route=\"/healthz\"} 3\n") != NULL);
    ck_assert(strstr(r.body, "ltvd_http_request_duration_seconds_bucket{method=\"GET\","
                             "route=\"/healthz\",le=\"+Inf\"} 3\n") != NULL);
    ck_assert(strstr(r.body, "# TYPE ltvd_http_request_duration_seconds histogram\n") !=
              NULL);
}
END_TEST

#define NCONN 130

/* 130 connections open at once, each with a request in flight: every one
 * is answered (libmicrohttpd's epoll mode stalls at exactly 128). */
START_TEST(test_concurrent_connections)
{
    int fds[NCONN];
    const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < NCONN; i++)
        fds[i] = dial();
    for (int i = 0; i < NCONN; i++)
        testhttp_send_all(fds[i], req, strlen(req));
    for (int i = 0; i < NCONN; i++) {
        response r;
        ck_assert_msg(read_response(fds[i], &r), "connection %d got no answer", i);
        ck_assert_int_eq(r.status, 200);
    }
    /* and a second round on the same 130 connections */
    for (int i = 0; i < NCONN; i++)
        testhttp_send_all(fds[i], req, strlen(req));
    for (int i = 0; i < NCONN; i++) {
        response r;
        ck_assert_msg(read_response(fds[i], &r), "connection %d: no second answer", i);
        ck_assert_int_eq(r.status, 200);
        close(fds[i]);
    }
}
END_TEST

static void *slow_client(void *arg)
{
    response *r = arg;
    get("/test/slow", r);
    return NULL;
}

/* A stop waits for the request in flight, then refuses new connections. */
START_TEST(test_graceful_stop)
{
    static response r;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, slow_client, &r), 0);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    ck_assert(http_server_stop(server, 5));
    pthread_join(t, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "slow");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ne(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
}
END_TEST

/* The registry is indexed by code, with error statuses and unique slugs. */
START_TEST(test_problem_registry)
{
    for (int c = 0; c < PROBLEM_COUNT; c++) {
        const problem_type *p = problem_get((problem_code)c);
        ck_assert_int_eq(p->code, c);
        ck_assert(p->status >= 400 && p->status <= 599);
        ck_assert(p->title[0] != '\0');
        for (int d = 0; d < c; d++)
            ck_assert_str_ne(problem_get((problem_code)d)->slug, p->slug);
    }
    ck_assert_int_eq(problem_get((problem_code)999)->status, 500);
}
END_TEST

/* The errors extension, and a detail that is not UTF-8 keeps its text with
 * U+FFFD for each bad byte (it was left out: an unknown query parameter of
 * 150 'é' cut by "%.200s" in the middle of a character lost the whole
 * detail, red team issue 12). */
START_TEST(test_problem_body)
{
    json_t *errors = json_pack("[{s:i,s:s,s:s}]", "index", 3, "field", "amount", "reason",
                               "must be positive");
    size_t len = 0;
    char *body = problem_body(PROBLEM_VALIDATION_FAILED, "\xff bad", "/v1/transactions",
                              errors, &len);
    ck_assert(body != NULL);
    ck_assert_uint_eq(len, strlen(body));
    json_t *j = json_loads(body, 0, NULL);
    ck_assert(j != NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
                     "urn:ltvd:problem:validation-failed");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 422);
    ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "\xef\xbf\xbd bad");
    ck_assert_str_eq(json_string_value(json_object_get(j, "instance")),
                     "/v1/transactions");
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(e0, "index")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(e0, "field")), "amount");
    json_decref(j);
    free(body);
    /* a character cut in two, an overlong form, a surrogate, a valid 4-byte
     * one: only the bad bytes are replaced */
    body = problem_body(PROBLEM_INVALID_PARAMETER,
                        "unknown query parameter \"a\xc3\xa9\xc3\": x \xc0\xaf "
                        "\xed\xa0\x80 \xf0\x9f\x98\x80",
                        "/v1/x\xff", NULL, &len);
    ck_assert(body != NULL);
    j = json_loads(body, 0, NULL);
    ck_assert(j != NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "detail")),
                     "unknown query parameter \"a\xc3\xa9\xef\xbf\xbd\": x "
                     "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                     "\xf0\x9f\x98\x80");
    ck_assert_str_eq(json_string_value(json_object_get(j, "instance")),
                     "/v1/x\xef\xbf\xbd");
    json_decref(j);
    free(body);
}
END_TEST

Suite *suite_http(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_healthz);
    tcase_add_test(tc, test_readyz_not_ready);
    tcase_add_test(tc, test_unknown_route_404);
    tcase_add_test(tc, test_wrong_method_405);
    tcase_add_test(tc, test_url_too_long_414);
    tcase_add_test(tc, test_body_too_large_by_length_413);
    tcase_add_test(tc, test_body_too_large_chunked_413);
    tcase_add_test(tc, test_wrong_content_type_415);
    tcase_add_test(tc, test_path_parameters);
    tcase_add_test(tc, test_query_parameters);
    tcase_add_test(tc, test_keep_alive);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_concurrent_connections);
    tcase_add_test(tc, test_graceful_stop);
    suite_add_tcase(s, tc);
    TCase *pure = tcase_create("problem");
    tcase_add_test(pure, test_problem_registry);
    tcase_add_test(pure, test_problem_body);
    suite_add_tcase(s, pure);
    return s;
}
