/* The cache catch-up thread (see sync.h). */
#include "app/sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/log.h"

/* Customers applied to the cache per write-lock hold. */
#define SYNC_CHUNK 1000

struct app_sync {
    app *a;
    long interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

typedef struct sync_chunk {
    app *a;
    store_db *db;
    store_customer v[SYNC_CHUNK];
    size_t n;
    int rc;
} sync_chunk;

static int flush(sync_chunk *c)
{
    if (c->n > 0 && c->rc == CACHE_OK)
        c->rc = app_cache_apply_committed(c->a, c->db, c->v, c->n);
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].customer_id);
    c->n = 0;
    return c->rc != CACHE_OK;
}

static int collect(const store_customer *row, void *arg)
{
    sync_chunk *c = arg;
    c->v[c->n] = *row;
    if ((c->v[c->n].customer_id = strdup(row->customer_id)) == NULL) {
        c->rc = CACHE_ENOMEM;
        return 1;
    }
    return ++c->n == SYNC_CHUNK ? flush(c) : 0;
}

int app_sync_once(app *a, store_db *db, char since[STORE_TIME_MAX])
{
    char next[STORE_TIME_MAX];
    if (store_customers_horizon(db, next) != 0)
        return -1;
    sync_chunk *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    c->a = a;
    c->db = db;
    c->rc = CACHE_OK;
    int rc = store_customers_changed(db, since, collect, c);
    flush(c);
    if (rc == 0 && c->rc == CACHE_OK)
        memcpy(since, next, STORE_TIME_MAX);
    else
        rc = -1;
    free(c);
    return rc;
}

static void *sync_main(void *arg)
{
    app_sync *s = arg;
    char since[STORE_TIME_MAX], err[STORE_ERR_MAX];
    memcpy(since, s->a->sync_since, sizeof since);
    store_db *db = NULL;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->interval_ms / 1000;
        until.tv_nsec += (s->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
            ;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu);
        if (db == NULL && (db = store_db_open(s->a->config->database_url, err)) == NULL) {
            app_db_failed(s->a);
            log_write(LOG_WARN, "cache catch-up: %s", err);
        } else if (app_sync_once(s->a, db, since) != 0) {
            if (store_db_broken(db))
                app_db_failed(s->a);
            log_write(LOG_WARN, "cache catch-up: %s (retried)", store_db_error(db));
        } else {
            app_db_ok(s->a);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    store_db_close(db);
    return NULL;
}

app_sync *app_sync_start(app *a, long interval_ms)
{
    app_sync *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->a = a;
    s->interval_ms = interval_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void app_sync_stop(app_sync *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
