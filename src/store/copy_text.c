/* Text the store sends PostgreSQL (see copy_text.h). */
#include "store/copy_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary/summary.h"

int store_sbuf_reserve(store_sbuf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int store_sbuf_field(store_sbuf *b, const char *s, char sep)
{
    size_t n = strlen(s);
    if (store_sbuf_reserve(b, 2 * n + 2) != 0)
        return -1;
    for (; *s; s++) {
        char c = *s, e = 0;
        switch (c) {
        case '\\':
            e = '\\';
            break;
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        default:
            break;
        }
        if (e) {
            b->p[b->len++] = '\\';
            b->p[b->len++] = e;
        } else {
            b->p[b->len++] = c;
        }
    }
    b->p[b->len++] = sep;
    return 0;
}

int store_copy_in(store_db *db, const char *sql, const store_sbuf *b, const char *what)
{
    PGresult *res = store_db_query(db, sql, 0, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        if (res != NULL)
            store_db_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return store_db_copy_data(db, b->p, b->len, what);
}

char *store_text_array(const char *const *ids, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += ids[i] == NULL ? 5 : 2 * strlen(ids[i]) + 3;
    char *s = malloc(len), *p = s;
    if (s == NULL)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *p++ = ',';
        if (ids[i] == NULL) {
            memcpy(p, "NULL", 4);
            p += 4;
            continue;
        }
        *p++ = '"';
        for (const char *q = ids[i]; *q != '\0'; q++) {
            if (*q == '"' || *q == '\\')
                *p++ = '\\';
            *p++ = *q;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

size_t store_fmt_i64(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        out[k++] = '-';
    while (n > 0)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return k;
}

/* Two digits of v (0..99) at p. */
static void two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

const char *store_when_text(const store_item *it, char buf[64])
{
    if (it->occurred_at != NULL)
        return it->occurred_at;
    int64_t day = summary_day_of(it->occurred_at_s),
            sec = it->occurred_at_s - day * 86400;
    if (summary_format_day(day, buf) != 0)
        return "invalid"; /* refused by the server with a clear message */
    buf[10] = ' ';
    two(buf + 11, (int)(sec / 3600));
    buf[13] = ':';
    two(buf + 14, (int)(sec / 60 % 60));
    buf[16] = ':';
    two(buf + 17, (int)(sec % 60));
    memcpy(buf + 19, "+00", 4);
    return buf;
}

int store_amount_units(const char *s, int64_t *out)
{
    int64_t units = 0;
    int int_digits = 0, frac_digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, int_digits++) {
        if (int_digits == 14)
            return -1;
        units = 10 * units + (*s - '0');
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, frac_digits++) {
            if (frac_digits < 4)
                units = 10 * units + (*s - '0');
            else if (*s != '0')
                return -1; /* a fifth significant digit: numeric(18, 4) would round */
        }
        if (frac_digits == 0)
            return -1;
    }
    if (*s != '\0' || int_digits + frac_digits == 0)
        return -1;
    for (int k = frac_digits < 4 ? frac_digits : 4; k < 4; k++)
        units *= 10;
    *out = units;
    return 0;
}
