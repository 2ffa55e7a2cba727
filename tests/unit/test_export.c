/* GET /v1/customers/export over HTTP, in-process against a real PostgreSQL
 * (docs/service.md, "Export"): the NDJSON export is, line for line, byte for
 * byte, GET /v1/customers/{id} of every customer and nobody else; the CSV
 * export has one row per customer with the same numbers; two tenants
 * export only their own customers; an erased customer is not exported; no
 * model is 503 before anything is sent; an Accept that is neither NDJSON
 * nor CSV is 406; unknown parameters are 400; the customer "export" is
 * read at a percent-encoded path; a tenant deleted during its export ends
 * the body unfinished; a client that stops reading is cut once
 * connection_timeout_s has passed; export_max bounds the exports at once. Data: the CDNOW
 * sample with the published BG/NBD and Gamma-Gamma parameters, as of 1997-09-30. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <check.h>
#include <gsl/gsl_errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "app/tenants.h"
#include "cache/cache.h"
#include "model/bgnbd.h"
#include "testhttp.h"

#define CDNOW_TXNS "tests/data/cdnow_sample_transactions.csv"
#define CSV_HEADER                                                                       \
    "customer_id,as_of,frequency,recency,T,monetary_value,first_purchase,"               \
    "last_purchase,p_alive,horizon_days,expected_purchases,p_purchase,expected_spend,"   \
    "predicted_ltv,churn_risk,lifecycle_stage,model_version,acquisition_channel,"        \
    "campaign,historic_value,historic_purchases,average_order_value,"                    \
    "average_days_between_purchases,expected_next_purchase_by,"                          \
    "predicted_ltv_percentile,predicted_spend_tier"
#define CSV_COLUMNS 26 /* the marketer fields (customer_fields suite) from 19 */

static testhttp_app t;

static void set_model(cache *c)
{
    cache_model m = {.model = &bgnbd_model,
                     .params = {0.242593, 4.413532, 0.792886, 2.425753},
                     .has_spend = true,
                     .gg_params = {6.248802, 3.744588, 15.447748},
                     .period_days = 7,
                     .version = 7};
    ck_assert_int_eq(cache_snapshot_set(c, &m), CACHE_OK);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_export");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "period", "week", err));
    ck_assert(config_set(&t.cfg, "as_of", "1997-09-30", err));
    ck_assert(config_set(&t.cfg, "connection_timeout_s", "2", err));
    testhttp_app_start(&t, false); /* migrates */
    testhttp_app_stop(&t);
    testhttp_load_cdnow(&t, CDNOW_TXNS);
    testhttp_app_start(&t, false); /* the cache from PostgreSQL as of as_of */
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

/* ---- a client that reads a whole streamed answer ---------------------------- */

typedef struct answer {
    int status;
    char head[4096];
    char *body; /* de-chunked, NUL-terminated, malloc'd */
    size_t len;
} answer;

/* Decodes the chunked body raw[0..n) into a->body; false when malformed
 * or unfinished (no last chunk). */
static bool dechunk(answer *a, const char *raw, size_t n)
{
    a->body = malloc(n + 1);
    ck_assert_ptr_nonnull(a->body);
    a->len = 0;
    size_t i = 0;
    for (;;) {
        char *end;
        size_t size = strtoul(raw + i, &end, 16);
        const char *crlf = strstr(raw + i, "\r\n");
        if (crlf == NULL || end == raw + i)
            return false;
        i = (size_t)(crlf - raw) + 2;
        if (size == 0)
            break;
        if (i + size + 2 > n)
            return false;
        memcpy(a->body + a->len, raw + i, size);
        a->len += size;
        i += size + 2;
    }
    a->body[a->len] = '\0';
    return true;
}

/* GET target with Accept accept (NULL: none), Connection: close; the whole
 * answer read to the end. */
static void get_all(const char *method, const char *target, const char *accept, answer *a)
{
    int fd = testhttp_dial(t.port);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s%s%s\r\n",
                     method, target, accept ? "Accept: " : "", accept ? accept : "",
                     accept ? "\r\n" : "");
    testhttp_send_all(fd, req, (size_t)n);
    size_t cap = 1 << 16, len = 0;
    char *raw = malloc(cap + 1);
    for (ssize_t got; (got = recv(fd, raw + len, cap - len, 0)) > 0;) {
        len += (size_t)got;
        if (len == cap)
            ck_assert_ptr_nonnull(raw = realloc(raw, (cap *= 2) + 1));
    }
    close(fd);
    raw[len] = '\0';
    char *body = strstr(raw, "\r\n\r\n");
    ck_assert_msg(body != NULL, "no head: %.200s", raw);
    snprintf(a->head, sizeof a->head, "%.*s", (int)(body - raw + 2), raw);
    ck_assert_int_eq(sscanf(a->head, "HTTP/1.1 %d", &a->status), 1);
    body += 4;
    size_t blen = len - (size_t)(body - raw);
    if (strcasestr(a->head, "\r\nTransfer-Encoding: chunked\r\n") != NULL) {
        ck_assert_msg(dechunk(a, body, blen), "%s %s: an unfinished chunked body", method,
                      target);
    } else {
        a->body = strndup(body, blen);
        a->len = blen;
    }
    free(raw);
}

static void answer_free(answer *a)
{
    free(a->body);
    a->body = NULL;
}

/* The value of header name in a->head ("" when absent). */
static const char *head_value(const answer *a, const char *name)
{
    static char v[256];
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strcasestr(a->head, key);
    v[0] = '\0';
    if (p != NULL)
        snprintf(v, sizeof v, "%.*s", (int)strcspn(p + strlen(key), "\r"),
                 p + strlen(key));
    return v;
}

/* Exports target as NDJSON; returns the lines (a JSON array of strings). */
static json_t *export_lines(const char *target, const char *accept)
{
    answer a;
    get_all("GET", target, accept, &a);
    ck_assert_msg(a.status == 200, "%s: %d %s", target, a.status, a.body);
    ck_assert_str_eq(head_value(&a, "Content-Type"), "application/x-ndjson");
    ck_assert_msg(a.len == 0 || a.body[a.len - 1] == '\n', "the last line is unfinished");
    json_t *lines = json_array();
    for (char *p = a.body, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
        json_array_append_new(lines, json_stringn(p, (size_t)(nl - p)));
    answer_free(&a);
    return lines;
}

/* The ids of an NDJSON export (an object id -> the document). */
static json_t *export_docs(const char *target)
{
    json_t *lines = export_lines(target, NULL), *docs = json_object(), *line;
    size_t i;
    json_array_foreach(lines, i, line)
    {
        json_t *d = json_loads(json_string_value(line), JSON_REJECT_DUPLICATES, NULL);
        ck_assert_msg(d != NULL, "line %zu is not JSON: %s", i, json_string_value(line));
        const char *id = testhttp_jstr(d, "customer_id");
        ck_assert_msg(json_object_get(docs, id) == NULL, "%s exported twice", id);
        json_object_set_new(docs, id, d);
    }
    json_decref(lines);
    return docs;
}

static void assert_problem(const char *target, const char *accept, int status,
                           const char *slug)
{
    answer a;
    get_all("GET", target, accept, &a);
    char type[96];
    snprintf(type, sizeof type, "\"type\":\"urn:ltvd:problem:%s\"", slug);
    ck_assert_msg(a.status == status && strstr(a.body, type) != NULL, "%s: %d %s", target,
                  a.status, a.body);
    ck_assert_str_eq(head_value(&a, "Content-Type"), "application/problem+json");
    answer_free(&a);
}

/* POSTs a batch of (id, customer, day, amount) rows to target. */
static void post_batch(const char *target, const char *const rows[][3], size_t n)
{
    char body[8192] = "{\"transactions\":[";
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", rows[i][0], "customer_id",
                              rows[i][1], "occurred_at", rows[i][2], "amount", "12.5");
        char *s = json_dumps(o, JSON_COMPACT);
        snprintf(body + strlen(body), sizeof body - strlen(body), "%s%s", i ? "," : "",
                 s);
        free(s);
        json_decref(o);
    }
    strcat(body, "]}");
    testhttp_response r;
    testhttp_request(t.port, "POST", target, body, &r);
    ck_assert_msg(r.status == 200, "POST %s: %d %s", target, r.status, r.body);
    testhttp_response_free(&r);
}

/* ---- the tests ------------------------------------------------------------------ */

/* Every line is GET /v1/customers/{id}'s body, byte for byte; every customer
 * has one; an Accept of any type, or of NDJSON, gives the same. */
START_TEST(test_export_ndjson_equals_documents)
{
    set_model(t.app->dflt->cache);
    json_t *lines = export_lines("/v1/customers/export", NULL), *line;
    size_t n = json_array_size(lines), i;
    ck_assert_uint_eq(n, cache_count(t.app->dflt->cache));
    ck_assert_uint_gt(n, 2000);
    json_t *seen = json_object();
    json_array_foreach(lines, i, line)
    {
        const char *text = json_string_value(line);
        json_t *d = json_loads(text, 0, NULL);
        ck_assert_ptr_nonnull(d);
        char target[400];
        const char *id = testhttp_jstr(d, "customer_id");
        ck_assert_msg(json_object_get(seen, id) == NULL, "%s twice", id);
        json_object_set_new(seen, id, json_true());
        /* the document without its own member intervals (not in exports) */
        snprintf(target, sizeof target, "/v1/customers/%s?intervals=false", id);
        testhttp_response r;
        testhttp_request(t.port, "GET", target, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strcmp(r.body, text) == 0, "%s:\n%s\n%s", id, r.body, text);
        testhttp_response_free(&r);
        json_decref(d);
    }
    json_decref(seen);
    /* the same export whatever the spelling of the NDJSON choice */
    const char *accepts[] = {"*/*", "application/x-ndjson",
                             "text/html;q=0.9, application/*;q=0.5",
                             "text/csv;q=0.1, application/x-ndjson"};
    for (size_t k = 0; k < sizeof accepts / sizeof accepts[0]; k++) {
        json_t *again = export_lines("/v1/customers/export", accepts[k]);
        ck_assert_msg(json_equal(again, lines), "Accept: %s", accepts[k]);
        json_decref(again);
    }
    /* options as the document takes them */
    json_t *opt = export_lines("/v1/customers/export?horizon_days=90&margin=0.3&"
                               "discount_rate=0.05",
                               NULL);
    ck_assert_uint_eq(json_array_size(opt), n);
    json_t *d = json_loads(json_string_value(json_array_get(opt, 0)), 0, NULL);
    char target[400];
    snprintf(
        target, sizeof target,
        "/v1/customers/%s?horizon_days=90&margin=0.3&discount_rate=0.05&intervals=false",
        testhttp_jstr(d, "customer_id"));
    testhttp_response r;
    testhttp_request(t.port, "GET", target, NULL, &r);
    ck_assert_str_eq(r.body, json_string_value(json_array_get(opt, 0)));
    testhttp_response_free(&r);
    json_decref(d);
    json_decref(opt);
    json_decref(lines);
}
END_TEST

/* The CSV field of a number: the JSON number's value, exactly. */
static void assert_field_num(const char *field, json_t *v, const char *what)
{
    if (json_is_null(v)) {
        ck_assert_msg(field[0] == '\0', "%s: %s for null", what, field);
        return;
    }
    char *end;
    double d = strtod(field, &end);
    ck_assert_msg(*end == '\0' && field[0] != '\0' && d == json_number_value(v),
                  "%s: %s against %.17g", what, field, json_number_value(v));
}

/* Splits one CSV line (no quoted field) at commas into f[0..19). */
static void split(char *line, char *f[CSV_COLUMNS])
{
    size_t k = 0;
    for (char *p = line;; p++) {
        f[k++] = p;
        p += strcspn(p, ",");
        if (*p == '\0')
            break;
        *p = '\0';
        ck_assert_uint_lt(k, CSV_COLUMNS);
    }
    ck_assert_uint_eq(k, CSV_COLUMNS);
}

/* One row per customer, the header first, lines ending in CRLF, the
 * numbers those of the NDJSON documents. */
START_TEST(test_export_csv)
{
    set_model(t.app->dflt->cache);
    json_t *docs = export_docs("/v1/customers/export");
    answer a;
    get_all("GET", "/v1/customers/export", "text/csv", &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(head_value(&a, "Content-Type"), "text/csv; charset=utf-8");
    size_t rows = 0;
    char *p = a.body;
    char *nl = strstr(p, "\r\n");
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    ck_assert_str_eq(p, CSV_HEADER);
    for (p = nl + 2; *p != '\0'; p = nl + 2, rows++) {
        nl = strstr(p, "\r\n");
        ck_assert_msg(nl != NULL, "a row without CRLF: %.80s", p);
        *nl = '\0';
        char *f[CSV_COLUMNS];
        split(p, f);
        json_t *d = json_object_get(docs, f[0]), *s = json_object_get(d, "summary");
        ck_assert_msg(d != NULL, "row of %s, not in the NDJSON export", f[0]);
        ck_assert_str_eq(f[1], testhttp_jstr(d, "as_of"));
        assert_field_num(f[2], json_object_get(s, "frequency"), "frequency");
        assert_field_num(f[3], json_object_get(s, "recency"), "recency");
        assert_field_num(f[4], json_object_get(s, "T"), "T");
        assert_field_num(f[5], json_object_get(s, "monetary_value"), "monetary_value");
        ck_assert_str_eq(f[6], testhttp_jstr(s, "first_purchase"));
        ck_assert_str_eq(f[7], testhttp_jstr(s, "last_purchase"));
        const char *num[] = {"p_alive",    "horizon_days",   "expected_purchases",
                             "p_purchase", "expected_spend", "predicted_ltv"};
        for (size_t k = 0; k < 6; k++)
            assert_field_num(f[8 + k], json_object_get(d, num[k]), num[k]);
        ck_assert_str_eq(f[14], testhttp_jstr(d, "churn_risk"));
        ck_assert_str_eq(f[15], testhttp_jstr(d, "lifecycle_stage"));
        ck_assert_str_eq(f[16], "7");
        /* the attributes: empty when unknown, else the document's */
        const char *attr[2] = {"acquisition_channel", "campaign"};
        for (int k = 0; k < 2; k++) {
            json_t *v = json_object_get(d, attr[k]);
            ck_assert_str_eq(f[17 + k], json_is_string(v) ? json_string_value(v) : "");
        }
    }
    ck_assert_uint_eq(rows, json_object_size(docs));
    answer_free(&a);
    json_decref(docs);
}
END_TEST

/* Two tenants, the same customer id in both: each exports its own, with
 * its own model; an id with a comma and quotes is quoted in CSV. */
START_TEST(test_export_tenants)
{
    set_model(t.app->dflt->cache);
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/tenants", "{\"id\":\"acme\"}", &r);
    ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    const char *const rows[][3] = {{"a1", "1", "1997-01-02T10:00:00Z"},
                                   {"a2", "1", "1997-03-02T10:00:00Z"},
                                   {"a3", "x,\"y\"", "1997-02-02T10:00:00Z"},
                                   {"a4", "x,\"y\"", "1997-02-09T10:00:00Z"},
                                   {"a5", "only-acme", "1997-05-05T10:00:00Z"}};
    post_batch("/v1/tenants/acme/transactions", rows, 5);
    /* acme has no model yet: 503 before anything is sent */
    assert_problem("/v1/tenants/acme/customers/export", NULL, 503, "no-model");
    app_tenant *acme = app_tenant_find(t.app, "acme");
    ck_assert_ptr_nonnull(acme);
    set_model(acme->cache);
    json_t *docs = export_docs("/v1/tenants/acme/customers/export");
    ck_assert_uint_eq(json_object_size(docs), 3);
    ck_assert_ptr_nonnull(json_object_get(docs, "1"));
    ck_assert_ptr_nonnull(json_object_get(docs, "x,\"y\""));
    ck_assert_ptr_nonnull(json_object_get(docs, "only-acme"));
    /* acme's customer 1 is acme's: one purchase day more than in default */
    ck_assert_int_eq(testhttp_jint(json_object_get(json_object_get(docs, "1"), "summary"),
                                   "frequency"),
                     1);
    json_t *dflt = export_docs("/v1/customers/export");
    ck_assert_uint_eq(json_object_size(dflt), cache_count(t.app->dflt->cache));
    ck_assert_ptr_null(json_object_get(dflt, "only-acme"));
    ck_assert_ptr_null(json_object_get(dflt, "x,\"y\""));
    json_decref(dflt);
    /* the tenant route of default is the unprefixed one */
    json_t *same = export_lines("/v1/tenants/default/customers/export", NULL);
    json_t *plain = export_lines("/v1/customers/export", NULL);
    ck_assert(json_equal(same, plain));
    json_decref(same);
    json_decref(plain);
    answer a;
    get_all("GET", "/v1/tenants/acme/customers/export", "text/csv", &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_msg(strstr(a.body, "\r\n\"x,\"\"y\"\"\",1997-09-30,1,") != NULL, "%s",
                  a.body);
    answer_free(&a);
    assert_problem("/v1/tenants/nobody/customers/export", NULL, 404, "tenant-not-found");
    app_tenant_release(acme);
    json_decref(docs);
}
END_TEST

/* An erased customer is not exported, the others are. */
START_TEST(test_export_erased)
{
    set_model(t.app->dflt->cache);
    json_t *before = export_docs("/v1/customers/export");
    ck_assert_ptr_nonnull(json_object_get(before, "1"));
    testhttp_response r;
    testhttp_request(t.port, "DELETE", "/v1/customers/1", NULL, &r);
    ck_assert_msg(r.status == 204, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
    json_t *after = export_docs("/v1/customers/export");
    ck_assert_ptr_null(json_object_get(after, "1"));
    ck_assert_uint_eq(json_object_size(after), json_object_size(before) - 1);
    json_object_del(before, "1");
    /* the others' ranks may move once the score table is ranked again
     * without customer 1 (by design): the rest of each document may not */
    json_t *docs[2] = {before, after}, *doc;
    const char *id;
    for (int k = 0; k < 2; k++)
        json_object_foreach(docs[k], id, doc)
        {
            json_object_del(doc, "predicted_ltv_percentile");
            json_object_del(doc, "predicted_spend_tier");
        }
    ck_assert(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}
END_TEST

/* No model: 503. Another media type: 406. Bad or unknown parameters: 400. */
START_TEST(test_export_refusals)
{
    assert_problem("/v1/customers/export", NULL, 503, "no-model");
    set_model(t.app->dflt->cache);
    assert_problem("/v1/customers/export", "application/json", 406, "not-acceptable");
    assert_problem("/v1/customers/export", "text/html, text/csv;q=0", 406,
                   "not-acceptable");
    assert_problem("/v1/customers/export?as_of=1997-06-01", NULL, 400,
                   "invalid-parameter");
    assert_problem("/v1/customers/export?limit=10", NULL, 400, "invalid-parameter");
    assert_problem("/v1/customers/export?horizon_days=0", NULL, 400, "invalid-parameter");
    assert_problem("/v1/customers/export?horizon_days=36500", NULL, 400,
                   "invalid-parameter");
    assert_problem("/v1/customers/export?margin=2", "text/csv", 400, "invalid-parameter");
    /* a HEAD is the GET's head, without the body */
    answer a;
    get_all("HEAD", "/v1/customers/export", "text/csv", &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_uint_eq(a.len, 0);
    answer_free(&a);
}
END_TEST

/* The customer whose id is "export" is read at a percent-encoded path (the
 * literal one is the export) and through the list. */
START_TEST(test_export_customer_named_export)
{
    set_model(t.app->dflt->cache);
    const char *const rows[][3] = {{"e1", "export", "1997-04-01T10:00:00Z"}};
    post_batch("/v1/transactions", rows, 1);
    testhttp_response r;
    testhttp_request(t.port, "GET", "/v1/customers/%65xport?intervals=false", NULL, &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_str_eq(testhttp_jstr(r.json, "customer_id"), "export");
    testhttp_response_free(&r);
    json_t *lines = export_lines("/v1/customers/export", NULL), *line;
    size_t i, found = 0;
    json_array_foreach(lines, i, line)
    {
        if (strstr(json_string_value(line), "{\"customer_id\":\"export\",") == NULL)
            continue;
        ck_assert_str_eq(json_string_value(line), r.body);
        found++;
    }
    ck_assert_uint_eq(found, 1);
    json_decref(lines);
    /* and through the list */
    testhttp_request(t.port, "GET", "/v1/customers?sort=-customer_id&limit=1", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "customers"), 0);
    ck_assert_str_eq(testhttp_jstr(first, "customer_id"), "export");
    testhttp_response_free(&r);
}
END_TEST

/* A client that asks for an export and reads nothing: the connection is
 * cut once connection_timeout_s (2 s here) passes without a piece read,
 * and the tenant (and the snapshot) the export held are released. */
/* Posts every transaction of the CDNOW sample to target in one batch, the
 * customer ids prefixed. */
static void post_cdnow(const char *target, const char *prefix)
{
    FILE *f = fopen(CDNOW_TXNS, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 20, len = 0, n = 0;
    char *body = malloc(cap), line[128];
    len = (size_t)snprintf(body, cap, "{\"transactions\":[");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the header */
    while (fgets(line, sizeof line, f) != NULL) {
        char id[32], day[16], amount[32];
        ck_assert_int_eq(sscanf(line, "%31[^,],%15[^,],%31[^\r\n]", id, day, amount), 3);
        ck_assert_uint_lt(len + 200, cap);
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"id\":\"t%zu\",\"customer_id\":\"%s%s\","
                                "\"occurred_at\":\"%sT12:00:00Z\",\"amount\":\"%s\"}",
                                n ? "," : "", n, prefix, id, day, amount);
        n++;
    }
    fclose(f);
    snprintf(body + len, cap - len, "]}");
    testhttp_response r;
    testhttp_request(t.port, "POST", target, body, &r);
    ck_assert_msg(r.status == 200, "POST %s: %d %s", target, r.status, r.body);
    testhttp_response_free(&r);
    free(body);
}

/* A connection to the server whose receive buffer is small (set before
 * connecting, so the window stays small): a client that reads slowly. */
static int dial_small(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 2048;
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Waits (up to 1 s) until something holds more references to tn than base. */
static void wait_held(app_tenant *tn, long base)
{
    bool held = false;
    for (int i = 0; i < 100 && !held; i++) {
        held = atomic_load(&tn->refs) > base;
        usleep(10000);
    }
    ck_assert_msg(held, "the export never held the tenant");
}

/* A tenant deleted during its export: the export stops, and its body ends
 * without the last chunk (an orderly close, not the deadline's reset), so
 * the client knows it is unfinished. */
/* The tenant acme with the CDNOW sample ten times over (23,570 customers:
 * an export of about 12 MB, more than the kernel's socket buffers take),
 * a model served; retained (release it). */
static app_tenant *big_tenant(void)
{
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/tenants", "{\"id\":\"acme\"}", &r);
    ck_assert_int_eq(r.status, 201);
    testhttp_response_free(&r);
    for (int k = 0; k < 10; k++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "p%d-", k);
        post_cdnow("/v1/tenants/acme/transactions", prefix);
    }
    app_tenant *acme = app_tenant_find(t.app, "acme");
    ck_assert_ptr_nonnull(acme);
    ck_assert_uint_eq(cache_count(acme->cache), 23570);
    set_model(acme->cache);
    return acme;
}

/* Reads what fd still gives until it ends; asserts the answer is a 200
 * whose chunked body is unfinished, and returns its length. got0: the end
 * was an orderly close (else a reset is fine too). */
static size_t read_unfinished(int fd, bool want_close)
{
    size_t cap = 1 << 25, len = 0;
    char *raw = malloc(cap + 1);
    ssize_t got;
    while ((got = recv(fd, raw + len, cap - len, 0)) > 0)
        len += (size_t)got;
    ck_assert_msg(!want_close || got == 0,
                  "the connection ended with an error, not a close");
    close(fd);
    raw[len] = '\0';
    ck_assert_msg(len == 0 || strncmp(raw, "HTTP/1.1 200", 12) == 0, "%.100s", raw);
    char *body = strstr(raw, "\r\n\r\n");
    answer a = {0};
    ck_assert_msg(body == NULL || !dechunk(&a, body + 4, len - (size_t)(body + 4 - raw)),
                  "a whole body (%zu bytes)", len);
    free(a.body);
    free(raw);
    return len;
}

/* Waits (a generous bound: a hang detector) until tn's references are back
 * to base. */
static void wait_released(app_tenant *tn, long base)
{
    bool released = false;
    for (int i = 0; i < 200 && !released; i++) {
        usleep(50000);
        released = atomic_load(&tn->refs) == base;
    }
    ck_assert_msg(released, "the tenant is still held 10 s later");
}

/* A tenant deleted during its export: the export stops, and its body ends
 * without the last chunk (an orderly close, not the deadline's reset), so
 * the client knows it is unfinished. */
START_TEST(test_export_tenant_deleted)
{
    testhttp_response r;
    app_tenant *acme = big_tenant();
    long base = atomic_load(&acme->refs);
    int fd = dial_small();
    const char *req = "GET /v1/tenants/acme/customers/export HTTP/1.1\r\nHost: t\r\n\r\n";
    testhttp_send_all(fd, req, strlen(req));
    wait_held(acme, base);
    testhttp_request(t.port, "DELETE", "/v1/tenants/acme", NULL, &r);
    ck_assert_int_eq(r.status, 204);
    testhttp_response_free(&r);
    size_t len = read_unfinished(fd, true);
    ck_assert_msg(len < 10000000, "%zu bytes: the whole export was sent", len);
    wait_released(acme, 1); /* ours only: the export gave its references back */
    app_tenant_release(acme);
}
END_TEST

/* How many exports have ended (answered 200 and the response freed), by
 * the request metrics. */
static long exports_ended(void)
{
    static const char key[] = "ltvd_http_requests_total{method=\"GET\",route=\"/v1/"
                              "customers/export\",status=\"200\"} ";
    testhttp_response r;
    testhttp_request(t.port, "GET", "/metrics", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    const char *p = strstr(r.body, key);
    long n = p != NULL ? atol(p + strlen(key)) : 0;
    testhttp_response_free(&r);
    return n;
}

/* A client that asks for an export and reads nothing: once
 * connection_timeout_s (2 s here) passes without a piece read, the
 * connection is cut and the export ends (its references given back). */
START_TEST(test_export_reader_stops)
{
    app_tenant *acme = big_tenant();
    long ended = exports_ended();
    t.cfg.export_max = 1; /* read per request */
    int fd = dial_small();
    const char *req = "GET /v1/tenants/acme/customers/export HTTP/1.1\r\nHost: t\r\n\r\n";
    testhttp_send_all(fd, req, strlen(req));
    bool started = false;
    for (int i = 0; i < 100 && !started; i++) {
        started = atomic_load(&t.app->exports) == 1;
        usleep(10000);
    }
    ck_assert_msg(started, "the export never started");
    /* the one slot is taken: another export is refused, not queued */
    assert_problem("/v1/tenants/acme/customers/export", NULL, 503, "too-busy");
    bool done = false; /* a generous bound: a hang detector */
    for (int i = 0; i < 100 && !done; i++) {
        usleep(100000);
        done = exports_ended() == ended + 1;
    }
    ck_assert_msg(done, "the export still runs 10 s after its client stopped reading");
    size_t len = read_unfinished(fd, false); /* cut: what the buffers held */
    ck_assert_msg(len < 10000000, "%zu bytes: the whole export was sent", len);
    /* its slot is free again, and the service answers as before */
    answer a;
    get_all("HEAD", "/v1/tenants/acme/customers/export", NULL, &a);
    ck_assert_int_eq(a.status, 200);
    answer_free(&a);
    testhttp_response r;
    testhttp_request(t.port, "GET", "/v1/tenants/acme/customers/p1-1", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    testhttp_response_free(&r);
    app_tenant_release(acme);
}
END_TEST

Suite *suite_export(void)
{
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("export");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_export_ndjson_equals_documents);
    tcase_add_test(tc, test_export_csv);
    tcase_add_test(tc, test_export_tenants);
    tcase_add_test(tc, test_export_erased);
    tcase_add_test(tc, test_export_refusals);
    tcase_add_test(tc, test_export_customer_named_export);
    tcase_add_test(tc, test_export_tenant_deleted);
    tcase_add_test(tc, test_export_reader_stops);
    suite_add_tcase(s, tc);
    return s;
}
