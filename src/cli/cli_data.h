/* Loading the customers a command works on, from --transactions (summarised
 * as of --as-of in --period) or from --summary, and choosing the model. */
#ifndef LTVD_CLI_DATA_H
#define LTVD_CLI_DATA_H

#include "cli/cli_options.h"
#include "cli/fit_json.h"
#include "model/btyd.h"
#include "summary/summary.h"

typedef struct cli_data {
    txn_set txns;           /* empty when read from --summary */
    summary_set sum;        /* ids borrowed from txns or owned by sum */
    btyd_pattern *patterns; /* patterns_only: the collapsed --summary (sum empty) */
    size_t n_patterns;
    const char *summary_path; /* o->summary, to name a customer after an error */
} cli_data;

/* Loads and summarises. With patterns_only, a --summary file for a purchase
 * model (not gg) is read straight into its collapsed patterns, which is all
 * cli_fit_model needs (`ltvd fit`); otherwise every customer is kept.
 * Returns 0, or -1 after one line on stderr. */
int cli_data_load(const char *cmd, const cli_options *o, bool patterns_only, cli_data *d);
void cli_data_free(cli_data *d);

/* The fit_json description of a purchase model, or of Gamma-Gamma when
 * m is NULL. */
fit_json_model cli_json_model(const btyd_model *m);

/* Fits model m (or Gamma-Gamma when m is NULL) on d. Returns 0, or -1 after
 * one line on stderr. *n_customers and *n_patterns describe the data used. */
int cli_fit_model(const char *cmd, const btyd_model *m, const cli_data *d,
                  double penalizer, fit_result *r, double *n_customers,
                  size_t *n_patterns);

/* Flushes stdout; on a write error says so on stderr. Returns the exit
 * status: 0, or 1 after the message. */
int cli_flush_stdout(const char *cmd);

/* Copies s into out (size > 4) with control characters as '?', truncated
 * with "..." when longer, for one-line error messages. */
void cli_printable(const char *s, char *out, size_t size);

/* Prints "ltvd CMD: " and fmt with its one %s given arg made printable
 * (cli_printable; NULL as ""), and a newline, on stderr. Returns 2, the
 * exit status of a usage error. */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);

#endif
