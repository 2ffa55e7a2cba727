/* suite_faults: the service under injected faults, each test on a database
 * of its own (DATABASE_URL, scripts/with_pg.sh) with a planted model
 * snapshot (testfaults.h). Here: the same batch sent at once from eight
 * clients (the in-process server: stored once, counted new once); SIGTERM
 * with a request in flight (the real `ltvd serve`: the listening socket
 * closed at once, the request finished and stored, exit 0 within
 * shutdown_deadline_s, the database sessions gone) and with a client that
 * never finishes its body (exit within the deadline all the same). In their
 * own files: kill -9 under ingest (test_faults_kill.c), PostgreSQL stopped
 * under load (test_faults_pg.c), refits that fail (test_faults_refit.c). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testfaults.h"
#include "testhttp.h"

/* ---- the same batch from several clients at once ------------------------------- */

#define SB_CLIENTS 8
#define SB_CUSTOMERS 40

static testhttp_app svc;

typedef struct sb_client {
    pthread_barrier_t *go;
    const char *body;
    int status;
    unsigned long received, fresh, dup;
} sb_client;

static void *sb_main(void *arg)
{
    sb_client *c = arg;
    pthread_barrier_wait(c->go);
    testserve_reply r;
    c->status = testserve_http(svc.port, "POST", "/v1/transactions", c->body, 30, &r);
    if (sscanf(r.body, "{\"received\":%lu,\"new\":%lu,\"duplicates\":%lu}", &c->received,
               &c->fresh, &c->dup) != 3)
        c->received = c->fresh = c->dup = 0;
    testserve_reply_free(&r);
    return NULL;
}

/* Batch b's first n_of(k) items from client k, all at once; returns the sum
 * of the new counts (each response checked). */
static unsigned long sb_round(long b, int (*n_of)(int))
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, SB_CLIENTS);
    sb_client c[SB_CLIENTS];
    char *bodies[SB_CLIENTS];
    pthread_t th[SB_CLIENTS];
    for (int k = 0; k < SB_CLIENTS; k++) {
        bodies[k] = faults_batch_json(b, n_of(k), SB_CUSTOMERS);
        c[k] = (sb_client){.go = &go, .body = bodies[k]};
        ck_assert_int_eq(pthread_create(&th[k], NULL, sb_main, &c[k]), 0);
    }
    unsigned long sum = 0;
    for (int k = 0; k < SB_CLIENTS; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < SB_CLIENTS; k++) {
        ck_assert_msg(c[k].status == 200, "batch %ld, client %d: %d", b, k, c[k].status);
        ck_assert_uint_eq(c[k].received, (unsigned long)n_of(k));
        ck_assert_uint_eq(c[k].fresh + c[k].dup, c[k].received);
        sum += c[k].fresh;
        free(bodies[k]);
    }
    pthread_barrier_destroy(&go);
    return sum;
}

static int n_same(int k)
{
    (void)k;
    return 275;
}

/* Prefixes of one batch, 100 to 275 items: each overlaps the others. */
static int n_prefix(int k)
{
    return 100 + 25 * k;
}

static void sb_setup(void)
{
    testhttp_db_create(&svc, "ltvd_fs");
    faults_db_prepare(svc.cfg.database_url);
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "thread_pool_size", "8", err));
    ck_assert(config_set(&svc.cfg, "db_request_threads", "8", err));
    ck_assert(config_set(&svc.cfg, "as_of", FAULTS_AS_OF, err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    testhttp_app_start(&svc, false);
}

static void sb_teardown(void)
{
    testhttp_db_drop(&svc);
}

START_TEST(test_faults_same_batch_concurrently)
{
    for (long b = 0; b < 5; b++)
        ck_assert_uint_eq(sb_round(b, n_same), 275);
    for (long b = 5; b < 8; b++)
        ck_assert_uint_eq(sb_round(b, n_prefix), (unsigned long)n_prefix(SB_CLIENTS - 1));
    store_db *db = faults_db_open(svc.cfg.database_url);
    ck_assert_int_eq(faults_sql_int(db, "SELECT count(*) FROM transactions"), 8 * 275);
    bool acked[8] = {true, true, true, true, true, true, true, true};
    ck_assert_int_eq(faults_check_batches(db, acked, 8, 275, SB_CUSTOMERS), 8);
    faults_check_summaries(db);
    ck_assert_int_eq(faults_check_cache(db, svc.port, SB_CUSTOMERS, NULL), SB_CUSTOMERS);
    store_db_close(db);
}
END_TEST

/* ---- SIGTERM -------------------------------------------------------------------- */

static char url[2048];

static void term_setup(void)
{
    faults_db_create("ltvd_ft", url, sizeof url);
}

static void term_teardown(void)
{
    faults_db_drop("ltvd_ft");
}

/* Sends the head of POST /v1/transactions for body and its first `part`
 * bytes on a new connection; returns the socket. */
static int post_partly(int port, const char *body, size_t part)
{
    int fd = testserve_connect(port, 10);
    ck_assert_int_ge(fd, 0);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /v1/transactions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     strlen(body));
    ck_assert_int_eq(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
    ck_assert_int_eq(send(fd, body, part, MSG_NOSIGNAL), (ssize_t)part);
    return fd;
}

/* Waits (1 s) until a new connection to port is refused. */
static void expect_refused(int port)
{
    for (int i = 0; i < 200; i++) {
        int fd = testserve_connect(port, 1);
        if (fd < 0 && errno == ECONNREFUSED)
            return;
        if (fd >= 0)
            close(fd);
        testserve_sleep_ms(5);
    }
    ck_abort_msg("port %d still accepts connections after SIGTERM", port);
}

/* Reads the response on fd to its end into buf[cap]. */
static void read_response(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
}

START_TEST(test_faults_sigterm_drains)
{
    enum { ITEMS = 3000 };
    testserve srv;
    faults_server_start(&srv, url, NULL);
    char *body = faults_batch_json(1, ITEMS, 500);
    size_t half = strlen(body) / 2;
    int busy = post_partly(srv.port, body, half); /* in flight: its body half sent */
    int idle = testserve_connect(srv.port, 10);   /* must not hold the exit */
    ck_assert_int_ge(idle, 0);
    testserve_sleep_ms(300);
    double t0 = testserve_now();
    kill(srv.pid, SIGTERM);
    expect_refused(srv.port);
    double t_refused = testserve_now() - t0;
    testserve_sleep_ms(300);
    ck_assert_int_eq(send(busy, body + half, strlen(body) - half, MSG_NOSIGNAL),
                     (ssize_t)(strlen(body) - half));
    static char resp[8192];
    read_response(busy, resp, sizeof resp);
    close(busy);
    ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
    ck_assert_msg(strstr(resp, "\"new\":3000") != NULL, "%s", resp);
    int st = testserve_wait_exit(&srv, (FAULTS_DEADLINE_S + 5) * 1000);
    double t_exit = testserve_now() - t0;
    close(idle);
    static char log[16384];
    testserve_log(&srv, log, sizeof log);
    ck_assert_msg(st == 0, "exit status %d: %s", st, log);
    ck_assert_msg(t_exit <= FAULTS_DEADLINE_S, "exit %.2f s after SIGTERM: %s", t_exit,
                  log);
    ck_assert_msg(strstr(log, "SIGTERM received") != NULL &&
                      strstr(log, "stopped") != NULL,
                  "%s", log);
    free(body);

    store_db *db = faults_db_open(url);
    ck_assert_int_eq(faults_sql_int(db, "SELECT count(*) FROM transactions"), ITEMS);
    faults_check_summaries(db);
    long long sessions = -1;
    for (int i = 0; i < 100 && sessions != 0; i++, testserve_sleep_ms(20))
        sessions = faults_sql_int(db, "SELECT count(*) FROM pg_stat_activity"
                                      " WHERE datname = current_database()"
                                      " AND pid <> pg_backend_pid()");
    ck_assert_msg(sessions == 0, "%lld database sessions left after the exit", sessions);
    store_db_close(db);
    testserve_forget(&srv);
    if (getenv("LTVD_TEST_VERBOSE") != NULL)
        fprintf(stderr, "faults SIGTERM: refused after %.3f s, exit 0 after %.3f s\n",
                t_refused, t_exit);
}
END_TEST

START_TEST(test_faults_sigterm_stuck_client)
{
    testserve srv;
    faults_server_start(&srv, url, NULL);
    char *body = faults_batch_json(2, 10, 10);
    int stuck = post_partly(srv.port, body, 10); /* and never the rest */
    testserve_sleep_ms(200);
    double t0 = testserve_now();
    kill(srv.pid, SIGTERM);
    int st = testserve_wait_exit(&srv, (FAULTS_DEADLINE_S + 5) * 1000);
    double t_exit = testserve_now() - t0;
    close(stuck);
    free(body);
    static char log[16384];
    testserve_log(&srv, log, sizeof log);
    /* not drained: said so in the log; the stop itself succeeded */
    ck_assert_msg(st == 0, "exit status %d: %s", st, log);
    ck_assert_msg(t_exit <= FAULTS_DEADLINE_S + 0.5, "exit %.2f s after SIGTERM", t_exit);
    ck_assert_msg(strstr(log, "stopping with 1 requests still in flight") != NULL, "%s",
                  log);
    store_db *db = faults_db_open(url);
    ck_assert_int_eq(faults_sql_int(db, "SELECT count(*) FROM transactions"), 0);
    store_db_close(db);
    testserve_forget(&srv);
}
END_TEST

Suite *suite_faults(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("same_batch");
    tcase_add_checked_fixture(tc, sb_setup, sb_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_faults_same_batch_concurrently);
    suite_add_tcase(s, tc);
    tc = tcase_create("sigterm");
    tcase_add_checked_fixture(tc, term_setup, term_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_faults_sigterm_drains);
    tcase_add_test(tc, test_faults_sigterm_stuck_client);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, faults_tcase_kill());
    suite_add_tcase(s, faults_tcase_pg_stop());
    suite_add_tcase(s, faults_tcase_refit());
    suite_add_tcase(s, faults_tcase_refit_worker());
    return s;
}
