/* API key tokens and what the server and `ltvd key` share about them: the
 * token format, its SHA-256, a constant-time comparison and the scope names.
 * Depends on libc and GnuTLS (for SHA-256) only. */
#ifndef LTVD_AUTH_TOKEN_H
#define LTVD_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* A token is "ltvd_" KEY_ID "_" SECRET: a public key id of 12 lower-case
 * hex digits (6 random bytes), stored in clear for the lookup, and a secret
 * of 64 hex digits (32 random bytes from getrandom). */
#define AUTH_TOKEN_PREFIX "ltvd_"
#define AUTH_KEY_ID_LEN 12
#define AUTH_SECRET_LEN 64
#define AUTH_TOKEN_LEN                                                                   \
    (sizeof AUTH_TOKEN_PREFIX - 1 + AUTH_KEY_ID_LEN + 1 + AUTH_SECRET_LEN)
#define AUTH_HASH_LEN 32 /* SHA-256 */

/* Longest text of auth_scopes_format, with its NUL. */
#define AUTH_SCOPES_TEXT_MAX 32
/* The tenant of a platform key: every tenant. */
#define AUTH_TENANT_ANY "*"

/* The scopes a key may hold, as bits. */
enum {
    AUTH_SCOPE_INGEST = 1u << 0,   /* POST /v1/transactions */
    AUTH_SCOPE_READ = 1u << 1,     /* GET /v1/..., a private /metrics */
    AUTH_SCOPE_ADMIN = 1u << 2,    /* refit, customer erasure, a private /metrics */
    AUTH_SCOPE_PLATFORM = 1u << 3, /* tenant management (/v1/tenants) */
    AUTH_SCOPE_ALL = (1u << 4) - 1,
};

/* A new random token (NUL-terminated) and its key id. Returns 0, or -1 when
 * the kernel's random source fails. */
int auth_token_new(char token[AUTH_TOKEN_LEN + 1], char key_id[AUTH_KEY_ID_LEN + 1]);

/* True when token[0..len) has the token format; its key id goes to key_id.
 * Says nothing about whether the key exists. */
bool auth_token_parse(const char *token, size_t len, char key_id[AUTH_KEY_ID_LEN + 1]);

/* SHA-256 of token[0..len) into out. Returns 0, or -1 on a GnuTLS failure.
 * The token carries 256 random bits, so a plain (fast) hash is enough: no
 * dictionary to search, nothing a slow password KDF would add. */
int auth_token_hash(const char *token, size_t len, unsigned char out[AUTH_HASH_LEN]);

/* True when a[0..n) equals b[0..n), in a time that depends on n only. */
bool auth_equal_ct(const unsigned char *a, const unsigned char *b, size_t n);

/* n bytes as 2n lower-case hex digits into out (room for 2n + 1). */
void auth_hex(const unsigned char *in, size_t n, char *out);

/* Exactly 2n hex digits of hex into out[0..n). False on anything else. */
bool auth_unhex(const char *hex, unsigned char *out, size_t n);

/* "ingest,read" (comma-separated names, any order, no duplicates) into
 * AUTH_SCOPE_ bits. Returns the bits (never 0), or -1 on an unknown, empty
 * or repeated name. */
int auth_scopes_parse(const char *text);

/* The names of the bits of scopes, comma-separated in the order ingest,
 * read, admin, into out (room for 20 bytes). Returns out. */
char *auth_scopes_format(unsigned scopes, char out[AUTH_SCOPES_TEXT_MAX]);

#endif
