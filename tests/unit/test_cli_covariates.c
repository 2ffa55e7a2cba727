/* `ltvd fit --covariates` end to end through the real binary (LTVD_BIN,
 * else ./ltvd): the JSON document on tests/data/covariates_*.csv, a numeric
 * column, --covariate-columns and --min-customers, and every refusal with
 * its exit status and message. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testrun.h"

#define SUMMARY "tests/data/covariates_summary.csv"
#define CHANNELS "tests/data/covariates_channels.csv"
#define FIT "fit --period week --summary " SUMMARY " "

static testrun_out run(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "$LTVD %s", args);
    return testrun_sh(cmd);
}

static json_t *fit_doc(const char *args, int want_status)
{
    testrun_out r = run(args);
    ck_assert_msg(r.status == want_status, "ltvd %s: status %d: %s", args, r.status,
                  r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", e.text);
    testrun_free(&r);
    return j;
}

/* Runs args expecting failure `status` with `msg` in stderr and no stdout. */
static void refused(const char *args, int status, const char *msg)
{
    testrun_out r = run(args);
    ck_assert_msg(r.status == status, "ltvd %s: status %d, wanted %d (%s)", args,
                  r.status, status, r.err);
    ck_assert_msg(strstr(r.err, msg) != NULL, "ltvd %s: stderr '%s' lacks '%s'", args,
                  r.err, msg);
    ck_assert_str_eq(r.out, "");
    testrun_free(&r);
}

static json_t *level(json_t *doc, const char *name)
{
    json_t *levels =
        json_object_get(json_array_get(json_object_get(doc, "variables"), 0), "levels");
    size_t i;
    json_t *l;
    json_array_foreach(levels, i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "level")), name) == 0)
            return l;
    }
    ck_abort_msg("no level %s", name);
    return NULL;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

START_TEST(test_cli_covariates_document)
{
    json_t *j = fit_doc(FIT "--model bgnbd --covariates " CHANNELS, 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "model")), "bgnbd");
    ck_assert(json_is_true(json_object_get(j, "converged")));
    ck_assert(json_is_null(json_object_get(j, "problem")));
    /* the reference optimum (tests/reference/covariates_fit.py) */
    ck_assert_double_eq_tol(num(j, "log_likelihood"), -12608.0354810949, 1e-5);
    json_t *params = json_object_get(j, "params");
    ck_assert_double_eq_tol(num(params, "r"), 0.244495247008, 1e-6);
    json_t *coefs = json_object_get(j, "coefficients");
    ck_assert_uint_eq(json_array_size(coefs), 4);
    json_t *c0 = json_array_get(coefs, 0);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "covariate")),
                     "channel=email");
    ck_assert_str_eq(json_string_value(json_object_get(c0, "process")), "purchase");
    ck_assert_double_eq_tol(num(c0, "gamma"), 0.630831009084, 1e-6);
    ck_assert_double_eq_tol(num(c0, "z"), num(c0, "gamma") / num(c0, "std_error"), 1e-9);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(coefs, 2), "process")),
        "dropout");
    /* LR test against the plain model */
    json_t *lr = json_object_get(j, "lr_test");
    double ll0 = num(j, "log_likelihood_without_covariates");
    ck_assert_double_eq_tol(num(lr, "statistic"), 2 * (num(j, "log_likelihood") - ll0),
                            1e-6);
    ck_assert_int_eq(json_integer_value(json_object_get(lr, "df")), 4);
    ck_assert(num(lr, "p_value") > 0 && num(lr, "p_value") < 1e-6);
    /* levels: web the baseline, fax pooled into it, email's own parameters */
    json_t *v = json_array_get(json_object_get(j, "variables"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "baseline")), "web");
    ck_assert_str_eq(json_string_value(json_object_get(level(j, "web"), "role")),
                     "baseline");
    json_t *fax = level(j, "fax");
    ck_assert_str_eq(json_string_value(json_object_get(fax, "role")),
                     "baseline (pooled)");
    ck_assert_int_eq(json_integer_value(json_object_get(fax, "customers")), 20);
    json_t *pooled = json_object_get(j, "pooled");
    ck_assert_uint_eq(json_array_size(pooled), 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(pooled, 0), "level")), "fax");
    json_t *email = json_object_get(level(j, "email"), "params");
    double g = num(c0, "gamma");
    ck_assert_double_eq_tol(num(email, "alpha"), num(params, "alpha") * exp(-g), 1e-9);
    json_decref(j);
}
END_TEST

START_TEST(test_cli_covariates_pareto_and_min_customers)
{
    /* with a minimum of 10, fax (20) has its own coefficients */
    json_t *j =
        fit_doc(FIT "--model pareto --min-customers 10 --covariates " CHANNELS, 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "coefficients")), 6);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "pooled")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(level(j, "fax"), "role")), "own");
    json_decref(j);
    /* with 490, social (480) and fax (20) go to "other" (500 customers) */
    j = fit_doc(FIT "--model pareto --min-customers 490 --covariates " CHANNELS, 0);
    ck_assert_str_eq(json_string_value(json_object_get(level(j, "social"), "role")),
                     "other");
    json_t *coefs = json_object_get(j, "coefficients");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(coefs, 1), "covariate")),
        "channel=other");
    json_decref(j);
}
END_TEST

/* A temporary covariates file: the channels plus a numeric column. */
static void write_file(const char *path, const char *header, int with_age, int skip_row)
{
    FILE *in = fopen(CHANNELS, "r"), *out = fopen(path, "w");
    ck_assert(in != NULL && out != NULL);
    char line[256];
    ck_assert(fgets(line, sizeof line, in) != NULL);
    fprintf(out, "%s\n", header);
    for (int i = 0; fgets(line, sizeof line, in) != NULL; i++) {
        line[strcspn(line, "\n")] = '\0';
        if (i == skip_row)
            continue;
        if (with_age)
            fprintf(out, "%s,%d\n", line, 20 + (i * 7) % 40);
        else
            fprintf(out, "%s\n", line);
    }
    fclose(in);
    fclose(out);
}

START_TEST(test_cli_covariates_numeric_and_columns)
{
    char path[] = "/tmp/ltvd_cov_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    write_file(path, "customer_id,channel,age", 1, -1);
    char args[1024];
    snprintf(args, sizeof args, FIT "--model bgnbd --covariates %s", path);
    json_t *j = fit_doc(args, 0);
    json_t *vars = json_object_get(j, "variables");
    ck_assert_uint_eq(json_array_size(vars), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(vars, 1), "type")),
                     "numeric");
    ck_assert_uint_eq(json_array_size(json_object_get(j, "coefficients")), 6);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(j, "lr_test"), "df")), 6);
    json_decref(j);
    snprintf(args, sizeof args,
             FIT "--model bgnbd --covariate-columns age --covariates %s", path);
    j = fit_doc(args, 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "coefficients")), 2);
    json_decref(j);
    snprintf(args, sizeof args,
             FIT "--model bgnbd --covariate-columns age,region --covariates %s", path);
    refused(args, 2, "unknown column 'region'");
    unlink(path);
}
END_TEST

/* A numeric column that does not vary is collinear with the scales: the
 * fit is printed with its problem and the exit status is 1. */
START_TEST(test_cli_covariates_not_identified)
{
    char path[] = "/tmp/ltvd_cov_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    FILE *in = fopen(CHANNELS, "r"), *out = fopen(path, "w");
    ck_assert(in != NULL && out != NULL);
    char line[256];
    ck_assert(fgets(line, sizeof line, in) != NULL);
    fprintf(out, "customer_id,constant\n");
    while (fgets(line, sizeof line, in) != NULL)
        fprintf(out, "%.*s,5\n", (int)strcspn(line, ","), line);
    fclose(in);
    fclose(out);
    char args[1024];
    snprintf(args, sizeof args, FIT "--model bgnbd --covariates %s", path);
    json_t *j = fit_doc(args, 1);
    ck_assert(json_is_false(json_object_get(j, "std_errors_ok")));
    ck_assert(strstr(json_string_value(json_object_get(j, "problem")),
                     "not identified") != NULL);
    json_decref(j);
    unlink(path);
}
END_TEST

START_TEST(test_cli_covariates_refusals)
{
    char path[] = "/tmp/ltvd_cov_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    char args[1024];
    /* a customer without a row: named */
    write_file(path, "customer_id,channel", 0, 0);
    snprintf(args, sizeof args, FIT "--model bgnbd --covariates %s", path);
    refused(args, 2, "has no row (1 customer missing)");
    /* an empty level */
    FILE *f = fopen(path, "w");
    fprintf(f, "customer_id,channel\nc0001,\n");
    fclose(f);
    refused(args, 2, "empty value in column 'channel'");
    /* a duplicate row */
    write_file(path, "customer_id,channel", 0, -1);
    f = fopen(path, "a");
    fprintf(f, "c0001,web\n");
    fclose(f);
    refused(args, 2, "customer 'c0001' has a second row");
    /* no customer_id, no covariate column */
    f = fopen(path, "w");
    fprintf(f, "id,channel\nc0001,web\n");
    fclose(f);
    refused(args, 2, "no customer_id column");
    f = fopen(path, "w");
    fprintf(f, "customer_id\nc0001\n");
    fclose(f);
    refused(args, 2, "no covariate column");
    refused(FIT "--model bgnbd --covariates /nonexistent.csv", 2, "/nonexistent.csv");
    unlink(path);
    /* models and options */
    refused(FIT "--model mbgnbd --covariates " CHANNELS, 2, "bgnbd and pareto");
    refused(FIT "--model gg --covariates " CHANNELS, 2, "bgnbd and pareto");
    refused(FIT "--model bgnbd --min-customers 5", 2, "need --covariates");
    refused(FIT "--model bgnbd --min-customers 0 --covariates " CHANNELS, 2,
            "--min-customers must be");
    refused(FIT "--model bgnbd --penalizer 0.1 --covariates " CHANNELS, 2,
            "--penalizer is not available");
    /* a column named twice (more times than the file has columns wrote
     * past the end of the chosen columns: an ASan heap overflow) */
    refused(FIT "--model bgnbd --covariate-columns channel,channel,channel,channel,"
                "channel --covariates " CHANNELS,
            2, "column 'channel' named twice in --covariate-columns");
    refused("score --model bgnbd --horizon 4 --summary " SUMMARY
            " --covariates " CHANNELS,
            2, "is an option of `ltvd fit`");
    /* a covariate fit is not a plain fit for `ltvd score --params` */
    char fit[] = "/tmp/ltvd_cov_fit_XXXXXX", cmd[2048];
    fd = mkstemp(fit);
    ck_assert(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd,
             "$LTVD " FIT "--model bgnbd --covariates " CHANNELS " > %s 2>/dev/null && "
             "$LTVD score --model bgnbd --period week --horizon 4 --summary " SUMMARY
             " --params %s",
             fit, fit);
    testrun_out r = testrun_sh(cmd);
    ck_assert_int_ne(r.status, 0);
    ck_assert_msg(strstr(r.err, "a fit with covariates") != NULL, "%s", r.err);
    testrun_free(&r);
    unlink(fit);
}
END_TEST

Suite *suite_cli_covariates(void)
{
    Suite *s = suite_create("cli_covariates");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_covariates_document);
    tcase_add_test(tc, test_cli_covariates_pareto_and_min_customers);
    tcase_add_test(tc, test_cli_covariates_numeric_and_columns);
    tcase_add_test(tc, test_cli_covariates_not_identified);
    tcase_add_test(tc, test_cli_covariates_refusals);
    suite_add_tcase(s, tc);
    return s;
}
