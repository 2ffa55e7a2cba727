/* Reading a per-customer summary CSV (as lifetimes writes or ships them) into
 * a summary_set, with both of lifetimes' column names accepted. The file is
 * read whole and cut in place (csv_open), the ids stay in its text, and
 * numbers that repeat (summary files hold a few hundred distinct ages and
 * recencies among millions of rows) are parsed once per column: reading is
 * most of `ltvd fit --summary`'s time (docs/benchmarks.md). */
#include <math.h>
#include <stdint.h>
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

/* A number remembered by its text, zero-padded to MEMO_TEXT bytes (so a
 * lookup compares three words, not strings). */
#define MEMO_TEXT 24
#define MEMO_SLOTS 256 /* per column, a power of two */
typedef struct memo {
    uint64_t text[MEMO_TEXT / 8]; /* all zero when the slot is empty */
    double v;
} memo;

typedef struct reader {
    csv_reader *csv;
    memo *memo; /* MEMO_SLOTS per column */
    size_t n_columns;
    long col[N_COLS];         /* field index, or -1 when absent */
    const char *name[N_COLS]; /* the name found, for messages */
    summary_set *out;         /* out->n counts the rows in both modes */
    size_t cap;
    btyd_pattern *pat; /* summary_read_patterns: the rows as patterns, not in out */
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

/* summary_parse_number(text), remembered in column c's slots: the same text
 * is the same value, so the result is exactly the parser's. */
static int memo_number(reader *rd, int c, const char *text, double *v)
{
    /* the text's bytes as three words, assembled in registers (bytes stored
     * one by one and read back as words stall the CPU) */
    uint64_t w[MEMO_TEXT / 8] = {0, 0, 0};
    size_t len = 0;
    for (size_t k = 0; k < MEMO_TEXT / 8 && len == 8 * k; k++) {
        uint64_t word = 0;
        for (; len < 8 * k + 8 && text[len] != '\0'; len++)
            word |= (uint64_t)(unsigned char)text[len] << (8 * (len % 8));
        w[k] = word;
    }
    if (len == 0 || len == MEMO_TEXT) /* too long to remember */
        return summary_parse_number(text, v);
    /* a multiply per word, not a chain of them per byte */
    uint64_t h = w[0] * UINT64_C(0x9E3779B97F4A7C15) ^
                 w[1] * UINT64_C(0xC2B2AE3D27D4EB4F) ^
                 w[2] * UINT64_C(0x165667B19E3779F9);
    h ^= h >> 32;
    h ^= h >> 16;
    memo *m = &rd->memo[(size_t)c * MEMO_SLOTS + (h & (MEMO_SLOTS - 1))];
    if (m->text[0] == w[0] && m->text[1] == w[1] && m->text[2] == w[2]) {
        *v = m->v;
        return 0;
    }
    if (summary_parse_number(text, v) != 0)
        return -1;
    memcpy(m->text, w, sizeof m->text);
    m->v = *v;
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
    if (memo_number(rd, c, text, v) != 0) {
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

/* Without an id column, the ids are the row numbers: "1", "2", ... in one
 * block. Returns 0 or -1 (out of memory). */
static int number_rows(summary_set *out)
{
    size_t total = 0;
    for (size_t i = 1, w = 1, next = 10; i <= out->n; i++) {
        if (i == next) {
            w++;
            next *= 10;
        }
        total += w + 1;
    }
    char *p = out->owned_row_ids = malloc(total);
    if (p == NULL)
        return -1;
    for (size_t i = 0; i < out->n; i++) {
        out->rows[i].id = p;
        p += sprintf(p, "%zu", i + 1) + 1;
    }
    return 0;
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
        void *p = rd->pat != NULL ? realloc(rd->pat, cap * sizeof *rd->pat)
                                  : realloc(out->rows, cap * sizeof *out->rows);
        if (p == NULL) {
            csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "out of memory");
            return -1;
        }
        if (rd->pat != NULL)
            rd->pat = p;
        else
            out->rows = p;
        rd->cap = cap;
    }
    if (rd->pat != NULL) {
        rd->pat[out->n++] = (btyd_pattern){s.frequency, s.recency, s.T, s.weight};
        return 0;
    }
    /* borrowed from the file's text, which the set keeps (owned_text) */
    s.id = rd->col[COL_ID] >= 0 ? csv_field(c, (size_t)rd->col[COL_ID]) : NULL;
    out->rows[out->n++] = s;
    return 0;
}

/* Reads every row of path into rd (rows or patterns). Returns 0 or -1. */
static int read_file(const char *path, reader *rd)
{
    char *err = rd->err;
    int rc;
    rd->csv = csv_open(path, err, SUMMARY_ERR_MAX);
    if (rd->csv == NULL)
        return -1;
    if ((rd->memo = calloc(N_COLS * MEMO_SLOTS, sizeof *rd->memo)) == NULL) {
        snprintf(err, SUMMARY_ERR_MAX, "%s: out of memory", path);
        return -1;
    }
    rc = csv_next(rd->csv, err, SUMMARY_ERR_MAX);
    if (rc == 0)
        csv_errorf(rd->csv, err, SUMMARY_ERR_MAX, "no customers (empty file)");
    if (rc != 1 || find_columns(rd) != 0)
        return -1;
    while ((rc = csv_next(rd->csv, err, SUMMARY_ERR_MAX)) == 1)
        if (read_row(rd) != 0)
            return -1;
    if (rc < 0)
        return -1;
    if (rd->out->n == 0) {
        csv_errorf(rd->csv, err, SUMMARY_ERR_MAX, "no customers (header only)");
        return -1;
    }
    return 0;
}

int summary_read_csv(const char *path, summary_set *out, char err[SUMMARY_ERR_MAX])
{
    int ok = -1;
    *out = (summary_set){0};
    reader rd = {.out = out, .err = err};
    if (read_file(path, &rd) != 0)
        goto cleanup;
    if (rd.col[COL_ID] < 0 && number_rows(out) != 0) {
        csv_errorf(rd.csv, err, SUMMARY_ERR_MAX, "out of memory");
        goto cleanup;
    }
    out->owned_text = csv_take_text(rd.csv);
    ok = 0;
cleanup:
    if (ok != 0)
        summary_set_free(out);
    free(rd.memo);
    csv_close(rd.csv);
    return ok;
}

int summary_read_patterns(const char *path, btyd_pattern **out, size_t *n_out,
                          char err[SUMMARY_ERR_MAX])
{
    int ok = -1;
    summary_set rows = {0}; /* counts the rows; holds none */
    reader rd = {.out = &rows, .err = err, .cap = 1024};
    *out = NULL;
    *n_out = 0;
    if ((rd.pat = malloc(rd.cap * sizeof *rd.pat)) == NULL) {
        snprintf(err, SUMMARY_ERR_MAX, "%s: out of memory", path);
        goto cleanup;
    }
    if (read_file(path, &rd) != 0)
        goto cleanup;
    *n_out = btyd_patterns_collapse(rd.pat, rows.n);
    btyd_pattern *p = realloc(rd.pat, *n_out * sizeof *p); /* give back the rest */
    *out = p != NULL ? p : rd.pat;
    rd.pat = NULL;
    ok = 0;
cleanup:
    free(rd.pat);
    free(rd.memo);
    csv_close(rd.csv);
    return ok;
}
