/* `ltvd import`'s second pass: the validated rows, copied into a batch of
 * their own (the reader reuses its buffers), sent to the store a batch at a
 * time, into one tenant. Each batch is one PostgreSQL transaction,
 * idempotent by (tenant, customer_id, txn_id), so a re-run after an
 * interruption only adds what the interrupted run had not committed. */
#include <stdlib.h>
#include <string.h>

#include "cli/import.h"
#include "ingest/txn_key.h"
#include "store/ingest.h"

/* One batch: items whose strings live in `text` at the offsets in `offs`
 * (pointers are set only at the flush: text moves when it grows). */
typedef struct batch {
    store_item *items;
    size_t (*offs)[5]; /* customer_id, txn_id, amount, channel, campaign
                          (NO_TEXT: none) */
    size_t n, cap;
    char *text;
    size_t text_len, text_cap;
} batch;

static int batch_init(batch *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->items = calloc(cap, sizeof *b->items);
    b->offs = calloc(cap, sizeof *b->offs);
    b->cap = cap;
    return b->items != NULL && b->offs != NULL ? 0 : -1;
}

static void batch_free(batch *b)
{
    free(b->items);
    free(b->offs);
    free(b->text);
}

#define NO_TEXT ((size_t)-1)

/* Appends s (with its NUL) to the text; returns its offset, or -1. */
static long batch_text(batch *b, const char *s)
{
    size_t n = strlen(s) + 1;
    if (b->text_len + n > b->text_cap) {
        size_t cap = b->text_cap ? 2 * b->text_cap : 1 << 16;
        while (cap < b->text_len + n)
            cap *= 2;
        char *p = realloc(b->text, cap);
        if (p == NULL)
            return -1;
        b->text = p;
        b->text_cap = cap;
    }
    memcpy(b->text + b->text_len, s, n);
    b->text_len += n;
    return (long)(b->text_len - n);
}

/* Adds a row, with txn_id as its id. Returns 0 or -1 (out of memory). */
static int batch_add(batch *b, const ingest_csv_row *row, const char *txn_id)
{
    const char *s[5] = {row->customer_id, txn_id, row->amount, row->channel,
                        row->campaign};
    for (int k = 0; k < 5; k++) {
        if (s[k] == NULL) {
            b->offs[b->n][k] = NO_TEXT;
            continue;
        }
        long off = batch_text(b, s[k]);
        if (off < 0)
            return -1;
        b->offs[b->n][k] = (size_t)off;
    }
    b->items[b->n].occurred_at = NULL;
    b->items[b->n].occurred_at_s = row->occurred_at_s;
    b->n++;
    return 0;
}

/* Stores the batch (one transaction) and empties it. Returns 0 or -1. */
static int batch_flush(batch *b, store_db *db, const char *tenant, import_totals *t,
                       char err[INGEST_CSV_ERR_MAX])
{
    const store_batch_opts opts = {.tenant = tenant};
    if (b->n == 0)
        return 0;
    for (size_t i = 0; i < b->n; i++) {
        b->items[i].customer_id = b->text + b->offs[i][0];
        b->items[i].txn_id = b->text + b->offs[i][1];
        b->items[i].amount = b->text + b->offs[i][2];
        b->items[i].channel = b->offs[i][3] == NO_TEXT ? NULL : b->text + b->offs[i][3];
        b->items[i].campaign = b->offs[i][4] == NO_TEXT ? NULL : b->text + b->offs[i][4];
    }
    store_batch_result r;
    if (store_insert_batch(db, b->items, b->n, &opts, &r) != 0) {
        snprintf(err, INGEST_CSV_ERR_MAX, "%s", store_db_error(db));
        return -1;
    }
    t->rows += b->n;
    t->n_new += r.n_new;
    t->n_duplicate += r.n_duplicate;
    store_batch_result_free(&r);
    b->n = 0;
    b->text_len = 0;
    return 0;
}

/* The id to store for row: its own, or a derived one (in buf). */
static const char *row_id(const ingest_csv_row *row, ingest_counter *seen,
                          char buf[INGEST_DERIVED_ID_MAX])
{
    if (row->id != NULL)
        return row->id;
    if (ingest_derive_id(seen, row->customer_id, row->occurred_at_s, row->amount, buf) !=
        0)
        return NULL;
    return buf;
}

int import_load(store_db *db, const char *tenant, FILE *fp, const char *name, int64_t now,
                size_t batch_rows, size_t total_rows, import_progress *p,
                import_totals *t, char err[INGEST_CSV_ERR_MAX])
{
    int rc = -1;
    batch b;
    ingest_counter seen = {0};
    double started = import_now();
    memset(t, 0, sizeof *t);
    ingest_csv *in = ingest_csv_open(fp, name, now, err);
    if (batch_init(&b, batch_rows) != 0 || in == NULL) {
        if (in != NULL)
            snprintf(err, INGEST_CSV_ERR_MAX, "out of memory");
        goto cleanup;
    }
    ingest_csv_row row;
    ingest_csv_status st;
    char buf[INGEST_DERIVED_ID_MAX];
    while ((st = ingest_csv_next(in, &row, err)) == INGEST_CSV_ROW) {
        const char *id = row_id(&row, &seen, buf);
        if (id == NULL || batch_add(&b, &row, id) != 0) {
            snprintf(err, INGEST_CSV_ERR_MAX, "out of memory");
            goto cleanup;
        }
        if (b.n == b.cap) {
            if (batch_flush(&b, db, tenant, t, err) != 0)
                goto cleanup;
            import_progress_loading(p, t->rows, total_rows, started, t->n_new,
                                    t->n_duplicate, false);
        }
    }
    if (st == INGEST_CSV_BAD_ROW) { /* it was valid a moment ago */
        size_t n = strlen(err);
        snprintf(err + n, INGEST_CSV_ERR_MAX - n,
                 " (the file changed during the import?)");
    }
    if (st != INGEST_CSV_END || batch_flush(&b, db, tenant, t, err) != 0)
        goto cleanup;
    import_progress_loading(p, t->rows, total_rows, started, t->n_new, t->n_duplicate,
                            true);
    rc = 0;
cleanup:
    ingest_csv_close(in);
    ingest_counter_free(&seen);
    batch_free(&b);
    return rc;
}
