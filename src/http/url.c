/* Route patterns, path matching, percent-decoding and the path parameter
 * check of the router (see url.h); libc only. */
#include "http/url.h"

#include <string.h>

bool url_pattern_ok(const char *p)
{
    size_t params = 0;
    if (p == NULL || p[0] != '/')
        return false;
    for (const char *s = p + 1; *s != '\0';) {
        size_t len = strcspn(s, "/");
        if (s[0] == '{' && (len < 3 || s[len - 1] != '}' || ++params > URL_MAX_PARAMS))
            return false;
        s += len + (s[len] == '/');
    }
    return true;
}

bool url_match(const char *pattern, const char *path, url_segment params[URL_MAX_PARAMS],
               size_t *np)
{
    *np = 0;
    const char *p = pattern, *u = path;
    while (*p == '/' && *u == '/') {
        p++;
        u++;
        size_t plen = strcspn(p, "/"), ulen = strcspn(u, "/");
        if (p[0] == '{') {
            params[(*np)++] = (url_segment){u, ulen};
        } else if (plen != ulen || strncmp(p, u, plen) != 0) {
            return false;
        }
        p += plen;
        u += ulen;
    }
    return *p == '\0' && *u == '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long url_pct_decode(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }
        if (i + 2 >= len)
            return -1;
        int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        out[n++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[n] = '\0';
    return (long)n;
}

bool url_text_ok(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (n == 0 || i + n > len || (n == 1 && (c < 0x20 || c == 0x7f)))
            return false;
        unsigned cp = n == 1 ? c : c & (0x3f >> (n - 1));
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += n;
    }
    return true;
}
