/* Shared parts of suite_faults (test_faults*.c): a database of its own with
 * the migrations applied and a model snapshot planted (so that scores answer
 * 200 without a refit), `ltvd serve` started on it with the suite's settings
 * (as of 1997-12-31 in weeks, no refit unless asked, shutdown_deadline_s 3),
 * deterministic batches whose every item can be recomputed from its id, and
 * the checks run after a fault: every acknowledged batch stored exactly once
 * and every batch whole or absent, the summary tables equal to a
 * recomputation from transactions, and a server's cache equal to them. */
#ifndef LTVD_TESTS_TESTFAULTS_H
#define LTVD_TESTS_TESTFAULTS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "store/db.h"
#include "testserve.h"

/* The day the service scores as of; every generated purchase is before it. */
#define FAULTS_AS_OF "1997-12-31"
#define FAULTS_AS_OF_EPOCH 883526400.0
/* The service's shutdown deadline (LTVD_SHUTDOWN_DEADLINE_S). */
#define FAULTS_DEADLINE_S 3

/* Creates the database <prefix>_<pid> on DATABASE_URL (dropped first when
 * left over), applies the migrations and saves a BG/NBD + Gamma-Gamma
 * snapshot; its conninfo into url[size]. */
void faults_db_create(const char *prefix, char *url, size_t size);

/* Drops the database of faults_db_create (NULL-safe on an empty prefix). */
void faults_db_drop(const char *prefix);

/* Applies the migrations on url and saves the planted snapshot. */
void faults_db_prepare(const char *url);

/* A connection to url (a check failure when it cannot connect). */
store_db *faults_db_open(const char *url);

/* The first column of the first row of sql as an integer (check failure on
 * an error). */
long long faults_sql_int(store_db *db, const char *sql);

/* ---- a cluster of the test's own -------------------------------------------------- */

/* Starts a PostgreSQL cluster of the test's own (scripts/pg_local.sh in a
 * new temporary directory, never the shared one of scripts/with_pg.sh: a
 * test may stop or freeze it) and sets url[size] to its DATABASE_URL. A
 * reaper process stops and removes it when faults_cluster_drop is called or
 * the test process ends (a failed check in fork mode exits at once). */
void faults_cluster_start(char *url, size_t size);

/* scripts/pg_local.sh cmd ("start", "stop") on that cluster; a check
 * failure when it fails. */
void faults_cluster_ctl(const char *cmd);

/* The PIDs of the cluster's postmaster (first) and of its children (the
 * backends and helper processes), at most cap; returns their number. */
size_t faults_cluster_pids(pid_t *pids, size_t cap);

/* Stops and removes the cluster (NULL-safe when none was started). */
void faults_cluster_drop(void);

/* Starts `ltvd serve` on url with the suite's settings plus extra (a "K=V"
 * or NULL) and waits until it listens. */
void faults_server_start(testserve *s, const char *url, const char *extra);

/* ---- batches ------------------------------------------------------------------ */

/* Item i of batch b: id "b<b>-<i>", customer "c<k>" (k spread over
 * n_customers), a day of 1997 before FAULTS_AS_OF, an amount in cents. */
typedef struct faults_item {
    char id[32];
    char customer_id[16];
    char occurred_at[32]; /* RFC 3339, UTC noon */
    long cents;
} faults_item;

void faults_item_make(long b, int i, int n_customers, faults_item *out);

/* The JSON body of batch b with items [0, n) (malloc'd; caller frees). */
char *faults_batch_json(long b, int n, int n_customers);

/* ---- the checks ------------------------------------------------------------------ */

/* Every row of transactions is an item of its batch (same customer, time and
 * amount), each batch is stored whole (n items) or not at all, and every
 * batch b with acked[b] is stored. n_batches is the length of acked; rows of
 * other batches fail. Returns the number of batches stored. */
long faults_check_batches(store_db *db, const bool *acked, long n_batches, int n,
                          int n_customers);

/* customer_days equals the transactions summed per customer and day, and
 * customers equals customer_days summed per customer. */
void faults_check_summaries(store_db *db);

/* GET /v1/customers/{id} of every stored customer on port: 200 with the
 * frequency, first and last purchase and monetary value of the customers
 * row. When bodies is not NULL, the bodies are kept there (n_customers
 * entries, "" for customers not stored; caller frees each). Returns the
 * number of customers checked. */
long faults_check_cache(store_db *db, int port, int n_customers, char **bodies);

/* ---- the test cases (one file each) ------------------------------------------- */

TCase *faults_tcase_kill(void);
TCase *faults_tcase_pg_stop(void);
TCase *faults_tcase_refit(void);
TCase *faults_tcase_refit_worker(void);

#endif
