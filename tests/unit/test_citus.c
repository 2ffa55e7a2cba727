/* The store's Citus side (src/store/citus.c, script.c) where no Citus
 * runs: migration scripts are split into statements exactly (quotes,
 * dollar quotes, comments), a migration applies statement by statement with
 * the same result, and on plain PostgreSQL store_citus_distribute changes
 * nothing, and scripts/citus_check.sh (which checks a real Citus
 * coordinator: docs/scaling.md) passes every statement check on plain
 * PostgreSQL, so its statements keep up with the schema. The "postgres"
 * case needs DATABASE_URL (scripts/with_pg.sh) and the binary (LTVD_BIN,
 * default ./ltvd). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/citus.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/script.h"
#include "testdb.h"
#include "testserve.h"

/* ---- splitting (no database) --------------------------------------------- */

/* The statements of sql, each as its text, joined with "|". */
static void split(const char *sql, char *out, size_t size)
{
    const char *p = sql, *s;
    size_t n, len = 0;
    out[0] = '\0';
    while ((n = store_script_next(p, &s)) > 0) {
        len +=
            (size_t)snprintf(out + len, size - len, "%s%.*s", len ? "|" : "", (int)n, s);
        ck_assert_msg(len < size, "split output too long");
        p = s + n;
    }
    ck_assert_ptr_eq(s, sql + strlen(sql)); /* the end, after blanks and comments */
}

START_TEST(test_split_cases)
{
    static const struct {
        const char *sql, *want;
    } cases[] = {
        {"", ""},
        {"  \n-- only a comment\n/* and another */\n", ""},
        {"SELECT 1", "SELECT 1"},
        {"SELECT 1;SELECT 2;", "SELECT 1;|SELECT 2;"},
        {"-- head\nCREATE TABLE t (a int); -- tail\n\nDROP TABLE t;\n",
         "CREATE TABLE t (a int);|DROP TABLE t;"},
        {"COMMENT ON TABLE t IS 'a; b';SELECT 2;",
         "COMMENT ON TABLE t IS 'a; b';|SELECT 2;"},
        {"SELECT 'it''s; fine';SELECT 2", "SELECT 'it''s; fine';|SELECT 2"},
        {"SELECT E'\\'; still';SELECT 2", "SELECT E'\\'; still';|SELECT 2"},
        {"SELECT '\\';SELECT 2",
         "SELECT '\\';|SELECT 2"}, /* standard strings: no escape */
        {"SELECT \"a;b\" FROM t;SELECT 2", "SELECT \"a;b\" FROM t;|SELECT 2"},
        {"SELECT 1 -- a; comment\n+ 1;SELECT 2", "SELECT 1 -- a; comment\n+ 1;|SELECT 2"},
        {"SELECT /* a; /* nested; */ b; */ 1;SELECT 2",
         "SELECT /* a; /* nested; */ b; */ 1;|SELECT 2"},
        {"DO $$ BEGIN PERFORM 1; END $$;SELECT 2",
         "DO $$ BEGIN PERFORM 1; END $$;|SELECT 2"},
        {"DO $f$ BEGIN RAISE NOTICE '$$;'; END $f$;SELECT 2",
         "DO $f$ BEGIN RAISE NOTICE '$$;'; END $f$;|SELECT 2"},
        {"PREPARE p(int) AS SELECT $1;SELECT 2", "PREPARE p(int) AS SELECT $1;|SELECT 2"},
        {"SELECT a$b$ FROM t;SELECT 2", "SELECT a$b$ FROM t;|SELECT 2"},
        {"SELECT 'open; never closed", "SELECT 'open; never closed"},
    };
    char got[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        split(cases[i].sql, got, sizeof got);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu: %s\n got  %s\n want %s",
                      i, cases[i].sql, got, cases[i].want);
    }
}
END_TEST

/* Every shipped migration splits into statements that put back together
 * (with what lay between them) give the file: nothing is lost or cut. */
START_TEST(test_split_migrations_whole)
{
    char cmd[] = "ls migrations/*.sql";
    FILE *ls = popen(cmd, "r");
    ck_assert_ptr_nonnull(ls);
    char path[512];
    int files = 0;
    while (fgets(path, sizeof path, ls) != NULL) {
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        static char text[1 << 20];
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = '\0';
        const char *p = text, *s;
        size_t n, statements = 0;
        while ((n = store_script_next(p, &s)) > 0) {
            ck_assert_msg(s[n - 1] == ';', "%s: a statement without its semicolon: %.60s",
                          path, s);
            p = s + n;
            statements++;
        }
        ck_assert_msg(statements > 0, "%s: no statement", path);
        files++;
    }
    pclose(ls);
    ck_assert_int_ge(files, 9);
}
END_TEST

/* ---- on plain PostgreSQL --------------------------------------------------- */

static char base_url[2048];
static char test_url[2048];
static char test_dbname[64];

static void setup_db(void)
{
    ck_assert_msg(base_url[0] != '\0',
                  "DATABASE_URL is not set: run through scripts/with_pg.sh");
    snprintf(test_dbname, sizeof test_dbname, "ltvd_citus_%ld", (long)getpid());
    testdb_create(base_url, test_dbname);
    testdb_url_with_db(base_url, test_dbname, test_url, sizeof test_url);
}

static void teardown_db(void)
{
    if (base_url[0] != '\0' && test_dbname[0] != '\0')
        testdb_drop(base_url, test_dbname);
}

static store_db *open_db(void)
{
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(test_url, err);
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

static char *query_text(store_db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s",
                  sql, PQresultErrorMessage(res));
    char *v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    ck_assert_ptr_nonnull(v);
    return v;
}

/* The schema as text: every column, constraint and comment of the public
 * schema, to compare before and after. */
static char *schema_text(store_db *db)
{
    return query_text(
        db, "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
            " SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, "
            "a.atttypmod)"
            "        || coalesce(' -- ' || col_description(c.oid, a.attnum), '') AS x"
            "   FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            "  WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0"
            " UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' '"
            "        || pg_get_constraintdef(oid) FROM pg_constraint"
            "  WHERE connamespace = 'public'::regnamespace"
            " UNION ALL SELECT relname || ' -- ' || obj_description(oid) FROM pg_class"
            "  WHERE relnamespace = 'public'::regnamespace"
            "    AND obj_description(oid) IS NOT NULL) s");
}

START_TEST(test_plain_postgres_untouched)
{
    store_db *db = open_db();
    int applied = 0;
    ck_assert_msg(store_migrate(db, "migrations", &applied) == 0, "%s",
                  store_db_error(db));
    ck_assert_int_ge(applied, 9);
    char *before = schema_text(db);
    int n = -1;
    ck_assert_msg(store_citus_distribute(db, &n) == 0, "%s", store_db_error(db));
    ck_assert_int_eq(n, 0);
    char *after = schema_text(db);
    ck_assert_str_eq(before, after);
    /* the foreign keys 009 made are there, and a comment of each table */
    ck_assert_ptr_nonnull(strstr(after,
                                 "transactions_tenant_id_fkey FOREIGN KEY (tenant_id) "
                                 "REFERENCES tenants(id) ON DELETE CASCADE"));
    ck_assert_ptr_nonnull(strstr(after, "customer_days -- "));
    free(before);
    free(after);
    store_db_close(db);
}
END_TEST

/* A migration of several statements, with semicolons inside a function body
 * and a string, applies whole, in one transaction; a failing statement is
 * named by file and line and nothing of its migration stays. */
START_TEST(test_migration_statements)
{
    char dir[] = "/tmp/ltvd_citus_migXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/001_probe.sql", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("-- a probe; with a semicolon in a comment\n"
          "CREATE TABLE probe (a integer NOT NULL, b text);\n"
          "CREATE INDEX probe_a_idx ON probe (a);\n"
          "ALTER TABLE probe ALTER COLUMN b SET NOT NULL;\n"
          "COMMENT ON TABLE probe IS 'one; two';\n"
          "CREATE FUNCTION probe_f() RETURNS integer LANGUAGE plpgsql AS $$\n"
          "BEGIN\n  RETURN 1; -- ;\nEND $$;\n"
          "INSERT INTO probe VALUES (probe_f(), 'x;y')\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/002_bad.sql", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("INSERT INTO probe VALUES (2, 'kept?');\n\nSELECT no_such_column FROM probe;\n",
          f);
    fclose(f);

    store_db *db = open_db();
    int applied = 0;
    ck_assert_int_eq(store_migrate(db, dir, &applied), -1);
    ck_assert_int_eq(applied, 1);
    ck_assert_msg(strstr(store_db_error(db), "002_bad.sql:3") != NULL, "%s",
                  store_db_error(db));
    char *v =
        query_text(db, "SELECT string_agg(a || '=' || b, ',' ORDER BY a) FROM probe");
    ck_assert_str_eq(v, "1=x;y");
    free(v);
    v = query_text(db, "SELECT obj_description('probe'::regclass)");
    ck_assert_str_eq(v, "one; two");
    free(v);
    store_db_close(db);
    unlink(path);
    snprintf(path, sizeof path, "%s/001_probe.sql", dir);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* scripts/citus_check.sh against plain PostgreSQL: migrate twice, every
 * statement block ok. */
START_TEST(test_check_script_plain)
{
    ck_assert_int_eq(setenv("LTVD_BIN_CHECK", testserve_bin(), 1), 0);
    ck_assert_int_eq(setenv("CITUS_URL", test_url, 1), 0);
    FILE *p = popen("LTVD_BIN=\"$LTVD_BIN_CHECK\" scripts/citus_check.sh 2>&1", "r");
    ck_assert_ptr_nonnull(p);
    static char out[1 << 16];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    unsetenv("CITUS_URL");
    unsetenv("LTVD_BIN_CHECK");
    ck_assert_msg(st == 0 && strstr(out, " passed, 0 failed") != NULL,
                  "citus_check.sh on plain PostgreSQL (status %d):\n%s", st, out);
    ck_assert_ptr_nonnull(strstr(out, "no citus extension in this database"));
    ck_assert_ptr_null(strstr(out, "FAIL"));
}
END_TEST

Suite *suite_citus(void)
{
    const char *url = getenv("DATABASE_URL");
    snprintf(base_url, sizeof base_url, "%s", url != NULL ? url : "");
    Suite *s = suite_create("citus");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, test_split_cases);
    tcase_add_test(tc, test_split_migrations_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("postgres");
    tcase_add_checked_fixture(tc, setup_db, teardown_db);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_plain_postgres_untouched);
    tcase_add_test(tc, test_migration_statements);
    tcase_add_test(tc, test_check_script_plain);
    suite_add_tcase(s, tc);
    return s;
}
