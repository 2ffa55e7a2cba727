/* A small parallel sum for the hot loops of fitting and scoring: splits
 * [0, n) into one contiguous chunk per online CPU (each at least min_chunk
 * long), runs them on POSIX threads and adds up their results. */
#ifndef LTVD_MODEL_PARALLEL_H
#define LTVD_MODEL_PARALLEL_H

#include <stddef.h>

#define PARALLEL_MAX_THREADS 16
#define PARALLEL_MAX_ACC 40 /* covariate fits: 1 + 4 + 2 * COV_MAX_COVARIATES */

/* Works on [lo, hi): writes n_acc partial sums to acc (zeroed by the caller).
 * Returns GSL_SUCCESS or an error code. */
typedef int (*parallel_chunk_fn)(void *ctx, size_t lo, size_t hi, double *acc);

/* Runs fn over [0, n) and adds the chunks' acc[0..n_acc) into acc. Returns
 * GSL_SUCCESS or the first chunk error (acc is then unspecified). Falls back
 * to one chunk on the calling thread when threads cannot be started. */
int parallel_sum(size_t n, size_t min_chunk, parallel_chunk_fn fn, void *ctx, double *acc,
                 size_t n_acc);

#endif
