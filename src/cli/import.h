/* `ltvd import`'s parts (cli_import.c drives them): the progress line on a
 * terminal and the loading pass that writes the validated file in batches. */
#ifndef LTVD_CLI_IMPORT_H
#define LTVD_CLI_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ingest/csv_rows.h"
#include "store/db.h"

/* ---- import_progress.c ---------------------------------------------------- */

/* A status line on stderr, redrawn in place at most ten times a second, only
 * when stderr is a terminal (otherwise every call does nothing). */
typedef struct import_progress {
    bool tty;
    bool shown;       /* a line is on the screen */
    double last_draw; /* import_now() of the last redraw */
} import_progress;

/* Monotonic seconds. */
double import_now(void);

void import_progress_init(import_progress *p);

/* While validating: rows read so far. */
void import_progress_validating(import_progress *p, size_t rows, bool force);

/* While loading: done of total rows, since `started`, new and duplicates. */
void import_progress_loading(import_progress *p, size_t done, size_t total,
                             double started, size_t n_new, size_t n_duplicate,
                             bool force);

/* Erases the line (before an error message or the summary). */
void import_progress_clear(import_progress *p);

/* ---- import_load.c -------------------------------------------------------- */

typedef struct import_totals {
    size_t rows;        /* rows written (sent in committed batches) */
    size_t n_new;       /* stored by this run */
    size_t n_duplicate; /* already stored (an earlier run, or earlier in the file) */
} import_totals;

/* Reads the (already validated) rows of fp from its current position, named
 * `name`, and writes them into tenant's store (an existing tenant's id) in
 * batches of batch_rows with store_insert_batch, each committed on its own;
 * rows without an id get ingest_derive_id's.
 * total_rows (from the validation) is for the progress line. Returns 0, or -1
 * with a message in err (the batches before it stay committed: running the
 * import again completes it); *t counts what was committed. */
int import_load(store_db *db, const char *tenant, FILE *fp, const char *name, int64_t now,
                size_t batch_rows, size_t total_rows, import_progress *p,
                import_totals *t, char err[INGEST_CSV_ERR_MAX]);

/* ---- import_subs.c ------------------------------------------------------- */

/* `ltvd import --subscriptions path` into tenant (an existing tenant's id)
 * on db (NULL: a dry run, the file validated alone). Prints every bad row
 * (FILE:LINE: field: reason) or the summary. Returns the exit status. */
int import_subscriptions(store_db *db, const char *tenant, const char *path);

#endif
