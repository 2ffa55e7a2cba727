/* Command-line options shared by `ltvd fit` and `ltvd score`: one table of
 * long options, parsed and checked in one place. */
#ifndef LTVD_CLI_OPTIONS_H
#define LTVD_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct cli_options {
    const char *model;        /* bgnbd, pareto, mbgnbd, bgbb, gg */
    const char *transactions; /* --transactions FILE */
    const char *summary;      /* --summary FILE */
    const char *params;       /* --params FILE (score) */
    const char *spend_model;  /* "gg" or NULL (score) */
    const char *spend_params; /* --spend-params FILE (score) */
    const char *period;       /* "day" or "week" */
    double period_days;       /* 1 or 7 */
    bool has_as_of;
    int64_t as_of_day;
    double penalizer;
    double horizon;       /* score: periods ahead; < 0 when not given */
    double discount_rate; /* per month */
    double margin;
    unsigned clv_months;
    const char *covariates;        /* fit: --covariates FILE, or NULL */
    const char *covariate_columns; /* fit: comma-separated column names, or NULL */
    double min_customers;          /* fit: --min-customers, 0 when not given */
    bool intervals;                /* score: --intervals (90% interval columns) */
} cli_options;

/* Parses argv (argv[0] is the sub-command). `score` says whether the
 * score-only options are allowed and --horizon is required (not with
 * --model gg). Returns 0; 1 after printing the usage to stdout for -h or
 * --help (main answers those before calling, see
 * cli_options_help_requested); or -1 after printing one line
 * "ltvd CMD: reason" to stderr. */
int cli_options_parse(int argc, char **argv, bool score, cli_options *o);

/* The usage text of `ltvd score` (score) or `ltvd fit`: options, output
 * columns with their units and horizons. Static storage. */
const char *cli_options_usage(bool score);

/* True when argv (argv[0] is the sub-command) asks for -h or --help as an
 * option (an option's value "--help" does not count). Prints nothing. */
bool cli_options_help_requested(int argc, char **argv);

#endif
