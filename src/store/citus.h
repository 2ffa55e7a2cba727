/* Citus (distributed PostgreSQL): after the migrations, `ltvd migrate`
 * distributes the tables when the database has the citus extension, in
 * Citus's multi-tenant pattern (docs/scaling.md): tenants and api_keys are
 * reference tables (a copy on every node), transactions is distributed by
 * tenant_id, and customer_days and model_snapshots are distributed by
 * tenant_id co-located with it, so one tenant's rows of the three tables
 * sit on one node and no statement about one tenant spans shards. On plain
 * PostgreSQL nothing happens. */
#ifndef LTVD_STORE_CITUS_H
#define LTVD_STORE_CITUS_H

#include "store/db.h"

/* Run first in every migration's transaction: Citus then does the
 * migration's DDL and writes on distributed tables over one connection per
 * node, which it requires of a transaction that changes a view (or adds a
 * foreign key to a reference table) after a statement that used several
 * shards at once ("cannot run view command because there was a parallel
 * operation on a distributed table in the transaction"). On plain
 * PostgreSQL it sets a placeholder variable that nothing reads. */
#define STORE_CITUS_MIGRATION_SQL                                                        \
    "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"

/* On a database with the citus extension, makes each ltvd table a Citus
 * table of the kind above, skipping those that already are one (a Citus
 * local table is not), all in one transaction under the migrators'
 * advisory lock: running it again, or from two migrators at once, is
 * harmless, and a failure leaves every table as it was. Foreign keys and
 * comments are kept (citus.c says how). A database without the extension,
 * or whose schema has no tenants table yet (migrations before 009), is left
 * as it is. Distributing a table that holds rows copies them to its shards
 * (long for a big table: it happens once, in `ltvd migrate`). Returns 0
 * with the number of tables it distributed in *n (when n is not NULL), or
 * -1 with db->err set. */
int store_citus_distribute(store_db *db, int *n);

#endif
