/* `ltvd import`'s progress line: rewritten in place with "\r" and an
 * erase-to-end-of-line, on a terminal only, so logs and pipes get nothing. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli/import.h"

#define REDRAW_EVERY_S 0.1

double import_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void import_progress_init(import_progress *p)
{
    p->tty = isatty(STDERR_FILENO) == 1;
    p->shown = false;
    p->last_draw = 0;
}

/* True when it is time to redraw (and notes the time). */
static bool due(import_progress *p, bool force)
{
    if (!p->tty)
        return false;
    double t = import_now();
    if (!force && t - p->last_draw < REDRAW_EVERY_S)
        return false;
    p->last_draw = t;
    p->shown = true;
    return true;
}

void import_progress_validating(import_progress *p, size_t rows, bool force)
{
    if (due(p, force))
        fprintf(stderr, "\rvalidating: %zu rows\033[K", rows);
}

void import_progress_loading(import_progress *p, size_t done, size_t total,
                             double started, size_t n_new, size_t n_duplicate, bool force)
{
    if (!due(p, force))
        return;
    double dt = import_now() - started;
    fprintf(
        stderr,
        "\rimporting: %zu/%zu rows (%.0f%%), %.0f rows/s, %zu new, %zu duplicates\033[K",
        done, total, total ? 100.0 * (double)done / (double)total : 100.0,
        dt > 0 ? (double)done / dt : 0.0, n_new, n_duplicate);
}

void import_progress_clear(import_progress *p)
{
    if (p->tty && p->shown)
        fputs("\r\033[K", stderr);
    p->shown = false;
}
