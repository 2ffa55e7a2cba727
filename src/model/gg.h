/* Gamma-Gamma model of the monetary value of repeat purchases (Fader &
 * Hardie 2013, "The Gamma-Gamma Model of Monetary Value"). Parameters
 * p, q, v (lifetimes' names; gamma in the note is v). Only customers with
 * x >= 1 repeat purchases carry information about spend. Same error
 * conventions as btyd.h. */
#ifndef LTVD_MODEL_GG_H
#define LTVD_MODEL_GG_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "model/fit.h"

extern const char *const gg_param_names[3];
extern const double gg_init[3];

/* One distinct (x, mean repeat spend) with its number of customers. */
typedef struct gg_pattern {
    double x;
    double m;
    double weight;
} gg_pattern;

/* Log-likelihood of one customer's mean spend m over x >= 1 purchases. */
int gg_loglik(const double *params, double x, double m, double *out);

/* E[mean spend | x, m]; with x = 0 the population mean p v / (q - 1).
 * Requires q > 1 (GSL_EDOM otherwise). */
int gg_expected_spend(const double *params, double x, double m, double *out);

/* Draws the mean of x >= 1 purchase values for one customer. (gsl_rng is a
 * typedef of an anonymous struct, so it cannot be forward-declared.) */
int gg_simulate(const double *params, double x, const gsl_rng *rng, double *m);

/* Fits on patterns (those with x = 0 are ignored); init NULL uses gg_init. */
int gg_fit(const gg_pattern *pat, size_t n, double penalizer, const double *init,
           fit_result *out);

#endif
