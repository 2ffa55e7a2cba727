/* Command-line options shared by `ltvd fit` and `ltvd score`: one table of
 * long options, parsed and checked in one place. */
#ifndef LTVD_CLI_OPTIONS_H
#define LTVD_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct cli_options {
    const char *model;          /* bgnbd, pareto, mbgnbd, bgbb, gg */
    const char *transactions;   /* --transactions FILE */
    const char *summary;        /* --summary FILE */
    const char *params;         /* --params FILE (score) */
    const char *spend_model;    /* "gg" or NULL (score) */
    const char *spend_params;   /* --spend-params FILE (score) */
    const char *period;         /* "day" or "week" */
    double period_days;         /* 1 or 7 */
    bool has_as_of;
    int64_t as_of_day;
    double penalizer;
    double horizon;             /* score: periods ahead; < 0 when not given */
    double discount_rate;       /* per month */
    double margin;
    unsigned clv_months;
} cli_options;

/* Parses argv (argv[0] is the sub-command). `score` says whether the
 * score-only options are allowed and --horizon is required. Returns 0, or -1
 * after printing one line "ltvd CMD: reason" to stderr. */
int cli_options_parse(int argc, char **argv, bool score, cli_options *o);

#endif
