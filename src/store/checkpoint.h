/* Checkpoints of the per-customer summaries (migrations/010): every
 * summary of one tenant as one REPEATABLE READ snapshot of customer_days
 * saw it, packed into chunks, with the snapshot's xmin (the horizon). A
 * process starting from one re-reads only the customers with rows stored
 * at or after the horizon (store_customers_changed), which gives exactly
 * what a full rebuild gives, without aggregating every customer's days.
 *
 * Erasures: store_checkpoint_invalidate, run in the erasing transaction,
 * counts the erasure and deletes the tenant's checkpoints; a checkpoint
 * being written locks that count before it commits, so an erasure is
 * either in its snapshot or deletes it (or makes it fail). A tenant's
 * deletion cascades to its checkpoints. */
#ifndef LTVD_STORE_CHECKPOINT_H
#define LTVD_STORE_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/customers.h"
#include "store/db.h"
#include "store/stop.h"

/* Customers per chunk (one INSERT, one row of the chunks table). */
#define STORE_CHECKPOINT_CHUNK 8192

/* A stored checkpoint of a tenant. */
typedef struct store_checkpoint {
    char tenant_id[STORE_TENANT_MAX + 1];
    int64_t id;
    char horizon[STORE_TIME_MAX]; /* decimal xid (store_customers_horizon's form) */
    int64_t as_of_day;            /* STORE_AS_OF_NOW: every stored day */
    int64_t n_customers;
    int64_t n_chunks;
    double age_s; /* seconds since it was written (database clock) */
} store_checkpoint;

/* Writes a checkpoint of tenant's customers' summaries as of as_of_day
 * (STORE_AS_OF_NOW: every stored day) in one transaction on db, and
 * deletes the tenant's older ones. Skipped (returns 1, nothing written)
 * when another session is writing one for the tenant (an advisory lock),
 * when the tenant's newest checkpoint is younger than min_age_s, or when
 * an erasure of the tenant committed while it was written. The aggregate
 * runs without a statement bound: call it on a connection of its own.
 * Gives up (1) when stop (NULL: none) says so.
 * Returns 0 with *out describing the new checkpoint, 1, or -1 (db->err). */
int store_checkpoint_write(store_db *db, const char *tenant, int64_t as_of_day,
                           double min_age_s, store_stop *stop, store_checkpoint *out);

/* Called once per tenant with its newest checkpoint. */
typedef int (*store_checkpoint_cb)(const store_checkpoint *c, void *arg);

/* Calls cb with each tenant's newest checkpoint (tenants without one are
 * left out). Returns 0, 1 when cb stopped, -1 (db->err). */
int store_checkpoint_newest(store_db *db, store_checkpoint_cb cb, void *arg);

/* Longest reason a checkpoint could not be loaded. */
#define STORE_CHECKPOINT_WHY_MAX 200

/* Reads checkpoint c (from store_checkpoint_newest) and hands every
 * customer to cb (c->tenant_id as the customer's tenant_id; strings valid
 * during the call), in one read-only snapshot. Returns 0 when every
 * customer was delivered; 1 when the checkpoint is unusable (gone, an
 * unknown format, a chunk missing or not matching its checksum or count:
 * why says which; cb may have seen some of its customers); 2 when cb
 * stopped; -1 (db->err) when PostgreSQL failed. */
int store_checkpoint_load(store_db *db, const store_checkpoint *c, store_customer_cb cb,
                          void *arg, char why[STORE_CHECKPOINT_WHY_MAX]);

/* Counts an erasure of tenant and deletes its checkpoints: run inside the
 * erasing transaction (store_customer_erase), after nothing else of it
 * that a checkpoint writer could wait on. Returns 0, or -1 (db->err;
 * store_db_retryable tells whether the transaction can be run again). */
int store_checkpoint_invalidate(store_db *db, const char *tenant);

/* The encoding of one chunk, exposed for the tests: appends customer c to
 * buf (grown as needed; *len and *cap track it). Returns 0, -1 when out of
 * memory. */
int store_checkpoint_encode(char **buf, size_t *len, size_t *cap,
                            const store_customer *c);

/* FNV-1a (64 bits) of data[0..len): a chunk's checksum. */
uint64_t store_checkpoint_checksum(const unsigned char *data, size_t len);

#endif
