/* Common types of the "buy till you die" purchase models: the per-customer
 * pattern, and the table of functions every model provides, so the fitter,
 * the CLI and the server can treat BG/NBD, Pareto/NBD, MBG/NBD and BG/BB alike.
 *
 * Conventions (the literature's and lifetimes'):
 *   x   = number of repeat purchases (distinct purchase periods minus one),
 *   t_x = time of the last purchase, measured from the first one,
 *   T   = time from the first purchase to the end of observation,
 * all in one time unit chosen by the caller (days or weeks), 0 <= t_x <= T,
 * t_x = 0 when x = 0. For BG/BB (discrete opportunities) x is the number of
 * opportunities with a purchase, t_x the last such opportunity (0 if none) and
 * T = n, the number of opportunities; horizons t count opportunities.
 *
 * Every function returns GSL_SUCCESS (0) and writes a finite value, or
 * returns a GSL error code and leaves *out untouched:
 *   GSL_EDOM   the input is outside the model's domain (negative counts,
 *              t_x > T, non-positive or non-finite parameters, ...);
 *   GSL_ERANGE / GSL_EMAXITER / GSL_ELOSS  the value could not be computed
 *              accurately (never silently returned as NaN or Inf).
 * The functions are pure: no I/O, no globals, no allocation. */
#ifndef LTVD_MODEL_BTYD_H
#define LTVD_MODEL_BTYD_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

/* Most parameters a purchase model has (all models here have 4). */
#define BTYD_MAX_PARAMS 4

/* One distinct (x, t_x, T) with the number of customers sharing it. */
typedef struct btyd_pattern {
    double x;
    double t_x;
    double T;
    double weight;
} btyd_pattern;

/* Log-likelihood of one customer with history (x, t_x, T). */
typedef int (*btyd_loglik_fn)(const double *params, double x, double t_x, double T,
                              double *out);
/* Optional fast path: sum over patterns of weight * log-likelihood. */
typedef int (*btyd_loglik_sum_fn)(const double *params, const btyd_pattern *pat, size_t n,
                                  double *out);
/* Optional: the weighted sum as loglik_sum, and its gradient with respect
 * to the (natural-scale) parameters in grad[0..n_params). */
typedef int (*btyd_loglik_grad_fn)(const double *params, const btyd_pattern *pat,
                                   size_t n, double *out, double *grad);
/* P(alive at T | x, t_x, T). */
typedef int (*btyd_p_alive_fn)(const double *params, double x, double t_x, double T,
                               double *out);
/* E[purchases in (T, T+t] | x, t_x, T]. */
typedef int (*btyd_expected_fn)(const double *params, double x, double t_x, double T,
                                double t, double *out);
/* Optional: expected at every horizon t[0..n) of one history, out[i] equal
 * to what expected gives for t[i] (the history's own work done once).
 * Returns GSL_SUCCESS, or the code expected gives for the first t[i] it
 * fails on (out[0..i) are then written, the rest undefined). */
typedef int (*btyd_expected_many_fn)(const double *params, double x, double t_x, double T,
                                     const double *t, size_t n, double *out);
/* P(exactly n purchases in (T, T+t] | x, t_x, T). */
typedef int (*btyd_p_n_fn)(const double *params, double x, double t_x, double T, double t,
                           unsigned n, double *out);
/* E[purchases in (0, t]] for a customer just acquired (repeat purchases). */
typedef int (*btyd_expected_new_fn)(const double *params, double t, double *out);
/* P(exactly n repeat purchases in (0, t]) for a customer just acquired. */
typedef int (*btyd_p_n_new_fn)(const double *params, double t, unsigned n, double *out);

/* Draws one customer's (x, t_x) over an observation of length T (for BG/BB,
 * T opportunities) from the model's generative process. */
typedef int (*btyd_simulate_fn)(const double *params, double T, const gsl_rng *rng,
                                double *x, double *t_x);

/* A purchase model. `init` is a reasonable starting point for the fit. */
typedef struct btyd_model {
    const char *name;  /* CLI name: "bgnbd", "pareto", ... */
    const char *title; /* "BG/NBD", ... */
    size_t n_params;
    const char *const *param_names; /* as lifetimes names them */
    const double *init;
    int discrete; /* 1 for BG/BB: t_x, T, t are counts */
    btyd_loglik_fn loglik;
    btyd_loglik_sum_fn loglik_sum;   /* NULL: the fitter sums loglik */
    btyd_loglik_grad_fn loglik_grad; /* NULL: numerical gradients */
    btyd_p_alive_fn p_alive;
    btyd_expected_fn expected;
    btyd_expected_many_fn expected_many; /* NULL: expected at each t */
    btyd_p_n_fn p_n;
    btyd_expected_new_fn expected_new;
    btyd_p_n_new_fn p_n_new;
    btyd_simulate_fn simulate;
} btyd_model;

/* Looks a model up by its CLI name; NULL if unknown. */
const btyd_model *btyd_model_find(const char *name);

/* The models, defined in their own files. */
extern const btyd_model bgnbd_model;
extern const btyd_model mbgnbd_model;
extern const btyd_model pareto_model;
extern const btyd_model bgbb_model;
/* BG/NBD's limit with one drop-out probability p for all (bggeo.c). */
extern const btyd_model bggeo_model;
extern const btyd_model bgpois_model;

/* Checks the common domain: params finite and > 0, 0 <= x, 0 <= t_x <= T;
 * t_x = 0 when x = 0 is not required here (the continuous-time models ignore
 * t_x when x = 0, as lifetimes does). Models are stricter where their
 * mathematics is: BG/NBD and MBG/NBD need a whole x; BG/BB needs whole
 * counts with x = 0 exactly when t_x = 0. Returns GSL_SUCCESS or GSL_EDOM. */
/* The purchases of one customer alive at time 0 until T: a Poisson process
 * of rate lambda, stopped after the purchase at which the customer drops
 * out (each with probability p; at most 10^7 events). *x is their number,
 * *t_x the last one's time (0 with none). The simulate of bggeo and
 * bgpois, whose rate or drop-out is common to every customer. */
void btyd_simulate_poisson_dropout(double lambda, double p, double T, const gsl_rng *rng,
                                   double *x, double *t_x);

int btyd_check_domain(const double *params, size_t n_params, double x, double t_x,
                      double T);

/* Stores v in *out when it is finite: GSL_SUCCESS; else GSL_ERANGE and *out
 * is left alone. The last step of every model's evaluation. */
int btyd_finite_out(double v, double *out);

/* Merges equal triples of p[0..n), summing their weights in the order they
 * come in p, and sorts the distinct ones by (x, t_x, T), in place. Returns
 * the number of distinct patterns. Expected cost O(n) plus sorting the
 * distinct ones (a hash table of 8 bytes or less per distinct pattern). */
size_t btyd_patterns_collapse(btyd_pattern *p, size_t n);

/* m->expected_many when the model has one, else m->expected at each t[i]
 * in order (contract of btyd_expected_many_fn). */
int btyd_expected_many(const btyd_model *m, const double *params, double x, double t_x,
                       double T, const double *t, size_t n, double *out);

/* P(at least one purchase in (T, T+t] | history) = 1 - p_n(0). */
int btyd_p_any(const btyd_model *m, const double *params, double x, double t_x, double T,
               double t, double *out);

#endif
