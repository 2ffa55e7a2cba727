/* The HTTP test client and the in-process service fixture (see testhttp.h). */
#include "testhttp.h"

#include "app/app_metrics.h"
#include "app/db_wait.h"
#include "app/list_table.h"
#include "app/mode.h"
#include "app/tenant.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/api.h"
#include "http/customers.h"
#include "http/health.h"
#include "http/model.h"
#include "http/transactions.h"
#include "model/btyd.h"
#include "store/ingest.h"
#include "store/snapshot.h"
#include "summary/summary.h"
#include "testdb.h"
#include "testserve.h"

/* ------------------------------------------------------------ the client */

int testhttp_dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

void testhttp_send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        ck_assert_int_gt(n, 0);
        data += n;
        len -= (size_t)n;
    }
}

const char *testhttp_header(const testhttp_response *r, const char *name)
{
    static char value[512];
    return testserve_head_value(r->head, name, value, sizeof value) ? value : NULL;
}

/* Reads the status line and headers into r->head, up to the blank line and
 * not a byte further: what is waiting is peeked first, then only the
 * header's part of it consumed. Returns false on EOF or overflow. */
static bool read_head(int fd, testhttp_response *r)
{
    size_t got = 0;
    for (;;) {
        size_t room = sizeof r->head - 1 - got;
        if (room == 0)
            return false;
        ssize_t n = recv(fd, r->head + got, room, MSG_PEEK);
        if (n <= 0)
            return false;
        r->head[got + (size_t)n] = '\0';
        size_t from = got >= 3 ? got - 3 : 0;
        char *end = strstr(r->head + from, "\r\n\r\n");
        size_t take = end != NULL ? (size_t)(end + 4 - (r->head + got)) : (size_t)n;
        if (recv(fd, r->head + got, take, 0) != (ssize_t)take)
            return false;
        got += take;
        r->head[got] = '\0';
        if (end != NULL)
            return true;
    }
}

/* Reads one line (up to CRLF, which is dropped) into line[cap]. */
static bool read_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char c;
        if (recv(fd, &c, 1, 0) != 1 || n + 1 >= cap)
            return false;
        if (c == '\n') {
            line[n > 0 && line[n - 1] == '\r' ? n - 1 : n] = '\0';
            return true;
        }
        line[n++] = c;
    }
}

/* Reads a chunked body into r->body (it must fit), up to its last chunk
 * and the empty trailer, not a byte further. */
static bool read_chunked(int fd, testhttp_response *r)
{
    char line[128];
    for (;;) {
        if (!read_line(fd, line, sizeof line))
            return false;
        size_t size = strtoul(line, NULL, 16);
        if (size == 0)
            break;
        ck_assert_uint_lt(r->body_len + size, sizeof r->body);
        for (size_t got = 0; got < size;) {
            ssize_t n = recv(fd, r->body + r->body_len + got, size - got, 0);
            if (n <= 0)
                return false;
            got += (size_t)n;
        }
        r->body_len += size;
        if (!read_line(fd, line, sizeof line) || line[0] != '\0')
            return false;
    }
    do { /* trailer fields, then the empty line */
        if (!read_line(fd, line, sizeof line))
            return false;
    } while (line[0] != '\0');
    r->body[r->body_len] = '\0';
    return true;
}

bool testhttp_read(int fd, testhttp_response *r, bool with_body)
{
    r->status = 0;
    r->content_type[0] = '\0';
    r->body[0] = '\0';
    r->body_len = 0;
    r->json = NULL;
    if (!read_head(fd, r) || sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return false;
    if (!testserve_head_value(r->head, "Content-Type", r->content_type,
                              sizeof r->content_type))
        r->content_type[0] = '\0';
    const char *te = testhttp_header(r, "Transfer-Encoding");
    if (te != NULL && strcasecmp(te, "chunked") == 0)
        return !with_body || read_chunked(fd, r);
    const char *cl = testhttp_header(r, "Content-Length");
    size_t want = cl != NULL && with_body ? strtoul(cl, NULL, 10) : 0;
    ck_assert_uint_lt(want, sizeof r->body);
    while (r->body_len < want) {
        ssize_t n = recv(fd, r->body + r->body_len, want - r->body_len, 0);
        if (n <= 0)
            return false;
        r->body_len += (size_t)n;
    }
    r->body[r->body_len] = '\0';
    return true;
}

void testhttp_exchange(int port, const char *raw, testhttp_response *r)
{
    int fd = testhttp_dial(port);
    testhttp_send_all(fd, raw, strlen(raw));
    ck_assert_msg(testhttp_read(fd, r, strncmp(raw, "HEAD ", 5) != 0),
                  "no response to %.60s", raw);
    close(fd);
}

static void send_request(int fd, const char *method, const char *target, const char *body,
                         bool close_after)
{
    char head[2048];
    size_t blen = body != NULL ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: t\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, target, close_after ? "Connection: close\r\n" : "", blen);
    ck_assert_int_lt(n, (int)sizeof head);
    testhttp_send_all(fd, head, (size_t)n);
    if (blen > 0)
        testhttp_send_all(fd, body, blen);
}

void testhttp_request_on(int fd, const char *method, const char *target, const char *body,
                         testhttp_response *r)
{
    send_request(fd, method, target, body, false);
    ck_assert_msg(testhttp_read(fd, r, true), "no response to %s %s", method, target);
    r->json = json_loads(r->body, 0, NULL);
}

void testhttp_request(int port, const char *method, const char *target, const char *body,
                      testhttp_response *r)
{
    int fd = testhttp_dial(port);
    send_request(fd, method, target, body, true);
    ck_assert_msg(testhttp_read(fd, r, true), "no response to %s %s", method, target);
    close(fd);
    r->json = json_loads(r->body, 0, NULL);
}

void testhttp_response_free(testhttp_response *r)
{
    json_decref(r->json);
    r->json = NULL;
}

void testhttp_assert_problem(const testhttp_response *r, int status, const char *slug)
{
    char type[96];
    snprintf(type, sizeof type, "urn:ltvd:problem:%s", slug);
    ck_assert_msg(r->status == status, "want %d, got %d: %s", status, r->status, r->body);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    ck_assert_ptr_nonnull(r->json);
    ck_assert_str_eq(testhttp_jstr(r->json, "type"), type);
}

/* ------------------------------------------------------------------ JSON */

long long testhttp_jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "%s missing or not an integer", key);
    return (long long)json_integer_value(v);
}

double testhttp_jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "%s missing or not a number", key);
    return json_number_value(v);
}

const char *testhttp_jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "%s missing or not a string", key);
    return json_string_value(v);
}

/* ------------------------------------------------------- the service */

void testhttp_db_create(testhttp_app *t, const char *prefix)
{
    const char *url = getenv("DATABASE_URL");
    memset(t, 0, sizeof *t);
    ck_assert_msg(url != NULL && url[0] != '\0',
                  "DATABASE_URL is not set: run through scripts/with_pg.sh");
    snprintf(t->base_url, sizeof t->base_url, "%s", url);
    snprintf(t->dbname, sizeof t->dbname, "%s_%ld", prefix, (long)getpid());
    testdb_create(t->base_url, t->dbname);
    char err[CONFIG_ERR_MAX];
    config_defaults(&t->cfg);
    ck_assert(config_set(&t->cfg, "listen", "127.0.0.1:0", err));
    ck_assert(config_set(&t->cfg, "thread_pool_size", "2", err));
    ck_assert(config_set(&t->cfg, "auth_required", "false", err));
    testdb_url_with_db(t->base_url, t->dbname, t->cfg.database_url,
                       sizeof t->cfg.database_url);
}

void testhttp_db_drop(testhttp_app *t)
{
    testhttp_app_stop(t);
    if (t->base_url[0] != '\0' && t->dbname[0] != '\0')
        testdb_drop(t->base_url, t->dbname);
}

store_db *testhttp_db_open(const testhttp_app *t)
{
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(t->cfg.database_url, err);
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

long long testhttp_count_rows(const testhttp_app *t, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    store_db *db = testhttp_db_open(t);
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(db->conn));
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    store_db_close(db);
    return n;
}

void testhttp_app_start(testhttp_app *t, bool with_worker)
{
    char err[CONFIG_ERR_MAX];
    t->app = app_open(&t->cfg, "migrations", err);
    ck_assert_msg(t->app != NULL, "%s", err);
    if (with_worker)
        ck_assert(app_worker_start(t->app));
    char auth_err[AUTH_ERR_MAX];
    store_db_limits lim;
    app_db_limits(&t->cfg, &lim);
    t->auth = auth_keys_open(t->cfg.database_url, &lim,
                             t->auth_reload_ms > 0 ? t->auth_reload_ms : AUTH_RELOAD_MS,
                             auth_err);
    ck_assert_msg(t->auth != NULL, "%s", auth_err);
    t->server = http_server_new(&t->cfg);
    ck_assert_ptr_nonnull(t->server);
    http_server_set_auth(t->server, t->auth);
    ck_assert(http_server_add_routes(t->server, health_routes, health_nroutes));
    ck_assert(api_add_routes(t->server));
    http_server_set_app(t->server, t->app);
    http_server_set_tenants(t->server, app_http_tenant_acquire, app_http_tenant_release);
    http_server_set_readiness(t->server, app_ready, t->app);
    http_server_set_read_only(t->server, app_read_only, t->app);
    http_server_set_metrics_source(t->server, app_metrics_render, t->app);
    ck_assert_msg(http_server_start(t->server, err), "%s", err);
    t->port = http_server_port(t->server);
}

void testhttp_app_start_starting(testhttp_app *t)
{
    char err[CONFIG_ERR_MAX];
    t->app = app_new(&t->cfg, "migrations", err);
    ck_assert_msg(t->app != NULL, "%s", err);
    t->auth = auth_keys_new(AUTH_RELOAD_MS);
    ck_assert_ptr_nonnull(t->auth);
    t->server = http_server_new(&t->cfg);
    ck_assert_ptr_nonnull(t->server);
    http_server_set_auth(t->server, t->auth);
    ck_assert(http_server_add_probe_routes(t->server, health_routes, health_nroutes));
    ck_assert(api_add_routes(t->server));
    http_server_set_app(t->server, t->app);
    http_server_set_tenants(t->server, app_http_tenant_acquire, app_http_tenant_release);
    http_server_set_started(t->server, app_started, t->app);
    http_server_set_readiness(t->server, app_ready, t->app);
    http_server_set_read_only(t->server, app_read_only, t->app);
    http_server_set_metrics_source(t->server, app_metrics_render, t->app);
    ck_assert_msg(http_server_start(t->server, err), "%s", err);
    t->port = http_server_port(t->server);
}

void testhttp_app_stop(testhttp_app *t)
{
    if (t->server != NULL)
        http_server_stop(t->server, 2);
    http_server_free(t->server);
    auth_keys_free(t->auth);
    app_free(t->app);
    t->server = NULL;
    t->auth = NULL;
    t->app = NULL;
}

const char testhttp_batch[] = "{\"transactions\":["
                              "{\"id\":\"t1\",\"customer_id\":\"c1\",\"occurred_at\":"
                              "\"2025-01-06T10:00:00Z\",\"amount\":10},"
                              "{\"id\":\"t2\",\"customer_id\":\"c1\",\"occurred_at\":"
                              "\"2025-01-06T12:00:00Z\",\"amount\":\"5.5\"},"
                              "{\"id\":\"t3\",\"customer_id\":\"c1\",\"occurred_at\":"
                              "\"2025-03-03T09:00:00Z\",\"amount\":20.25},"
                              "{\"id\":\"t4\",\"customer_id\":\"c1\",\"occurred_at\":"
                              "\"2025-06-02T09:00:00+02:00\",\"amount\":30},"
                              "{\"id\":\"t1\",\"customer_id\":\"c2\",\"occurred_at\":"
                              "\"2025-02-01T00:00:00Z\",\"amount\":7}]}";

void testhttp_snapshot_save(const testhttp_app *t)
{
    store_snapshot s = {
        .as_of = 1767139200, /* 2025-12-31 */
        .period = "week",
        .purchase = {.model = "bgnbd",
                     .params_json =
                         "{\"r\": 0.243, \"alpha\": 4.414, \"a\": 0.793, \"b\": 2.426}",
                     .log_likelihood = -9582.4,
                     .n_customers = 2357,
                     .n_patterns = 1000,
                     .converged = true,
                     .iterations = 20},
        .has_spend = true,
        .spend = {.model = "gg",
                  .params_json = "{\"p\": 6.25, \"q\": 3.74, \"v\": 15.44}",
                  .converged = true},
        /* fitted under the test's settings, or it is not served */
        .settings_model = "bgnbd",
        .settings_as_of_set = t->cfg.has_as_of,
        .settings_as_of_day = t->cfg.as_of_day,
    };
    store_db *db = testhttp_db_open(t);
    ck_assert_msg(store_snapshot_save(db, &s) == 0, "%s", store_db_error(db));
    store_db_close(db);
}

/* see testhttp.h */
void testhttp_load_cdnow(const testhttp_app *t, const char *path)
{
    txn_set s;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(path, &s, err) == 0, "%s", err);
    store_item *items = calloc(s.n, sizeof *items);
    char(*ids)[24] = calloc(s.n, sizeof *ids);
    char(*amounts)[32] = calloc(s.n, sizeof *amounts);
    ck_assert(items != NULL && ids != NULL && amounts != NULL);
    for (size_t i = 0; i < s.n; i++) {
        snprintf(ids[i], sizeof ids[i], "t%zu", i);
        snprintf(amounts[i], sizeof amounts[i], "%.2f", s.items[i].amount);
        items[i] = (store_item){ids[i],     s.customer_ids[s.items[i].customer],
                                NULL,       s.items[i].day * 86400,
                                amounts[i], NULL,
                                NULL};
    }
    store_db *db = testhttp_db_open(t);
    store_batch_result r;
    ck_assert_msg(store_insert_batch(db, items, s.n, NULL, &r) == 0, "%s",
                  store_db_error(db));
    ck_assert_uint_eq(r.n_new, s.n);
    store_batch_result_free(&r);
    store_db_close(db);
    free(items);
    free(ids);
    free(amounts);
    txn_set_free(&s);
}

void testhttp_app_start_served(testhttp_app *t, const char *db_prefix)
{
    testhttp_db_create(t, db_prefix);
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t->cfg, "period", "week", err));
    ck_assert_msg(config_set(&t->cfg, "as_of", "2025-12-31", err), "%s", err);
    testhttp_app_start(t, false); /* the migrations */
    testhttp_snapshot_save(t);
    testhttp_app_stop(t);
    testhttp_app_start(t, false); /* with the snapshot */
}

const double testhttp_cdnow_bgnbd[4] = {0.242593, 4.413532, 0.792886, 2.425753};
const double testhttp_cdnow_bgnbd_se[4] = {0.0126, 0.378, 0.186, 0.705};
const double testhttp_cdnow_gg[3] = {6.248802, 3.744588, 15.447748};
const double testhttp_cdnow_gg_se[3] = {1.19, 0.29, 4.16};

void testhttp_set_cdnow_model(testhttp_app *t, uint64_t version, double as_of)
{
    cache_model m = {.model = &bgnbd_model,
                     .has_spend = true,
                     .period_days = 7,
                     .version = version,
                     .as_of = as_of,
                     .fitted_at = 1e9};
    memcpy(m.params, testhttp_cdnow_bgnbd, sizeof testhttp_cdnow_bgnbd);
    memcpy(m.fit.std_errors, testhttp_cdnow_bgnbd_se, sizeof testhttp_cdnow_bgnbd_se);
    m.fit.std_errors_ok = true;
    memcpy(m.gg_params, testhttp_cdnow_gg, sizeof testhttp_cdnow_gg);
    memcpy(m.gg_fit.std_errors, testhttp_cdnow_gg_se, sizeof testhttp_cdnow_gg_se);
    m.gg_fit.std_errors_ok = true;
    ck_assert_int_eq(cache_snapshot_set(t->app->dflt->cache, &m), CACHE_OK);
}

size_t testhttp_wait_ranked(const testhttp_app *t, long timeout_ms)
{
    size_t bytes;
    ck_assert(app_list_start(t->app->dflt));
    for (long i = 0; i < timeout_ms / 10 && !app_list_table_ready(t->app->dflt, &bytes);
         i++)
        usleep(10000);
    ck_assert_msg(app_list_table_ready(t->app->dflt, &bytes),
                  "no ranked score table after %ld ms", timeout_ms);
    return bytes;
}
