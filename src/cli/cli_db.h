/* The service's database for the commands that work on it (import, key,
 * tenant): a connection to DATABASE_URL with pending migrations applied. */
#ifndef LTVD_CLI_DB_H
#define LTVD_CLI_DB_H

#include "store/db.h"

/* Connects to url (a libpq conninfo) and applies the pending migrations of
 * LTVD_MIGRATIONS_DIR (default migrations), counting them in *applied when
 * applied is not NULL. NULL after one line "ltvd WHO: why" on stderr (url
 * NULL or empty: DATABASE_URL is not set). Close with store_db_close. */
store_db *cli_db_open(const char *who, const char *url, int *applied);

#endif
