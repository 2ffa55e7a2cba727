/* Reading `ltvd fit --covariates FILE`: the CSV's columns (all but
 * customer_id, or --covariate-columns), each numeric when every value is a
 * number and categorical otherwise, matched to the customers by id. */
#include "cli/cli_covariates.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_data.h"
#include "summary/csv.h"

/* ---- a string -> index table (open addressing, caller-owned keys) ---- */

typedef struct strmap {
    const char **keys;
    size_t *vals;
    size_t cap, n;
} strmap;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ^ (h >> 31);
}

static int strmap_init(strmap *m, size_t expect)
{
    m->cap = 16;
    while (m->cap < 2 * expect)
        m->cap *= 2;
    m->n = 0;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->vals = malloc(m->cap * sizeof *m->vals);
    return m->keys != NULL && m->vals != NULL ? 0 : -1;
}

static void strmap_free(strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* The slot of key: its own, or the empty one where it would go. */
static size_t strmap_slot(const strmap *m, const char *key)
{
    size_t h = (size_t)hash_str(key) & (m->cap - 1);
    while (m->keys[h] != NULL && strcmp(m->keys[h], key) != 0)
        h = (h + 1) & (m->cap - 1);
    return h;
}

/* Adds key -> val unless present. Returns the value stored for key, or
 * SIZE_MAX when out of memory. */
static size_t strmap_put(strmap *m, const char *key, size_t val)
{
    if (2 * (m->n + 1) > m->cap) {
        strmap bigger;
        if (strmap_init(&bigger, m->n + 1) != 0) {
            strmap_free(&bigger);
            return SIZE_MAX;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != NULL) {
                size_t s = strmap_slot(&bigger, m->keys[i]);
                bigger.keys[s] = m->keys[i];
                bigger.vals[s] = m->vals[i];
            }
        bigger.n = m->n;
        strmap_free(m);
        *m = bigger;
    }
    size_t s = strmap_slot(m, key);
    if (m->keys[s] == NULL) {
        m->keys[s] = key;
        m->vals[s] = val;
        m->n++;
    }
    return m->vals[s];
}

static size_t strmap_get(const strmap *m, const char *key)
{
    size_t s = strmap_slot(m, key);
    return m->keys[s] != NULL ? m->vals[s] : SIZE_MAX;
}

/* ---- the file ---- */

typedef struct raw_file {
    char *text;          /* every field points into it */
    const char **header; /* n_cols names */
    size_t n_cols;
    const char **cells; /* n_rows x n_cols */
    size_t n_rows, cap_rows;
    long *lines; /* each row's line, for messages */
} raw_file;

static void raw_free(raw_file *f)
{
    free(f->text);
    free(f->header);
    free(f->cells);
    free(f->lines);
    memset(f, 0, sizeof *f);
}

static int add_row(raw_file *f, const csv_reader *r)
{
    if (f->n_rows == f->cap_rows) {
        size_t cap = f->cap_rows ? 2 * f->cap_rows : 1024;
        const char **c = realloc(f->cells, cap * f->n_cols * sizeof *c);
        if (c == NULL)
            return -1;
        f->cells = c;
        long *l = realloc(f->lines, cap * sizeof *l);
        if (l == NULL)
            return -1;
        f->lines = l;
        f->cap_rows = cap;
    }
    for (size_t j = 0; j < f->n_cols; j++)
        f->cells[f->n_rows * f->n_cols + j] = csv_field(r, j);
    f->lines[f->n_rows++] = csv_line(r);
    return 0;
}

/* Reads the whole CSV; every row must have the header's field count and no
 * empty field. */
static int read_raw(const char *path, raw_file *f, char *err, size_t len)
{
    memset(f, 0, sizeof *f);
    csv_reader *r = csv_open(path, err, len);
    if (r == NULL)
        return -1;
    int rc = csv_next(r, err, len), status = -1;
    if (rc == 0)
        snprintf(err, len, "%s: empty file (a header customer_id,... is needed)", path);
    if (rc != 1)
        goto done;
    f->n_cols = csv_count(r);
    f->header = malloc(f->n_cols * sizeof *f->header);
    if (f->header == NULL)
        goto nomem;
    for (size_t j = 0; j < f->n_cols; j++)
        f->header[j] = csv_field(r, j);
    while ((rc = csv_next(r, err, len)) == 1) {
        if (csv_count(r) != f->n_cols) {
            csv_errorf(r, err, len, "%zu fields, the header has %zu", csv_count(r),
                       f->n_cols);
            goto done;
        }
        for (size_t j = 0; j < f->n_cols; j++)
            if (csv_field(r, j)[0] == '\0') {
                csv_errorf(r, err, len, "empty value in column '%s'", f->header[j]);
                goto done;
            }
        if (add_row(f, r) != 0)
            goto nomem;
    }
    if (rc == 0) {
        f->text = csv_take_text(r);
        status = 0;
    }
    goto done;
nomem:
    snprintf(err, len, "%s: out of memory", path);
done:
    csv_close(r);
    if (status != 0)
        raw_free(f);
    return status;
}

/* ---- choosing and typing the columns ---- */

static long find_column(const raw_file *f, const char *name, size_t name_len)
{
    for (size_t j = 0; j < f->n_cols; j++)
        if (strlen(f->header[j]) == name_len && memcmp(f->header[j], name, name_len) == 0)
            return (long)j;
    return -1;
}

/* The file columns used as variables, in cols[0..*n). */
static int choose_columns(const cli_options *o, const raw_file *f, size_t id_col,
                          size_t *cols, size_t *n, char *err, size_t len)
{
    *n = 0;
    if (o->covariate_columns == NULL) {
        for (size_t j = 0; j < f->n_cols; j++)
            if (j != id_col)
                cols[(*n)++] = j;
    } else {
        for (const char *p = o->covariate_columns; *p != '\0';) {
            size_t l = strcspn(p, ",");
            long j = find_column(f, p, l);
            if (j < 0 || (size_t)j == id_col) {
                snprintf(err, len, "%s: unknown column '%.*s' in --covariate-columns",
                         o->covariates, (int)l, p);
                return -1;
            }
            /* each column once: cols has room for the file's columns only */
            for (size_t k = 0; k < *n; k++)
                if (cols[k] == (size_t)j) {
                    snprintf(err, len,
                             "%s: column '%.*s' named twice in --covariate-columns",
                             o->covariates, (int)l, p);
                    return -1;
                }
            cols[(*n)++] = (size_t)j;
            p += l + (p[l] == ',');
        }
    }
    if (*n == 0) {
        snprintf(err, len, "%s: no covariate column (besides customer_id)",
                 o->covariates);
        return -1;
    }
    return 0;
}

static bool column_numeric(const raw_file *f, size_t col)
{
    double v;
    for (size_t i = 0; i < f->n_rows; i++)
        if (summary_parse_number(f->cells[i * f->n_cols + col], &v) != 0)
            return false;
    return true;
}

/* Levels of a text column by first appearance; level[i] for each row. */
static int column_levels(const raw_file *f, size_t col, cov_variable *v, char ***names,
                         double *level)
{
    strmap m;
    int rc = -1;
    if (strmap_init(&m, 64) != 0)
        goto done;
    for (size_t i = 0; i < f->n_rows; i++) {
        size_t l = strmap_put(&m, f->cells[i * f->n_cols + col], m.n);
        if (l == SIZE_MAX)
            goto done;
        level[i] = (double)l;
    }
    v->n_levels = m.n;
    v->levels = calloc(m.n, sizeof *v->levels);
    *names = calloc(m.n, sizeof **names);
    if (v->levels == NULL || *names == NULL)
        goto done;
    for (size_t s = 0; s < m.cap; s++)
        if (m.keys[s] != NULL)
            (*names)[m.vals[s]] = (char *)m.keys[s];
    rc = 0;
done:
    strmap_free(&m);
    return rc;
}

/* ---- matching to the customers ---- */

/* The common case: the file lists the customers in their order, one row
 * each. Then row i is customer i's and no table is needed. */
static bool same_order(const raw_file *f, size_t id_col, const summary_set *sum)
{
    if (f->n_rows != sum->n)
        return false;
    for (size_t i = 0; i < sum->n; i++)
        if (strcmp(f->cells[i * f->n_cols + id_col], sum->rows[i].id) != 0)
            return false;
    return true;
}

static int match_customers(const cli_options *o, const raw_file *f, size_t id_col,
                           const summary_set *sum, const double *row_values,
                           cli_cov_table *t, char *err, size_t len)
{
    strmap ids = {0};
    int rc = -1;
    if (same_order(f, id_col, sum)) {
        memcpy(t->values, row_values, sum->n * t->n_vars * sizeof *t->values);
        return 0;
    }
    if (strmap_init(&ids, f->n_rows) != 0)
        goto nomem;
    for (size_t i = 0; i < f->n_rows; i++) {
        const char *id = f->cells[i * f->n_cols + id_col];
        size_t got = strmap_put(&ids, id, i);
        if (got == SIZE_MAX)
            goto nomem;
        if (got != i) {
            char pid[128];
            cli_printable(id, pid, sizeof pid);
            snprintf(err, len, "%s:%ld: customer '%s' has a second row", o->covariates,
                     f->lines[i], pid);
            goto done;
        }
    }
    size_t V = t->n_vars, missing = 0, first = 0;
    for (size_t c = 0; c < sum->n; c++) {
        size_t row = strmap_get(&ids, sum->rows[c].id);
        if (row == SIZE_MAX) {
            if (missing++ == 0)
                first = c;
            continue;
        }
        memcpy(t->values + c * V, row_values + row * V, V * sizeof *t->values);
    }
    if (missing > 0) {
        char pid[128];
        cli_printable(sum->rows[first].id, pid, sizeof pid);
        snprintf(err, len, "%s: customer '%s' has no row (%zu customer%s missing)",
                 o->covariates, pid, missing, missing == 1 ? "" : "s");
        goto done;
    }
    rc = 0;
    goto done;
nomem:
    snprintf(err, len, "%s: out of memory", o->covariates);
done:
    strmap_free(&ids);
    return rc;
}

/* Types the chosen columns and fills row_values (n_rows x n_vars). */
static int build_vars(const raw_file *f, const size_t *cols, cli_cov_table *t,
                      double *row_values)
{
    size_t V = t->n_vars;
    double *level = malloc((f->n_rows > 0 ? f->n_rows : 1) * sizeof *level);
    if (level == NULL)
        return -1;
    for (size_t v = 0; v < V; v++) {
        size_t col = cols[v];
        t->vars[v].name = f->header[col];
        t->vars[v].categorical = !column_numeric(f, col);
        if (t->vars[v].categorical &&
            column_levels(f, col, &t->vars[v], &t->level_names[v], level) != 0) {
            free(level);
            return -1;
        }
        for (size_t i = 0; i < f->n_rows; i++) {
            double x;
            if (t->vars[v].categorical)
                x = level[i];
            else
                summary_parse_number(f->cells[i * f->n_cols + col], &x);
            row_values[i * V + v] = x;
        }
    }
    free(level);
    return 0;
}

int cli_cov_table_read(const cli_options *o, const summary_set *sum, cli_cov_table *t)
{
    char err[SUMMARY_ERR_MAX];
    raw_file f;
    size_t *cols = NULL;
    double *row_values = NULL;
    memset(t, 0, sizeof *t);
    if (read_raw(o->covariates, &f, err, sizeof err) != 0)
        goto failed;
    long id_col = find_column(&f, "customer_id", strlen("customer_id"));
    if (id_col < 0) {
        snprintf(err, sizeof err, "%s: no customer_id column in the header",
                 o->covariates);
        goto failed;
    }
    cols = malloc(f.n_cols * sizeof *cols);
    if (cols == NULL)
        goto nomem;
    if (choose_columns(o, &f, (size_t)id_col, cols, &t->n_vars, err, sizeof err) != 0)
        goto failed;
    t->n_rows = f.n_rows;
    t->n_customers = sum->n;
    t->vars = calloc(t->n_vars, sizeof *t->vars);
    t->level_names = calloc(t->n_vars, sizeof *t->level_names);
    t->values =
        malloc((sum->n * t->n_vars > 0 ? sum->n * t->n_vars : 1) * sizeof *t->values);
    row_values = malloc((f.n_rows * t->n_vars > 0 ? f.n_rows * t->n_vars : 1) *
                        sizeof *row_values);
    if (t->vars == NULL || t->level_names == NULL || t->values == NULL ||
        row_values == NULL)
        goto nomem;
    if (build_vars(&f, cols, t, row_values) != 0)
        goto nomem;
    if (match_customers(o, &f, (size_t)id_col, sum, row_values, t, err, sizeof err) != 0)
        goto failed;
    free(cols);
    free(row_values);
    t->text = f.text; /* the names and levels point into it */
    f.text = NULL;
    free(f.header);
    free(f.cells);
    free(f.lines);
    return 0;
nomem:
    snprintf(err, sizeof err, "%s: out of memory", o->covariates);
failed:
    fprintf(stderr, "ltvd fit: %s\n", err);
    free(cols);
    free(row_values);
    raw_free(&f);
    cli_cov_table_free(t);
    return -1;
}

void cli_cov_table_free(cli_cov_table *t)
{
    for (size_t v = 0; v < t->n_vars && t->vars != NULL; v++) {
        free(t->vars[v].levels);
        if (t->level_names != NULL)
            free(t->level_names[v]);
    }
    free(t->vars);
    free(t->level_names);
    free(t->values);
    free(t->text);
    memset(t, 0, sizeof *t);
}
