/* API keys end to end, on a real PostgreSQL: the in-process service with
 * auth_required over raw sockets (401 without, with a malformed, unknown,
 * wrongly signed or revoked key; 403 with the wrong scope and nothing
 * stored; each scope's routes; /healthz and /readyz open; /metrics per
 * metrics_public; a new key within a second, a revoked one after the
 * reload), and
 * the real binary (./ltvd, or LTVD_BIN): `ltvd key create|list|revoke`
 * (the token alone on stdout, never a hash, only the hash stored), and
 * `ltvd serve` whose log shows no token, hash or customer id. */
#include <check.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_token.h"
#include "log/log.h"
#include "testhttp.h"

static testhttp_app svc;

static const char *ltvd_bin(void)
{
    const char *bin = getenv("LTVD_BIN");
    return bin != NULL && bin[0] != '\0' ? bin : "./ltvd";
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* ------------------------------------------------------------ the binary */

static void slurp(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* Runs `ltvd key ARGS...` on svc's database (url NULL: no DATABASE_URL);
 * its stdout and stderr into out and err. Returns the exit status. */
static int run_key(const char *url, const char *const args[], char *out, char *err,
                   size_t cap)
{
    char out_path[] = "/tmp/ltvd_auth_out_XXXXXX",
         err_path[] = "/tmp/ltvd_auth_err_XXXXXX";
    int ofd = mkstemp(out_path), efd = mkstemp(err_path);
    ck_assert(ofd >= 0 && efd >= 0);
    const char *argv[12] = {ltvd_bin(), "key"};
    size_t n = 2;
    for (size_t i = 0; args[i] != NULL && n < 11; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        if (url != NULL)
            setenv("DATABASE_URL", url, 1);
        else
            unsetenv("DATABASE_URL");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    close(ofd);
    close(efd);
    slurp(out_path, out, cap);
    slurp(err_path, err, cap);
    unlink(out_path);
    unlink(err_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A new key of scopes through `ltvd key create`: the token into token. */
static void key_create_only(const char *scopes, char token[AUTH_TOKEN_LEN + 1])
{
    char out[4096], err[4096];
    const char *args[] = {"create", "--scopes", scopes, "--name", "test key", NULL};
    int rc = run_key(svc.cfg.database_url, args, out, err, sizeof out);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char id[AUTH_KEY_ID_LEN + 1];
    ck_assert_msg(strlen(out) == AUTH_TOKEN_LEN + 1 && out[AUTH_TOKEN_LEN] == '\n' &&
                      auth_token_parse(out, AUTH_TOKEN_LEN, id),
                  "stdout is not a token and a newline: [%s]", out);
    ck_assert_msg(strstr(err, out + 5 + AUTH_KEY_ID_LEN) == NULL, "the secret on stderr");
    memcpy(token, out, AUTH_TOKEN_LEN);
    token[AUTH_TOKEN_LEN] = '\0';
}

/* Waits (up to 3 s) until the service's key copy has token's key: a
 * request with an unknown key id only wakes the reload thread. */
static void wait_known(const char *token)
{
    char header[256];
    snprintf(header, sizeof header, "Bearer %s", token);
    for (int i = 0; i < 300; i++) {
        if (auth_keys_check(svc.auth, header, ~0u, NULL) != AUTH_INVALID)
            return;
        usleep(10000);
    }
    ck_abort_msg("the service did not load a new key within 3 s");
}

/* A new key, known to the service when this returns. */
static void key_create(const char *scopes, char token[AUTH_TOKEN_LEN + 1])
{
    key_create_only(scopes, token);
    wait_known(token);
}

static void key_revoke(const char *token)
{
    char out[4096], err[4096], id[AUTH_KEY_ID_LEN + 1];
    ck_assert(auth_token_parse(token, strlen(token), id));
    const char *args[] = {"revoke", id, NULL};
    ck_assert_msg(run_key(svc.cfg.database_url, args, out, err, sizeof out) == 0, "%s",
                  err);
}

/* ---------------------------------------------------------------- HTTP */

/* One request with an Authorization header value (NULL: none) and, when
 * body is not NULL, an application/json body. r->json is the body parsed. */
static void request(const char *method, const char *target, const char *authorization,
                    const char *body, testhttp_response *r)
{
    char raw[8192], auth_line[512] = "";
    if (authorization != NULL)
        snprintf(auth_line, sizeof auth_line, "Authorization: %s\r\n", authorization);
    snprintf(raw, sizeof raw,
             "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             method, target, auth_line, body != NULL ? strlen(body) : 0,
             body != NULL ? body : "");
    testhttp_exchange(svc.port, raw, r);
    r->json = json_loads(r->body, 0, NULL);
}

/* The status of one request with the Authorization header value (NULL:
 * none). */
static int status_with(const char *method, const char *target, const char *authorization,
                       const char *body)
{
    testhttp_response r;
    request(method, target, authorization, body, &r);
    testhttp_response_free(&r);
    return r.status;
}

/* status_with "Bearer <token>" (NULL: no header). */
static int status_of(const char *method, const char *target, const char *token,
                     const char *body)
{
    char header[256];
    if (token != NULL)
        snprintf(header, sizeof header, "Bearer %s", token);
    return status_with(method, target, token != NULL ? header : NULL, body);
}

/* Checks that "Bearer <token>" is refused 403 forbidden with a detail
 * naming the scope it lacks. */
static void check_forbidden(const char *method, const char *target, const char *token,
                            const char *body, const char *scope)
{
    char header[256];
    testhttp_response r;
    snprintf(header, sizeof header, "Bearer %s", token);
    request(method, target, header, body, &r);
    testhttp_assert_problem(&r, 403, "forbidden");
    ck_assert_msg(strstr(testhttp_jstr(r.json, "detail"), scope) != NULL, "%s", r.body);
    testhttp_response_free(&r);
}

/* Polls GET /v1/model with token (a read key) up to 3 s until the answer
 * is not 401; returns the last status. */
static int status_once_known(const char *token)
{
    int status = 401;
    for (int i = 0; i < 60 && status == 401; i++) {
        status = status_of("GET", "/v1/model", token, NULL);
        if (status == 401)
            sleep_ms(50);
    }
    return status;
}

/* r is a problem+json of slug with status. */
static const char one_txn[] =
    "{\"transactions\":[{\"id\":\"t1\",\"customer_id\":\"c1\","
    "\"occurred_at\":\"2024-01-02T10:00:00Z\",\"amount\":\"10.00\"}]}";

/* ------------------------------------------------------------- fixture */

/* The service with auth_required on; its keys reloaded every reload_ms. */
static void start(long reload_ms)
{
    log_set_level(LOG_ERROR);
    testhttp_db_create(&svc, "ltvd_auth");
    svc.cfg.auth_required = true;
    svc.auth_reload_ms = reload_ms;
    testhttp_app_start(&svc, true);
}

static void setup(void)
{
    start(60000); /* reloads only on a miss or when a test asks */
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
}

/* --------------------------------------------------------------- tests */

START_TEST(test_no_key)
{
    testhttp_response r;
    request("GET", "/v1/model", NULL, NULL, &r);
    testhttp_assert_problem(&r, 401, "unauthorized");
    ck_assert_str_eq(testhttp_header(&r, "WWW-Authenticate"), "Bearer realm=\"ltvd\"");
    testhttp_response_free(&r);
    request("POST", "/v1/transactions", NULL, one_txn, &r);
    testhttp_assert_problem(&r, 401, "unauthorized");
    testhttp_response_free(&r);
    request("GET", "/v1/customers/c1", NULL, NULL, &r);
    testhttp_assert_problem(&r, 401, "unauthorized");
    testhttp_response_free(&r);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);
    /* routing comes first: an unknown path is a 404 all the same */
    ck_assert_int_eq(status_of("GET", "/v1/nothing", NULL, NULL), 404);
}
END_TEST

START_TEST(test_malformed_and_unknown)
{
    char token[AUTH_TOKEN_LEN + 1], wrong[AUTH_TOKEN_LEN + 1],
        unknown[AUTH_TOKEN_LEN + 1];
    char id[AUTH_KEY_ID_LEN + 1], header[256];
    key_create("read", token);
    /* the same key id, another secret */
    snprintf(wrong, sizeof wrong, "%s", token);
    wrong[AUTH_TOKEN_LEN - 1] = wrong[AUTH_TOKEN_LEN - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(auth_token_new(unknown, id), 0);
    snprintf(header, sizeof header, "Bearer %sx", token);
    const char *bad[] = {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ",
                         "Bearer ltvd_nothex", header,   token};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        testhttp_response r;
        request("GET", "/v1/model", bad[i], NULL, &r);
        testhttp_assert_problem(&r, 401, "unauthorized");
        ck_assert_str_eq(testhttp_header(&r, "WWW-Authenticate"),
                         "Bearer realm=\"ltvd\", error=\"invalid_token\"");
        ck_assert_msg(strstr(r.body, token + 5) == NULL, "the detail repeats the token");
        testhttp_response_free(&r);
    }
    ck_assert_int_eq(status_of("GET", "/v1/model", wrong, NULL), 401);
    ck_assert_int_eq(status_of("GET", "/v1/model", unknown, NULL), 401);
    /* the scheme is case-insensitive; the good token passes (503: no model yet) */
    snprintf(header, sizeof header, "bearer %s", token);
    ck_assert_int_eq(status_with("GET", "/v1/model", header, NULL), 503);
}
END_TEST

START_TEST(test_scopes)
{
    char reader[AUTH_TOKEN_LEN + 1], ingester[AUTH_TOKEN_LEN + 1],
        admin[AUTH_TOKEN_LEN + 1];
    key_create("read", reader);
    key_create("ingest", ingester);
    key_create("admin", admin);
    check_forbidden("POST", "/v1/transactions", reader, one_txn, "ingest");
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);

    ck_assert_int_eq(status_of("POST", "/v1/transactions", ingester, one_txn), 200);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 1);
    ck_assert_int_eq(status_of("GET", "/v1/customers/c1", reader, NULL),
                     503); /* no model */
    ck_assert_int_eq(status_of("GET", "/v1/customers", reader, NULL), 503);
    ck_assert_int_eq(status_of("GET", "/v1/model", reader, NULL), 503);

    check_forbidden("GET", "/v1/customers/c1", ingester, NULL, "read");
    check_forbidden("POST", "/v1/model/refit", reader, NULL, "admin");
    ck_assert_int_eq(status_of("POST", "/v1/model/refit", admin, NULL), 202);
    /* admin is not read: scopes are independent */
    ck_assert_int_eq(status_of("GET", "/v1/model", admin, NULL), 403);

    char all[AUTH_TOKEN_LEN + 1];
    key_create("admin,read,ingest", all);
    ck_assert_int_eq(status_once_known(all), 503); /* the last miss reloaded < 1 s ago */
    ck_assert_int_eq(status_of("POST", "/v1/transactions", all, one_txn), 200);
    ck_assert_int_eq(status_of("GET", "/v1/model", all, NULL), 503);
    ck_assert_int_eq(status_of("POST", "/v1/model/refit", all, NULL), 202);
}
END_TEST

START_TEST(test_open_and_metrics)
{
    char reader[AUTH_TOKEN_LEN + 1], ingester[AUTH_TOKEN_LEN + 1],
        admin[AUTH_TOKEN_LEN + 1];
    key_create("read", reader);
    key_create("ingest", ingester);
    key_create("admin", admin);
    ck_assert_int_eq(status_of("GET", "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/readyz", NULL, NULL), 503); /* no model */
    ck_assert_int_eq(status_of("GET", "/healthz", "garbage", NULL), 200);
    ck_assert_int_eq(status_of("GET", "/metrics", NULL, NULL), 200); /* metrics_public */
    svc.cfg.metrics_public = false; /* read per request; no request is in flight */
    testhttp_response r;
    request("GET", "/metrics", NULL, NULL, &r);
    testhttp_assert_problem(&r, 401, "unauthorized");
    testhttp_response_free(&r);
    check_forbidden("GET", "/metrics", ingester, NULL, "read or admin");
    ck_assert_int_eq(status_of("GET", "/metrics", reader, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/metrics", admin, NULL), 200);
    /* auth_required off opens /v1, not a private /metrics */
    svc.cfg.auth_required = false;
    ck_assert_int_eq(status_of("GET", "/v1/model", NULL, NULL), 503);
    ck_assert_int_eq(status_of("GET", "/metrics", NULL, NULL), 401);
    svc.cfg.auth_required = true;
    svc.cfg.metrics_public = true;
}
END_TEST

/* A key made after start works within a second of its first use (the
 * miss wakes the reload thread; the request itself never waits for
 * PostgreSQL), another made right after too; a revoked one works until the
 * next reload. */
START_TEST(test_new_and_revoked)
{
    char token[AUTH_TOKEN_LEN + 1], second[AUTH_TOKEN_LEN + 1];
    key_create_only("read", token);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(status_once_known(token), 503);
    key_create_only("read", second);
    ck_assert_int_eq(status_once_known(second), 503);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
    key_revoke(token);
    ck_assert_int_eq(status_of("GET", "/v1/model", token, NULL), 503); /* not reloaded */
    ck_assert_int_eq(auth_keys_reload(svc.auth), 0);
    ck_assert_int_eq(status_of("GET", "/v1/model", token, NULL), 401);
    ck_assert_int_eq(status_of("GET", "/v1/model", second, NULL), 503);
    ck_assert_uint_eq(auth_keys_count(svc.auth), 1);
    /* a key used AUTH_MISS_RELOAD_MS after the last miss reload works on
     * its very first request: that request waits for the reload it starts
     * (at most AUTH_MISS_WAIT_MS). The revoked token's miss above starts
     * one more reload within a second: wait for that window to pass too. */
    char third[AUTH_TOKEN_LEN + 1];
    sleep_ms(2 * AUTH_MISS_RELOAD_MS + 200);
    key_create_only("read", third);
    ck_assert_int_eq(status_of("GET", "/v1/model", third, NULL), 503);
}
END_TEST

/* A deleted tenant's keys are refused at once by the process that deleted
 * it, not after the next reload: a tenant created again under the same id
 * right after opened to the deleted one's keys for up to 5 s (a batch of
 * the old owner's stored in the new tenant). */
START_TEST(test_deleted_tenant_keys)
{
    char out[4096], err[4096], platform[AUTH_TOKEN_LEN + 1], old[AUTH_TOKEN_LEN + 1];
    const char *pargs[] = {"create", "--scopes", "platform", "--tenant", "*", NULL};
    ck_assert_msg(run_key(svc.cfg.database_url, pargs, out, err, sizeof out) == 0, "%s",
                  err);
    snprintf(platform, sizeof platform, "%.*s", (int)AUTH_TOKEN_LEN, out);
    wait_known(platform);
    const char *body = "{\"id\":\"kx\"}";
    ck_assert_int_eq(status_of("POST", "/v1/tenants", platform, body), 201);
    const char *kargs[] = {"create", "--scopes", "ingest,read", "--tenant", "kx", NULL};
    ck_assert_msg(run_key(svc.cfg.database_url, kargs, out, err, sizeof out) == 0, "%s",
                  err);
    snprintf(old, sizeof old, "%.*s", (int)AUTH_TOKEN_LEN, out);
    wait_known(old);
    ck_assert_int_eq(status_of("GET", "/v1/tenants/kx/model", old, NULL), 503);
    ck_assert_int_eq(status_of("DELETE", "/v1/tenants/kx", platform, NULL), 204);
    ck_assert_int_eq(status_of("POST", "/v1/tenants", platform, body), 201);
    ck_assert_int_eq(status_of("POST", "/v1/tenants/kx/transactions", old, one_txn), 401);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);
}
END_TEST

/* The reload thread takes a revocation in within its interval. */
START_TEST(test_revoked_by_reload)
{
    testhttp_db_drop(&svc);
    start(300);
    char token[AUTH_TOKEN_LEN + 1];
    key_create("ingest,read", token);
    ck_assert_int_eq(status_of("GET", "/v1/model", token, NULL), 503);
    key_revoke(token);
    int status = 0;
    for (int i = 0; i < 40 && status != 401; i++) {
        sleep_ms(50);
        status = status_of("GET", "/v1/model", token, NULL);
    }
    ck_assert_int_eq(status, 401);
}
END_TEST

/* A batch whose key is revoked (and reloaded) while its body is still on
 * the way is refused 401 and nothing is stored: the key is checked again
 * before the write (docs/reliability.md). */
START_TEST(test_revoked_while_sending)
{
    char token[AUTH_TOKEN_LEN + 1], head[512];
    key_create("ingest", token);
    size_t len = strlen(one_txn), part = len / 2;
    int fd = testhttp_dial(svc.port);
    snprintf(head, sizeof head,
             "POST /v1/transactions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             token, len);
    testhttp_send_all(fd, head, strlen(head));
    testhttp_send_all(fd, one_txn, part);
    sleep_ms(100); /* the head is checked */
    key_revoke(token);
    ck_assert_int_eq(auth_keys_reload(svc.auth), 0);
    testhttp_send_all(fd, one_txn + part, len - part);
    testhttp_response r;
    ck_assert(testhttp_read(fd, &r, true));
    close(fd);
    r.json = json_loads(r.body, 0, NULL);
    testhttp_assert_problem(&r, 401, "unauthorized");
    testhttp_response_free(&r);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);
}
END_TEST

/* --------------------------------------------------------------- the CLI */

START_TEST(test_cli_keys)
{
    char out[8192], err[8192], token[AUTH_TOKEN_LEN + 1], id[AUTH_KEY_ID_LEN + 1];
    key_create("ingest,read", token);
    ck_assert(auth_token_parse(token, strlen(token), id));
    unsigned char hash[AUTH_HASH_LEN];
    char hash_hex[2 * AUTH_HASH_LEN + 1];
    ck_assert_int_eq(auth_token_hash(token, strlen(token), hash), 0);
    auth_hex(hash, AUTH_HASH_LEN, hash_hex);

    const char *list[] = {"list", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, list, out, err, sizeof out), 0);
    ck_assert_msg(strncmp(out, "ID\tNAME\tSCOPES\tCREATED\tREVOKED\tTENANT\n", 38) == 0,
                  "%s", out);
    char row[128];
    snprintf(row, sizeof row, "%s\ttest key\tingest,read\t", id);
    ck_assert_msg(strstr(out, row) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\t-\tdefault\n") != NULL, "not shown as valid: %s", out);
    ck_assert_msg(strstr(out, token + 5 + AUTH_KEY_ID_LEN) == NULL, "the secret listed");
    ck_assert_msg(strstr(out, hash_hex) == NULL, "the hash listed");

    /* the database holds the hash, never the token or its secret */
    store_db *db = testhttp_db_open(&svc);
    const char *vals[] = {token, token + 5 + AUTH_KEY_ID_LEN, id};
    PGresult *res = PQexecParams(
        db->conn,
        "SELECT count(*) FILTER (WHERE t.row_text LIKE '%' || $2 || '%'),"
        " count(*) FILTER (WHERE k.token_sha256 = sha256(convert_to($1, 'UTF8'))"
        "                    AND k.key_id = $3)"
        " FROM api_keys k, LATERAL (SELECT k::text AS row_text) t",
        3, NULL, vals, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(db->conn));
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "1");
    PQclear(res);
    store_db_close(db);

    const char *revoke[] = {"revoke", id, NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, revoke, out, err, sizeof out), 0);
    ck_assert_int_eq(run_key(svc.cfg.database_url, revoke, out, err, sizeof out), 0);
    ck_assert_msg(strstr(err, "revoked already") != NULL, "%s", err);
    ck_assert_int_eq(run_key(svc.cfg.database_url, list, out, err, sizeof out), 0);
    ck_assert_msg(strstr(out, "\t-\tdefault\n") == NULL, "still shown as valid: %s", out);

    /* errors: usage 2, database or unknown key 1 */
    const char *unknown[] = {"revoke", "0123456789ab", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, unknown, out, err, sizeof out), 1);
    ck_assert_msg(strstr(err, "no key 0123456789ab") != NULL, "%s", err);
    const char *no_scopes[] = {"create", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, no_scopes, out, err, sizeof out), 2);
    const char *bad_scope[] = {"create", "--scopes", "read,write", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, bad_scope, out, err, sizeof out), 2);
    const char *twice[] = {"create", "--scopes", "read,read", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, twice, out, err, sizeof out), 2);
    const char *bad_name[] = {"create", "--scopes", "read", "--name", "a\tb", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, bad_name, out, err, sizeof out), 2);
    ck_assert_str_eq(out, "");
    const char *list_arg[] = {"list", "x", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, list_arg, out, err, sizeof out), 2);
    const char *bogus[] = {"rotate", NULL};
    ck_assert_int_eq(run_key(svc.cfg.database_url, bogus, out, err, sizeof out), 2);
    const char *create[] = {"create", "--scopes", "read", NULL};
    ck_assert_int_eq(run_key(NULL, create, out, err, sizeof out), 1);
    ck_assert_msg(strstr(err, "DATABASE_URL") != NULL, "%s", err);
    ck_assert_str_eq(out, "");
}
END_TEST

/* -------------------------------------------------- ltvd serve's log */

/* Starts `ltvd serve` on svc's database with auth on, its log into path;
 * returns its pid once start-up is over and sets *port from the log. */
static pid_t serve_start(const char *path, int *port)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("DATABASE_URL", svc.cfg.database_url, 1);
        setenv("LTVD_LISTEN", "127.0.0.1:0", 1);
        setenv("LTVD_AUTH_REQUIRED", "true", 1);
        setenv("LTVD_THREAD_POOL_SIZE", "2", 1);
        setenv("LTVD_SHUTDOWN_DEADLINE_S", "2", 1);
        execl(ltvd_bin(), ltvd_bin(), "serve", (char *)NULL);
        _exit(127);
    }
    char log[16384];
    const char *at = NULL;
    for (int i = 0; i < 100 && (at == NULL || strstr(log, "msg=started in ") == NULL);
         i++) {
        sleep_ms(100);
        slurp(path, log, sizeof log);
        at = strstr(log, "listening on 127.0.0.1:");
    }
    ck_assert_msg(at != NULL, "no listening line: %s", log);
    *port = atoi(at + 23);
    return pid;
}

START_TEST(test_serve_logs_no_secrets)
{
    char token[AUTH_TOKEN_LEN + 1], log[65536], header[256],
        path[] = "/tmp/ltvd_auth_log_XXXXXX";
    key_create("ingest,read,admin", token);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    int port = 0;
    pid_t pid = serve_start(path, &port);
    int saved_port = svc.port;
    svc.port = port;
    static const char secret_customer_txn[] =
        "{\"transactions\":[{\"id\":\"t9\",\"customer_id\":\"cust-private-4711\","
        "\"occurred_at\":\"2024-01-02T10:00:00Z\",\"amount\":\"10.00\"}]}";
    ck_assert_int_eq(status_of("POST", "/v1/transactions", token, secret_customer_txn),
                     200);
    ck_assert_int_eq(status_of("GET", "/v1/customers/cust-private-4711", token, NULL),
                     503);
    ck_assert_int_eq(status_of("GET", "/v1/customers/cust-private-4711", NULL, NULL),
                     401);
    char wrong[AUTH_TOKEN_LEN + 1];
    snprintf(wrong, sizeof wrong, "%s", token);
    wrong[AUTH_TOKEN_LEN - 1] = wrong[AUTH_TOKEN_LEN - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(status_of("GET", "/v1/model", wrong, NULL), 401);
    snprintf(header, sizeof header, "Bearer %s trailing", token);
    ck_assert_int_eq(status_with("GET", "/v1/model", header, NULL), 401);
    svc.port = saved_port;
    kill(pid, SIGTERM);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    slurp(path, log, sizeof log);
    unlink(path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", log);
    ck_assert_msg(strstr(log, "api keys: ") != NULL, "keys not loaded: %s", log);

    unsigned char hash[AUTH_HASH_LEN];
    char hash_hex[2 * AUTH_HASH_LEN + 1], id[AUTH_KEY_ID_LEN + 1];
    ck_assert_int_eq(auth_token_hash(token, strlen(token), hash), 0);
    auth_hex(hash, AUTH_HASH_LEN, hash_hex);
    ck_assert(auth_token_parse(token, strlen(token), id));
    const char *never[] = {token + 5 + AUTH_KEY_ID_LEN,
                           wrong + 5 + AUTH_KEY_ID_LEN,
                           hash_hex,
                           id,
                           "cust-private-4711",
                           "Bearer"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        ck_assert_msg(strstr(log, never[i]) == NULL, "the log shows %s:\n%s", never[i],
                      log);
}
END_TEST

Suite *suite_auth(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_key);
    tcase_add_test(tc, test_malformed_and_unknown);
    tcase_add_test(tc, test_scopes);
    tcase_add_test(tc, test_open_and_metrics);
    tcase_add_test(tc, test_new_and_revoked);
    tcase_add_test(tc, test_revoked_by_reload);
    tcase_add_test(tc, test_deleted_tenant_keys);
    tcase_add_test(tc, test_revoked_while_sending);
    tcase_add_test(tc, test_cli_keys);
    tcase_add_test(tc, test_serve_logs_no_secrets);
    suite_add_tcase(s, tc);
    return s;
}
