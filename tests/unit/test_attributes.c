/* The acquisition inputs (issue 11, part A; docs/acquisition.md) on a real
 * PostgreSQL with the in-process service (tests/unit/testhttp.h,
 * testtenant.h):
 * - first touch: the first item of a customer carrying attributes, in body
 *   order, wins; later items, retries and other batches never change them;
 *   another process's first touch wins over this one's (its cache learns
 *   it by the catch-up), as do its PUTs;
 * - PUT .../attributes replaces them (null: unknown), 404 for a customer
 *   without transactions, 422 for bad values with nothing stored; the
 *   documents (one, lists, export) carry them, after a restart too;
 * - the acquisition spend: PUT, GET by pages, idempotence, replacement,
 *   422 listing every bad item with nothing stored (checked in SQL);
 * - month_bits of every customer equal to an independent SQL computation
 *   after batches in random order (late earlier days included), after a
 *   restart by the rebuild, from a checkpoint, and with a checkpoint of the
 *   old format (refused: rebuilt);
 * - `ltvd import` with acquisition_channel and campaign columns;
 * - an erasure deletes the customer's attributes row.
 * Run from the repository root (migrations/). */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/checkpoint.h"
#include "base/month.h"
#include "cache/cache.h"
#include "testhttp.h"
#include "testserve.h"
#include "testtenant.h"

/* testtenant_call without a key */
#define CALL(port, method, target, body, r)                                              \
    testtenant_call(port, method, target, NULL, body, r)

static testhttp_app svc;
static testhttp_app other; /* a second service on svc's database */

static void teardown(void)
{
    testhttp_app_stop(&other);
    testhttp_db_drop(&svc);
}

/* The stored attributes of default's customer: "channel|campaign" with
 * "-" for NULL, or "none" without a row. */
static void stored(const char *customer, char out[300])
{
    store_db *db = testhttp_db_open(&svc);
    const char *vals[] = {customer};
    PGresult *res = PQexecParams(
        db->conn,
        "SELECT coalesce(acquisition_channel, '-') || '|' || coalesce(campaign, '-')"
        "  FROM customer_attributes WHERE tenant_id = 'default' AND customer_id = $1",
        1, NULL, vals, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    snprintf(out, 300, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "none");
    PQclear(res);
    store_db_close(db);
}

static void want_stored(const char *customer, const char *want)
{
    char got[300];
    stored(customer, got);
    ck_assert_msg(strcmp(got, want) == 0, "%s: stored %s, want %s", customer, got, want);
}

/* The cached attributes of a's default customer, as stored()'s text. */
static void cached(const testhttp_app *a, const char *customer, char out[300])
{
    const char *ch = NULL, *ca = NULL;
    if (cache_get_attrs(a->app->dflt->cache, customer, &ch, &ca) != CACHE_OK) {
        snprintf(out, 300, "none");
        return;
    }
    snprintf(out, 300, "%s|%s", ch != NULL ? ch : "-", ca != NULL ? ca : "-");
}

static void want_cached(const testhttp_app *a, const char *customer, const char *want)
{
    char got[300];
    cached(a, customer, got);
    ck_assert_msg(strcmp(got, want) == 0, "%s: cached %s, want %s", customer, got, want);
}

/* Waits (up to 10 s) for a's cache to hold want for customer. */
static void await_cached(const testhttp_app *a, const char *customer, const char *want)
{
    char got[300];
    for (int i = 0; i < 200; i++) {
        cached(a, customer, got);
        if (strcmp(got, want) == 0)
            return;
        usleep(50000);
    }
    ck_abort_msg("%s: cached %s, want %s (after 10 s)", customer, got, want);
}

/* The document's attributes as stored()'s text. */
static void want_doc(int port, const char *customer, const char *want)
{
    char target[128], got[300];
    snprintf(target, sizeof target, "/v1/customers/%s", customer);
    json_t *doc = testtenant_call_ok(port, "GET", target, NULL, 200);
    json_t *ch = json_object_get(doc, "acquisition_channel");
    json_t *ca = json_object_get(doc, "campaign");
    ck_assert(ch != NULL && ca != NULL);
    snprintf(got, sizeof got, "%s|%s", json_is_string(ch) ? json_string_value(ch) : "-",
             json_is_string(ca) ? json_string_value(ca) : "-");
    json_decref(doc);
    ck_assert_msg(strcmp(got, want) == 0, "%s: document %s, want %s", customer, got,
                  want);
}

#define ITEM(id, cust, day, extra)                                                       \
    "{\"id\":\"" id "\",\"customer_id\":\"" cust "\",\"occurred_at\":\"2025-" day        \
    "T10:00:00Z\",\"amount\":10" extra "}"

static const char batch_a[] =
    "{\"transactions\":[" ITEM("a1", "c1", "03-01", "") "," ITEM(
        "a2", "c1", "03-02",
        ",\"acquisition_channel\":\"search\",\"campaign\":"
        "\"spring\"") "," ITEM("a3", "c2", "03-05",
                               ",\"acquisition_"
                               "channel\":"
                               "\"social\"") "," ITEM("a4", "c2", "03-01",
                                                      ",\"acquisitio"
                                                      "n_channel\":"
                                                      "\"email\","
                                                      "\"campaign\":"
                                                      "\"x\"") "," ITEM("a5", "c3",
                                                                        "04-01",
                                                                        ",\"campaign\":"
                                                                        "\"only\","
                                                                        "\"acquisition_"
                                                                        "channel\":"
                                                                        "null") "]}";

static const char batch_b[] = "{\"transactions\":[" ITEM(
    "b1", "c1", "05-01", ",\"acquisition_channel\":\"tv\"") "," ITEM("b2", "c4", "05-02",
                                                                     "") "]}";

/* ---- 1. first touch, PUT, documents ------------------------------------------- */

START_TEST(test_attributes_first_touch)
{
    testtenant_start_weekly(&svc, "ltvd_attr_ft");
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", batch_a, 200);
    want_stored("c1", "search|spring"); /* the first item carrying any, in body order */
    want_stored("c2", "social|-"); /* not the later item, though its day is earlier */
    want_stored("c3", "-|only");
    want_cached(&svc, "c1", "search|spring");
    want_cached(&svc, "c2", "social|-");
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", batch_a, 200); /* a retry */
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", batch_b, 200);
    want_stored("c1", "search|spring"); /* later values ignored */
    want_stored("c4", "none");
    want_cached(&svc, "c1", "search|spring");
    want_cached(&svc, "c4", "-|-");

    /* bad values: 422, nothing stored (the batch neither) */
    long long before = testhttp_count_rows(&svc, "transactions");
    testhttp_response r;
    CALL(svc.port, "POST", "/v1/transactions",
         "{\"transactions\":[" ITEM(
             "z1", "c9", "06-01",
             ",\"acquisition_channel\":\"\"") "," ITEM("z2", "c9", "06-02",
                                                       ",\"campaign\":7") "]}",
         &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "errors")), 2);
    testhttp_response_free(&r);
    ck_assert_int_eq(testhttp_count_rows(&svc, "transactions"), before);
    want_stored("c9", "none");

    /* PUT replaces, null is unknown; a later first touch still changes nothing */
    json_t *doc = testtenant_call_ok(
        svc.port, "PUT", "/v1/customers/c1/attributes",
        "{\"acquisition_channel\":\"partner\",\"campaign\":null}", 200);
    ck_assert_str_eq(testhttp_jstr(doc, "acquisition_channel"), "partner");
    ck_assert(json_is_null(json_object_get(doc, "campaign")));
    json_decref(doc);
    want_stored("c1", "partner|-");
    want_cached(&svc, "c1", "partner|-");
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions", batch_b, 200);
    want_stored("c1", "partner|-");
    testtenant_call_ok0(svc.port, "PUT", "/v1/customers/c4/attributes",
                        "{\"acquisition_channel\":\"tv\",\"campaign\":\"late\"}", 200);
    want_cached(&svc, "c4", "tv|late");
    /* a customer without transactions; bad bodies */
    CALL(svc.port, "PUT", "/v1/customers/nobody/attributes",
         "{\"acquisition_channel\":\"tv\",\"campaign\":null}", &r);
    testhttp_assert_problem(&r, 404, "customer-not-found");
    testhttp_response_free(&r);
    want_stored("nobody", "none");
    char big[300];
    memset(big, 'x', 129);
    big[129] = '\0';
    char body[512];
    snprintf(body, sizeof body,
             "{\"acquisition_channel\":\"%s\",\"campaign\":\"a\\u0001b\"}", big);
    CALL(svc.port, "PUT", "/v1/customers/c1/attributes", body, &r);
    testhttp_assert_problem(&r, 422, "validation-failed");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "errors")), 2);
    testhttp_response_free(&r);
    CALL(svc.port, "PUT", "/v1/customers/c1/attributes",
         "{\"acquisition_channel\":\"tv\"}", &r);
    testhttp_assert_problem(&r, 422, "validation-failed"); /* campaign missing */
    testhttp_response_free(&r);
    want_stored("c1", "partner|-");
    memset(big, 'y', 128); /* 128 bytes: the longest */
    big[128] = '\0';
    snprintf(body, sizeof body, "{\"acquisition_channel\":\"%s\",\"campaign\":null}",
             big);
    testtenant_call_ok0(svc.port, "PUT", "/v1/customers/c3/attributes", body, 200);

    /* the documents, from the cache and after a restart (the rebuild) */
    testtenant_snapshot_save(&svc, "default", 1);
    for (int round = 0; round < 2; round++) {
        testtenant_restart(&svc);
        want_doc(svc.port, "c1", "partner|-");
        want_doc(svc.port, "c2", "social|-");
        want_doc(svc.port, "c4", "tv|late");
        json_t *list =
            testtenant_call_ok(svc.port, "GET", "/v1/customers?limit=10", NULL, 200);
        json_t *items = json_object_get(list, "customers"), *it;
        size_t i;
        int seen = 0;
        json_array_foreach(items, i, it)
        {
            ck_assert(json_object_get(it, "acquisition_channel") != NULL);
            if (strcmp(testhttp_jstr(it, "customer_id"), "c2") == 0) {
                ck_assert_str_eq(testhttp_jstr(it, "acquisition_channel"), "social");
                seen++;
            }
        }
        ck_assert_int_eq(seen, 1);
        json_decref(list);
        /* from a checkpoint the second time */
        ck_assert_int_ge(app_checkpoint_write_all(svc.app, 0), 1);
    }
    testhttp_response e;
    testhttp_request(svc.port, "GET", "/v1/customers/export", NULL, &e);
    ck_assert_int_eq(e.status, 200);
    ck_assert_msg(
        strstr(e.body, "\"customer_id\":\"c4\"") != NULL &&
            strstr(e.body, "\"acquisition_channel\":\"tv\",\"campaign\":\"late\"") !=
                NULL,
        "%s", e.body);
    testhttp_response_free(&e);

    /* an erasure takes the attributes; a new purchase starts without them */
    testtenant_call_ok0(svc.port, "DELETE", "/v1/customers/c1", NULL, 204);
    want_stored("c1", "none");
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions",
                        "{\"transactions\":[" ITEM("n1", "c1", "09-01", "") "]}", 200);
    want_doc(svc.port, "c1", "-|-");
}
END_TEST

/* ---- 2. two processes ------------------------------------------------------------- */

START_TEST(test_attributes_two_processes)
{
    testtenant_start_weekly(&svc, "ltvd_attr_two");
    other = svc;
    other.app = NULL;
    other.auth = NULL;
    other.server = NULL;
    char err[CONFIG_ERR_MAX];
    ck_assert(config_set(&svc.cfg, "cache_sync_ms", "50", err));
    testhttp_app_stop(&svc);
    other.cfg = svc.cfg;
    testhttp_app_start(&svc, false);
    testhttp_app_start(&other, false);
    ck_assert(app_sync_begin(svc.app));
    ck_assert(app_sync_begin(other.app));

    /* svc's first touch first: other's later one for the same customer is
     * ignored, and other learns svc's by the catch-up */
    testtenant_call_ok0(
        svc.port, "POST", "/v1/transactions",
        "{\"transactions\":[" ITEM("p1", "c5", "03-01",
                                   ",\"acquisition_channel\":\"from-svc\"") "]}",
        200);
    testtenant_call_ok0(
        other.port, "POST", "/v1/transactions",
        "{\"transactions\":[" ITEM("q1", "c5", "03-02",
                                   ",\"acquisition_channel\":\"from-other\"") "]}",
        200);
    want_stored("c5", "from-svc|-");
    want_cached(&svc, "c5", "from-svc|-");
    await_cached(&other, "c5", "from-svc|-");
    /* a customer first seen by other: svc learns it with the summary */
    testtenant_call_ok0(
        other.port, "POST", "/v1/transactions",
        "{\"transactions\":[" ITEM("q2", "c6", "03-03", ",\"campaign\":\"o\"") "]}", 200);
    await_cached(&svc, "c6", "-|o");
    /* a PUT on one process reaches the other */
    testtenant_call_ok0(svc.port, "PUT", "/v1/customers/c6/attributes",
                        "{\"acquisition_channel\":\"put\",\"campaign\":null}", 200);
    await_cached(&other, "c6", "put|-");
    testtenant_call_ok0(other.port, "PUT", "/v1/customers/c5/attributes",
                        "{\"acquisition_channel\":null,\"campaign\":\"p\"}", 200);
    await_cached(&svc, "c5", "-|p");
    /* the same first touch from both at once: one value, everywhere */
    for (int k = 0; k < 10; k++) {
        char b1[256], b2[256], cust[16], want[300];
        snprintf(cust, sizeof cust, "r%d", k);
        snprintf(
            b1, sizeof b1,
            "{\"transactions\":[{\"id\":\"s\",\"customer_id\":\"%s\",\"occurred_at\":"
            "\"2025-03-01T00:00:00Z\",\"amount\":1,\"acquisition_channel\":\"one\"}]}",
            cust);
        snprintf(
            b2, sizeof b2,
            "{\"transactions\":[{\"id\":\"o\",\"customer_id\":\"%s\",\"occurred_at\":"
            "\"2025-03-02T00:00:00Z\",\"amount\":1,\"acquisition_channel\":\"two\"}]}",
            cust);
        testtenant_call_ok0(svc.port, "POST", "/v1/transactions", b1, 200);
        testtenant_call_ok0(other.port, "POST", "/v1/transactions", b2, 200);
        stored(cust, want);
        await_cached(&svc, cust, want);
        await_cached(&other, cust, want);
    }
}
END_TEST

/* ---- 3. spend ------------------------------------------------------------------- */

static long long spend_rows(void)
{
    return testtenant_sql_count(&svc, "SELECT count(*) FROM acquisition_spend");
}

START_TEST(test_attributes_spend)
{
    testtenant_start_weekly(&svc, "ltvd_attr_spend");
    /* a channel no customer has, without spend, not declared: 422, each
     * such item named, nothing stored */
    testhttp_response e;
    CALL(svc.port, "PUT", "/v1/acquisition/spend",
         "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-01\",\"spend\":1},"
         "{\"channel\":\"social\",\"month\":\"2025-01\",\"spend\":1}]}",
         &e);
    testhttp_assert_problem(&e, 422, "validation-failed");
    json_t *unk = json_object_get(e.json, "errors");
    ck_assert_uint_eq(json_array_size(unk), 2);
    ck_assert_int_eq(testhttp_jint(json_array_get(unk, 1), "index"), 1);
    ck_assert_str_eq(testhttp_jstr(json_array_get(unk, 1), "field"), "channel");
    ck_assert(strstr(testhttp_jstr(json_array_get(unk, 0), "reason"), "unknown channel"));
    testhttp_response_free(&e);
    ck_assert_int_eq(spend_rows(), 0);
    /* a bad declaration is refused; a good one makes its channels known */
    testtenant_call_ok0(svc.port, "PATCH", "/v1/tenants/default",
                        "{\"settings\":{\"acquisition_channels\":[\"a\",\"a\"]}}", 422);
    testtenant_call_ok0(svc.port, "PATCH", "/v1/tenants/default",
                        "{\"settings\":{\"acquisition_channels\":\"search\"}}", 422);
    testtenant_call_ok0(svc.port, "PATCH", "/v1/tenants/default",
                        "{\"settings\":{\"acquisition_channels\":[\"search\",\"social\","
                        "\"ok\",\"a\",\"z\",\"z z&.\"]}}",
                        200);
    const char *two =
        "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-01\",\"spend\":100.5,"
        "\"leads\":40},{\"channel\":\"social\",\"month\":\"2025-02\","
        "\"spend\":\"12.25\"}]}";
    json_t *r = testtenant_call_ok(svc.port, "PUT", "/v1/acquisition/spend", two, 200);
    ck_assert_int_eq(testhttp_jint(r, "stored"), 2);
    json_decref(r);
    testtenant_call_ok0(svc.port, "PUT", "/v1/acquisition/spend", two, 200); /* again */
    ck_assert_int_eq(spend_rows(), 2);
    r = testtenant_call_ok(svc.port, "GET", "/v1/acquisition/spend", NULL, 200);
    json_t *items = json_object_get(r, "items");
    ck_assert_uint_eq(json_array_size(items), 2);
    json_t *a = json_array_get(items, 0), *b = json_array_get(items, 1);
    ck_assert_str_eq(testhttp_jstr(a, "channel"), "search");
    ck_assert_str_eq(testhttp_jstr(a, "month"), "2025-01");
    ck_assert_double_eq(testhttp_jnum(a, "spend"), 100.5);
    ck_assert_int_eq(testhttp_jint(a, "leads"), 40);
    ck_assert_str_eq(testhttp_jstr(b, "month"), "2025-02");
    ck_assert_double_eq(testhttp_jnum(b, "spend"), 12.25);
    ck_assert(json_is_null(json_object_get(b, "leads")));
    ck_assert(json_is_null(json_object_get(r, "next_cursor")));
    json_decref(r);
    /* a PUT replaces its (channel, month) rows only */
    testtenant_call_ok0(svc.port, "PUT", "/v1/acquisition/spend",
                        "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-01\","
                        "\"spend\":7}]}",
                        200);
    ck_assert_int_eq(spend_rows(), 2);
    ck_assert_int_eq(
        testtenant_sql_count(&svc, "SELECT (spend * 100)::bigint + coalesce(leads, "
                                   "-1) FROM acquisition_spend WHERE channel = "
                                   "'search'"),
        700 - 1);

    /* every bad item listed with its index and member; nothing stored */
    CALL(svc.port, "PUT", "/v1/acquisition/spend",
         "{\"items\":[{\"channel\":\"ok\",\"month\":\"2025-03\",\"spend\":1},"
         "{\"channel\":\"\",\"month\":\"2025-13\",\"spend\":-1,\"leads\":1.5},"
         "{\"channel\":\"x\",\"month\":\"1969-12\",\"spend\":\"1e20\",\"y\":1},"
         "{\"channel\":\"x\",\"month\":\"2999-01\"},7]}",
         &e);
    testhttp_assert_problem(&e, 422, "validation-failed");
    json_t *errs = json_object_get(e.json, "errors");
    ck_assert_uint_eq(json_array_size(errs), 4 + 3 + 2 + 1 + 2); /* + x, unknown, twice */
    ck_assert_str_eq(testhttp_jstr(json_array_get(errs, 7), "field"), "channel");
    ck_assert_int_eq(testhttp_jint(json_array_get(errs, 7), "index"), 2);
    ck_assert_int_eq(testhttp_jint(json_array_get(errs, 0), "index"), 1);
    ck_assert_int_eq(
        testhttp_jint(json_array_get(errs, json_array_size(errs) - 1), "index"), 4);
    testhttp_response_free(&e);
    CALL(svc.port, "PUT", "/v1/acquisition/spend",
         "{\"items\":[{\"channel\":\"ok\",\"month\":\"2025-03\",\"spend\":1},"
         "{\"channel\":\"ok\",\"month\":\"2025-03\",\"spend\":2}]}",
         &e);
    testhttp_assert_problem(&e, 422, "validation-failed"); /* the same row twice */
    ck_assert_int_eq(
        testhttp_jint(json_array_get(json_object_get(e.json, "errors"), 0), "index"), 1);
    testhttp_response_free(&e);
    CALL(svc.port, "PUT", "/v1/acquisition/spend", "{\"items\":[]}", &e);
    testhttp_assert_problem(&e, 422, "validation-failed");
    testhttp_response_free(&e);
    /* leads 2^53 + 1 is above 2^53, not rounded down to it */
    CALL(svc.port, "PUT", "/v1/acquisition/spend",
         "{\"items\":[{\"channel\":\"ok\",\"month\":\"2025-03\",\"spend\":1,"
         "\"leads\":9007199254740993}]}",
         &e);
    testhttp_assert_problem(&e, 422, "validation-failed");
    testhttp_response_free(&e);
    ck_assert_int_eq(spend_rows(), 2);

    /* pages: 8 rows, 3 a page */
    testtenant_call_ok0(
        svc.port, "PUT", "/v1/acquisition/spend",
        "{\"items\":[{\"channel\":\"a\",\"month\":\"2024-12\",\"spend\":1},"
        "{\"channel\":\"a\",\"month\":\"2025-01\",\"spend\":1},"
        "{\"channel\":\"search\",\"month\":\"2024-01\",\"spend\":1},"
        "{\"channel\":\"search\",\"month\":\"2025-06\",\"spend\":1},"
        "{\"channel\":\"z\",\"month\":\"2025-01\",\"spend\":0},"
        "{\"channel\":\"z z&.\",\"month\":\"2025-02\",\"spend\":0}]}",
        200);
    const char *order[8][2] = {{"a", "2024-12"},      {"a", "2025-01"},
                               {"search", "2024-01"}, {"search", "2025-01"},
                               {"search", "2025-06"}, {"social", "2025-02"},
                               {"z", "2025-01"},      {"z z&.", "2025-02"}};
    char target[256] = "/v1/acquisition/spend?limit=3";
    int n = 0, pages = 0;
    for (;;) {
        r = testtenant_call_ok(svc.port, "GET", target, NULL, 200);
        pages++;
        json_t *it;
        size_t i;
        json_array_foreach(json_object_get(r, "items"), i, it)
        {
            ck_assert_int_lt(n, 8);
            ck_assert_str_eq(testhttp_jstr(it, "channel"), order[n][0]);
            ck_assert_str_eq(testhttp_jstr(it, "month"), order[n][1]);
            n++;
        }
        json_t *next = json_object_get(r, "next_cursor");
        if (!json_is_string(next)) {
            json_decref(r);
            break;
        }
        snprintf(target, sizeof target, "/v1/acquisition/spend?limit=3&cursor=%s",
                 json_string_value(next));
        json_decref(r);
    }
    ck_assert_int_eq(n, 8); /* a cursor after "z z&." goes in a query as it is */
    ck_assert_int_eq(pages, 3);
    testtenant_call_ok0(svc.port, "GET", "/v1/acquisition/spend?cursor=garbage", NULL,
                        400);
    /* a forged cursor whose channel is not UTF-8 (or holds a control
     * character) is not one of ours: 400, never PostgreSQL's 503 */
    testtenant_call_ok0(svc.port, "GET", "/v1/acquisition/spend?cursor=23964.ff", NULL,
                        400);
    testtenant_call_ok0(svc.port, "GET", "/v1/acquisition/spend?cursor=23964.c0af", NULL,
                        400);
    testtenant_call_ok0(svc.port, "GET", "/v1/acquisition/spend?cursor=23964.610a", NULL,
                        400);
    testtenant_call_ok0(svc.port, "GET", "/v1/acquisition/spend?limit=1001", NULL, 400);
    /* with nothing declared, a channel with spend stays known, and a
     * customer's channel becomes known */
    testtenant_call_ok0(svc.port, "PATCH", "/v1/tenants/default",
                        "{\"settings\":{\"acquisition_channels\":[]}}", 200);
    const char *fresh = "{\"items\":[{\"channel\":\"fresh\",\"month\":\"2025-01\","
                        "\"spend\":3}]}";
    testtenant_call_ok0(svc.port, "PUT", "/v1/acquisition/spend",
                        "{\"items\":[{\"channel\":\"search\",\"month\":\"2025-09\","
                        "\"spend\":3}]}",
                        200);
    testtenant_call_ok0(svc.port, "PUT", "/v1/acquisition/spend", fresh, 422);
    testtenant_call_ok0(svc.port, "POST", "/v1/transactions",
                        "{\"transactions\":[{\"id\":\"f1\",\"customer_id\":\"cf\","
                        "\"occurred_at\":\"2025-01-05T00:00:00Z\",\"amount\":5,"
                        "\"acquisition_channel\":\"fresh\"}]}",
                        200);
    testtenant_call_ok0(svc.port, "PUT", "/v1/acquisition/spend", fresh, 200);
    /* another tenant's spend is its own, and so are its channels */
    testtenant_create(svc.port, "shop", NULL);
    r = testtenant_call_ok(svc.port, "GET", "/v1/tenants/shop/acquisition/spend", NULL,
                           200);
    ck_assert_uint_eq(json_array_size(json_object_get(r, "items")), 0);
    json_decref(r);
    testtenant_call_ok0(svc.port, "PUT", "/v1/tenants/shop/acquisition/spend", fresh,
                        422);
}
END_TEST

/* ---- 4. month bits against SQL ------------------------------------------------------
 */

#define MB_CUSTOMERS 150

/* Every cached month_bits of default equals the bits computed here from
 * the distinct purchase months SQL lists. Returns the customers compared. */
static int compare_month_bits(void)
{
    store_db *db = testhttp_db_open(&svc);
    PGresult *res = PQexec(
        db->conn,
        "SELECT customer_id, array_agg(m ORDER BY m)::text FROM"
        " (SELECT DISTINCT customer_id, extract(year FROM day)::integer * 12"
        "         + extract(month FROM day)::integer - 1 AS m"
        "    FROM customer_days WHERE tenant_id = 'default') x GROUP BY customer_id");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        const char *id = PQgetvalue(res, r, 0);
        char *p = PQgetvalue(res, r, 1) + 1; /* "{m1,m2,...}" ascending */
        long first = strtol(p, &p, 10);
        uint64_t want = 1;
        while (*p == ',') {
            long m = strtol(p + 1, &p, 10);
            if (m - first < 64)
                want |= (uint64_t)1 << (m - first);
        }
        cache_summary s;
        ck_assert_msg(cache_get(svc.app->dflt->cache, id, &s) == CACHE_OK, "%s", id);
        ck_assert_msg(s.month_bits == want, "%s: cached %llx, SQL %llx", id,
                      (unsigned long long)s.month_bits, (unsigned long long)want);
        ck_assert_int_eq(base_month_of_day(s.first_day), first);
    }
    PQclear(res);
    store_db_close(db);
    return n;
}

START_TEST(test_attributes_month_bits)
{
    testtenant_start_weekly(&svc, "ltvd_attr_mb");
    /* days over 2006..2025 (spans past 64 and past 192 months), posted in
     * shuffled batches: earlier days often arrive after later ones */
    enum { MAX_ITEMS = MB_CUSTOMERS * 12 };
    static char items[MAX_ITEMS][200];
    int n = 0;
    unsigned seed = 7;
    for (int c = 0; c < MB_CUSTOMERS; c++) {
        int k = 1 + (int)(rand_r(&seed) % 12);
        /* up to 19 years: spans past 192 months take the window path */
        static const int spans[4] = {400, 2000, 3200, 7000};
        int span = spans[c % 4];
        for (int i = 0; i < k; i++) {
            int64_t day =
                20453 - (int64_t)(rand_r(&seed) % (unsigned)span); /* <= 2025-12-31 */
            int64_t secs = day * 86400 + 3600;
            time_t t = (time_t)secs;
            struct tm tm;
            gmtime_r(&t, &tm);
            char when[32];
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(items[n++], sizeof items[0],
                     "{\"id\":\"m%d\",\"customer_id\":\"mb%d\",\"occurred_at\":\"%s\","
                     "\"amount\":1}",
                     i, c, when);
        }
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rand_r(&seed) % (unsigned)(i + 1));
        char tmp[200];
        memcpy(tmp, items[i], sizeof tmp);
        memcpy(items[i], items[j], sizeof tmp);
        memcpy(items[j], tmp, sizeof tmp);
    }
    size_t cap = 100 * 201 + 64;
    char *body = malloc(cap);
    for (int from = 0; from < n; from += 100) {
        size_t k = (size_t)snprintf(body, cap, "{\"transactions\":[");
        for (int i = from; i < n && i < from + 100; i++)
            k += (size_t)snprintf(body + k, cap - k, "%s%s", i > from ? "," : "",
                                  items[i]);
        snprintf(body + k, cap - k, "]}");
        testtenant_call_ok0(svc.port, "POST", "/v1/transactions", body, 200);
    }
    free(body);
    ck_assert_int_eq(compare_month_bits(), MB_CUSTOMERS); /* the deltas */
    /* both ways of reading the months: the view's classes (days within 192
     * months; some past 64), and the exact look for longer spans */
#define SPAN_SQL                                                                         \
    "SELECT count(*) FROM (SELECT (date_part('year', max(day)) - date_part('year', "     \
    "min(day)))"                                                                         \
    " * 12 + date_part('month', max(day)) - date_part('month', min(day)) AS s"           \
    " FROM customer_days GROUP BY customer_id) x WHERE "
    ck_assert_int_gt(testtenant_sql_count(&svc, SPAN_SQL "s > 192"), 0);
    ck_assert_int_gt(testtenant_sql_count(&svc, SPAN_SQL "s BETWEEN 64 AND 192"), 0);
    testtenant_restart(&svc);
    ck_assert_int_eq(compare_month_bits(), MB_CUSTOMERS); /* the rebuild */
    ck_assert_int_eq(app_checkpoint_write_all(svc.app, 0), 1);
    testtenant_restart(&svc);
    ck_assert_int_eq(compare_month_bits(), MB_CUSTOMERS); /* the checkpoint */
    /* a checkpoint of the old format (1) is never loaded: rebuilt */
    testtenant_sql_exec(&svc, "UPDATE cache_checkpoints SET format = 1");
    testtenant_sql_exec(&svc, "UPDATE customer_days SET amount = amount + 1"
                              " WHERE tenant_id = 'default' AND customer_id = 'mb0'");
    testtenant_restart(&svc);
    ck_assert_int_eq(compare_month_bits(), MB_CUSTOMERS);
    cache_summary s;
    ck_assert_int_eq(cache_get(svc.app->dflt->cache, "mb0", &s), CACHE_OK);
    ck_assert_int_eq(testtenant_sql_count(&svc,
                                          "SELECT (sum(amount) * 10000)::bigint FROM "
                                          "customer_days WHERE customer_id = 'mb0'"),
                     s.first_units + s.repeat_units); /* from SQL, not the checkpoint */
}
END_TEST

/* ---- 5. ltvd import ------------------------------------------------------------- */

START_TEST(test_attributes_import)
{
    testtenant_start_weekly(&svc, "ltvd_attr_imp");
    char path[] = "/tmp/ltvd_attr_imp_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char csv[] = "customer_id,occurred_at,amount,campaign,acquisition_channel\n"
                       "i1,2025-01-02,10,,\n"
                       "i1,2025-01-03,10,winter,search\n"
                       "i1,2025-01-04,10,later,tv\n"
                       "i2,2025-02-01,5,,social\n"
                       "i3,2025-02-01,5,,\n";
    ck_assert_int_eq(write(fd, csv, sizeof csv - 1), (ssize_t)(sizeof csv - 1));
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' %s import %s >/dev/null 2>&1",
             svc.cfg.database_url, testserve_bin(), path);
    ck_assert_int_eq(system(cmd), 0);
    want_stored("i1", "search|winter");
    want_stored("i2", "social|-");
    want_stored("i3", "none");
    /* a bad attribute: the file is refused, nothing imported */
    fd = open(path, O_WRONLY | O_TRUNC);
    const char bad[] = "customer_id,occurred_at,amount,acquisition_channel\n"
                       "i4,2025-01-02,10,\x01x\n";
    ck_assert_int_eq(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
    close(fd);
    ck_assert_int_ne(system(cmd), 0);
    want_stored("i4", "none");
    unlink(path);
    /* the service learns them by its catch-up */
    ck_assert(app_sync_begin(svc.app));
    await_cached(&svc, "i1", "search|winter");
}
END_TEST

Suite *suite_attributes(void)
{
    Suite *s = suite_create("attributes");
    TCase *tc = tcase_create("attributes");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_attributes_first_touch);
    tcase_add_test(tc, test_attributes_two_processes);
    tcase_add_test(tc, test_attributes_spend);
    tcase_add_test(tc, test_attributes_month_bits);
    tcase_add_test(tc, test_attributes_import);
    suite_add_tcase(s, tc);
    return s;
}
