/* The service's database for the store commands (see cli_db.h). */
#include "cli/cli_db.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/migrate.h"
#include "store/tenants.h"

store_db *cli_db_open(const char *who, const char *url, int *applied)
{
    const char *dir = getenv("LTVD_MIGRATIONS_DIR");
    char err[STORE_ERR_MAX];
    int n = 0;
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "ltvd %s: DATABASE_URL is not set\n", who);
        return NULL;
    }
    store_db *db = store_db_open(url, err);
    if (db == NULL) {
        fprintf(stderr, "ltvd %s: %s\n", who, err);
        return NULL;
    }
    if (store_migrate(db, dir != NULL && dir[0] != '\0' ? dir : "migrations", &n) != 0) {
        fprintf(stderr, "ltvd %s: %s\n", who, store_db_error(db));
        store_db_close(db);
        return NULL;
    }
    if (applied != NULL)
        *applied = n;
    return db;
}

static int found(const store_tenant *t, void *arg)
{
    (void)t;
    (void)arg;
    return 0;
}

bool cli_db_tenant_exists(const char *who, store_db *db, const char *tenant,
                          const char *then)
{
    int rc = store_tenant_get(db, tenant, found, NULL);
    if (rc > 0)
        fprintf(stderr, "ltvd %s: no tenant %s (ltvd tenant create %s makes it)%s\n", who,
                tenant, tenant, then);
    else if (rc < 0)
        fprintf(stderr, "ltvd %s: %s\n", who, store_db_error(db));
    return rc == 0;
}
