/* End-to-end tests of the ltvd binary (`ltvd fit`, `ltvd score`): real
 * processes on the CDNOW and donations data, output parsed back. The binary
 * is ./ltvd unless LTVD_BIN says otherwise. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUMMARY "tests/data/cdnow_customers_summary.csv"
#define SPEND "tests/data/cdnow_customers_summary_with_transactions.csv"
#define TXNS "tests/data/cdnow_sample_transactions.csv"

typedef struct run_out {
    char *out;
    char *err;
    int status;
} run_out;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return strdup("");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Runs `ltvd ARGS` through the shell, capturing stdout and stderr. */
static run_out run(const char *args)
{
    const char *bin = getenv("LTVD_BIN") ? getenv("LTVD_BIN") : "./ltvd";
    char out_path[] = "/tmp/ltvd_cli_outXXXXXX", err_path[] = "/tmp/ltvd_cli_errXXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    ck_assert(fo >= 0 && fe >= 0);
    close(fo);
    close(fe);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", bin, args, out_path, err_path);
    int st = system(cmd);
    run_out r = {slurp(out_path), slurp(err_path), WIFEXITED(st) ? WEXITSTATUS(st) : -1};
    unlink(out_path);
    unlink(err_path);
    return r;
}

static void run_free(run_out *r)
{
    free(r->out);
    free(r->err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static json_t *fit_json(const char *args)
{
    run_out r = run(args);
    ck_assert_msg(r.status == 0, "ltvd %s failed: %s", args, r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", e.text);
    run_free(&r);
    return j;
}

static double param(json_t *j, const char *name)
{
    return json_number_value(json_object_get(json_object_get(j, "params"), name));
}

/* |fit - published| within 0.1% of the published value, allowing for its
 * rounding to `half_ulp` (half a unit of the last published digit). */
static void assert_published(double fit, double pub, double half_ulp)
{
    double tol = fmax(1e-3 * fabs(pub), half_ulp);
    ck_assert_msg(fabs(fit - pub) <= tol, "fit %.6f vs published %.4f", fit, pub);
}

START_TEST(test_cli_fit_bgnbd_cdnow)
{
    json_t *j = fit_json("fit --model bgnbd --period week --summary " SUMMARY);
    ck_assert_str_eq(json_string_value(json_object_get(j, "model")), "bgnbd");
    ck_assert_str_eq(json_string_value(json_object_get(j, "period")), "week");
    assert_published(param(j, "r"), 0.243, 5e-4);
    assert_published(param(j, "alpha"), 4.414, 5e-4);
    assert_published(param(j, "a"), 0.793, 5e-4);
    assert_published(param(j, "b"), 2.426, 5e-4);
    double ll = json_number_value(json_object_get(j, "log_likelihood"));
    ck_assert_double_eq_tol(ll, -9582.4, 0.05);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_customers")), 2357);
    ck_assert(json_is_true(json_object_get(j, "converged")));
    json_t *se = json_object_get(j, "std_errors");
    ck_assert(json_number_value(json_object_get(se, "r")) > 0);
    ck_assert(json_is_number(json_object_get(j, "seconds")));
    json_decref(j);
}
END_TEST

START_TEST(test_cli_fit_from_transactions_matches_summary)
{
    json_t *a = fit_json("fit --model bgnbd --period week --summary " SUMMARY);
    json_t *b = fit_json("fit --model bgnbd --period week --as-of 1997-09-30 "
                         "--transactions " TXNS);
    const char *names[] = {"r", "alpha", "a", "b"};
    /* The summary file rounds times to 2 decimals of a week: 1e-3 apart. */
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(param(a, names[i]), param(b, names[i]),
                                2e-3 * param(a, names[i]));
    ck_assert_int_eq(json_integer_value(json_object_get(b, "n_customers")), 2357);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(test_cli_fit_other_models)
{
    json_t *j = fit_json("fit --model pareto --period week --summary " SUMMARY);
    assert_published(param(j, "r"), 0.553, 5e-4);
    assert_published(param(j, "alpha"), 10.578, 5e-4);
    assert_published(param(j, "s"), 0.606, 5e-4);
    ck_assert_double_eq_tol(json_number_value(json_object_get(j, "log_likelihood")),
                            -9595.0, 0.05);
    json_decref(j);
    j = fit_json("fit --model bgbb --summary tests/data/donations.csv");
    assert_published(param(j, "alpha"), 1.204, 5e-4);
    assert_published(param(j, "beta"), 0.750, 5e-4);
    assert_published(param(j, "gamma"), 0.657, 5e-4);
    assert_published(param(j, "delta"), 2.783, 5e-4);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_customers")), 11104);
    json_decref(j);
    j = fit_json("fit --model gg --summary " SPEND);
    assert_published(param(j, "p"), 6.25, 5e-3);
    assert_published(param(j, "q"), 3.74, 5e-3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_customers")), 946);
    json_decref(j);
    j = fit_json("fit --model mbgnbd --period week --summary " SUMMARY);
    ck_assert(json_is_true(json_object_get(j, "converged")));
    json_decref(j);
}
END_TEST

/* Parses the first data row of score output into numbers after the id. */
static int row_values(const char *line, double *v, int max)
{
    const char *p = strchr(line, ',');
    int n = 0;
    while (p != NULL && n < max) {
        v[n++] = strtod(p + 1, NULL);
        p = strchr(p + 1, ',');
    }
    return n;
}

START_TEST(test_cli_score_with_spend)
{
    run_out r = run("score --model bgnbd --period week --spend-model gg --horizon 39 "
                    "--summary " SPEND);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_int_eq(count_lines(r.out), 2358);
    const char *hdr = "customer_id,frequency,recency,T,p_alive,expected_purchases,"
                      "p_purchase,monetary_value,expected_spend,clv\n";
    ck_assert(strncmp(r.out, hdr, strlen(hdr)) == 0);
    double v[9];
    ck_assert_int_eq(row_values(r.out + strlen(hdr), v, 9), 9);
    ck_assert(v[3] >= 0 && v[3] <= 1);  /* p_alive */
    ck_assert(v[4] > 0 && v[8] > 0);    /* expected purchases, clv */
    ck_assert(strstr(r.out, "nan") == NULL && strstr(r.out, "inf") == NULL);
    run_free(&r);
}
END_TEST

START_TEST(test_cli_score_params_round_trip)
{
    char path[] = "/tmp/ltvd_paramsXXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    char args[512];
    run_out f = run("fit --model pareto --period week --summary " SUMMARY);
    ck_assert_int_eq(f.status, 0);
    FILE *fp = fopen(path, "w");
    fputs(f.out, fp);
    fclose(fp);
    snprintf(args, sizeof args,
             "score --model pareto --period week --params %s --horizon 10 --summary "
             SUMMARY, path);
    run_out a = run(args);
    run_out b = run("score --model pareto --period week --horizon 10 --summary " SUMMARY);
    ck_assert_int_eq(a.status, 0);
    ck_assert_str_eq(a.out, b.out);
    snprintf(args, sizeof args,
             "score --model pareto --period day --params %s --horizon 10 --summary "
             SUMMARY, path);
    run_out c = run(args);
    ck_assert_int_eq(c.status, 1);
    ck_assert_msg(strstr(c.err, "week") != NULL, "%s", c.err);
    unlink(path);
    run_free(&f);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}
END_TEST

/* Each bad invocation exits non-zero with one line on stderr naming it. */
START_TEST(test_cli_errors_are_one_line)
{
    static const struct { const char *args; int status; const char *needle; } cases[] = {
        {"fit --model nope --summary " SUMMARY, 2, "nope"},
        {"fit --summary " SUMMARY, 2, "--model"},
        {"fit --model bgnbd --period month --summary " SUMMARY, 2, "month"},
        {"fit --model bgnbd --summary /no/such/file.csv", 1, "/no/such/file.csv"},
        {"fit --model bgnbd --summary " SUMMARY " --transactions " TXNS, 2, "exactly one"},
        {"fit --model bgnbd --horizon 3 --summary " SUMMARY, 2, "score"},
        {"score --model bgnbd --summary " SUMMARY, 2, "--horizon"},
        {"score --model bgnbd --horizon -1 --summary " SUMMARY, 2, "-1"},
        {"fit --model bgnbd --as-of 1997-13-01 --transactions " TXNS, 2, "1997-13-01"},
        {"fit --model gg --summary " SUMMARY, 1, "monetary"},
        {"fit --model bgbb --transactions " TXNS, 1, "--summary"},
        {"fit --model bgnbd --summary tests/data/donations.csv --penalizer x", 2, "'x'"},
        {"score --model bgbb --horizon 2.5 --summary tests/data/donations.csv", 2, "whole"},
        {"score --model bgnbd --horizon 3 --params /no/params.json --summary " SUMMARY, 1,
         "/no/params.json"},
        {"score --model bgnbd --horizon 3 --spend-params x.json --summary " SUMMARY, 2,
         "--spend-model"},
        {"fit -xy", 2, "'-x'"},
        {"fit --model bgbb --summary tests/data/cli/bgbb_bad_row.csv", 1, "recency 3"},
        {"fit --model bgbb --summary tests/data/cli/zero_weights.csv", 1, "weight 0"},
        {"fit --model gg --summary tests/data/cli/zero_spend.csv", 1, "positive value"},
        {"score --model bgnbd --horizon 3 --params tests/data/cli/params_no_period.json "
         "--summary " SUMMARY, 1, "period"},
        {"score --model gg --horizon 1 --params tests/data/cli/gg_q_below_1.json "
         "--summary " SPEND, 1, "q = 0.9"},
        {"score --model gg --horizon 1 --spend-model gg --summary " SPEND, 2, "--params"},
        {"score --model bgnbd --period week --horizon 3 --spend-model gg "
         "--discount-rate -0.9999999999 --clv-months 1200 --summary " SPEND, 1, "discount"},
        {"score --model bgnbd --period week --horizon 3 --spend-model gg --margin 1e308 "
         "--summary " SPEND, 1, "overflows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_out r = run(cases[i].args);
        ck_assert_msg(r.status == cases[i].status, "%s: exit %d, want %d (%s)",
                      cases[i].args, r.status, cases[i].status, r.err);
        ck_assert_msg(count_lines(r.err) == 1, "%s: stderr '%s'", cases[i].args, r.err);
        ck_assert_msg(strstr(r.err, cases[i].needle) != NULL, "%s: stderr '%s'",
                      cases[i].args, r.err);
        ck_assert_str_eq(r.out, "");
        run_free(&r);
    }
}
END_TEST

/* A full disk is an error with a message, not a silent exit. */
START_TEST(test_cli_write_error)
{
    const char *bin = getenv("LTVD_BIN") ? getenv("LTVD_BIN") : "./ltvd";
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "%s fit --model bgnbd --period week --summary " SUMMARY
             " >/dev/full 2>/tmp/ltvd_full_err",
             bin);
    int st = system(cmd);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *err = slurp("/tmp/ltvd_full_err");
    ck_assert_msg(strstr(err, "cannot write") != NULL && count_lines(err) == 1, "%s", err);
    free(err);
    unlink("/tmp/ltvd_full_err");
}
END_TEST

/* --model gg scores spend alone, from its own fit or from --params. */
START_TEST(test_cli_score_gg_alone)
{
    char path[] = "/tmp/ltvd_ggXXXXXX", args[512];
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    run_out f = run("fit --model gg --summary " SPEND);
    ck_assert_int_eq(f.status, 0);
    FILE *fp = fopen(path, "w");
    fputs(f.out, fp);
    fclose(fp);
    snprintf(args, sizeof args, "score --model gg --horizon 1 --params %s --summary " SPEND,
             path);
    run_out a = run(args);
    run_out b = run("score --model gg --horizon 1 --summary " SPEND);
    ck_assert_msg(a.status == 0, "%s", a.err);
    ck_assert_str_eq(a.out, b.out);
    ck_assert(strncmp(a.out, "customer_id,frequency,monetary_value,expected_spend\n", 51) == 0);
    ck_assert_int_eq(count_lines(a.out), 2358);
    unlink(path);
    run_free(&f);
    run_free(&a);
    run_free(&b);
}
END_TEST

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("binary");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_fit_bgnbd_cdnow);
    tcase_add_test(tc, test_cli_fit_from_transactions_matches_summary);
    tcase_add_test(tc, test_cli_fit_other_models);
    tcase_add_test(tc, test_cli_score_with_spend);
    tcase_add_test(tc, test_cli_score_params_round_trip);
    tcase_add_test(tc, test_cli_errors_are_one_line);
    tcase_add_test(tc, test_cli_score_gg_alone);
    tcase_add_test(tc, test_cli_write_error);
    suite_add_tcase(s, tc);
    return s;
}
