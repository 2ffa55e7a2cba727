/* `ltvd import`: the backfill path for historical CSV files, into one
 * tenant (--tenant, default default), which must exist: that is checked
 * before the file is read. The whole file is validated first (every bad row
 * listed, nothing imported if there is one), then written in batches through
 * the store's idempotent ingest, each committed on its own, with a progress
 * line on a terminal. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/tenants.h"
#include "cli/cli.h"
#include "cli/cli_data.h"
#include "cli/cli_db.h"
#include "cli/import.h"
#include "ingest/txn_key.h"
#include "store/db.h"

#define BATCH_DEFAULT 5000
#define BATCH_MAX 100000
#define ERRORS_SHOWN 100

static const char import_usage[] =
    "usage: ltvd import [--batch N] [--dry-run] [--tenant TENANT] FILE\n"
    "       ltvd import --subscriptions FILE [--dry-run] [--tenant TENANT]\n"
    "  FILE       a transactions CSV with a header naming customer_id, occurred_at,\n"
    "             amount and optionally id, in any order (- reads stdin)\n"
    "  --batch N  rows per database transaction (default 5000, 1..100000)\n"
    "  --dry-run  validate only (no database needed, nothing written)\n"
    "  --tenant TENANT  the tenant the rows belong to (default: default); it must\n"
    "             exist (ltvd tenant create), which is checked before FILE is read\n"
    "  -h, --help this text\n"
    "The whole file is validated first, by the rules of POST /v1/transactions: if\n"
    "a row is bad, every bad row is listed as FILE:LINE: reason and nothing is\n"
    "imported. Then every batch is committed on its own: an interrupted import is\n"
    "completed by running it again (rows already stored count as duplicates; rows\n"
    "without an id get one derived from customer_id, occurred_at and amount).\n"
    "DATABASE_URL names the database; pending migrations (LTVD_MIGRATIONS_DIR,\n"
    "default migrations) are applied first.\n"
    "--subscriptions FILE: subscription events, a CSV with a header naming id,\n"
    "customer_id, subscription_id, event, occurred_at, amount and billing_period,\n"
    "validated by the rules of POST /v1/subscriptions and stored as one batch: all\n"
    "or nothing for the whole file (every bad row listed as FILE:LINE), idempotent\n"
    "by (subscription_id, id); --batch does not apply.\n";

typedef struct import_args {
    const char *path;
    const char *subs; /* --subscriptions FILE */
    const char *tenant;
    size_t batch;
    bool dry_run;
} import_args;

/* Returns 0, or the exit status after printing why (2: usage, 0: --help). */
static int parse_args(int argc, char **argv, import_args *a)
{
    static const struct option opts[] = {{"batch", required_argument, NULL, 'b'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"tenant", required_argument, NULL, 't'},
                                         {"subscriptions", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *a = (import_args){NULL, NULL, STORE_TENANT_DEFAULT, BATCH_DEFAULT, false};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        char *end;
        if (c == 'b') {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v < 1 ||
                v > BATCH_MAX) {
                fprintf(stderr, "ltvd import: --batch must be 1..%d\n", BATCH_MAX);
                return 2;
            }
            a->batch = (size_t)v;
        } else if (c == 'n') {
            a->dry_run = true;
        } else if (c == 's') {
            a->subs = optarg;
        } else if (c == 't') {
            if (!app_tenant_id_ok(optarg)) {
                fputs("ltvd import: --tenant must be a tenant id: "
                      "[a-z0-9][a-z0-9_-]{0,62}\n",
                      stderr);
                return 2;
            }
            a->tenant = optarg;
        } else {
            fputs(import_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? -1 : 2;
        }
    }
    if (argc - optind != (a->subs != NULL ? 0 : 1)) {
        fputs(import_usage, stderr);
        return 2;
    }
    a->path = a->subs != NULL ? a->subs : argv[optind];
    return 0;
}

/* ---- the input: read twice ------------------------------------------------ */

/* A copy of `in` in an unlinked temporary file (TMPDIR, default /tmp), for
 * input that cannot be read twice (stdin, a pipe). NULL on failure. */
static FILE *spool(FILE *in, const char *name)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/ltvd_import_XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    FILE *out = fd >= 0 ? fdopen(fd, "w+b") : NULL;
    if (fd >= 0)
        unlink(path);
    if (out == NULL) {
        fprintf(stderr, "ltvd import: %s: cannot create a temporary copy: %s\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            break;
    if (ferror(in) || ferror(out) || fflush(out) != 0) {
        fprintf(stderr, "ltvd import: %s: cannot copy to %s: %s\n", name, path,
                strerror(errno));
        fclose(out);
        return NULL;
    }
    rewind(out);
    return out;
}

/* FILE opened so that it can be read twice from *start: a regular file as it
 * is, anything else copied first. NULL after printing why. */
static FILE *open_input(const char *path, off_t *start)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "ltvd import: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    *start = 0;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) &&
        (*start = ftello(in)) >= 0) {
        if (!is_stdin)
            return in;
        int fd = dup(STDIN_FILENO); /* ours to close, like a file we opened */
        FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (f == NULL) {
            fprintf(stderr, "ltvd import: -: %s\n", strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        return f;
    }
    FILE *copy = spool(in, path);
    if (!is_stdin)
        fclose(in);
    *start = 0;
    return copy;
}

/* ---- pass 1: validation ---------------------------------------------------- */

typedef struct scan {
    size_t rows;      /* rows read, bad ones included */
    size_t bad;       /* bad rows */
    size_t customers; /* distinct customer ids */
} scan;

/* Reads every row of fp, counting rows and customers and printing the
 * first ERRORS_SHOWN bad rows. Returns 0 when every row is valid, else -1
 * after saying so. */
static int validate(FILE *fp, const char *name, int64_t now, import_progress *p, scan *s)
{
    char err[INGEST_CSV_ERR_MAX];
    ingest_counter customers = {0};
    int rc = -1;
    ingest_csv_status st = INGEST_CSV_FAILED;
    ingest_csv *in = ingest_csv_open(fp, name, now, err);
    if (in == NULL)
        goto cleanup;
    ingest_csv_row row;
    while ((st = ingest_csv_next(in, &row, err)) == INGEST_CSV_ROW ||
           st == INGEST_CSV_BAD_ROW) {
        s->rows++;
        if (st == INGEST_CSV_BAD_ROW && s->bad++ < ERRORS_SHOWN) {
            import_progress_clear(p);
            fprintf(stderr, "%s\n", err);
        } else if (st == INGEST_CSV_ROW &&
                   ingest_counter_add(&customers,
                                      ingest_fnv1a(INGEST_FNV_OFFSET, row.customer_id,
                                                   strlen(row.customer_id))) == 0) {
            snprintf(err, sizeof err, "out of memory");
            st = INGEST_CSV_FAILED;
            break;
        }
        import_progress_validating(p, s->rows, false);
    }
    s->customers = customers.n;
    if (st == INGEST_CSV_END && s->bad == 0)
        rc = 0;
cleanup:
    import_progress_clear(p);
    if (st == INGEST_CSV_FAILED)
        fprintf(stderr, "ltvd import: %s\n", err);
    if (s->bad > ERRORS_SHOWN)
        fprintf(stderr, "ltvd import: ... %zu more bad rows not shown\n",
                s->bad - ERRORS_SHOWN);
    if (rc != 0)
        fprintf(stderr, "ltvd import: %s: %zu bad rows of %zu%s: nothing imported\n",
                name, s->bad, s->rows, st == INGEST_CSV_FAILED ? " read" : "");
    ingest_csv_close(in);
    ingest_counter_free(&customers);
    return rc;
}

/* ---- pass 2: the database -------------------------------------------------- */

/* Connects, applies pending migrations (*applied of them) and checks that
 * the tenant exists. NULL after saying why. */
static store_db *open_store(const char *tenant, int *applied)
{
    store_db *db = cli_db_open("import", getenv("DATABASE_URL"), applied);
    if (db != NULL && !cli_db_tenant_exists("import", db, tenant, ": nothing imported")) {
        store_db_close(db);
        db = NULL;
    }
    return db;
}

/* Loads the validated file into db and prints the summary (migrations:
 * how many open_store applied). Returns the exit status. */
static int load(const import_args *a, store_db *db, int migrations, FILE *fp, off_t start,
                int64_t now, import_progress *p, const scan *s, double t0, double t_valid)
{
    char err[INGEST_CSV_ERR_MAX];
    import_totals t = {0};
    int rc =
        fseeko(fp, start, SEEK_SET) != 0
            ? (snprintf(err, sizeof err, "%s: %s", a->path, strerror(errno)), -1)
            : import_load(db, a->tenant, fp, a->path, now, a->batch, s->rows, p, &t, err);
    import_progress_clear(p);
    if (rc != 0) {
        fprintf(stderr,
                "ltvd import: %s\nltvd import: %zu rows committed before the failure "
                "(%zu new); run the same import again to complete it\n",
                err, t.rows, t.n_new);
        return 1;
    }
    double dt = import_now() - t0;
    printf("%s: %zu rows, %zu new, %zu duplicates, %zu customers; %.2f s "
           "(validation %.2f s), %.0f rows/s",
           a->path, t.rows, t.n_new, t.n_duplicate, s->customers, dt, t_valid,
           dt > 0 ? (double)t.rows / dt : 0.0);
    if (strcmp(a->tenant, STORE_TENANT_DEFAULT) != 0)
        printf("; tenant %s", a->tenant);
    if (migrations > 0)
        printf("; %d migration(s) applied first", migrations);
    putchar('\n');
    return cli_flush_stdout("import");
}

int cli_import_main(int argc, char **argv)
{
    import_args a;
    int status = parse_args(argc, argv, &a);
    if (status != 0)
        return status < 0 ? 0 : status;
    import_progress p;
    import_progress_init(&p);
    double t0 = import_now();
    int64_t now = (int64_t)time(NULL);
    int migrations = 0;
    /* the database and the tenant first: nothing is read for a wrong one */
    store_db *db = a.dry_run ? NULL : open_store(a.tenant, &migrations);
    if (!a.dry_run && db == NULL)
        return 1;
    if (a.subs != NULL) { /* subscription events (import_subs.c) */
        status = import_subscriptions(db, a.tenant, a.subs);
        store_db_close(db);
        return status == 0 ? cli_flush_stdout("import") : status;
    }
    off_t start;
    FILE *fp = open_input(a.path, &start);
    scan s = {0};
    status = 1;
    if (fp == NULL || validate(fp, a.path, now, &p, &s) != 0)
        goto cleanup;
    double t_valid = import_now() - t0;
    if (a.dry_run) {
        printf("%s: %zu rows valid, %zu customers; %.2f s (dry run: nothing imported)\n",
               a.path, s.rows, s.customers, t_valid);
        status = cli_flush_stdout("import");
        goto cleanup;
    }
    status = load(&a, db, migrations, fp, start, now, &p, &s, t0, t_valid);
cleanup:
    if (fp != NULL)
        fclose(fp);
    store_db_close(db);
    return status;
}
