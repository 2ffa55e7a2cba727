/* libFuzzer target: what the service reads out of a URL. The first byte of
 * the input picks the part ('0'..'5', else the byte mod 6), the rest is
 * its text:
 *   0  routing: a method byte, then a raw path, through router_route with
 *      the service's own route tables (404/405/400 or a route whose
 *      parameters are decoded, non-empty, UTF-8 without controls);
 *   1  url_pattern_ok and url_match on "pattern\npath";
 *   2  url_pct_decode and url_text_ok (a query value or path segment);
 *   3  days: summary_parse_day, against ingest_parse_time;
 *   4  numbers: summary_parse_number, against ingest_parse_amount;
 *   5  list cursors: a sort byte, then customer_list_cursor_parse. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "http/api.h"
#include "http/customers.h"
#include "http/health.h"
#include "http/router.h"
#include "http/url.h"
#include "ingest/batch.h"
#include "summary/summary.h"

/* 2026-01-01T00:00:00Z, as in fuzz_batch.c. */
#define NOW 1767225600

static size_t count_params(const char *pattern)
{
    size_t n = 0;
    for (const char *s = pattern; (s = strstr(s, "/{")) != NULL; s++)
        n++;
    return n;
}

static void routing(const char *s, size_t len)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    static router r;
    static http_context ctx;
    if (r.nroutes == 0) {
        router_init(&r, &ctx);
        FUZZ_CHECK(router_add(&r, health_routes, health_nroutes));
        for (size_t i = 0; i < api_ngroups; i++)
            FUZZ_CHECK(router_add(&r, api_groups[i].routes, *api_groups[i].n));
    }
    if (len == 0)
        return;
    http_request *req = calloc(1, sizeof *req);
    FUZZ_CHECK(req != NULL);
    req->method = methods[(unsigned char)s[0] % 5];
    req->path = s + 1;
    req->pending = -1;
    router_route(&r, req);
    if (req->route != NULL) {
        FUZZ_CHECK(req->pending == -1 || req->pending == PROBLEM_INVALID_PARAMETER);
        FUZZ_CHECK(req->route_index < r.nroutes && r.routes[req->route_index] == req->route);
        if (req->pending == -1) {
            FUZZ_CHECK(req->nparams == count_params(req->route->pattern));
            for (size_t i = 0; i < req->nparams; i++) {
                size_t n = strlen(req->params[i]);
                FUZZ_CHECK(n >= 1 && n <= HTTP_MAX_PARAM_BYTES);
                FUZZ_CHECK(url_text_ok((const unsigned char *)req->params[i], n));
            }
        }
    } else {
        FUZZ_CHECK(req->route_index == r.nroutes);
        FUZZ_CHECK(req->pending == PROBLEM_NOT_FOUND ||
                   (req->pending == PROBLEM_METHOD_NOT_ALLOWED && req->allow[0] != '\0') ||
                   /* /v1/tenants/{not a tenant id}/...: tenant_prefix */
                   req->pending == PROBLEM_TENANT_NOT_FOUND);
    }
    router_request_free(req);
}

static void matching(const char *s)
{
    const char *nl = strchr(s, '\n');
    if (nl == NULL)
        return;
    char *pattern = strndup(s, (size_t)(nl - s));
    FUZZ_CHECK(pattern != NULL);
    url_segment seg[URL_MAX_PARAMS];
    size_t n = 0;
    if (url_pattern_ok(pattern) && url_match(pattern, nl + 1, seg, &n)) {
        FUZZ_CHECK(n == count_params(pattern));
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(memchr(seg[i].start, '/', seg[i].len) == NULL);
    }
    free(pattern);
}

static void decoding(const char *s, size_t len)
{
    char *out = malloc(len + 1), *enc = malloc(3 * len + 1);
    FUZZ_CHECK(out != NULL && enc != NULL);
    long n = url_pct_decode(s, len, out);
    if (n >= 0) {
        FUZZ_CHECK((size_t)n <= len && strlen(out) == (size_t)n);
        /* every byte escaped decodes back to the same text */
        for (long i = 0; i < n; i++)
            snprintf(enc + 3 * i, 4, "%%%02X", (unsigned char)out[i]);
        char *back = malloc((size_t)n * 3 + 1);
        FUZZ_CHECK(back != NULL);
        FUZZ_CHECK(url_pct_decode(enc, 3 * (size_t)n, back) == n &&
                   memcmp(back, out, (size_t)n) == 0);
        free(back);
        (void)url_text_ok((const unsigned char *)out, (size_t)n);
    }
    (void)url_text_ok((const unsigned char *)s, len);
    free(out);
    free(enc);
}

static void days(const char *s, size_t len)
{
    int64_t day, date, secs;
    char text[11];
    int ok = summary_parse_day(s, &day) == 0;
    if (ok && len == 10) { /* a date alone is written back the same */
        FUZZ_CHECK(summary_format_day(day, text) == 0 && memcmp(text, s, 10) == 0);
    }
    if (ok && len > 10) { /* an offset moves the date by a day at most */
        char d10[11];
        memcpy(d10, s, 10);
        d10[10] = '\0';
        FUZZ_CHECK(summary_parse_day(d10, &date) == 0 && llabs(day - date) <= 1);
    }
    /* what the API takes, `ltvd fit` takes too, on the same UTC day (but
     * for a leap second, which the API counts as the next day's 00:00:00) */
    if (ingest_parse_time(s, len, NOW, &secs) == NULL) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(day == secs / 86400 || (memcmp(s + 17, "60", 2) == 0 && day == secs / 86400 - 1));
    }
}

static void numbers(const char *s, size_t len)
{
    double v;
    char amount[INGEST_AMOUNT_MAX];
    int ok = summary_parse_number(s, &v) == 0;
    if (ok)
        FUZZ_CHECK(isfinite(v));
    /* an amount the API takes is the same number for `ltvd fit` */
    if (ingest_parse_amount(s, len, amount) == NULL) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(strtod(amount, NULL) == v);
    }
}

static void cursors(const char *s, size_t len)
{
    static const char *const sorts[] = {"customer_id", "-p_alive", "predicted_ltv",
                                        "-last_purchase"};
    if (len == 0)
        return;
    const char *sort = sorts[(unsigned char)s[0] % 4], *c = s + 1;
    double key;
    char id[257];
    if (!customer_list_cursor_parse(sort, c, &key, id, sizeof id))
        return;
    FUZZ_CHECK(key == key);
    size_t idn = strlen(id);
    FUZZ_CHECK(idn >= 1 && idn < sizeof id);
    /* a cursor is read only in the form it is made */
    uint64_t bits;
    memcpy(&bits, &key, sizeof bits);
    char made[16 + 19 + 2 * 256 + 1];
    int k = snprintf(made, sizeof made, "%s.%016" PRIx64 ".", sort, bits);
    for (size_t i = 0; i < idn; i++)
        k += snprintf(made + k, sizeof made - (size_t)k, "%02x", (unsigned char)id[i]);
    FUZZ_CHECK(strcmp(made, c) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* the text NUL-terminated, as the parsers get it; len stops at a NUL */
    char *s = malloc(size);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    size_t len = strlen(s);
    int part = data[0] >= '0' && data[0] <= '5' ? data[0] - '0' : data[0] % 6;
    switch (part) {
    case 0: routing(s, len); break;
    case 1: matching(s); break;
    case 2: decoding(s, len); break;
    case 3: days(s, len); break;
    case 4: numbers(s, len); break;
    default: cursors(s, len); break;
    }
    free(s);
    return 0;
}
