/* JSON text into a growing buffer (see json_out.h). */
#include "http/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fmt_g17.h"

static bool reserve(json_out *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void append(json_out *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void json_out_raw(json_out *b, const char *s)
{
    append(b, s, strlen(s));
}

void json_out_str(json_out *b, const char *s)
{
    append(b, "\"", 1);
    const char *run = s;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        append(b, run, (size_t)(s - run));
        run = s + 1;
        char esc[8];
        switch (c) {
        case '"':
            append(b, "\\\"", 2);
            break;
        case '\\':
            append(b, "\\\\", 2);
            break;
        case '\b':
            append(b, "\\b", 2);
            break;
        case '\f':
            append(b, "\\f", 2);
            break;
        case '\n':
            append(b, "\\n", 2);
            break;
        case '\r':
            append(b, "\\r", 2);
            break;
        case '\t':
            append(b, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            append(b, esc, 6);
        }
    }
    append(b, run, (size_t)(s - run));
    append(b, "\"", 1);
}

void json_out_real(json_out *b, double d)
{
    char s[BASE_G17_MAX + 2];
    int n = (int)base_fmt_g17(s, d);
    char *e = strchr(s, 'e');
    if (e == NULL && strchr(s, '.') == NULL) {
        memcpy(s + n, ".0", 3);
        n += 2;
    } else if (e != NULL) { /* as jansson: 1e+300 -> 1e300, 2.5e-07 -> 2.5e-7 */
        char *digits = e + 1, *from = digits;
        if (*from == '+')
            from++;
        else if (*from == '-')
            digits = ++from;
        while (*from == '0' && from[1] != '\0')
            from++;
        memmove(digits, from, strlen(from) + 1);
        n = (int)strlen(s);
    }
    append(b, s, (size_t)n);
}

void json_out_int(json_out *b, long long v)
{
    char s[24], *end = s + sizeof s, *p = end;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    append(b, p, (size_t)(end - p));
}

void json_out_key(json_out *b, const char *key)
{
    append(b, "\"", 1);
    append(b, key, strlen(key));
    append(b, "\":", 2);
}

char *json_out_take(json_out *b, size_t *len)
{
    if (b->failed || b->p == NULL) {
        free(b->p);
        *b = (json_out){0};
        return NULL;
    }
    char *p = b->p;
    *len = b->len;
    *b = (json_out){0};
    return p;
}
