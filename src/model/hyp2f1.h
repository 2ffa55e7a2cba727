/* The Gauss hypergeometric function 2F1 as a logarithm, evaluated where it is
 * well conditioned (Euler/Pfaff transformations, a series summed in log
 * space), for the arguments the purchase models need. GSL's
 * gsl_sf_hyperg_2F1 overflows silently (+inf with GSL_SUCCESS) and loses
 * accuracy when c-a-b is near an integer; this is the one place that knows. */
#ifndef LTVD_MODEL_HYP2F1_H
#define LTVD_MODEL_HYP2F1_H

#include <stddef.h>

/* log 2F1(a, b; c; z) for real a, b, c with c > 0 and 0 <= z < 1, when
 * 2F1(a, b; c; z) > 0. Returns GSL_SUCCESS with a finite *out, GSL_EDOM for
 * arguments outside that domain (or a non-positive value), or GSL_EMAXITER /
 * GSL_ELOSS when it cannot reach full double accuracy. */
int hyp2f1_log(double a, double b, double c, double z, double *out);

/* As hyp2f1_log, and *err = the estimated absolute error of *out (the
 * relative error of 2F1): callers that subtract the log from something of
 * similar size need it to bound their own error. */
int hyp2f1_log_err(double a, double b, double c, double z, double *out, double *err);

/* hyp2f1_log_err at every z[0..n) with the same a, b, c, the series
 * summed side by side: out[i], err[i] and rc[i] exactly as hyp2f1_log_err
 * gives them for z[i] (out[i], err[i] written when rc[i] is GSL_SUCCESS).
 * Returns GSL_SUCCESS when every rc[i] is, else the first failing rc[i]. */
int hyp2f1_log_err_many(double a, double b, double c, const double *z, size_t n,
                        double *out, double *err, int *rc);

#endif
