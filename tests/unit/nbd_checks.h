/* Checks shared by the BG/NBD and MBG/NBD suites: agreement with the mpmath
 * reference CSVs, properties over a wide grid, domain errors, and fits
 * (nbd_fit_checks.c). Each runs
 * check assertions itself. */
#ifndef LTVD_TESTS_NBD_CHECKS_H
#define LTVD_TESTS_NBD_CHECKS_H

#include "model/btyd.h"

/* Every value of every row of path within rel_tol (relative); prints the
 * largest error seen. */
void nbd_check_reference(const btyd_model *m, const char *path, double rel_tol);

/* No NaN/Inf, P(alive) in [0,1], expectations >= 0 and non-decreasing in t,
 * sum of P(n) ~ 1 where the tail is small, over a wide grid. */
void nbd_check_properties(const btyd_model *m);

/* Out-of-domain input gives GSL_EDOM and leaves *out untouched. */
void nbd_check_domain(const btyd_model *m);

/* loglik_sum equals the weighted sum of loglik, including x beyond its table;
 * loglik_grad agrees with it and with its finite differences. */
void nbd_check_loglik_sum(const btyd_model *m);

/* Fits the CDNOW calibration summary and compares with want[0..3] (each
 * within max(rel * want, abs_tol)) and the total log-likelihood within ll_tol. */
void nbd_check_cdnow_fit(const btyd_model *m, const double *want, double rel,
                         double abs_tol, double want_ll, double ll_tol);

/* Reads model_id's row (1 BG/NBD, 2 MBG/NBD) of tests/data/ref_cdnow_fit.csv
 * into params[4] and *ll; 0 on success. */
int nbd_read_fit_reference(int model_id, double *params, double *ll);

/* Simulates n customers (T uniform on [20, 40], fixed seed), fits, and checks
 * every estimate within 3 standard errors of truth. */
void nbd_check_recovery(const btyd_model *m, const double *truth, size_t n);

#endif
