/* Helpers shared by the tenant suites (test_tenants.c, test_tenants_life.c):
 * requests with an API key, SQL counts per tenant, keys and snapshots of a
 * tenant, the in-process service on a fresh database, and the CDNOW sample
 * in two tenants (`default`, and a transformed copy in `acme`). Failures
 * are check assertions. */
#ifndef LTVD_TESTS_TESTTENANT_H
#define LTVD_TESTS_TESTTENANT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_token.h"
#include "testhttp.h"

#define CDNOW_CSV "tests/data/cdnow_sample_transactions.csv"
#define CDNOW_AS_OF "1997-09-30"
#define CDNOW_CUSTOMERS 2357
#define ACME_MARGIN "0.5"
#define ACME_SHIFT_DAYS 10 /* acme's purchases are 10 days earlier */
#define TESTTENANT_PAGE 50 /* list page size: a page fits testhttp's body */

/* ---- requests and SQL ------------------------------------------------------------- */

/* One request to port (Connection: close) with the API key token (NULL:
 * none) and, when body is not NULL, an application/json body. r->json is
 * the body parsed; free with testhttp_response_free. */
void testtenant_call(int port, const char *method, const char *target, const char *token,
                     const char *body, testhttp_response *r);

/* testtenant_call without a key, asserting the status want; the parsed
 * body is returned (caller decrefs; NULL for an empty one). */
json_t *testtenant_call_ok(int port, const char *method, const char *target,
                           const char *body, int want);

/* testtenant_call_ok, the body dropped. */
void testtenant_call_ok0(int port, const char *method, const char *target,
                         const char *body, int want);

/* The integer a query (printf format) gives on t's database. */
long long testtenant_sql_count(const testhttp_app *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs sql (no result rows) on t's database. */
void testtenant_sql_exec(const testhttp_app *t, const char *sql);

/* Every row tenant holds: transactions, customer_days, model_snapshots,
 * api_keys with its tenant_id, and its tenants row. */
long long testtenant_rows(const testhttp_app *t, const char *tenant);

/* A new key of tenant ("*": a platform key) with scopes (AUTH_SCOPE_
 * bits), known to t's service when this returns: its token into token. */
void testtenant_key_make(testhttp_app *t, const char *tenant, unsigned scopes,
                         char token[AUTH_TOKEN_LEN + 1]);

/* Saves for tenant the snapshot testhttp_snapshot_save saves for default
 * (CDNOW-like BG/NBD and Gamma-Gamma, weekly, as of 2025-12-31, fitted
 * under t's settings), its BG/NBD r scaled by r_scale. */
void testtenant_snapshot_save(const testhttp_app *t, const char *tenant, double r_scale);

/* testtenant_snapshot_save for a tenant with its own as_of (a UTC day
 * number). */
void testtenant_snapshot_save_at(const testhttp_app *t, const char *tenant,
                                 double r_scale, int64_t as_of_day);

/* ---- the service ------------------------------------------------------------------ */

/* The in-process service on a fresh database named after prefix, period
 * week as of 2025-12-31, no API keys needed, no worker. */
void testtenant_start_weekly(testhttp_app *t, const char *prefix);

/* testhttp_app_stop, and start again on the same database (no worker). */
void testtenant_restart(testhttp_app *t);

/* POST /v1/tenants {"id": id, "settings": settings (JSON text; NULL:
 * none)}: 201. */
void testtenant_create(int port, const char *id, const char *settings);

/* Every page of prefix/customers (TESTTENANT_PAGE a page): the number of
 * customers; keep(id) must accept each, and no id comes twice. */
long testtenant_walk_list(int port, const char *prefix, bool (*keep)(const char *id));

/* The "customers" of GET /v1/tenants/{tenant}. */
long long testtenant_customers(int port, const char *tenant);

/* keep functions of testtenant_walk_list: any id; acme's (not a multiple
 * of 5). */
bool testtenant_any_id(const char *id);
bool testtenant_acme_id(const char *id);

/* ---- the CDNOW sample per tenant ----------------------------------------------------
 */

/* acme's data into the CSV out: the CDNOW sample without every fifth
 * customer (ids 5, 10, ...), each purchase ACME_SHIFT_DAYS earlier and
 * twice the amount. Returns its number of customers. */
long testtenant_write_acme_csv(const char *out);

/* Stores every transaction of csv for tenant, ids "t<row>", straight into
 * PostgreSQL (as `ltvd import --tenant` does). Returns their number. */
long testtenant_load_csv(const testhttp_app *t, const char *tenant, const char *csv);

/* GET prefix/model until the model of customers customers is served
 * (60 s). Returns the model document (caller decrefs). */
json_t *testtenant_await_model(int port, const char *prefix, long customers);

/* The service with its worker on a fresh database, as of the CDNOW
 * sample's end, weekly BG/NBD, refitting only when asked: `default` holds
 * the CDNOW sample and `acme` (margin ACME_MARGIN) its transformed copy
 * (written to acme_csv), stored before the service starts, so that each
 * worker's first fit (at start: no model yet) sees all of its tenant's
 * data and no other fit follows. *acme_n: acme's customers; models[0..1]:
 * default's and acme's model documents (caller decrefs). */
void testtenant_start_two_fitted(testhttp_app *t, const char *acme_csv, long *acme_n,
                                 json_t *models[2]);

#endif
