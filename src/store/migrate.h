/* Schema migrations: numbered, forward-only SQL files NNN_name.sql in a
 * directory, each applied once, in its own transaction together with its row
 * in schema_migrations. */
#ifndef LTVD_STORE_MIGRATE_H
#define LTVD_STORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"

/* Called with each migration applied (version, file name), e.g. to print it. */
typedef void (*store_migrate_cb)(int version, const char *file, void *arg);

/* Applies the pending migrations of dir in version order. Each runs in one
 * transaction that first takes a transaction-level advisory lock, so a second
 * migrator running at the same time waits and then finds it applied. Files
 * must not contain BEGIN/COMMIT. Two files with one number, or a name that
 * does not look like NNN_*.sql, are errors (nothing is applied then). On
 * success returns 0 with the number applied in *applied (0 when up to date);
 * on error -1 with db->err set, *applied counting those committed before.
 * On a database with the citus extension the tables are then distributed
 * (store_citus_distribute, store/citus.h). */
int store_migrate(store_db *db, const char *dir, int *applied);

/* store_migrate, calling cb (if not NULL) after each migration committed. */
int store_migrate_report(store_db *db, const char *dir, int *applied, store_migrate_cb cb,
                         void *arg);

/* Number of migrations in dir not yet recorded in schema_migrations (for a
 * readiness probe). Returns 0 with *pending set, or -1 (db->err set). */
int store_migrations_pending(store_db *db, const char *dir, int *pending);

/* The schema of a database against the migrations of a directory. */
typedef struct store_schema_state {
    int known;               /* migrations in the directory */
    int pending;             /* of them, not recorded in schema_migrations */
    bool no_table;           /* schema_migrations does not exist (never migrated) */
    char first_pending[256]; /* the file of the first pending one ("" when none) */
} store_schema_state;

/* Reads the state without writing anything (on a standby too). Returns 0
 * with *out set, or -1 (db->err set). */
int store_migrations_check(store_db *db, const char *dir, store_schema_state *out);

#endif
