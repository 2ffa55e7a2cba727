/* Checkpoints of the per-customer summaries (see checkpoint.h): the
 * writer's transaction, the start-up's reader, the erasure's invalidation
 * and the chunk encoding.
 *
 * A chunk is the concatenation of its customers, each: the id's length
 * and bytes, then first_day, last_day - first_day, n_days, repeat_units
 * and first_units, every number a zigzag LEB128 varint (12-byte ids take
 * about 25 bytes a customer). Chunks are written as bytea in hex text and
 * read back by binary COPY. */
#include "store/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ingest.h"
#include "store/months_sql.h"

/* The encoding's version (cache_checkpoints.format). 2 (migration 012)
 * added each customer's month bits and attributes; a checkpoint of
 * another format is never loaded (start-up rebuilds that tenant). */
#define FORMAT 2
/* Rows per FETCH of the writer's aggregate. */
#define FETCH_SUMMARIES "20000"

/* In the writer's REPEATABLE READ transaction, first (its snapshot): the
 * tenant's writer lock, the snapshot's xmin, and the age of the newest
 * checkpoint (NULL when none). */
static const char begin_sql[] =
    "SELECT pg_try_advisory_xact_lock(hashtext('ltvd-checkpoint:' || $1::text)),"
    " pg_snapshot_xmin(pg_current_snapshot())::text,"
    " (SELECT extract(epoch FROM clock_timestamp() - max(created_at))"
    "    FROM cache_checkpoints WHERE tenant_id = $1)";
/* The row a concurrent erasure updates (made when missing). */
static const char epoch_sql[] = "INSERT INTO cache_checkpoint_epochs (tenant_id)"
                                " VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING";
static const char header_sql[] =
    "INSERT INTO cache_checkpoints"
    " (tenant_id, horizon, as_of_day, n_customers, n_chunks, format, created_at)"
    " VALUES ($1, $2::bigint, $3::integer, 0, 0, "
    "2"
    ", clock_timestamp())"
    " RETURNING id";
_Static_assert(FORMAT == 2, "header_sql spells the format out");
/* The summaries (the customers view's aggregate, cut at $2 when given). */
#define FIRST_AMOUNT "(min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2]"
/* clang-format off */
static const char cursor_sql[] =
    "DECLARE ltvd_checkpoint NO SCROLL CURSOR FOR"
    " SELECT g.*, a.acquisition_channel, a.campaign FROM ("
    " SELECT customer_id, min(day) - DATE '1970-01-01', max(day) - DATE '1970-01-01',"
    "        count(*), " STORE_SQL_UNITS("sum(amount) - " FIRST_AMOUNT) ","
    "        " STORE_SQL_UNITS(FIRST_AMOUNT) ", " STORE_SQL_MONTHS
    "   FROM " STORE_SQL_DAYS_M " WHERE tenant_id = $1"
    "    AND ($2::integer IS NULL OR day <= DATE '1970-01-01' + $2::integer)"
    "  GROUP BY customer_id) g"
    " LEFT JOIN customer_attributes a ON a.tenant_id = $1 AND a.customer_id = g.customer_id";
/* clang-format on */
static const char chunk_sql[] =
    "INSERT INTO cache_checkpoint_chunks"
    " (tenant_id, checkpoint_id, chunk, n_customers, checksum, data)"
    " VALUES ($1, $2::bigint, $3::integer, $4::integer, $5::bigint, $6::bytea)";
/* Before COMMIT: waits for an erasure in flight, fails (40001) when one
 * committed after the snapshot. */
static const char lock_epoch_sql[] =
    "SELECT erasures FROM cache_checkpoint_epochs WHERE tenant_id = $1 FOR UPDATE";
static const char finish_sql[] =
    "UPDATE cache_checkpoints SET n_customers = $3::bigint, n_chunks = $4::integer,"
    " created_at = $5::timestamptz WHERE tenant_id = $1 AND id = $2::bigint";
/* The end of the writing, read apart: Citus refuses a volatile function in
 * an UPDATE of a distributed table. */
static const char clock_sql[] = "SELECT clock_timestamp()::text";
static const char older_sql[] =
    "DELETE FROM cache_checkpoints WHERE tenant_id = $1 AND id < $2::bigint";

static const char newest_sql[] =
    "SELECT DISTINCT ON (tenant_id) tenant_id, id, horizon::text,"
    "       coalesce(as_of_day::text, ''), n_customers, n_chunks, format,"
    "       extract(epoch FROM clock_timestamp() - created_at)"
    "  FROM cache_checkpoints ORDER BY tenant_id, id DESC";
static const char exists_sql[] = "SELECT n_customers, n_chunks, format FROM "
                                 "cache_checkpoints WHERE tenant_id = $1 AND id = $2";

static const char count_erasure_sql[] =
    "INSERT INTO cache_checkpoint_epochs AS e (tenant_id, erasures) VALUES ($1, 1)"
    " ON CONFLICT (tenant_id) DO UPDATE SET erasures = e.erasures + 1";
static const char drop_sql[] = "DELETE FROM cache_checkpoints WHERE tenant_id = $1";

/* ------------------------------------------------------------ encoding */

uint64_t store_checkpoint_checksum(const unsigned char *data, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads a varint at *p (before end); false when it runs past end or is
 * longer than 64 bits. */
static bool get_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

int store_checkpoint_encode(char **buf, size_t *len, size_t *cap, const store_customer *c)
{
    size_t id_len = strlen(c->customer_id);
    size_t ch_len = c->channel != NULL ? strlen(c->channel) : 0;
    size_t ca_len = c->campaign != NULL ? strlen(c->campaign) : 0;
    size_t need = *len + id_len + ch_len + ca_len + 9 * 10;
    if (need > *cap) {
        size_t n = *cap ? *cap : 65536;
        while (n < need)
            n *= 2;
        char *b = realloc(*buf, n);
        if (b == NULL)
            return -1;
        *buf = b;
        *cap = n;
    }
    unsigned char *p = (unsigned char *)*buf + *len;
    p += put_varint(p, id_len);
    memcpy(p, c->customer_id, id_len);
    p += id_len;
    p += put_varint(p, zigzag(c->first_day));
    p += put_varint(p, zigzag(c->last_day - c->first_day));
    p += put_varint(p, zigzag(c->n_days));
    p += put_varint(p, zigzag(c->repeat_units));
    p += put_varint(p, zigzag(c->first_units));
    p += put_varint(p, c->month_bits);
    /* the attributes: length + 1 then the bytes, 0 for none */
    p += put_varint(p, c->channel != NULL ? ch_len + 1 : 0);
    memcpy(p, c->channel != NULL ? c->channel : "", ch_len);
    p += ch_len;
    p += put_varint(p, c->campaign != NULL ? ca_len + 1 : 0);
    memcpy(p, c->campaign != NULL ? c->campaign : "", ca_len);
    p += ca_len;
    *len = (size_t)(p - (unsigned char *)*buf);
    return 0;
}

/* Decodes n customers from data[0..len) and hands each to cb. Returns 0,
 * cb's non-zero value (as 2), or 1 when the data do not hold exactly n
 * customers (why set). */
static int decode(const char *tenant, const unsigned char *data, size_t len, long n,
                  store_customer_cb cb, void *arg, char *why)
{
    const unsigned char *p = data, *end = data + len;
    char id[1024], text[2][256];
    for (long i = 0; i < n; i++) {
        uint64_t v[7];
        if (!get_varint(&p, end, &v[0]) || v[0] == 0 || v[0] >= sizeof id ||
            v[0] > (size_t)(end - p))
            goto bad;
        memcpy(id, p, v[0]);
        id[v[0]] = '\0';
        p += v[0];
        for (int k = 1; k < 7; k++)
            if (!get_varint(&p, end, &v[k]))
                goto bad;
        char *attr[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            uint64_t n1;
            if (!get_varint(&p, end, &n1) || n1 > sizeof text[k] ||
                n1 - (n1 > 0) > (size_t)(end - p))
                goto bad;
            if (n1 > 0) {
                memcpy(text[k], p, n1 - 1);
                text[k][n1 - 1] = '\0';
                p += n1 - 1;
                attr[k] = text[k];
            }
        }
        int64_t first = unzigzag(v[1]);
        store_customer c = {.tenant_id = (char *)tenant,
                            .customer_id = id,
                            .first_day = first,
                            .last_day = first + unzigzag(v[2]),
                            .n_days = unzigzag(v[3]),
                            .repeat_units = unzigzag(v[4]),
                            .first_units = unzigzag(v[5]),
                            .month_bits = v[6],
                            .channel = attr[0],
                            .campaign = attr[1]};
        if (cb(&c, arg) != 0)
            return 2;
    }
    if (p == end)
        return 0;
bad:
    snprintf(why, STORE_CHECKPOINT_WHY_MAX, "a chunk does not decode");
    return 1;
}

/* ------------------------------------------------------------ writing */

/* The writer's state across FETCHes. */
typedef struct writer {
    store_db *db;
    const char *tenant;
    char id[24]; /* the checkpoint's id */
    char *buf;   /* the chunk being filled */
    size_t len, cap;
    long in_chunk; /* customers in buf */
    long n_chunks;
    long long n_customers;
    char *hex; /* buf as bytea hex text */
    size_t hex_cap;
    store_stop *stop;
    int64_t as_of_day; /* STORE_AS_OF_NOW: every day */
} writer;

/* Runs sql (n text parameters) expecting `expect`. Returns the result
 * (PQclear it) or NULL with db->err set. */
static PGresult *run(store_db *db, const char *sql, int n, const char *const *vals,
                     ExecStatusType expect, const char *what)
{
    PGresult *res = store_db_query(db, sql, n, vals);
    if (res == NULL)
        return NULL;
    if (PQresultStatus(res) != expect) {
        store_db_fail(db, res, what);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int run_ok(store_db *db, const char *sql, int n, const char *const *vals,
                  const char *what)
{
    PGresult *res = run(db, sql, n, vals, PGRES_COMMAND_OK, what);
    PQclear(res);
    return res != NULL ? 0 : -1;
}

/* Stores the filled chunk (nothing when empty). Returns 0 or -1. */
static int flush_chunk(writer *w)
{
    if (w->in_chunk == 0)
        return 0;
    size_t need = 2 * w->len + 3;
    if (need > w->hex_cap) {
        char *h = realloc(w->hex, need);
        if (h == NULL) {
            snprintf(w->db->err, sizeof w->db->err, "out of memory");
            return -1;
        }
        w->hex = h;
        w->hex_cap = need;
    }
    static const char digits[] = "0123456789abcdef";
    char *h = w->hex;
    *h++ = '\\';
    *h++ = 'x';
    for (size_t i = 0; i < w->len; i++) {
        unsigned char b = (unsigned char)w->buf[i];
        *h++ = digits[b >> 4];
        *h++ = digits[b & 15];
    }
    *h = '\0';
    char chunk[24], n[24], sum[24];
    snprintf(chunk, sizeof chunk, "%ld", w->n_chunks);
    snprintf(n, sizeof n, "%ld", w->in_chunk);
    snprintf(sum, sizeof sum, "%lld",
             (long long)store_checkpoint_checksum((unsigned char *)w->buf, w->len));
    const char *vals[] = {w->tenant, w->id, chunk, n, sum, w->hex};
    if (run_ok(w->db, chunk_sql, 6, vals, "checkpoint chunk") != 0)
        return -1;
    w->n_chunks++;
    w->in_chunk = 0;
    w->len = 0;
    return 0;
}

/* Encodes one FETCH of summaries, storing each chunk as it fills. */
static int add_rows(writer *w, const PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        store_customer c = {
            .customer_id = PQgetvalue(res, r, 0),
            .first_day = strtoll(PQgetvalue(res, r, 1), NULL, 10),
            .last_day = strtoll(PQgetvalue(res, r, 2), NULL, 10),
            .n_days = strtoll(PQgetvalue(res, r, 3), NULL, 10),
            .repeat_units = strtoll(PQgetvalue(res, r, 4), NULL, 10),
            .first_units = strtoll(PQgetvalue(res, r, 5), NULL, 10),
        };
        const char *months[STORE_MONTHS_COLS];
        for (int k = 0; k < STORE_MONTHS_COLS; k++)
            months[k] = PQgetvalue(res, r, 6 + k);
        bool exact;
        c.month_bits = store_month_bits(months, c.first_day, c.last_day, &exact);
        if (exact && store_month_bits_exact(w->db, w->tenant, c.customer_id, c.first_day,
                                            w->as_of_day, &c.month_bits) != 0)
            return -1;
        int ch = 6 + STORE_MONTHS_COLS, ca = ch + 1;
        c.channel = PQgetisnull(res, r, ch) ? NULL : PQgetvalue(res, r, ch);
        c.campaign = PQgetisnull(res, r, ca) ? NULL : PQgetvalue(res, r, ca);
        if (store_checkpoint_encode(&w->buf, &w->len, &w->cap, &c) != 0) {
            snprintf(w->db->err, sizeof w->db->err, "out of memory");
            return -1;
        }
        w->n_customers++;
        if (++w->in_chunk == STORE_CHECKPOINT_CHUNK && flush_chunk(w) != 0)
            return -1;
    }
    return 0;
}

/* The summaries through the cursor into chunks. Returns 0, 1 (stopped),
 * -1. */
static int write_chunks(writer *w, const char *day)
{
    const char *vals[] = {w->tenant, day};
    if (run_ok(w->db, cursor_sql, 2, vals, "checkpoint cursor") != 0)
        return -1;
    for (;;) {
        if (store_stop_asked(w->stop))
            return 1;
        PGresult *res = run(w->db, "FETCH " FETCH_SUMMARIES " FROM ltvd_checkpoint", 0,
                            NULL, PGRES_TUPLES_OK, "checkpoint fetch");
        if (res == NULL)
            return -1;
        int rows = PQntuples(res);
        int rc = add_rows(w, res);
        PQclear(res);
        if (rc != 0)
            return -1;
        if (rows == 0)
            return flush_chunk(w);
    }
}

/* Everything after BEGIN. Returns 0 (ready to commit), 1 (skip), -1. */
static int write_body(writer *w, const char *day, double min_age_s, store_checkpoint *out)
{
    const char *t[] = {w->tenant};
    PGresult *res = run(w->db, begin_sql, 1, t, PGRES_TUPLES_OK, "checkpoint begin");
    if (res == NULL)
        return -1;
    bool locked = PQgetvalue(res, 0, 0)[0] == 't';
    snprintf(out->horizon, sizeof out->horizon, "%s", PQgetvalue(res, 0, 1));
    bool young =
        !PQgetisnull(res, 0, 2) && strtod(PQgetvalue(res, 0, 2), NULL) < min_age_s;
    PQclear(res);
    if (!locked || young)
        return 1;
    if (run_ok(w->db, epoch_sql, 1, t, "checkpoint epoch") != 0)
        return -1;
    const char *hv[] = {w->tenant, out->horizon, day};
    if ((res = run(w->db, header_sql, 3, hv, PGRES_TUPLES_OK, "checkpoint header")) ==
        NULL)
        return -1;
    snprintf(w->id, sizeof w->id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    int rc = write_chunks(w, day);
    if (rc != 0)
        return rc;
    char n[24], chunks[24];
    snprintf(n, sizeof n, "%lld", w->n_customers);
    snprintf(chunks, sizeof chunks, "%ld", w->n_chunks);
    res = run(w->db, clock_sql, 0, NULL, PGRES_TUPLES_OK, "checkpoint clock");
    if (res == NULL)
        return -1;
    char end[64];
    snprintf(end, sizeof end, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *fv[] = {w->tenant, w->id, n, chunks, end};
    if (run_ok(w->db, finish_sql, 5, fv, "checkpoint finish") != 0 ||
        run_ok(w->db, older_sql, 2, fv, "checkpoint older") != 0)
        return -1;
    res = run(w->db, lock_epoch_sql, 1, t, PGRES_TUPLES_OK, "checkpoint erasures");
    PQclear(res);
    return res != NULL ? 0 : -1;
}

int store_checkpoint_write(store_db *db, const char *tenant, int64_t as_of_day,
                           double min_age_s, store_stop *stop, store_checkpoint *out)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    memset(out, 0, sizeof *out);
    char day[24] = "";
    if (as_of_day != STORE_AS_OF_NOW)
        snprintf(day, sizeof day, "%lld", (long long)as_of_day);
    if (store_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ", PGRES_COMMAND_OK) != 0)
        return -1;
    writer w = {.db = db, .tenant = tenant, .stop = stop, .as_of_day = as_of_day};
    int rc = write_body(&w, as_of_day != STORE_AS_OF_NOW ? day : NULL, min_age_s, out);
    if (rc == 0) {
        rc = store_db_exec(db, "COMMIT", PGRES_COMMAND_OK);
    } else if (!store_db_broken(db)) {
        PGresult *res = store_db_query(db, "ROLLBACK", 0, NULL);
        PQclear(res);
    }
    /* an erasure after the snapshot (this one would outlive it), or a stop
     * (cancelled) */
    if (rc < 0 && (store_db_retryable(db) || store_stop_asked(stop)))
        rc = 1;
    if (rc == 0) {
        snprintf(out->tenant_id, sizeof out->tenant_id, "%s", tenant);
        out->id = strtoll(w.id, NULL, 10);
        out->as_of_day = as_of_day;
        out->n_customers = w.n_customers;
        out->n_chunks = w.n_chunks;
    }
    free(w.buf);
    free(w.hex);
    return rc;
}

/* ------------------------------------------------------------ reading */

int store_checkpoint_newest(store_db *db, store_checkpoint_cb cb, void *arg)
{
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res = run(db, newest_sql, 0, NULL, PGRES_TUPLES_OK, "checkpoints");
    if (res == NULL)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        if (strtol(PQgetvalue(res, r, 6), NULL, 10) != FORMAT)
            continue;
        store_checkpoint c = {.id = strtoll(PQgetvalue(res, r, 1), NULL, 10)};
        snprintf(c.tenant_id, sizeof c.tenant_id, "%s", PQgetvalue(res, r, 0));
        snprintf(c.horizon, sizeof c.horizon, "%s", PQgetvalue(res, r, 2));
        const char *day = PQgetvalue(res, r, 3);
        c.as_of_day = day[0] != '\0' ? strtoll(day, NULL, 10) : STORE_AS_OF_NOW;
        c.n_customers = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        c.n_chunks = strtoll(PQgetvalue(res, r, 5), NULL, 10);
        c.age_s = strtod(PQgetvalue(res, r, 7), NULL);
        rc = cb(&c, arg) != 0 ? 1 : 0;
    }
    PQclear(res);
    return rc;
}

/* The reader's state across the COPY's rows. */
typedef struct reader {
    const store_checkpoint *c;
    store_customer_cb cb;
    void *arg;
    bool header_seen; /* the binary COPY's header (before the first row) */
    long long next_chunk;
    long long n_customers;
    char *why;
} reader;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Field `want` bytes long at *p (before end), its bytes in *out; for the
 * last field want 0 takes any length (*len). */
static bool field(const unsigned char **p, const unsigned char *end, uint32_t want,
                  const unsigned char **out, uint32_t *len)
{
    if (end - *p < 4)
        return false;
    uint32_t n = be32(*p);
    *p += 4;
    if (n == UINT32_MAX || (want != 0 && n != want) || (uint32_t)(end - *p) < n)
        return false;
    *out = *p;
    *len = n;
    *p += n;
    return true;
}

/* Checks and delivers one row of the binary COPY (chunk, n_customers,
 * checksum, data). Returns 0, 1 (unusable: why set), 2 (cb stopped). */
static int read_row(reader *x, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len, *f[4];
    uint32_t n[4];
    if (!x->header_seen) { /* "PGCOPY\n\377\r\n\0", flags, extension */
        if (len < 19 || memcmp(p, "PGCOPY\n\377\r\n", 11) != 0 || be32(p + 15) > len - 19)
            goto bad;
        p += 19 + be32(p + 15);
        x->header_seen = true;
    }
    if (end - p < 2)
        goto bad;
    if (p[0] == 0xff && p[1] == 0xff) /* the trailer */
        return 0;
    if (p[0] != 0 || p[1] != 4)
        goto bad;
    p += 2;
    if (!field(&p, end, 4, &f[0], &n[0]) || !field(&p, end, 4, &f[1], &n[1]) ||
        !field(&p, end, 8, &f[2], &n[2]) || !field(&p, end, 0, &f[3], &n[3]))
        goto bad;
    if (be32(f[0]) != x->next_chunk) {
        snprintf(x->why, STORE_CHECKPOINT_WHY_MAX, "chunk %lld is missing",
                 x->next_chunk);
        return 1;
    }
    uint64_t sum = (uint64_t)be32(f[2]) << 32 | be32(f[2] + 4);
    if (store_checkpoint_checksum(f[3], n[3]) != sum) {
        snprintf(x->why, STORE_CHECKPOINT_WHY_MAX,
                 "chunk %lld does not match its checksum", x->next_chunk);
        return 1;
    }
    int rc = decode(x->c->tenant_id, f[3], n[3], (long)be32(f[1]), x->cb, x->arg, x->why);
    if (rc != 0)
        return rc;
    x->next_chunk++;
    x->n_customers += be32(f[1]);
    return 0;
bad:
    snprintf(x->why, STORE_CHECKPOINT_WHY_MAX, "a row of the chunks' COPY is malformed");
    return 1;
}

/* Streams the chunks by binary COPY (PostgreSQL sends on while the rows
 * are decoded), every row read even after a bad one (the COPY must end).
 * Returns 0, 1, 2 as read_row, or -1 (db->err). */
static int copy_chunks(store_db *db, reader *x)
{
    char *tenant = PQescapeLiteral(db->conn, x->c->tenant_id, strlen(x->c->tenant_id));
    char sql[512];
    if (tenant == NULL)
        return store_db_fail(db, NULL, "checkpoint chunks");
    snprintf(
        sql, sizeof sql,
        "COPY (SELECT chunk, n_customers, checksum, data FROM cache_checkpoint_chunks"
        " WHERE tenant_id = %s AND checkpoint_id = %lld ORDER BY chunk)"
        " TO STDOUT (FORMAT binary)",
        tenant, (long long)x->c->id);
    PQfreemem(tenant);
    PGresult *res = run(db, sql, 0, NULL, PGRES_COPY_OUT, "checkpoint chunks");
    PQclear(res);
    if (res == NULL)
        return -1;
    int rc = 0, got;
    char *row;
    while ((got = PQgetCopyData(db->conn, &row, 0)) > 0) {
        if (rc == 0)
            rc = read_row(x, (const unsigned char *)row, (size_t)got);
        PQfreemem(row);
    }
    bool failed = got != -1;
    while ((res = PQgetResult(db->conn)) != NULL) {
        failed = failed || PQresultStatus(res) != PGRES_COMMAND_OK;
        if (failed)
            store_db_fail(db, res, "checkpoint chunks");
        PQclear(res);
    }
    return failed ? -1 : rc;
}

/* The header again in the read's snapshot, then every chunk. */
static int load_body(store_db *db, reader *x)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)x->c->id);
    const char *vals[] = {x->c->tenant_id, id};
    PGresult *res = run(db, exists_sql, 2, vals, PGRES_TUPLES_OK, "checkpoint");
    if (res == NULL)
        return -1;
    bool same = PQntuples(res) == 1 &&
                strtoll(PQgetvalue(res, 0, 0), NULL, 10) == x->c->n_customers &&
                strtoll(PQgetvalue(res, 0, 1), NULL, 10) == x->c->n_chunks &&
                strtol(PQgetvalue(res, 0, 2), NULL, 10) == FORMAT;
    PQclear(res);
    if (!same) {
        snprintf(x->why, STORE_CHECKPOINT_WHY_MAX, "deleted or changed meanwhile");
        return 1;
    }
    int rc = copy_chunks(db, x);
    if (rc != 0)
        return rc;
    if (x->next_chunk != x->c->n_chunks || x->n_customers != x->c->n_customers) {
        snprintf(x->why, STORE_CHECKPOINT_WHY_MAX,
                 "%lld chunks of %lld customers, not %lld of %lld", x->next_chunk,
                 x->n_customers, (long long)x->c->n_chunks, (long long)x->c->n_customers);
        return 1;
    }
    return 0;
}

int store_checkpoint_load(store_db *db, const store_checkpoint *c, store_customer_cb cb,
                          void *arg, char why[STORE_CHECKPOINT_WHY_MAX])
{
    why[0] = '\0';
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    if (store_db_begin_read(db) != 0)
        return -1;
    reader x = {c, cb, arg, false, 0, 0, why};
    int rc = load_body(db, &x);
    if (!store_db_broken(db)) {
        PGresult *res = store_db_query(db, "ROLLBACK", 0, NULL);
        PQclear(res);
    }
    return rc;
}

/* ------------------------------------------------------------ erasure */

int store_checkpoint_invalidate(store_db *db, const char *tenant)
{
    const char *vals[] = {tenant};
    /* two statements: the DELETE's snapshot is taken after the count's row
     * lock was granted, so it sees a checkpoint committed meanwhile */
    if (run_ok(db, count_erasure_sql, 1, vals, "checkpoint erasures") != 0 ||
        run_ok(db, drop_sql, 1, vals, "checkpoint invalidation") != 0)
        return -1;
    return 0;
}
