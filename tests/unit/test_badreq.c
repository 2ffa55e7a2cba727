/* Hostile and bad requests over real HTTP, table-driven: each row is sent
 * raw to the in-process service (tests/unit/testhttp.h) on a database of its
 * own, and must get its exact status and problem type (for a 422, the exact
 * (index, field) pairs of `errors`), with nothing written: the row counts of
 * transactions, customers and customer_days and the cache's customer count
 * are the same after every row. Then the other side of the policy: ids that
 * look like SQL, JSON operators or HTML, and zero amounts, are accepted,
 * stored verbatim and returned verbatim by GET /v1/customers/{id}. Needs
 * DATABASE_URL; run from the repository root. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "model/bgnbd.h"
#include "store/db.h"
#include "testhttp.h"

#define MAX_BODY 65536 /* max_body_bytes of the fixture */
#define MAX_ITEMS 100  /* max_batch_items of the fixture */
#define MAX_URL 2048   /* max_url_bytes (the default) */
#define ID_MAX 128     /* INGEST_ID_BYTES_DEFAULT */

static testhttp_app t;

/* ---- request bodies ---------------------------------------------------------- */

/* An item from four JSON value texts, and bodies of items. */
#define ITEM(id, cust, at, amount)                                                       \
    "{\"id\":" id ",\"customer_id\":" cust ",\"occurred_at\":" at ",\"amount\":" amount  \
    "}"
#define Q(s) "\"" s "\""
#define BATCH(items) "{\"transactions\":[" items "]}"
#define GOOD ITEM(Q("t9"), Q("c9"), Q("2020-01-01T00:00:00Z"), Q("1.00"))
#define WITH_CUST(cust) BATCH(ITEM(Q("t9"), cust, Q("2020-01-01T00:00:00Z"), Q("1.00")))
#define WITH_ID(id) BATCH(ITEM(id, Q("c9"), Q("2020-01-01T00:00:00Z"), Q("1.00")))
#define WITH_AT(at) BATCH(ITEM(Q("t9"), Q("c9"), at, Q("1.00")))
#define WITH_AMOUNT(amount)                                                              \
    BATCH(ITEM(Q("t9"), Q("c9"), Q("2020-01-01T00:00:00Z"), amount))

#define JSON "application/json"
#define MALFORMED "malformed-json"
#define INVALID "validation-failed"

/* A body of MAX_BODY + 1 bytes (only announced: see badreq_case.announce_only). */
static char *big_body(void)
{
    char *b = malloc(MAX_BODY + 2);
    ck_assert_ptr_nonnull(b);
    memset(b, ' ', MAX_BODY + 1);
    b[MAX_BODY + 1] = '\0';
    return b;
}

/* MAX_ITEMS + 1 valid items, well under MAX_BODY. */
static char *many_items(void)
{
    size_t cap = (MAX_ITEMS + 1) * 128 + 64, len = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    len += (size_t)snprintf(b, cap, "{\"transactions\":[");
    for (int i = 0; i <= MAX_ITEMS; i++)
        len +=
            (size_t)snprintf(b + len, cap - len,
                             "%s{\"id\":\"m%d\",\"customer_id\":\"c9\",\"occurred_at\":"
                             "\"2020-01-01T00:00:00Z\",\"amount\":\"1\"}",
                             i > 0 ? "," : "", i);
    snprintf(b + len, cap - len, "]}");
    ck_assert_uint_lt(strlen(b), MAX_BODY);
    return b;
}

/* The body fmt with its %s replaced by an id of ID_MAX + 1 fill bytes, one
 * byte too long (malloc'd). */
static char *with_long_id(const char *fmt, char fill)
{
    char id[ID_MAX + 2];
    memset(id, fill, ID_MAX + 1);
    id[ID_MAX + 1] = '\0';
    char *b = malloc(512);
    ck_assert_ptr_nonnull(b);
    snprintf(b, 512, fmt, id);
    return b;
}

/* An item whose customer_id (or id) is one byte too long. */
static char *long_customer_id(void)
{
    return with_long_id(WITH_CUST("\"%s\""), 'x');
}

static char *long_txn_id(void)
{
    return with_long_id(WITH_ID("\"%s\""), 'y');
}

/* ---- request targets --------------------------------------------------------- */

/* prefix and then MAX_URL fill bytes: a target over max_url_bytes (malloc'd). */
static char *long_target(const char *prefix, char fill)
{
    char *s = malloc(MAX_URL + 64);
    ck_assert_ptr_nonnull(s);
    int n = snprintf(s, MAX_URL + 64, "%s", prefix);
    memset(s + n, fill, MAX_URL);
    s[n + MAX_URL] = '\0';
    return s;
}

static char *long_path(void)
{
    return long_target("/v1/customers/", 'a');
}

static char *long_query(void)
{
    return long_target("/v1/transactions?pad=", 'b');
}

/* ---- the table ------------------------------------------------------------------ */

typedef struct badreq_case {
    const char *name;
    const char *method;
    const char *target;        /* or made by gen_target */
    const char *content_type;  /* NULL: no Content-Type header */
    const char *body;          /* NULL: gen_body's, or no body (no Content-Length) */
    char *(*gen_target)(void); /* malloc'd */
    char *(*gen_body)(void);   /* malloc'd */
    bool announce_only;        /* send the Content-Length of the body, not the body */
    int status;
    const char *slug;   /* urn:ltvd:problem:<slug> */
    const char *errors; /* 422: "index field|..." in order, "-" for null */
} badreq_case;

#define POST_TX "POST", "/v1/transactions", JSON

static const badreq_case cases[] = {
    /* ---- not JSON (400) */
    {"truncated JSON", POST_TX, "{\"transactions\":[", NULL, NULL, 0, 400, MALFORMED,
     NULL},
    {"not JSON at all", POST_TX, "hello", NULL, NULL, 0, 400, MALFORMED, NULL},
    {"empty body", POST_TX, "", NULL, NULL, 0, 400, MALFORMED, NULL},
    {"no body at all", "POST", "/v1/transactions", JSON, NULL, NULL, NULL, 0, 400,
     MALFORMED, NULL},
    {"trailing garbage", POST_TX, BATCH(GOOD) " x", NULL, NULL, 0, 400, MALFORMED, NULL},
    {"two documents", POST_TX, BATCH(GOOD) BATCH(GOOD), NULL, NULL, 0, 400, MALFORMED,
     NULL},
    {"single quotes", POST_TX, "{'transactions':[]}", NULL, NULL, 0, 400, MALFORMED,
     NULL},
    {"trailing comma", POST_TX, BATCH(GOOD ","), NULL, NULL, 0, 400, MALFORMED, NULL},
    {"comment", POST_TX, "/* x */" BATCH(GOOD), NULL, NULL, 0, 400, MALFORMED, NULL},
    /* ---- wrong shapes and types (422) */
    {"body is an array", POST_TX, "[" GOOD "]", NULL, NULL, 0, 422, INVALID, "-1 -"},
    /* jansson takes only an object or array as a whole text */
    {"body is a number", POST_TX, "42", NULL, NULL, 0, 400, MALFORMED, NULL},
    {"body is null", POST_TX, "null", NULL, NULL, 0, 400, MALFORMED, NULL},
    {"transactions is an object", POST_TX, "{\"transactions\":" GOOD "}", NULL, NULL, 0,
     422, INVALID, "-1 transactions"},
    {"transactions is null", POST_TX, "{\"transactions\":null}", NULL, NULL, 0, 422,
     INVALID, "-1 transactions"},
    {"item is a string", POST_TX, BATCH("\"t9\""), NULL, NULL, 0, 422, INVALID, "0 -"},
    {"item is an array", POST_TX, BATCH("[]"), NULL, NULL, 0, 422, INVALID, "0 -"},
    {"id is a number", POST_TX, WITH_ID("9"), NULL, NULL, 0, 422, INVALID, "0 id"},
    {"customer_id is a number", POST_TX, WITH_CUST("9"), NULL, NULL, 0, 422, INVALID,
     "0 customer_id"},
    {"customer_id is null", POST_TX, WITH_CUST("null"), NULL, NULL, 0, 422, INVALID,
     "0 customer_id"},
    {"customer_id is an object", POST_TX, WITH_CUST("{\"$gt\":\"\"}"), NULL, NULL, 0, 422,
     INVALID, "0 customer_id"},
    {"customer_id is an array", POST_TX, WITH_CUST("[\"c9\"]"), NULL, NULL, 0, 422,
     INVALID, "0 customer_id"},
    {"occurred_at is a number", POST_TX, WITH_AT("1577836800"), NULL, NULL, 0, 422,
     INVALID, "0 occurred_at"},
    {"amount is a boolean", POST_TX, WITH_AMOUNT("true"), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount is null", POST_TX, WITH_AMOUNT("null"), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount is an object", POST_TX, WITH_AMOUNT("{\"value\":1}"), NULL, NULL, 0, 422,
     INVALID, "0 amount"},
    /* ---- missing, unknown and duplicate members (422) */
    {"no transactions member", POST_TX, "{}", NULL, NULL, 0, 422, INVALID,
     "-1 transactions"},
    {"empty item", POST_TX, BATCH("{}"), NULL, NULL, 0, 422, INVALID,
     "0 id|0 customer_id|0 occurred_at|0 amount"},
    {"missing amount", POST_TX,
     BATCH("{\"id\":\"t9\",\"customer_id\":\"c9\",\"occurred_at\":\"2020-01-01T00:00:"
           "00Z\"}"),
     NULL, NULL, 0, 422, INVALID, "0 amount"},
    {"missing customer_id in item 1", POST_TX,
     BATCH(GOOD ",{\"id\":\"t8\",\"occurred_at\":\"2020-01-01T00:00:00Z\",\"amount\":1}"),
     NULL, NULL, 0, 422, INVALID, "1 customer_id"},
    {"unknown item field", POST_TX,
     BATCH(
         "{\"id\":\"t9\",\"customer_id\":\"c9\",\"occurred_at\":\"2020-01-01T00:00:00Z\","
         "\"amount\":1,\"currency\":\"EUR\"}"),
     NULL, NULL, 0, 422, INVALID, "0 currency"},
    {"unknown top-level member", POST_TX,
     "{\"transactions\":[" GOOD "],\"dry_run\":true}", NULL, NULL, 0, 422, INVALID,
     "-1 dry_run"},
    {"duplicate key in an item", POST_TX,
     BATCH("{\"id\":\"t9\",\"id\":\"t8\",\"customer_id\":\"c9\","
           "\"occurred_at\":\"2020-01-01T00:00:00Z\",\"amount\":1}"),
     NULL, NULL, 0, 422, INVALID, "-1 -"},
    {"duplicate amount key", POST_TX,
     BATCH(
         "{\"id\":\"t9\",\"customer_id\":\"c9\",\"occurred_at\":\"2020-01-01T00:00:00Z\","
         "\"amount\":1,\"amount\":-5}"),
     NULL, NULL, 0, 422, INVALID, "-1 -"},
    {"duplicate transactions key", POST_TX,
     "{\"transactions\":[" GOOD "],\"transactions\":[]}", NULL, NULL, 0, 422, INVALID,
     "-1 -"},
    {"empty batch", POST_TX, "{\"transactions\":[]}", NULL, NULL, 0, 422, INVALID,
     "-1 transactions"},
    {"all or nothing: item 1 bad", POST_TX,
     BATCH(GOOD "," ITEM(Q("t8"), Q("c8"), Q("2020-01-01T00:00:00Z"), "-1")), NULL, NULL,
     0, 422, INVALID, "1 amount"},
    {"every error of every item", POST_TX,
     BATCH(ITEM(Q(""), Q(""), Q("2020-01-01"), "-1") "," GOOD "," ITEM(Q("t7"), "7",
                                                                       Q("x"), Q("NaN"))),
     NULL, NULL, 0, 422, INVALID,
     "0 id|0 customer_id|0 occurred_at|0 amount|2 customer_id|2 occurred_at|2 amount"},
    /* ---- sizes (413, 414) */
    {"body over max_body_bytes", POST_TX, NULL, NULL, big_body, true, 413,
     "body-too-large", NULL},
    {"more than max_batch_items", POST_TX, NULL, NULL, many_items, 0, 413,
     "too-many-items", NULL},
    {"path over max_url_bytes", "GET", NULL, NULL, NULL, long_path, NULL, 0, 414,
     "url-too-long", NULL},
    {"query over max_url_bytes", "POST", NULL, JSON, BATCH(GOOD), long_query, NULL, 0,
     414, "url-too-long", NULL},
    /* ---- media type (415) */
    {"text/plain", "POST", "/v1/transactions", "text/plain", BATCH(GOOD), NULL, NULL, 0,
     415, "unsupported-media-type", NULL},
    {"no Content-Type", "POST", "/v1/transactions", NULL, BATCH(GOOD), NULL, NULL, 0, 415,
     "unsupported-media-type", NULL},
    {"form encoded", "POST", "/v1/transactions", "application/x-www-form-urlencoded",
     "transactions=1", NULL, NULL, 0, 415, "unsupported-media-type", NULL},
    {"application/json-seq", "POST", "/v1/transactions", "application/json-seq",
     BATCH(GOOD), NULL, NULL, 0, 415, "unsupported-media-type", NULL},
    /* ---- methods and routes (405, 404, 400) */
    {"GET /v1/transactions", "GET", "/v1/transactions", NULL, NULL, NULL, NULL, 0, 405,
     "method-not-allowed", NULL},
    {"PUT /v1/transactions", "PUT", "/v1/transactions", JSON, BATCH(GOOD), NULL, NULL, 0,
     405, "method-not-allowed", NULL},
    {"DELETE /v1/transactions", "DELETE", "/v1/transactions", NULL, NULL, NULL, NULL, 0,
     405, "method-not-allowed", NULL},
    {"POST /v1/customers/c1", "POST", "/v1/customers/c1", JSON, BATCH(GOOD), NULL, NULL,
     0, 405, "method-not-allowed", NULL},
    {"POST to an unknown route", "POST", "/v1/transaction", JSON, BATCH(GOOD), NULL, NULL,
     0, 404, "not-found", NULL},
    {"POST with a trailing slash", "POST", "/v1/transactions/", JSON, BATCH(GOOD), NULL,
     NULL, 0, 404, "not-found", NULL},
    {"GET an unknown route", "GET", "/v2/customers", NULL, NULL, NULL, NULL, 0, 404,
     "not-found", NULL},
    {"dot segments", "GET", "/v1/customers/../transactions", NULL, NULL, NULL, NULL, 0,
     404, "not-found", NULL},
    {"customer id NUL in the path", "GET", "/v1/customers/%00", NULL, NULL, NULL, NULL, 0,
     400, "invalid-parameter", NULL},
    {"customer id bad escape in the path", "GET", "/v1/customers/%zz", NULL, NULL, NULL,
     NULL, 0, 400, "invalid-parameter", NULL},
    {"customer id invalid UTF-8 in the path", "GET", "/v1/customers/%ff%fe", NULL, NULL,
     NULL, NULL, 0, 400, "invalid-parameter", NULL},
    /* ---- ids (422; raw bytes that are not JSON strings: 400) */
    {"customer_id empty", POST_TX, WITH_CUST(Q("")), NULL, NULL, 0, 422, INVALID,
     "0 customer_id"},
    {"customer_id 129 bytes", POST_TX, NULL, NULL, long_customer_id, 0, 422, INVALID,
     "0 customer_id"},
    {"id empty", POST_TX, WITH_ID(Q("")), NULL, NULL, 0, 422, INVALID, "0 id"},
    {"id 129 bytes", POST_TX, NULL, NULL, long_txn_id, 0, 422, INVALID, "0 id"},
    {"customer_id with \\u0001", POST_TX, WITH_CUST(Q("a\\u0001b")), NULL, NULL, 0, 422,
     INVALID, "0 customer_id"},
    {"customer_id with \\u0000", POST_TX, WITH_CUST(Q("a\\u0000b")), NULL, NULL, 0, 422,
     INVALID, "0 customer_id"},
    {"customer_id with \\n", POST_TX, WITH_CUST(Q("a\\nb")), NULL, NULL, 0, 422, INVALID,
     "0 customer_id"},
    {"customer_id with DEL", POST_TX, WITH_CUST(Q("a\\u007fb")), NULL, NULL, 0, 422,
     INVALID, "0 customer_id"},
    {"id with ESC", POST_TX, WITH_ID(Q("\\u001b[31m")), NULL, NULL, 0, 422, INVALID,
     "0 id"},
    {"customer_id with a raw control byte", POST_TX, WITH_CUST(Q("a\x01z")), NULL, NULL,
     0, 400, MALFORMED, NULL},
    {"customer_id with a raw newline", POST_TX, WITH_CUST(Q("a\nz")), NULL, NULL, 0, 400,
     MALFORMED, NULL},
    {"customer_id invalid UTF-8", POST_TX, WITH_CUST(Q("a\xff\xfez")), NULL, NULL, 0, 400,
     MALFORMED, NULL},
    {"customer_id overlong UTF-8", POST_TX, WITH_CUST(Q("a\xc0\xafz")), NULL, NULL, 0,
     400, MALFORMED, NULL},
    {"customer_id truncated UTF-8", POST_TX, WITH_CUST(Q("a\xe2\x82")), NULL, NULL, 0,
     400, MALFORMED, NULL},
    {"customer_id UTF-16 surrogate", POST_TX, WITH_CUST(Q("a\xed\xa0\x80z")), NULL, NULL,
     0, 400, MALFORMED, NULL},
    {"customer_id lone surrogate escape", POST_TX, WITH_CUST(Q("a\\ud800z")), NULL, NULL,
     0, 400, MALFORMED, NULL},
    {"id invalid UTF-8", POST_TX, WITH_ID(Q("\x80")), NULL, NULL, 0, 400, MALFORMED,
     NULL},
    /* ---- amounts (policy: a decimal >= 0 within numeric(18, 4); zero is valid) */
    {"amount NaN", POST_TX, WITH_AMOUNT("NaN"), NULL, NULL, 0, 400, MALFORMED, NULL},
    {"amount \"NaN\"", POST_TX, WITH_AMOUNT(Q("NaN")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount Infinity", POST_TX, WITH_AMOUNT("Infinity"), NULL, NULL, 0, 400, MALFORMED,
     NULL},
    {"amount -Infinity", POST_TX, WITH_AMOUNT("-Infinity"), NULL, NULL, 0, 400, MALFORMED,
     NULL},
    {"amount \"Infinity\"", POST_TX, WITH_AMOUNT(Q("Infinity")), NULL, NULL, 0, 422,
     INVALID, "0 amount"},
    {"amount \"inf\"", POST_TX, WITH_AMOUNT(Q("inf")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount 1e400", POST_TX, WITH_AMOUNT("1e400"), NULL, NULL, 0, 400, MALFORMED, NULL},
    {"amount \"1e400\"", POST_TX, WITH_AMOUNT(Q("1e400")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount 1e15", POST_TX, WITH_AMOUNT("1e15"), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount -1", POST_TX, WITH_AMOUNT("-1"), NULL, NULL, 0, 422, INVALID, "0 amount"},
    {"amount \"-0.01\"", POST_TX, WITH_AMOUNT(Q("-0.01")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount 1e-5", POST_TX, WITH_AMOUNT("1e-5"), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount 0.00001", POST_TX, WITH_AMOUNT("0.00001"), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount empty string", POST_TX, WITH_AMOUNT(Q("")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount with a comma", POST_TX, WITH_AMOUNT(Q("12,30")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount with spaces", POST_TX, WITH_AMOUNT(Q(" 1")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount hexadecimal", POST_TX, WITH_AMOUNT(Q("0x10")), NULL, NULL, 0, 422, INVALID,
     "0 amount"},
    {"amount with a currency", POST_TX, WITH_AMOUNT(Q("$1.00")), NULL, NULL, 0, 422,
     INVALID, "0 amount"},
    {"amount leading zero number", POST_TX, WITH_AMOUNT("01"), NULL, NULL, 0, 400,
     MALFORMED, NULL},
    /* ---- timestamps */
    {"occurred_at without a zone", POST_TX, WITH_AT(Q("2020-01-01T00:00:00")), NULL, NULL,
     0, 422, INVALID, "0 occurred_at"},
    {"occurred_at a date", POST_TX, WITH_AT(Q("2020-01-01")), NULL, NULL, 0, 422, INVALID,
     "0 occurred_at"},
    {"occurred_at without seconds", POST_TX, WITH_AT(Q("2020-01-01T00:00Z")), NULL, NULL,
     0, 422, INVALID, "0 occurred_at"},
    {"occurred_at before 1970", POST_TX, WITH_AT(Q("1969-12-31T23:59:59Z")), NULL, NULL,
     0, 422, INVALID, "0 occurred_at"},
    {"occurred_at 1970 by its zone", POST_TX, WITH_AT(Q("1970-01-01T00:30:00+01:00")),
     NULL, NULL, 0, 422, INVALID, "0 occurred_at"},
    {"occurred_at year 0000", POST_TX, WITH_AT(Q("0000-01-01T00:00:00Z")), NULL, NULL, 0,
     422, INVALID, "0 occurred_at"},
    {"occurred_at far in the future", POST_TX, WITH_AT(Q("2999-01-01T00:00:00Z")), NULL,
     NULL, 0, 422, INVALID, "0 occurred_at"},
    {"occurred_at year 9999", POST_TX, WITH_AT(Q("9999-12-31T23:59:59Z")), NULL, NULL, 0,
     422, INVALID, "0 occurred_at"},
    {"occurred_at month 13", POST_TX, WITH_AT(Q("2020-13-01T00:00:00Z")), NULL, NULL, 0,
     422, INVALID, "0 occurred_at"},
    {"occurred_at 30 February", POST_TX, WITH_AT(Q("2020-02-30T00:00:00Z")), NULL, NULL,
     0, 422, INVALID, "0 occurred_at"},
    {"occurred_at 29 February 2021", POST_TX, WITH_AT(Q("2021-02-29T00:00:00Z")), NULL,
     NULL, 0, 422, INVALID, "0 occurred_at"},
    {"occurred_at hour 24", POST_TX, WITH_AT(Q("2020-01-01T24:00:00Z")), NULL, NULL, 0,
     422, INVALID, "0 occurred_at"},
    {"occurred_at zone +24:00", POST_TX, WITH_AT(Q("2020-01-01T00:00:00+24:00")), NULL,
     NULL, 0, 422, INVALID, "0 occurred_at"},
    {"occurred_at zone +0100", POST_TX, WITH_AT(Q("2020-01-01T00:00:00+0100")), NULL,
     NULL, 0, 422, INVALID, "0 occurred_at"},
    {"occurred_at with a space", POST_TX, WITH_AT(Q("2020-01-01 00:00:00Z")), NULL, NULL,
     0, 422, INVALID, "0 occurred_at"},
    {"occurred_at empty fraction", POST_TX, WITH_AT(Q("2020-01-01T00:00:00.Z")), NULL,
     NULL, 0, 422, INVALID, "0 occurred_at"},
    {"occurred_at words", POST_TX, WITH_AT(Q("yesterday")), NULL, NULL, 0, 422, INVALID,
     "0 occurred_at"},
    {"occurred_at epoch text", POST_TX, WITH_AT(Q("1577836800")), NULL, NULL, 0, 422,
     INVALID, "0 occurred_at"},
    {"occurred_at SQL", POST_TX,
     WITH_AT(Q("2020-01-01T00:00:00Z'; DROP TABLE customers;--")), NULL, NULL, 0, 422,
     INVALID, "0 occurred_at"},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- the fixture ------------------------------------------------------------- */

/* The three tables' row counts and the cache's customers, as one string. */
static void written(char *out, size_t cap)
{
    store_db *db = testhttp_db_open(&t);
    PGresult *res = PQexec(db->conn, "SELECT (SELECT count(*) FROM transactions),"
                                     " (SELECT count(*) FROM customers),"
                                     " (SELECT count(*) FROM customer_days)");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    snprintf(out, cap, "transactions %s, customers %s, customer_days %s, cache %zu",
             PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
             cache_count(t.app->dflt->cache));
    PQclear(res);
    store_db_close(db);
}

/* Sends one request as given (Connection: close) and reads its answer. */
static void send_raw(const char *method, const char *target, const char *content_type,
                     const char *body, size_t body_len, bool announce_only,
                     testhttp_response *r)
{
    size_t cap = strlen(target) + 512;
    char *head = malloc(cap);
    ck_assert_ptr_nonnull(head);
    int n = snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n",
                     method, target);
    if (content_type != NULL)
        n += snprintf(head + n, cap - (size_t)n, "Content-Type: %s\r\n", content_type);
    if (body != NULL)
        n += snprintf(head + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(head + n, cap - (size_t)n, "\r\n");
    int fd = testhttp_dial(t.port);
    testhttp_send_all(fd, head, (size_t)n);
    if (body != NULL && !announce_only)
        testhttp_send_all(fd, body, body_len);
    free(head);
    ck_assert_msg(testhttp_read(fd, r, strcmp(method, "HEAD") != 0),
                  "no answer to %s %.60s", method, target);
    close(fd);
    r->json = json_loads(r->body, 0, NULL);
}

/* The (index, field) pairs of a 422's errors as "index field|...". */
static void error_pairs(json_t *problem, char *out, size_t cap)
{
    json_t *errs = json_object_get(problem, "errors"), *e;
    size_t i, len = 0;
    out[0] = '\0';
    json_array_foreach(errs, i, e)
    {
        json_t *f = json_object_get(e, "field");
        len +=
            (size_t)snprintf(out + len, cap - len, "%s%lld %s", i > 0 ? "|" : "",
                             (long long)json_integer_value(json_object_get(e, "index")),
                             json_is_string(f) ? json_string_value(f) : "-");
        if (len >= cap)
            break;
    }
}

/* Checks one answer against its row; appends what differs to why. */
static void check_answer(const badreq_case *c, const testhttp_response *r, char *why,
                         size_t cap)
{
    char type[128], pairs[512];
    snprintf(type, sizeof type, "urn:ltvd:problem:%s", c->slug);
    size_t len = strlen(why);
    json_t *j = r->json;
    const char *got_type = json_string_value(json_object_get(j, "type"));
    if (r->status != c->status || got_type == NULL || strcmp(got_type, type) != 0 ||
        strcmp(r->content_type, "application/problem+json") != 0 ||
        json_integer_value(json_object_get(j, "status")) != c->status) {
        snprintf(why + len, cap - len, "\n  %s: want %d %s, got %d %s %.200s", c->name,
                 c->status, c->slug, r->status, r->content_type, r->body);
        return;
    }
    if (c->errors == NULL)
        return;
    error_pairs(j, pairs, sizeof pairs);
    if (strcmp(pairs, c->errors) != 0)
        snprintf(why + len, cap - len, "\n  %s: want errors [%s], got [%s] in %.300s",
                 c->name, c->errors, pairs, r->body);
}

static void setup(void)
{
    gsl_set_error_handler_off();
    testhttp_db_create(&t, "ltvd_badreq");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&t.cfg, "max_body_bytes", "65536", err));
    ck_assert(config_set(&t.cfg, "max_batch_items", "100", err));
    ck_assert(config_set(&t.cfg, "max_url_bytes", "2048", err));
    testhttp_app_start(&t, false);
    /* something stored already, so that "unchanged" is not "still empty" */
    testhttp_response r;
    testhttp_request(
        t.port, "POST", "/v1/transactions",
        BATCH(ITEM(Q("t1"), Q("c1"), Q("2020-01-01T00:00:00Z"), Q("1.00")) "," ITEM(
            Q("t2"), Q("c2"), Q("2020-02-01T00:00:00Z"), "2.5")),
        &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    testhttp_response_free(&r);
}

static void teardown(void)
{
    testhttp_db_drop(&t);
}

/* ---- the tests ------------------------------------------------------------------ */

/* Every row, in order; all differences are reported together. */
START_TEST(test_bad_requests)
{
    static char why[32768];
    char before[160], after[160];
    why[0] = '\0';
    written(before, sizeof before);
    for (size_t i = 0; i < NCASES; i++) {
        const badreq_case *c = &cases[i];
        char *target = c->gen_target != NULL ? c->gen_target() : NULL;
        char *body = c->gen_body != NULL ? c->gen_body() : NULL;
        const char *b = body != NULL ? body : c->body;
        testhttp_response r;
        send_raw(c->method, target != NULL ? target : c->target, c->content_type, b,
                 b != NULL ? strlen(b) : 0, c->announce_only, &r);
        check_answer(c, &r, why, sizeof why);
        testhttp_response_free(&r);
        free(target);
        free(body);
        written(after, sizeof after);
        if (strcmp(before, after) != 0) {
            size_t len = strlen(why);
            snprintf(why + len, sizeof why - len, "\n  %s: wrote something: %s -> %s",
                     c->name, before, after);
            memcpy(before, after, sizeof before);
        }
    }
    ck_assert_msg(why[0] == '\0', "%zu cases:%s", NCASES, why);
}
END_TEST

/* Percent-encodes every byte of s but the unreserved ones. */
static void pct_encode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 4 < cap;
         p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* Ids that look like SQL, JSON operators, HTML, format strings or path
 * tricks are data: stored as sent (the tables are all still there), and
 * GET /v1/customers/{id} returns each verbatim. Zero amounts are valid. */
START_TEST(test_injection_stored_verbatim)
{
    static const char *const ids[] = {
        "x'); DROP TABLE transactions;--",
        "{\"$gt\":\"\"}",
        "<script>alert(1)</script>",
        "' OR '1'='1",
        "Robert\"); DELETE FROM customers; --",
        "%s%n%x",
        "../../etc/passwd",
        "a/b?c=d#e",
        "\\u0041 \\\\ back",
        "Zo\xc3\xab \xf0\x9f\x8e\x89",
    };
    const size_t n = sizeof ids / sizeof ids[0];
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        char txn[32];
        snprintf(txn, sizeof txn, "inj-%zu", i);
        /* amounts 0, "0", "0.0000", then others: zero is a valid amount */
        json_t *amount = i == 0   ? json_integer(0)
                         : i == 1 ? json_string("0")
                         : i == 2 ? json_string("0.0000")
                                  : json_string("3.25");
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:o}", "id",
                                               i == 3 ? ids[0] : txn, "customer_id",
                                               ids[i], "occurred_at",
                                               "2020-03-01T12:00:00Z", "amount", amount));
    }
    json_t *doc = json_pack("{s:o}", "transactions", items);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    testhttp_response r;
    testhttp_request(t.port, "POST", "/v1/transactions", body, &r);
    free(body);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    ck_assert_int_eq(testhttp_jint(r.json, "new"), (long long)n);
    testhttp_response_free(&r);

    char counts[160], want[160];
    written(counts, sizeof counts);
    snprintf(want, sizeof want,
             "transactions %zu, customers %zu, customer_days %zu, cache %zu", n + 2,
             n + 2, n + 2, n + 2);
    ck_assert_str_eq(counts, want);

    /* stored byte for byte, and zero as zero */
    store_db *db = testhttp_db_open(&t);
    for (size_t i = 0; i < n; i++) {
        const char *param[1] = {ids[i]};
        PGresult *res = PQexecParams(
            db->conn,
            "SELECT c.customer_id, t.amount::text FROM customers c"
            " JOIN transactions t USING (customer_id) WHERE c.customer_id = $1",
            1, NULL, param, NULL, NULL, 0);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        ck_assert_msg(PQntuples(res) == 1, "%s: %d rows", ids[i], PQntuples(res));
        ck_assert_str_eq(PQgetvalue(res, 0, 0), ids[i]);
        if (i < 3)
            ck_assert_msg(strtod(PQgetvalue(res, 0, 1), NULL) == 0.0, "%s",
                          PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    store_db_close(db);

    cache_model m = {.model = &bgnbd_model,
                     .params = {0.242593, 4.413532, 0.792886, 2.425753},
                     .has_spend = true,
                     .gg_params = {6.248802, 3.744588, 15.447748},
                     .period_days = 1,
                     .version = 1};
    ck_assert_int_eq(cache_snapshot_set(t.app->dflt->cache, &m), CACHE_OK);
    for (size_t i = 0; i < n; i++) {
        char target[512], enc[400];
        pct_encode(ids[i], enc, sizeof enc);
        snprintf(target, sizeof target, "/v1/customers/%s", enc);
        testhttp_request(t.port, "GET", target, NULL, &r);
        ck_assert_msg(r.status == 200, "GET %s: %d %s", target, r.status, r.body);
        ck_assert_str_eq(testhttp_jstr(r.json, "customer_id"), ids[i]);
        testhttp_response_free(&r);
    }
}
END_TEST

Suite *suite_badreq(void)
{
    Suite *s = suite_create("badreq");
    TCase *tc = tcase_create("badreq");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_injection_stored_verbatim);
    suite_add_tcase(s, tc);
    return s;
}
