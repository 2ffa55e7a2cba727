/* The openapi suite's HTTP side (see openapi_http.h): requests to the
 * in-process server, each answer checked against the response object
 * openapi.yaml documents for it, mutations that must stop validating,
 * undocumented requests, router-level limits, and coverage of the
 * documented (operation, status) pairs. */
#include "openapi_http.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openapi_check.h"

const char *const oa_http_methods[OA_NMETHODS] = {"get",     "put",  "post",  "delete",
                                                  "options", "head", "patch", "trace"};

static const json_t *spec; /* borrowed from oa_http_use's caller */
static const int *port;
static char covered[256][160]; /* "METHOD path status" answered so far */
static size_t ncovered;

void oa_http_use(const json_t *s, const int *p)
{
    spec = s;
    port = p;
    ncovered = 0;
}

/* ---- the spec ------------------------------------------------------------------ */

void oa_each_operation(const json_t *s, oa_op_fn fn, void *arg)
{
    const char *path;
    const json_t *item;
    json_object_foreach(json_object_get(s, "paths"), path, item)
    {
        for (size_t m = 0; m < OA_NMETHODS; m++) {
            const json_t *op = json_object_get(item, oa_http_methods[m]);
            char up[16];
            if (op == NULL)
                continue;
            for (size_t k = 0; k <= strlen(oa_http_methods[m]); k++)
                up[k] = (char)toupper((unsigned char)oa_http_methods[m][k]);
            fn(up, path, op, arg);
        }
    }
}

void oa_sample_target(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *brace = strchr(out, '{');
    const char *end = strchr(path, '}');
    if (brace != NULL && end != NULL &&
        (size_t)(brace - out) + 3 + strlen(end + 1) <= cap)
        snprintf(brace, cap - (size_t)(brace - out), "c1%s", end + 1);
}

const json_t *oa_operation(const char *method, const char *path)
{
    char m[16];
    size_t i = 0;
    for (; method[i] != '\0' && i + 1 < sizeof m; i++)
        m[i] = (char)tolower((unsigned char)method[i]);
    m[i] = '\0';
    const json_t *item = json_object_get(json_object_get(spec, "paths"), path);
    return json_object_get(item, strcmp(m, "head") == 0 ? "get" : m);
}

/* The ProblemType row of the type URI, or NULL. */
const json_t *oa_problem_row(const char *type)
{
    const json_t *rows =
        json_object_get(oa_pointer(spec, "#/components/schemas/ProblemType"), "oneOf");
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (type != NULL &&
            strcmp(json_string_value(json_object_get(row, "const")), type) == 0)
            return row;
    }
    return NULL;
}

/* ---- coverage: the (METHOD path status) triples answered so far ---------------------
 */

static void mark(const char *method, const char *path, int status)
{
    char key[160];
    snprintf(key, sizeof key, "%s %s %d", strcmp(method, "HEAD") == 0 ? "GET" : method,
             path, status);
    for (size_t i = 0; i < ncovered; i++)
        if (strcmp(covered[i], key) == 0)
            return;
    ck_assert_uint_lt(ncovered, sizeof covered / sizeof covered[0]);
    snprintf(covered[ncovered++], sizeof covered[0], "%s", key);
}

typedef struct coverage {
    oa_scope_fn in_scope;
    char missing[2048]; /* "\n  METHOD path status" each */
} coverage;

/* Appends to the coverage (arg) each status of op in scope, but 500, that
 * no answer has had. */
static void add_uncovered(const char *method, const char *path, const json_t *op,
                          void *arg)
{
    coverage *c = arg;
    const char *status;
    const json_t *resp;
    json_object_foreach(json_object_get(op, "responses"), status, resp)
    {
        char key[160];
        snprintf(key, sizeof key, "%s %s %s", method, path, status);
        bool seen = false;
        for (size_t i = 0; i < ncovered; i++)
            seen = seen || strcmp(covered[i], key) == 0;
        if (!seen && strcmp(status, "500") != 0 && c->in_scope(method, path, status))
            snprintf(c->missing + strlen(c->missing),
                     sizeof c->missing - strlen(c->missing), "\n  %s", key);
    }
}

/* Every documented (operation, status) in scope was answered, but 500. */
void oa_assert_covered(oa_scope_fn in_scope)
{
    coverage c = {.in_scope = in_scope, .missing = ""};
    oa_each_operation(spec, add_uncovered, &c);
    ck_assert_msg(c.missing[0] == '\0', "documented but never answered:%s", c.missing);
}

/* ---- requests ------------------------------------------------------------------------
 */

/* Sends the request on a fresh connection; r->json is the body parsed
 * (duplicate members refused), or NULL. */
void oa_request(const char *method, const char *target, const oa_req *o, oa_response *r)
{
    static const oa_req none = {0};
    o = o != NULL ? o : &none;
    size_t blen = o->body != NULL ? strlen(o->body) : 0;
    char ct[128] = "", auth[512] = "", accept[160] = "", inm[160] = "";
    if (o->content_type != NULL)
        snprintf(ct, sizeof ct, "Content-Type: %s\r\n", o->content_type);
    if (o->authorization != NULL)
        snprintf(auth, sizeof auth, "Authorization: %s\r\n", o->authorization);
    if (o->accept != NULL)
        snprintf(accept, sizeof accept, "Accept: %s\r\n", o->accept);
    if (o->if_none_match != NULL)
        snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", o->if_none_match);
    size_t cap = 2048 + blen;
    char *raw = malloc(cap);
    ck_assert_ptr_nonnull(raw);
    int n = snprintf(raw, cap,
                     "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s%s%s%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, target, ct, auth, accept, inm,
                     o->declared > 0 ? (size_t)o->declared : blen,
                     o->declared > 0 || o->body == NULL ? "" : o->body);
    ck_assert_int_lt(n, (int)cap);
    testhttp_exchange(*port, raw, r);
    free(raw);
    r->json = json_loads(r->body, JSON_REJECT_DUPLICATES, NULL);
}

void oa_response_free(oa_response *r)
{
    testhttp_response_free(r);
}

/* The value of header name (case-insensitive) into out; false when absent. */
bool oa_header(const oa_response *r, const char *name, char *out, size_t size)
{
    const char *v = testhttp_header(r, name);
    if (v != NULL)
        snprintf(out, size, "%s", v);
    return v != NULL;
}

/* ---- checking an answer against a response object
 * ------------------------------------------- */

static const json_t *media_schema(const json_t *resp, const char *ct)
{
    const char *mt;
    const json_t *m;
    json_object_foreach(json_object_get(resp, "content"), mt, m)
    {
        if (strcasecmp(mt, ct) == 0)
            return json_object_get(m, "schema");
    }
    return NULL;
}

/* A problem's members agree with its ProblemType row and the request. */
static void check_problem(const oa_response *r, const char *path, const char *what)
{
    const char *type = json_string_value(json_object_get(r->json, "type"));
    const json_t *row = oa_problem_row(type);
    ck_assert_msg(row != NULL, "%s: type %s is not a ProblemType", what, type);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "title")),
                     json_string_value(json_object_get(row, "title")));
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), r->status);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "x-status")), r->status);
    const json_t *inst = json_object_get(r->json, "instance");
    if (r->status == 414)
        ck_assert_msg(inst == NULL, "%s: url-too-long with an instance", what);
    else
        ck_assert_msg(inst != NULL && strcmp(json_string_value(inst), path) == 0,
                      "%s: instance is not the path %s: %s", what, path, r->body);
}

/* Every header of the service's own (Ltvd-*) in r is documented in resp. */
static void check_own_headers(const json_t *resp, const oa_response *r, const char *what)
{
    for (const char *p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "Ltvd-", 5) != 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 2, ":\r"), p + 2);
        bool documented = false;
        const char *hname;
        const json_t *h;
        json_object_foreach(json_object_get(resp, "headers"), hname, h)
        {
            documented = documented || strcasecmp(hname, name) == 0;
        }
        ck_assert_msg(documented, "%s: header %s is not documented for this response",
                      what, name);
    }
}

/* A header's value as its schema types it: an integer when the schema's
 * type is integer and the value is one, else a string. New reference. */
static json_t *header_value(const json_t *schema, const char *value)
{
    const json_t *type = json_object_get(oa_resolve(spec, schema), "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "integer") == 0 &&
        value[0] != '\0') {
        char *end;
        long long n = strtoll(value, &end, 10);
        if (*end == '\0' && !isspace((unsigned char)value[0]))
            return json_integer(n);
    }
    return json_string(value);
}

/* Each line of an NDJSON body (LF-terminated, at least one) is a JSON
 * document valid against schema. */
static void check_ndjson(const json_t *schema, const oa_response *r, const char *what)
{
    char err[OA_ERR_MAX];
    size_t n = 0;
    ck_assert_msg(r->body_len > 0 && r->body[r->body_len - 1] == '\n',
                  "%s: an NDJSON body without a finished line", what);
    for (const char *p = r->body, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1, n++) {
        json_t *line = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
        ck_assert_msg(line != NULL, "%s: line %zu is not JSON", what, n + 1);
        bool ok = oa_validate(spec, schema, line, err);
        json_decref(line);
        ck_assert_msg(ok, "%s: line %zu: %s", what, n + 1, err);
    }
}

/* The answer r (to a request for path) fits the response object resp. */
static void check_response(const json_t *resp, const oa_response *r, const char *path,
                           bool head, const char *what)
{
    char ct[128], err[OA_ERR_MAX], value[256];
    const char *hname;
    const json_t *h;
    check_own_headers(resp, r, what);
    json_object_foreach(json_object_get(resp, "headers"), hname, h)
    {
        const json_t *header = oa_resolve(spec, h);
        bool required = json_is_true(json_object_get(header, "required"));
        bool present = oa_header(r, hname, value, sizeof value);
        ck_assert_msg(!required || present, "%s: no %s header:\n%s", what, hname,
                      r->head);
        const json_t *schema = json_object_get(header, "schema");
        if (!present || schema == NULL)
            continue;
        json_t *v = header_value(schema, value);
        snprintf(err, sizeof err, "not UTF-8");
        bool ok = v != NULL && oa_validate(spec, schema, v, err);
        json_decref(v);
        ck_assert_msg(ok, "%s: header %s: %s: %s", what, hname, value, err);
    }
    if (json_object_get(resp, "content") == NULL) {
        ck_assert_msg(r->body[0] == '\0', "%s: a body where none is documented", what);
        return;
    }
    ck_assert_msg(oa_header(r, "Content-Type", ct, sizeof ct), "%s: no Content-Type",
                  what);
    const json_t *schema = media_schema(resp, ct);
    ck_assert_msg(schema != NULL, "%s: Content-Type %s is not documented:\n%s", what, ct,
                  r->head);
    if (head) {
        ck_assert_msg(r->body[0] == '\0', "%s: HEAD with a body", what);
        return;
    }
    if (strstr(ct, "json") == NULL) {
        ck_assert_msg(r->body[0] != '\0', "%s: empty body", what);
        json_t *text = json_string(r->body);
        snprintf(err, sizeof err, "the body is not UTF-8");
        bool ok = text != NULL && oa_validate(spec, schema, text, err);
        json_decref(text);
        ck_assert_msg(ok, "%s: %s", what, err);
        return;
    }
    if (strcasecmp(ct, "application/x-ndjson") == 0) {
        check_ndjson(schema, r, what);
        return;
    }
    ck_assert_msg(r->json != NULL, "%s: the body is not JSON: %s", what, r->body);
    ck_assert_msg(oa_validate(spec, schema, r->json, err), "%s: %s\n%s", what, err,
                  r->body);
    if (strcasecmp(ct, "application/problem+json") == 0)
        check_problem(r, path, what);
}

/* The path of target (no query). */
static void target_path(const char *target, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int)strcspn(target, "?"), target);
}

/* Sends method target for the documented operation (method, spec_path) and
 * checks that it answers want, a status documented for it, as documented.
 * r keeps the answer (response_free it). */
void oa_call(const char *method, const char *spec_path, const char *target,
             const oa_req *o, int want, oa_response *r)
{
    char what[256], path[1024];
    snprintf(what, sizeof what, "%s %.200s", method, target);
    target_path(target, path, sizeof path);
    const json_t *op = oa_operation(method, spec_path);
    ck_assert_msg(op != NULL, "%s %s is not in openapi.yaml", method, spec_path);
    oa_request(method, target, o, r);
    char status[8];
    snprintf(status, sizeof status, "%d", r->status);
    const json_t *resp =
        oa_resolve(spec, json_object_get(json_object_get(op, "responses"), status));
    ck_assert_msg(resp != NULL, "%s: %d is not documented for %s %s:\n%s", what,
                  r->status, method, spec_path, r->head);
    check_response(resp, r, path, strcmp(method, "HEAD") == 0, what);
    ck_assert_msg(r->status == want, "%s: want %d:\n%s", what, want, r->head);
    mark(method, spec_path, r->status);
}

/* call() for an answer not looked at further. */
void oa_call0(const char *method, const char *spec_path, const char *target,
              const oa_req *o, int want)
{
    oa_response r;
    oa_call(method, spec_path, target, o, want, &r);
    oa_response_free(&r);
}

/* ---- the validator bites: mutations of valid answers must not validate
 * ---------------------- */

/* A value of another JSON kind than v. */
static json_t *other_kind(const json_t *v)
{
    if (json_is_string(v))
        return json_integer(12345);
    if (json_is_object(v) || json_is_array(v))
        return json_string("\x01not this");
    return json_pack("{s:b}", "__not_this", 1); /* numbers, booleans, null */
}

static bool optional_member(const char *key)
{
    return strcmp(key, "detail") == 0 || strcmp(key, "instance") == 0 ||
           strcmp(key, "errors") == 0 ||
           strcmp(key, "intervals") == 0; /* one customer's GET only, not list items */
}

/* Each member of obj (inside doc), recursively: removed, then of another
 * kind, doc must stop validating against schema. Members of by-name maps
 * (params, std_errors, a tenant's settings) may go missing. */
static void mutate_members(const json_t *schema, json_t *doc, json_t *obj, bool by_name,
                           int depth)
{
    char err[OA_ERR_MAX], names[32][64];
    size_t n = 0;
    const char *key;
    json_t *v;
    /* the names first: a member deleted and set again moves to the end */
    json_object_foreach(obj, key, v)
    {
        ck_assert_uint_lt(n, 32);
        snprintf(names[n++], sizeof names[0], "%s", key);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        json_t *keep = json_incref(json_object_get(obj, name));
        if (!by_name && !optional_member(name)) {
            json_object_del(obj, name);
            ck_assert_msg(!oa_validate(spec, schema, doc, err),
                          "validates without its member %s", name);
        }
        json_object_set_new(obj, name, other_kind(keep));
        ck_assert_msg(!oa_validate(spec, schema, doc, err),
                      "validates with member %s of another kind", name);
        json_object_set(obj, name, keep);
        json_t *inner = json_is_array(keep) ? json_array_get(keep, 0) : keep;
        if (json_is_object(inner) && depth < 4)
            mutate_members(schema, doc, inner,
                           strcmp(name, "params") == 0 ||
                               strcmp(name, "std_errors") == 0 ||
                               strcmp(name, "settings") == 0,
                           depth + 1);
        json_decref(keep);
    }
    ck_assert_msg(oa_validate(spec, schema, doc, err), "mutations left a trace: %s", err);
}

/* The JSON body of r, validated against the schema of its documented
 * response, then mutated. */
void oa_check_mutations(const char *method, const char *spec_path, const oa_response *r)
{
    char status[8], ct[128];
    snprintf(status, sizeof status, "%d", r->status);
    const json_t *resp = oa_resolve(
        spec, json_object_get(
                  json_object_get(oa_operation(method, spec_path), "responses"), status));
    ck_assert(oa_header(r, "Content-Type", ct, sizeof ct));
    const json_t *schema = media_schema(resp, ct);
    json_t *doc = json_deep_copy(r->json);
    ck_assert_ptr_nonnull(doc);
    mutate_members(schema, doc, doc, false, 0);
    json_decref(doc);
}

/* ---- router-level answers and undocumented requests
 * ------------------------------------------ */

/* The spec path whose template matches path, or NULL. */
static const char *spec_path_of(const char *path)
{
    const char *p;
    const json_t *item;
    json_object_foreach(json_object_get(spec, "paths"), p, item)
    {
        const char *a = p, *b = path;
        while (*a == '/' && *b == '/') {
            size_t la = strcspn(a + 1, "/"), lb = strcspn(b + 1, "/");
            if (!(a[1] == '{' && lb > 0) && (la != lb || strncmp(a + 1, b + 1, la) != 0))
                break;
            a += la + 1;
            b += lb + 1;
        }
        if (*a == '\0' && *b == '\0')
            return p;
    }
    return NULL;
}

/* The documented methods of a spec path, "GET, HEAD, POST" style, sorted. */
static void documented_methods(const char *spec_path, char *out, size_t size)
{
    const json_t *item = json_object_get(json_object_get(spec, "paths"), spec_path);
    out[0] = '\0';
    static const char *const sorted[] = {"delete", "get",  "head", "options",
                                         "patch",  "post", "put",  "trace"};
    for (size_t i = 0; i < 8; i++) {
        bool has =
            json_object_get(item, sorted[i]) != NULL ||
            (strcmp(sorted[i], "head") == 0 && json_object_get(item, "get") != NULL);
        for (const char *c = sorted[i]; has && *c; c++)
            snprintf(out + strlen(out), size - strlen(out), "%s%c",
                     c == sorted[i] && out[0] ? ", " : "", toupper((unsigned char)*c));
    }
}

/* An Allow header's methods, sorted, in the same style. */
static void sort_methods(const char *allow, char *out, size_t size)
{
    char items[8][16];
    int n = 0;
    for (const char *s = allow; *s && n < 8;) {
        s += strspn(s, ", ");
        size_t len = strcspn(s, ", ");
        snprintf(items[n++], sizeof items[0], "%.*s", (int)len, s);
        s += len;
    }
    qsort(items, (size_t)n, sizeof items[0], (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? ", " : "", items[i]);
}

/* A request openapi.yaml does not document: 404 not-found when no path
 * matches, else 405 with an Allow header naming exactly the documented
 * methods; either body as the NotFound / MethodNotAllowed responses say. */
void oa_check_undocumented(const char *method, const char *target)
{
    char path[512], what[600], allow[128], want[128], got[128];
    target_path(target, path, sizeof path);
    snprintf(what, sizeof what, "undocumented %s %s", method, target);
    const char *sp = spec_path_of(path);
    ck_assert_msg(sp == NULL || oa_operation(method, sp) == NULL, "%s is documented",
                  what);
    oa_response r;
    oa_request(method, target, NULL, &r);
    ck_assert_msg(r.status == (sp != NULL ? 405 : 404), "%s:\n%s", what, r.head);
    const json_t *resp =
        oa_pointer(spec, sp != NULL ? "#/components/responses/MethodNotAllowed"
                                    : "#/components/responses/NotFound");
    ck_assert_ptr_nonnull(resp);
    check_response(resp, &r, path, false, what);
    if (sp != NULL) {
        ck_assert(oa_header(&r, "Allow", allow, sizeof allow));
        documented_methods(sp, want, sizeof want);
        sort_methods(allow, got, sizeof got);
        ck_assert_msg(strcmp(want, got) == 0, "%s: Allow %s, documented %s", what, got,
                      want);
    }
    oa_response_free(&r);
}

typedef struct router_limits {
    oa_scope_fn in_scope;
    long max_body, max_url;
} router_limits;

/* 413 and 414 for op, when in the limits' (arg) scope; a path parameter
 * is "c1". */
static void check_limits(const char *method, const char *path, const json_t *op,
                         void *arg)
{
    const router_limits *l = arg;
    (void)op;
    if (!l->in_scope(method, path, "413"))
        return;
    char target[1024], longer[2048];
    oa_sample_target(path, target, sizeof target);
    oa_req big = {.content_type = "application/json", .declared = l->max_body + 1};
    oa_call0(method, path, target, &big, 413);
    snprintf(longer, sizeof longer, "%s?pad=%0*d", target, (int)l->max_url, 0);
    oa_call0(method, path, longer, NULL, 414);
}

/* 413 (a body announced beyond the route's limit) and 414 (a target
 * beyond max_url_bytes) for every documented operation in scope. */
void oa_check_router_limits(oa_scope_fn in_scope, long max_body, long max_url)
{
    router_limits l = {in_scope, max_body, max_url};
    oa_each_operation(spec, check_limits, &l);
}
