/* Simulated customer bases: draws whole populations from a purchase model's
 * generative process, for parameter-recovery tests and benchmarks. */
#ifndef LTVD_MODEL_SIMULATE_H
#define LTVD_MODEL_SIMULATE_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "model/btyd.h"

/* Fills out[0..n) with simulated customers (weight 1): T uniform on
 * [T_lo, T_hi], and when grid > 0 both T and t_x rounded down to multiples of
 * grid (e.g. 1/7 for whole days measured in weeks), as real data recorded
 * by day are. Discrete models get integer T. Returns GSL_SUCCESS or the
 * model's error. */
int simulate_customers(const btyd_model *m, const double *params, size_t n, double T_lo,
                       double T_hi, double grid, const gsl_rng *rng, btyd_pattern *out);

#endif
