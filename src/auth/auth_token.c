/* API key tokens: generation, format, SHA-256, constant-time comparison,
 * scope names (see auth_token.h). */
#include "auth/auth_token.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char hex_digits[] = "0123456789abcdef";

/* Fills buf with n bytes from the kernel's CSPRNG. */
static int random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int auth_token_new(char token[AUTH_TOKEN_LEN + 1], char key_id[AUTH_KEY_ID_LEN + 1])
{
    unsigned char id[AUTH_KEY_ID_LEN / 2], secret[AUTH_SECRET_LEN / 2];
    char id_hex[AUTH_KEY_ID_LEN + 1], secret_hex[AUTH_SECRET_LEN + 1];
    int rc = -1;
    if (random_bytes(id, sizeof id) != 0 || random_bytes(secret, sizeof secret) != 0)
        goto cleanup;
    auth_hex(id, sizeof id, id_hex);
    auth_hex(secret, sizeof secret, secret_hex);
    snprintf(token, AUTH_TOKEN_LEN + 1, "%s%s_%s", AUTH_TOKEN_PREFIX, id_hex, secret_hex);
    memcpy(key_id, id_hex, sizeof id_hex);
    rc = 0;
cleanup:
    explicit_bzero(secret, sizeof secret);
    explicit_bzero(secret_hex, sizeof secret_hex);
    return rc;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(hex_digits, s[i]) == NULL || s[i] == '\0')
            return false;
    return true;
}

bool auth_token_parse(const char *token, size_t len, char key_id[AUTH_KEY_ID_LEN + 1])
{
    const size_t plen = sizeof AUTH_TOKEN_PREFIX - 1;
    if (len != AUTH_TOKEN_LEN || memcmp(token, AUTH_TOKEN_PREFIX, plen) != 0 ||
        token[plen + AUTH_KEY_ID_LEN] != '_' || !all_hex(token + plen, AUTH_KEY_ID_LEN) ||
        !all_hex(token + plen + AUTH_KEY_ID_LEN + 1, AUTH_SECRET_LEN))
        return false;
    memcpy(key_id, token + plen, AUTH_KEY_ID_LEN);
    key_id[AUTH_KEY_ID_LEN] = '\0';
    return true;
}

int auth_token_hash(const char *token, size_t len, unsigned char out[AUTH_HASH_LEN])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, token, len, out) == 0 ? 0 : -1;
}

bool auth_equal_ct(const unsigned char *a, const unsigned char *b, size_t n)
{
    /* volatile: the compiler may not stop at the first difference */
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

void auth_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    const char *p = c != '\0' ? strchr(hex_digits, c) : NULL;
    return p != NULL ? (int)(p - hex_digits) : -1;
}

bool auth_unhex(const char *hex, unsigned char *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* ---------------------------------------------------------------- scopes */

static const char *const scope_names[] = {"ingest", "read", "admin", "platform"};
#define N_SCOPES (sizeof scope_names / sizeof scope_names[0])

int auth_scopes_parse(const char *text)
{
    int bits = 0;
    for (const char *p = text;; p++) {
        size_t n = strcspn(p, ",");
        int bit = 0;
        for (size_t i = 0; i < N_SCOPES; i++)
            if (strlen(scope_names[i]) == n && strncmp(p, scope_names[i], n) == 0)
                bit = 1 << i;
        if (bit == 0 || (bits & bit) != 0)
            return -1;
        bits |= bit;
        p += n;
        if (*p == '\0')
            return bits;
    }
}

char *auth_scopes_format(unsigned scopes, char out[AUTH_SCOPES_TEXT_MAX])
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_SCOPES; i++)
        if (scopes & (1u << i))
            len += (size_t)snprintf(out + len, AUTH_SCOPES_TEXT_MAX - len, "%s%s",
                                    len > 0 ? "," : "", scope_names[i]);
    return out;
}
