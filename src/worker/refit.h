/* Between the worker's fit (worker.c) and its loop (worker_loop.c): one
 * refit that may be left to another process of the fleet. */
#ifndef LTVD_WORKER_REFIT_H
#define LTVD_WORKER_REFIT_H

#include <stdint.h>

#include "worker/worker.h"

/* worker_refit_once, and when seen is not NULL, a skip (false, *fail
 * WORKER_FAIL_NONE) when another process saved a snapshot under the same
 * settings newer than decided (the version served when the loop decided to
 * refit) and other than *seen (updated): the loop then waits for
 * app/follow.c to serve it instead of fitting the same data again. */
bool worker_refit_run(const worker_env *env, char reason[WORKER_REASON_MAX],
                      worker_fail *fail, worker_status *st, int64_t decided,
                      int64_t *seen);

#endif
