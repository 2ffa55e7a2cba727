/* Pareto/NBD: agreement with the mpmath reference values
 * (tests/reference/pareto.py -> tests/data/ref_pareto.csv), properties on a
 * wide grid of parameters and customers, domain errors, simulation, and the
 * fit: CDNOW against the published estimates (and the true optimum from
 * tests/reference/pareto_fit.py), standard errors, parameter recovery. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/btyd.h"
#include "model/fit.h"
#include "model/pareto.h"
#include "model/simulate.h"

static void setup(void)
{
    gsl_set_error_handler_off();
}

/* ---- reference values -------------------------------------------------- */

typedef struct ref_row {
    char func[16];
    double p[4], x, t_x, T, t, n, value;
} ref_row;

/* Parses "func,r,alpha,s,beta,x,t_x,T,t,n,value"; 0 on success. */
static int parse_ref(char *line, ref_row *row)
{
    char *save = NULL, *tok = strtok_r(line, ",\n", &save);
    if (tok == NULL || strlen(tok) >= sizeof row->func)
        return -1;
    strcpy(row->func, tok);
    double v[10];
    for (int i = 0; i < 10; i++) {
        tok = strtok_r(NULL, ",\n", &save);
        if (tok == NULL)
            return -1;
        v[i] = strtod(tok, NULL); /* values below DBL_MIN read as 0 */
    }
    memcpy(row->p, v, sizeof row->p);
    row->x = v[4], row->t_x = v[5], row->T = v[6], row->t = v[7], row->n = v[8];
    row->value = v[9];
    return 0;
}

static int eval_ref(const ref_row *q, double *out)
{
    const btyd_model *m = &pareto_model;
    unsigned n = (unsigned)q->n;
    if (strcmp(q->func, "loglik") == 0)
        return m->loglik(q->p, q->x, q->t_x, q->T, out);
    if (strcmp(q->func, "p_alive") == 0)
        return m->p_alive(q->p, q->x, q->t_x, q->T, out);
    if (strcmp(q->func, "expected") == 0)
        return m->expected(q->p, q->x, q->t_x, q->T, q->t, out);
    if (strcmp(q->func, "p_n") == 0)
        return m->p_n(q->p, q->x, q->t_x, q->T, q->t, n, out);
    if (strcmp(q->func, "expected_new") == 0)
        return m->expected_new(q->p, q->t, out);
    if (strcmp(q->func, "p_n_new") == 0)
        return m->p_n_new(q->p, q->t, n, out);
    return GSL_EINVAL;
}

/* Relative error, with values too small for a double compared absolutely. */
static double ref_error(double got, double want)
{
    if (fabs(want) < 1e-290)
        return fabs(got) < 1e-280 ? 0 : 1;
    return fabs(got - want) / fabs(want);
}

static const char *const funcs[] = {"loglik", "p_alive",      "expected",
                                    "p_n",    "expected_new", "p_n_new"};
#define N_FUNCS (sizeof funcs / sizeof funcs[0])

START_TEST(test_reference)
{
    FILE *f = fopen("tests/data/ref_pareto.csv", "r");
    ck_assert_msg(f != NULL, "tests/data/ref_pareto.csv: run from the repo root");
    char line[512];
    size_t rows = 0, header = 0;
    double worst = 0, worst_by[N_FUNCS] = {0};
    char worst_line[600] = "";
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (!header++)
            continue;
        char copy[512];
        strcpy(copy, line);
        ref_row q;
        ck_assert_int_eq(parse_ref(line, &q), 0);
        double got;
        int rc = eval_ref(&q, &got);
        ck_assert_msg(rc == GSL_SUCCESS, "rc %d for %s", rc, copy);
        ck_assert_msg(isfinite(got), "not finite for %s", copy);
        double e = ref_error(got, q.value);
        for (size_t k = 0; k < N_FUNCS; k++)
            if (strcmp(q.func, funcs[k]) == 0 && e > worst_by[k])
                worst_by[k] = e;
        if (e > worst) {
            worst = e;
            snprintf(worst_line, sizeof worst_line, "%.17g vs %s", got, copy);
        }
        rows++;
    }
    fclose(f);
    fprintf(stderr, "pareto reference: %zu values, max rel error", rows);
    for (size_t k = 0; k < N_FUNCS; k++)
        fprintf(stderr, " %s %.2g", funcs[k], worst_by[k]);
    fprintf(stderr, "\n");
    ck_assert_uint_ge(rows, 500);
    ck_assert_msg(worst <= 1e-9, "max rel error %g at %s", worst, worst_line);
}
END_TEST

/* ---- properties on a grid --------------------------------------------- */

static const double grid_vals[] = {1e-4, 0.05, 0.7, 1.0, 3.0, 150.0, 1e4};
#define N_GRID (sizeof grid_vals / sizeof grid_vals[0])

static const double customers[][3] = {
    {0, 0, 1e-4},    {0, 0, 39},      {0, 0, 1e5},      {1, 0.5, 39},
    {1, 39, 39},     {7, 1e-3, 1e4},  {300, 30, 39},    {2000, 1e4 - 1, 1e4},
    {1e5, 5e4, 1e5}, {1e5, 1e5, 1e5}, {40, 1e-6, 1e-5},
};
#define N_CUST (sizeof customers / sizeof customers[0])

static const double horizons[] = {0, 1e-3, 1, 39, 1e3, 1e5};
#define N_HOR (sizeof horizons / sizeof horizons[0])

static void check_customer(const double *p, const double *c)
{
    const btyd_model *m = &pareto_model;
    double ll, pa, prev = 0;
    ck_assert_int_eq(m->loglik(p, c[0], c[1], c[2], &ll), GSL_SUCCESS);
    ck_assert(isfinite(ll));
    ck_assert_int_eq(m->p_alive(p, c[0], c[1], c[2], &pa), GSL_SUCCESS);
    ck_assert(pa >= 0 && pa <= 1);
    for (size_t k = 0; k < N_HOR; k++) {
        double e;
        int rc = m->expected(p, c[0], c[1], c[2], horizons[k], &e);
        ck_assert_msg(rc == GSL_SUCCESS && isfinite(e) && e >= 0 && e >= prev,
                      "expected rc %d = %g (prev %g) at p %g %g %g %g c %g %g %g t %g",
                      rc, e, prev, p[0], p[1], p[2], p[3], c[0], c[1], c[2], horizons[k]);
        prev = e;
    }
}

static void check_pmf(const double *p, const double *c, double t)
{
    const btyd_model *m = &pareto_model;
    static const unsigned ns[] = {0, 1, 5, 1000};
    for (size_t k = 0; k < 4; k++) {
        double v;
        int rc = m->p_n(p, c[0], c[1], c[2], t, ns[k], &v);
        ck_assert_msg(rc == GSL_SUCCESS && v >= 0 && v <= 1,
                      "p_n rc %d = %g at p %g %g %g %g c %g %g %g t %g n %u", rc, v, p[0],
                      p[1], p[2], p[3], c[0], c[1], c[2], t, ns[k]);
    }
}

static void check_new(const double *p)
{
    double prev = 0;
    for (size_t k = 0; k < N_HOR; k++) {
        double e, v;
        ck_assert_int_eq(pareto_model.expected_new(p, horizons[k], &e), GSL_SUCCESS);
        ck_assert(isfinite(e) && e >= prev);
        prev = e;
        ck_assert_int_eq(pareto_model.p_n_new(p, horizons[k], 1, &v), GSL_SUCCESS);
        ck_assert(v >= 0 && v <= 1);
    }
}

START_TEST(test_properties)
{
    for (size_t i = 0; i < N_GRID * N_GRID * N_GRID * N_GRID; i++) {
        size_t k = i;
        double p[4];
        for (int j = 0; j < 4; j++, k /= N_GRID)
            p[j] = grid_vals[k % N_GRID];
        for (size_t c = 0; c < N_CUST; c++)
            check_customer(p, customers[c]);
        check_new(p);
        if (i % 7 == 0) /* the PMF is slower: a sparser grid */
            for (size_t c = 0; c < N_CUST; c += 2)
                check_pmf(p, customers[c], horizons[(i / 7 + c) % N_HOR]);
    }
}
END_TEST

START_TEST(test_pmf_sums_to_one)
{
    const double p[4] = {0.553, 10.578, 0.606, 11.669};
    double total = 0, mean = 0, e;
    for (unsigned n = 0; n < 400; n++) {
        double v;
        ck_assert_int_eq(pareto_model.p_n(p, 4, 20, 38, 52, n, &v), GSL_SUCCESS);
        total += v;
        mean += n * v;
    }
    ck_assert_int_eq(pareto_model.expected(p, 4, 20, 38, 52, &e), GSL_SUCCESS);
    ck_assert_double_eq_tol(total, 1, 1e-12);
    ck_assert_double_eq_tol(mean, e, 1e-11 * e);
}
END_TEST

/* ---- domain ----------------------------------------------------------- */

START_TEST(test_domain)
{
    const btyd_model *m = &pareto_model;
    const double ok[4] = {0.5, 10, 0.6, 12};
    const double bad[][4] = {{0, 10, 0.6, 12},
                             {0.5, -1, 0.6, 12},
                             {0.5, 10, NAN, 12},
                             {0.5, 10, 0.6, INFINITY}};
    const double hist[][3] = {
        {-1, 0, 10}, {2, 11, 10}, {2, -1, 10}, {NAN, 1, 2}, {1, 1, INFINITY}};
    double v = 42;
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(m->loglik(bad[i], 1, 1, 2, &v), GSL_EDOM);
        ck_assert_int_eq(m->p_alive(bad[i], 1, 1, 2, &v), GSL_EDOM);
        ck_assert_int_eq(m->expected(bad[i], 1, 1, 2, 1, &v), GSL_EDOM);
        ck_assert_int_eq(m->p_n(bad[i], 1, 1, 2, 1, 0, &v), GSL_EDOM);
        ck_assert_int_eq(m->expected_new(bad[i], 1, &v), GSL_EDOM);
        ck_assert_int_eq(m->p_n_new(bad[i], 1, 0, &v), GSL_EDOM);
    }
    for (size_t i = 0; i < 5; i++) {
        const double *h = hist[i];
        ck_assert_int_eq(m->loglik(ok, h[0], h[1], h[2], &v), GSL_EDOM);
        ck_assert_int_eq(m->p_alive(ok, h[0], h[1], h[2], &v), GSL_EDOM);
        ck_assert_int_eq(m->expected(ok, h[0], h[1], h[2], 1, &v), GSL_EDOM);
        ck_assert_int_eq(m->p_n(ok, h[0], h[1], h[2], 1, 1, &v), GSL_EDOM);
    }
    const double ts[] = {-1, NAN, INFINITY};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(m->expected(ok, 1, 1, 2, ts[i], &v), GSL_EDOM);
        ck_assert_int_eq(m->p_n(ok, 1, 1, 2, ts[i], 0, &v), GSL_EDOM);
        ck_assert_int_eq(m->expected_new(ok, ts[i], &v), GSL_EDOM);
        ck_assert_int_eq(m->p_n_new(ok, ts[i], 0, &v), GSL_EDOM);
    }
    btyd_pattern pat[2] = {{1, 1, 2, 1}, {1, 3, 2, 1}};
    ck_assert_int_eq(m->loglik_sum(ok, pat, 2, &v), GSL_EDOM);
    ck_assert_double_eq(v, 42); /* untouched on error */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double x, t_x;
    ck_assert_int_eq(m->simulate(ok, -1, rng, &x, &t_x), GSL_EDOM);
    ck_assert_int_eq(m->simulate(bad[0], 1, rng, &x, &t_x), GSL_EDOM);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_table_and_special_cases)
{
    const btyd_model *m = btyd_model_find("pareto");
    ck_assert_ptr_eq(m, &pareto_model);
    ck_assert_str_eq(m->title, "Pareto/NBD");
    ck_assert_uint_eq(m->n_params, 4);
    const char *names[] = {"r", "alpha", "s", "beta"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(m->param_names[i], names[i]);
    const double p[4] = {0.553, 10.578, 0.606, 11.669};
    double v;
    /* t_x = T: certainly alive */
    ck_assert_int_eq(m->p_alive(p, 3, 20, 20, &v), GSL_SUCCESS);
    ck_assert_double_eq(v, 1);
    /* s = 1 is the limit of s -> 1 */
    const double s1[4] = {0.553, 10.578, 1.0, 11.669};
    const double s1e[4] = {0.553, 10.578, 1.0 + 1e-9, 11.669};
    double a, b;
    ck_assert_int_eq(m->expected(s1, 3, 20, 30, 39, &a), GSL_SUCCESS);
    ck_assert_int_eq(m->expected(s1e, 3, 20, 30, 39, &b), GSL_SUCCESS);
    ck_assert_double_eq_tol(a, b, 1e-8 * a);
    /* the fast sum is the sum */
    btyd_pattern pat[4] = {{0, 0, 30, 2}, {3, 10, 30, 1}, {3, 12, 30, 3}, {3, 30, 30, 1}};
    double sum = 0, fast;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(m->loglik(p, pat[i].x, pat[i].t_x, pat[i].T, &v), GSL_SUCCESS);
        sum += pat[i].weight * v;
    }
    ck_assert_int_eq(m->loglik_sum(p, pat, 4, &fast), GSL_SUCCESS);
    ck_assert_double_eq_tol(fast, sum, 1e-12 * fabs(sum));
}
END_TEST

START_TEST(test_simulate)
{
    const double p[4] = {0.553, 10.578, 0.606, 11.669};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    const size_t n = 40000;
    const double T = 39;
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x, t_x;
        ck_assert_int_eq(pareto_model.simulate(p, T, rng, &x, &t_x), GSL_SUCCESS);
        ck_assert(x >= 0 && x == floor(x) && t_x >= 0 && t_x <= T);
        ck_assert(x > 0 || t_x == 0);
        sum += x;
        sum2 += x * x;
    }
    gsl_rng_free(rng);
    double mean = sum / n, sd = sqrt(sum2 / n - mean * mean), e;
    ck_assert_int_eq(pareto_model.expected_new(p, T, &e), GSL_SUCCESS);
    ck_assert_msg(fabs(mean - e) < 4 * sd / sqrt(n), "mean %g vs E %g", mean, e);
}
END_TEST

/* ---- fitting ---------------------------------------------------------- */

/* The CDNOW calibration summary (ID,frequency,recency,T; weeks) as weighted
 * patterns; returns the number of distinct patterns (0 on error). */
static size_t load_cdnow(btyd_pattern *pat, size_t cap, double *n_customers)
{
    FILE *f = fopen("tests/data/cdnow_customers_summary.csv", "r");
    if (f == NULL)
        return 0;
    char line[256];
    size_t n = 0;
    if (fgets(line, sizeof line, f) == NULL) /* header */
        n = cap;
    while (n < cap && fgets(line, sizeof line, f)) {
        double id, x, t_x, T;
        if (sscanf(line, "%lf,%lf,%lf,%lf", &id, &x, &t_x, &T) != 4)
            break;
        pat[n++] = (btyd_pattern){x, t_x, T, 1.0};
    }
    int bad = !feof(f);
    fclose(f);
    if (bad || n == 0)
        return 0;
    *n_customers = (double)n;
    return btyd_patterns_collapse(pat, n);
}

/* (g) The analytic gradient against a five-point difference of the sum in
 * log-parameters (truncation ~1e-12, rounding ~1e-10 relative), pattern by
 * pattern and over the whole sorted histogram (which exercises the caches),
 * on alpha < beta, alpha > beta, alpha = beta, the quadrature regions of
 * phi (rho < 0.05, rho > 20), x = 0, t_x = T and large x. */
static int sum_at(const double *p, int i, double h, const btyd_pattern *pat, size_t n,
                  double *out)
{
    double q[4] = {p[0], p[1], p[2], p[3]};
    q[i] *= exp(h);
    return pareto_model.loglik_sum(q, pat, n, out);
}

static double grad_error(const double *p, const btyd_pattern *pat, size_t n)
{
    double ll, g[4], ll2;
    ck_assert_int_eq(pareto_model.loglik_grad(p, pat, n, &ll, g), GSL_SUCCESS);
    ck_assert_int_eq(pareto_model.loglik_sum(p, pat, n, &ll2), GSL_SUCCESS);
    ck_assert_double_eq_tol(ll, ll2, 1e-13 * fabs(ll2) + 1e-300);
    double worst = 0;
    const double h = 1e-3, w[4] = {1, -8, 8, -1}, e[4] = {-2, -1, 1, 2};
    for (int i = 0; i < 4; i++) {
        ck_assert(isfinite(g[i]));
        double fd = 0, v;
        for (int k = 0; k < 4; k++) {
            ck_assert_int_eq(sum_at(p, i, e[k] * h, pat, n, &v), GSL_SUCCESS);
            fd += w[k] * v;
        }
        fd /= 12 * h;
        double err = fabs(p[i] * g[i] - fd) / (fabs(ll) + 1);
        if (err > worst)
            worst = err;
    }
    return worst;
}

START_TEST(test_gradient)
{
    static const double params[][4] = {
        {0.553, 10.578, 0.606, 11.669}, {0.8, 6.0, 0.7, 14.0},  {2.1, 20.0, 0.4, 3.0},
        {1.3, 5.0, 0.9, 5.0},           {0.5, 0.1, 1.2, 50.0},  {3.0, 80.0, 0.3, 0.5},
        {0.05, 1.0, 20.0, 2.0},         {40.0, 2.0, 0.02, 30.0}};
    static const btyd_pattern pat[] = {
        {0, 0, 0, 1},    {0, 0, 27, 3},   {0, 0, 30, 2},     {0, 0, 39, 1},
        {1, 0.5, 30, 1}, {1, 5, 27, 2},   {1, 5, 30, 1},     {1, 30, 30, 1},
        {2.5, 3, 10, 1}, {3, 12, 12, 1},  {3, 20, 30, 2},    {7, 1, 39, 1},
        {50, 20, 38, 1}, {50, 38, 38, 1}, {200, 0.1, 39, 1}, {200, 30, 39, 4}};
    const size_t np = sizeof pat / sizeof pat[0];
    double worst = 0;
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        double e = grad_error(params[k], pat, np);
        ck_assert_msg(e < 1e-8, "params %zu, sum: error %g", k, e);
        worst = fmax(worst, e);
        for (size_t i = 0; i < np; i++) {
            e = grad_error(params[k], &pat[i], 1);
            ck_assert_msg(e < 1e-8, "params %zu, pattern %zu: error %g", k, i, e);
            worst = fmax(worst, e);
        }
    }
    fprintf(stderr, "pareto gradient: max error %.2g (relative to 1 + |LL|)\n", worst);
    /* the domain of loglik */
    const double bad[4] = {0.5, -1, 1, 1};
    double ll, g[4];
    ck_assert_int_eq(pareto_model.loglik_grad(bad, pat, np, &ll, g), GSL_EDOM);
    const btyd_pattern late = {1, 40, 30, 1};
    ck_assert_int_eq(pareto_model.loglik_grad(params[0], &late, 1, &ll, g), GSL_EDOM);
}
END_TEST

/* Published (Fader & Hardie): r 0.553, alpha 10.578, s 0.606, beta 11.669,
 * LL -9595.0. The optimum by tests/reference/pareto_fit.py (mpmath, Newton):
 * beta is 11.66791, just off the rounded published 11.669. */
static const double cdnow_published[4] = {0.553, 10.578, 0.606, 11.669};
static const double cdnow_optimum[4] = {0.5532755087, 10.57761224, 0.6062135683,
                                        11.66791123};
static const double cdnow_optimum_ll = -9594.97392982686;

START_TEST(test_cdnow_fit)
{
    static btyd_pattern pat[4000];
    double n_customers = 0;
    size_t n = load_cdnow(pat, 4000, &n_customers);
    ck_assert_uint_gt(n, 0);
    ck_assert_double_eq(n_customers, 2357);
    fit_result res;
    ck_assert_int_eq(fit_btyd(&pareto_model, pat, n, 0, NULL, &res), GSL_SUCCESS);
    fprintf(
        stderr,
        "pareto CDNOW fit: r %.6f alpha %.5f s %.6f beta %.5f LL %.6f, %zu iterations, "
        "%.3f s, converged %d; SE %.5f %.4f %.5f %.4f (ok %d); %zu patterns\n",
        res.params[0], res.params[1], res.params[2], res.params[3], res.log_likelihood,
        res.iterations, res.seconds, res.converged, res.std_errors[0], res.std_errors[1],
        res.std_errors[2], res.std_errors[3], res.std_errors_ok, n);
    ck_assert(res.converged);
    for (int i = 0; i < 3; i++) {
        double pub = cdnow_published[i];
        ck_assert_msg(fabs(res.params[i] - pub) <= fmax(0.001 * pub, 0.0005),
                      "param %d: %g vs published %g", i, res.params[i], pub);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_msg(fabs(res.params[i] / cdnow_optimum[i] - 1) < 2e-4,
                      "param %d: %.8g vs optimum %.8g", i, res.params[i],
                      cdnow_optimum[i]);
    ck_assert_double_eq_tol(res.log_likelihood, -9595.0, 0.05);
    ck_assert_double_eq_tol(res.log_likelihood, cdnow_optimum_ll, 1e-6);
    double ll_pub;
    ck_assert_int_eq(fit_btyd_loglik(&pareto_model, cdnow_published, pat, n, &ll_pub),
                     GSL_SUCCESS);
    ck_assert_double_ge(res.log_likelihood, ll_pub);
    /* the cached fast sum is the plain sum of loglik */
    double slow = 0;
    for (size_t i = 0; i < n; i++) {
        double v;
        ck_assert_int_eq(
            pareto_model.loglik(cdnow_published, pat[i].x, pat[i].t_x, pat[i].T, &v),
            GSL_SUCCESS);
        slow += pat[i].weight * v;
    }
    ck_assert_double_eq_tol(ll_pub, slow, 1e-12 * fabs(slow));
    ck_assert_double_eq_tol(ll_pub, -9594.97401004098, 1e-8); /* pareto_fit.py */
    /* (e) standard errors: finite, positive, and near the mpmath Hessian's
     * 0.0476, 0.843, 0.187, 6.21 */
    static const double se_ref[4] = {0.047629, 0.84272, 0.18728, 6.211};
    ck_assert(res.std_errors_ok);
    for (int i = 0; i < 4; i++) {
        ck_assert(isfinite(res.std_errors[i]) && res.std_errors[i] > 0);
        ck_assert_double_eq_tol(res.std_errors[i], se_ref[i], 0.02 * se_ref[i]);
    }
}
END_TEST

/* (f) Simulated customers from known parameters: every estimate within
 * three standard errors of the truth. */
START_TEST(test_recovery)
{
    const double truth[4] = {0.8, 6.0, 0.7, 14.0};
    const size_t n = 20000;
    btyd_pattern *pat = malloc(n * sizeof *pat);
    ck_assert_ptr_nonnull(pat);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240601);
    ck_assert_int_eq(
        simulate_customers(&pareto_model, truth, n, 20, 40, 1.0 / 7, rng, pat),
        GSL_SUCCESS);
    gsl_rng_free(rng);
    size_t m = btyd_patterns_collapse(pat, n);
    fit_result res;
    ck_assert_int_eq(fit_btyd(&pareto_model, pat, m, 0, NULL, &res), GSL_SUCCESS);
    fprintf(stderr, "pareto recovery (%zu patterns, %zu iterations, %.2f s):", m,
            res.iterations, res.seconds);
    for (int i = 0; i < 4; i++)
        fprintf(stderr, " %s %.4f (true %.4g, SE %.4f, %.2f SE)",
                pareto_model.param_names[i], res.params[i], truth[i], res.std_errors[i],
                (res.params[i] - truth[i]) / res.std_errors[i]);
    fprintf(stderr, "\n");
    ck_assert(res.converged && res.std_errors_ok);
    for (int i = 0; i < 4; i++) {
        ck_assert(isfinite(res.std_errors[i]) && res.std_errors[i] > 0);
        ck_assert_msg(fabs(res.params[i] - truth[i]) <= 3 * res.std_errors[i],
                      "param %d: %g vs %g (SE %g)", i, res.params[i], truth[i],
                      res.std_errors[i]);
    }
    free(pat);
}
END_TEST

Suite *suite_pareto(void)
{
    Suite *s = suite_create("pareto");
    TCase *tc = tcase_create("pareto");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_reference);
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_pmf_sums_to_one);
    tcase_add_test(tc, test_domain);
    tcase_add_test(tc, test_table_and_special_cases);
    tcase_add_test(tc, test_simulate);
    tcase_add_test(tc, test_gradient);
    tcase_add_test(tc, test_cdnow_fit);
    tcase_add_test(tc, test_recovery);
    suite_add_tcase(s, tc);
    return s;
}
