/* Parallel sums over index ranges with POSIX threads (see parallel.h). */
#include "model/parallel.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

typedef struct chunk {
    parallel_chunk_fn fn;
    void *ctx;
    size_t lo, hi;
    double acc[PARALLEL_MAX_ACC];
    int rc;
} chunk;

static void *run_chunk(void *arg)
{
    chunk *c = arg;
    c->rc = c->fn(c->ctx, c->lo, c->hi, c->acc);
    return NULL;
}

static size_t thread_count(size_t n, size_t min_chunk)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t k = cpus > 0 ? (size_t)cpus : 1;
    if (k > PARALLEL_MAX_THREADS)
        k = PARALLEL_MAX_THREADS;
    size_t by_size = min_chunk > 0 ? n / min_chunk : n;
    if (k > by_size)
        k = by_size;
    return k > 0 ? k : 1;
}

int parallel_sum(size_t n, size_t min_chunk, parallel_chunk_fn fn, void *ctx, double *acc,
                 size_t n_acc)
{
    if (n_acc > PARALLEL_MAX_ACC)
        return GSL_EINVAL;
    size_t k = thread_count(n, min_chunk);
    chunk chunks[PARALLEL_MAX_THREADS];
    pthread_t threads[PARALLEL_MAX_THREADS];
    int started[PARALLEL_MAX_THREADS] = {0};
    for (size_t i = 0; i < k; i++) {
        chunks[i] = (chunk){fn, ctx, n * i / k, n * (i + 1) / k, {0}, GSL_SUCCESS};
        if (i > 0)
            started[i] = pthread_create(&threads[i], NULL, run_chunk, &chunks[i]) == 0;
    }
    run_chunk(&chunks[0]);
    int rc = chunks[0].rc;
    for (size_t i = 1; i < k; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        else
            run_chunk(&chunks[i]);
        if (rc == GSL_SUCCESS)
            rc = chunks[i].rc;
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < n_acc; j++)
            acc[j] += chunks[i].acc[j];
    return rc;
}
