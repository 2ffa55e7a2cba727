/* SQL scripts (the migration files) run one statement at a time.
 *
 * Why: PostgreSQL takes a whole file as one simple query, but Citus
 * forwards some DDL on a distributed table (CREATE INDEX, ALTER TABLE ...
 * SET NOT NULL) to the workers as the text of the query it arrived in, and
 * a worker refuses a text of several statements ("cannot insert multiple
 * commands into a prepared statement", Citus 13.2). Sent one by one, each
 * statement is its own text; in one transaction, the effect is the same. */
#ifndef LTVD_STORE_SCRIPT_H
#define LTVD_STORE_SCRIPT_H

#include <stddef.h>

#include "store/db.h"

/* The next statement of the script at p: *start is set to its first
 * character that is neither blank nor comment, and its length up to and
 * including its terminating semicolon (or the end of the text) is returned.
 * Semicolons inside quotes ('...', E'...', "..."), dollar quotes ($$...$$,
 * $tag$...$tag$) and comments (--, nested slash-star) do not end a
 * statement. Returns 0 when only blanks and comments are left (then
 * *start is the end of the text). */
size_t store_script_next(const char *p, const char **start);

/* Runs every statement of the script sql on db, in order, each as its own
 * query (inside the caller's transaction, if any). Returns 0, or -1 with
 * db->err set ("what: " and the server's message) at the first statement
 * that failed; the rest are not run. */
int store_script_run(store_db *db, const char *sql, const char *what);

#endif
