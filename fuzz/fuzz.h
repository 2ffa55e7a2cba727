/* What the libFuzzer targets in fuzz/ share: the entry point's prototype
 * (the project builds with -Wmissing-prototypes) and FUZZ_CHECK, which
 * aborts on a broken invariant so that libFuzzer keeps the input. */
#ifndef LTVD_FUZZ_H
#define LTVD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
