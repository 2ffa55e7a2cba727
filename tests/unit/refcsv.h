/* A tiny reader for the reference-value CSV files of tests/data/: '#' lines
 * are comments, the first other line names the columns, every later line is
 * numbers (strtod syntax; "nan" marks a value the reference does not give). */
#ifndef LTVD_TESTS_REFCSV_H
#define LTVD_TESTS_REFCSV_H

#include <stddef.h>

#define REFCSV_MAX_COLS 32

typedef struct refcsv {
    size_t n_cols;
    size_t n_rows;
    char names[REFCSV_MAX_COLS][32];
    double *v; /* n_rows * n_cols, row-major; owned */
} refcsv;

/* Loads path (relative to the working directory, the repo root). Returns 0,
 * or -1 with *t zeroed when the file is missing or malformed. */
int refcsv_load(const char *path, refcsv *t);

/* Index of column name, or -1. */
int refcsv_col(const refcsv *t, const char *name);

/* Value of row i, column c. */
double refcsv_at(const refcsv *t, size_t i, int c);

void refcsv_free(refcsv *t);

#endif
