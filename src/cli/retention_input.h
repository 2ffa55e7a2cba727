/* The survivor counts `ltvd retention` fits on: one cohort from a
 * comma-separated list (--survivors 1000,631,468) or several from a file of
 * such lines (--cohorts FILE), checked line by line so every error names the
 * line and the value. */
#ifndef LTVD_CLI_RETENTION_INPUT_H
#define LTVD_CLI_RETENTION_INPUT_H

#include <stddef.h>

#include "model/retention.h"

#define RETENTION_INPUT_ERR_MAX 256
#define RETENTION_INPUT_MAX_COUNTS 10000 /* per cohort */
#define RETENTION_INPUT_MAX_COHORTS 100000

typedef struct retention_input {
    retention_cohort *cohorts; /* n_cohorts, pointing into values */
    size_t n_cohorts;
    double *values;     /* every count, cohort after cohort (owned) */
    size_t max_periods; /* the longest cohort's counts - 1 */
    double weight;      /* the subscribers: the sum of the cohorts' sizes */
} retention_input;

/* Parses one cohort from "N0,N1,...": numbers >= 0 (decimals allowed, e.g.
 * a series scaled to 100), non-increasing, at least two, N0 > 0, no empty
 * field. Returns 0, or -1 with a one-line reason in err (in is then empty). */
int retention_input_list(const char *list, retention_input *in,
                         char err[RETENTION_INPUT_ERR_MAX]);

/* Reads one cohort per line of path, each as retention_input_list wants it;
 * blank lines and lines starting with '#' are skipped; CRLF is accepted.
 * Returns 0, or -1 with "FILE:LINE: reason" (or why the file cannot be
 * read) in err. */
int retention_input_file(const char *path, retention_input *in,
                         char err[RETENTION_INPUT_ERR_MAX]);

void retention_input_free(retention_input *in);

#endif
