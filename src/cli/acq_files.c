/* Reading the inputs of `ltvd acquisition` and `ltvd cohorts` (acq_files.h). */
#include "cli/acq_files.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest/batch.h"
#include "summary/csv.h"

/* A channel name is 1..128 bytes of UTF-8 (jansson checks it) without
 * control characters: the rule of the service (ingest_check_id). */
static bool channel_ok(const char *s)
{
    size_t n = strlen(s);
    char buf[160];
    if (n == 0 || n > INGEST_ATTR_BYTES ||
        ingest_check_id(s, n, INGEST_ATTR_BYTES, buf, sizeof buf) != NULL)
        return false;
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/* The service's bounds (PUT /v1/acquisition/spend): a spend has at most 14
 * digits before the point, leads at most 2^53; sums of such rows stay
 * finite (a spend of 1e308 overflowed the channel's sum to inf). */
#define SPEND_BOUND 1e14
#define LEADS_BOUND 9007199254740992.0

long acq_names_index(acq_names *names, const char *name)
{
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->v[i], name) == 0)
            return (long)i;
    char **v = realloc(names->v, (names->n + 1) * sizeof *v);
    if (v == NULL)
        return -1;
    names->v = v;
    if ((v[names->n] = strdup(name)) == NULL)
        return -1;
    return (long)names->n++;
}

void acq_names_free(acq_names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
    memset(names, 0, sizeof *names);
}

cohort_customer *acq_customers_from_txns(const txn_set *txns, const summary_set *sum)
{
    size_t n = txns->n_customers;
    if (sum->n != n)
        return NULL;
    cohort_customer *c = malloc((n ? n : 1) * sizeof *c);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (sum->rows[i].id != txns->customer_ids[i]) { /* not in id order */
            free(c);
            return NULL;
        }
        c[i] = (cohort_customer){.first_day = INT64_MAX,
                                 .n_days = (uint32_t)sum->rows[i].frequency + 1,
                                 .channel = COHORT_NO_CHANNEL,
                                 .predicted_ltv = NAN};
    }
    for (size_t j = 0; j < txns->n; j++) {
        cohort_customer *k = &c[txns->items[j].customer];
        k->first_day =
            txns->items[j].day < k->first_day ? txns->items[j].day : k->first_day;
    }
    for (size_t j = 0; j < txns->n; j++) {
        const txn *t = &txns->items[j];
        cohort_customer *k = &c[t->customer];
        if (t->day == k->first_day)
            k->first_amount += t->amount;
        else
            k->repeat_amount += t->amount;
        int64_t later = cohort_month_of_day(t->day) - cohort_month_of_day(k->first_day);
        if (later < COHORT_MONTH_BITS)
            k->month_bits |= UINT64_C(1) << later;
    }
    return c;
}

/* --------------------------------------------------------- attributes */

/* An open-addressing table of the customers' ids: slot -> index + 1. */
typedef struct id_table {
    size_t *slot;
    size_t mask;
} id_table;

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int id_table_build(id_table *t, const txn_set *txns)
{
    size_t cap = 16;
    while (cap < 2 * txns->n_customers)
        cap *= 2;
    t->mask = cap - 1;
    t->slot = calloc(cap, sizeof *t->slot);
    if (t->slot == NULL)
        return -1;
    for (size_t i = 0; i < txns->n_customers; i++) {
        size_t h = hash_id(txns->customer_ids[i]) & t->mask;
        while (t->slot[h] != 0)
            h = (h + 1) & t->mask;
        t->slot[h] = i + 1;
    }
    return 0;
}

/* The customer index of id, or -1. */
static long id_table_find(const id_table *t, const txn_set *txns, const char *id)
{
    for (size_t h = hash_id(id) & t->mask; t->slot[h] != 0; h = (h + 1) & t->mask)
        if (strcmp(txns->customer_ids[t->slot[h] - 1], id) == 0)
            return (long)(t->slot[h] - 1);
    return -1;
}

/* The column `name` of the header, or an error. */
static long column(csv_reader *r, const char *name, char *err)
{
    long i = csv_find(r, name);
    if (i < 0)
        csv_errorf(r, err, SUMMARY_ERR_MAX, "the header has no %s column", name);
    return i;
}

static int attribute_row(csv_reader *r, long id_col, long ch_col, const id_table *t,
                         const txn_set *txns, cohort_customer *c, char *seen,
                         acq_names *names, char *err)
{
    const char *id = csv_field(r, (size_t)id_col), *ch = csv_field(r, (size_t)ch_col);
    if (*ch != '\0' && !channel_ok(ch)) {
        csv_errorf(r, err, SUMMARY_ERR_MAX,
                   "acquisition_channel must be 1 to 128 bytes of UTF-8 without "
                   "control characters");
        return -1;
    }
    long i = id_table_find(t, txns, id);
    if (i < 0)
        return 0; /* a customer without transactions: not acquired yet */
    if (seen[i]) {
        csv_errorf(r, err, SUMMARY_ERR_MAX, "customer '%.100s' appears twice", id);
        return -1;
    }
    seen[i] = 1;
    if (*ch == '\0')
        return 0;
    long k = acq_names_index(names, ch);
    if (k < 0) {
        csv_errorf(r, err, SUMMARY_ERR_MAX, "out of memory");
        return -1;
    }
    c[i].channel = (uint32_t)k;
    return 0;
}

int acq_read_attributes(const char *path, const txn_set *txns, cohort_customer *c,
                        acq_names *names, char err[SUMMARY_ERR_MAX])
{
    int status = -1;
    id_table t = {0};
    char *seen = calloc(txns->n_customers + 1, 1);
    csv_reader *r = csv_open(path, err, SUMMARY_ERR_MAX);
    if (r == NULL || seen == NULL || id_table_build(&t, txns) != 0) {
        if (r != NULL)
            csv_errorf(r, err, SUMMARY_ERR_MAX, "out of memory");
        goto cleanup;
    }
    if (csv_next(r, err, SUMMARY_ERR_MAX) != 1) {
        snprintf(err, SUMMARY_ERR_MAX, "%s: empty file (a header is needed)", path);
        goto cleanup;
    }
    long id_col = column(r, "customer_id", err), ch_col = -1;
    if (id_col < 0 || (ch_col = column(r, "acquisition_channel", err)) < 0)
        goto cleanup;
    size_t width = csv_count(r);
    int rc;
    while ((rc = csv_next(r, err, SUMMARY_ERR_MAX)) == 1) {
        if (csv_count(r) != width) {
            csv_errorf(r, err, SUMMARY_ERR_MAX, "%zu fields, the header has %zu",
                       csv_count(r), width);
            goto cleanup;
        }
        if (attribute_row(r, id_col, ch_col, &t, txns, c, seen, names, err) != 0)
            goto cleanup;
    }
    status = rc == 0 ? 0 : -1;
cleanup:
    csv_close(r);
    free(seen);
    free(t.slot);
    return status;
}

/* -------------------------------------------------------------- spend */

static int spend_row(csv_reader *r, const long *col, acq_names *names, cohort_spend *s,
                     char *err)
{
    int32_t mo;
    if (cohort_parse_month(csv_field(r, (size_t)col[1]), &mo) != 0) {
        csv_errorf(r, err, SUMMARY_ERR_MAX, "month must be YYYY-MM, not '%.40s'",
                   csv_field(r, (size_t)col[1]));
        return -1;
    }
    double spend, leads = 0;
    if (summary_parse_number(csv_field(r, (size_t)col[2]), &spend) != 0 || spend < 0 ||
        spend >= SPEND_BOUND) {
        csv_errorf(r, err, SUMMARY_ERR_MAX,
                   "spend must be a number >= 0 below 1e14, not '%.40s'",
                   csv_field(r, (size_t)col[2]));
        return -1;
    }
    const char *lt = col[3] >= 0 ? csv_field(r, (size_t)col[3]) : "";
    if (*lt != '\0' &&
        (summary_parse_number(lt, &leads) != 0 || leads < 0 || leads > LEADS_BOUND)) {
        csv_errorf(r, err, SUMMARY_ERR_MAX,
                   "leads must be empty or a number from 0 to 2^53, not '%.40s'", lt);
        return -1;
    }
    const char *ch = csv_field(r, (size_t)col[0]);
    if (!channel_ok(ch)) {
        csv_errorf(r, err, SUMMARY_ERR_MAX,
                   "channel must be 1 to 128 bytes of UTF-8 without control "
                   "characters");
        return -1;
    }
    long k = acq_names_index(names, ch);
    if (k < 0) {
        csv_errorf(r, err, SUMMARY_ERR_MAX, "out of memory");
        return -1;
    }
    *s = (cohort_spend){(uint32_t)k, mo, spend, *lt != '\0', leads};
    return 0;
}

static int duplicate(const cohort_spend *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].channel == s[n].channel && s[i].month == s[n].month)
            return 1;
    return 0;
}

int acq_read_spend(const char *path, acq_names *names, cohort_spend **out, size_t *n_out,
                   char err[SUMMARY_ERR_MAX])
{
    *out = NULL;
    *n_out = 0;
    csv_reader *r = csv_open(path, err, SUMMARY_ERR_MAX);
    if (r == NULL)
        return -1;
    if (csv_next(r, err, SUMMARY_ERR_MAX) != 1) {
        snprintf(err, SUMMARY_ERR_MAX, "%s: empty file (a header is needed)", path);
        goto failed;
    }
    long col[4] = {column(r, "channel", err), -1, -1, csv_find(r, "leads")};
    if (col[0] < 0 || (col[1] = column(r, "month", err)) < 0 ||
        (col[2] = column(r, "spend", err)) < 0)
        goto failed;
    size_t width = csv_count(r), cap = 0;
    int rc;
    while ((rc = csv_next(r, err, SUMMARY_ERR_MAX)) == 1) {
        if (csv_count(r) != width) {
            csv_errorf(r, err, SUMMARY_ERR_MAX, "%zu fields, the header has %zu",
                       csv_count(r), width);
            goto failed;
        }
        if (*n_out == cap) {
            cap = cap ? 2 * cap : 64;
            cohort_spend *p = realloc(*out, cap * sizeof *p);
            if (p == NULL) {
                csv_errorf(r, err, SUMMARY_ERR_MAX, "out of memory");
                goto failed;
            }
            *out = p;
        }
        if (spend_row(r, col, names, &(*out)[*n_out], err) != 0)
            goto failed;
        if (duplicate(*out, *n_out)) {
            csv_errorf(r, err, SUMMARY_ERR_MAX, "channel and month given twice");
            goto failed;
        }
        ++*n_out;
    }
    if (rc != 0)
        goto failed;
    csv_close(r);
    return 0;
failed:
    csv_close(r);
    free(*out);
    *out = NULL;
    *n_out = 0;
    return -1;
}
