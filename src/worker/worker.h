/* The refit worker: one thread that refits the purchase model (BG/NBD or
 * Pareto/NBD by configuration) and the Gamma-Gamma spend model from the
 * summaries in the cache, on a schedule (refit_interval_s), after
 * refit_after_txns new transactions, and on request. A successful fit is
 * persisted (store_snapshot_save) and swapped into the cache; a failed one
 * leaves the previous snapshot serving and is recorded for GET /v1/model.
 * Fits never run on a request thread: requests only signal the worker. */
#ifndef LTVD_WORKER_WORKER_H
#define LTVD_WORKER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;

/* Fewest customers with repeat purchases a fit is attempted on. */
#define WORKER_MIN_REPEATERS 10
/* Longest failure reason kept. */
#define WORKER_REASON_MAX 200

typedef enum worker_outcome {
    WORKER_NONE = 0, /* no refit attempted yet */
    WORKER_SUCCEEDED,
    WORKER_FAILED,
} worker_outcome;

/* The last refit attempt and the counts so far (a copy). */
typedef struct worker_status {
    worker_outcome outcome;
    double attempted_at;            /* UTC seconds since 1970 the attempt ended */
    double seconds;                 /* its wall time */
    char reason[WORKER_REASON_MAX]; /* why it failed ("" on success) */
    double seconds_total;           /* wall time of every attempt so far */
    uint64_t n_succeeded;
    uint64_t n_failed;
    bool running; /* a refit is in progress */
} worker_status;

typedef struct worker worker;

/* Starts the thread for app a (borrowed; must outlive the worker). The
 * first refit runs at once when the cache has customers but no model, else
 * after refit_interval_s. Returns NULL when the thread cannot be created. */
worker *worker_start(struct app *a);

/* Wakes the thread, waits for a refit in progress to end, joins and frees.
 * NULL is fine. */
void worker_stop(worker *w);

/* Asks for a refit as soon as possible (returns at once). */
void worker_request(worker *w);

/* Counts n newly stored transactions; reaching refit_after_txns since the
 * last refit wakes the worker. Cheap: safe on request threads. */
void worker_note_ingested(worker *w, size_t n);

/* Copies the status out. */
void worker_status_get(worker *w, worker_status *out);

/* One refit, synchronously, on the calling thread (the worker's loop, and
 * tests). Returns true when a new snapshot was published; on false the
 * reason is in reason (WORKER_REASON_MAX bytes). */
bool worker_refit_once(struct app *a, char reason[WORKER_REASON_MAX]);

#endif
