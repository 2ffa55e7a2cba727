/* End-to-end tests of the ltvd binary (`ltvd fit`, `ltvd score`): real
 * processes on the CDNOW and donations data, output parsed back. The binary
 * is ./ltvd unless LTVD_BIN says otherwise. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testrun.h"

#define SUMMARY "tests/data/cdnow_customers_summary.csv"
#define SPEND "tests/data/cdnow_customers_summary_with_transactions.csv"
#define TXNS "tests/data/cdnow_sample_transactions.csv"

typedef testrun_out run_out;

/* Runs `ltvd ARGS` through the shell, capturing stdout and stderr. */
static run_out run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "$LTVD %s", args);
    return testrun_sh(cmd);
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
    testrun_free(&r);
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
    ck_assert(v[3] >= 0 && v[3] <= 1); /* p_alive */
    ck_assert(v[4] > 0 && v[8] > 0);   /* expected purchases, clv */
    ck_assert(strstr(r.out, "nan") == NULL && strstr(r.out, "inf") == NULL);
    testrun_free(&r);
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
    snprintf(
        args, sizeof args,
        "score --model pareto --period week --params %s --horizon 10 --summary " SUMMARY,
        path);
    run_out a = run(args);
    run_out b = run("score --model pareto --period week --horizon 10 --summary " SUMMARY);
    ck_assert_int_eq(a.status, 0);
    ck_assert_str_eq(a.out, b.out);
    snprintf(
        args, sizeof args,
        "score --model pareto --period day --params %s --horizon 10 --summary " SUMMARY,
        path);
    run_out c = run(args);
    ck_assert_int_eq(c.status, 1);
    ck_assert_msg(strstr(c.err, "week") != NULL, "%s", c.err);
    unlink(path);
    testrun_free(&f);
    testrun_free(&a);
    testrun_free(&b);
    testrun_free(&c);
}
END_TEST

/* Each bad invocation exits non-zero with one line on stderr naming it. */
START_TEST(test_cli_errors_are_one_line)
{
    static const struct {
        const char *args;
        int status;
        const char *needle;
    } cases[] = {
        {"fit --model nope --summary " SUMMARY, 2, "nope"},
        {"fit --summary " SUMMARY, 2, "--model"},
        {"fit --model bgnbd --period month --summary " SUMMARY, 2, "month"},
        {"fit --model bgnbd --summary /no/such/file.csv", 1, "/no/such/file.csv"},
        {"fit --model bgnbd --summary " SUMMARY " --transactions " TXNS, 2,
         "exactly one"},
        {"fit --model bgnbd --horizon 3 --summary " SUMMARY, 2, "score"},
        {"score --model bgnbd --summary " SUMMARY, 2, "--horizon"},
        {"score --model bgnbd --horizon -1 --summary " SUMMARY, 2, "-1"},
        {"fit --model bgnbd --as-of 1997-13-01 --transactions " TXNS, 2, "1997-13-01"},
        {"fit --model gg --summary " SUMMARY, 1, "monetary"},
        {"fit --model bgbb --transactions " TXNS, 1, "--summary"},
        {"fit --model bgnbd --summary tests/data/donations.csv --penalizer x", 2, "'x'"},
        {"score --model bgbb --horizon 2.5 --summary tests/data/donations.csv", 2,
         "whole"},
        {"score --model bgnbd --horizon 3 --params /no/params.json --summary " SUMMARY, 1,
         "/no/params.json"},
        {"score --model bgnbd --horizon 3 --spend-params x.json --summary " SUMMARY, 2,
         "--spend-model"},
        {"fit -xy", 2, "'-x'"},
        {"fit --model bgbb --summary tests/data/cli/bgbb_bad_row.csv", 1, "recency 3"},
        {"fit --model bgbb --summary tests/data/cli/zero_weights.csv", 1, "weight 0"},
        {"fit --model gg --summary tests/data/cli/zero_spend.csv", 1, "positive value"},
        {"score --model bgnbd --horizon 3 --params tests/data/cli/params_no_period.json "
         "--summary " SUMMARY,
         1, "period"},
        {"score --model gg --horizon 1 --params tests/data/cli/gg_q_below_1.json "
         "--summary " SPEND,
         1, "q = 0.9"},
        {"score --model gg --horizon 1 --spend-model gg --summary " SPEND, 2, "--params"},
        {"score --model bgnbd --period week --horizon 3 --spend-model gg "
         "--discount-rate -0.9999999999 --clv-months 1200 --summary " SPEND,
         1, "discount"},
        {"score --model bgnbd --period week --horizon 3 --spend-model gg --margin 1e308 "
         "--summary " SPEND,
         1, "overflows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_out r = run(cases[i].args);
        ck_assert_msg(r.status == cases[i].status, "%s: exit %d, want %d (%s)",
                      cases[i].args, r.status, cases[i].status, r.err);
        ck_assert_msg(count_lines(r.err) == 1, "%s: stderr '%s'", cases[i].args, r.err);
        ck_assert_msg(strstr(r.err, cases[i].needle) != NULL, "%s: stderr '%s'",
                      cases[i].args, r.err);
        ck_assert_str_eq(r.out, "");
        testrun_free(&r);
    }
}
END_TEST

/* A full disk is an error with a message, not a silent exit. */
START_TEST(test_cli_write_error)
{
    run_out r = testrun_sh("$LTVD fit --model bgnbd --period week --summary " SUMMARY
                           " >/dev/full");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "cannot write") != NULL && count_lines(r.err) == 1, "%s",
                  r.err);
    testrun_free(&r);
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
    snprintf(args, sizeof args,
             "score --model gg --horizon 1 --params %s --summary " SPEND, path);
    run_out a = run(args);
    run_out b = run("score --model gg --summary " SPEND); /* no --horizon needed */
    ck_assert_msg(a.status == 0, "%s", a.err);
    ck_assert_str_eq(a.out, b.out);
    ck_assert(
        strncmp(a.out, "customer_id,frequency,monetary_value,expected_spend\n", 51) == 0);
    ck_assert_int_eq(count_lines(a.out), 2358);
    unlink(path);
    testrun_free(&f);
    testrun_free(&a);
    testrun_free(&b);
}
END_TEST

/* Every command answers -h and --help with its usage on stdout, exit 0. */
START_TEST(test_cli_help_every_command)
{
    static const struct {
        const char *args;
        const char *usage;
    } cases[] = {
        {"fit", "usage: ltvd fit "},
        {"score", "usage: ltvd score "},
        {"import", "usage: ltvd import "},
        {"migrate", "usage: ltvd migrate"},
        {"serve", "usage: ltvd serve "},
        {"key", "usage: ltvd key "},
        {"key create", "usage: ltvd key "},
        {"key list", "usage: ltvd key "},
        {"key revoke", "usage: ltvd key "},
        /* help wins over what else is wrong, and --help anywhere counts */
        {"fit --model nope", "usage: ltvd fit "},
        {"score --model bgnbd --summary " SUMMARY, "usage: ltvd score "},
    };
    static const char *flags[] = {"-h", "--help"};
    char args[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t f = 0; f < 2; f++) {
            snprintf(args, sizeof args, "%s %s </dev/null", cases[i].args, flags[f]);
            run_out r = run(args);
            ck_assert_msg(r.status == 0, "%s: exit %d (%s)", args, r.status, r.err);
            ck_assert_msg(strncmp(r.out, cases[i].usage, strlen(cases[i].usage)) == 0,
                          "%s: stdout '%.80s'", args, r.out);
            ck_assert_msg(r.err[0] == '\0', "%s: stderr '%s'", args, r.err);
            testrun_free(&r);
        }
    /* the top level too */
    for (size_t f = 0; f < 2; f++) {
        run_out r = run(flags[f]);
        ck_assert_int_eq(r.status, 0);
        ck_assert(strncmp(r.out, "usage: ltvd COMMAND", 19) == 0);
        testrun_free(&r);
    }
}
END_TEST

/* The score usage says each column's unit and horizon. */
START_TEST(test_cli_help_states_units)
{
    run_out r = run("score --help");
    ck_assert_int_eq(r.status, 0);
    const char *needles[] = {"expected_spend", "per purchase", "next T periods",
                             "30 days",        "4.345 weeks",  "per month"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        ck_assert_msg(strstr(r.out, needles[i]) != NULL, "no '%s' in %s", needles[i],
                      r.out);
    testrun_free(&r);
}
END_TEST

/* An unknown or missing command says so, with the usage, exit 2. */
START_TEST(test_cli_unknown_command)
{
    run_out r = run("frobnicate --model bgnbd");
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.out, "");
    ck_assert_msg(strncmp(r.err, "ltvd: unknown command 'frobnicate'\n", 35) == 0, "%s",
                  r.err);
    ck_assert(strstr(r.err, "usage: ltvd COMMAND") != NULL);
    testrun_free(&r);
    r = run("");
    ck_assert_int_eq(r.status, 2);
    ck_assert(strstr(r.err, "missing command") != NULL);
    testrun_free(&r);
    /* a usage error is 2 for every command, migrate included */
    r = run("migrate extra");
    ck_assert_int_eq(r.status, 2);
    ck_assert(strstr(r.err, "unexpected argument extra") != NULL);
    testrun_free(&r);
}
END_TEST

/* --version prints the VERSION file's version. */
START_TEST(test_cli_version)
{
    char want[64] = "ltvd ";
    FILE *fp = fopen("VERSION", "r");
    ck_assert(fp != NULL);
    ck_assert(fgets(want + 5, (int)sizeof want - 5, fp) != NULL);
    fclose(fp);
    run_out r = run("--version");
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, want);
    testrun_free(&r);
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
    tcase_add_test(tc, test_cli_help_every_command);
    tcase_add_test(tc, test_cli_help_states_units);
    tcase_add_test(tc, test_cli_unknown_command);
    tcase_add_test(tc, test_cli_version);
    suite_add_tcase(s, tc);
    return s;
}
