/* The BG/NBD expectation of a customer known to be alive, as an integral
 * over the purchase-stop probability p (internal to src/model): the robust
 * but slow fallback of bgnbd_core.c for the inputs its series and
 * hypergeometric forms cannot evaluate to 1e-9. */
#ifndef LTVD_MODEL_BGNBD_QUAD_H
#define LTVD_MODEL_BGNBD_QUAD_H

/* E[purchases in (0, t]] of an alive customer with lambda ~ Gamma(shape,
 * rate) and p ~ Beta(a, b), i.e. E_p[(1 - (1 + p t/rate)^-shape) / p], by
 * adaptive Gauss-Kronrod quadrature on a fixed, stack-allocated interval
 * table (no allocation). All arguments finite and > 0 (t >= 0). Returns
 * GSL_SUCCESS and *out, GSL_EDOM for bad arguments, GSL_ELOSS when the
 * estimated relative error stays above 1e-10. */
int bgnbd_quad_expected(double shape, double rate, double a, double b, double t,
                        double *out);

#endif
