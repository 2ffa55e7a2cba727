/* A minimal HTTP/1.1 keep-alive client over one TCP socket, for the service
 * benchmarks (bench/service.sh): enough to talk to `ltvd serve` on loopback,
 * nothing more (no TLS, no chunked bodies, no redirects). */
#ifndef LTVD_BENCH_CLIENT_H
#define LTVD_BENCH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bench_client {
    char host[64];
    int port;
    int fd;           /* -1 while not connected */
    char *buf;        /* the last response (headers and body), owned */
    size_t cap;       /* of buf */
    size_t len;       /* bytes of buf holding data read */
    int status;       /* of the last response */
    const char *body; /* into buf, NUL-terminated; valid until the next request */
    size_t body_len;
} bench_client;

/* Splits "HOST:PORT" into the client (not connected yet). Returns false on a
 * malformed address. */
bool bench_client_init(bench_client *c, const char *addr);

/* Sends one request (body may be NULL) and reads the whole response into
 * c->status, c->body, c->body_len. Connects, or reconnects once when the
 * server had closed the kept-alive connection. Returns false on a network
 * or protocol error (the connection is closed then). */
bool bench_client_request(bench_client *c, const char *method, const char *path,
                          const char *body, size_t body_len);

/* Closes the socket and frees the buffer. */
void bench_client_close(bench_client *c);

/* Seconds on the monotonic clock. */
double bench_now(void);

#endif
