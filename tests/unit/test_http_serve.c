/* `ltvd serve` end to end: the real binary (./ltvd, or LTVD_BIN) on a free
 * port: its endpoints without a database, SIGTERM handling, config errors. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct serve_proc {
    pid_t pid;
    int err_fd; /* the child's stderr */
    int port;
    char log[8192];
} serve_proc;

/* Starts `ltvd serve` with LTVD_LISTEN=127.0.0.1:0 and extra "K=V" env. */
static void serve_start(serve_proc *p, const char *extra_env)
{
    const char *bin = getenv("LTVD_BIN") ? getenv("LTVD_BIN") : "./ltvd";
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    memset(p, 0, sizeof *p);
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        setenv("LTVD_LISTEN", "127.0.0.1:0", 1);
        setenv("LTVD_SHUTDOWN_DEADLINE_S", "2", 1);
        unsetenv("DATABASE_URL");
        if (extra_env != NULL)
            putenv((char *)extra_env);
        execl(bin, bin, "serve", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->err_fd = fds[0];
}

/* Reads the child's stderr until it contains needle or 5 s pass. */
static bool serve_wait_log(serve_proc *p, const char *needle)
{
    size_t len = strlen(p->log);
    for (int i = 0; i < 50 && strstr(p->log, needle) == NULL; i++) {
        struct pollfd pfd = {p->err_fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) == 1) {
            ssize_t n = read(p->err_fd, p->log + len, sizeof p->log - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            p->log[len] = '\0';
        }
    }
    return strstr(p->log, needle) != NULL;
}

/* Waits up to ms for the child; returns its exit status, or -1. */
static int serve_wait_exit(serve_proc *p, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return -1;
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
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                     target);
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
    serve_proc p;
    serve_start(&p, NULL);
    ck_assert_msg(serve_wait_log(&p, "listening on 127.0.0.1:"), "%s", p.log);
    p.port = atoi(strstr(p.log, "listening on 127.0.0.1:") + 23);
    ck_assert_int_gt(p.port, 0);
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
    int status = serve_wait_exit(&p, 3000);
    close(idle);
    ck_assert_msg(status == 0, "exit %d: %s", status, p.log);
    ck_assert(serve_wait_log(&p, "stopped"));
    close(p.err_fd);
}
END_TEST

START_TEST(test_serve_bad_config)
{
    serve_proc p;
    serve_start(&p, "LTVD_MAX_BODY_BYTES=12");
    int status = serve_wait_exit(&p, 3000);
    serve_wait_log(&p, "\n");
    close(p.err_fd);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strstr(p.log, "max_body_bytes: must be 1024..1073741824 "
                                "(from LTVD_MAX_BODY_BYTES)") != NULL,
                  "%s", p.log);
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
