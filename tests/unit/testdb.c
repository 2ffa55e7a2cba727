/* Shared fixture code of the database suites (see testdb.h). */
#include "testdb.h"

#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"

void testdb_url_with_db(const char *base, const char *dbname, char *out, size_t size)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &errmsg);
    ck_assert_msg(opts != NULL, "DATABASE_URL: %s", errmsg ? errmsg : "?");
    size_t len = 0;
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (v == NULL)
            continue;
        len += (size_t)snprintf(out + len, size - len, "%s='", o->keyword);
        for (; *v && len + 4 < size; v++) {
            if (*v == '\'' || *v == '\\')
                out[len++] = '\\';
            out[len++] = *v;
        }
        len += (size_t)snprintf(out + len, size - len, "' ");
    }
    ck_assert_uint_lt(len, size - 1);
    PQconninfoFree(opts);
}

void testdb_admin_exec(const char *base, const char *sql)
{
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(base, err);
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_msg(store_db_exec(db, sql, PGRES_COMMAND_OK) == 0, "%s",
                  store_db_error(db));
    store_db_close(db);
}

void testdb_create(const char *base, const char *name)
{
    char sql[160];
    testdb_drop(base, name);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    testdb_admin_exec(base, sql);
}

void testdb_drop(const char *base, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    testdb_admin_exec(base, sql);
}
