/* `ltvd fit`: fit one model on a CSV and print the fit as one JSON object. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_data.h"

int cli_fit_main(int argc, char **argv)
{
    cli_options o;
    cli_data d;
    if (cli_options_parse(argc, argv, false, &o) != 0)
        return 2;
    const btyd_model *m = NULL;
    if (strcmp(o.model, "gg") != 0 && (m = btyd_model_find(o.model)) == NULL) {
        fprintf(stderr, "ltvd fit: unknown --model '%s' (bgnbd, pareto, mbgnbd, bgbb, gg)\n",
                o.model);
        return 2;
    }
    if (cli_data_load("fit", &o, &d) != 0)
        return 1;
    int status = 1;
    fit_result r;
    double n_customers;
    size_t n_patterns;
    if (cli_fit_model("fit", m, &d, o.penalizer, &r, &n_customers, &n_patterns) != 0)
        goto cleanup;
    fit_json_model jm = cli_json_model(m);
    json_t *out = fit_json_build(&jm, o.period, &r, n_customers, n_patterns);
    if (out == NULL || json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0) {
        fprintf(stderr, "ltvd fit: cannot write the result\n");
        json_decref(out);
        goto cleanup;
    }
    json_decref(out);
    putchar('\n');
    if (!r.converged)
        fprintf(stderr, "ltvd fit: warning: the optimiser did not converge "
                        "(\"converged\": false)\n");
    status = cli_flush_stdout("fit");
cleanup:
    cli_data_free(&d);
    return status;
}
