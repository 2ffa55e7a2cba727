/* A way to stop a long statement sequence on a connection from another
 * thread (shutdown): a flag the worker looks at between steps, and a
 * cancel request for the statement it waits on. Used by the checkpoint's
 * write and the back-test's read. */
#ifndef LTVD_STORE_STOP_H
#define LTVD_STORE_STOP_H

#include <stdbool.h>

#include "store/db.h"

typedef struct store_stop store_stop;

/* For db's connection (NULL when out of memory). Free with store_stop_free
 * once no statement of the work uses it. */
store_stop *store_stop_new(store_db *db);
void store_stop_free(store_stop *s);

/* Makes the work using s give up soon: sets the flag and cancels the
 * statement under way. Safe from any thread; NULL is fine. */
void store_stop_now(store_stop *s);

/* Whether store_stop_now was called (false for NULL). */
bool store_stop_asked(const store_stop *s);

#endif
