/* RFC 4180 CSV reader in two modes with one grammar. A file (csv_open) is
 * read whole with read() and its records are cut in place: a field is a run
 * of the text, NUL-terminated where its delimiter was (quoted fields are
 * unescaped towards their start), so a record costs no copy and no
 * allocation. A stream (csv_open_stream: stdin, `ltvd import`) is read with
 * getline() per physical line through a small state machine, fields packed
 * NUL-terminated into one growing buffer. Both give the same records, line
 * numbers and errors (tests/unit/test_csv.c and fuzz/fuzz_csv.c compare them). */
#include "summary/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

struct csv_reader {
    FILE *fp;
    int owns_fp; /* csv_open's own file, closed by csv_close */
    char *path;  /* for error messages */
    char *line;  /* current physical line, from getline */
    size_t line_cap;
    size_t line_len;
    long line_no;     /* physical lines read so far */
    long record_line; /* where the current record starts */
    char *buf;        /* the record's fields, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t *offsets; /* start of each field in buf (in text for a file) */
    size_t n_fields, offsets_cap;
    /* a file, read whole: */
    char *text;      /* the file's bytes plus a NUL, cut in place; NULL for a stream */
    size_t text_len; /* bytes of the file */
    size_t pos;      /* where the next record starts */
    size_t nul_line; /* start of the line holding the first NUL byte, or SIZE_MAX */
};

/* Where the parser is inside a record. */
enum state { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED };

/* Appends n bytes to r->text, growing it (with room for the NUL). */
static int append_text(csv_reader *r, const char *b, size_t n, size_t *cap)
{
    if (r->text_len + n + 1 > *cap) {
        size_t want = 2 * *cap > r->text_len + n + 1 ? 2 * *cap : r->text_len + n + 1;
        char *p = realloc(r->text, want);
        if (p == NULL)
            return ENOMEM;
        r->text = p;
        *cap = want;
    }
    memcpy(r->text + r->text_len, b, n);
    r->text_len += n;
    return 0;
}

/* Reads all of fd into r->text (NUL-terminated): straight into a buffer of
 * the file's size, then in chunks for whatever else comes (a pipe, a file
 * that grew). Returns 0, or an errno. */
static int read_all(csv_reader *r, int fd)
{
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 1;
    if ((r->text = malloc(cap)) == NULL)
        return ENOMEM;
    char chunk[65536];
    for (;;) {
        size_t room = cap - 1 - r->text_len;
        ssize_t n = room > 0 ? read(fd, r->text + r->text_len, room)
                             : read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            break;
        if (room > 0)
            r->text_len += (size_t)n;
        else if (append_text(r, chunk, (size_t)n, &cap) != 0)
            return ENOMEM;
    }
    r->text[r->text_len] = '\0';
    return 0;
}

/* Finds the first NUL byte, which is reported when the reader reaches its
 * line, as read_line does. */
static void find_nul(csv_reader *r)
{
    r->nul_line = SIZE_MAX;
    const char *nul = memchr(r->text, '\0', r->text_len);
    if (nul != NULL) {
        size_t i = (size_t)(nul - r->text);
        while (i > 0 && r->text[i - 1] != '\n')
            i--;
        r->nul_line = i;
    }
}

csv_reader *csv_open(const char *path, char *err, size_t err_size)
{
    int fd = -1, rc;
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->path = strdup(path)) == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto failed;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (rc = read_all(r, fd)) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(fd < 0 ? errno : rc));
        goto failed;
    }
    close(fd);
    find_nul(r);
    return r;
failed:
    if (fd >= 0)
        close(fd);
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
    free(r->text);
    free(r);
}

char *csv_take_text(csv_reader *r)
{
    char *t = r->text;
    r->text = NULL;
    r->text_len = r->pos = 0;
    return t;
}

size_t csv_count(const csv_reader *r)
{
    return r->n_fields;
}

const char *csv_field(const csv_reader *r, size_t i)
{
    return (r->text != NULL ? r->text : r->buf) + r->offsets[i];
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

static int text_next(csv_reader *r, char *err, size_t err_size);

int csv_next(csv_reader *r, char *err, size_t err_size)
{
    if (r->text != NULL)
        return text_next(r, err, err_size);
    if (r->fp == NULL) /* a file whose text was taken */
        return 0;
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

/* ------------------------------------------------------------------------
 * A file, read whole: records cut in place. The grammar is the state
 * machine's above, byte for byte; lines are counted as getline would.
 * ------------------------------------------------------------------------ */

/* Whether text[i] ends a line: '\n', or '\r' before '\n' or the end. */
static int text_eol(const csv_reader *r, size_t i)
{
    char c = r->text[i];
    return c == '\n' || (c == '\r' && (i + 1 == r->text_len || r->text[i + 1] == '\n'));
}

/* Counts the physical line starting at i, as read_line does. Returns 0, or
 * -1 when it holds the file's first NUL byte (err written). */
static int enter_line(csv_reader *r, size_t i, char *err, size_t err_size)
{
    r->line_no++;
    if (i != r->nul_line)
        return 0;
    snprintf(err, err_size, "%s:%ld: NUL byte in line", r->path, r->line_no);
    return -1;
}

/* Moves r->pos past the end of line at r->pos ('\n', or '\r' and its '\n'). */
static void skip_eol(csv_reader *r)
{
    r->pos += 1 + (r->text[r->pos] == '\r' && r->pos + 1 < r->text_len);
}

/* Opens field number r->n_fields at text offset `at`. Returns 0 or -1. */
static int text_field(csv_reader *r, size_t at)
{
    if (r->n_fields == r->offsets_cap) {
        size_t cap = r->offsets_cap ? 2 * r->offsets_cap : 16;
        size_t *p = realloc(r->offsets, cap * sizeof *p);
        if (p == NULL)
            return -1;
        r->offsets = p;
        r->offsets_cap = cap;
    }
    r->offsets[r->n_fields++] = at;
    return 0;
}

/* An unquoted field from r->pos to ',', the end of the line or of the file;
 * a quote inside it is data. Leaves r->pos on its delimiter. */
static void text_unquoted(csv_reader *r)
{
    /* the bytes that may end a field: ',', '\n', '\r' (an end of line only
     * before '\n' or the end), and the text's closing NUL */
    static const unsigned char STOP[256] = {[','] = 1, ['\n'] = 1, ['\r'] = 1, [0] = 1};
    const unsigned char *t = (const unsigned char *)r->text;
    size_t i = r->pos;
    for (;; i++) {
        while (!STOP[t[i]])
            i++;
        if (i >= r->text_len || t[i] == ',' || t[i] == '\n' ||
            (t[i] == '\r' && text_eol(r, i)))
            break;
    }
    r->pos = i;
}

/* A quoted field whose opening quote is at r->pos: unescapes it towards its
 * start (r->offsets' last entry), leaves r->pos after the closing quote.
 * Returns 0, or -1 (unterminated, NUL byte: err written). */
static int text_quoted(csv_reader *r, char *err, size_t err_size)
{
    char *t = r->text;
    size_t i = r->pos + 1, w = r->offsets[r->n_fields - 1];
    for (;;) {
        if (i == r->text_len) {
            csv_errorf(r, err, err_size, "unterminated quoted field");
            return -1;
        }
        char c = t[i++];
        if (c == '"') {
            if (i == r->text_len || t[i] != '"')
                break;
            i++;
        } else if (c == '\n' && i < r->text_len && enter_line(r, i, err, err_size) != 0)
            return -1;
        t[w++] = c;
    }
    t[w] = '\0';
    r->pos = i;
    return 0;
}

/* Reads the next record of a file: csv_next's contract. */
static int text_next(csv_reader *r, char *err, size_t err_size)
{
    for (;;) { /* blank lines */
        if (r->pos >= r->text_len) {
            r->record_line = r->line_no + 1;
            return 0;
        }
        if (enter_line(r, r->pos, err, err_size) != 0)
            return -1;
        if (r->line_no == 1 && r->text_len >= 3 &&
            memcmp(r->text, "\xEF\xBB\xBF", 3) == 0)
            r->pos = 3; /* a BOM-only first line is blank */
        if (r->pos < r->text_len && !text_eol(r, r->pos))
            break;
        if (r->pos < r->text_len)
            skip_eol(r);
    }
    r->record_line = r->line_no;
    r->n_fields = 0;
    for (;;) {
        size_t start = r->pos;
        if (text_field(r, start) != 0) {
            csv_errorf(r, err, err_size, "out of memory");
            return -1;
        }
        if (start < r->text_len && r->text[start] == '"') {
            if (text_quoted(r, err, err_size) != 0)
                return -1;
            if (r->pos < r->text_len && r->text[r->pos] != ',' && !text_eol(r, r->pos)) {
                snprintf(err, err_size,
                         "%s:%ld: unexpected character after closing quote", r->path,
                         r->line_no);
                return -1;
            }
        } else {
            text_unquoted(r);
        }
        if (r->pos == r->text_len) /* the last line, without a newline */
            return 1;
        if (r->text[r->pos] != ',') {
            size_t end = r->pos;
            skip_eol(r);
            r->text[end] = '\0';
            return 1;
        }
        r->text[r->pos++] = '\0';
    }
}
