/* Shared steps of `ltvd fit` and `ltvd score`: load the customers, fit. */
#include "cli/cli_data.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_data_load(const char *cmd, const cli_options *o, bool patterns_only, cli_data *d)
{
    char err[SUMMARY_ERR_MAX];
    memset(d, 0, sizeof *d);
    d->summary_path = o->summary;
    if (o->summary != NULL && patterns_only && strcmp(o->model, "gg") != 0) {
        if (summary_read_patterns(o->summary, &d->patterns, &d->n_patterns, err) != 0)
            goto failed;
        return 0;
    }
    if (o->summary != NULL) {
        if (summary_read_csv(o->summary, &d->sum, err) != 0)
            goto failed;
        return 0;
    }
    if (strcmp(o->model, "bgbb") == 0) {
        fprintf(stderr,
                "ltvd %s: bgbb counts purchase opportunities: give --summary FILE "
                "with frequency,recency,periods\n",
                cmd);
        return -1;
    }
    if (txn_read_csv(o->transactions, &d->txns, err) != 0)
        goto failed;
    int64_t as_of = o->has_as_of ? o->as_of_day : d->txns.last_day;
    if (summary_from_transactions(&d->txns, as_of, o->period_days, &d->sum) != 0) {
        snprintf(err, sizeof err, "%s: cannot summarise (out of memory)",
                 o->transactions);
        goto failed;
    }
    if (d->sum.n == 0) {
        snprintf(err, sizeof err, "%s: no customer has a purchase on or before --as-of",
                 o->transactions);
        goto failed;
    }
    return 0;
failed:
    fprintf(stderr, "ltvd %s: %s\n", cmd, err);
    cli_data_free(d);
    return -1;
}

void cli_data_free(cli_data *d)
{
    summary_set_free(&d->sum);
    txn_set_free(&d->txns);
    free(d->patterns);
    memset(d, 0, sizeof *d);
}

fit_json_model cli_json_model(const btyd_model *m)
{
    if (m == NULL)
        return (fit_json_model){"gg", 3, gg_param_names, 1};
    return (fit_json_model){m->name, m->n_params, m->param_names, m->discrete};
}

/* After a domain error, names the first customer the model cannot take, or
 * says that no customer carries weight. Returns 1 when it said something. */
static int report_bad_row(const char *cmd, const btyd_model *m, const summary_set *sum)
{
    double total = 0, ll;
    for (size_t i = 0; i < sum->n; i++) {
        const cust_summary *c = &sum->rows[i];
        total += c->weight;
        if (m == NULL ||
            m->loglik(m->init, c->frequency, c->recency, c->T, &ll) != GSL_EDOM)
            continue;
        char id[128];
        cli_printable(c->id, id, sizeof id);
        fprintf(stderr,
                "ltvd %s: customer '%s' (frequency %g, recency %g, %s %g) is outside "
                "the %s model's domain%s\n",
                cmd, id, c->frequency, c->recency, m->discrete ? "periods" : "T", c->T,
                m->name,
                m->discrete ? " (whole numbers, recency 0 exactly when frequency is 0)"
                            : "");
        return 1;
    }
    if (!(total > 0)) {
        fprintf(stderr, "ltvd %s: every customer has weight 0: nothing to fit\n", cmd);
        return 1;
    }
    if (m == NULL) {
        fprintf(stderr,
                "ltvd %s: no customer has repeat purchases of positive value: "
                "Gamma-Gamma has nothing to fit\n",
                cmd);
        return 1;
    }
    return 0;
}

/* report_bad_row on the customers of d, read again when only their patterns
 * were loaded (an error path: the file was read once already). */
static int report_domain_error(const char *cmd, const btyd_model *m, const cli_data *d)
{
    if (d->patterns == NULL)
        return report_bad_row(cmd, m, &d->sum);
    summary_set rows;
    char err[SUMMARY_ERR_MAX];
    if (summary_read_csv(d->summary_path, &rows, err) != 0) {
        fprintf(stderr, "ltvd %s: %s\n", cmd, err);
        return 1;
    }
    int said = report_bad_row(cmd, m, &rows);
    summary_set_free(&rows);
    return said;
}

int cli_fit_model(const char *cmd, const btyd_model *m, const cli_data *d,
                  double penalizer, fit_result *r, double *n_customers,
                  size_t *n_patterns)
{
    int rc;
    if (m == NULL) {
        gg_pattern *gp = NULL;
        if (!d->sum.has_monetary) {
            fprintf(stderr,
                    "ltvd %s: gg needs spend: a monetary_value (or zbar) column or "
                    "--transactions\n",
                    cmd);
            return -1;
        }
        if (summary_gg_patterns(&d->sum, &gp, n_patterns) != 0)
            goto nomem;
        *n_customers = 0; /* those Gamma-Gamma uses: repeat spend > 0 */
        for (size_t i = 0; i < *n_patterns; i++)
            *n_customers += gp[i].m > 0 ? gp[i].weight : 0;
        rc = gg_fit(gp, *n_patterns, penalizer, NULL, r);
        free(gp);
    } else {
        btyd_pattern *bp = d->patterns;
        *n_patterns = d->n_patterns;
        if (bp == NULL && summary_patterns(&d->sum, &bp, n_patterns) != 0)
            goto nomem;
        *n_customers = 0;
        for (size_t i = 0; i < *n_patterns; i++)
            *n_customers += bp[i].weight;
        rc = fit_btyd(m, bp, *n_patterns, penalizer, NULL, r);
        if (bp != d->patterns)
            free(bp);
    }
    if (*n_patterns == 0) {
        fprintf(stderr, "ltvd %s: no customer to fit %s on%s\n", cmd, m ? m->name : "gg",
                m ? "" : " (Gamma-Gamma needs customers with repeat purchases)");
        return -1;
    }
    if (rc == GSL_EDOM && report_domain_error(cmd, m, d))
        return -1;
    if (rc != GSL_SUCCESS) {
        fprintf(stderr, "ltvd %s: the %s model cannot be fitted on these data: %s\n", cmd,
                m ? m->name : "gg", gsl_strerror(rc));
        return -1;
    }
    return 0;
nomem:
    fprintf(stderr, "ltvd %s: out of memory\n", cmd);
    return -1;
}

int cli_flush_stdout(const char *cmd)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, "ltvd %s: cannot write to standard output: %s\n", cmd,
            strerror(errno ? errno : EIO));
    return 1;
}

void cli_printable(const char *s, char *out, size_t size)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < size; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    out[i] = '\0';
    if (s[i] != '\0' && size > 4)
        memcpy(out + size - 4, "...", 4);
}

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    char safe[80];
    cli_printable(arg != NULL ? arg : "", safe, sizeof safe);
    fprintf(stderr, "ltvd %s: ", cmd);
    fprintf(stderr, fmt, safe);
    fputc('\n', stderr);
    return 2;
}
