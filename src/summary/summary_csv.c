/* Reading a per-customer summary CSV (as lifetimes writes or ships them) into
 * a summary_set, with both of lifetimes' column names accepted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary/csv.h"
#include "summary/summary.h"

/* The columns, each with its two accepted names (lifetimes' long name and
 * the literature's short one). */
enum { COL_ID, COL_X, COL_TX, COL_T, COL_M, COL_W, N_COLS };

static const struct {
    const char *names[2];
    int required;
} COLUMNS[N_COLS] = {
    [COL_ID] = {{"customer_id", "ID"}, 0},     [COL_X] = {{"frequency", "x"}, 1},
    [COL_TX] = {{"recency", "t_x"}, 1},        [COL_T] = {{"T", "periods"}, 1},
    [COL_M] = {{"monetary_value", "zbar"}, 0}, [COL_W] = {{"weights", NULL}, 0},
};

typedef struct reader {
    csv_reader *csv;
    size_t n_columns;
    long col[N_COLS];         /* field index, or -1 when absent */
    const char *name[N_COLS]; /* the name found, for messages */
    summary_set *out;
    size_t cap;
    char *err;
} reader;

/* Finds the columns in the header record. Returns 0 or -1 (err set). */
static int find_columns(reader *rd)
{
    for (int c = 0; c < N_COLS; c++) {
        rd->col[c] = -1;
        for (int k = 0; k < 2 && COLUMNS[c].names[k] != NULL; k++) {
            long i = csv_find(rd->csv, COLUMNS[c].names[k]);
            if (i < 0)
                continue;
            if (rd->col[c] >= 0) {
                csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX,
                           "both columns \"%s\" and \"%s\" present", rd->name[c],
                           COLUMNS[c].names[k]);
                return -1;
            }
            rd->col[c] = i;
            rd->name[c] = COLUMNS[c].names[k];
        }
        if (rd->col[c] < 0 && COLUMNS[c].required) {
            csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX,
                       "missing column \"%s\" (or \"%s\")", COLUMNS[c].names[0],
                       COLUMNS[c].names[1]);
            return -1;
        }
    }
    rd->n_columns = csv_count(rd->csv);
    rd->out->has_monetary = rd->col[COL_M] >= 0;
    return 0;
}

/* A non-negative finite number from column c, or *v = dflt if absent. */
static int number(reader *rd, int c, double dflt, double *v)
{
    if (rd->col[c] < 0) {
        *v = dflt;
        return 0;
    }
    const char *text = csv_field(rd->csv, (size_t)rd->col[c]);
    if (summary_parse_number(text, v) != 0) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX,
                   "bad %s \"%.40s\" (expected a number)", rd->name[c], text);
        return -1;
    }
    if (*v < 0) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX, "negative %s \"%.40s\"",
                   rd->name[c], text);
        return -1;
    }
    *v += 0.0; /* -0 -> +0 */
    return 0;
}

/* Parses and checks the numbers of the current record into *s. */
static int parse_row(reader *rd, cust_summary *s)
{
    *s = (cust_summary){0};
    if (number(rd, COL_X, 0, &s->frequency) != 0 ||
        number(rd, COL_TX, 0, &s->recency) != 0 || number(rd, COL_T, 0, &s->T) != 0 ||
        number(rd, COL_M, 0, &s->monetary_value) != 0 ||
        number(rd, COL_W, 1, &s->weight) != 0)
        return -1;
    if (s->frequency != floor(s->frequency)) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX, "%s \"%s\" is not a whole number",
                   rd->name[COL_X], csv_field(rd->csv, (size_t)rd->col[COL_X]));
        return -1;
    }
    if (s->recency > s->T) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX, "%s %s > %s %s", rd->name[COL_TX],
                   csv_field(rd->csv, (size_t)rd->col[COL_TX]), rd->name[COL_T],
                   csv_field(rd->csv, (size_t)rd->col[COL_T]));
        return -1;
    }
    return 0;
}

/* The row's id: its id field, or its 1-based row number. NULL if no memory. */
static char *row_id(reader *rd)
{
    if (rd->col[COL_ID] >= 0)
        return strdup(csv_field(rd->csv, (size_t)rd->col[COL_ID]));
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", rd->out->n + 1);
    return strdup(buf);
}

static int read_row(reader *rd)
{
    summary_set *out = rd->out;
    csv_reader *c = rd->csv;
    if (csv_count(c) != rd->n_columns) {
        csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "%zu fields, the header has %zu",
                   csv_count(c), rd->n_columns);
        return -1;
    }
    if (rd->col[COL_ID] >= 0 && *csv_field(c, (size_t)rd->col[COL_ID]) == '\0') {
        csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "empty %s", rd->name[COL_ID]);
        return -1;
    }
    cust_summary s;
    if (parse_row(rd, &s) != 0)
        return -1;
    if (out->n == rd->cap) {
        size_t cap = rd->cap ? 2 * rd->cap : 1024;
        cust_summary *rows = realloc(out->rows, cap * sizeof *rows);
        if (rows != NULL)
            out->rows = rows;
        char **ids = realloc(out->owned_ids, cap * sizeof *ids);
        if (ids != NULL)
            out->owned_ids = ids;
        if (rows == NULL || ids == NULL)
            goto oom;
        rd->cap = cap;
    }
    s.id = row_id(rd);
    if (s.id == NULL)
        goto oom;
    out->owned_ids[out->n] = (char *)s.id;
    out->rows[out->n++] = s;
    return 0;
oom:
    csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "out of memory");
    return -1;
}

int summary_read_csv(const char *path, summary_set *out, char err[SUMMARY_ERR_MAX])
{
    int ok = -1, rc;
    *out = (summary_set){0};
    reader rd = {.out = out, .err = err};
    rd.csv = csv_open(path, err, SUMMARY_ERR_MAX);
    if (rd.csv == NULL)
        goto cleanup;
    rc = csv_next(rd.csv, err, SUMMARY_ERR_MAX);
    if (rc == 0)
        csv_errorf(rd.csv, err, SUMMARY_ERR_MAX, "no customers (empty file)");
    if (rc != 1 || find_columns(&rd) != 0)
        goto cleanup;
    while ((rc = csv_next(rd.csv, err, SUMMARY_ERR_MAX)) == 1)
        if (read_row(&rd) != 0)
            goto cleanup;
    if (rc < 0)
        goto cleanup;
    if (out->n == 0) {
        csv_errorf(rd.csv, err, SUMMARY_ERR_MAX, "no customers (header only)");
        goto cleanup;
    }
    ok = 0;
cleanup:
    if (ok != 0)
        summary_set_free(out);
    csv_close(rd.csv);
    return ok;
}
