/* SQL scripts run one statement at a time (see script.h). */
#include "store/script.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* After a comment that starts at p ("--" or slash-star), or p itself. */
static const char *skip_comment(const char *p)
{
    if (p[0] == '-' && p[1] == '-') {
        const char *nl = strchr(p, '\n');
        return nl != NULL ? nl + 1 : p + strlen(p);
    }
    if (p[0] == '/' && p[1] == '*') {
        int depth = 0;
        while (*p != '\0') {
            if (p[0] == '/' && p[1] == '*') {
                depth++;
                p += 2;
            } else if (p[0] == '*' && p[1] == '/') {
                p += 2;
                if (--depth == 0)
                    return p;
            } else {
                p++;
            }
        }
    }
    return p;
}

/* The length of the dollar-quote delimiter ($$ or $tag$) at p, or 0. */
static size_t dollar_tag(const char *p)
{
    size_t n = 1;
    if (isdigit((unsigned char)p[1]))
        return 0; /* $1: a parameter */
    while (ident_char(p[n]))
        n++;
    return p[n] == '$' ? n + 1 : 0;
}

/* After the quoted text that starts at p (p[0] is its opening quote). */
static const char *skip_quoted(const char *start, const char *p)
{
    char q = *p;
    bool escapes = q == '\'' && p > start && (p[-1] == 'E' || p[-1] == 'e') &&
                   (p - 1 == start || !ident_char(p[-2]));
    for (p++; *p != '\0'; p++) {
        if (escapes && *p == '\\' && p[1] != '\0')
            p++;
        else if (*p == q)
            return p + 1; /* a doubled quote reopens at once: same result */
    }
    return p;
}

size_t store_script_next(const char *p, const char **start)
{
    for (;;) { /* blanks and comments before the statement */
        while (isspace((unsigned char)*p))
            p++;
        const char *after = skip_comment(p);
        if (after == p)
            break;
        p = after;
    }
    *start = p;
    if (*p == '\0')
        return 0;
    const char *s = p;
    while (*p != '\0' && *p != ';') {
        size_t tag;
        const char *after = skip_comment(p);
        if (after != p) {
            p = after;
        } else if (*p == '\'' || *p == '"') {
            p = skip_quoted(s, p);
        } else if (*p == '$' && (p == s || !ident_char(p[-1])) &&
                   (tag = dollar_tag(p)) > 0) {
            const char *end = p + tag;
            while ((end = strchr(end, '$')) != NULL && strncmp(end, p, tag) != 0)
                end++;
            p = end != NULL ? end + tag : p + strlen(p);
        } else {
            p++;
        }
    }
    return (size_t)(p - s) + (*p == ';');
}

/* The line of the script that position at is on (1 for the first). */
static int line_of(const char *sql, const char *at)
{
    int line = 1;
    for (const char *p = sql; p < at; p++)
        line += *p == '\n';
    return line;
}

int store_script_run(store_db *db, const char *sql, const char *what)
{
    const char *p = sql, *s;
    size_t n;
    while ((n = store_script_next(p, &s)) > 0) {
        char *one = strndup(s, n);
        if (one == NULL) {
            snprintf(db->err, sizeof db->err, "%s: out of memory", what);
            return -1;
        }
        PGresult *res = store_db_query(db, one, 0, NULL);
        free(one);
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            char where[300];
            snprintf(where, sizeof where, "%.256s:%d", what, line_of(sql, s));
            store_db_fail(db, res, where);
            PQclear(res);
            return -1;
        }
        PQclear(res);
        p = s + n;
    }
    return 0;
}
