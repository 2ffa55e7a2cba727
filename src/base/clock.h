/* The monotonic clock of the service's timed waits and deadlines: a step
 * of the wall clock neither stretches nor shortens them. A leaf. */
#ifndef LTVD_BASE_CLOCK_H
#define LTVD_BASE_CLOCK_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (from an arbitrary origin). */
long long base_mono_ms(void);

/* The CLOCK_MONOTONIC time ms milliseconds from now (now when ms <= 0):
 * the `until` of a timed wait on a condition variable set to that clock. */
struct timespec base_mono_after_ms(long long ms);

#endif
