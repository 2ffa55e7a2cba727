/* `ltvd import` end to end against a real PostgreSQL: the binary (./ltvd
 * unless LTVD_BIN says otherwise) run as a subprocess on CSV files, the
 * database read back. The CDNOW sample gives the customers table that the
 * summary library computes from the same file; a second import adds nothing
 * (from a file, stdin or a pipe); an id column is used as given; a file with
 * bad rows imports nothing and names every bad line. Needs DATABASE_URL
 * (scripts/with_pg.sh); works in a database of its own, ltvd_imp_<pid>. */
#include <check.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "summary/summary.h"
#include "testdb.h"
#include "testrun.h"

#define TXNS "tests/data/cdnow_sample_transactions.csv"
#define TXNS_ROWS 6919
#define TXNS_CUSTOMERS 2357

static char base_url[2048];
static char test_url[2048];
static char test_dbname[64];

/* ---- fixture ---------------------------------------------------------------- */

static void setup_db(void)
{
    ck_assert_msg(base_url[0] != '\0',
                  "DATABASE_URL is not set: run through scripts/with_pg.sh");
    snprintf(test_dbname, sizeof test_dbname, "ltvd_imp_%ld", (long)getpid());
    testdb_create(base_url, test_dbname);
    testdb_url_with_db(base_url, test_dbname, test_url, sizeof test_url);
}

static void teardown_db(void)
{
    if (base_url[0] == '\0' || test_dbname[0] == '\0')
        return;
    testdb_drop(base_url, test_dbname);
}

/* ---- running the binary ------------------------------------------------------ */

typedef testrun_out run_out;

/* Runs the shell text `cmd`, in which $LTVD is the binary; DATABASE_URL is
 * this suite's database (passed through a variable: the conninfo is quoted). */
static run_out run_sh(const char *cmd)
{
    setenv("LTVD_IMPORT_TEST_URL", test_url, 1);
    char full[4096];
    snprintf(full, sizeof full, "export DATABASE_URL=\"$LTVD_IMPORT_TEST_URL\"; %s", cmd);
    return testrun_sh(full);
}

/* The counts of a summary line "FILE: R rows, N new, D duplicates, C customers; ...". */
typedef struct counts {
    size_t rows, n_new, dup, customers;
} counts;

static counts parse_summary(const run_out *r)
{
    counts c;
    const char *p = strstr(r->out, ": ");
    ck_assert_msg(p != NULL, "no summary: '%s'", r->out);
    ck_assert_msg(sscanf(p, ": %zu rows, %zu new, %zu duplicates, %zu customers", &c.rows,
                         &c.n_new, &c.dup, &c.customers) == 4,
                  "summary: '%s'", r->out);
    return c;
}

/* Imports with `cmd` and checks it succeeded with exactly one summary line on
 * stdout and nothing on stderr (not a terminal: no progress). */
static counts import_ok(const char *cmd)
{
    run_out r = run_sh(cmd);
    ck_assert_msg(r.status == 0, "%s: exit %d: %s", cmd, r.status, r.err);
    ck_assert_msg(r.err[0] == '\0', "%s: stderr '%s'", cmd, r.err);
    ck_assert_msg(strchr(r.out, '\n') == r.out + strlen(r.out) - 1, "%s: '%s'", cmd,
                  r.out);
    counts c = parse_summary(&r);
    testrun_free(&r);
    return c;
}

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/ltvd_imp_csvXXXXXX");
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* ---- the database ---------------------------------------------------------- */

static PGresult *query(const char *sql)
{
    PGconn *c = PQconnectdb(test_url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQresultErrorMessage(res));
    PQfinish(c);
    return res;
}

static long long query_ll(const char *sql)
{
    PGresult *res = query(sql);
    ck_assert_int_eq(PQntuples(res), 1);
    long long v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static const cust_summary *sorted_base;
static int by_id(const void *a, const void *b)
{
    const cust_summary *x = &sorted_base[*(const size_t *)a];
    const cust_summary *y = &sorted_base[*(const size_t *)b];
    return strcmp(x->id, y->id);
}

/* Every customer of the table against summary_from_transactions of the file
 * as of its last day: n_days = x + 1, first = as_of - T, last = first + t_x,
 * repeat_amount = x * monetary_value. */
static void check_customers_match(const char *path, const char *prefix)
{
    txn_set t;
    summary_set s;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(txn_read_csv(path, &t, err) == 0, "%s", err);
    ck_assert_int_eq(summary_from_transactions(&t, t.last_day, 1, &s), 0);
    size_t *order = malloc(s.n * sizeof *order);
    ck_assert(order != NULL);
    for (size_t i = 0; i < s.n; i++)
        order[i] = i;
    sorted_base = s.rows;
    qsort(order, s.n, sizeof *order, by_id);
    char sql[512];
    snprintf(
        sql, sizeof sql,
        "SELECT customer_id, first_day - DATE '1970-01-01', last_day - DATE '1970-01-01',"
        " n_days, repeat_amount FROM customers WHERE customer_id LIKE '%s%%'"
        " ORDER BY customer_id COLLATE \"C\"",
        prefix);
    PGresult *res = query(sql);
    ck_assert_int_eq((size_t)PQntuples(res), s.n);
    for (size_t i = 0; i < s.n; i++) {
        const cust_summary *c = &s.rows[order[i]];
        const char *id = PQgetvalue(res, (int)i, 0);
        ck_assert_str_eq(id, c->id);
        int64_t first = t.last_day - (int64_t)c->T;
        ck_assert_int_eq(strtoll(PQgetvalue(res, (int)i, 1), NULL, 10), first);
        ck_assert_int_eq(strtoll(PQgetvalue(res, (int)i, 2), NULL, 10),
                         first + (int64_t)c->recency);
        ck_assert_int_eq(strtoll(PQgetvalue(res, (int)i, 3), NULL, 10),
                         (long long)c->frequency + 1);
        double repeat = strtod(PQgetvalue(res, (int)i, 4), NULL);
        ck_assert_msg(fabs(repeat - c->frequency * c->monetary_value) < 1e-6,
                      "customer %s: repeat_amount %g, summary %g", id, repeat,
                      c->frequency * c->monetary_value);
    }
    PQclear(res);
    free(order);
    summary_set_free(&s);
    txn_set_free(&t);
}

/* ---- tests ------------------------------------------------------------------ */

/* The CDNOW sample: the customers table is what the summary library
 * computes from the file; ids are derived ("csv:<hash>:<n>"). */
START_TEST(test_import_cdnow)
{
    counts c = import_ok("$LTVD import " TXNS);
    ck_assert_uint_eq(c.rows, TXNS_ROWS);
    ck_assert_uint_eq(c.n_new, TXNS_ROWS);
    ck_assert_uint_eq(c.dup, 0);
    ck_assert_uint_eq(c.customers, TXNS_CUSTOMERS);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM transactions"), TXNS_ROWS);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM transactions"
                              " WHERE txn_id !~ '^csv:[0-9a-f]{16}:[0-9]+$'"),
                     0);
    check_customers_match(TXNS, "");
    /* the migration of the cache catch-up is applied */
    ck_assert_int_eq(query_ll("SELECT count(*) FROM pg_indexes"
                              " WHERE indexname = 'transactions_ingested_xid_brin'"),
                     1);
}
END_TEST

/* A second import adds nothing, whatever the batch size and whether the file
 * comes as a path, as stdin or through a pipe. */
START_TEST(test_import_again)
{
    const char *cmds[] = {
        "$LTVD import " TXNS,
        "$LTVD import --batch 1000 - < " TXNS,
        "cat " TXNS " | $LTVD import --batch 77 -",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        counts c = import_ok(cmds[i]);
        ck_assert_uint_eq(c.rows, TXNS_ROWS);
        ck_assert_uint_eq(c.n_new, 0);
        ck_assert_uint_eq(c.dup, TXNS_ROWS);
    }
    ck_assert_int_eq(query_ll("SELECT count(*) FROM transactions"), TXNS_ROWS);
    check_customers_match(TXNS, "");
}
END_TEST

/* An id column (here first, columns in another order) is stored as given; a
 * repeated id of one customer is a duplicate, as in the API. */
START_TEST(test_import_id_column)
{
    const char *path = write_temp("id,amount,occurred_at,customer_id,note\n"
                                  "t1,10,2020-01-01T10:00:00Z,idc-a,x\n"
                                  "t2,5.50,2020-01-03 09:00:00,idc-a,y\n"
                                  "t1,10,2020-01-01T10:00:00Z,idc-a,again\n"
                                  "t1,7,2020-02-01,idc-b,\n");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "$LTVD import %s", path);
    counts c = import_ok(cmd);
    ck_assert_uint_eq(c.rows, 4);
    ck_assert_uint_eq(c.n_new, 3);
    ck_assert_uint_eq(c.dup, 1);
    ck_assert_uint_eq(c.customers, 2);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM transactions WHERE customer_id"
                              " LIKE 'idc-%' AND txn_id IN ('t1', 't2')"),
                     3);
    ck_assert_int_eq(query_ll("SELECT n_days FROM customers WHERE customer_id = 'idc-a'"),
                     2);
    ck_assert_int_eq(query_ll("SELECT (repeat_amount * 100)::bigint FROM customers"
                              " WHERE customer_id = 'idc-a'"),
                     550);
    c = import_ok(cmd);
    ck_assert_uint_eq(c.n_new, 0);
    ck_assert_uint_eq(c.dup, 4);
    unlink(path);
}
END_TEST

/* Any bad row and nothing is imported; every bad line is reported as
 * FILE:LINE: reason, in order, followed by a count. */
START_TEST(test_import_bad_rows)
{
    const char *path = write_temp("customer_id,occurred_at,amount\n"
                                  "bad-a,2020-01-01,10\n"
                                  "bad-b,2020-13-01,10\n"
                                  "bad-c,2020-01-01,-3\n"
                                  "bad-d,2020-01-01,12.34567\n"
                                  ",2020-01-01,1\n"
                                  "bad-e,2020-01-01\n"
                                  "\n"
                                  "bad-f,2099-01-01T00:00:00Z,1\n"
                                  "bad-g,2020-01-01,1e3\n");
    long long before = query_ll("SELECT count(*) FROM transactions");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "$LTVD import %s", path);
    run_out r = run_sh(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    const int bad_lines[] = {3, 4, 5, 6, 7, 9};
    const char *p = r.err;
    for (size_t i = 0; i < sizeof bad_lines / sizeof *bad_lines; i++) {
        char want[128];
        snprintf(want, sizeof want, "%s:%d: ", path, bad_lines[i]);
        ck_assert_msg(strncmp(p, want, strlen(want)) == 0, "want '%s' at '%s'", want, p);
        p = strchr(p, '\n');
        ck_assert(p != NULL);
        p++;
    }
    ck_assert_msg(strstr(p, "6 bad rows of 8: nothing imported") != NULL, "%s", p);
    ck_assert_msg(strstr(r.err, "refunds") != NULL && strstr(r.err, "4 digits") != NULL &&
                      strstr(r.err, "future") != NULL &&
                      strstr(r.err, "header has 3") != NULL,
                  "%s", r.err);
    testrun_free(&r);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM transactions"), before);
    /* the same through stdin names the input "-" */
    snprintf(cmd, sizeof cmd, "cat %s | $LTVD import -", path);
    r = run_sh(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strncmp(r.err, "-:3: occurred_at", 16) == 0, "%s", r.err);
    testrun_free(&r);
    ck_assert_int_eq(query_ll("SELECT count(*) FROM transactions"), before);
    unlink(path);
}
END_TEST

/* Without an id column, identical purchases in one file are all kept (the
 * occurrence number tells them apart) and the same rows, through stdin and
 * in another order, add nothing; the amount's and time's spelling do not
 * matter; a later import's rows carry a later ingested_at (what the cache
 * catch-up looks for). */
START_TEST(test_import_stdin_derived_ids)
{
    const char *a = "customer_id,occurred_at,amount\n"
                    "st-1,2021-05-01T12:00:00Z,9.90\n"
                    "st-1,2021-05-01T12:00:00Z,9.90\n"
                    "st-1,2021-05-03,1\n"
                    "st-2,2021-05-02T00:30:00+02:00,3\n";
    const char *b = "occurred_at,customer_id,amount\n" /* same rows, other spelling */
                    "2021-05-03T00:00:00Z,st-1,1.00\n"
                    "2021-05-01 14:00:00+02:00,st-1,9.9\n"
                    "2021-05-01T12:00:00.250Z,st-1,009.900\n"
                    "2021-05-01T22:30:00Z,st-2,3.\n";
    char cmd[512];
    char *pa = strdup(write_temp(a));
    snprintf(cmd, sizeof cmd, "cat %s | $LTVD import -", pa);
    counts c = import_ok(cmd);
    ck_assert_uint_eq(c.rows, 4);
    ck_assert_uint_eq(c.n_new, 4);
    ck_assert_int_eq(query_ll("SELECT n_days FROM customers WHERE customer_id = 'st-1'"),
                     2);
    ck_assert_int_eq(query_ll("SELECT first_day - DATE '2021-05-01' FROM customers"
                              " WHERE customer_id = 'st-2'"),
                     0);
    char *pb = strdup(write_temp(b));
    snprintf(cmd, sizeof cmd, "$LTVD import - < %s", pb);
    c = import_ok(cmd);
    ck_assert_uint_eq(c.n_new, 0);
    ck_assert_uint_eq(c.dup, 4);

    long long t0 = query_ll("SELECT (extract(epoch FROM max(ingested_at)) * 1e6)::bigint"
                            " FROM transactions WHERE customer_id = 'st-2'");
    const char *more = write_temp("customer_id,occurred_at,amount\n"
                                  "st-2,2021-06-01,4\n");
    snprintf(cmd, sizeof cmd, "$LTVD import --batch 1 %s", more);
    c = import_ok(cmd);
    ck_assert_uint_eq(c.n_new, 1);
    ck_assert_int_gt(
        query_ll("SELECT (extract(epoch FROM max(ingested_at)) * 1e6)::bigint"
                 " FROM transactions WHERE customer_id = 'st-2'"),
        t0);
    ck_assert_int_eq(query_ll("SELECT n_days FROM customers WHERE customer_id = 'st-2'"),
                     2);
    unlink(more);
    unlink(pa);
    unlink(pb);
    free(pa);
    free(pb);
}
END_TEST

/* --dry-run validates without a database; usage errors exit 2. */
START_TEST(test_import_dry_run_and_usage)
{
    run_out r = run_sh("unset DATABASE_URL; $LTVD import --dry-run " TXNS);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, "6919 rows valid, 2357 customers") != NULL, "%s", r.out);
    testrun_free(&r);
    const char *bad[] = {"$LTVD import", "$LTVD import --batch 0 " TXNS,
                         "$LTVD import a.csv b.csv", "$LTVD import --nope " TXNS};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = run_sh(bad[i]);
        ck_assert_msg(r.status == 2, "%s: exit %d", bad[i], r.status);
        testrun_free(&r);
    }
    r = run_sh("$LTVD import /nonexistent/x.csv");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "/nonexistent/x.csv") != NULL, "%s", r.err);
    testrun_free(&r);
}
END_TEST

Suite *suite_import(void)
{
    const char *url = getenv("DATABASE_URL");
    snprintf(base_url, sizeof base_url, "%s", url != NULL ? url : "");
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("postgres");
    tcase_add_unchecked_fixture(tc, setup_db, teardown_db);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_import_cdnow);
    tcase_add_test(tc, test_import_again);
    tcase_add_test(tc, test_import_id_column);
    tcase_add_test(tc, test_import_bad_rows);
    tcase_add_test(tc, test_import_stdin_derived_ids);
    tcase_add_test(tc, test_import_dry_run_and_usage);
    suite_add_tcase(s, tc);
    return s;
}
