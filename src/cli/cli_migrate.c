/* `ltvd migrate`: applies the pending migrations to DATABASE_URL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/mode.h"

static void print_applied(int version, const char *file, void *arg)
{
    (void)arg;
    printf("applied %03d %s\n", version, file);
    fflush(stdout);
}

static const char migrate_usage[] =
    "usage: ltvd migrate\n"
    "Applies the pending numbered SQL files of LTVD_MIGRATIONS_DIR (default\n"
    "migrations) to DATABASE_URL, each once and in its own transaction, under an\n"
    "advisory lock. `ltvd serve`, `import` and `key` do the same first.\n"
    "Exit status: 0 when the schema is up to date afterwards, 1 when not, 2 for\n"
    "a usage error.\n";

/* Exit 0 when the schema is up to date afterwards, 1 when not, 2 on a usage
 * error. */
int cli_migrate_main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(migrate_usage, stdout);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr,
                "ltvd migrate: unexpected argument %s (settings come from "
                "DATABASE_URL and LTVD_MIGRATIONS_DIR)\n",
                argv[1]);
        return 2;
    }
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0') {
        fputs("ltvd migrate: DATABASE_URL is not set\n", stderr);
        return 1;
    }
    const char *dir = getenv("LTVD_MIGRATIONS_DIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "migrations";
    char err[STORE_ERR_MAX];
    store_db *db = store_db_open(url, err);
    if (db == NULL) {
        fprintf(stderr, "ltvd migrate: %s\n", err);
        return 1;
    }
    int applied = 0;
    int rc = store_migrate_report(db, dir, &applied, print_applied, NULL);
    store_mode m;
    if (rc != 0 && store_mode_get(db, &m) == 0 && (m.in_recovery || m.read_only))
        fprintf(stderr,
                "ltvd migrate: the database does not take writes (%s): run it "
                "against the primary\n",
                m.in_recovery ? "a streaming replica, in recovery"
                              : "a read-only session");
    else if (rc != 0)
        fprintf(stderr, "ltvd migrate: %s\n", store_db_error(db));
    else if (applied == 0)
        puts("migrations: up to date");
    else
        printf("migrations: %d applied\n", applied);
    store_db_close(db);
    return rc == 0 ? 0 : 1;
}
