/* Helpers shared by the suites that run the real `ltvd serve` binary as a
 * subprocess (http_serve, integration, faults): start it with LTVD_* settings
 * on a free port and wait for it to listen, stop it with SIGTERM (exit
 * status and time), kill it with SIGKILL, read its log; and a small HTTP
 * client that never asserts (safe on client threads, and against a server
 * that may die mid-request). Failures of the subprocess side are check
 * assertions, so those run on the test's main thread only. */
#ifndef LTVD_TESTS_TESTSERVE_H
#define LTVD_TESTS_TESTSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- the subprocess ---------------------------------------------------------- */

typedef struct testserve {
    pid_t pid;          /* 0 when not running */
    int port;           /* set once the server said it listens */
    char log_path[320]; /* its stdout and stderr (a file of its own per start) */
    int status;         /* after an exit: the exit code, or 128 + the signal */
} testserve;

/* The binary under test: LTVD_BIN, else ./ltvd. */
const char *testserve_bin(void);

/* Forks and execs `ltvd serve` with the test's environment minus
 * DATABASE_URL and minus every key that env[] sets, then env[] (a
 * NULL-terminated list of "KEY=VALUE"), and DATABASE_URL=url when url is
 * not NULL. Its output goes to a new file under $TMPDIR (s->log_path,
 * removed by testserve_forget); it dies with the test process. Does not
 * wait: see testserve_wait_listening. Safe to call while other threads of
 * the test run (the child only execs). */
void testserve_spawn(testserve *s, const char *url, const char *const *env);

/* Waits up to timeout_ms for the log line "listening on 127.0.0.1:<port>"
 * and sets s->port, then for the end of start-up (the line "started in":
 * the cache is complete and every route served; the server listens, and
 * answers the probes, from before that). A check failure (with the log)
 * when the process exits first or time runs out. */
void testserve_wait_listening(testserve *s, int timeout_ms);

/* testserve_wait_listening without waiting for the end of start-up: the
 * port once the server listens (probes answer, /v1 may be 503 starting). */
void testserve_wait_port(testserve *s, int timeout_ms);

/* testserve_spawn, then testserve_wait_listening for 30 s. */
void testserve_start(testserve *s, const char *url, const char *const *env);

/* Waits up to timeout_ms for the process to end; returns its status (also
 * in s->status: the exit code, or 128 + the signal) and clears s->pid, or
 * -1 when it still runs. */
int testserve_wait_exit(testserve *s, int timeout_ms);

/* SIGTERM, then testserve_wait_exit(timeout_ms); the process is killed
 * when it outlives that (and -1 returned). */
int testserve_stop(testserve *s, int timeout_ms);

/* SIGKILL and reap (no-op when not running). */
void testserve_kill(testserve *s);

/* Kills the process when still running and removes the log file. */
void testserve_forget(testserve *s);

/* The first cap - 1 bytes of the file at path into out[cap]
 * (NUL-terminated; "" when unreadable). */
void testserve_read_file(const char *path, char *out, size_t cap);

/* The log so far into out[cap] (testserve_read_file). */
void testserve_log(const testserve *s, char *out, size_t cap);

/* Waits up to timeout_ms for needle to appear in the log. */
bool testserve_log_wait(const testserve *s, const char *needle, int timeout_ms);

/* ---- a client that never asserts -------------------------------------------- */

typedef struct testserve_reply {
    int status;      /* 0 when no whole response came (see testserve_http) */
    char head[4096]; /* status line and headers */
    char *body;      /* NUL-terminated, malloc'd; free with testserve_reply_free */
    size_t body_len;
} testserve_reply;

/* One request (Connection: close; body sent as application/json when not
 * NULL) to 127.0.0.1:port, the response read to the end of the connection
 * (timeout_s per read). Returns the status, or -1 when the server could not
 * be reached or the connection ended before a whole response (r->status is
 * 0 then). r->body is always set (maybe ""). */
int testserve_http(int port, const char *method, const char *target, const char *body,
                   int timeout_s, testserve_reply *r);

/* testserve_http with `Authorization: Bearer <token>` (none when token is
 * NULL). */
int testserve_http_auth(int port, const char *method, const char *target,
                        const char *token, const char *body, int timeout_s,
                        testserve_reply *r);

/* The value of header name (case-insensitive) in head (a status line and
 * headers, CRLF-separated) into out[cap]; false when absent. */
bool testserve_head_value(const char *head, const char *name, char *out, size_t cap);

/* testserve_head_value on r->head. */
bool testserve_reply_header(const testserve_reply *r, const char *name, char *out,
                            size_t cap);

void testserve_reply_free(testserve_reply *r);

/* A connected socket to 127.0.0.1:port (timeout_s for sends and receives),
 * or -1 with errno set. */
int testserve_connect(int port, int timeout_s);

/* Sleeps ms milliseconds. */
void testserve_sleep_ms(long ms);

/* Seconds on the monotonic clock. */
double testserve_now(void);

#endif
