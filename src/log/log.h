/* The service's logger: one line per event on stderr,
 * "2026-01-02T03:04:05Z level=info msg=...". A leaf module:
 * it includes nothing of ltvd, and every folder may use it. Thread-safe (one fputs per
 * line). There is no per-request access log (requests are counted in /metrics), and no
 * caller passes request content: never an Authorization header, token, key hash or key
 * id, never a customer id (suite_auth checks `ltvd serve`'s log for them). */
#ifndef LTVD_LOG_LOG_H
#define LTVD_LOG_LOG_H

#include <stdarg.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

/* Lines below level are dropped (default LOG_INFO). */
void log_set_level(log_level level);

void log_write(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its messages become warnings. */
void log_mhd(void *cls, const char *fmt, va_list ap);

#endif
