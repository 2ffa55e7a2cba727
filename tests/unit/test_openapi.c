/* openapi.yaml against the service. Without a server: the file lints (every
 * $ref resolves, only keywords the validator implements), the routing
 * tables `ltvd serve` registers equal its (method, path) pairs, and the
 * problem registry (src/http/problem.c) equals its ProblemType rows. With the
 * real server in-process on a real PostgreSQL, over raw sockets: every
 * documented operation answers each status the test can provoke (all but
 * 500), each answer's status is documented for the operation, its
 * Content-Type is a documented media type and its body validates against
 * the documented schema (and stops validating when a member is removed or
 * changes type); undocumented paths and methods get 404 and 405 problems;
 * and while the service starts (app and keys not loaded yet) every /v1
 * operation answers its documented 503 `starting`, a private /metrics asked
 * with a token too.
 * GET /v1/customers, lifecycle_stage and as_of have a test of their own.
 * API keys: each operation's `security` and `x-ltvd-scope` equal the access
 * table (src/http/access.c), and with auth_required every operation that
 * needs a key answers the documented 401 (no key, bad keys; WWW-Authenticate)
 * and 403 (a key without its scope, the detail naming it).
 * The HTTP checking is openapi_http.c, the YAML and the validator
 * openapi_check.c. Needs DATABASE_URL; works in a database of its own,
 * ltvd_oa_<pid>, dropped at the end. Run from the repository root. */
#include <check.h>
#include <ctype.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_store.h"
#include "auth/auth_token.h"
#include "http/access.h"
#include "http/api.h"
#include "http/health.h"
#include "http/problem.h"
#include "openapi_check.h"
#include "openapi_http.h"
#include "testdb.h"
#include "testhttp.h"

#define SPEC_PATH "openapi.yaml"
#define MAX_BODY 4096
#define MAX_URL 512
#define BEARER_TEXT (AUTH_TOKEN_LEN + 16)

/* The routing tables `ltvd serve` registers (src/cli/cli_serve.c): group
 * 0 is the health routes, the others the v1 API (http/api.c). NULL past
 * the last group. */
static const http_route *route_group(size_t g, size_t *n)
{
    if (g > api_ngroups)
        return NULL;
    *n = g == 0 ? health_nroutes : *api_groups[g - 1].n;
    return g == 0 ? health_routes : api_groups[g - 1].routes;
}

static json_t *spec;
static testhttp_app svc;

/* ---- the spec ------------------------------------------------------------------ */

static void spec_load(void)
{
    char err[OA_ERR_MAX];
    spec = oa_load(SPEC_PATH, err);
    ck_assert_msg(spec != NULL, "%s", err);
}

static void spec_free(void)
{
    json_decref(spec);
    spec = NULL;
}

/* ---- API keys in the spec
 * -------------------------------------------------------------- */

static const struct {
    unsigned bit;
    const char *name;
} scope_names[] = {{AUTH_SCOPE_INGEST, "ingest"},
                   {AUTH_SCOPE_READ, "read"},
                   {AUTH_SCOPE_ADMIN, "admin"}};

/* The AUTH_SCOPE_ bits of op's x-ltvd-scope (a list of scope names, any one
 * of which will do); 0 when it has none. */
static unsigned spec_scopes(const json_t *op, const char *what)
{
    const json_t *list = json_object_get(op, "x-ltvd-scope");
    if (list == NULL)
        return 0;
    ck_assert_msg(json_is_array(list) && json_array_size(list) > 0,
                  "%s: x-ltvd-scope is not a list of scopes", what);
    unsigned bits = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        int b = json_is_string(v) ? auth_scopes_parse(json_string_value(v)) : -1;
        ck_assert_msg(b > 0 && (b & (b - 1)) == 0 && (bits & (unsigned)b) == 0,
                      "%s: x-ltvd-scope: item %zu is not one scope, or a repeated one",
                      what, i);
        bits |= (unsigned)b;
    }
    return bits;
}

/* The names of bits in the order ingest, read, admin, each between pre and
 * post, joined by " or ": ("`", "`") gives "`read` or `admin`". */
static void scope_text(unsigned bits, const char *pre, const char *post, char *out,
                       size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
        if (bits & scope_names[i].bit)
            snprintf(out + strlen(out), size - strlen(out), "%s%s%s%s",
                     out[0] ? " or " : "", pre, scope_names[i].name, post);
}

/* op's security list: whether it holds an empty requirement (no key
 * needed) and one of bearerAuth. Every scheme it names is defined, with an
 * empty scope list (scopes are for OAuth2; ours are x-ltvd-scope). */
static void spec_security(const json_t *op, const char *what, bool *open, bool *bearer)
{
    const json_t *sec = json_object_get(op, "security");
    ck_assert_msg(json_is_array(sec), "%s: no security list", what);
    *open = json_array_size(sec) == 0;
    *bearer = false;
    size_t i;
    const json_t *req;
    json_array_foreach(sec, i, req)
    {
        ck_assert_msg(json_is_object(req), "%s: security item %zu is not an object", what,
                      i);
        *open = *open || json_object_size(req) == 0;
        const char *name;
        const json_t *scopes;
        json_object_foreach((json_t *)req, name, scopes)
        {
            char ref[128];
            snprintf(ref, sizeof ref, "#/components/securitySchemes/%s", name);
            ck_assert_msg(oa_pointer(spec, ref) != NULL, "%s: no security scheme %s",
                          what, name);
            ck_assert_msg(json_is_array(scopes) && json_array_size(scopes) == 0,
                          "%s: %s with a scope list (the scope is x-ltvd-scope)", what,
                          name);
            *bearer = *bearer || strcmp(name, "bearerAuth") == 0;
        }
    }
}

/* ---- the server -----------------------------------------------------------------------
 */

static void setup(void)
{
    gsl_set_error_handler_off();
    spec_load();
    testhttp_db_create(&svc, "ltvd_oa");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "max_batch_items", "5", err));
    ck_assert(config_set(&svc.cfg, "max_body_bytes", "4096", err));
    ck_assert(config_set(&svc.cfg, "max_url_bytes", "512", err));
    ck_assert(config_set(&svc.cfg, "period", "week", err));
    ck_assert(config_set(&svc.cfg, "refit_interval_s", "3600", err));
    ck_assert_msg(config_set(&svc.cfg, "as_of", "2025-12-31", err), "%s", err);
    testhttp_app_start(&svc, false);
    oa_http_use(spec, &svc.port);
}

static void teardown(void)
{
    testhttp_db_drop(&svc);
    spec_free();
}

static void restart(bool worker)
{
    testhttp_app_stop(&svc);
    testhttp_app_start(&svc, worker);
}

static void admin_exec(const char *fmt)
{
    char sql[256];
    snprintf(sql, sizeof sql, fmt, svc.dbname);
    testdb_admin_exec(svc.base_url, sql);
}

/* ---- the scenarios
 * ---------------------------------------------------------------------------- */

static const char *const batch1 = testhttp_batch;
static const oa_req json_batch1 = {.content_type = "application/json",
                                   .body = testhttp_batch};

static void check_transactions(void)
{
    const char *tx = "/v1/transactions";
    oa_response r;
    oa_call("POST", tx, tx, &json_batch1, 200, &r);
    oa_check_mutations("POST", tx, &r);
    oa_response_free(&r);
    oa_call0("POST", tx, tx, &json_batch1, 200); /* duplicates */
    oa_req o = {.content_type = "application/json", .body = "{\"transactions\":["};
    oa_call0("POST", tx, tx, &o, 400);
    o.body = "{\"transactions\":[1,2,3,4,5,6]}";
    oa_call0("POST", tx, tx, &o, 413); /* too-many-items */
    o.body = "{\"transactions\":[1,{\"id\":\"n2\",\"customer_id\":\"c3\",\"occurred_at\":"
             "\"2025-01-02T00:00:00Z\",\"amount\":-1}],\"extra\":1}";
    oa_call("POST", tx, tx, &o, 422, &r);
    ck_assert_msg(json_array_size(json_object_get(r.json, "errors")) >= 3, "%s", r.body);
    oa_check_mutations("POST", tx, &r);
    oa_response_free(&r);
    o.content_type = "text/plain";
    oa_call0("POST", tx, tx, &o, 415);
}

/* The acquisition inputs (docs/acquisition.md): a customer's attributes
 * and the spend, every documented status but 500. */
static void check_acquisition(void)
{
    const char *at = "/v1/customers/{customer_id}/attributes",
               *sp = "/v1/acquisition/spend";
    oa_req o = {.content_type = "application/json",
                .body = "{\"acquisition_channel\":\"search\",\"campaign\":null}"};
    oa_response r;
    oa_call("PUT", at, "/v1/customers/c1/attributes", &o, 200, &r);
    oa_check_mutations("PUT", at, &r);
    oa_response_free(&r);
    oa_call0("PUT", at, "/v1/customers/nobody/attributes", &o, 404);
    oa_call0("PUT", at, "/v1/tenants/nobody/customers/c1/attributes", &o, 404);
    o.body = "{\"acquisition_channel\":\"\",\"x\":1}";
    oa_call("PUT", at, "/v1/customers/c1/attributes", &o, 422, &r);
    ck_assert_msg(json_array_size(json_object_get(r.json, "errors")) == 3, "%s", r.body);
    oa_response_free(&r);
    o.body = "{";
    oa_call0("PUT", at, "/v1/customers/c1/attributes", &o, 400);
    o.content_type = "text/plain";
    oa_call0("PUT", at, "/v1/customers/c1/attributes", &o, 415);
    o = (oa_req){.content_type = "application/json",
                 .body = "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-01\","
                         "\"spend\":100.5,\"leads\":40},{\"channel\":\"search\","
                         "\"month\":\"2025-02\",\"spend\":\"12.25\"}]}"};
    oa_call("PUT", sp, sp, &o, 200, &r); /* c1's channel: known */
    oa_check_mutations("PUT", sp, &r);
    oa_response_free(&r);
    o.body = "{\"items\":[{\"channel\":\"nowhere\",\"month\":\"2025-01\",\"spend\":1}]}";
    oa_call0("PUT", sp, sp, &o, 422); /* an unknown channel */
    o.body = "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-01\",\"spend\":1}]}";
    oa_call0("PUT", sp, "/v1/tenants/nobody/acquisition/spend", &o, 404);
    o.body = "{\"items\":[{\"channel\":\"\",\"month\":\"1999-13\",\"spend\":-1}]}";
    oa_call("PUT", sp, sp, &o, 422, &r);
    ck_assert_msg(json_array_size(json_object_get(r.json, "errors")) == 3, "%s", r.body);
    oa_response_free(&r);
    o.body = "[";
    oa_call0("PUT", sp, sp, &o, 400);
    o.content_type = "text/plain";
    oa_call0("PUT", sp, sp, &o, 415);
    oa_call("GET", sp, "/v1/acquisition/spend?limit=1", NULL, 200, &r);
    oa_check_mutations("GET", sp, &r);
    ck_assert_msg(json_is_string(json_object_get(r.json, "next_cursor")), "%s", r.body);
    oa_response_free(&r);
    oa_call0("GET", sp, "/v1/acquisition/spend?limit=0", NULL, 400);
    oa_call0("GET", sp, "/v1/tenants/nobody/acquisition/spend", NULL, 404);
}

/* The subscription endpoints (issue 11, part B), every documented status
 * but 500 and those of every route (401, 403, 404 tenant, 413, 414, 503). */
static void check_subscriptions(void)
{
    const char *post = "/v1/subscriptions", *one = "/v1/subscriptions/{subscription_id}",
               *ret = "/v1/subscriptions/retention";
    oa_req o = {.content_type = "application/json",
                .body = "{\"items\":[{\"id\":\"1\",\"customer_id\":\"c1\","
                        "\"subscription_id\":\"s1\",\"event\":\"start\","
                        "\"occurred_at\":\"2025-01-05T00:00:00Z\",\"amount\":9.5,"
                        "\"billing_period\":\"month\"},{\"id\":\"2\",\"customer_id\":"
                        "\"c1\",\"subscription_id\":\"s1\",\"event\":\"renew\","
                        "\"occurred_at\":\"2025-02-05T00:00:00Z\",\"amount\":\"9.5\","
                        "\"billing_period\":\"month\"}]}"};
    oa_response r;
    oa_call("POST", post, post, &o, 200, &r);
    oa_check_mutations("POST", post, &r);
    oa_response_free(&r);
    oa_call0("POST", post, post, &o, 200); /* duplicates */
    o.body = "{\"items\":[";
    oa_call0("POST", post, post, &o, 400);
    o.body = "{\"items\":[1,2,3,4,5,6]}";
    oa_call0("POST", post, post, &o, 413);
    o.body = "{\"items\":[1,{\"id\":\"3\",\"customer_id\":\"c1\",\"subscription_id\":"
             "\"s9\",\"event\":\"renew\",\"occurred_at\":\"2025-01-02T00:00:00Z\","
             "\"amount\":1,\"billing_period\":\"month\"}]}";
    oa_call("POST", post, post, &o, 422, &r);
    oa_response_free(&r);
    o.body = "{\"items\":[{\"id\":\"3\",\"customer_id\":\"c1\",\"subscription_id\":"
             "\"s9\",\"event\":\"renew\",\"occurred_at\":\"2025-01-02T00:00:00Z\","
             "\"amount\":1,\"billing_period\":\"month\"}]}";
    oa_call("POST", post, post, &o, 422, &r); /* a renew without a start */
    oa_response_free(&r);
    o.content_type = "text/plain";
    oa_call0("POST", post, post, &o, 415);
    oa_call("GET", one, "/v1/subscriptions/s1", NULL, 200, &r);
    oa_check_mutations("GET", one, &r);
    oa_response_free(&r);
    oa_call0("GET", one, "/v1/subscriptions/nosuch", NULL, 404);
    oa_call0("GET", one, "/v1/subscriptions/s1?horizon_periods=1201", NULL, 400);
    oa_call("GET", ret, ret, NULL, 200, &r);
    oa_check_mutations("GET", ret, &r);
    oa_response_free(&r);
    oa_call0("GET", ret, "/v1/subscriptions/retention?horizon_periods=x", NULL, 400);
    oa_call0("GET", ret, "/v1/tenants/nobody/subscriptions/retention", NULL, 404);
    oa_call0("POST", post, "/v1/tenants/nobody/subscriptions", NULL, 404);
}

/* The tenants' management and a customer's erasure, every documented
 * status (docs/tenants.md). */
static void check_tenants(void)
{
    const char *all = "/v1/tenants", *one = "/v1/tenants/{tenant}";
    oa_req o = {.content_type = "application/json",
                .body = "{\"id\":\"acme\",\"settings\":{\"currency\":\"EUR\"}}"};
    oa_response r;
    oa_call("POST", all, all, &o, 201, &r);
    oa_check_mutations("POST", all, &r);
    oa_response_free(&r);
    oa_call0("POST", all, all, &o, 409);
    o.body = "{\"id\":\"Bad Id\",\"settings\":{\"margin\":2,\"x\":1}}";
    oa_call("POST", all, all, &o, 422, &r);
    ck_assert_msg(json_array_size(json_object_get(r.json, "errors")) >= 3, "%s", r.body);
    oa_response_free(&r);
    o.body = "{\"id\":";
    oa_call0("POST", all, all, &o, 400);
    o.content_type = "text/plain";
    oa_call0("POST", all, all, &o, 415);
    oa_call("GET", all, "/v1/tenants?limit=1", NULL, 200, &r);
    oa_check_mutations("GET", all, &r);
    ck_assert_msg(json_is_string(json_object_get(r.json, "next_cursor")), "%s", r.body);
    oa_response_free(&r);
    oa_call0("GET", all, "/v1/tenants?limit=0", NULL, 400);
    oa_call("GET", one, "/v1/tenants/acme", NULL, 200, &r);
    oa_check_mutations("GET", one, &r);
    oa_response_free(&r);
    oa_call0("GET", one, "/v1/tenants/nobody", NULL, 404);
    o = (oa_req){.content_type = "application/json",
                 .body = "{\"settings\":{\"horizon_days\":90,\"currency\":null}}"};
    oa_call("PATCH", one, "/v1/tenants/acme", &o, 200, &r);
    oa_check_mutations("PATCH", one, &r);
    oa_response_free(&r);
    oa_call0("PATCH", one, "/v1/tenants/nobody", &o, 404);
    o.body = "{\"settings\":{\"as_of\":\"2020-01-01\"}}";
    oa_call0("PATCH", one, "/v1/tenants/acme", &o, 422);
    o.body = "[";
    oa_call0("PATCH", one, "/v1/tenants/acme", &o, 400);
    o.content_type = "text/plain";
    oa_call0("PATCH", one, "/v1/tenants/acme", &o, 415);
    /* a tenant's routes, and the erasure of one of its customers */
    const char *tx = "/v1/transactions", *cust = "/v1/customers/{customer_id}";
    oa_call0("POST", tx, "/v1/tenants/acme/transactions", &json_batch1, 200);
    oa_call0("GET", cust, "/v1/tenants/nobody/customers/c1", NULL, 404);
    oa_call0("POST", tx, "/v1/tenants/nobody/transactions", &json_batch1, 404);
    oa_call0("GET", "/v1/model", "/v1/tenants/no_body/model", NULL, 404);
    oa_call0("POST", "/v1/model/refit", "/v1/tenants/Bad/model/refit", NULL, 404);
    oa_call0("DELETE", cust, "/v1/tenants/acme/customers/c1", NULL, 204);
    oa_call0("DELETE", cust, "/v1/tenants/acme/customers/c1", NULL, 404);
    oa_call0("DELETE", one, "/v1/tenants/acme", NULL, 204);
    oa_call0("DELETE", one, "/v1/tenants/acme", NULL, 404);
    oa_call0("DELETE", one, "/v1/tenants/default", NULL, 409);
}

/* GET /v1/model/diagnostics and /v1/model/history without a model. */
static void check_diag_no_model(void)
{
    const char *diag = "/v1/model/diagnostics", *hist = "/v1/model/history";
    oa_call0("GET", diag, diag, NULL, 503);
    oa_call0("GET", diag, "/v1/model/diagnostics?limit=1", NULL, 400);
    oa_call0("GET", diag, "/v1/tenants/nobody/model/diagnostics", NULL, 404);
    oa_response r;
    oa_call("GET", hist, hist, NULL, 200, &r);
    ck_assert_msg(strcmp(r.body, "{\"snapshots\":[]}") == 0, "%s", r.body);
    oa_response_free(&r);
    oa_call0("GET", hist, "/v1/model/history?limit=0", NULL, 400);
    oa_call0("GET", hist, "/v1/model/history?limit=101", NULL, 400);
    oa_call0("GET", hist, "/v1/model/history?limit=x", NULL, 400);
    oa_call0("GET", hist, "/v1/model/history?since=1", NULL, 400);
    oa_call0("GET", hist, "/v1/tenants/nobody/model/history", NULL, 404);
}

/* The same with a snapshot saved by hand (no back-test: pending). */
static void check_diag_with_model(void)
{
    const char *diag = "/v1/model/diagnostics", *hist = "/v1/model/history";
    oa_response r;
    oa_call("GET", diag, diag, NULL, 200, &r);
    ck_assert_msg(json_is_null(json_object_get(r.json, "backtest")), "%s", r.body);
    ck_assert_msg(json_is_string(json_object_get(r.json, "reason")), "%s", r.body);
    oa_check_mutations("GET", diag, &r);
    oa_response_free(&r);
    oa_call("GET", hist, "/v1/model/history?limit=5", NULL, 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "snapshots")), 1);
    oa_check_mutations("GET", hist, &r);
    oa_response_free(&r);
}

static void check_no_model(void)
{
    const char *one = "/v1/customers/{customer_id}";
    oa_call0("GET", one, "/v1/customers/c1", NULL, 503);
    oa_call0("GET", one, "/v1/customers/nobody", NULL, 404);
    oa_call0("GET", one, "/v1/customers/c1?horizon_days=0", NULL, 400);
    oa_call0("GET", one, "/v1/customers/c1?discount_rate=2", NULL, 400);
    oa_call0("GET", one, "/v1/customers/%ZZ", NULL, 400);
    oa_call0("GET", "/v1/model", "/v1/model", NULL, 503);
    oa_call0("POST", "/v1/model/refit", "/v1/model/refit", NULL, 503); /* no worker */
    oa_call0("GET", "/readyz", "/readyz", NULL, 503);
    check_diag_no_model();
    oa_call0("GET", "/v1/model/p_alive_matrix", "/v1/model/p_alive_matrix", NULL, 503);
    oa_call0("GET", "/v1/customers/ltv_distribution", "/v1/customers/ltv_distribution",
             NULL, 503);
}

/* The dashboard (docs/dashboard.md): the page, its assets with their
 * ETags, and the two endpoints it added. */
static void check_dashboard(void)
{
    oa_response r;
    char etag[128];
    oa_call("GET", "/", "/", NULL, 200, &r);
    ck_assert(oa_header(&r, "ETag", etag, sizeof etag));
    oa_response_free(&r);
    oa_req inm = {.if_none_match = etag};
    oa_call0("GET", "/", "/", &inm, 304);
    oa_call0("HEAD", "/", "/", NULL, 200);
    const char *asset = "/assets/{name}";
    oa_call0("HEAD", asset, "/assets/app.js", NULL, 200); /* a body past the client's */
    oa_call("GET", asset, "/assets/style.css", NULL, 200, &r);
    ck_assert(oa_header(&r, "ETag", etag, sizeof etag));
    oa_response_free(&r);
    oa_call0("GET", asset, "/assets/style.css", &inm, 304);
    oa_call0("GET", asset, "/assets/nosuch.js", NULL, 404);
    const char *pa = "/v1/model/p_alive_matrix", *ld = "/v1/customers/ltv_distribution";
    oa_call("GET", pa, "/v1/model/p_alive_matrix?max_frequency=5&max_recency=10", NULL,
            200, &r);
    oa_check_mutations("GET", pa, &r);
    oa_response_free(&r);
    oa_call0("GET", pa, "/v1/model/p_alive_matrix?max_frequency=101", NULL, 400);
    oa_call0("GET", pa, "/v1/tenants/nobody/model/p_alive_matrix", NULL, 404);
    oa_call("GET", ld, ld, NULL, 200, &r);
    oa_check_mutations("GET", ld, &r);
    oa_response_free(&r);
    oa_call0("GET", ld, "/v1/customers/ltv_distribution?bins=0", NULL, 400);
    oa_call0("GET", ld, "/v1/tenants/nobody/customers/ltv_distribution", NULL, 404);
}

/* GET /v1/customers/export before a model is served: every refusal. */
static void check_export_refusals(void)
{
    const char *exp = "/v1/customers/export";
    oa_call0("GET", exp, exp, NULL, 503);
    oa_call0("GET", exp, "/v1/customers/export?as_of=2025-01-01", NULL, 400);
    oa_call0("GET", exp, "/v1/customers/export?horizon_days=5000", NULL, 400);
    oa_req json = {.accept = "application/json"};
    oa_call0("GET", exp, exp, &json, 406);
    oa_call0("GET", exp, "/v1/tenants/nobody/customers/export", NULL, 404);
}

/* GET /v1/customers/export with a model: both media types, and HEAD. */
static void check_export(void)
{
    const char *exp = "/v1/customers/export";
    oa_response r;
    oa_call("GET", exp, exp, NULL, 200, &r);
    ck_assert_msg(strstr(r.body, "\"customer_id\":\"c2\"") != NULL, "%s", r.body);
    oa_response_free(&r);
    oa_req csv = {.accept = "text/csv"};
    svc.cfg.export_max = 0; /* read per request; no request is in flight */
    oa_call0("GET", exp, exp, &csv, 503);
    svc.cfg.export_max = 4;
    oa_call("GET", exp, exp, &csv, 200, &r);
    ck_assert_msg(strncmp(r.body, "customer_id,as_of,", 18) == 0, "%s", r.body);
    oa_response_free(&r);
    oa_call0("HEAD", exp, exp, &csv, 200);
}

static void check_operations(void)
{
    oa_response r;
    oa_call("GET", "/healthz", "/healthz", NULL, 200, &r);
    oa_check_mutations("GET", "/healthz", &r);
    oa_response_free(&r);
    oa_call0("HEAD", "/healthz", "/healthz", NULL, 200);
    oa_call0("GET", "/metrics", "/metrics", NULL, 200);
    oa_call0("HEAD", "/metrics", "/metrics", NULL, 200);
    svc.cfg.metrics_public = false; /* read per request; no request is in flight */
    oa_call0("GET", "/metrics", "/metrics", NULL, 401);
    svc.cfg.metrics_public = true;
}

static void check_undocumented_requests(void)
{
    oa_check_undocumented("GET", "/nosuch");
    oa_check_undocumented("POST", "/");
    oa_check_undocumented("GET", "/v1");
    oa_check_undocumented("GET", "/v2/x");
    oa_check_undocumented("GET", "/v1/transactions");
    oa_check_undocumented("PUT", "/v1/transactions");
    oa_check_undocumented("DELETE", "/v1/model");
    oa_check_undocumented("GET", "/v1/model/refit");
    oa_check_undocumented("PATCH", "/v1/customers/c1");
    oa_check_undocumented("GET", "/v1/customers/c1/extra");
    oa_check_undocumented("PUT", "/healthz");
    oa_check_undocumented("POST", "/metrics");
    oa_check_undocumented("OPTIONS", "/readyz");
}

/* Polls GET /v1/model (up to 10 s) until a failed refit shows. */
static void wait_failed_refit(void)
{
    for (int i = 0; i < 200; i++) {
        oa_response r;
        oa_call("GET", "/v1/model", "/v1/model", NULL, 200, &r);
        json_t *refits = json_object_get(r.json, "refits");
        bool done = json_integer_value(json_object_get(refits, "failed")) >= 1;
        if (done)
            oa_check_mutations("GET", "/v1/model", &r);
        oa_response_free(&r);
        if (done)
            return;
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    ck_abort_msg("no failed refit within 10 s");
}

static void check_with_model(void)
{
    oa_response r;
    oa_call0("GET", "/readyz", "/readyz", NULL, 200);
    oa_call("GET", "/v1/model", "/v1/model", NULL, 200, &r);
    oa_check_mutations("GET", "/v1/model", &r);
    oa_response_free(&r);
    oa_call("POST", "/v1/model/refit", "/v1/model/refit", NULL, 202, &r);
    oa_check_mutations("POST", "/v1/model/refit", &r);
    oa_response_free(&r);
    wait_failed_refit(); /* two customers: too few to fit */
    check_diag_with_model();
}

/* The database refuses connections (and drops those open) until db_up. */
static void db_down(void)
{
    admin_exec("ALTER DATABASE %s WITH ALLOW_CONNECTIONS false");
    admin_exec("DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE datname = '%s'; END $$");
}

static void db_up(void)
{
    admin_exec("ALTER DATABASE %s WITH ALLOW_CONNECTIONS true");
}

/* Polls GET /readyz (every 50 ms, up to 5 s) until it answers status: the
 * readiness check runs in the background. */
static void wait_readyz(int status)
{
    for (int i = 0; i < 100; i++) {
        testhttp_response r;
        testhttp_request(svc.port, "GET", "/readyz", NULL, &r);
        int got = r.status;
        testhttp_response_free(&r);
        if (got == status)
            return;
        usleep(50000);
    }
}

/* With the database down, a batch is answered 503. */
static void check_database_down(void)
{
    oa_req o = {.content_type = "application/json",
                .body = "{\"transactions\":[{\"id\":\"t9\",\"customer_id\":\"c1\","
                        "\"occurred_at\":\"2025-12-02T00:00:00Z\",\"amount\":1}]}"};
    db_down();
    oa_call0("POST", "/v1/transactions", "/v1/transactions", &o, 503);
    oa_call0("GET", "/v1/model/diagnostics", "/v1/model/diagnostics", NULL, 503);
    oa_call0("GET", "/v1/model/history", "/v1/model/history", NULL, 503);
    /* reads go on from memory, marked stale (a documented header) */
    oa_response r;
    char stale[128];
    oa_call("GET", "/v1/customers/{customer_id}", "/v1/customers/c1", NULL, 200, &r);
    ck_assert_msg(oa_header(&r, "Ltvd-Data-Stale", stale, sizeof stale), "%s", r.head);
    oa_response_free(&r);
    wait_readyz(503);
    oa_call0("GET", "/readyz", "/readyz", NULL, 503);
    db_up();
}

/* GET /v1/customers and GET /v1/customers/{id} 200 are the customers
 * test's; 500 is never provoked. */
static bool is_list(const char *method, const char *path)
{
    return strcmp(method, "GET") == 0 &&
           (strcmp(path, "/v1/customers") == 0 || strcmp(path, "/v1/segments") == 0 ||
            strcmp(path, "/v1/acquisition") == 0 || strcmp(path, "/v1/cohorts") == 0);
}

/* 401 and 403 are the auth test's. */
static bool is_auth(const char *status)
{
    return strcmp(status, "401") == 0 || strcmp(status, "403") == 0;
}

static bool main_scope(const char *method, const char *path, const char *status)
{
    return !is_list(method, path) && !is_auth(status) &&
           !(strcmp(path, "/v1/customers/{customer_id}") == 0 &&
             strcmp(status, "200") == 0);
}

static bool customers_scope(const char *method, const char *path, const char *status)
{
    return (is_list(method, path) && !is_auth(status)) ||
           (strcmp(path, "/v1/customers/{customer_id}") == 0 &&
            strcmp(status, "200") == 0);
}

static bool auth_scope(const char *method, const char *path, const char *status)
{
    (void)method;
    (void)path;
    return is_auth(status);
}

static bool list_scope(const char *method, const char *path, const char *status)
{
    (void)status;
    return is_list(method, path);
}

/* One operation while the service starts: 503 `starting` for /v1 (a
 * batch with its body: nothing is read), the probes as documented. */
static void starting_op(const char *method, const char *path, const json_t *op, void *arg)
{
    (void)op;
    const oa_req *key = arg;
    char target[256];
    oa_sample_target(path, target, sizeof target);
    if (strncmp(path, "/v1/", 4) != 0) {
        bool private_metrics = strcmp(path, "/metrics") == 0;
        oa_call0(method, path, target, private_metrics ? key : NULL,
                 strcmp(path, "/healthz") == 0 ? 200 : 503);
        return;
    }
    oa_req o = {.content_type = "application/json",
                .body = strcmp(method, "POST") == 0 ? batch1 : NULL};
    oa_response r;
    oa_call(method, path, target, &o, 503, &r);
    const char *type = json_string_value(json_object_get(r.json, "type"));
    ck_assert_msg(type != NULL && strcmp(type, "urn:ltvd:problem:starting") == 0,
                  "%s %s: %s", method, path, r.body);
    oa_response_free(&r);
}

/* While `ltvd serve` starts (app not loaded, keys not loaded, a private
 * /metrics asked with a token): every operation as documented; then the
 * ordinary service again. */
static void check_starting(void)
{
    testhttp_app_stop(&svc);
    svc.cfg.metrics_public = false;
    testhttp_app_start_starting(&svc);
    char token[AUTH_TOKEN_LEN + 1], id[AUTH_KEY_ID_LEN + 1], bearer[BEARER_TEXT];
    ck_assert_int_eq(auth_token_new(token, id), 0);
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    oa_req key = {.authorization = bearer};
    oa_each_operation(spec, starting_op, &key);
    testhttp_app_stop(&svc);
    svc.cfg.metrics_public = true;
    testhttp_app_start(&svc, false);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);
}

START_TEST(test_openapi_conformance)
{
    check_starting();
    check_operations();
    check_transactions();
    check_acquisition();
    check_subscriptions();
    check_tenants();
    check_no_model();
    check_export_refusals();
    check_undocumented_requests();
    oa_check_router_limits(main_scope, MAX_BODY, MAX_URL);
    testhttp_snapshot_save(&svc);
    restart(true);
    check_with_model();
    check_dashboard();
    check_export();
    check_database_down();
    oa_assert_covered(main_scope);
}
END_TEST

/* ---- a read-only process
 * ------------------------------------------------------------
 */

/* One write of a read-only process: 503 `read-only` as documented, without
 * Retry-After (a batch with its body: nothing is read). */
static void read_only_op(const char *method, const char *path, const json_t *op,
                         void *arg)
{
    (void)op;
    (void)arg;
    if (strcmp(method, "GET") == 0)
        return;
    char target[256], retry[16];
    oa_sample_target(path, target, sizeof target);
    oa_req o = {.content_type = "application/json",
                .body = strcmp(path, "/v1/transactions") == 0 ? batch1 : NULL};
    oa_response r;
    oa_call(method, path, target, &o, 503, &r);
    const char *type = json_string_value(json_object_get(r.json, "type"));
    ck_assert_msg(type != NULL && strcmp(type, "urn:ltvd:problem:read-only") == 0,
                  "%s %s: %s", method, path, r.body);
    ck_assert_msg(!oa_header(&r, "Retry-After", retry, sizeof retry),
                  "%s %s: Retry-After", method, path);
    oa_response_free(&r);
}

/* read_only = true (docs/operations.md, "Read replicas"): every write
 * answers its documented 503 `read-only`, nothing stored; /readyz is 200
 * with mode read-only, its body valid and every member needed. */
START_TEST(test_openapi_read_only)
{
    testhttp_snapshot_save(&svc);
    testhttp_app_stop(&svc);
    svc.cfg.read_only = true;
    testhttp_app_start(&svc, false);
    oa_each_operation(spec, read_only_op, NULL);
    oa_response r;
    oa_call("GET", "/readyz", "/readyz", NULL, 200, &r);
    const char *mode = json_string_value(json_object_get(r.json, "mode"));
    ck_assert_msg(mode != NULL && strcmp(mode, "read-only") == 0, "%s", r.body);
    oa_check_mutations("GET", "/readyz", &r);
    oa_response_free(&r);
    oa_call0("GET", "/v1/model", "/v1/model", NULL, 200);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), 0);
}
END_TEST

/* ---- API keys over HTTP
 * ------------------------------------------------------------ */

/* A new key of scopes stored in svc's database as `ltvd key create` stores
 * it (key id and SHA-256), the server's copy reloaded; "Bearer <token>"
 * into bearer. */
static void key_new(unsigned scopes, char *bearer, size_t size)
{
    char token[AUTH_TOKEN_LEN + 1], id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_token_new(token, id), 0);
    ck_assert_int_eq(auth_token_hash(token, strlen(token), hash), 0);
    store_db *db = testhttp_db_open(&svc);
    ck_assert_msg(auth_store_create(db, id, "openapi", hash, scopes, "*") == 0, "%s",
                  store_db_error(db));
    store_db_close(db);
    ck_assert_int_eq(auth_keys_reload(svc.auth), 0);
    snprintf(bearer, size, "Bearer %s", token);
}

#define BEARER_MAX (AUTH_TOKEN_LEN + 16)

typedef struct auth_run {
    char keys[3][BEARER_MAX]; /* "Bearer <token>" of a key of scope_names[i] */
    char wrong[BEARER_MAX];   /* keys[0] with another secret */
    bool stored;              /* a batch was taken */
} auth_run;

/* r's WWW-Authenticate is want. */
static void want_challenge(const oa_response *r, const char *want, const char *what)
{
    char got[256];
    ck_assert_msg(oa_header(r, "WWW-Authenticate", got, sizeof got),
                  "%s: no challenge:\n%s", what, r->head);
    ck_assert_msg(strcmp(got, want) == 0, "%s: WWW-Authenticate %s, want %s", what, got,
                  want);
}

/* One operation with auth_required: public ones ignore any key; the others
 * answer 401 without a key and with bad ones, 403 (naming the scope) with
 * a key holding none of x-ltvd-scope, and pass the check with one that
 * holds it. */
static void check_op_auth(const char *method, const char *path, const json_t *op,
                          void *arg)
{
    auth_run *a = arg;
    char target[256], what[300];
    oa_sample_target(path, target, sizeof target);
    snprintf(what, sizeof what, "%s %s", method, target);
    unsigned need = spec_scopes(op, what);
    bool post_batch = strcmp(path, "/v1/transactions") == 0;
    oa_req o = {.content_type = post_batch ? "application/json" : NULL,
                .body = post_batch ? batch1 : NULL};
    oa_response r;
    if (need == 0) { /* open: a bad key does not matter */
        o.authorization = "Bearer ltvd_nothex";
        oa_request(method, target, &o, &r);
        ck_assert_msg(r.status != 401 && r.status != 403, "%s:\n%s", what, r.head);
        oa_response_free(&r);
        return;
    }
    oa_call(method, path, target, &o, 401, &r);
    want_challenge(&r, "Bearer realm=\"ltvd\"", what);
    oa_response_free(&r);
    const char *bad[] = {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ltvd_nothex", a->wrong,
                         a->keys[0] + 7 /* the token alone */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.authorization = bad[i];
        oa_call(method, path, target, &o, 401, &r);
        want_challenge(&r, "Bearer realm=\"ltvd\", error=\"invalid_token\"", what);
        ck_assert_msg(strstr(r.body, a->keys[0] + 12) == NULL,
                      "%s: the detail repeats the key", what);
        oa_response_free(&r);
    }
    char names[64];
    scope_text(need, "", "", names, sizeof names);
    for (size_t i = 0; i < 3; i++) {
        if (scope_names[i].bit & need)
            continue;
        o.authorization = a->keys[i];
        oa_call(method, path, target, &o, 403, &r);
        const char *detail = json_string_value(json_object_get(r.json, "detail"));
        ck_assert_msg(detail != NULL && strstr(detail, names) != NULL,
                      "%s with the %s key: the detail does not name %s: %s", what,
                      scope_names[i].name, names, r.body);
        ck_assert_msg(testhttp_header(&r, "WWW-Authenticate") == NULL,
                      "%s: 403 with a challenge", what);
        oa_response_free(&r);
    }
    for (size_t i = 0; i < 3; i++) {
        if (!(scope_names[i].bit & need))
            continue;
        o.authorization = a->keys[i];
        oa_request(method, target, &o, &r);
        ck_assert_msg(r.status != 401 && r.status != 403, "%s with the %s key:\n%s", what,
                      scope_names[i].name, r.head);
        if (post_batch && !a->stored) { /* the refused batches stored nothing */
            ck_assert_msg(r.status == 200 &&
                              json_integer_value(json_object_get(r.json, "new")) == 5,
                          "%s: %s", what, r.body);
            a->stored = true;
        }
        oa_response_free(&r);
    }
    if (strcmp(method, "GET") == 0) { /* HEAD as GET, without a body */
        o.authorization = NULL;
        oa_call("HEAD", path, target, &o, 401, &r);
        want_challenge(&r, "Bearer realm=\"ltvd\"", what);
        oa_response_free(&r);
    }
}

/* Every operation with auth_required and a private /metrics, then /v1
 * open with auth_required false while /metrics stays private. */
START_TEST(test_openapi_auth)
{
    auth_run a = {.stored = false};
    for (size_t i = 0; i < 3; i++)
        key_new(scope_names[i].bit, a.keys[i], sizeof a.keys[i]);
    snprintf(a.wrong, sizeof a.wrong, "%s", a.keys[0]);
    char *last = &a.wrong[strlen(a.wrong) - 1];
    *last = *last == '0' ? '1' : '0';
    /* both read per request; no request is in flight */
    svc.cfg.auth_required = true;
    svc.cfg.metrics_public = false;
    oa_each_operation(spec, check_op_auth, &a);
    ck_assert(a.stored);
    /* routing and the target's length come first, without a key too */
    oa_check_undocumented("GET", "/v1/nothing");
    oa_check_undocumented("DELETE", "/v1/model");
    char longer[MAX_URL + 32];
    snprintf(longer, sizeof longer, "/v1/model?pad=%0*d", MAX_URL, 0);
    oa_call0("GET", "/v1/model", longer, NULL, 414);
    svc.cfg.auth_required = false;
    oa_call0("GET", "/metrics", "/metrics", NULL, 401);
    oa_call0("GET", "/v1/model", "/v1/model", NULL, 503); /* no model */
    svc.cfg.metrics_public = true;
    oa_call0("GET", "/metrics", "/metrics", NULL, 200);
    oa_assert_covered(auth_scope);
}
END_TEST

/* ---- GET /v1/customers, lifecycle_stage and as_of -------------------------------
 */

/* Percent-encodes every byte of s but the unreserved ones. */
static void pct_encode(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s && n + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~", c) != NULL)
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* The customer_ids of a list answer, comma-separated. */
static void list_ids(const oa_response *r, char *out, size_t size)
{
    size_t i;
    const json_t *c;
    out[0] = '\0';
    json_array_foreach(json_object_get(r->json, "customers"), i, c)
    {
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "",
                 json_string_value(json_object_get(c, "customer_id")));
    }
}

/* GET target answers 200 with these customer ids (and as_of when not NULL). */
static void want_list(const char *target, const char *ids, const char *as_of,
                      oa_response *r)
{
    char got[256];
    oa_call("GET", "/v1/customers", target, NULL, 200, r);
    list_ids(r, got, sizeof got);
    if (strcmp(got, ids) != 0)
        oa_response_free(r); /* not leaked by the failure below */
    ck_assert_msg(strcmp(got, ids) == 0, "%s: customers %s, want %s", target, got, ids);
    if (as_of != NULL)
        ck_assert_str_eq(json_string_value(json_object_get(r->json, "as_of")), as_of);
}

static void check_as_of(void)
{
    const char *one = "/v1/customers/{customer_id}";
    static const struct {
        const char *query, *as_of;
    } days[] = {{"as_of=2025-06-01", "2025-06-01"},
                {"as_of=2025-06-01T23:30:00-02:00", "2025-06-02"}, /* its UTC day */
                {"as_of=2025-06-01T00:00:00Z&horizon_days=30", "2025-06-01"}};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        char target[128];
        oa_response r;
        snprintf(target, sizeof target, "/v1/customers/c1?%s", days[i].query);
        oa_call("GET", one, target, NULL, 200, &r);
        ck_assert_str_eq(json_string_value(json_object_get(r.json, "as_of")),
                         days[i].as_of);
        oa_response_free(&r);
    }
    oa_call0("GET", one, "/v1/customers/c1?as_of=2025-01-01", NULL,
             404); /* before c1's first */
    oa_call0("GET", one, "/v1/customers/c1?as_of=junk", NULL, 400);
    oa_call0("GET", one, "/v1/customers/c1?as_of=2025-02-30", NULL, 400);
    oa_call0("GET", one, "/v1/customers/c1?bogus=1", NULL,
             400); /* not a documented parameter */
}

static void check_list(void)
{
    const char *list = "/v1/customers";
    char target[512], cursor[400];
    oa_response r;
    want_list(list, "c1,c2", "2025-12-31", &r);
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    oa_check_mutations("GET", list, &r);
    oa_response_free(&r);
    want_list("/v1/customers?limit=1", "c1", NULL, &r);
    const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
    ck_assert_msg(next != NULL, "no next_cursor: %s", r.body);
    pct_encode(next, cursor, sizeof cursor);
    oa_response_free(&r);
    snprintf(target, sizeof target, "/v1/customers?limit=1&cursor=%s", cursor);
    want_list(target, "c2", NULL, &r);
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    oa_response_free(&r);
    want_list("/v1/customers?as_of=2025-01-10", "c1", "2025-01-10", &r);
    oa_response_free(&r);
    static const char *const ok[] = {
        "sort=-p_alive",
        "sort=predicted_ltv",
        "sort=-last_purchase",
        "churn_risk=high",
        "lifecycle_stage=new",
        "at_risk=true",
        "at_risk=false",
        "horizon_days=90&discount_rate=0.02&margin=0.5&limit=1000"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        snprintf(target, sizeof target, "/v1/customers?%s", ok[i]);
        oa_call0("GET", list, target, NULL, 200);
    }
    static const char *const bad[] = {
        "sort=bogus",    "sort=--p_alive", "limit=0",
        "limit=1001",    "limit=x",        "cursor=%21%21",
        "at_risk=maybe", "churn_risk=x",   "lifecycle_stage=x",
        "as_of=junk",    "horizon_days=0", "margin=2",
        "bogus=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(target, sizeof target, "/v1/customers?%s", bad[i]);
        oa_call0("GET", list, target, NULL, 400);
    }
}

/* GET /v1/customers and GET /v1/customers/{id} with lifecycle_stage and as_of. */
START_TEST(test_openapi_customers)
{
    oa_call0("POST", "/v1/transactions", "/v1/transactions", &json_batch1, 200);
    oa_call0("GET", "/v1/customers", "/v1/customers", NULL, 503);
    oa_call0("GET", "/v1/segments", "/v1/segments", NULL, 503);
    oa_call0("GET", "/v1/acquisition", "/v1/acquisition", NULL, 503);
    oa_call0("GET", "/v1/cohorts", "/v1/cohorts", NULL, 503);
    oa_check_router_limits(list_scope, MAX_BODY, MAX_URL);
    testhttp_snapshot_save(&svc);
    restart(false);
    oa_response r;
    oa_call("GET", "/v1/customers/{customer_id}", "/v1/customers/c1", NULL, 200, &r);
    oa_check_mutations("GET", "/v1/customers/{customer_id}", &r);
    oa_response_free(&r);
    oa_call0("GET", "/v1/customers/{customer_id}",
             "/v1/customers/c1?horizon_days=90&discount_rate=0.02&margin=0.5", NULL, 200);
    check_as_of();
    check_list();
    oa_call0("GET", "/v1/segments", "/v1/segments", NULL, 200);
    oa_call0("GET", "/v1/segments", "/v1/segments?bogus=1", NULL, 400);
    oa_call0("GET", "/v1/customers", "/v1/tenants/nobody/customers", NULL, 404);
    oa_call0("GET", "/v1/segments", "/v1/tenants/nobody/segments", NULL, 404);
    oa_call0("GET", "/v1/acquisition", "/v1/acquisition", NULL, 200);
    oa_call0("GET", "/v1/acquisition", "/v1/acquisition?months=12&target_ratio=2", NULL,
             200);
    oa_call0("GET", "/v1/acquisition", "/v1/acquisition?months=0", NULL, 400);
    oa_call0("GET", "/v1/acquisition", "/v1/tenants/nobody/acquisition", NULL, 404);
    oa_call0("GET", "/v1/cohorts", "/v1/cohorts?by=month", NULL, 200);
    oa_call0("GET", "/v1/cohorts", "/v1/cohorts?by=week", NULL, 400);
    oa_call0("GET", "/v1/cohorts", "/v1/tenants/nobody/cohorts", NULL, 404);
    /* as of a day before c1's last purchase: its summary needs the database */
    db_down();
    oa_req o = {.content_type = "application/json",
                .body = "{\"transactions\":[{\"id\":\"t9\",\"customer_id\":\"c1\","
                        "\"occurred_at\":\"2025-12-02T00:00:00Z\",\"amount\":1}]}"};
    oa_call0("POST", "/v1/transactions", "/v1/transactions", &o, 503); /* marks it down */
    oa_call0("GET", "/v1/customers/{customer_id}", "/v1/customers/c1?as_of=2025-03-01",
             NULL, 503);
    oa_call0("GET", "/v1/customers/{customer_id}", "/v1/customers/c1?as_of=2025-01-01",
             NULL, 404);
    oa_call0("GET", "/v1/customers", "/v1/customers?as_of=2025-03-01", NULL, 503);
    want_list("/v1/customers", "c1,c2", NULL, &r); /* from memory, marked stale */
    ck_assert_msg(testhttp_header(&r, "Ltvd-Data-Stale") != NULL, "%s", r.head);
    oa_response_free(&r);
    db_up();
    oa_assert_covered(customers_scope);
    /* last: "-" reverses every key, customer_id included */
    want_list("/v1/customers?sort=-customer_id", "c2,c1", NULL, &r);
    oa_response_free(&r);
}
END_TEST

/* ---- without a server
 * -------------------------------------------------------------------------- */

/* op has responses, each with a description. */
static void lint_operation(const char *method, const char *path, const json_t *op,
                           void *arg)
{
    const char *status;
    const json_t *resp;
    (void)arg;
    ck_assert_msg(json_object_size(json_object_get(op, "responses")) > 0,
                  "%s %s: no responses", method, path);
    json_object_foreach(json_object_get(op, "responses"), status, resp)
    {
        ck_assert_msg(
            json_is_string(json_object_get(oa_resolve(spec, resp), "description")),
            "%s %s %s: no description", method, path, status);
    }
}

START_TEST(test_openapi_lint)
{
    char err[OA_ERR_MAX];
    ck_assert_str_eq(json_string_value(json_object_get(spec, "openapi")), "3.1.0");
    ck_assert_msg(oa_lint(spec, err), "%s", err);
    const char *url = json_string_value(
        json_object_get(json_array_get(json_object_get(spec, "servers"), 0), "url"));
    ck_assert_str_eq(url, "http://127.0.0.1:8080");
    oa_each_operation(spec, lint_operation, NULL);
}
END_TEST

#define MISSING_MAX 2048

/* Appends to missing (arg, MISSING_MAX bytes) op when no route serves it. */
static void add_unserved(const char *method, const char *path, const json_t *op,
                         void *arg)
{
    char *missing = arg;
    const http_route *rows;
    size_t n;
    bool found = false;
    (void)op;
    for (size_t g = 0; (rows = route_group(g, &n)) != NULL; g++)
        for (size_t i = 0; i < n; i++)
            found = found || (strcasecmp(rows[i].method, method) == 0 &&
                              strcmp(rows[i].pattern, path) == 0);
    if (!found)
        snprintf(missing + strlen(missing), MISSING_MAX - strlen(missing),
                 "\n  documented, not served: %s %s", method, path);
}

/* The served (method, pattern) pairs and the documented ones are the same set. */
START_TEST(test_openapi_routes_match)
{
    char missing[MISSING_MAX] = "";
    const http_route *rows;
    size_t n;
    for (size_t g = 0; (rows = route_group(g, &n)) != NULL; g++)
        for (size_t i = 0; i < n; i++) {
            const http_route *rt = &rows[i];
            if (oa_operation(rt->method, rt->pattern) == NULL)
                snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
                         "\n  served, undocumented: %s %s", rt->method, rt->pattern);
        }
    oa_each_operation(spec, add_unserved, missing);
    ck_assert_msg(missing[0] == '\0', "route table and openapi.yaml differ:%s", missing);
}
END_TEST

/* Every registry row is a ProblemType row with its status and title, and
 * is answered by some documented response unless marked reserved; no row
 * is documented that the registry lacks. */
START_TEST(test_openapi_problem_registry)
{
    const json_t *rows =
        json_object_get(oa_pointer(spec, "#/components/schemas/ProblemType"), "oneOf");
    ck_assert_uint_eq(json_array_size(rows), PROBLEM_COUNT);
    char *responses =
        json_dumps(oa_pointer(spec, "#/components/responses"), JSON_COMPACT);
    char *schemas = json_dumps(oa_pointer(spec, "#/components/schemas/ValidationProblem"),
                               JSON_COMPACT);
    ck_assert(responses != NULL && schemas != NULL);
    for (int c = 0; c < PROBLEM_COUNT; c++) {
        const problem_type *p = problem_get((problem_code)c);
        char type[128], quoted[140];
        snprintf(type, sizeof type, "%s%s", PROBLEM_TYPE_BASE, p->slug);
        const json_t *row = oa_problem_row(type);
        ck_assert_msg(row != NULL, "%s is not in openapi.yaml", type);
        ck_assert_str_eq(json_string_value(json_object_get(row, "title")), p->title);
        ck_assert_int_eq(json_integer_value(json_object_get(row, "x-status")), p->status);
        snprintf(quoted, sizeof quoted, "\"%s\"", type);
        const char *desc = json_string_value(json_object_get(row, "description"));
        bool reserved = desc != NULL && strncmp(desc, "Reserved", 8) == 0;
        ck_assert_msg(reserved || strstr(responses, quoted) != NULL ||
                          strstr(schemas, quoted) != NULL,
                      "%s: no documented oa_response gives it", type);
    }
    free(responses);
    free(schemas);
}
END_TEST

/* One operation's security, x-ltvd-scope and description against the
 * access table (access_scopes, as `ltvd serve` checks requests). */
static void check_op_access(const char *method, const char *path, const json_t *op,
                            void *arg)
{
    (void)arg;
    char what[300], table[AUTH_SCOPES_TEXT_MAX], documented[AUTH_SCOPES_TEXT_MAX],
        text[96];
    snprintf(what, sizeof what, "%s %s", method, path);
    ltvd_config cfg;
    config_defaults(&cfg);
    cfg.auth_required = true;
    cfg.metrics_public = false;
    unsigned need = access_scopes(&cfg, method, path);
    unsigned doc = spec_scopes(op, what);
    ck_assert_msg(need == doc, "%s: the access table needs %s, x-ltvd-scope says %s",
                  what, need ? auth_scopes_format(need, table) : "no key",
                  doc ? auth_scopes_format(doc, documented) : "no key");
    cfg.metrics_public = true; /* the default */
    bool open_by_default = access_scopes(&cfg, method, path) == 0;
    bool open, bearer;
    spec_security(op, what, &open, &bearer);
    ck_assert_msg(bearer == (need != 0), "%s: security %s bearerAuth", what,
                  bearer ? "lists" : "lacks");
    ck_assert_msg(open == open_by_default, "%s: security %s an empty requirement", what,
                  open ? "has" : "lacks");
    const json_t *responses = json_object_get(op, "responses");
    bool has401 = json_object_get(responses, "401") != NULL;
    bool has403 = json_object_get(responses, "403") != NULL;
    ck_assert_msg(has401 == (need != 0) && has403 == (need != 0),
                  "%s: 401 and 403 must be documented exactly when a key may be needed",
                  what);
    if (need != 0) {
        char want[120];
        scope_text(need, "`", "`", text, sizeof text);
        snprintf(want, sizeof want, "the scope %s", text);
        const char *desc = json_string_value(json_object_get(op, "description"));
        ck_assert_msg(desc != NULL && strstr(desc, want) != NULL,
                      "%s: the description does not say \"%s\"", what, want);
    }
    /* auth_required = false opens /v1, and only /v1 */
    cfg.auth_required = false;
    cfg.metrics_public = false;
    bool v1 = strncmp(path, "/v1/", 4) == 0;
    ck_assert_msg((access_scopes(&cfg, method, path) == 0) == (v1 || need == 0),
                  "%s: auth_required = false does not open the /v1 operations only",
                  what);
}

/* The bearerAuth scheme, and every operation's security against the
 * access table. */
START_TEST(test_openapi_access_table)
{
    const json_t *scheme = oa_pointer(spec, "#/components/securitySchemes/bearerAuth");
    ck_assert_msg(scheme != NULL, "no components.securitySchemes.bearerAuth");
    ck_assert_str_eq(json_string_value(json_object_get(scheme, "type")), "http");
    ck_assert_str_eq(json_string_value(json_object_get(scheme, "scheme")), "bearer");
    ck_assert_msg(json_object_get(spec, "security") == NULL,
                  "a top-level security list: say it per operation");
    oa_each_operation(spec, check_op_access, NULL);
}
END_TEST

static void spec_setup(void)
{
    spec_load();
    oa_http_use(spec, NULL);
}

Suite *suite_openapi(void)
{
    Suite *s = suite_create("openapi");
    TCase *file = tcase_create("spec");
    tcase_add_checked_fixture(file, spec_setup, spec_free);
    tcase_add_test(file, test_openapi_lint);
    tcase_add_test(file, test_openapi_routes_match);
    tcase_add_test(file, test_openapi_problem_registry);
    tcase_add_test(file, test_openapi_access_table);
    suite_add_tcase(s, file);
    TCase *srv = tcase_create("server");
    tcase_add_checked_fixture(srv, setup, teardown);
    tcase_set_timeout(srv, 60);
    tcase_add_test(srv, test_openapi_conformance);
    tcase_add_test(srv, test_openapi_customers);
    tcase_add_test(srv, test_openapi_auth);
    tcase_add_test(srv, test_openapi_read_only);
    suite_add_tcase(s, srv);
    return s;
}
