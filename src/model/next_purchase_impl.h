/* Internal to src/model: the Pareto/NBD part of next_purchase.c
 * (next_purchase_pareto.c). */
#ifndef LTVD_MODEL_NEXT_PURCHASE_IMPL_H
#define LTVD_MODEL_NEXT_PURCHASE_IMPL_H

#include <stddef.h>

/* Panels enough for t_max / c up to 2^62. */
#define NP_PANELS 64

/* The posterior of an alive customer and I(t) at the panels' ends. */
typedef struct np_pareto {
    double r, a, s, b; /* r+x, alpha+T, s, beta+T */
    double edge[NP_PANELS], cum[NP_PANELS];
    size_t n_edges;
} np_pareto;

/* Sets p for params (r, alpha, s, beta) and history (x, T), t up to t_max
 * (in the model's periods, > 0). */
void np_pareto_init(np_pareto *p, const double *params, double x, double T, double t_max);

/* P(no purchase in (T, T+t] | alive at T), 0 < t <= t_max. */
double np_pareto_silent(const np_pareto *p, double t);

#endif
