/* `ltvd import --subscriptions FILE`: subscription events from a CSV with
 * the columns of POST /v1/subscriptions' items (a header naming id,
 * customer_id, subscription_id, event, occurred_at, amount and
 * billing_period, in any order), validated by the same rules, then stored
 * as one batch: all or nothing for the whole file (the order rules span the
 * file and the events already stored), idempotent by (subscription_id, id),
 * so running it again stores nothing twice. The file is held in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/import.h"
#include "ingest/subs.h"
#include "store/subscriptions.h"
#include "summary/csv.h"

#define ERRORS_SHOWN 100

/* The events of a file and the line of each. */
typedef struct subs_file {
    subs_batch b;
    long *lines;
    size_t cap;
    ingest_errors errs; /* a row's error has the row's line as its index */
} subs_file;

static void print_errors(const char *name, const ingest_errors *e, const long *lines)
{
    for (size_t i = 0; i < e->n && i < ERRORS_SHOWN; i++) {
        const ingest_error *x = &e->items[i];
        long line = lines != NULL && x->index >= 0 ? lines[x->index] : x->index;
        fprintf(stderr, "%s:%ld: %s: %s\n", name, line,
                x->field != NULL ? x->field : "row", x->reason);
    }
    if (e->n_total > ERRORS_SHOWN)
        fprintf(stderr, "ltvd import: ... %zu more errors not shown\n",
                e->n_total - ERRORS_SHOWN);
}

/* The columns' positions from the header; false after saying which is
 * missing or named twice (the first was read, the other silently ignored). */
static bool header(csv_reader *r, const char *name, long idx[SUBS_N_COLUMNS])
{
    for (int c = 0; c < SUBS_N_COLUMNS; c++) {
        if ((idx[c] = csv_find(r, subs_columns[c])) < 0) {
            fprintf(stderr, "ltvd import: %s: the header has no column %s\n", name,
                    subs_columns[c]);
            return false;
        }
        for (size_t i = (size_t)idx[c] + 1; i < csv_count(r); i++)
            if (strcmp(csv_field(r, i), subs_columns[c]) == 0) {
                fprintf(stderr, "ltvd import: %s: the header names column %s twice\n",
                        name, subs_columns[c]);
                return false;
            }
    }
    return true;
}

/* Reads and validates every row. 0 when all are valid, 1 when some are not
 * (printed), -1 on a read error or out of memory (printed). */
static int read_file(csv_reader *r, const char *name, subs_file *f)
{
    char err[512];
    long idx[SUBS_N_COLUMNS];
    int got = csv_next(r, err, sizeof err);
    if (got <= 0) {
        fprintf(stderr, "ltvd import: %s\n", got < 0 ? err : "the file is empty");
        return -1;
    }
    if (!header(r, name, idx))
        return -1;
    ingest_limits lim = ingest_limits_default(SIZE_MAX);
    lim.max_errors = 0;
    int64_t now = (int64_t)time(NULL);
    while ((got = csv_next(r, err, sizeof err)) == 1) {
        const char *fields[SUBS_N_COLUMNS];
        long line = csv_line(r);
        for (int c = 0; c < SUBS_N_COLUMNS; c++)
            fields[c] = (size_t)idx[c] < csv_count(r) ? csv_field(r, (size_t)idx[c]) : "";
        if (f->b.n == f->cap) {
            size_t cap = f->cap ? 2 * f->cap : 1024;
            long *l = realloc(f->lines, cap * sizeof *l);
            if (l == NULL)
                break;
            f->lines = l;
            f->cap = cap;
        }
        f->lines[f->b.n] = line; /* the row's, if it is kept */
        if (subs_batch_add_row(&f->b, fields, line, now, &lim, &f->errs) != 0)
            break;
    }
    if (got != 0) {
        fprintf(stderr, "ltvd import: %s\n", got < 0 ? err : "out of memory");
        return -1;
    }
    if (f->errs.n_total > 0) {
        print_errors(name, &f->errs, NULL); /* row errors carry their line */
        fprintf(stderr, "ltvd import: %s: %zu bad value(s): nothing imported\n", name,
                f->errs.n_total);
        return 1;
    }
    if (f->b.n == 0) {
        fprintf(stderr, "ltvd import: %s: no events\n", name);
        return -1;
    }
    return 0;
}

/* Stores the file's events in one transaction. The exit status. */
static int store(store_db *db, const char *tenant, const char *name, subs_file *f)
{
    store_sub_event *items = malloc(f->b.n * sizeof *items);
    bool *dup = calloc(f->b.n, sizeof *dup);
    int status = 1;
    if (items == NULL || dup == NULL) {
        fprintf(stderr, "ltvd import: out of memory\n");
        goto cleanup;
    }
    for (size_t i = 0; i < f->b.n; i++)
        subs_item_to_store(&f->b.items[i], &items[i]);
    ingest_errors_free(&f->errs);
    subs_check_ctx ctx = {&f->b, 0, &f->errs, dup};
    store_subs_result r;
    if (store_subs_insert(db, tenant, items, f->b.n, subs_store_check, &ctx, &r) != 0) {
        fprintf(stderr, "ltvd import: %s: %s: nothing imported\n", name,
                store_db_error(db));
    } else if (r.refused) {
        print_errors(name, &f->errs, f->lines);
        fprintf(stderr,
                "ltvd import: %s: %zu event(s) out of order against the file or the "
                "stored events: nothing imported\n",
                name, f->errs.n_total);
    } else {
        printf("%s: %zu events, %zu new, %zu duplicates; subscriptions of tenant %s\n",
               name, f->b.n, r.n_new, f->b.n - r.n_new, tenant);
        status = 0;
    }
cleanup:
    free(items);
    free(dup);
    return status;
}

int import_subscriptions(store_db *db, const char *tenant, const char *path)
{
    char err[512];
    csv_reader *r = strcmp(path, "-") == 0 ? csv_open_stream(stdin, "-", err, sizeof err)
                                           : csv_open(path, err, sizeof err);
    if (r == NULL) {
        fprintf(stderr, "ltvd import: %s\n", err);
        return 1;
    }
    subs_file f = {0};
    int rc = read_file(r, path, &f);
    int status = rc != 0 ? 1 : db == NULL ? 0 : store(db, tenant, path, &f);
    if (rc == 0 && db == NULL)
        printf("%s: %zu events valid (dry run: the order against stored events is not "
               "checked; nothing imported)\n",
               path, f.b.n);
    csv_close(r);
    subs_batch_free(&f.b);
    ingest_errors_free(&f.errs);
    free(f.lines);
    return status;
}
