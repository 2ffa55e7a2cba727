/* Reading a transactions CSV into a txn_set: column lookup, row validation
 * (policies in summary.h) and an open-addressing hash table that maps each
 * customer id to its index in O(1), so millions of rows read in one pass. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "summary/csv.h"
#include "summary/summary.h"

/* ------------------------------------------------------------------------
 * Customer id -> index (linear probing, power-of-two capacity, load <= 1/2).
 * ------------------------------------------------------------------------ */

typedef struct id_slot {
    uint64_t hash;
    size_t index_plus_1; /* 0: empty */
} id_slot;

typedef struct id_map {
    id_slot *slots;
    size_t cap;
} id_map;

/* FNV-1a, 64 bits. */
static uint64_t hash_id(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static id_slot *probe(const id_map *m, char *const *ids, const char *id, uint64_t hash)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        id_slot *s = &m->slots[i];
        if (s->index_plus_1 == 0 ||
            (s->hash == hash && strcmp(ids[s->index_plus_1 - 1], id) == 0))
            return s;
    }
}

/* Doubles the table (or creates it). Returns 0 or -1. */
static int grow_map(id_map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1024;
    id_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].index_plus_1 == 0)
            continue;
        size_t j = (size_t)m->slots[i].hash & (cap - 1);
        while (slots[j].index_plus_1 != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* ------------------------------------------------------------------------
 * The reader.
 * ------------------------------------------------------------------------ */

typedef struct reader {
    csv_reader *csv;
    size_t n_columns; /* fields in the header */
    long col_id, col_at, col_amount;
    txn_set *out;
    size_t items_cap, ids_cap;
    id_map map;
    char *err;
} reader;

/* Index of id in out->customer_ids, adding it if new. Returns 0 or -1. */
static int customer_index(reader *rd, const char *id, size_t *index)
{
    txn_set *t = rd->out;
    if (2 * (t->n_customers + 1) > rd->map.cap && grow_map(&rd->map) != 0)
        return -1;
    uint64_t h = hash_id(id);
    id_slot *slot = probe(&rd->map, t->customer_ids, id, h);
    if (slot->index_plus_1 != 0) {
        *index = slot->index_plus_1 - 1;
        return 0;
    }
    if (t->n_customers == rd->ids_cap) {
        size_t cap = rd->ids_cap ? 2 * rd->ids_cap : 1024;
        char **p = realloc(t->customer_ids, cap * sizeof *p);
        if (p == NULL)
            return -1;
        t->customer_ids = p;
        rd->ids_cap = cap;
    }
    char *copy = strdup(id);
    if (copy == NULL)
        return -1;
    t->customer_ids[t->n_customers] = copy;
    slot->hash = h;
    slot->index_plus_1 = ++t->n_customers;
    *index = t->n_customers - 1;
    return 0;
}

static int push_txn(reader *rd, txn item)
{
    txn_set *t = rd->out;
    if (t->n == rd->items_cap) {
        size_t cap = rd->items_cap ? 2 * rd->items_cap : 4096;
        txn *p = realloc(t->items, cap * sizeof *p);
        if (p == NULL)
            return -1;
        t->items = p;
        rd->items_cap = cap;
    }
    t->items[t->n++] = item;
    if (item.day > t->last_day)
        t->last_day = item.day;
    return 0;
}

/* Reads the header and finds the three columns. Returns 0 or -1. */
static int read_header(reader *rd)
{
    int rc = csv_next(rd->csv, rd->err, SUMMARY_ERR_MAX);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX, "no transactions (empty file)");
        return -1;
    }
    static const char *const names[3] = {"customer_id", "occurred_at", "amount"};
    long *cols[3] = {&rd->col_id, &rd->col_at, &rd->col_amount};
    for (int i = 0; i < 3; i++) {
        *cols[i] = csv_find(rd->csv, names[i]);
        if (*cols[i] < 0) {
            csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX,
                       "missing column \"%s\" (need customer_id,occurred_at,amount)",
                       names[i]);
            return -1;
        }
    }
    rd->n_columns = csv_count(rd->csv);
    return 0;
}

/* Checks the amount field against the policies of summary.h. */
static int parse_amount(reader *rd, const char *text, double *amount)
{
    if (summary_parse_number(text, amount) != 0) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX,
                   "bad amount \"%.40s\" (expected a decimal number)", text);
        return -1;
    }
    if (*amount < 0) {
        csv_errorf(rd->csv, rd->err, SUMMARY_ERR_MAX,
                   "negative amount \"%.40s\" (refunds are not supported: "
                   "net them into the purchase)",
                   text);
        return -1;
    }
    *amount += 0.0; /* -0 -> +0 */
    return 0;
}

/* Validates the current record and appends it. Returns 0 or -1. */
static int read_row(reader *rd)
{
    csv_reader *c = rd->csv;
    if (csv_count(c) != rd->n_columns) {
        csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "%zu fields, the header has %zu",
                   csv_count(c), rd->n_columns);
        return -1;
    }
    const char *id = csv_field(c, (size_t)rd->col_id);
    const char *at = csv_field(c, (size_t)rd->col_at);
    txn item;
    if (*id == '\0') {
        csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "empty customer_id");
        return -1;
    }
    if (summary_parse_day(at, &item.day) != 0) {
        csv_errorf(c, rd->err, SUMMARY_ERR_MAX,
                   "bad occurred_at \"%.40s\" (expected YYYY-MM-DD or RFC 3339)", at);
        return -1;
    }
    if (parse_amount(rd, csv_field(c, (size_t)rd->col_amount), &item.amount) != 0)
        return -1;
    if (customer_index(rd, id, &item.customer) != 0 || push_txn(rd, item) != 0) {
        csv_errorf(c, rd->err, SUMMARY_ERR_MAX, "out of memory");
        return -1;
    }
    return 0;
}

int txn_read_csv(const char *path, txn_set *out, char err[SUMMARY_ERR_MAX])
{
    int ok = -1;
    *out = (txn_set){.last_day = INT64_MIN};
    reader rd = {.out = out, .err = err};
    rd.csv = csv_open(path, err, SUMMARY_ERR_MAX);
    if (rd.csv == NULL || read_header(&rd) != 0)
        goto cleanup;
    int rc;
    while ((rc = csv_next(rd.csv, err, SUMMARY_ERR_MAX)) == 1)
        if (read_row(&rd) != 0)
            goto cleanup;
    if (rc < 0)
        goto cleanup;
    if (out->n == 0) {
        csv_errorf(rd.csv, err, SUMMARY_ERR_MAX, "no transactions (header only)");
        goto cleanup;
    }
    ok = 0;
cleanup:
    if (ok != 0)
        txn_set_free(out);
    free(rd.map.slots);
    csv_close(rd.csv);
    return ok;
}

void txn_set_free(txn_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_customers; i++)
        free(s->customer_ids[i]);
    free(s->customer_ids);
    free(s->items);
    *s = (txn_set){.last_day = INT64_MIN};
}
