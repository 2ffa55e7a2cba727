/* A double as printf's "%.17g" writes it (17 significant digits, correctly
 * rounded: the text reads back as the same double), several times faster
 * than glibc's printf, whose exact multi-precision path is most of the cost
 * of writing a page of 1,000 score documents. A leaf. */
#ifndef LTVD_BASE_FMT_G17_H
#define LTVD_BASE_FMT_G17_H

#include <stddef.h>

/* Room base_fmt_g17 needs, its terminating NUL included ("-1.2345678901234567e-308"). */
#define BASE_G17_MAX 32

/* Writes d as snprintf(out, BASE_G17_MAX, "%.17g", d) does, byte for byte,
 * and returns the length. Computed with 128-bit integers for 1e-10 <= |d|
 * < 1e17 (every score ltvd writes); other values (0, tiny, huge, inf, nan)
 * go to snprintf. */
size_t base_fmt_g17(char *out, double d);

#endif
