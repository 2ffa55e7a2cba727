/* Whether the database takes writes (see mode.h). */
#include "store/mode.h"

#include <string.h>

/* Outside a transaction, transaction_read_only is what the next one gets:
 * on in recovery, and with default_transaction_read_only on. */
static const char mode_sql[] =
    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'";

int store_mode_get(store_db *db, store_mode *out)
{
    *out = (store_mode){false, false};
    if (store_db_broken(db) && store_db_reconnect(db) != 0)
        return -1;
    PGresult *res = store_db_query(db, mode_sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        store_db_fail(db, res, "database mode");
        PQclear(res);
        return -1;
    }
    out->in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    out->read_only = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    return 0;
}
