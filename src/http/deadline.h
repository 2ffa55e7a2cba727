/* Request deadlines. libmicrohttpd's connection timeout counts idle time
 * only, so a client sending one byte a second would hold a connection (and
 * its slot under connection_limit and per_ip_limit) forever. A watchdog
 * thread closes a connection whose request head has not arrived whole
 * within connection_timeout_s of the connection's opening or its previous
 * answer, or whose body has not arrived within connection_timeout_s of its
 * head, or whose answer has not been read within connection_timeout_s of
 * being queued. A request being handled has no deadline. */
#ifndef LTVD_HTTP_DEADLINE_H
#define LTVD_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdbool.h>

typedef struct deadlines deadlines;

/* Starts the watchdog for timeout_s seconds per phase. Returns NULL when
 * out of memory or when the thread cannot start. */
deadlines *deadlines_start(long timeout_s);

/* Stops the watchdog and frees d (NULL is allowed). Call after
 * MHD_stop_daemon, when every connection has been notified closed. */
void deadlines_stop(deadlines *d);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls is d): tracks
 * a connection from its opening to its close in *socket_context. */
void deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);

/* From the router, for the connection's current request: its head is in
 * (the body's deadline starts), it is whole (no deadline while handled),
 * its answer is queued (the client has connection_timeout_s to read it
 * all: a client that reads slowly cannot hold the connection), it is
 * answered (the next head's deadline starts). No-ops on a connection that
 * deadlines_notify does not track. */
void deadline_head_in(struct MHD_Connection *conn);
void deadline_handling(struct MHD_Connection *conn);
void deadline_sending(struct MHD_Connection *conn);
void deadline_answered(struct MHD_Connection *conn);

#endif
