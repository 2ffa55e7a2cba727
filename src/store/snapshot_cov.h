/* The covariance column of a model snapshot (migration 015), saved and
 * loaded by statements of its own inside snapshot.c's transaction and load,
 * so the snapshot's main statements stay as they are. The text is JSON,
 * passed through: this layer knows no parameter names (worker/covariance.h
 * writes and reads it). */
#ifndef LTVD_STORE_SNAPSHOT_COV_H
#define LTVD_STORE_SNAPSHOT_COV_H

#include "store/db.h"
#include "store/snapshot.h"

/* In the saving transaction, after s's row was inserted (s->id set): sets
 * its covariance to s->covariance_json (nothing to do when NULL). Returns
 * STORE_TX_OK, or STORE_TX_ERROR with db->err set. */
store_tx_status store_snapshot_cov_save(store_db *db, const char *tenant,
                                        const store_snapshot *s);

/* Reads the covariance of the row tenant/out->id into out->covariance_json
 * (malloc'd, owned by out; NULL when the column is NULL). Returns 0, or -1
 * with db->err set. */
int store_snapshot_cov_load(store_db *db, const char *tenant, store_snapshot *out);

#endif
