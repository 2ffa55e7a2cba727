/* Helpers shared by the suites that need a PostgreSQL database of their own
 * (store, import, faults, and those on testhttp): creating and dropping it,
 * a conninfo for it on the same server, and statements run on the
 * maintenance connection. Failures are check assertions. */
#ifndef LTVD_TESTS_TESTDB_H
#define LTVD_TESTS_TESTDB_H

#include <stddef.h>

/* The conninfo of `base` (a DATABASE_URL) with dbname replaced, values
 * quoted for libpq, into out[size]. */
void testdb_url_with_db(const char *base, const char *dbname, char *out, size_t size);

/* Runs one command (no result rows) on a connection to `base`. */
void testdb_admin_exec(const char *base, const char *sql);

/* Creates the database name (an identifier) on the server of base,
 * dropping one left over from an earlier run first. */
void testdb_create(const char *base, const char *name);

/* Drops the database name on the server of base, when it exists (its
 * connections are ended). */
void testdb_drop(const char *base, const char *name);

#endif
