/* suite_accept: when a fit may be served (model/accept.h), on data where a
 * model is not identified, generated here deterministically (GSL's
 * mt19937 with fixed seeds):
 *   - homogeneous drop-out: 3000 customers with Gamma(2, 8 weeks) purchase
 *     rates who all drop out with probability 0.2 after each repeat
 *     purchase (bggeo's generative process). BG/NBD's Beta(a, b) collapses
 *     (a, b in the 1e9) and is refused as not identified; bggeo, its limit,
 *     is accepted and finds p = 0.2;
 *   - no repeat buyers (every x = 0): refused;
 *   - heavy-tailed spend: Gamma-Gamma data with q = 0.36: refused (q <= 1),
 *     and such parameters cannot score;
 * and the control: the CDNOW fits of the published papers are accepted.
 * bggeo is also checked against BG/NBD with a = p K, b = (1-p) K for a large
 * K (the limit it is), and `ltvd fit` on these data exits 1 with
 * "converged": false and the reason (and Gamma-Gamma counts the customers
 * it used and those left out for a repeat spend of zero). */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/accept.h"
#include "model/btyd.h"
#include "model/fit.h"
#include "model/gg.h"
#include "rowcsv.h"
#include "summary/summary.h"
#include "testrun.h"

#define N_HOMOGENEOUS 3000
#define CDNOW_SUMMARY "tests/data/cdnow_customers_summary.csv"

static const double geo_truth[3] = {2.0, 8.0, 0.2}; /* r, alpha (weeks), p */

static void setup(void)
{
    gsl_set_error_handler_off();
}

/* The homogeneous drop-out customers: T from 20 to 58 weeks, t_x on whole
 * days. Returns the collapsed count; *out malloc'd. */
static size_t homogeneous(btyd_pattern **out)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    btyd_pattern *p = malloc(N_HOMOGENEOUS * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < N_HOMOGENEOUS; i++) {
        double T = 20 + (i % 20) * 2, x, t_x;
        ck_assert_int_eq(bggeo_model.simulate(geo_truth, T, rng, &x, &t_x), GSL_SUCCESS);
        p[i] = (btyd_pattern){x, floor(t_x * 7) / 7, T, 1};
    }
    gsl_rng_free(rng);
    *out = p;
    return btyd_patterns_collapse(p, N_HOMOGENEOUS);
}

START_TEST(test_accept_homogeneous_dropout)
{
    btyd_pattern *p;
    size_t n = homogeneous(&p);
    fit_result r;
    char why[512];
    ck_assert_int_eq(fit_btyd(&bgnbd_model, p, n, 0, NULL, &r), GSL_SUCCESS);
    accept_code c = accept_btyd(&bgnbd_model, &r, why, sizeof why);
    printf("homogeneous drop-out: BG/NBD a = %.3g, b = %.3g, converged %d: %s\n",
           r.params[2], r.params[3], r.converged, why);
    ck_assert_msg(c == ACCEPT_BOUNDARY || c == ACCEPT_HESSIAN, "BG/NBD accepted: %g %g",
                  r.params[2], r.params[3]);
    ck_assert_msg(strstr(why, "not identified") != NULL, "%s", why);
    double ll_bgnbd = r.log_likelihood;

    ck_assert_int_eq(fit_btyd(&bggeo_model, p, n, 0, NULL, &r), GSL_SUCCESS);
    c = accept_btyd(&bggeo_model, &r, why, sizeof why);
    ck_assert_msg(c == ACCEPT_OK, "bggeo refused: %s", why);
    printf("homogeneous drop-out: bggeo r = %.4f alpha = %.4f p = %.4f (SE %.4f), "
           "LL %.4f (BG/NBD %.4f)\n",
           r.params[0], r.params[1], r.params[2], r.std_errors[2], r.log_likelihood,
           ll_bgnbd);
    ck_assert(fabs(r.params[2] - geo_truth[2]) < 0.03);
    ck_assert(fabs(r.log_likelihood - ll_bgnbd) < 1e-3 * fabs(ll_bgnbd));
    ck_assert_int_eq(accept_scores(&bggeo_model, r.params, NULL, p, n, NULL, 0, 52, NULL,
                                   10, why, sizeof why),
                     ACCEPT_OK);
    free(p);
}
END_TEST

/* bggeo is BG/NBD at a = p K, b = (1 - p) K, K -> infinity. */
START_TEST(test_accept_bggeo_is_the_limit)
{
    const double geo[3] = {0.8, 5.0, 0.3}, K = 1e8;
    const double nbd[4] = {0.8, 5.0, 0.3 * K, 0.7 * K};
    const double h[][3] = {
        {0, 0, 10}, {1, 2, 10}, {4, 9.5, 30}, {12, 20, 21}, {40, 39, 52}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        double x = h[i][0], t_x = h[i][1], T = h[i][2], a, b;
        ck_assert_int_eq(bggeo_model.loglik(geo, x, t_x, T, &a), GSL_SUCCESS);
        ck_assert_int_eq(bgnbd_model.loglik(nbd, x, t_x, T, &b), GSL_SUCCESS);
        ck_assert_msg(fabs(a - b) < 1e-6 * fabs(b) + 1e-7, "loglik %g %g", a, b);
        ck_assert_int_eq(bggeo_model.p_alive(geo, x, t_x, T, &a), GSL_SUCCESS);
        ck_assert_int_eq(bgnbd_model.p_alive(nbd, x, t_x, T, &b), GSL_SUCCESS);
        ck_assert_msg(fabs(a - b) < 1e-6, "p_alive %g %g", a, b);
        ck_assert_int_eq(bggeo_model.expected(geo, x, t_x, T, 26, &a), GSL_SUCCESS);
        ck_assert_int_eq(bgnbd_model.expected(nbd, x, t_x, T, 26, &b), GSL_SUCCESS);
        ck_assert_msg(fabs(a - b) < 1e-5 * fabs(b) + 1e-9, "expected %g %g", a, b);
        for (unsigned k = 0; k < 4; k++) {
            ck_assert_int_eq(bggeo_model.p_n(geo, x, t_x, T, 26, k, &a), GSL_SUCCESS);
            ck_assert_int_eq(bgnbd_model.p_n(nbd, x, t_x, T, 26, k, &b), GSL_SUCCESS);
            ck_assert_msg(fabs(a - b) < 1e-5, "p_n(%u) %g %g", k, a, b);
        }
    }
    double a, b;
    ck_assert_int_eq(bggeo_model.expected_new(geo, 30, &a), GSL_SUCCESS);
    ck_assert_int_eq(bgnbd_model.expected_new(nbd, 30, &b), GSL_SUCCESS);
    ck_assert_msg(fabs(a - b) < 1e-5 * b, "expected_new %g %g", a, b);
    ck_assert_int_eq(bggeo_model.loglik((double[]){1, 1, 1.0}, 1, 1, 2, &a), GSL_EDOM);
}
END_TEST

/* The homogeneous purchase-rate customers: bgpois's generative process,
 * everyone buying at 0.5 a week while alive, drop-out p ~ Beta(1.2, 4). */
static const double pois_truth[3] = {0.5, 1.2, 4.0}; /* lambda (per week), a, b */

static size_t homogeneous_rate(btyd_pattern **out)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    btyd_pattern *p = malloc(N_HOMOGENEOUS * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < N_HOMOGENEOUS; i++) {
        double T = 20 + (i % 20) * 2, x, t_x;
        ck_assert_int_eq(bgpois_model.simulate(pois_truth, T, rng, &x, &t_x),
                         GSL_SUCCESS);
        p[i] = (btyd_pattern){x, floor(t_x * 7) / 7, T, 1};
    }
    gsl_rng_free(rng);
    *out = p;
    return btyd_patterns_collapse(p, N_HOMOGENEOUS);
}

/* Everyone buys at one rate: BG/NBD's Gamma(r, alpha) runs off to r,
 * alpha -> infinity and is refused; bgpois, its limit, is accepted, finds
 * lambda and reaches BG/NBD's likelihood. */
START_TEST(test_accept_homogeneous_rate)
{
    btyd_pattern *p;
    size_t n = homogeneous_rate(&p);
    fit_result r;
    char why[512];
    ck_assert_int_eq(fit_btyd(&bgnbd_model, p, n, 0, NULL, &r), GSL_SUCCESS);
    accept_code c = accept_btyd(&bgnbd_model, &r, why, sizeof why);
    printf("homogeneous rate: BG/NBD r = %.3g, alpha = %.3g, converged %d: %s\n",
           r.params[0], r.params[1], r.converged, why);
    ck_assert_msg(c != ACCEPT_OK, "BG/NBD accepted: r %g alpha %g", r.params[0],
                  r.params[1]);
    double ll_bgnbd = r.log_likelihood;
    ck_assert_int_eq(fit_btyd(&bgpois_model, p, n, 0, NULL, &r), GSL_SUCCESS);
    c = accept_btyd(&bgpois_model, &r, why, sizeof why);
    ck_assert_msg(c == ACCEPT_OK, "bgpois refused: %s", why);
    printf("homogeneous rate: bgpois lambda = %.4f (SE %.4f) a = %.4f b = %.4f, "
           "LL %.4f (BG/NBD %.4f)\n",
           r.params[0], r.std_errors[0], r.params[1], r.params[2], r.log_likelihood,
           ll_bgnbd);
    ck_assert(fabs(r.params[0] - pois_truth[0]) < 0.05);
    ck_assert(r.log_likelihood >= ll_bgnbd - 1e-3 * fabs(ll_bgnbd));
    ck_assert_int_eq(accept_scores(&bgpois_model, r.params, NULL, p, n, NULL, 0, 52, NULL,
                                   10, why, sizeof why),
                     ACCEPT_OK);
    free(p);
}
END_TEST

/* bgpois is BG/NBD at r = lambda K, alpha = K, K -> infinity. */
START_TEST(test_accept_bgpois_is_the_limit)
{
    const double pois[3] = {0.4, 0.7, 2.5}, K = 1e7;
    const double nbd[4] = {0.4 * K, K, 0.7, 2.5};
    const double h[][3] = {
        {0, 0, 10}, {1, 2, 10}, {4, 9.5, 30}, {12, 20, 21}, {40, 39, 52}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        double x = h[i][0], t_x = h[i][1], T = h[i][2], a, b;
        ck_assert_int_eq(bgpois_model.loglik(pois, x, t_x, T, &a), GSL_SUCCESS);
        ck_assert_int_eq(bgnbd_model.loglik(nbd, x, t_x, T, &b), GSL_SUCCESS);
        ck_assert_msg(fabs(a - b) < 1e-5 * fabs(b) + 1e-6, "loglik %g %g", a, b);
        ck_assert_int_eq(bgpois_model.p_alive(pois, x, t_x, T, &a), GSL_SUCCESS);
        ck_assert_int_eq(bgnbd_model.p_alive(nbd, x, t_x, T, &b), GSL_SUCCESS);
        ck_assert_msg(fabs(a - b) < 1e-5, "p_alive %g %g", a, b);
        ck_assert_int_eq(bgpois_model.expected(pois, x, t_x, T, 26, &a), GSL_SUCCESS);
        ck_assert_int_eq(bgnbd_model.expected(nbd, x, t_x, T, 26, &b), GSL_SUCCESS);
        ck_assert_msg(fabs(a - b) < 1e-4 * fabs(b) + 1e-9, "expected %g %g", a, b);
        for (unsigned k = 0; k < 4; k++) {
            ck_assert_int_eq(bgpois_model.p_n(pois, x, t_x, T, 26, k, &a), GSL_SUCCESS);
            ck_assert_int_eq(bgnbd_model.p_n(nbd, x, t_x, T, 26, k, &b), GSL_SUCCESS);
            ck_assert_msg(fabs(a - b) < 1e-4, "p_n(%u) %g %g", k, a, b);
        }
    }
    double a, b;
    ck_assert_int_eq(bgpois_model.expected_new(pois, 30, &a), GSL_SUCCESS);
    ck_assert_int_eq(bgnbd_model.expected_new(nbd, 30, &b), GSL_SUCCESS);
    ck_assert_msg(fabs(a - b) < 1e-4 * b, "expected_new %g %g", a, b);
    ck_assert_int_eq(bgpois_model.loglik((double[]){0, 1, 1}, 1, 1, 2, &a), GSL_EDOM);
}
END_TEST

/* bgpois against tests/data/ref_bgpois.csv (tests/reference/bgpois.py:
 * mpmath at 40 digits, the expectation by two independent routes). */
#define REF_BGPOIS "tests/data/ref_bgpois.csv"

typedef struct pois_stats {
    int rows, failures;
    double max_rel;
} pois_stats;

static void pois_row(char **f, void *ctx)
{
    pois_stats *st = ctx;
    double par[3] = {atof(f[0]), atof(f[1]), atof(f[2])};
    double x = atof(f[4]), t_x = atof(f[5]), T = atof(f[6]), t = atof(f[7]);
    unsigned k = (unsigned)atoi(f[8]);
    double want = atof(f[9]), got = NAN;
    int rc = GSL_EINVAL;
    if (strcmp(f[3], "loglik") == 0)
        rc = bgpois_model.loglik(par, x, t_x, T, &got);
    else if (strcmp(f[3], "p_alive") == 0)
        rc = bgpois_model.p_alive(par, x, t_x, T, &got);
    else if (strcmp(f[3], "expected") == 0)
        rc = bgpois_model.expected(par, x, t_x, T, t, &got);
    else if (strcmp(f[3], "p_n") == 0)
        rc = bgpois_model.p_n(par, x, t_x, T, t, k, &got);
    else if (strcmp(f[3], "expected_new") == 0)
        rc = bgpois_model.expected_new(par, t, &got);
    else if (strcmp(f[3], "p_n_new") == 0)
        rc = bgpois_model.p_n_new(par, t, k, &got);
    st->rows++;
    /* probabilities far below 1 are held to an absolute 1e-12 */
    double floor = f[3][0] == 'p' ? 1e-4 : 1e-300;
    double e = rc != GSL_SUCCESS ? INFINITY : fabs(got - want) / fmax(fabs(want), floor);
    if (e > st->max_rel)
        st->max_rel = e;
    if (!(e <= 1e-8)) {
        st->failures++;
        fprintf(
            stderr,
            "bgpois ref %s %s %s %s x=%s t_x=%s T=%s t=%s k=%s: got %.17g want %.17g\n",
            f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], got, want);
    }
}

START_TEST(test_accept_bgpois_reference)
{
    pois_stats st = {0};
    ck_assert_msg(rowcsv_read(REF_BGPOIS, 10, pois_row, &st) > 0,
                  "cannot read " REF_BGPOIS);
    ck_assert_int_gt(st.rows, 350);
    printf("bgpois: %d reference values, max rel. error %.3g\n", st.rows, st.max_rel);
    ck_assert_int_eq(st.failures, 0);
}
END_TEST

/* A fit whose drop-out probability is almost always 0 (a -> 0, b large:
 * a red team's 80 customers gave lambda 0.0682, a 1.35e-4, b 4672): the
 * weight p^(a-1) is too near p^-1 for QAWS, and every customer without a
 * repeat purchase failed to score, so the tenant had no model at all.
 * The moment series scores them. Reference: mpmath (40 digits),
 * quad(lambda u: hyp1f1(a, a+b, -u), [0, lambda*t]), the same expectation
 * E[(1 - e^(-lambda t p)) / p]. */
START_TEST(test_accept_bgpois_almost_no_dropout)
{
    const double p[3] = {0.0682, 1.35e-4, 4672};
    const double t[4] = {1, 10, 52, 520};
    const double want[4] = {0.068199999932800264688, 0.68199999328032070985,
                            3.5463998183369874839, 35.463981874902826739};
    for (int i = 0; i < 4; i++) {
        double e, n;
        ck_assert_int_eq(bgpois_model.expected(p, 0, 0, 30, t[i], &e), GSL_SUCCESS);
        ck_assert_int_eq(bgpois_model.expected_new(p, t[i], &n), GSL_SUCCESS);
        ck_assert_double_eq_tol(e, want[i], 1e-12 * want[i]);
        ck_assert_double_eq_tol(n, want[i], 1e-12 * want[i]);
    }
    double pa, e; /* three repeat purchases: b + 3 */
    ck_assert_int_eq(bgpois_model.p_alive(p, 3, 20, 30, &pa), GSL_SUCCESS);
    ck_assert_int_eq(bgpois_model.expected(p, 3, 20, 30, 52, &e), GSL_SUCCESS);
    ck_assert_double_eq_tol(e / pa, 3.5463998184535332217, 1e-12 * 3.55);
}
END_TEST

START_TEST(test_accept_no_repeat_buyers)
{
    btyd_pattern p[40];
    for (int i = 0; i < 40; i++)
        p[i] = (btyd_pattern){0, 0, 10 + i, 1};
    const btyd_model *models[] = {&bgnbd_model, &pareto_model, &bggeo_model};
    for (size_t k = 0; k < 3; k++) {
        fit_result r;
        char why[512] = "";
        int rc = fit_btyd(models[k], p, 40, 0, NULL, &r);
        accept_code c = rc == GSL_SUCCESS ? accept_btyd(models[k], &r, why, sizeof why)
                                          : ACCEPT_NOT_FINITE;
        printf("no repeat buyers: %s rc %d: %s\n", models[k]->name, rc, why);
        ck_assert_msg(c != ACCEPT_OK, "%s accepted on customers without repeats",
                      models[k]->name);
    }
}
END_TEST

/* Gamma-Gamma data: x = 1..6 purchases, v ~ Gamma(q, gamma), purchase values
 * Gamma(p, v). */
static size_t heavy_spend(const double *gg, gg_pattern *out, size_t n)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    for (size_t i = 0; i < n; i++) {
        double x = 1 + (double)(i % 6), m;
        ck_assert_int_eq(gg_simulate(gg, x, rng, &m), GSL_SUCCESS);
        out[i] = (gg_pattern){x, m, 1};
    }
    gsl_rng_free(rng);
    return n;
}

START_TEST(test_accept_heavy_tailed_spend)
{
    const double truth[3] = {4.0, 0.36, 10.0};
    static gg_pattern g[4000];
    size_t n = heavy_spend(truth, g, 4000);
    fit_result r;
    char why[512];
    ck_assert_int_eq(gg_fit(g, n, 0, NULL, &r), GSL_SUCCESS);
    accept_code c = accept_gg(&r, why, sizeof why);
    printf("heavy-tailed spend: p %.3f q %.3f v %.3f: %s\n", r.params[0], r.params[1],
           r.params[2], why);
    ck_assert_int_eq(c, ACCEPT_HEAVY_TAIL);
    ck_assert_msg(strstr(why, "q = ") != NULL, "%s", why);
    /* such parameters cannot score: the mean spend at x = 0 is infinite */
    btyd_pattern p = {2, 5, 10, 1};
    const double bg[4] = {0.24, 4.4, 0.79, 2.4};
    ck_assert_int_eq(accept_scores(&bgnbd_model, bg, r.params, &p, 1, g, n, 52, NULL, 10,
                                   why, sizeof why),
                     ACCEPT_SCORING);
}
END_TEST

/* The published CDNOW fits pass. */
START_TEST(test_accept_cdnow)
{
    summary_set s;
    char err[SUMMARY_ERR_MAX];
    ck_assert_msg(summary_read_csv(CDNOW_SUMMARY, &s, err) == 0, "%s", err);
    btyd_pattern *p;
    size_t n;
    ck_assert_int_eq(summary_patterns(&s, &p, &n), 0);
    const btyd_model *models[] = {&bgnbd_model, &pareto_model, &mbgnbd_model,
                                  &bggeo_model};
    for (size_t k = 0; k < 4; k++) {
        fit_result r;
        char why[512] = "";
        ck_assert_int_eq(fit_btyd(models[k], p, n, 0, NULL, &r), GSL_SUCCESS);
        ck_assert_msg(accept_btyd(models[k], &r, why, sizeof why) == ACCEPT_OK, "%s: %s",
                      models[k]->name, why);
        ck_assert_msg(accept_scores(models[k], r.params, NULL, p, n, NULL, 0, 52, NULL,
                                    10, why, sizeof why) == ACCEPT_OK,
                      "%s: %s", models[k]->name, why);
    }
    free(p);
    summary_set_free(&s);
}
END_TEST

/* Runs `ltvd fit` with args on a file, expects exit 1 and a problem with
 * want in it, in the JSON (with "converged": false) and on stderr. */
static void cli_refused(const char *args, const char *path, const char *want)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "$LTVD fit %s --summary %s", args, path);
    testrun_out o = testrun_sh(cmd);
    ck_assert_msg(o.status == 1, "%s: status %d: %s %s", args, o.status, o.out, o.err);
    json_t *doc = json_loads(o.out, 0, NULL);
    ck_assert_msg(doc != NULL, "%s: %s", args, o.out);
    ck_assert(json_is_false(json_object_get(doc, "converged")));
    const char *problem = json_string_value(json_object_get(doc, "problem"));
    ck_assert_msg(problem != NULL && strstr(problem, want) != NULL, "%s: %s", args,
                  o.out);
    ck_assert_msg(strstr(o.err, want) != NULL, "%s: %s", args, o.err);
    json_decref(doc);
    testrun_free(&o);
}

/* A temporary CSV file: its path into path (unlink it), the stream open. */
static FILE *temp_csv(char path[32])
{
    snprintf(path, 32, "/tmp/ltvd_accept_XXXXXX.csv");
    int fd = mkstemps(path, 4);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    return f;
}

/* `ltvd fit` on customers without repeat purchases, and Gamma-Gamma on
 * heavy-tailed spend (q = 0.36): exit 1 with the reason. */
START_TEST(test_accept_cli_no_repeats_heavy_spend)
{
    char path[32];
    FILE *f = temp_csv(path);
    fprintf(f, "ID,frequency,recency,T\n");
    for (int i = 0; i < 40; i++)
        fprintf(f, "n%d,0,0,%d\n", i, 10 + i);
    fclose(f);
    cli_refused("--model bgnbd --period week", path, "not identified");
    unlink(path);

    static gg_pattern g[4000];
    const double truth[3] = {4.0, 0.36, 10.0};
    size_t n = heavy_spend(truth, g, 4000);
    f = temp_csv(path);
    fprintf(f, "ID,frequency,recency,T,monetary_value\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "s%zu,%g,%g,%g,%.17g\n", i, g[i].x, g[i].x, g[i].x + 5, g[i].m);
    fprintf(f, "z0,2,3,8,0\n"); /* repeat spend all zero: left out */
    fclose(f);
    cli_refused("--model gg", path, "heavy-tailed spend");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "$LTVD fit --model gg --summary %s", path);
    testrun_out o = testrun_sh(cmd);
    json_t *doc = json_loads(o.out, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "n_customers")), 4000);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "n_customers_zero_spend")),
                     1);
    json_decref(doc);
    testrun_free(&o);
    unlink(path);
}
END_TEST

/* `ltvd fit` on the homogeneous drop-out data: exit 1, the JSON says
 * "converged": false and the problem; bggeo on the same file exits 0. */
START_TEST(test_accept_cli_refuses)
{
    btyd_pattern *p;
    size_t n = homogeneous(&p);
    char path[] = "/tmp/ltvd_accept_XXXXXX.csv";
    int fd = mkstemps(path, 4);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "ID,frequency,recency,T,weights\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "h%zu,%g,%.17g,%g,%g\n", i, p[i].x, p[i].t_x, p[i].T, p[i].weight);
    fclose(f);
    free(p);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "$LTVD fit --model bgnbd --period week --summary %s", path);
    testrun_out o = testrun_sh(cmd);
    ck_assert_msg(o.status == 1, "status %d: %s %s", o.status, o.out, o.err);
    json_t *doc = json_loads(o.out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_false(json_object_get(doc, "converged")));
    const char *problem = json_string_value(json_object_get(doc, "problem"));
    ck_assert_msg(problem != NULL && strstr(problem, "not identified") != NULL, "%s",
                  o.out);
    ck_assert_msg(strstr(o.err, "not identified") != NULL, "%s", o.err);
    json_decref(doc);
    testrun_free(&o);
    snprintf(cmd, sizeof cmd, "$LTVD fit --model bggeo --period week --summary %s", path);
    o = testrun_sh(cmd);
    ck_assert_msg(o.status == 0, "status %d: %s %s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.out, "\"converged\": true") != NULL, "%s", o.out);
    testrun_free(&o);
    /* ltvd score applies the same rule: no rows from a fit that is not one */
    snprintf(cmd, sizeof cmd,
             "$LTVD score --model bgnbd --period week --horizon 4 --summary %s", path);
    o = testrun_sh(cmd);
    ck_assert_msg(o.status != 0 && o.out[0] == '\0', "status %d: %.200s", o.status,
                  o.out);
    ck_assert_msg(strstr(o.err, "not identified") != NULL, "%s", o.err);
    testrun_free(&o);
    unlink(path);
}
END_TEST

Suite *suite_accept(void)
{
    Suite *s = suite_create("accept");
    TCase *tc = tcase_create("accept");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_accept_homogeneous_dropout);
    tcase_add_test(tc, test_accept_bggeo_is_the_limit);
    tcase_add_test(tc, test_accept_homogeneous_rate);
    tcase_add_test(tc, test_accept_bgpois_is_the_limit);
    tcase_add_test(tc, test_accept_bgpois_reference);
    tcase_add_test(tc, test_accept_bgpois_almost_no_dropout);
    tcase_add_test(tc, test_accept_no_repeat_buyers);
    tcase_add_test(tc, test_accept_heavy_tailed_spend);
    tcase_add_test(tc, test_accept_cdnow);
    tcase_add_test(tc, test_accept_cli_refuses);
    tcase_add_test(tc, test_accept_cli_no_repeats_heavy_spend);
    suite_add_tcase(s, tc);
    return s;
}
