/* `ltvd fit`: fit one model on a CSV and print the fit as one JSON object.
 * A fit that cannot be served (model/accept.h: not converged, not
 * identified, Gamma-Gamma q <= 1) is printed with "converged": false and
 * "problem" saying what is wrong, the reason goes to stderr too, and the
 * exit status is 1. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_covariates.h"
#include "cli/cli_data.h"
#include "model/accept.h"

/* Customers with repeat purchases whose repeat spend is zero: Gamma-Gamma
 * leaves them out. */
static double zero_spend_customers(const cli_data *d)
{
    double n = 0;
    for (size_t i = 0; i < d->sum.n; i++) {
        const cust_summary *c = &d->sum.rows[i];
        if (c->frequency >= 1 && !(c->monetary_value > 0))
            n += c->weight;
    }
    return n;
}

/* Adds what acceptance found to the document: "problem" and, when
 * refused, "converged": false. Returns 1 when refused. */
static int add_acceptance(json_t *out, const btyd_model *m, fit_result *r, char *why,
                          size_t len)
{
    accept_code c = m != NULL ? accept_btyd(m, r, why, len) : accept_gg(r, why, len);
    if (c == ACCEPT_OK) {
        json_object_set_new(out, "problem", json_null());
        return 0;
    }
    json_object_set_new(out, "converged", json_false());
    json_object_set_new(out, "problem", json_string(why));
    json_object_set_new(out, "problem_code", json_string(accept_code_label(c)));
    return 1;
}

int cli_fit_main(int argc, char **argv)
{
    cli_options o;
    cli_data d;
    if (cli_options_parse(argc, argv, false, &o) != 0)
        return 2;
    const btyd_model *m = NULL;
    if (strcmp(o.model, "gg") != 0 && (m = btyd_model_find(o.model)) == NULL) {
        fprintf(stderr,
                "ltvd fit: unknown --model '%s' (bgnbd, pareto, mbgnbd, bgbb, bggeo, "
                "bgpois, gg)\n",
                o.model);
        return 2;
    }
    if (o.covariates != NULL) {
        if (m == NULL) {
            fprintf(stderr, "ltvd fit: --covariates is available for bgnbd and pareto\n");
            return 2;
        }
        return cli_fit_covariates(&o, m);
    }
    if (cli_data_load("fit", &o, true, &d) != 0)
        return 1;
    int status = 1;
    fit_result r;
    double n_customers;
    size_t n_patterns;
    if (cli_fit_model("fit", m, &d, o.penalizer, &r, &n_customers, &n_patterns) != 0)
        goto cleanup;
    fit_json_model jm = cli_json_model(m);
    json_t *out = fit_json_build(&jm, o.period, &r, n_customers, n_patterns);
    char why[512];
    int refused = out != NULL ? add_acceptance(out, m, &r, why, sizeof why) : 0;
    if (out != NULL && m == NULL)
        json_object_set_new(out, "n_customers_zero_spend",
                            json_integer((json_int_t)zero_spend_customers(&d)));
    if (out == NULL ||
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        fprintf(stderr, "ltvd fit: cannot write the result\n");
        json_decref(out);
        goto cleanup;
    }
    json_decref(out);
    putchar('\n');
    status = cli_flush_stdout("fit");
    if (refused) {
        fprintf(stderr, "ltvd fit: the %s fit cannot be used: %s\n", m ? m->name : "gg",
                why);
        status = 1;
    }
cleanup:
    cli_data_free(&d);
    return status;
}
