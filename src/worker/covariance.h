/* The covariance of a snapshot's fitted parameters as the snapshot's
 * covariance column keeps it (migration 015): written by the worker when
 * it persists a fit, read back wherever a snapshot is loaded (app.c). The
 * per-customer intervals (model/intervals.h) are computed from it.
 *
 *   {"purchase": {"model": "bgnbd", "params": ["r", "alpha", "a", "b"],
 *                 "matrix": [[...], ...]} | null,
 *    "spend": {"model": "gg", "params": ["p", "q", "v"], "matrix": ...} | null}
 */
#ifndef LTVD_WORKER_COVARIANCE_H
#define LTVD_WORKER_COVARIANCE_H

#include "cache/cache.h"

/* The JSON text of m's covariances (malloc'd, the caller frees it), or NULL
 * when neither fit has one (m->fit.covariance_ok, and m->gg_fit's with
 * m->has_spend) or out of memory: the snapshot is then saved without. */
char *worker_covariance_json(const cache_model *m);

/* Sets m->fit.covariance and m->gg_fit.covariance (and their _ok) from
 * text (NULL: none), a block only when its model and parameter names are
 * m's and its matrix is n x n of finite numbers; the others are left not
 * ok. m->model and m->has_spend must be set. */
void worker_covariance_read(const char *text, cache_model *m);

#endif
