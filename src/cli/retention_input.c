/* Reading survivor counts for `ltvd retention`: a comma-separated list or a
 * file of them, one cohort per line (cli/retention_input.h). */
#include "cli/retention_input.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_data.h"

/* Growing storage of the counts and of where each cohort starts. */
typedef struct builder {
    double *values;
    size_t n_values, cap_values;
    size_t *starts;
    size_t n_cohorts, cap_cohorts;
} builder;

static bool push_value(builder *b, double v)
{
    if (b->n_values == b->cap_values) {
        size_t cap = b->cap_values ? 2 * b->cap_values : 64;
        double *p = realloc(b->values, cap * sizeof *p);
        if (p == NULL)
            return false;
        b->values = p;
        b->cap_values = cap;
    }
    b->values[b->n_values++] = v;
    return true;
}

static bool push_start(builder *b)
{
    if (b->n_cohorts == b->cap_cohorts) {
        size_t cap = b->cap_cohorts ? 2 * b->cap_cohorts : 8;
        size_t *p = realloc(b->starts, cap * sizeof *p);
        if (p == NULL)
            return false;
        b->starts = p;
        b->cap_cohorts = cap;
    }
    b->starts[b->n_cohorts++] = b->n_values;
    return true;
}

static void field_text(const char *s, size_t len, char *out, size_t size)
{
    char tmp[64];
    size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    cli_printable(tmp, out, size);
}

/* Parses field `idx` (1-based) s[0..len) as a count >= 0 after prev (the
 * count before it, or a negative number for the first). */
static int parse_count(const char *s, size_t len, size_t idx, double prev, double *out,
                       char *err)
{
    char text[40];
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    field_text(s, len, text, sizeof text);
    if (len == 0) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "count %zu is empty (a ragged row)", idx);
        return -1;
    }
    char buf[64], *end;
    if (len >= sizeof buf) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "count %zu '%s' is not a number", idx,
                 text);
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "count %zu '%s' is not a number", idx,
                 text);
        return -1;
    }
    if (v < 0) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "count %zu '%s' is negative", idx, text);
        return -1;
    }
    if (prev >= 0 && v > prev) {
        snprintf(err, RETENTION_INPUT_ERR_MAX,
                 "count %zu '%s' is more than the count before it (%.17g): survivors "
                 "cannot increase",
                 idx, text, prev);
        return -1;
    }
    *out = v;
    return 0;
}

/* Appends the cohort in s[0..len) to b. Returns 0, or -1 with err set. */
static int parse_cohort(builder *b, const char *s, size_t len, char *err)
{
    if (!push_start(b))
        goto oom;
    size_t idx = 0;
    double prev = -1;
    const char *end = s + len;
    for (const char *p = s;; idx++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        double v;
        if (idx >= RETENTION_INPUT_MAX_COUNTS) {
            snprintf(err, RETENTION_INPUT_ERR_MAX, "more than %d counts",
                     RETENTION_INPUT_MAX_COUNTS);
            return -1;
        }
        if (parse_count(p, (size_t)(stop - p), idx + 1, prev, &v, err) != 0)
            return -1;
        if (!push_value(b, v))
            goto oom;
        prev = v;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (idx + 1 < 2) {
        snprintf(err, RETENTION_INPUT_ERR_MAX,
                 "a cohort needs its size and at least one later count");
        return -1;
    }
    if (!(b->values[b->starts[b->n_cohorts - 1]] > 0)) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "the cohort's size (count 1) is 0");
        return -1;
    }
    return 0;
oom:
    snprintf(err, RETENTION_INPUT_ERR_MAX, "out of memory");
    return -1;
}

/* Hands b's storage over to in. */
static int finish(builder *b, retention_input *in, char *err)
{
    memset(in, 0, sizeof *in);
    if (b->n_cohorts == 0) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "no cohort: nothing to fit");
        goto failed;
    }
    in->cohorts = calloc(b->n_cohorts, sizeof *in->cohorts);
    if (in->cohorts == NULL) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "out of memory");
        goto failed;
    }
    for (size_t i = 0; i < b->n_cohorts; i++) {
        size_t lo = b->starts[i],
               hi = i + 1 < b->n_cohorts ? b->starts[i + 1] : b->n_values;
        in->cohorts[i] = (retention_cohort){b->values + lo, hi - lo};
        if (hi - lo - 1 > in->max_periods)
            in->max_periods = hi - lo - 1;
        in->weight += b->values[lo];
    }
    in->n_cohorts = b->n_cohorts;
    in->values = b->values;
    free(b->starts);
    return 0;
failed:
    free(b->values);
    free(b->starts);
    return -1;
}

int retention_input_list(const char *list, retention_input *in,
                         char err[RETENTION_INPUT_ERR_MAX])
{
    builder b = {0};
    if (parse_cohort(&b, list, strlen(list), err) != 0) {
        free(b.values);
        free(b.starts);
        memset(in, 0, sizeof *in);
        return -1;
    }
    return finish(&b, in, err);
}

static bool skipped_line(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i == len || line[i] == '#';
}

int retention_input_file(const char *path, retention_input *in,
                         char err[RETENTION_INPUT_ERR_MAX])
{
    char shown[64], why[RETENTION_INPUT_ERR_MAX];
    cli_printable(path, shown, sizeof shown);
    memset(in, 0, sizeof *in);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "cannot read %s: %s", shown,
                 strerror(errno));
        return -1;
    }
    builder b = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, fp)) != -1) {
        size_t len = (size_t)got;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (skipped_line(line, len))
            continue;
        if (b.n_cohorts >= RETENTION_INPUT_MAX_COHORTS) {
            snprintf(why, sizeof why, "more than %d cohorts",
                     RETENTION_INPUT_MAX_COHORTS);
            rc = -1;
        } else {
            rc = parse_cohort(&b, line, len, why);
        }
        if (rc != 0) {
            snprintf(err, RETENTION_INPUT_ERR_MAX, "%s:%zu: %.150s", shown, lineno, why);
            break;
        }
    }
    if (rc == 0 && ferror(fp)) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "cannot read %s", shown);
        rc = -1;
    }
    free(line);
    fclose(fp);
    if (rc != 0) {
        free(b.values);
        free(b.starts);
        return -1;
    }
    if (finish(&b, in, why) != 0) {
        snprintf(err, RETENTION_INPUT_ERR_MAX, "%s: %.150s", shown, why);
        return -1;
    }
    return 0;
}

void retention_input_free(retention_input *in)
{
    free(in->cohorts);
    free(in->values);
    memset(in, 0, sizeof *in);
}
