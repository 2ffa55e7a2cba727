/* A small CSV reader for the test data whose rows mix text and numbers:
 * '#' lines are comments, the first other line is a header, fields are split
 * at commas (no quoting; empty fields allowed). */
#ifndef LTVD_TESTS_ROWCSV_H
#define LTVD_TESTS_ROWCSV_H

/* Calls row(fields, ctx) for each data line with exactly nf fields (lines
 * with another count are skipped). Returns the number of rows passed on, or
 * -1 when the file cannot be opened. Lines longer than 1023 bytes are not
 * supported. */
int rowcsv_read(const char *path, int nf, void (*row)(char **f, void *ctx), void *ctx);

#endif
