/* The `ltvd serve` subprocess and the non-asserting client (see testserve.h). */
#include "testserve.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ time */

void testserve_sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

double testserve_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ the subprocess */

const char *testserve_bin(void)
{
    const char *bin = getenv("LTVD_BIN");
    return bin != NULL && bin[0] != '\0' ? bin : "./ltvd";
}

/* True when the "KEY=..." entry e sets a key of env[]. */
static bool overridden(const char *e, const char *const *env)
{
    for (size_t j = 0; env != NULL && env[j] != NULL; j++) {
        size_t klen = strcspn(env[j], "=") + 1;
        if (strncmp(e, env[j], klen) == 0)
            return true;
    }
    return false;
}

/* environ without DATABASE_URL and env's keys, then env and DATABASE_URL=url:
 * built before fork, so that the child only execs. *dburl is the one string
 * allocated here (free it and the array). */
static char **build_envp(const char *url, const char *const *env, char **dburl)
{
    extern char **environ;
    size_t n = 0, n_env = 0;
    while (environ[n] != NULL)
        n++;
    while (env != NULL && env[n_env] != NULL)
        n_env++;
    char **envp = calloc(n + n_env + 2, sizeof *envp);
    ck_assert_ptr_nonnull(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "DATABASE_URL=", 13) != 0 && !overridden(environ[i], env))
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < n_env; j++)
        envp[k++] = (char *)env[j];
    *dburl = NULL;
    if (url != NULL) {
        size_t len = strlen(url) + 14;
        *dburl = malloc(len);
        ck_assert_ptr_nonnull(*dburl);
        snprintf(*dburl, len, "DATABASE_URL=%s", url);
        envp[k++] = *dburl;
    }
    return envp;
}

void testserve_spawn(testserve *s, const char *url, const char *const *env)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    snprintf(s->log_path, sizeof s->log_path, "%s/ltvd_serve.XXXXXX", tmp);
    int fd = mkstemp(s->log_path);
    ck_assert_msg(fd >= 0, "%s: %s", s->log_path, strerror(errno));
    char *dburl;
    char **envp = build_envp(url, env, &dburl);
    const char *bin = testserve_bin();
    char *argv[] = {(char *)bin, "serve", NULL};
    pid_t parent = getpid();
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        /* dies with the test process: a failed assertion leaves no server */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execve(bin, argv, envp);
        _exit(127);
    }
    close(fd);
    free(dburl);
    free(envp);
}

void testserve_read_file(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = path[0] != '\0' ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

void testserve_log(const testserve *s, char *out, size_t cap)
{
    testserve_read_file(s->log_path, out, cap);
}

bool testserve_log_wait(const testserve *s, const char *needle, int timeout_ms)
{
    static char log[65536];
    for (int waited = 0;; waited += 20) {
        testserve_log(s, log, sizeof log);
        if (strstr(log, needle) != NULL)
            return true;
        if (waited >= timeout_ms)
            return false;
        testserve_sleep_ms(20);
    }
}

int testserve_wait_exit(testserve *s, int timeout_ms)
{
    if (s->pid <= 0)
        return s->status;
    for (int waited = 0;; waited += 5) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return s->status;
        }
        if (waited >= timeout_ms)
            return -1;
        testserve_sleep_ms(5);
    }
}

/* Waits for the port and, when started, for the end of start-up. */
static void wait_for(testserve *s, int timeout_ms, bool started)
{
    static char log[16384];
    static const char needle[] = "listening on 127.0.0.1:";
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        testserve_log(s, log, sizeof log);
        const char *at = strstr(log, needle);
        if (at != NULL && s->port == 0) {
            s->port = atoi(at + sizeof needle - 1);
            ck_assert_int_gt(s->port, 0);
        }
        if (s->port != 0 && (!started || strstr(log, "msg=started in ") != NULL))
            return;
        if (testserve_wait_exit(s, 0) >= 0)
            ck_abort_msg("ltvd serve exited (status %d): %s", s->status, log);
        testserve_sleep_ms(20);
    }
    ck_abort_msg("ltvd serve did not %s within %d ms: %s", started ? "start" : "listen",
                 timeout_ms, log);
}

void testserve_wait_listening(testserve *s, int timeout_ms)
{
    wait_for(s, timeout_ms, true);
}

void testserve_wait_port(testserve *s, int timeout_ms)
{
    wait_for(s, timeout_ms, false);
}

void testserve_start(testserve *s, const char *url, const char *const *env)
{
    testserve_spawn(s, url, env);
    testserve_wait_listening(s, 30000);
}

int testserve_stop(testserve *s, int timeout_ms)
{
    if (s->pid <= 0)
        return s->status;
    kill(s->pid, SIGTERM);
    int st = testserve_wait_exit(s, timeout_ms);
    if (st < 0)
        testserve_kill(s);
    return st;
}

void testserve_kill(testserve *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    int st;
    if (waitpid(s->pid, &st, 0) == s->pid)
        s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    s->pid = 0;
}

void testserve_forget(testserve *s)
{
    testserve_kill(s);
    if (s->log_path[0] != '\0')
        unlink(s->log_path);
    s->log_path[0] = '\0';
}

/* ------------------------------------------------------------ the client */

int testserve_connect(int port, int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads fd to its end into a malloc'd NUL-terminated buffer; false on a
 * read error (a reset, a timeout) or out of memory. */
static bool read_to_end(int fd, char **out, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *p = malloc(cap);
    bool ok = p != NULL;
    while (ok) {
        if (n + 1 == cap) {
            char *q = realloc(p, cap *= 2);
            if (q == NULL) {
                ok = false;
                break;
            }
            p = q;
        }
        ssize_t got = recv(fd, p + n, cap - 1 - n, 0);
        if (got == 0)
            break;
        if (got < 0)
            ok = false;
        else
            n += (size_t)got;
    }
    if (p != NULL)
        p[n] = '\0';
    *out = p;
    *len = n;
    return ok;
}

/* Splits raw into head and body; true when the response is whole (its
 * Content-Length is all there). */
static bool parse_reply(char *raw, size_t len, testserve_reply *r)
{
    char *end = strstr(raw, "\r\n\r\n");
    if (end == NULL || (size_t)(end - raw) + 1 > sizeof r->head)
        return false;
    memcpy(r->head, raw, (size_t)(end - raw) + 2);
    r->head[end - raw + 2] = '\0';
    char cl[32];
    size_t at = (size_t)(end + 4 - raw);
    r->body_len = len - at;
    memmove(raw, raw + at, r->body_len + 1);
    int status = 0;
    if (sscanf(r->head, "HTTP/1.%*d %d", &status) != 1)
        return false;
    if (testserve_reply_header(r, "Content-Length", cl, sizeof cl) &&
        strtoul(cl, NULL, 10) != r->body_len)
        return false;
    r->status = status;
    return true;
}

int testserve_http(int port, const char *method, const char *target, const char *body,
                   int timeout_s, testserve_reply *r)
{
    return testserve_http_auth(port, method, target, NULL, body, timeout_s, r);
}

int testserve_http_auth(int port, const char *method, const char *target,
                        const char *token, const char *body, int timeout_s,
                        testserve_reply *r)
{
    memset(r, 0, sizeof *r);
    char head[1024], auth[256] = "";
    size_t blen = body != NULL ? strlen(body) : 0;
    if (token != NULL)
        snprintf(auth, sizeof auth, "Authorization: Bearer %.200s\r\n", token);
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, target, auth, blen);
    int fd = n > 0 && (size_t)n < sizeof head ? testserve_connect(port, timeout_s) : -1;
    char *raw = NULL;
    size_t len = 0;
    bool ok = fd >= 0 && send_all(fd, head, (size_t)n) && send_all(fd, body, blen) &&
              read_to_end(fd, &raw, &len) && parse_reply(raw, len, r);
    if (fd >= 0)
        close(fd);
    if (raw == NULL)
        raw = strdup("");
    r->body = raw;
    if (!ok) {
        r->status = 0;
        return -1;
    }
    return r->status;
}

bool testserve_head_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t len = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, len) == 0 && l[2 + len] == ':') {
            const char *v = l + 3 + len;
            v += strspn(v, " ");
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\r"), v);
            return true;
        }
    }
    return false;
}

bool testserve_reply_header(const testserve_reply *r, const char *name, char *out,
                            size_t cap)
{
    return testserve_head_value(r->head, name, out, cap);
}

void testserve_reply_free(testserve_reply *r)
{
    free(r->body);
    r->body = NULL;
}
