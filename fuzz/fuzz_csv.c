/* libFuzzer target: the CSV readers. The input is one file, read by each of
 * them in turn: the RFC 4180 record reader (summary/csv.h) as a stream and as
 * a file read whole, which must agree record for record and error for error;
 * the row validator of `ltvd import` (ingest/csv_rows.h); and the
 * transactions and summary readers of `ltvd fit` (txn_read_csv,
 * summary_read_csv and summary_read_patterns, which take a path: the file is
 * a memfd reached through /proc/self/fd). Every field that parses as a
 * number must be strtod's value, bit for bit. */
#define _GNU_SOURCE /* memfd_create */
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "ingest/csv_rows.h"
#include "summary/csv.h"
#include "summary/summary.h"

/* 2026-01-01T00:00:00Z, as in fuzz_batch.c. */
#define NOW 1767225600

static int memfd = -1;
static char memfd_path[64];

/* Makes the input the content of the memfd. */
static void load(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz_csv", 0);
        FUZZ_CHECK(memfd >= 0);
        snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    }
    FUZZ_CHECK(ftruncate(memfd, 0) == 0);
    for (size_t off = 0; off < size;) {
        ssize_t n = pwrite(memfd, data + off, size - off, (off_t)off);
        FUZZ_CHECK(n > 0);
        off += (size_t)n;
    }
}

/* A field that summary_parse_number takes has strtod's value. */
static void number_is_strtod(const char *text)
{
    double v, want;
    if (summary_parse_number(text, &v) != 0)
        return;
    want = strtod(text, NULL);
    FUZZ_CHECK(memcmp(&v, &want, sizeof v) == 0);
}

static void records(void)
{
    char err[256], file_err[256];
    FILE *fp = fopen(memfd_path, "rb");
    FUZZ_CHECK(fp != NULL);
    csv_reader *r = csv_open_stream(fp, "fuzz", err, sizeof err);
    FUZZ_CHECK(r != NULL);
    /* the same file read whole, named "fuzz" in its messages too */
    csv_reader *f = csv_open(memfd_path, file_err, sizeof file_err);
    FUZZ_CHECK(f != NULL);
    long line = 0;
    int rc, frc;
    while ((rc = csv_next(r, err, sizeof err)) == 1) {
        FUZZ_CHECK(csv_next(f, file_err, sizeof file_err) == 1);
        FUZZ_CHECK(csv_count(r) >= 1);
        FUZZ_CHECK(csv_line(r) > line);
        FUZZ_CHECK(csv_line(f) == csv_line(r) && csv_count(f) == csv_count(r));
        line = csv_line(r);
        for (size_t i = 0; i < csv_count(r); i++) {
            FUZZ_CHECK(csv_field(r, i) != NULL);
            FUZZ_CHECK(strcmp(csv_field(r, i), csv_field(f, i)) == 0);
            number_is_strtod(csv_field(r, i));
        }
        long k = csv_find(r, "customer_id");
        FUZZ_CHECK(k >= -1 && k < (long)csv_count(r));
    }
    FUZZ_CHECK(rc == 0 || (rc == -1 && strncmp(err, "fuzz:", 5) == 0));
    frc = csv_next(f, file_err, sizeof file_err);
    FUZZ_CHECK(frc == rc);
    if (rc == 0)
        FUZZ_CHECK(csv_line(f) == csv_line(r));
    else /* the same message after the path */
        FUZZ_CHECK(strcmp(strchr(err, ':'), file_err + strlen(memfd_path)) == 0);
    csv_close(f);
    csv_close(r);
    fclose(fp);
}

static void import_rows(void)
{
    char err[INGEST_CSV_ERR_MAX], amount[INGEST_AMOUNT_MAX];
    FILE *fp = fopen(memfd_path, "rb");
    FUZZ_CHECK(fp != NULL);
    ingest_csv *c = ingest_csv_open(fp, "fuzz", NOW, err);
    if (c == NULL) {
        FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0);
        fclose(fp);
        return;
    }
    ingest_csv_row row;
    ingest_csv_status st;
    while ((st = ingest_csv_next(c, &row, err)) == INGEST_CSV_ROW ||
           st == INGEST_CSV_BAD_ROW) {
        if (st == INGEST_CSV_BAD_ROW) {
            FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0);
            continue;
        }
        FUZZ_CHECK(row.customer_id != NULL && row.customer_id[0] != '\0');
        FUZZ_CHECK((row.id != NULL) == ingest_csv_has_id(c));
        FUZZ_CHECK(row.id == NULL || row.id[0] != '\0');
        FUZZ_CHECK(row.occurred_at_s >= 0 && row.occurred_at_s <= NOW + 86400);
        size_t an = strnlen(row.amount, sizeof row.amount);
        FUZZ_CHECK(an >= 1 && an < sizeof row.amount);
        FUZZ_CHECK(ingest_parse_amount(row.amount, an, amount) == NULL);
        FUZZ_CHECK(ingest_csv_line(c) >= 1);
    }
    FUZZ_CHECK(st == INGEST_CSV_END || st == INGEST_CSV_FAILED);
    ingest_csv_close(c);
    fclose(fp);
}

static void transactions(void)
{
    char err[SUMMARY_ERR_MAX];
    txn_set t;
    if (txn_read_csv(memfd_path, &t, err) != 0) {
        FUZZ_CHECK(t.n == 0 && t.n_customers == 0);
        return;
    }
    FUZZ_CHECK(t.n >= 1 && t.n_customers >= 1 && t.n_customers <= t.n);
    for (size_t i = 0; i < t.n; i++) {
        FUZZ_CHECK(t.items[i].customer < t.n_customers);
        FUZZ_CHECK(isfinite(t.items[i].amount) && t.items[i].amount >= 0);
        FUZZ_CHECK(t.items[i].day <= t.last_day);
    }
    summary_set s;
    if (summary_from_transactions(&t, t.last_day, 7.0, &s) == 0) {
        FUZZ_CHECK(s.n == t.n_customers);
        for (size_t i = 0; i < s.n; i++)
            FUZZ_CHECK(s.rows[i].frequency >= 0 && s.rows[i].recency <= s.rows[i].T);
        summary_set_free(&s);
    }
    txn_set_free(&t);
}

static void summaries(void)
{
    char err[SUMMARY_ERR_MAX];
    summary_set s;
    if (summary_read_csv(memfd_path, &s, err) != 0) {
        char err2[SUMMARY_ERR_MAX];
        btyd_pattern *q = NULL;
        size_t nq = 1;
        FUZZ_CHECK(s.n == 0);
        summary_set_free(&s);
        /* summary_read_patterns refuses it with the same message */
        FUZZ_CHECK(summary_read_patterns(memfd_path, &q, &nq, err2) == -1);
        FUZZ_CHECK(q == NULL && nq == 0 && strcmp(err, err2) == 0);
        return;
    }
    for (size_t i = 0; i < s.n; i++) {
        const cust_summary *r = &s.rows[i];
        FUZZ_CHECK(r->id != NULL && r->frequency >= 0 && r->frequency == floor(r->frequency));
        FUZZ_CHECK(isfinite(r->T) && r->recency >= 0 && r->recency <= r->T);
        FUZZ_CHECK(isfinite(r->monetary_value) && r->monetary_value >= 0);
        FUZZ_CHECK(isfinite(r->weight) && r->weight >= 0);
    }
    btyd_pattern *p = NULL, *q = NULL;
    size_t np = 0, nq = 0;
    if (summary_patterns(&s, &p, &np) == 0)
        FUZZ_CHECK(np <= s.n);
    /* read straight into patterns: the same ones */
    FUZZ_CHECK(summary_read_patterns(memfd_path, &q, &nq, err) == 0);
    FUZZ_CHECK(p != NULL && nq == np && memcmp(p, q, np * sizeof *p) == 0);
    free(p);
    free(q);
    summary_set_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);
    records();
    import_rows();
    transactions();
    summaries();
    return 0;
}
