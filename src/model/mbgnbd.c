/* MBG/NBD: the public functions of mbgnbd.h and the `mbgnbd_model` table,
 * thin wrappers over the implementation shared with BG/NBD (bgnbd_core.c,
 * modified = true). */
#include "model/mbgnbd.h"

#include "model/bgnbd_core.h"

#define MODIFIED true

static const char *const param_names[] = {"r", "alpha", "a", "b"};
static const double init_params[] = {1.0, 1.0, 1.0, 1.0};

int mbgnbd_loglik(const double *params, double x, double t_x, double T, double *out)
{
    return bgnbd_core_loglik(params, x, t_x, T, MODIFIED, out);
}

int mbgnbd_loglik_sum(const double *params, const btyd_pattern *pat, size_t n,
                      double *out)
{
    return bgnbd_core_loglik_sum(params, pat, n, MODIFIED, out);
}

int mbgnbd_loglik_grad(const double *params, const btyd_pattern *pat, size_t n,
                       double *out, double *grad)
{
    return bgnbd_core_loglik_grad(params, pat, n, MODIFIED, out, grad);
}

int mbgnbd_p_alive(const double *params, double x, double t_x, double T, double *out)
{
    return bgnbd_core_p_alive(params, x, t_x, T, MODIFIED, out);
}

int mbgnbd_expected(const double *params, double x, double t_x, double T, double t,
                    double *out)
{
    return bgnbd_core_expected(params, x, t_x, T, t, MODIFIED, out);
}

int mbgnbd_p_n(const double *params, double x, double t_x, double T, double t, unsigned n,
               double *out)
{
    return bgnbd_core_p_n(params, x, t_x, T, t, n, MODIFIED, out);
}

int mbgnbd_expected_new(const double *params, double t, double *out)
{
    return bgnbd_core_expected_new(params, t, MODIFIED, out);
}

int mbgnbd_p_n_new(const double *params, double t, unsigned n, double *out)
{
    return bgnbd_core_p_n_new(params, t, n, MODIFIED, out);
}

int mbgnbd_simulate(const double *params, double T, const gsl_rng *rng, double *x,
                    double *t_x)
{
    return bgnbd_core_simulate(params, T, rng, MODIFIED, x, t_x);
}

static int expected_many(const double *params, double x, double t_x, double T,
                         const double *t, size_t n, double *out)
{
    return bgnbd_core_expected_many(params, x, t_x, T, t, n, MODIFIED, out);
}

const btyd_model mbgnbd_model = {
    .name = "mbgnbd",
    .title = "MBG/NBD",
    .n_params = 4,
    .param_names = param_names,
    .init = init_params,
    .discrete = 0,
    .loglik = mbgnbd_loglik,
    .loglik_sum = mbgnbd_loglik_sum,
    .loglik_grad = mbgnbd_loglik_grad,
    .p_alive = mbgnbd_p_alive,
    .expected = mbgnbd_expected,
    .expected_many = expected_many,
    .p_n = mbgnbd_p_n,
    .expected_new = mbgnbd_expected_new,
    .p_n_new = mbgnbd_p_n_new,
    .simulate = mbgnbd_simulate,
};
