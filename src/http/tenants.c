/* The tenants' management (scope platform, a platform key: tenant "*"):
 *   POST   /v1/tenants            {"id", "settings"?} -> 201, the document
 *   GET    /v1/tenants            ?limit=1..1000 (100) &cursor=ID -> a page
 *   GET    /v1/tenants/{tenant}   -> the document
 *   PATCH  /v1/tenants/{tenant}   {"settings": {...}} (null removes) -> 200
 *   DELETE /v1/tenants/{tenant}   -> 204, everything it holds erased
 * and the erasure of one customer of a tenant (scope admin):
 *   DELETE /v1/customers/{customer_id} -> 204 (under /v1/tenants/{t}/ too).
 * The document is app_tenant_doc's: id, settings (its own), effective (every
 * tenant setting's value), customers, model_version. Pages come from this
 * process's registry, in id order (no database work). */
#include "http/tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tenant_admin.h"
#include "app/tenants.h"
#include "auth/auth.h"
#include "http/json_body.h"
#include "http/query.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

/* With API keys on, only a platform key manages tenants: a key of one
 * tenant with the platform scope cannot exist (ltvd key create), but a
 * hand-made row could. */
static bool platform_or_reply(http_request *req, http_result *res)
{
    if (req->key_tenant[0] == '\0' || strcmp(req->key_tenant, "*") == 0)
        return true;
    *res = http_reply_problem(req, PROBLEM_FORBIDDEN,
                              "the tenants are managed with a platform key "
                              "(ltvd key create --tenant '*' --scopes platform)",
                              NULL);
    return false;
}

static http_result reply_doc(http_request *req, unsigned status, app_tenant *t)
{
    return json_body_reply(req, status, app_tenant_doc(t), 17);
}

static http_result reply_admin(http_request *req, app_admin_status st, json_t *errors,
                               const char *detail)
{
    switch (st) {
    case APP_ADMIN_INVALID:
        return http_reply_problem(req, PROBLEM_VALIDATION_FAILED,
                                  "see errors: nothing was changed", json_incref(errors));
    case APP_ADMIN_EXISTS:
        return http_reply_problem(req, PROBLEM_CONFLICT, "a tenant has that id", NULL);
    case APP_ADMIN_NOT_FOUND:
        return http_reply_problem(req, PROBLEM_TENANT_NOT_FOUND, NULL, NULL);
    case APP_ADMIN_FORBIDDEN:
        return http_reply_problem(req, PROBLEM_CONFLICT,
                                  "the tenant default (the unprefixed /v1 paths) cannot "
                                  "be deleted",
                                  NULL);
    case APP_ADMIN_UNAVAILABLE:
        return http_reply_problem(req, PROBLEM_DATABASE_UNAVAILABLE, detail, NULL);
    default:
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
}

static void field_error(json_t *errors, const char *field, const char *detail)
{
    if (json_array_size(errors) >= APP_TENANT_MAX_ERRORS)
        return;
    json_array_append_new(errors, json_pack("{s:i, s:s, s:s}", "index", -1, "field",
                                            field, "reason", detail));
}

/* Members other than known[] are errors. */
static void unknown_members(json_t *body, const char *const *known, json_t *errors)
{
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] != NULL; i++)
            ok = ok || strcmp(known[i], name) == 0;
        if (!ok)
            field_error(errors, name, "unknown member");
    }
}

/* POST /v1/tenants */
static http_result create_tenant(http_request *req)
{
    static const char *const known[] = {"id", "settings", NULL};
    http_result res;
    if (!platform_or_reply(req, &res))
        return res;
    json_t *body = json_body_object_or_reply(req, &res);
    if (body == NULL)
        return res;
    json_t *errors = json_array();
    unknown_members(body, known, errors);
    json_t *id = json_object_get(body, "id");
    json_t *settings = json_object_get(body, "settings");
    if (!json_is_string(id) || !app_tenant_id_ok(json_string_value(id)))
        field_error(errors, "id", "a tenant id is [a-z0-9][a-z0-9_-]{0,62}");
    if (settings != NULL && !json_is_object(settings))
        field_error(errors, "settings", "must be a JSON object");
    app_tenant_cfg cfg;
    if (json_array_size(errors) > 0 && json_is_object(settings) &&
        app_tenant_cfg_make(((app *)req->ctx->app)->config, settings, &cfg, errors))
        json_decref(cfg.settings); /* every bad member at once */
    if (json_array_size(errors) > 0) {
        res = reply_admin(req, APP_ADMIN_INVALID, errors, NULL);
        goto cleanup;
    }
    app_tenant *t = NULL;
    char detail[APP_DB_DETAIL_MAX];
    app_admin_status st = app_tenant_create(req->ctx->app, json_string_value(id),
                                            settings, errors, &t, detail);
    if (st == APP_ADMIN_OK) {
        char location[96];
        snprintf(location, sizeof location, "/v1/tenants/%s", t->id);
        http_set_header(req, "Location", location);
        res = reply_doc(req, 201, t);
    } else {
        res = reply_admin(req, st, errors, detail);
    }
    app_tenant_release(t);
cleanup:
    json_decref(errors);
    json_decref(body);
    return res;
}

/* GET /v1/tenants */
static http_result list_tenants(http_request *req)
{
    static const char *const known[] = {"limit", "cursor", NULL};
    http_result res;
    if (!platform_or_reply(req, &res))
        return res;
    const char *bad = http_query_unknown(req, known), *cursor = "", *v = NULL;
    double limit = PAGE_DEFAULT;
    if (bad != NULL) {
        char detail[300];
        snprintf(detail, sizeof detail, "unknown query parameter \"%.200s\"", bad);
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    }
    if (!query_number(req, "limit", 1, PAGE_MAX, true, &limit, &res))
        return res;
    int q = http_query(req, "cursor", &v);
    if (q < 0 || (q == 1 && !app_tenant_id_ok(v)))
        return http_reply_problem(req, PROBLEM_INVALID_PARAMETER,
                                  "cursor must be a tenant id (next_cursor of a page)",
                                  NULL);
    if (q == 1)
        cursor = v;
    size_t n;
    app_tenant **all = app_tenants_list(((app *)req->ctx->app)->tenants, &n);
    json_t *items = json_array(), *next = json_null();
    size_t taken = 0;
    for (size_t i = 0; i < n && items != NULL; i++) {
        if (strcmp(all[i]->id, cursor) <= 0)
            continue;
        if (taken == (size_t)limit) {
            json_decref(next);
            next = json_string(all[i - 1]->id);
            break;
        }
        json_array_append_new(items, app_tenant_doc(all[i]));
        taken++;
    }
    app_tenants_list_free(all, n);
    return json_body_reply(
        req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next), 17);
}

/* The {tenant} of the path, retained, or a 404 reply. */
static app_tenant *tenant_or_reply(http_request *req, http_result *res)
{
    const char *id = req->params[0];
    app_tenant *t =
        app_tenant_id_ok(id) ? app_http_tenant_acquire(req->ctx->app, id) : NULL;
    if (t == NULL)
        *res = http_reply_problem(req, PROBLEM_TENANT_NOT_FOUND, NULL, NULL);
    return t;
}

/* GET /v1/tenants/{tenant} */
static http_result get_tenant(http_request *req)
{
    http_result res;
    if (!platform_or_reply(req, &res))
        return res;
    app_tenant *t = tenant_or_reply(req, &res);
    if (t == NULL)
        return res;
    res = reply_doc(req, 200, t);
    app_tenant_release(t);
    return res;
}

/* PATCH /v1/tenants/{tenant} */
static http_result patch_tenant(http_request *req)
{
    static const char *const known[] = {"settings", NULL};
    http_result res;
    if (!platform_or_reply(req, &res))
        return res;
    app_tenant *t = tenant_or_reply(req, &res);
    if (t == NULL)
        return res;
    json_t *errors = json_array();
    json_t *body = json_body_object_or_reply(req, &res);
    if (body == NULL)
        goto cleanup;
    unknown_members(body, known, errors);
    json_t *settings = json_object_get(body, "settings");
    if (!json_is_object(settings))
        field_error(errors, "settings", "must be a JSON object");
    char detail[APP_DB_DETAIL_MAX];
    app_admin_status st = json_array_size(errors) > 0
                              ? APP_ADMIN_INVALID
                              : app_tenant_update(t, settings, errors, detail);
    res = st == APP_ADMIN_OK ? reply_doc(req, 200, t)
                             : reply_admin(req, st, errors, detail);
cleanup:
    json_decref(body);
    json_decref(errors);
    app_tenant_release(t);
    return res;
}

/* DELETE /v1/tenants/{tenant} */
static http_result delete_tenant(http_request *req)
{
    http_result res;
    if (!platform_or_reply(req, &res))
        return res;
    const char *id = req->params[0];
    if (!app_tenant_id_ok(id))
        return http_reply_problem(req, PROBLEM_TENANT_NOT_FOUND, NULL, NULL);
    char detail[APP_DB_DETAIL_MAX];
    app_admin_status st = app_tenant_delete(req->ctx->app, id, detail);
    if (st == APP_ADMIN_OK) {
        /* its keys went with it: not valid here until the next reload (a
         * tenant created again at once would open to them) */
        auth_keys_forget_tenant(req->ctx->auth, id);
        return http_reply(req, 204, NULL, NULL, 0);
    }
    return reply_admin(req, st, NULL, detail);
}

/* DELETE /v1/customers/{customer_id} */
static http_result erase_customer(http_request *req)
{
    char detail[APP_DB_DETAIL_MAX];
    app_admin_status st = app_customer_erase(req->tenant_ref, req->params[0], detail);
    if (st == APP_ADMIN_OK)
        return http_reply(req, 204, NULL, NULL, 0);
    if (st == APP_ADMIN_NOT_FOUND)
        return http_reply_problem(req, PROBLEM_CUSTOMER_NOT_FOUND, NULL, NULL);
    return reply_admin(req, st, NULL, detail);
}

const http_route tenants_routes[] = {
    {"POST", "/v1/tenants", create_tenant, HTTP_BODY_CONFIG, "application/json",
     http_offload_always},
    {"GET", "/v1/tenants", list_tenants, 0, NULL, NULL},
    {"GET", "/v1/tenants/{tenant}", get_tenant, 0, NULL, NULL},
    {"PATCH", "/v1/tenants/{tenant}", patch_tenant, HTTP_BODY_CONFIG, "application/json",
     http_offload_always},
    {"DELETE", "/v1/tenants/{tenant}", delete_tenant, 0, NULL, http_offload_always},
    {"DELETE", "/v1/customers/{customer_id}", erase_customer, 0, NULL,
     http_offload_always},
};
const size_t tenants_nroutes = sizeof tenants_routes / sizeof tenants_routes[0];
