/* `ltvd serve` end to end: the real binary (./ltvd, or LTVD_BIN) on a free
 * port: its endpoints without a database, SIGTERM handling, config errors. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testserve.h"

/* Starts `ltvd serve` without a database, with LTVD_LISTEN=127.0.0.1:0, a
 * 2 s shutdown deadline and extra "K=V" env (or NULL). */
static void serve_spawn(testserve *p, const char *extra_env)
{
    const char *env[] = {"LTVD_LISTEN=127.0.0.1:0", "LTVD_SHUTDOWN_DEADLINE_S=2",
                         extra_env, NULL};
    testserve_spawn(p, NULL, env);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* GET target with Connection: close; the whole response in out. */
static void get(int port, const char *target, char *out, size_t cap)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", target);
    int fd = dial(port);
    ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t len = 0;
    ssize_t got;
    while (len + 1 < cap && (got = recv(fd, out + len, cap - 1 - len, 0)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(fd);
}

START_TEST(test_serve_endpoints_and_sigterm)
{
    testserve p;
    serve_spawn(&p, NULL);
    testserve_wait_listening(&p, 5000);
    char resp[4096];
    get(p.port, "/healthz", resp, sizeof resp);
    ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
    ck_assert(strstr(resp, "{\"status\":\"ok\"}") != NULL);
    get(p.port, "/readyz", resp, sizeof resp);
    ck_assert_msg(strncmp(resp, "HTTP/1.1 503", 12) == 0, "%s", resp);
    ck_assert(strstr(resp, "\"detail\":\"no database configured\"") != NULL);
    get(p.port, "/v1/customers/42", resp, sizeof resp);
    ck_assert_msg(strncmp(resp, "HTTP/1.1 404", 12) == 0, "%s", resp);
    ck_assert(strstr(resp, "Content-Type: application/problem+json") != NULL);
    get(p.port, "/metrics", resp, sizeof resp);
    ck_assert(strstr(resp, "route=\"/healthz\",status=\"200\"} 1") != NULL);

    int idle = dial(p.port); /* an idle keep-alive connection must not hold the exit */
    kill(p.pid, SIGTERM);
    int status = testserve_wait_exit(&p, 3000);
    close(idle);
    static char log[8192];
    testserve_log(&p, log, sizeof log);
    ck_assert_msg(status == 0, "exit %d: %s", status, log);
    ck_assert(testserve_log_wait(&p, "stopped", 1000));
    testserve_forget(&p);
}
END_TEST

START_TEST(test_serve_bad_config)
{
    testserve p;
    serve_spawn(&p, "LTVD_MAX_BODY_BYTES=12");
    int status = testserve_wait_exit(&p, 3000);
    static char log[8192];
    testserve_log(&p, log, sizeof log);
    testserve_forget(&p);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strstr(log, "max_body_bytes: must be 1024..1073741824 "
                              "(from LTVD_MAX_BODY_BYTES)") != NULL,
                  "%s", log);
}
END_TEST

Suite *suite_http_serve(void)
{
    Suite *s = suite_create("http_serve");
    TCase *tc = tcase_create("serve");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_serve_endpoints_and_sigterm);
    tcase_add_test(tc, test_serve_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
