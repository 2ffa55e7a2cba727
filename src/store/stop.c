/* Stopping work on a connection from another thread (see stop.h). */
#include "store/stop.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdlib.h>

struct store_stop {
    atomic_bool stop;
    PGcancel *cancel;
};

store_stop *store_stop_new(store_db *db)
{
    store_stop *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    atomic_init(&s->stop, false);
    s->cancel = db->conn != NULL ? PQgetCancel(db->conn) : NULL;
    return s;
}

void store_stop_free(store_stop *s)
{
    if (s == NULL)
        return;
    PQfreeCancel(s->cancel);
    free(s);
}

void store_stop_now(store_stop *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    char err[256];
    if (s->cancel != NULL)
        (void)PQcancel(s->cancel, err, sizeof err);
}

bool store_stop_asked(const store_stop *s)
{
    return s != NULL && atomic_load(&((store_stop *)s)->stop);
}
