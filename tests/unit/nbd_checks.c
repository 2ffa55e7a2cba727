/* The checks shared by the BG/NBD and MBG/NBD suites (see nbd_checks.h). */
#include "nbd_checks.h"

#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refcsv.h"

enum { N_NS = 4 };
static const unsigned ns[N_NS] = {0, 1, 2, 5};

/* ---- reference values ---- */

typedef struct ref_cols {
    int par[4], x, t_x, T, t, ll, pa, e, pn[N_NS], en, pnn[N_NS];
} ref_cols;

static int find_cols(const refcsv *t, ref_cols *c)
{
    const char *pn[4] = {"r", "alpha", "a", "b"};
    char name[32];
    int ok = 1;
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 4; i++)
        ok &= (c->par[i] = refcsv_col(t, pn[i])) >= 0;
    ok &= (c->x = refcsv_col(t, "x")) >= 0 && (c->t_x = refcsv_col(t, "t_x")) >= 0;
    ok &= (c->T = refcsv_col(t, "T")) >= 0 && (c->t = refcsv_col(t, "t")) >= 0;
    ok &=
        (c->ll = refcsv_col(t, "loglik")) >= 0 && (c->pa = refcsv_col(t, "p_alive")) >= 0;
    ok &= (c->e = refcsv_col(t, "expected")) >= 0;
    ok &= (c->en = refcsv_col(t, "expected_new")) >= 0;
    for (int i = 0; i < N_NS; i++) {
        snprintf(name, sizeof name, "p_n%u", ns[i]);
        ok &= (c->pn[i] = refcsv_col(t, name)) >= 0;
        snprintf(name, sizeof name, "p_n_new%u", ns[i]);
        ok &= (c->pnn[i] = refcsv_col(t, name)) >= 0;
    }
    return ok;
}

typedef struct cmp_state {
    double worst;
    size_t bad;
    size_t n;
} cmp_state;

static void compare(cmp_state *st, const char *what, size_t row, int rc, double got,
                    double ref, double tol)
{
    if (isnan(ref))
        return;
    st->n++;
    double err = rc == GSL_SUCCESS ? fabs(got - ref) / fmax(fabs(ref), 1e-300) : INFINITY;
    if (err <= tol) {
        st->worst = fmax(st->worst, err);
        return;
    }
    st->bad++;
    fprintf(stderr, "row %zu %s: rc %d got %.17g ref %.17g (rel %.3g)\n", row + 1, what,
            rc, got, ref, err);
}

static void check_row(const btyd_model *m, const refcsv *t, const ref_cols *c, size_t i,
                      double tol, cmp_state *st)
{
    double p[4], v = NAN;
    for (int k = 0; k < 4; k++)
        p[k] = refcsv_at(t, i, c->par[k]);
    double x = refcsv_at(t, i, c->x), t_x = refcsv_at(t, i, c->t_x);
    double T = refcsv_at(t, i, c->T), h = refcsv_at(t, i, c->t);
    int rc = m->loglik(p, x, t_x, T, &v);
    compare(st, "loglik", i, rc, v, refcsv_at(t, i, c->ll), tol);
    rc = m->p_alive(p, x, t_x, T, &v);
    compare(st, "p_alive", i, rc, v, refcsv_at(t, i, c->pa), tol);
    rc = m->expected(p, x, t_x, T, h, &v);
    compare(st, "expected", i, rc, v, refcsv_at(t, i, c->e), tol);
    rc = m->expected_new(p, h, &v);
    compare(st, "expected_new", i, rc, v, refcsv_at(t, i, c->en), tol);
    for (int k = 0; k < N_NS; k++) {
        rc = m->p_n(p, x, t_x, T, h, ns[k], &v);
        compare(st, t->names[c->pn[k]], i, rc, v, refcsv_at(t, i, c->pn[k]), tol);
        rc = m->p_n_new(p, h, ns[k], &v);
        compare(st, t->names[c->pnn[k]], i, rc, v, refcsv_at(t, i, c->pnn[k]), tol);
    }
}

void nbd_check_reference(const btyd_model *m, const char *path, double rel_tol)
{
    refcsv t;
    ref_cols c;
    ck_assert_msg(refcsv_load(path, &t) == 0, "cannot read %s", path);
    ck_assert_msg(find_cols(&t, &c), "%s: missing columns", path);
    ck_assert_uint_gt(t.n_rows, 100);
    cmp_state st = {0, 0, 0};
    for (size_t i = 0; i < t.n_rows; i++)
        check_row(m, &t, &c, i, rel_tol, &st);
    fprintf(stderr, "%s vs %s: %zu values, max rel. error %.3g, %zu over %.0e\n", m->name,
            path, st.n, st.worst, st.bad, rel_tol);
    refcsv_free(&t);
    ck_assert_uint_eq(st.bad, 0);
}

/* ---- properties over a grid ---- */

static const double grid_par[] = {1e-4, 0.05, 0.7, 1.0, 1.0000001, 3, 60, 1e4};
enum { N_PAR = sizeof grid_par / sizeof grid_par[0] };

typedef struct prop_stats {
    size_t calls, errors, sums_checked;
    double worst_excess; /* of sum n P(n) over E, relative: rounding of either */
} prop_stats;

/* sum_n<200 P(n) is at most 1 and, by Markov's inequality, at least
 * 1 - E/200; sum_n<200 n P(n) is at most E. */
static void check_sum_pn(const btyd_model *m, const double *p, double x, double t_x,
                         double T, double t, double e, prop_stats *ps)
{
    double s = 0, mean = 0, v;
    for (unsigned n = 0; n < 200; n++) {
        int rc = m->p_n(p, x, t_x, T, t, n, &v);
        ck_assert_msg(rc == GSL_SUCCESS, "p_n rc %d (%g %g %g %g; %g %g %g %g n=%u)", rc,
                      p[0], p[1], p[2], p[3], x, t_x, T, t, n);
        ck_assert(v >= 0 && v <= 1);
        s += v;
        mean += n * v;
    }
    ps->sums_checked++;
    ck_assert_msg(s <= 1 + 1e-9 && s >= 1 - e / 200 - 1e-9,
                  "sum p_n = %.17g, E = %g (x=%g T=%g t=%g)", s, e, x, T, t);
    if (e > 0 && (mean - e) / e > ps->worst_excess)
        ps->worst_excess = (mean - e) / e;
    ck_assert_msg(mean <= e * (1 + 1e-7) + 1e-12,
                  "sum n p_n = %.17g > E = %.17g (%g %g %g %g; %g %g %g %g)", mean, e,
                  p[0], p[1], p[2], p[3], x, t_x, T, t);
}

static void check_customer(const btyd_model *m, const double *p, double x, double t_x,
                           double T, prop_stats *ps)
{
    static const double ts[] = {0, 1e-3, 1, 39, 1e3, 1e5};
    double v, prev = 0;
    ps->calls++;
    if (m->p_alive(p, x, t_x, T, &v) == GSL_SUCCESS)
        ck_assert_msg(v >= 0 && v <= 1 && isfinite(v), "p_alive %g", v);
    else
        ps->errors++;
    if (m->loglik(p, x, t_x, T, &v) == GSL_SUCCESS)
        ck_assert(isfinite(v)); /* a density in t_x: may exceed 0 */
    else
        ps->errors++;
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
        ps->calls++;
        if (m->expected(p, x, t_x, T, ts[k], &v) != GSL_SUCCESS) {
            ps->errors++;
            continue;
        }
        ck_assert(isfinite(v) && v >= 0);
        ck_assert_msg(v >= prev * (1 - 1e-9), "E not monotone in t: %g < %g", v, prev);
        prev = v;
        if ((k == 2 || k == 3) && x <= 1e3 && ps->calls % 5 == 0)
            check_sum_pn(m, p, x, t_x, T, ts[k], v, ps);
    }
}

/* A new customer: E and P(n) over the horizons, no errors. */
static void check_new(const btyd_model *m, const double *p, prop_stats *ps)
{
    static const double ts[] = {1e-3, 1, 39, 1e3, 1e5};
    static const unsigned nn[] = {0, 1, 5, 50};
    double v;
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
        ps->calls++;
        if (m->expected_new(p, ts[k], &v) != GSL_SUCCESS)
            ps->errors++;
        else
            ck_assert(isfinite(v) && v >= 0);
        for (size_t i = 0; i < sizeof nn / sizeof nn[0]; i++) {
            ps->calls++;
            if (m->p_n_new(p, ts[k], nn[i], &v) != GSL_SUCCESS)
                ps->errors++;
            else
                ck_assert(v >= 0 && v <= 1);
        }
    }
}

void nbd_check_properties(const btyd_model *m)
{
    static const double xs[] = {0, 1, 2, 30, 1e3, 1e5};
    static const double Ts[] = {1e-3, 1, 38.86, 1e3, 1e5};
    prop_stats ps = {0, 0, 0, 0};
    double p[4];
    /* every 13th parameter set; every 97th (a sample of the same grid) for
     * the fast run of make check-unit (LTVD_TEST_SHORT=1) */
    const char *short_run = getenv("LTVD_TEST_SHORT");
    size_t step = short_run != NULL && short_run[0] == '1' ? 97 : 13;
    for (size_t i = 0; i < N_PAR * N_PAR * N_PAR * N_PAR; i += step) {
        size_t j = i;
        for (int k = 0; k < 4; k++, j /= N_PAR)
            p[k] = grid_par[j % N_PAR];
        check_new(m, p, &ps);
        for (size_t a = 0; a < 6; a++)
            for (size_t b = 0; b < 5; b++)
                for (double f = 0; f <= 1; f += 0.5)
                    check_customer(m, p, xs[a], f * Ts[b], Ts[b], &ps);
    }
    fprintf(stderr,
            "%s grid: %zu evaluations, %zu errors (never NaN/Inf), %zu pmf sums, "
            "sum n P(n) exceeds E by at most %.2g (relative)\n",
            m->name, ps.calls, ps.errors, ps.sums_checked, ps.worst_excess);
    /* every input here is inside the domain and every value representable */
    ck_assert_uint_eq(ps.errors, 0);
}

/* ---- domain ---- */

void nbd_check_domain(const btyd_model *m)
{
    const double good[4] = {0.5, 4, 0.8, 2.5};
    const double bad_params[][4] = {{0, 4, 0.8, 2.5},
                                    {0.5, -1, 0.8, 2.5},
                                    {0.5, 4, NAN, 2.5},
                                    {0.5, 4, 0.8, INFINITY}};
    double v = 42;
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(m->loglik(bad_params[i], 1, 1, 2, &v), GSL_EDOM);
        ck_assert_int_eq(m->expected(bad_params[i], 1, 1, 2, 1, &v), GSL_EDOM);
        ck_assert_int_eq(m->expected_new(bad_params[i], 1, &v), GSL_EDOM);
        ck_assert_int_eq(m->p_n_new(bad_params[i], 1, 0, &v), GSL_EDOM);
    }
    ck_assert_int_eq(m->loglik(good, -1, 0, 2, &v), GSL_EDOM);
    ck_assert_int_eq(m->loglik(good, 1.5, 1, 2, &v), GSL_EDOM);
    ck_assert_int_eq(m->loglik(good, 1, 3, 2, &v), GSL_EDOM);
    ck_assert_int_eq(m->p_alive(good, 1, -1, 2, &v), GSL_EDOM);
    ck_assert_int_eq(m->p_alive(good, 1, 1, NAN, &v), GSL_EDOM);
    ck_assert_int_eq(m->expected(good, 1, 1, 2, -1, &v), GSL_EDOM);
    ck_assert_int_eq(m->expected(good, 1, 1, 2, INFINITY, &v), GSL_EDOM);
    ck_assert_int_eq(m->p_n(good, 1, 1, 2, -0.5, 0, &v), GSL_EDOM);
    ck_assert_int_eq(m->expected_new(good, -1, &v), GSL_EDOM);
    ck_assert_int_eq(m->p_n_new(good, NAN, 1, &v), GSL_EDOM);
    btyd_pattern pat[2] = {{1, 1, 2, 1}, {1, 3, 2, 1}};
    ck_assert_int_eq(m->loglik_sum(good, pat, 2, &v), GSL_EDOM);
    pat[1] = (btyd_pattern){1, 1, 2, -1};
    ck_assert_int_eq(m->loglik_sum(good, pat, 2, &v), GSL_EDOM);
    ck_assert(v == 42);
}

/* loglik_grad: the same sum, and central differences of loglik_sum. */
static void check_gradient(const btyd_model *m, const double *p, const btyd_pattern *pat,
                           size_t n, double sum)
{
    double v, g[4];
    ck_assert_int_eq(m->loglik_grad(p, pat, n, &v, g), GSL_SUCCESS);
    ck_assert_msg(fabs(v - sum) < 1e-12 * fabs(sum), "%.17g vs %.17g", v, sum);
    for (int k = 0; k < 4; k++) {
        double q[4] = {p[0], p[1], p[2], p[3]}, hi, lo, h = 1e-5 * p[k];
        q[k] = p[k] + h;
        ck_assert_int_eq(m->loglik_sum(q, pat, n, &hi), GSL_SUCCESS);
        q[k] = p[k] - h;
        ck_assert_int_eq(m->loglik_sum(q, pat, n, &lo), GSL_SUCCESS);
        double fd = (hi - lo) / (2 * h);
        ck_assert_msg(fabs(g[k] - fd) < 1e-6 * fmax(1, fabs(fd)),
                      "%s d/d%s: %.10g vs finite difference %.10g", m->name,
                      m->param_names[k], g[k], fd);
    }
}

void nbd_check_loglik_sum(const btyd_model *m)
{
    const double p[4] = {0.243, 4.414, 0.793, 2.426};
    btyd_pattern pat[6] = {{0, 0, 38.86, 3},    {0, 5, 38.86, 1},    {1, 1.71, 38.86, 2},
                           {511, 30, 38.86, 1}, {512, 30, 38.86, 1}, {4000, 38, 39, 0.5}};
    double sum = 0, v;
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(m->loglik(p, pat[i].x, pat[i].t_x, pat[i].T, &v), GSL_SUCCESS);
        sum += pat[i].weight * v;
    }
    ck_assert_int_eq(m->loglik_sum(p, pat, 6, &v), GSL_SUCCESS);
    ck_assert_msg(fabs(v - sum) < 1e-12 * fabs(sum), "%.17g vs %.17g", v, sum);
    ck_assert_int_eq(m->loglik_sum(p, pat, 0, &v), GSL_SUCCESS);
    ck_assert(v == 0);
    check_gradient(m, p, pat, 6, sum);
}
