/* Checks shared by the BG/NBD and MBG/NBD suites: agreement with the mpmath
 * reference CSVs, properties over a wide grid, and domain errors. Each runs
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

/* loglik_sum equals the weighted sum of loglik, including x beyond its table. */
void nbd_check_loglik_sum(const btyd_model *m);

#endif
