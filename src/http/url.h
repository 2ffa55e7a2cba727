/* The URL pieces the router works on, apart from libmicrohttpd: route
 * patterns ('/'-separated literal or {name} segments), matching a raw path
 * against one, percent-decoding and the check of a decoded path parameter.
 * Depends on libc only (so it can be fuzzed alone, see fuzz/fuzz_url.c). */
#ifndef LTVD_HTTP_URL_H
#define LTVD_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many {name} segments in a pattern (HTTP_MAX_PARAMS). */
#define URL_MAX_PARAMS 4

/* A piece of a path, borrowed from it (not NUL-terminated). */
typedef struct url_segment {
    const char *start;
    size_t len;
} url_segment;

/* True when p starts with '/' and every '{' segment is a whole {name} with
 * a name, with at most URL_MAX_PARAMS of them. */
bool url_pattern_ok(const char *p);

/* True when path matches pattern (which url_pattern_ok accepted): literal
 * segments byte for byte, a {name} segment against any one segment, empty
 * included. The path's segments matched by {name} go to params[0..*np), still
 * percent-encoded; *np is set in any case. */
bool url_match(const char *pattern, const char *path, url_segment params[URL_MAX_PARAMS],
               size_t *np);

/* Percent-decodes len bytes of s into out (room for len + 1, NUL-terminated).
 * Returns the decoded length, or -1 on a malformed escape or an encoded NUL
 * (out is then partly written). '+' is kept as it is. */
long url_pct_decode(const char *s, size_t len, char *out);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates)
 * without control characters (C0, DEL, C1). */
bool url_text_ok(const unsigned char *s, size_t len);

#endif
