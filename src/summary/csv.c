/* Streaming RFC 4180 CSV reader: getline() per physical line, a small state
 * machine per record, fields packed NUL-terminated into one growing buffer. */
#include "summary/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct csv_reader {
    FILE *fp;
    int owns_fp; /* csv_open's own file, closed by csv_close */
    char *path; /* for error messages */
    char *line; /* current physical line, from getline */
    size_t line_cap;
    size_t line_len;
    long line_no;     /* physical lines read so far */
    long record_line; /* where the current record starts */
    char *buf;        /* the record's fields, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t *offsets; /* start of each field in buf */
    size_t n_fields, offsets_cap;
};

/* Where the parser is inside a record. */
enum state { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED };

csv_reader *csv_open(const char *path, char *err, size_t err_size)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        return NULL;
    }
    r->path = strdup(path);
    if (r->path == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto failed;
    }
    r->fp = fopen(path, "rb");
    if (r->fp == NULL) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        goto failed;
    }
    r->owns_fp = 1;
    return r;
failed:
    csv_close(r);
    return NULL;
}

csv_reader *csv_open_stream(FILE *fp, const char *name, char *err, size_t err_size)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->path = strdup(name)) == NULL) {
        snprintf(err, err_size, "%s: out of memory", name);
        free(r);
        return NULL;
    }
    r->fp = fp;
    return r;
}

void csv_close(csv_reader *r)
{
    if (r == NULL)
        return;
    if (r->fp != NULL && r->owns_fp)
        fclose(r->fp);
    free(r->path);
    free(r->line);
    free(r->buf);
    free(r->offsets);
    free(r);
}

size_t csv_count(const csv_reader *r)
{
    return r->n_fields;
}

const char *csv_field(const csv_reader *r, size_t i)
{
    return r->buf + r->offsets[i];
}

long csv_line(const csv_reader *r)
{
    return r->record_line;
}

void csv_errorf(const csv_reader *r, char *err, size_t err_size, const char *fmt, ...)
{
    int n = snprintf(err, err_size, "%s:%ld: ", r->path, r->record_line);
    if (n < 0 || (size_t)n >= err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

long csv_find(const csv_reader *r, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < r->n_fields; i++) {
        const char *f = csv_field(r, i);
        f += strspn(f, " ");
        size_t flen = strlen(f);
        while (flen > 0 && f[flen - 1] == ' ')
            flen--;
        if (flen == len && memcmp(f, name, len) == 0)
            return (long)i;
    }
    return -1;
}

/* Reads one physical line (terminator kept). Strips a UTF-8 BOM from the
 * first line. Returns 1, 0 at end of file, -1 on error (err written). */
static int read_line(csv_reader *r, char *err, size_t err_size)
{
    errno = 0;
    ssize_t n = getline(&r->line, &r->line_cap, r->fp);
    if (n < 0) {
        if (ferror(r->fp) || errno == ENOMEM) {
            snprintf(err, err_size, "%s:%ld: %s", r->path, r->line_no + 1,
                     errno ? strerror(errno) : "read error");
            return -1;
        }
        return 0;
    }
    r->line_no++;
    r->line_len = (size_t)n;
    if (r->line_no == 1 && n >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->line, r->line + 3, (size_t)n - 2); /* with the NUL */
        r->line_len -= 3;
    }
    if (memchr(r->line, '\0', r->line_len) != NULL) {
        snprintf(err, err_size, "%s:%ld: NUL byte in line", r->path, r->line_no);
        return -1;
    }
    return 1;
}

static int push_byte(csv_reader *r, char c)
{
    if (r->buf_len == r->buf_cap) {
        size_t cap = r->buf_cap ? 2 * r->buf_cap : 256;
        char *p = realloc(r->buf, cap);
        if (p == NULL)
            return -1;
        r->buf = p;
        r->buf_cap = cap;
    }
    r->buf[r->buf_len++] = c;
    return 0;
}

/* Terminates the current field and opens the next one. */
static int end_field(csv_reader *r)
{
    if (push_byte(r, '\0') != 0)
        return -1;
    if (r->n_fields + 1 == r->offsets_cap) {
        size_t cap = 2 * r->offsets_cap;
        size_t *p = realloc(r->offsets, cap * sizeof *p);
        if (p == NULL)
            return -1;
        r->offsets = p;
        r->offsets_cap = cap;
    }
    r->offsets[++r->n_fields] = r->buf_len;
    return 0;
}

static int is_eol(const csv_reader *r, size_t i)
{
    char c = r->line[i];
    return c == '\n' || (c == '\r' && (i + 1 == r->line_len || r->line[i + 1] == '\n'));
}

/* Reads lines until one that is not blank. Returns 1, 0 at end, -1. */
static int start_record(csv_reader *r, char *err, size_t err_size)
{
    for (;;) {
        int rc = read_line(r, err, err_size);
        if (rc <= 0) {
            r->record_line = r->line_no + 1;
            return rc;
        }
        if (r->line_len > 0 && !is_eol(r, 0))
            break;
    }
    r->record_line = r->line_no;
    r->buf_len = 0;
    r->n_fields = 0;
    if (r->offsets == NULL) {
        r->offsets = malloc(16 * sizeof *r->offsets);
        if (r->offsets == NULL)
            goto oom;
        r->offsets_cap = 16;
    }
    r->offsets[0] = 0;
    return 1;
oom:
    snprintf(err, err_size, "%s:%ld: out of memory", r->path, r->line_no);
    return -1;
}

/* Feeds one byte to the state machine. Returns 1 when the record is
 * complete, 0 to go on, -1 on out of memory, -2 on text after a quote. */
static int step(csv_reader *r, enum state *st, size_t i)
{
    char c = r->line[i];
    switch (*st) {
    case FIELD_START:
        if (c == '"') {
            *st = QUOTED;
            return 0;
        }
        /* fall through */
    case UNQUOTED:
        if (c == ',' || is_eol(r, i)) {
            *st = FIELD_START;
            return end_field(r) != 0 ? -1 : (c != ',');
        }
        *st = UNQUOTED;
        return push_byte(r, c);
    case QUOTED:
        if (c == '"') {
            *st = QUOTE_IN_QUOTED;
            return 0;
        }
        return push_byte(r, c);
    case QUOTE_IN_QUOTED:
        if (c == '"') {
            *st = QUOTED;
            return push_byte(r, c);
        }
        if (c == ',' || is_eol(r, i)) {
            *st = FIELD_START;
            return end_field(r) != 0 ? -1 : (c != ',');
        }
        return -2;
    }
    return -2;
}

int csv_next(csv_reader *r, char *err, size_t err_size)
{
    int rc = start_record(r, err, err_size);
    if (rc <= 0)
        return rc;
    enum state st = FIELD_START;
    for (;;) {
        for (size_t i = 0; i < r->line_len; i++) {
            rc = step(r, &st, i);
            if (rc == 1)
                return 1;
            if (rc == -1)
                goto oom;
            if (rc == -2) {
                snprintf(err, err_size,
                         "%s:%ld: unexpected character after closing quote", r->path,
                         r->line_no);
                return -1;
            }
        }
        if (st != QUOTED) { /* last line without a newline */
            if (end_field(r) != 0)
                goto oom;
            return 1;
        }
        rc = read_line(r, err, err_size);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            csv_errorf(r, err, err_size, "unterminated quoted field");
            return -1;
        }
    }
oom:
    csv_errorf(r, err, err_size, "out of memory");
    return -1;
}
