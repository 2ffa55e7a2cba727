/* Whether the database this process is connected to takes writes: a
 * streaming replica (a standby in recovery) or a session whose transactions
 * are read-only (default_transaction_read_only) does not. `ltvd serve` asks
 * once at start-up (app/mode.h). */
#ifndef LTVD_STORE_MODE_H
#define LTVD_STORE_MODE_H

#include <stdbool.h>

#include "store/db.h"

typedef struct store_mode {
    bool in_recovery; /* pg_is_in_recovery(): a standby (streaming replica) */
    bool read_only;   /* transaction_read_only of a new transaction */
} store_mode;

/* Reads both on db (outside a transaction). Returns 0 with *out set, or -1
 * with db->err set. */
int store_mode_get(store_db *db, store_mode *out);

#endif
