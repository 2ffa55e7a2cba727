/* The query-string reader (see query.h): the dispatcher's check of the
 * whole query, the lookup of one parameter, and strict decimal numbers. */
#include "http/query.h"

#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"

/* State of query_check's walk over the parameters. */
typedef struct check_walk {
    http_request *req;
    const char *names[QUERY_MAX_PARAMS]; /* raw, borrowed from libmicrohttpd */
    size_t n;
    const char *bad; /* the parameter refused, or NULL */
    const char *why;
} check_walk;

/* The percent-decoding of s is UTF-8 without control characters. */
static bool text_ok(http_request *req, const char *s)
{
    size_t len = strlen(s);
    char *out = http_alloc(req, len + 1);
    long n = out != NULL ? url_pct_decode(s, len, out) : -1;
    return n >= 0 && url_text_ok((const unsigned char *)out, (size_t)n);
}

/* Why the parameter key=value is refused, or NULL. */
static const char *refusal(check_walk *w, const char *key, const char *value)
{
    if (key[0] == '\0')
        return "has no name";
    if (w->n == QUERY_MAX_PARAMS)
        return "is one too many (at most 32)";
    if (value == NULL)
        return "has no value (name=value)";
    if (!text_ok(w->req, key))
        return "is not valid percent-encoded UTF-8 without control characters";
    if (!text_ok(w->req, value))
        return "has a value that is not valid percent-encoded UTF-8 without control "
               "characters";
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->names[i], key) == 0)
            return "is repeated (give it once)";
    }
    return NULL;
}

static enum MHD_Result check_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    check_walk *w = cls;
    const char *why = refusal(w, key, value);
    if (why != NULL) {
        w->bad = key;
        w->why = why;
        return MHD_NO;
    }
    w->names[w->n++] = key;
    return MHD_YES;
}

bool query_check(http_request *req)
{
    check_walk w = {.req = req};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_visit, &w);
    if (w.bad == NULL)
        return true;
    req->pending = PROBLEM_INVALID_PARAMETER;
    /* the raw name: printable ASCII as the client sent it (libmicrohttpd
     * decodes only '+'), or refused above before it is shown */
    bool printable = true;
    for (const unsigned char *p = (const unsigned char *)w.bad; *p != '\0'; p++)
        printable = printable && *p >= 0x20 && *p < 0x7f;
    if (printable)
        snprintf(req->pending_detail, sizeof req->pending_detail,
                 "query parameter \"%.60s\" %s", w.bad, w.why);
    else
        snprintf(req->pending_detail, sizeof req->pending_detail, "a query parameter %s",
                 w.why);
    return false;
}

int http_query(http_request *req, const char *name, const char **value)
{
    const char *raw = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (raw == NULL)
        return 0;
    size_t len = strlen(raw);
    char *out = http_alloc(req, len + 1);
    if (out == NULL || url_pct_decode(raw, len, out) < 0)
        return -1;
    *value = out;
    return 1;
}

/* State of http_query_unknown's walk over the query. */
typedef struct unknown_walk {
    const char *const *known;
    const char *unknown;
} unknown_walk;

static enum MHD_Result unknown_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    (void)value;
    unknown_walk *w = cls;
    for (const char *const *k = w->known; *k != NULL; k++) {
        if (strcmp(*k, key) == 0)
            return MHD_YES;
    }
    w->unknown = key;
    return MHD_NO;
}

const char *http_query_unknown(http_request *req, const char *const *known)
{
    unknown_walk w = {known, NULL};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, unknown_visit, &w);
    return w.unknown;
}

bool query_known_only_or_reply(http_request *req, const char *const *known,
                               const char *takes, http_result *res)
{
    const char *bad = http_query_unknown(req, known);
    if (bad == NULL)
        return true;
    char detail[300];
    snprintf(detail, sizeof detail, "unknown query parameter \"%.200s\": %s", bad, takes);
    *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
    return false;
}

/* ---------------------------------------------------------------- numbers */

static size_t digits(const char *s)
{
    return strspn(s, "0123456789");
}

bool query_decimal_ok(const char *s, bool integer)
{
    const char *p = s + (*s == '-');
    size_t n = digits(p);
    if (n == 0 || (p[0] == '0' && n > 1))
        return false;
    p += n;
    if (!integer && *p == '.') {
        if ((n = digits(++p)) == 0)
            return false;
        p += n;
    }
    if (!integer && (*p == 'e' || *p == 'E')) {
        p++;
        p += *p == '+' || *p == '-';
        if ((n = digits(p)) == 0)
            return false;
        p += n;
    }
    return *p == '\0';
}

bool query_number(http_request *req, const char *name, double lo, double hi, bool integer,
                  double *out, http_result *res)
{
    const char *v = NULL;
    int q = http_query(req, name, &v);
    if (q == 0)
        return true;
    double d = NAN;
    if (q > 0 && query_decimal_ok(v, integer)) {
        errno = 0;
        d = strtod(v, NULL);
        if (errno != 0)
            d = NAN;
    }
    if (!(d >= lo && d <= hi)) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s must be %s in [%g, %g]", name,
                 integer ? "a decimal integer" : "a decimal number", lo, hi);
        *res = http_reply_problem(req, PROBLEM_INVALID_PARAMETER, detail, NULL);
        return false;
    }
    *out = d;
    return true;
}
