/* The benchmarks' HTTP/1.1 client: one request at a time on a kept-alive
 * loopback connection, responses read whole by their Content-Length. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool bench_client_init(bench_client *c, const char *addr)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof c->host)
        return false;
    memcpy(c->host, addr, (size_t)(colon - addr));
    c->host[colon - addr] = '\0';
    c->port = atoi(colon + 1);
    return c->port > 0 && c->port < 65536;
}

static bool client_connect(bench_client *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1)
        return false;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

static void client_disconnect(bench_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Writes the whole request; false on any error. */
static bool send_all(int fd, const char *head, size_t head_len, const char *body,
                     size_t body_len)
{
    struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
    int n_iov = body_len > 0 ? 2 : 1;
    struct iovec *v = iov;
    while (n_iov > 0) {
        ssize_t w = writev(fd, v, n_iov);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        while (n_iov > 0 && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            n_iov--;
        }
        if (n_iov > 0) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return true;
}

/* Reads more bytes into buf (grown as needed). Returns the count, 0 at EOF,
 * -1 on error. */
static ssize_t read_more(bench_client *c)
{
    if (c->cap - c->len < 4096) {
        size_t cap = c->cap > 0 ? c->cap * 2 : 65536;
        char *b = realloc(c->buf, cap + 1);
        if (b == NULL)
            return -1;
        c->buf = b;
        c->cap = cap;
    }
    ssize_t r;
    do
        r = read(c->fd, c->buf + c->len, c->cap - c->len);
    while (r < 0 && errno == EINTR);
    if (r > 0)
        c->len += (size_t)r;
    return r;
}

/* The value of header `name` in the header block [h, end), or NULL. */
static const char *header_value(const char *h, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = h; p < end; p++) {
        const char *line = p;
        p = memchr(p, '\n', (size_t)(end - p));
        if (p == NULL)
            return NULL;
        if ((size_t)(p - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':')
            return line + n + 1;
    }
    return NULL;
}

/* Reads one response. Returns 1 when read, 0 when the connection was closed
 * before its first byte, -1 on error. */
static int read_response(bench_client *c, bool *close_after)
{
    c->len = 0;
    char *eoh = NULL;
    while (eoh == NULL) {
        ssize_t r = read_more(c);
        if (r <= 0)
            return r == 0 && c->len == 0 ? 0 : -1;
        c->buf[c->len] = '\0';
        eoh = strstr(c->buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(eoh - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    const char *cl = header_value(c->buf, eoh + 2, "Content-Length");
    const char *conn = header_value(c->buf, eoh + 2, "Connection");
    *close_after = conn != NULL && strncasecmp(conn + strspn(conn, " "), "close", 5) == 0;
    size_t body_len = cl != NULL ? strtoul(cl, NULL, 10) : 0;
    if (cl == NULL && !*close_after)
        return -1; /* no length and no close: we cannot tell where it ends */
    while (cl == NULL ? true : c->len < head_len + body_len) {
        ssize_t r = read_more(c);
        if (r < 0 || (r == 0 && cl != NULL))
            return -1;
        if (r == 0)
            break;
    }
    c->body_len = cl != NULL ? body_len : c->len - head_len;
    c->buf[head_len + c->body_len] = '\0';
    c->body = c->buf + head_len;
    return 1;
}

bool bench_client_request(bench_client *c, const char *method, const char *path,
                          const char *body, size_t body_len)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, c->host, c->port, body_len);
    if (n < 0 || (size_t)n >= sizeof head)
        return false;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = c->fd >= 0;
        if (!reused && !client_connect(c))
            return false;
        bool close_after = false;
        int rc = send_all(c->fd, head, (size_t)n, body, body_len)
                     ? read_response(c, &close_after)
                     : (reused ? 0 : -1);
        if (rc == 1) {
            if (close_after)
                client_disconnect(c);
            return true;
        }
        client_disconnect(c);
        if (rc < 0 || !reused)
            return false;
        /* the server closed the idle connection: once more on a new one */
    }
    return false;
}

void bench_client_close(bench_client *c)
{
    client_disconnect(c);
    free(c->buf);
    c->buf = NULL;
    c->cap = c->len = 0;
}
