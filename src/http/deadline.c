/* Request deadlines (see deadline.h): a list of the open connections, each
 * with the moment its current phase began, and a thread that shuts down the
 * socket of any connection past its deadline (a base/ticker; with a zero linger, so its
 * close is a reset). shutdown() wakes the worker
 * polling it, which reads end-of-file and closes the connection the usual
 * way; libmicrohttpd notifies the close before it closes the descriptor,
 * and the list's lock is held across both, so no descriptor is reused
 * under the watchdog. */
#include "http/deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/clock.h"
#include "base/ticker.h"
#include "log/log.h"

/* How often the watchdog looks: a deadline is enforced this much late at
 * most. */
#define DEADLINE_TICK_MS 200

typedef struct deadline_conn {
    struct deadline_conn *prev, *next;
    int fd;
    _Atomic uint64_t since_ms; /* start of the current phase; 0 while handled */
    bool shut;                 /* shut down by the watchdog (under the lock) */
} deadline_conn;

struct deadlines {
    uint64_t timeout_ms;
    pthread_mutex_t lock; /* the list and shut */
    deadline_conn head;   /* sentinel of a circular list */
    ticker *ticker;       /* the watchdog */
};

static uint64_t now_ms(void)
{
    return (uint64_t)base_mono_ms();
}

/* Shuts down the connections past their deadline; returns how many. */
static int sweep(deadlines *d)
{
    uint64_t now = now_ms();
    int n = 0;
    for (deadline_conn *c = d->head.next; c != &d->head; c = c->next) {
        uint64_t since = atomic_load(&c->since_ms);
        if (!c->shut && since != 0 && now - since > d->timeout_ms) {
            /* the close that follows resets the connection: the answer
             * still queued in the kernel for a slow reader is dropped, not
             * trickled out for minutes after the cut */
            struct linger reset = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            shutdown(c->fd, SHUT_RDWR);
            c->shut = true;
            n++;
        }
    }
    return n;
}

/* One look of the watchdog (a ticker_fn): every DEADLINE_TICK_MS. */
static long watch(void *arg)
{
    deadlines *d = arg;
    pthread_mutex_lock(&d->lock);
    int n = sweep(d);
    pthread_mutex_unlock(&d->lock);
    if (n > 0)
        log_write(LOG_INFO,
                  "closed %d connection(s) that took over %llu s to send a "
                  "request or to read its answer (connection_timeout_s)",
                  n, (unsigned long long)(d->timeout_ms / 1000));
    return -1;
}

deadlines *deadlines_start(long timeout_s)
{
    deadlines *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->timeout_ms = (uint64_t)timeout_s * 1000u;
    d->head.next = d->head.prev = &d->head;
    pthread_mutex_init(&d->lock, NULL);
    d->ticker = ticker_start(DEADLINE_TICK_MS, DEADLINE_TICK_MS, watch, d);
    if (d->ticker == NULL) {
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    return d;
}

void deadlines_stop(deadlines *d)
{
    if (d == NULL)
        return;
    ticker_stop(d->ticker);
    for (deadline_conn *c = d->head.next, *next; c != &d->head; c = next) {
        next = c->next; /* none left after MHD_stop_daemon; freed in case */
        free(c);
    }
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    deadlines *d = cls;
    deadline_conn *c = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (info == NULL || (c = calloc(1, sizeof *c)) == NULL)
            return; /* untracked: only the idle timeout applies */
        c->fd = info->connect_fd;
        atomic_init(&c->since_ms, now_ms());
        pthread_mutex_lock(&d->lock);
        c->next = &d->head;
        c->prev = d->head.prev;
        d->head.prev->next = c;
        d->head.prev = c;
        pthread_mutex_unlock(&d->lock);
        *socket_context = c;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && c != NULL) {
        pthread_mutex_lock(&d->lock);
        c->prev->next = c->next;
        c->next->prev = c->prev;
        pthread_mutex_unlock(&d->lock);
        free(c);
        *socket_context = NULL;
    }
}

/* Sets the start of conn's current phase (0: none). */
static void phase(struct MHD_Connection *conn, uint64_t since)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    deadline_conn *c = info != NULL ? info->socket_context : NULL;
    if (c != NULL)
        atomic_store(&c->since_ms, since);
}

void deadline_head_in(struct MHD_Connection *conn)
{
    phase(conn, now_ms());
}

void deadline_handling(struct MHD_Connection *conn)
{
    phase(conn, 0);
}

void deadline_sending(struct MHD_Connection *conn)
{
    phase(conn, now_ms());
}

void deadline_answered(struct MHD_Connection *conn)
{
    phase(conn, now_ms());
}
