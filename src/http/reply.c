/* The reply side of a request, for every handler: the extra header, and the replies (a
 * copied, owned or static body, a streamed one, an RFC 9457 problem), each queued now or,
 * for a request answered on the offload pool, held until its connection resumes. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "http/deadline.h"
#include "http/http.h"
#include "http/json_out.h"
#include "http/problem.h"

/* --------------------------------------------------------------- helpers */

void http_set_header(http_request *req, const char *name, const char *value)
{
    size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
    char *n = http_alloc(req, nl), *v = http_alloc(req, vl);
    if (n == NULL || v == NULL)
        return;
    memcpy(n, name, nl);
    memcpy(v, value, vl);
    req->extra_name = n;
    req->extra_value = v;
}

static http_result queue(http_request *req, unsigned status, const char *content_type,
                         struct MHD_Response *resp)
{
    if (resp == NULL)
        return HTTP_FATAL;
    if (content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (req->extra_name != NULL)
        MHD_add_response_header(resp, req->extra_name, req->extra_value);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && req->allow[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                req->bad_token
                                    ? "Bearer realm=\"ltvd\", error=\"invalid_token\""
                                    : "Bearer realm=\"ltvd\"");
    if (status == 413 || req->discarded > 0 || req->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (req->deferred) { /* on the pool: queued once the connection resumes */
        if (req->held != NULL)
            MHD_destroy_response(req->held);
        req->held = resp;
        req->held_status = status;
        req->status = status;
        return HTTP_DONE;
    }
    enum MHD_Result ok = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (ok != MHD_YES)
        return HTTP_FATAL;
    req->status = status;
    return HTTP_DONE;
}

http_result http_reply(http_request *req, unsigned status, const char *content_type,
                       const char *body, size_t len)
{
    return queue(
        req, status, content_type,
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY));
}

http_result http_reply_owned(http_request *req, unsigned status, const char *content_type,
                             char *body, size_t len)
{
    if (body == NULL)
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        free(body);
    return queue(req, status, content_type, resp);
}

http_result http_reply_static(http_request *req, unsigned status,
                              const char *content_type, const void *body, size_t len,
                              const char *const *headers)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    for (size_t i = 0; resp != NULL && headers != NULL && headers[i] != NULL; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    return queue(req, status, content_type, resp);
}

/* --------------------------------------------------------------- streams */

/* MHD's block size of a streamed response: the most it asks for at once. */
#define STREAM_BLOCK (32 * 1024)

/* A streamed body (http_reply_stream): the producer and the piece being
 * sent (b[off..len)). */
typedef struct stream {
    http_stream_fill fill;
    void (*done)(void *cls);
    void *cls;
    struct MHD_Connection *conn; /* for the deadline; valid while MHD calls */
    json_out b;
    size_t off;
    bool over; /* the producer said end or cut */
} stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    if (st->off == st->b.len) {
        if (st->over)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        st->b.len = st->off = 0;
        if (st->b.p != NULL)
            st->b.p[0] = '\0';
        int rc = st->fill(st->cls, &st->b);
        if (rc <= 0 || st->b.failed || st->b.len == 0) {
            st->over = true;
            return rc == 0 && !st->b.failed ? MHD_CONTENT_READER_END_OF_STREAM
                                            : MHD_CONTENT_READER_END_WITH_ERROR;
        }
        deadline_sending(st->conn); /* the client read the previous piece */
    }
    size_t n = st->b.len - st->off < max ? st->b.len - st->off : max;
    memcpy(buf, st->b.p + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *st = cls;
    st->done(st->cls);
    free(st->b.p);
    free(st);
}

http_result http_reply_stream(http_request *req, unsigned status,
                              const char *content_type, http_stream_fill fill,
                              void (*done)(void *cls), void *cls)
{
    stream *st = calloc(1, sizeof *st);
    struct MHD_Response *resp =
        st == NULL ? NULL
                   : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                       stream_read, st, stream_free);
    if (resp == NULL) {
        free(st);
        done(cls);
        return http_reply_problem(req, PROBLEM_INTERNAL, "out of memory", NULL);
    }
    *st = (stream){.fill = fill, .done = done, .cls = cls, .conn = req->conn};
    return queue(req, status, content_type, resp);
}

/* ---------------------------------------------------------------- problems */

http_result http_reply_problem(http_request *req, problem_code code, const char *detail,
                               json_t *errors)
{
    size_t len = 0;
    /* the instance is the request path, unless it is the problem */
    const char *instance = code == PROBLEM_URL_TOO_LONG ? NULL : req->path;
    char *body = problem_body(code, detail, instance, errors, &len);
    if (body == NULL)
        return HTTP_FATAL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        free(body);
    else if (code == PROBLEM_DATABASE_UNAVAILABLE || code == PROBLEM_TOO_BUSY ||
             code == PROBLEM_BUDGET_EXCEEDED || code == PROBLEM_STARTING)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                                HTTP_RETRY_AFTER_S_TEXT);
    return queue(req, problem_get(code)->status, "application/problem+json", resp) ==
                   HTTP_DONE
               ? HTTP_REPLIED
               : HTTP_FATAL;
}
