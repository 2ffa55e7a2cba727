/* Helpers shared by the suites that speak HTTP to a server (http, api,
 * worker, integration): a blocking raw-socket HTTP/1.1 client that reads
 * Content-Length framed (or chunked) responses, JSON accessors, and the in-process
 * service (app, optional refit worker, every route) on a database of its
 * own on a free loopback port. Failures are check assertions. */
#ifndef LTVD_TESTS_TESTHTTP_H
#define LTVD_TESTS_TESTHTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "auth/auth.h"
#include "config/config.h"
#include "http/server.h"
#include "store/db.h"

/* ---- the client ------------------------------------------------------------ */

typedef struct testhttp_response {
    int status;
    char head[4096];        /* status line and headers, NUL-terminated */
    char content_type[128]; /* the Content-Type header, "" when absent */
    char body[262144];      /* NUL-terminated (a page of 100 documents: ~100 KB) */
    size_t body_len;
    json_t *json; /* the body parsed, or NULL; owned, see testhttp_response_free */
} testhttp_response;

/* A connected TCP socket to 127.0.0.1:port with 5 s send/receive timeouts. */
int testhttp_dial(int port);

/* Sends all of data on fd. */
void testhttp_send_all(int fd, const char *data, size_t len);

/* Reads one response from fd without reading past it (so the next response
 * on a keep-alive connection stays in the socket); a chunked body is
 * decoded (it must fit r->body). With with_body false
 * (the answer to a HEAD) no body is read. r->json is left NULL. Returns false
 * when the connection ended before a whole response. */
bool testhttp_read(int fd, testhttp_response *r, bool with_body);

/* Sends the raw request text on a fresh connection and reads the response
 * (its body unless raw is a HEAD request); r->json is left NULL. */
void testhttp_exchange(int port, const char *raw, testhttp_response *r);

/* Sends method target (with body, as application/json, when not NULL) on
 * the open connection fd, keep-alive, and reads the response; r->json is
 * the body parsed (or NULL). Free with testhttp_response_free. */
void testhttp_request_on(int fd, const char *method, const char *target, const char *body,
                         testhttp_response *r);

/* testhttp_request_on on a fresh connection, closed afterwards
 * (Connection: close). Free r with testhttp_response_free. */
void testhttp_request(int port, const char *method, const char *target, const char *body,
                      testhttp_response *r);

/* Releases r->json (r itself is the caller's). */
void testhttp_response_free(testhttp_response *r);

/* Checks that r is the problem+json answer urn:ltvd:problem:<slug> with
 * status (check failures otherwise; r->json must be parsed). */
void testhttp_assert_problem(const testhttp_response *r, int status, const char *slug);

/* The value of header name in r (case-insensitive name), into a static
 * buffer overwritten by the next call; NULL when absent. */
const char *testhttp_header(const testhttp_response *r, const char *name);

/* ---- JSON --------------------------------------------------------------------- */

/* o[key] as an integer / a number / a string; a check failure when missing
 * or of another type. */
long long testhttp_jint(json_t *o, const char *key);
double testhttp_jnum(json_t *o, const char *key);
const char *testhttp_jstr(json_t *o, const char *key);

/* ---- the in-process service --------------------------------------------------- */

typedef struct testhttp_app {
    char base_url[2048]; /* DATABASE_URL of the run */
    char dbname[64];     /* the suite's own database */
    ltvd_config cfg;     /* adjust between testhttp_db_create and _app_start */
    long auth_reload_ms; /* the API keys' reload interval; 0 = AUTH_RELOAD_MS */
    app *app;
    auth_keys *auth; /* the API keys, loaded by testhttp_app_start */
    http_server *server;
    int port;
} testhttp_app;

/* Creates the database <prefix>_<pid> on DATABASE_URL (dropping one left
 * over) and sets t->cfg to the defaults with listen 127.0.0.1:0, two server
 * threads, auth_required false (the /v1 endpoints need no API key; the auth
 * suite sets it back) and database_url naming that database. A check
 * failure when DATABASE_URL is not set. */
void testhttp_db_create(testhttp_app *t, const char *prefix);

/* Stops the service when running and drops the database. */
void testhttp_db_drop(testhttp_app *t);

/* A connection to t's database (close with store_db_close). */
store_db *testhttp_db_open(const testhttp_app *t);

/* Stores every transaction of a transactions CSV (the CDNOW sample) with
 * ids "t<row>", checking they are all new. */
void testhttp_load_cdnow(const testhttp_app *t, const char *path);

/* The CDNOW sample's weekly fits as lifetimes reports them: BG/NBD (r,
 * alpha, a, b) and Gamma-Gamma (p, q, v), with standard errors. */
extern const double testhttp_cdnow_bgnbd[4], testhttp_cdnow_bgnbd_se[4];
extern const double testhttp_cdnow_gg[3], testhttp_cdnow_gg_se[3];

/* Serves those fits (period a week) as t's default tenant's snapshot, with
 * this version and as_of (UTC seconds; 0: not set). */
void testhttp_set_cdnow_model(testhttp_app *t, uint64_t version, double as_of);

/* SELECT count(*) FROM table in t's database (a check failure on an error). */
long long testhttp_count_rows(const testhttp_app *t, const char *table);

/* Opens the app on t->cfg (migrations from ./migrations), starts its refit
 * worker when with_worker, loads the API keys, serves every route of `ltvd
 * serve` with its readiness check, and sets t->port. */
void testhttp_app_start(testhttp_app *t, bool with_worker);

/* The state of `ltvd serve` while it starts: an app not loaded (app_new:
 * no database touched), API keys not loaded yet, every route of `ltvd
 * serve` behind the start-up check (the probe routes answer, the others
 * 503 `starting`), and t->port. */
void testhttp_app_start_starting(testhttp_app *t);

/* Stops the server (2 s for requests in flight) and frees the app. */
void testhttp_app_stop(testhttp_app *t);

/* The batch the api and openapi suites post: c1 buys on three days (two
 * items on the first, one with a +02:00 offset, one amount as a string),
 * c2 once (with c1's first item id: ids are per customer). */
extern const char testhttp_batch[];

/* Saves in t's database the snapshot the api and openapi suites score with:
 * CDNOW-like BG/NBD and Gamma-Gamma parameters, weekly, as of 2025-12-31. */
void testhttp_snapshot_save(const testhttp_app *t);

/* Starts t's list keeper (default tenant) and waits, at most timeout_ms,
 * for its score table of the current model and day to be complete and
 * ranked (a check failure after that): documents carry
 * predicted_ltv_percentile only then, so a list item and a single GET, or
 * two services, compare equal only once it is. Returns the table's bytes. */
size_t testhttp_wait_ranked(const testhttp_app *t, long timeout_ms);

/* A fresh database named after db_prefix, the service on it with period
 * week and as_of 2025-12-31, and a snapshot of its parameters served
 * (saved, then the app restarted to load it). Stop with testhttp_app_stop
 * and testhttp_db_drop. */
void testhttp_app_start_served(testhttp_app *t, const char *db_prefix);

#endif
