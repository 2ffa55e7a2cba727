/* The service's logger: single lines on stderr with a UTC timestamp. */
#include "log/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level)
{
    atomic_store(&min_level, (int)level);
}

static void log_vwrite(log_level level, const char *fmt, va_list ap)
{
    if ((int)level < atomic_load(&min_level) || level >= LOG_OFF)
        return;
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ", &tm);
    n +=
        (size_t)snprintf(line + n, sizeof line - n, " level=%s msg=", level_names[level]);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    /* one line per event: MHD's messages end in '\n' already */
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}

void log_write(log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    log_vwrite(LOG_WARN, fmt, ap);
}
