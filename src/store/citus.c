/* Distributes ltvd's tables on Citus after the migrations (see citus.h).
 *
 * Why this shape: a distributed table's foreign key may only point to a
 * reference table or a co-located distributed table, and a local table's
 * key to a reference table makes Citus turn that local table into a "Citus
 * local table" when tenants becomes a reference table; distributing it from
 * there copies it into a new table and drops the old one, losing every
 * COMMENT of the table, its columns and its indexes, and dropping and
 * re-creating the customers view (seen on Citus 13.2). So the foreign keys
 * of the tables still to distribute are taken off first and put back once
 * every table is distributed, all in one transaction: the tables stay the
 * same relations, comments included, and a failure leaves nothing half
 * done. Citus runs the steps one shard connection at a time in it
 * (multi_shard_modify_mode sequential), which a transaction that creates
 * shards and then a foreign key to a reference table needs. */
#include "store/citus.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"

/* The migrators' pg_advisory_xact_lock key (migrate.c's MIGRATE_LOCK):
 * a distribution waits for a running migration and the other way round. */
#define CITUS_LOCK "7814536254063945586"

typedef enum citus_kind { CITUS_REFERENCE, CITUS_DISTRIBUTED } citus_kind;

typedef struct citus_table {
    const char *name;
    citus_kind kind;
    const char *colocate_with; /* a distributed table's group: "default" or a table */
} citus_table;

/* In the order they are made Citus tables: the reference tables first,
 * then the tables distributed by tenant_id, the first anchoring the group. */
static const citus_table tables[] = {
    {"tenants", CITUS_REFERENCE, NULL},
    {"api_keys", CITUS_REFERENCE, NULL},
    {"transactions", CITUS_DISTRIBUTED, "default"},
    {"customer_days", CITUS_DISTRIBUTED, "transactions"},
    {"model_snapshots", CITUS_DISTRIBUTED, "transactions"},
    {"erasures", CITUS_DISTRIBUTED, "transactions"},
    {"cache_checkpoints", CITUS_DISTRIBUTED, "transactions"},
    {"cache_checkpoint_chunks", CITUS_DISTRIBUTED, "transactions"},
    {"cache_checkpoint_epochs", CITUS_DISTRIBUTED, "transactions"},
    {"customer_attributes", CITUS_DISTRIBUTED, "transactions"},
    {"acquisition_spend", CITUS_DISTRIBUTED, "transactions"},
    {"subscription_events", CITUS_DISTRIBUTED, "transactions"},
    {"subscription_versions", CITUS_DISTRIBUTED, "transactions"},
};
#define N_TABLES (sizeof tables / sizeof tables[0])
#define TABLE_LIST                                                                       \
    "'{tenants,api_keys,transactions,customer_days,model_snapshots,erasures,"            \
    "cache_checkpoints,cache_checkpoint_chunks,cache_checkpoint_epochs,"                 \
    "customer_attributes,acquisition_spend,subscription_events,subscription_versions}'"

static const char present_sql[] =
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus'),"
    " to_regclass('tenants') IS NOT NULL";

static const char begin_sql[] =
    "SELECT pg_advisory_xact_lock(" CITUS_LOCK ");"
    " SET LOCAL citus.multi_shard_modify_mode TO 'sequential'";

/* Done: a reference table (replicated to every node), or distributed by
 * hash. A Citus local table ('n', 's') is neither. */
static const char done_sql[] =
    "SELECT p.logicalrelid::text FROM pg_dist_partition p"
    " WHERE p.logicalrelid::text = ANY (" TABLE_LIST "::text[])"
    "   AND (p.partmethod = 'h' OR p.repmodel = 't')";

/* The foreign keys of the tables still to distribute, as statements that
 * take one off and put it back. */
static const char fkeys_sql[] =
    "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),"
    "       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass,"
    "              c.conname, pg_get_constraintdef(c.oid))"
    "  FROM pg_constraint c"
    " WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY (" TABLE_LIST "::text[])"
    "   AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = "
    "c.conrelid"
    "                      AND (p.partmethod = 'h' OR p.repmodel = 't'))"
    " ORDER BY c.conrelid::regclass::text, c.conname";

static const char reference_sql[] = "SELECT create_reference_table($1::regclass)";

static const char distributed_sql[] =
    "SELECT create_distributed_table($1::regclass, 'tenant_id', colocate_with => $2)";

/* A table that held rows keeps them in the coordinator's own relation,
 * unseen, after they were copied to the shards: gone with this. */
static const char truncate_sql[] =
    "SELECT truncate_local_data_after_distributing_table($1::regclass)";

/* Both answers of present_sql. Returns 0 or -1. */
static int look(store_db *db, bool *citus, bool *tenants)
{
    *citus = *tenants = false;
    PGresult *res = store_db_query(db, present_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "citus: extension");
        PQclear(res);
        return -1;
    }
    *citus = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    *tenants = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    return 0;
}

typedef struct dist_job {
    bool done[N_TABLES]; /* out: this transaction distributed table i */
} dist_job;

/* Runs column col of every row of res as a statement. Returns 0 or -1. */
static int run_column(store_db *db, const PGresult *res, int col)
{
    for (int r = 0; r < PQntuples(res); r++)
        if (store_db_exec(db, PQgetvalue(res, r, col), PGRES_COMMAND_OK) != 0)
            return -1;
    return 0;
}

/* Which tables are Citus tables already, into done[]. Returns 0 or -1. */
static int already(store_db *db, bool done[N_TABLES])
{
    PGresult *res = store_db_query(db, done_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_db_fail(db, res, "citus: pg_dist_partition");
        PQclear(res);
        return -1;
    }
    for (size_t i = 0; i < N_TABLES; i++) {
        done[i] = false;
        for (int r = 0; r < PQntuples(res); r++)
            done[i] = done[i] || strcmp(PQgetvalue(res, r, 0), tables[i].name) == 0;
    }
    PQclear(res);
    return 0;
}

/* Makes table t a Citus table of its kind. Returns 0 or -1. */
static int distribute_table(store_db *db, const citus_table *t)
{
    bool ref = t->kind == CITUS_REFERENCE;
    const char *vals[2] = {t->name, t->colocate_with};
    PGresult *res =
        store_db_query(db, ref ? reference_sql : distributed_sql, ref ? 1 : 2, vals);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char what[96];
        snprintf(what, sizeof what, "citus: %s('%s')",
                 ref ? "create_reference_table" : "create_distributed_table", t->name);
        rc = store_db_fail(db, res, what);
    }
    PQclear(res);
    return rc;
}

/* Empties the coordinator's copy of the tables distributed here (before
 * the foreign keys are back: it refuses a table one references). */
static int truncate_local(store_db *db, const bool done[N_TABLES])
{
    for (size_t i = 0; i < N_TABLES; i++) {
        if (!done[i])
            continue;
        const char *vals[1] = {tables[i].name};
        PGresult *res = store_db_query(db, truncate_sql, 1, vals);
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok)
            store_db_fail(db, res, "citus: truncate_local_data_after_distributing_table");
        PQclear(res);
        if (!ok)
            return -1;
    }
    return 0;
}

/* The transaction: lock, what is done, keys off, tables, their local
 * rows, keys back. */
static store_tx_status distribute_tx(store_db *db, void *arg)
{
    dist_job *j = arg;
    bool had[N_TABLES];
    PGresult *fk = NULL;
    memset(j->done, 0, sizeof j->done);
    if (store_db_exec(db, begin_sql, PGRES_COMMAND_OK) != 0 || already(db, had) != 0)
        goto failed;
    fk = store_db_query(db, fkeys_sql, 0, NULL);
    if (PQresultStatus(fk) != PGRES_TUPLES_OK) {
        store_db_fail(db, fk, "citus: foreign keys");
        goto failed;
    }
    if (run_column(db, fk, 0) != 0)
        goto failed;
    for (size_t i = 0; i < N_TABLES; i++) {
        if (had[i])
            continue;
        if (distribute_table(db, &tables[i]) != 0)
            goto failed;
        j->done[i] = true;
    }
    if (truncate_local(db, j->done) != 0 || run_column(db, fk, 1) != 0)
        goto failed;
    PQclear(fk);
    return STORE_TX_OK;
failed:
    PQclear(fk);
    return store_db_retryable(db) ? STORE_TX_RETRY : STORE_TX_ERROR;
}

int store_citus_distribute(store_db *db, int *n)
{
    if (n != NULL)
        *n = 0;
    bool citus, tenants;
    if (look(db, &citus, &tenants) != 0)
        return -1;
    if (!citus)
        return 0;
    if (!tenants) {
        log_write(LOG_WARN, "citus: the schema has no tenants table (migration 009): "
                            "nothing distributed");
        return 0;
    }
    dist_job j;
    if (store_db_transaction(db, false, distribute_tx, &j) != 0)
        return -1;
    for (size_t i = 0; i < N_TABLES; i++) {
        if (!j.done[i])
            continue;
        log_write(LOG_INFO, "citus: %s is now a %s table", tables[i].name,
                  tables[i].kind == CITUS_REFERENCE ? "reference"
                                                    : "distributed (by tenant_id)");
        if (n != NULL)
            (*n)++;
    }
    return 0;
}
