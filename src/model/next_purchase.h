/* When a customer's next purchase becomes more likely than not: the first
 * whole step (e.g. day) by which P(at least one purchase in (T, T + t]),
 * 1 - p_n(0) of the model (btyd.h), reaches a target probability. */
#ifndef LTVD_MODEL_NEXT_PURCHASE_H
#define LTVD_MODEL_NEXT_PURCHASE_H

#include "model/btyd.h"

/* The smallest k in [1, max_steps] with btyd_p_any(m, params, x, t_x, T,
 * k * step) >= target, in *steps; *steps = 0 when there is none (the
 * customer is too likely gone: P(any) never exceeds P(alive), and it grows
 * with k). step > 0 is in the model's periods (1/7 for a day in weeks);
 * 0 < target < 1. The bisection runs on a cheap form of P(any) where the
 * model has one: BG/NBD and MBG/NBD, P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)),
 * the answer then checked with the model's own p_n at k and k - 1 (bisecting
 * on p_n itself when they disagree); Pareto/NBD, P(alive) times 1 - its
 * P(no purchase) of an alive customer summed by fixed Gauss-Legendre panels
 * (next_purchase_pareto.c; equal to p_n's to about 1e-13, and trusted: p_n
 * costs a quadrature of some 30 us per call). Other models bisect on p_n.
 * About log2(max_steps) cheap evaluations: ~0.6 us for BG/NBD, ~10 us for
 * Pareto/NBD. Returns GSL_SUCCESS, or the model's code (GSL_EDOM for a bad
 * step, target or history); *steps is written only on success. */
int btyd_next_purchase_steps(const btyd_model *m, const double *params, double x,
                             double t_x, double T, double step, unsigned max_steps,
                             double target, unsigned *steps);

#endif
