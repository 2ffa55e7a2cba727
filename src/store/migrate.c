/* Applies migrations/NNN_*.sql once each, in order, under an advisory lock. */
#include "store/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/citus.h"
#include "store/script.h"

/* pg_advisory_xact_lock key of the migrators ("ltvdmigr" as an int64). */
#define MIGRATE_LOCK "7814536254063945586"

#define MAX_MIGRATIONS 1000

typedef struct migration {
    int version;
    char file[256];
} migration;

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " file text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

static const char comment_sql[] =
    "COMMENT ON TABLE schema_migrations IS 'Migrations (migrations/NNN_*.sql) applied,"
    " each recorded in the transaction that applied it.'";

/* ---- the directory ----------------------------------------------------- */

static int by_version(const void *a, const void *b)
{
    const migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* True for NNN_something.sql (three digits or more); *version set. */
static int parse_name(const char *name, int *version)
{
    size_t len = strlen(name), digits = 0;
    while (isdigit((unsigned char)name[digits]))
        digits++;
    if (digits < 3 || digits > 6 || name[digits] != '_' || len < digits + 6 ||
        strcmp(name + len - 4, ".sql") != 0)
        return 0;
    *version = atoi(name);
    return 1;
}

/* Lists dir's migrations sorted by version into a malloc'ed array. */
static int list_migrations(store_db *db, const char *dir, migration **out, int *n_out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(db->err, sizeof db->err, "migrations: cannot open directory %s", dir);
        return -1;
    }
    migration *m = malloc(MAX_MIGRATIONS * sizeof *m);
    int n = 0, rc = -1;
    if (m == NULL) {
        snprintf(db->err, sizeof db->err, "migrations: out of memory");
        goto cleanup;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int v;
        if (!parse_name(e->d_name, &v) || strlen(e->d_name) >= sizeof m->file) {
            snprintf(db->err, sizeof db->err,
                     "migrations: %s/%s is not named NNN_name.sql", dir, e->d_name);
            goto cleanup;
        }
        if (n == MAX_MIGRATIONS) {
            snprintf(db->err, sizeof db->err, "migrations: too many files in %s", dir);
            goto cleanup;
        }
        m[n].version = v;
        snprintf(m[n].file, sizeof m[n].file, "%s", e->d_name);
        n++;
    }
    qsort(m, (size_t)n, sizeof *m, by_version);
    for (int i = 1; i < n; i++)
        if (m[i].version == m[i - 1].version) {
            snprintf(db->err, sizeof db->err,
                     "migrations: %.200s and %.200s share a number", m[i - 1].file,
                     m[i].file);
            goto cleanup;
        }
    rc = 0;
cleanup:
    closedir(d);
    if (rc != 0) {
        free(m);
        m = NULL;
        n = 0;
    }
    *out = m;
    *n_out = n;
    return rc;
}

/* The whole file as a NUL-terminated string (caller frees), or NULL. */
static char *read_file(store_db *db, const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    if (f == NULL)
        goto failed;
    if (fseek(f, 0, SEEK_END) != 0)
        goto failed;
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)len + 1)) == NULL)
        goto failed;
    if (fread(text, 1, (size_t)len, f) != (size_t)len)
        goto failed;
    text[len] = '\0';
    fclose(f);
    return text;
failed:
    snprintf(db->err, sizeof db->err, "migrations: cannot read %.400s", path);
    free(text);
    if (f != NULL)
        fclose(f);
    return NULL;
}

/* ---- applying ------------------------------------------------------------ */

typedef struct apply_ctx {
    const char *dir;
    const migration *m;
    int applied; /* out: 1 when this transaction applied m */
} apply_ctx;

/* One migration's transaction: lock, table, check, apply, record. */
static store_tx_status apply_one(store_db *db, void *arg)
{
    apply_ctx *ctx = arg;
    ctx->applied = 0;
    if (store_db_exec(db, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
                      PGRES_TUPLES_OK) != 0 ||
        store_db_exec(db, STORE_CITUS_MIGRATION_SQL, PGRES_COMMAND_OK) != 0 ||
        store_db_exec(db, create_table_sql, PGRES_COMMAND_OK) != 0 ||
        store_db_exec(db, comment_sql, PGRES_COMMAND_OK) != 0)
        return STORE_TX_ERROR;

    char version[16];
    snprintf(version, sizeof version, "%d", ctx->m->version);
    const char *params[] = {version, ctx->m->file};
    PGresult *res = store_db_query(
        db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "schema_migrations");
        PQclear(res);
        return STORE_TX_ERROR;
    }
    int done = PQntuples(res) > 0;
    PQclear(res);
    if (done)
        return STORE_TX_OK;

    char *sql = read_file(db, ctx->dir, ctx->m->file);
    if (sql == NULL)
        return STORE_TX_ERROR;
    int rc =
        store_script_run(db, sql, ctx->m->file); /* statement by statement: script.h */
    free(sql);
    if (rc != 0)
        return STORE_TX_ERROR;
    res = store_db_query(
        db, "INSERT INTO schema_migrations (version, file) VALUES ($1, $2)", 2, params);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_db_fail(db, res, "schema_migrations");
        PQclear(res);
        return STORE_TX_ERROR;
    }
    PQclear(res);
    ctx->applied = 1;
    return STORE_TX_OK;
}

int store_migrate(store_db *db, const char *dir, int *applied)
{
    return store_migrate_report(db, dir, applied, NULL, NULL);
}

int store_migrate_report(store_db *db, const char *dir, int *applied, store_migrate_cb cb,
                         void *arg)
{
    migration *m;
    int n;
    *applied = 0;
    if (list_migrations(db, dir, &m, &n) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        apply_ctx ctx = {dir, &m[i], 0};
        if (store_db_transaction(db, false, apply_one, &ctx) != 0) {
            rc = -1;
            break;
        }
        if (ctx.applied) {
            (*applied)++;
            if (cb != NULL)
                cb(m[i].version, m[i].file, arg);
        }
    }
    free(m);
    if (rc == 0) /* on Citus, the tables become distributed (citus.h) */
        rc = store_citus_distribute(db, NULL);
    return rc;
}

int store_migrations_pending(store_db *db, const char *dir, int *pending)
{
    store_schema_state st;
    int rc = store_migrations_check(db, dir, &st);
    *pending = st.pending;
    return rc;
}

int store_migrations_check(store_db *db, const char *dir, store_schema_state *out)
{
    migration *m;
    int n;
    *out = (store_schema_state){0};
    if (list_migrations(db, dir, &m, &n) != 0)
        return -1;
    out->known = n;
    int rc = -1;
    PGresult *res = store_db_query(db, "SELECT version FROM schema_migrations", 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        /* No table yet: everything is pending. */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "42P01") == 0) {
            out->pending = n;
            out->no_table = true;
            if (n > 0)
                snprintf(out->first_pending, sizeof out->first_pending, "%s", m[0].file);
            rc = 0;
        } else {
            store_db_fail(db, res, "schema_migrations");
        }
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int r = 0; r < PQntuples(res) && !found; r++)
            found = atoi(PQgetvalue(res, r, 0)) == m[i].version;
        if (!found && out->pending++ == 0)
            snprintf(out->first_pending, sizeof out->first_pending, "%s", m[i].file);
    }
    rc = 0;
cleanup:
    PQclear(res);
    free(m);
    return rc;
}
