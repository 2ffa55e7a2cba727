/* The bounded first look at a batch body (see body_scan.h): a state
 * machine over the bytes with a depth counter, an in-string flag and the
 * few facts needed at depths 1 and 2; no allocation. */
#include "ingest/body_scan.h"

#include <stdbool.h>
#include <string.h>

#define TX_KEY "transactions"
#define TX_KEY_LEN (sizeof TX_KEY - 1)

typedef struct scan {
    size_t depth;     /* open '{' and '[' */
    bool key_next;    /* at depth 1: the next string is a member name */
    bool key_is_tx;   /* at depth 1: the last member name was TX_KEY */
    bool in_tx;       /* at depth 2: inside the array of TX_KEY */
    bool tx_nonempty; /* a value started in that array */
    size_t tx_commas; /* ',' directly inside that array */
    size_t values;    /* 1 + '[', ',' and ':' outside strings */
} scan;

/* Skips the string starting after the quote at body[*i]; leaves *i on its
 * closing quote (or at len). Returns whether its raw bytes are TX_KEY. */
static bool skip_string(const char *body, size_t len, size_t *i)
{
    size_t start = *i + 1, k = start;
    while (k < len && body[k] != '"')
        k += body[k] == '\\' ? 2 : 1;
    *i = k < len ? k : len;
    return k < len && k - start == TX_KEY_LEN &&
           memcmp(body + start, TX_KEY, TX_KEY_LEN) == 0;
}

/* One structural byte c outside strings. */
static void structural(scan *s, char c)
{
    if (c == '{' || c == '[') {
        if (s->depth == 1 && c == '[' && s->key_is_tx) {
            s->in_tx = true;
            s->tx_nonempty = false;
            s->tx_commas = 0;
        }
        s->depth++;
        s->key_next = s->depth == 1 && c == '{';
    } else if (c == '}' || c == ']') {
        if (s->depth > 0)
            s->depth--;
        if (s->depth == 1)
            s->in_tx = false;
    } else if (c == ',') {
        if (s->depth == 1)
            s->key_next = true;
        if (s->in_tx && s->depth == 2)
            s->tx_commas++;
    } else if (c == ':' && s->depth == 1) {
        s->key_next = false;
    }
    if (c == '[' || c == ',' || c == ':')
        s->values++;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

ingest_scan_result ingest_body_scan(const char *body, size_t len, size_t max_items,
                                    size_t max_values)
{
    scan s = {.values = 1};
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (is_space(c))
            continue;
        if (s.in_tx && s.depth == 2 && c != ']' && c != ',')
            s.tx_nonempty = true;
        if (c == '"') {
            bool tx = skip_string(body, len, &i);
            if (s.depth == 1 && s.key_next)
                s.key_is_tx = tx;
        } else {
            structural(&s, c);
        }
        if (s.in_tx && s.tx_commas + s.tx_nonempty > max_items)
            return INGEST_SCAN_TOO_MANY_ITEMS;
        if (s.values > max_values)
            return INGEST_SCAN_TOO_MANY_VALUES;
    }
    return INGEST_SCAN_OK;
}
