/* The service's database for the commands that work on it (import, key,
 * tenant): a connection to DATABASE_URL with pending migrations applied,
 * and whether a tenant exists. */
#ifndef LTVD_CLI_DB_H
#define LTVD_CLI_DB_H

#include <stdbool.h>

#include "store/db.h"

/* Connects to url (a libpq conninfo) and applies the pending migrations of
 * LTVD_MIGRATIONS_DIR (default migrations), counting them in *applied when
 * applied is not NULL. NULL after one line "ltvd WHO: why" on stderr (url
 * NULL or empty: DATABASE_URL is not set). Close with store_db_close. */
store_db *cli_db_open(const char *who, const char *url, int *applied);

/* Whether db holds the tenant: true, or false after one line "ltvd WHO: no
 * tenant T (ltvd tenant create T makes it)<then>" (or the database's error)
 * on stderr. */
bool cli_db_tenant_exists(const char *who, store_db *db, const char *tenant,
                          const char *then);

#endif
