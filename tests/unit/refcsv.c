/* The reference-value CSV reader shared by the model test suites. */
#include "refcsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t split_header(char *line, refcsv *t)
{
    size_t n = 0;
    for (char *tok = strtok(line, ",\r\n"); tok && n < REFCSV_MAX_COLS;
         tok = strtok(NULL, ",\r\n")) {
        snprintf(t->names[n], sizeof t->names[n], "%s", tok);
        n++;
    }
    return n;
}

static int parse_row(char *line, refcsv *t, size_t cap)
{
    if (t->n_rows == cap)
        return -1;
    double *row = t->v + t->n_rows * t->n_cols;
    char *p = line;
    for (size_t j = 0; j < t->n_cols; j++) {
        char *end;
        row[j] = strtod(p, &end);
        if (end == p)
            return -1;
        p = end + (*end == ',');
    }
    t->n_rows++;
    return 0;
}

int refcsv_load(const char *path, refcsv *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (t->n_cols == 0) {
            t->n_cols = split_header(line, t);
            cap = 100000;
            t->v = malloc(cap * t->n_cols * sizeof *t->v);
            rc = t->v ? 0 : -1;
        } else {
            rc = parse_row(line, t, cap);
        }
    }
    fclose(f);
    if (rc != 0 || t->n_cols == 0) {
        refcsv_free(t);
        return -1;
    }
    return 0;
}

int refcsv_col(const refcsv *t, const char *name)
{
    for (size_t j = 0; j < t->n_cols; j++)
        if (strcmp(t->names[j], name) == 0)
            return (int)j;
    return -1;
}

double refcsv_at(const refcsv *t, size_t i, int c)
{
    return t->v[i * t->n_cols + (size_t)c];
}

void refcsv_free(refcsv *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}
