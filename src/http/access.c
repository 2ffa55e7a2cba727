/* The access table and the API key check of each request (see access.h). */
#include "http/access.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"

/* A private /metrics: any of these. */
#define METRICS_SCOPES (AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN)

typedef struct access_rule {
    const char *method;
    const char *pattern;
    unsigned any_of; /* AUTH_SCOPE_ bits, one of which is needed; 0 = public */
} access_rule;

/* /metrics is METRICS_SCOPES unless metrics_public, the others are public
 * when auth_required is false (see access_scopes). */
static const access_rule rules[] = {
    {"GET", "/healthz", 0},
    {"GET", "/readyz", 0},
    {"GET", "/metrics", METRICS_SCOPES},
    {"POST", "/v1/transactions", AUTH_SCOPE_INGEST},
    {"GET", "/v1/customers", AUTH_SCOPE_READ},
    {"GET", "/v1/customers/{customer_id}", AUTH_SCOPE_READ},
    {"GET", "/v1/segments", AUTH_SCOPE_READ},
    {"GET", "/v1/acquisition", AUTH_SCOPE_READ},
    {"GET", "/v1/cohorts", AUTH_SCOPE_READ},
    {"GET", "/v1/model", AUTH_SCOPE_READ},
    {"POST", "/v1/model/refit", AUTH_SCOPE_ADMIN},
    {"GET", "/v1/model/diagnostics", AUTH_SCOPE_READ},
    {"GET", "/v1/model/history", AUTH_SCOPE_READ},
    {"DELETE", "/v1/customers/{customer_id}", AUTH_SCOPE_ADMIN},
    {"GET", "/v1/customers/export", AUTH_SCOPE_READ},
    {"POST", "/v1/tenants", AUTH_SCOPE_PLATFORM},
    {"GET", "/v1/tenants", AUTH_SCOPE_PLATFORM},
    {"GET", "/v1/tenants/{tenant}", AUTH_SCOPE_PLATFORM},
    {"PATCH", "/v1/tenants/{tenant}", AUTH_SCOPE_PLATFORM},
    {"DELETE", "/v1/tenants/{tenant}", AUTH_SCOPE_PLATFORM},
    {"PUT", "/v1/customers/{customer_id}/attributes",
     AUTH_SCOPE_INGEST | AUTH_SCOPE_ADMIN},
    {"PUT", "/v1/acquisition/spend", AUTH_SCOPE_INGEST | AUTH_SCOPE_ADMIN},
    {"GET", "/v1/acquisition/spend", AUTH_SCOPE_READ},
    {"POST", "/v1/subscriptions", AUTH_SCOPE_INGEST},
    {"GET", "/v1/subscriptions/retention", AUTH_SCOPE_READ},
    {"GET", "/v1/subscriptions/{subscription_id}", AUTH_SCOPE_READ},
    {"GET", "/", 0}, /* the dashboard: the page asks for a key, its data calls need it */
    {"GET", "/assets/{name}", 0},
    {"GET", "/v1/model/p_alive_matrix", AUTH_SCOPE_READ},
    {"GET", "/v1/customers/ltv_distribution", AUTH_SCOPE_READ},
};

/* "read,admin" as "read or admin" (one of them is needed). */
static const char *any_of(const char *list, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = list; *p != '\0' && n + 5 < cap; p++) {
        if (*p == ',') {
            memcpy(out + n, " or ", 4);
            n += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return out;
}

unsigned access_scopes(const ltvd_config *cfg, const char *method, const char *pattern)
{
    if (strcmp(pattern, "/metrics") == 0)
        return cfg->metrics_public ? 0 : METRICS_SCOPES;
    if (!cfg->auth_required)
        return 0;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].method, method) == 0 &&
            strcmp(rules[i].pattern, pattern) == 0)
            return rules[i].any_of;
    return AUTH_SCOPE_ADMIN; /* not in the table: closed */
}

/* A private /metrics adds up every tenant's figures: a key of one tenant
 * may read it only when that tenant is default (a single business's). */
static bool metrics_key_ok(const char *key_tenant)
{
    return key_tenant[0] == '\0' || strcmp(key_tenant, "*") == 0 ||
           strcmp(key_tenant, HTTP_TENANT_DEFAULT) == 0;
}

static const char *refusal(auth_result r)
{
    switch (r) {
    case AUTH_MISSING:
        return "an API key is needed: Authorization: Bearer <token>";
    case AUTH_MALFORMED:
        return "the Authorization header is not Bearer <token> with an ltvd API key";
    case AUTH_INVALID:
        return "unknown or revoked API key";
    case AUTH_UNAVAILABLE:
        return "API keys are unavailable: the service runs without a database";
    default:
        return NULL;
    }
}

void access_check(http_request *req)
{
    const ltvd_config *cfg = req->ctx->config;
    unsigned need = access_scopes(cfg, req->route->method, req->route->pattern);
    if (need == 0)
        return;
    const char *header = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION);
    auth_result r = auth_keys_check(req->ctx->auth, header, need, req->key_tenant);
    if (r == AUTH_OK && strcmp(req->route->pattern, "/metrics") == 0 &&
        !metrics_key_ok(req->key_tenant)) {
        req->pending = PROBLEM_FORBIDDEN; /* nothing of the others through totals */
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "a private /metrics adds up every tenant's figures: it takes a key of "
                 "the tenant default or a platform key");
        return;
    }
    if (r == AUTH_OK)
        return;
    if (r == AUTH_NOT_LOADED) { /* start-up, before the migrations are through */
        req->pending = PROBLEM_STARTING;
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "the service is starting: the API keys are not loaded yet");
        return;
    }
    if (r == AUTH_FORBIDDEN && http_tenant_route(req->route) &&
        strcmp(req->key_tenant, "*") != 0 && strcmp(req->key_tenant, req->tenant) != 0) {
        req->pending = PROBLEM_TENANT_NOT_FOUND; /* another tenant's: nothing learned */
        snprintf(req->pending_detail, sizeof req->pending_detail, "no tenant %s",
                 req->tenant);
        return;
    }
    if (r == AUTH_FORBIDDEN) {
        char names[AUTH_SCOPES_TEXT_MAX], any[2 * AUTH_SCOPES_TEXT_MAX];
        req->pending = PROBLEM_FORBIDDEN;
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "this request needs an API key with the scope %s",
                 any_of(auth_scopes_format(need, names), any, sizeof any));
        return;
    }
    req->pending = PROBLEM_UNAUTHORIZED;
    req->bad_token = r != AUTH_MISSING;
    snprintf(req->pending_detail, sizeof req->pending_detail, "%s", refusal(r));
}

bool access_recheck_or_reply(http_request *req, http_result *res)
{
    unsigned need =
        access_scopes(req->ctx->config, req->route->method, req->route->pattern);
    if (need == 0)
        return true;
    const char *header = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth_keys_check(req->ctx->auth, header, need, NULL) == AUTH_OK)
        return true;
    req->bad_token = true;
    *res = http_reply_problem(req, PROBLEM_UNAUTHORIZED,
                              "the API key was revoked while the request was sent", NULL);
    return false;
}
