/* BG/NBD and Pareto/NBD with time-invariant covariates (model/covariates.h,
 * model/cov_design.h): recovery of known coefficients from simulated
 * channels, the analytic gradient against differences, the plain model as
 * the special case without covariates, pooling of small and unidentified
 * levels, and the optimum of tests/reference/covariates_fit.py on
 * tests/data/covariates_*.csv. The CLI end to end is in test_cli_covariates.c. */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_covariates.h"
#include "model/cov_design.h"
#include "model/covariates.h"
#include "model/fit.h"
#include "model/simulate.h"

static void setup(void)
{
    gsl_set_error_handler_off();
}

/* A simulated customer base of n_levels channels of sizes sizes[], channel
 * l drawn at the parameters implied by truth for the dummy of level l
 * (level 0 the baseline, level l >= 1 dummy l-1). values[i] = level. */
typedef struct sim_base {
    btyd_pattern *cust;
    double *values;
    size_t n;
} sim_base;

static void simulate_base(const btyd_model *m, const double *truth, size_t K,
                          const size_t *sizes, size_t n_levels, unsigned long seed,
                          sim_base *out)
{
    out->n = 0;
    for (size_t l = 0; l < n_levels; l++)
        out->n += sizes[l];
    out->cust = malloc(out->n * sizeof *out->cust);
    out->values = malloc(out->n * sizeof *out->values);
    ck_assert(out->cust != NULL && out->values != NULL);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    size_t at = 0;
    for (size_t l = 0; l < n_levels; l++) {
        double z[COV_MAX_COVARIATES] = {0}, p[4];
        if (l > 0)
            z[l - 1] = 1;
        ck_assert_int_eq(cov_params_at(m, truth, K, z, p), GSL_SUCCESS);
        ck_assert_int_eq(
            simulate_customers(m, p, sizes[l], 27, 39, 1.0 / 7, rng, out->cust + at),
            GSL_SUCCESS);
        for (size_t i = 0; i < sizes[l]; i++)
            out->values[at + i] = (double)l;
        at += sizes[l];
    }
    gsl_rng_free(rng);
}

static void sim_base_free(sim_base *b)
{
    free(b->cust);
    free(b->values);
}

/* Fits one categorical variable of n_levels levels. */
static void fit_levels(const btyd_model *m, const sim_base *b, size_t n_levels,
                       double min_customers, cov_level *levels, cov_variable *var,
                       cov_design *d, cov_result *r)
{
    *var = (cov_variable){
        .name = "channel", .categorical = true, .n_levels = n_levels, .levels = levels};
    char err[256];
    ck_assert_int_eq(
        cov_design_init(d, var, 1, b->values, NULL, b->n, min_customers, err, sizeof err),
        0);
    ck_assert_int_eq(cov_design_fit(m, d, b->cust, b->values, b->n, r), GSL_SUCCESS);
}

/* Every coefficient within 3 standard errors of the truth, the standard
 * errors finite, positive and of the size sqrt(1/n) predicts (within a
 * factor of 4 of c/sqrt(n_level) is not checked: only 0 < se < 0.5). */
static void check_recovery(const btyd_model *m, const double *truth, size_t K,
                           unsigned long seed)
{
    const size_t sizes[] = {20000, 12000, 8000};
    sim_base b;
    simulate_base(m, truth, K, sizes, 3, seed, &b);
    cov_level levels[3];
    cov_variable var;
    cov_design d;
    cov_result *r = malloc(sizeof *r);
    fit_levels(m, &b, 3, 30, levels, &var, &d, r);
    ck_assert(r->converged);
    ck_assert(r->std_errors_ok);
    ck_assert_uint_eq(r->n_params, 4 + 2 * K);
    if (getenv("COV_DEBUG"))
        for (size_t i = 0; i < r->n_params; i++)
            fprintf(stderr, "%s %zu: %g (truth %g) se %g\n", m->name, i, r->params[i],
                    truth[i], r->std_errors[i]);
    if (getenv("COV_DEBUG"))
        fprintf(stderr, "iter %zu seconds %g LR %g\n", r->iterations, r->seconds,
                r->lr_statistic);
    ck_assert_int_eq(levels[0].role, COV_LEVEL_BASELINE);
    for (size_t i = 0; i < r->n_params; i++) {
        double se = r->std_errors[i];
        ck_assert_msg(se > 0 && se < 0.5 * (i < 4 ? truth[i] + 1 : 1),
                      "%s param %zu: se %g", m->name, i, se);
        ck_assert_msg(fabs(r->params[i] - truth[i]) < 3 * se,
                      "%s param %zu: %g, truth %g, se %g", m->name, i, r->params[i],
                      truth[i], se);
    }
    /* the covariates matter here: the LR test says so */
    ck_assert(r->lr_statistic > 20);
    ck_assert_uint_eq(r->lr_df, 2 * K);
    ck_assert(r->lr_p_value < 1e-4);
    ck_assert(r->log_likelihood >= r->base.log_likelihood);
    /* per-level parameters: the baseline's are the base parameters */
    double p[4], se[4];
    ck_assert_int_eq(cov_design_level_params(m, &d, r, 0, 0, p, se), GSL_SUCCESS);
    for (int j = 0; j < 4; j++) {
        ck_assert_double_eq_tol(p[j], r->params[j], 1e-12 * r->params[j]);
        ck_assert_double_eq_tol(se[j], r->std_errors[j], 1e-9 * r->params[j]);
    }
    free(r);
    sim_base_free(&b);
}

START_TEST(test_covariates_recovery_bgnbd)
{
    /* r, alpha, a, b near CDNOW's; channel 1: more purchases, channel 2: fewer */
    const double truth[] = {0.243, 4.414, 0.793, 2.426, 0.5, -0.4, 0.6, -0.5};
    check_recovery(&bgnbd_model, truth, 2, 20261207);
}
END_TEST

START_TEST(test_covariates_recovery_pareto)
{
    const double truth[] = {0.553, 10.58, 0.606, 11.67, 0.5, -0.4, -0.6, 0.5};
    check_recovery(&pareto_model, truth, 2, 7122026);
}
END_TEST

/* The analytic gradient against central differences of cov_loglik. */
static void check_gradient(const btyd_model *m, const double *at)
{
    const size_t sizes[] = {500, 300, 200};
    sim_base b;
    simulate_base(m, at, 2, sizes, 3, 99, &b);
    double z[3 * 2] = {0};
    double *zc = malloc(b.n * 2 * sizeof *zc);
    for (size_t i = 0; i < b.n; i++) {
        zc[2 * i] = b.values[i] == 1 ? 1 : 0;
        zc[2 * i + 1] = b.values[i] == 2 ? 1 : 0;
    }
    (void)z;
    cov_data_owned data;
    ck_assert_int_eq(cov_data_build(b.cust, zc, b.n, 2, &data), GSL_SUCCESS);
    ck_assert_uint_eq(data.d.n_groups, 3);
    double ll, grad[8];
    ck_assert_int_eq(cov_loglik(m, &data.d, at, &ll, grad), GSL_SUCCESS);
    double ll_only;
    ck_assert_int_eq(cov_loglik(m, &data.d, at, &ll_only, NULL), GSL_SUCCESS);
    ck_assert_double_eq_tol(ll, ll_only, 1e-10 * fabs(ll));
    for (size_t i = 0; i < 8; i++) {
        double p[8], lp, lm, h = 1e-5 * (fabs(at[i]) + 1e-2);
        memcpy(p, at, sizeof p);
        p[i] = at[i] + h;
        ck_assert_int_eq(cov_loglik(m, &data.d, p, &lp, NULL), GSL_SUCCESS);
        p[i] = at[i] - h;
        ck_assert_int_eq(cov_loglik(m, &data.d, p, &lm, NULL), GSL_SUCCESS);
        double num = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(num - grad[i]) < 1e-5 * (fabs(num) + 1),
                      "%s d/dp%zu: analytic %.10g numeric %.10g", m->name, i, grad[i],
                      num);
    }
    /* the Hessian against central differences of the analytic gradient */
    double hess[64], g2[8];
    ck_assert_int_eq(cov_hessian(m, &data.d, at, g2, hess), GSL_SUCCESS);
    for (size_t i = 0; i < 8; i++) {
        ck_assert_double_eq_tol(g2[i], grad[i], 1e-9 * (fabs(grad[i]) + 1));
        double p[8], gp[8], gm[8], h = 1e-5 * (fabs(at[i]) + 1e-2);
        memcpy(p, at, sizeof p);
        p[i] = at[i] + h;
        ck_assert_int_eq(cov_loglik(m, &data.d, p, &ll, gp), GSL_SUCCESS);
        p[i] = at[i] - h;
        ck_assert_int_eq(cov_loglik(m, &data.d, p, &ll, gm), GSL_SUCCESS);
        for (size_t j = 0; j < 8; j++) {
            double num = (gp[j] - gm[j]) / (2 * h);
            ck_assert_msg(fabs(num - hess[j * 8 + i]) < 1e-4 * (fabs(num) + 1),
                          "%s H[%zu][%zu]: %.10g numeric %.10g", m->name, j, i,
                          hess[j * 8 + i], num);
        }
    }
    cov_data_free(&data);
    free(zc);
    sim_base_free(&b);
}

/* Many groups (a numeric covariate with 40 values): the Hessian summed by
 * threads sharing the groups, against differences of the gradient. */
static void check_many_groups(const btyd_model *m, const double *at)
{
    const size_t sizes[] = {1200};
    sim_base b;
    simulate_base(m, at, 1, sizes, 1, 77, &b);
    double *z = malloc(b.n * sizeof *z);
    for (size_t i = 0; i < b.n; i++)
        z[i] = (double)(i % 40) / 20 - 1;
    cov_data_owned data;
    ck_assert_int_eq(cov_data_build(b.cust, z, b.n, 1, &data), GSL_SUCCESS);
    ck_assert_uint_eq(data.d.n_groups, 40);
    double hess[36], g[6], ll, gp[6], gm[6];
    ck_assert_int_eq(cov_hessian(m, &data.d, at, g, hess), GSL_SUCCESS);
    for (size_t i = 0; i < 6; i++) {
        double p[6], h = 1e-5 * (fabs(at[i]) + 1e-2);
        memcpy(p, at, sizeof p);
        p[i] = at[i] + h;
        ck_assert_int_eq(cov_loglik(m, &data.d, p, &ll, gp), GSL_SUCCESS);
        p[i] = at[i] - h;
        ck_assert_int_eq(cov_loglik(m, &data.d, p, &ll, gm), GSL_SUCCESS);
        for (size_t j = 0; j < 6; j++) {
            double num = (gp[j] - gm[j]) / (2 * h);
            ck_assert_msg(fabs(num - hess[j * 6 + i]) < 1e-4 * (fabs(num) + 1),
                          "%s H[%zu][%zu]: %.10g numeric %.10g", m->name, j, i,
                          hess[j * 6 + i], num);
        }
    }
    cov_result *r = malloc(sizeof *r);
    ck_assert_int_eq(cov_fit(m, &data.d, r), GSL_SUCCESS);
    ck_assert(r->converged && r->std_errors_ok);
    free(r);
    cov_data_free(&data);
    free(z);
    sim_base_free(&b);
}

START_TEST(test_covariates_many_groups)
{
    const double bg[] = {0.3, 5.0, 0.8, 2.5, 0.3, -0.2};
    const double pn[] = {0.55, 10.0, 0.6, 12.0, 0.3, -0.4};
    check_many_groups(&bgnbd_model, bg);
    check_many_groups(&pareto_model, pn);
}
END_TEST

START_TEST(test_covariates_gradient)
{
    const double bg[] = {0.3, 5.0, 0.8, 2.5, 0.3, -0.2, 0.4, -0.3};
    const double pn[] = {0.55, 10.0, 0.6, 12.0, 0.3, -0.2, -0.4, 0.3};
    check_gradient(&bgnbd_model, bg);
    check_gradient(&pareto_model, pn);
}
END_TEST

/* With every gamma 0 the likelihood is the plain model's, and with no
 * covariate (one level) the fit is the plain fit. */
static void check_plain(const btyd_model *m, const double *truth)
{
    const size_t sizes[] = {3000, 2000};
    double zero_truth[8];
    memcpy(zero_truth, truth, 4 * sizeof truth[0]);
    memset(zero_truth + 4, 0, 4 * sizeof truth[0]);
    sim_base b;
    simulate_base(m, zero_truth, 1, sizes, 2, 5, &b);
    double *z = malloc(b.n * sizeof *z);
    for (size_t i = 0; i < b.n; i++)
        z[i] = b.values[i];
    cov_data_owned one, none;
    ck_assert_int_eq(cov_data_build(b.cust, z, b.n, 1, &one), GSL_SUCCESS);
    ck_assert_int_eq(cov_data_build(b.cust, z, b.n, 0, &none), GSL_SUCCESS);
    ck_assert_uint_eq(none.d.n_groups, 1);
    btyd_pattern *all = malloc(b.n * sizeof *all);
    memcpy(all, b.cust, b.n * sizeof *all);
    size_t np = btyd_patterns_collapse(all, b.n);
    double plain, with;
    const double at[] = {truth[0], truth[1], truth[2], truth[3], 0, 0};
    ck_assert_int_eq(fit_btyd_loglik(m, at, all, np, &plain), GSL_SUCCESS);
    ck_assert_int_eq(cov_loglik(m, &one.d, at, &with, NULL), GSL_SUCCESS);
    ck_assert_double_eq_tol(with, plain, 1e-10 * fabs(plain));
    ck_assert_int_eq(cov_loglik(m, &none.d, at, &with, NULL), GSL_SUCCESS);
    ck_assert_double_eq_tol(with, plain, 1e-10 * fabs(plain));

    cov_result *r = malloc(sizeof *r);
    ck_assert_int_eq(cov_fit(m, &none.d, r), GSL_SUCCESS);
    fit_result f;
    ck_assert_int_eq(fit_btyd(m, all, np, 0, NULL, &f), GSL_SUCCESS);
    ck_assert_uint_eq(r->n_params, 4);
    ck_assert_double_eq_tol(r->log_likelihood, f.log_likelihood,
                            1e-9 * fabs(f.log_likelihood));
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq_tol(r->params[j], f.params[j], 1e-5 * f.params[j]);
    ck_assert_uint_eq(r->lr_df, 0);
    ck_assert_double_eq_tol(r->lr_statistic, 0, 1e-6);
    ck_assert_double_eq(r->lr_p_value, 1.0);
    /* one level with no effect: a small, insignificant LR statistic */
    ck_assert_int_eq(cov_fit(m, &one.d, r), GSL_SUCCESS);
    ck_assert(r->converged);
    ck_assert_uint_eq(r->lr_df, 2);
    ck_assert(r->lr_p_value > 1e-3);
    free(r);
    free(all);
    cov_data_free(&one);
    cov_data_free(&none);
    free(z);
    sim_base_free(&b);
}

START_TEST(test_covariates_zero_gammas_are_the_plain_model)
{
    const double bg[] = {0.243, 4.414, 0.793, 2.426};
    const double pn[] = {0.553, 10.58, 0.606, 11.67};
    check_plain(&bgnbd_model, bg);
    check_plain(&pareto_model, pn);
}
END_TEST

/* A level below the minimum is pooled into "other" (or, "other" being too
 * small, into the baseline); a level with no repeat purchase at all has no
 * identified purchase coefficient and is pooled after a first fit. */
START_TEST(test_covariates_pooling)
{
    const double truth[] = {0.243, 4.414, 0.793, 2.426, 0.3, 0, 0, 0, 0, 0, 0, 0};
    const size_t sizes[] = {6000, 3000, 20, 15, 400};
    sim_base b;
    simulate_base(&bgnbd_model, truth, 4, sizes, 5, 11, &b);
    /* level 4: nobody ever buys again */
    for (size_t i = 0; i < b.n; i++)
        if (b.values[i] == 4)
            b.cust[i].x = b.cust[i].t_x = 0;
    cov_level levels[5];
    cov_variable var;
    cov_design d;
    cov_result *r = malloc(sizeof *r);
    fit_levels(&bgnbd_model, &b, 5, 30, levels, &var, &d, r);
    ck_assert_int_eq(levels[0].role, COV_LEVEL_BASELINE);
    ck_assert_int_eq(levels[1].role, COV_LEVEL_OWN);
    /* 20 + 15 < 30: "other" too small, the two join the baseline */
    ck_assert_int_eq(levels[2].role, COV_LEVEL_IN_BASELINE);
    ck_assert_int_eq(levels[2].reason, COV_POOL_SMALL);
    ck_assert_int_eq(levels[3].role, COV_LEVEL_IN_BASELINE);
    /* the buyer-less level is not identified: pooled, then in the baseline
     * too (it is alone in "other" and not identified there either) */
    ck_assert_int_ne(levels[4].role, COV_LEVEL_OWN);
    ck_assert_int_eq(levels[4].reason, COV_POOL_UNIDENTIFIED);
    ck_assert(r->std_errors_ok);
    ck_assert(r->converged);
    ck_assert_uint_eq(d.n_columns, levels[4].role == COV_LEVEL_OTHER ? 2 : 1);
    /* a pooled level gets its pool's parameters */
    double p2[4], p0[4], se[4];
    ck_assert_int_eq(cov_design_level_params(&bgnbd_model, &d, r, 0, 2, p2, se),
                     GSL_SUCCESS);
    ck_assert_int_eq(cov_design_level_params(&bgnbd_model, &d, r, 0, 0, p0, se),
                     GSL_SUCCESS);
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq(p2[j], p0[j]);
    free(r);
    sim_base_free(&b);
}
END_TEST

START_TEST(test_covariates_bad_input)
{
    cov_level levels[2];
    cov_variable var = {
        .name = "c", .categorical = true, .n_levels = 2, .levels = levels};
    cov_design d;
    char err[256];
    const double bad[] = {0, 2};
    ck_assert_int_eq(cov_design_init(&d, &var, 1, bad, NULL, 2, 30, err, sizeof err), -1);
    ck_assert(strstr(err, "customer 1") != NULL);
    cov_variable num = {.name = "x", .categorical = false};
    const double nan_v[] = {0, NAN};
    ck_assert_int_eq(cov_design_init(&d, &num, 1, nan_v, NULL, 2, 30, err, sizeof err),
                     -1);
    cov_data_owned o;
    btyd_pattern p = {1, 1, 2, 1};
    ck_assert_int_eq(cov_data_build(&p, NULL, 0, 0, &o), GSL_EDOM);
    cov_data none = {0};
    cov_result *r = malloc(sizeof *r);
    ck_assert_int_eq(cov_fit(&mbgnbd_model, &none, r), GSL_EDOM);
    free(r);
}
END_TEST

/* The optimum of tests/reference/covariates_fit.py (mpmath, Newton from
 * its own start; printed there) on tests/data/covariates_*.csv, read as
 * `ltvd fit --covariates` reads them: the C optimum's parameters to ~1e-6
 * relative (the reference's 12 digits agree to ~1e-8), its LL to 1e-9
 * relative, its standard errors to 1e-3. */
typedef struct ref_fit {
    const btyd_model *m;
    double params[8], se[8], ll;
} ref_fit;

static const ref_fit reference[] = {
    {&bgnbd_model,
     {0.244495247008, 4.52912929939, 0.971803190463, 2.85702446663, 0.630831009084,
      -0.247353648088, 0.584013744608, -0.188006275839},
     {0.0109551, 0.403137, 0.290379, 0.953931, 0.106569, 0.134634, 0.413312, 0.611352},
     -12608.0354810949},
    {&pareto_model,
     {0.587061072255, 11.830898164, 0.943761435988, 21.3716969479, 0.512124258967,
      -0.17585429037, 0.23487016082, -0.0992269351104},
     {0.0433345, 0.913579, 0.365885, 12.6508, 0.0830768, 0.112774, 0.152056, 0.241637},
     -12648.81226816},
};

START_TEST(test_covariates_reference_optimum)
{
    const ref_fit *ref = &reference[_i];
    summary_set sum;
    char err[SUMMARY_ERR_MAX];
    ck_assert_int_eq(summary_read_csv("tests/data/covariates_summary.csv", &sum, err), 0);
    cli_options o = {.covariates = "tests/data/covariates_channels.csv"};
    cli_cov_table t;
    ck_assert_int_eq(cli_cov_table_read(&o, &sum, &t), 0);
    ck_assert_uint_eq(t.n_vars, 1);
    ck_assert(t.vars[0].categorical);
    btyd_pattern *cust = malloc(sum.n * sizeof *cust);
    for (size_t i = 0; i < sum.n; i++)
        cust[i] = (btyd_pattern){sum.rows[i].frequency, sum.rows[i].recency,
                                 sum.rows[i].T, sum.rows[i].weight};
    cov_design d;
    ck_assert_int_eq(
        cov_design_init(&d, t.vars, 1, t.values, NULL, sum.n, 30, err, sizeof err), 0);
    cov_result *r = malloc(sizeof *r);
    ck_assert_int_eq(cov_design_fit(ref->m, &d, cust, t.values, sum.n, r), GSL_SUCCESS);
    ck_assert(r->converged && r->std_errors_ok);
    /* email and social have their own dummies, in that order; fax joins web */
    ck_assert_uint_eq(d.n_columns, 2);
    ck_assert_str_eq(t.level_names[0][d.columns[0].level], "email");
    ck_assert_str_eq(t.level_names[0][d.columns[1].level], "social");
    for (size_t i = 0; i < 8; i++) {
        ck_assert_msg(fabs(r->params[i] - ref->params[i]) <
                          1e-6 * (fabs(ref->params[i]) + 0.1),
                      "%s param %zu: %.12g, reference %.12g", ref->m->name, i,
                      r->params[i], ref->params[i]);
        ck_assert_msg(fabs(r->std_errors[i] - ref->se[i]) < 1e-3 * ref->se[i],
                      "%s se %zu: %.6g, reference %.6g", ref->m->name, i,
                      r->std_errors[i], ref->se[i]);
    }
    ck_assert_double_eq_tol(r->log_likelihood, ref->ll, 1e-9 * fabs(ref->ll));
    free(r);
    free(cust);
    cli_cov_table_free(&t);
    summary_set_free(&sum);
}
END_TEST

/* The standard errors are what the estimates' spread over replications
 * says: 24 simulated bases of 4000 customers, the standard deviation of
 * each gamma against the mean reported standard error (sd of an sd from 24
 * draws: ~15%, so within 40%). */
START_TEST(test_covariates_std_errors_match_replications)
{
    const double truth[] = {0.243, 4.414, 0.793, 2.426, 0.5, -0.4, 0.6, -0.5};
    const size_t sizes[] = {2000, 1200, 800};
    enum { REPS = 24 };
    double est[REPS][4], se_mean[4] = {0};
    for (int rep = 0; rep < REPS; rep++) {
        sim_base b;
        simulate_base(&bgnbd_model, truth, 2, sizes, 3, 1000 + (unsigned long)rep, &b);
        cov_level levels[3];
        cov_variable var;
        cov_design d;
        cov_result *r = malloc(sizeof *r);
        fit_levels(&bgnbd_model, &b, 3, 30, levels, &var, &d, r);
        ck_assert(r->std_errors_ok);
        for (int k = 0; k < 4; k++) {
            est[rep][k] = r->params[4 + k];
            se_mean[k] += r->std_errors[4 + k] / REPS;
        }
        free(r);
        sim_base_free(&b);
    }
    for (int k = 0; k < 4; k++) {
        double mean = 0, var = 0;
        for (int rep = 0; rep < REPS; rep++)
            mean += est[rep][k] / REPS;
        for (int rep = 0; rep < REPS; rep++)
            var += (est[rep][k] - mean) * (est[rep][k] - mean) / (REPS - 1);
        double sd = sqrt(var);
        ck_assert_msg(sd > 0.6 * se_mean[k] && sd < 1.4 * se_mean[k],
                      "gamma %d: sd over replications %g, mean reported se %g", k, sd,
                      se_mean[k]);
    }
}
END_TEST

Suite *suite_covariates(void)
{
    Suite *s = suite_create("covariates");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_covariates_recovery_bgnbd);
    tcase_add_test(tc, test_covariates_recovery_pareto);
    tcase_add_test(tc, test_covariates_gradient);
    tcase_add_test(tc, test_covariates_many_groups);
    tcase_add_test(tc, test_covariates_zero_gammas_are_the_plain_model);
    tcase_add_test(tc, test_covariates_pooling);
    tcase_add_test(tc, test_covariates_bad_input);
    tcase_add_loop_test(tc, test_covariates_reference_optimum, 0, 2);
    tcase_add_test(tc, test_covariates_std_errors_match_replications);
    suite_add_tcase(s, tc);
    return s;
}
