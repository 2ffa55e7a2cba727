/* `ltvd key create|list|revoke`: the API keys of the HTTP service, in the
 * api_keys table of DATABASE_URL (pending migrations are applied first).
 * create prints the new token alone on stdout, the only time it is ever
 * shown; only its SHA-256 is stored. Exit 0 on success, 1 when the
 * database fails or the key does not exist, 2 on a usage error. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tenants.h"
#include "auth/auth_store.h"
#include "auth/auth_token.h"
#include "cli/cli.h"
#include "cli/cli_db.h"
#include "store/db.h"

#define NAME_MAX_BYTES 64

static const char key_usage[] =
    "usage: ltvd key create --scopes SCOPES [--name NAME] [--tenant TENANT]\n"
    "       ltvd key list\n"
    "       ltvd key revoke KEY_ID\n"
    "  SCOPES  comma-separated: ingest (POST transactions), read (GET customers,\n"
    "          model, segments), admin (refit, customer erasure), platform (the\n"
    "          tenants: /v1/tenants); a private /metrics takes read or admin\n"
    "  NAME    a label for the list (printable, at most 64 bytes, no tab)\n"
    "  TENANT  the tenant the key may address (default: default); '*' makes a\n"
    "          platform key, for every tenant (the only kind that may hold platform)\n"
    "create prints the token (Authorization: Bearer <token>) alone on stdout: it\n"
    "is shown this once and stored only as a hash. A running server accepts a new\n"
    "key within a second and refuses a revoked one within 5 seconds.\n"
    "DATABASE_URL names the database; pending migrations (LTVD_MIGRATIONS_DIR,\n"
    "default migrations) are applied first.\n";

/* True when argv (after the sub-command) asks for -h or --help. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

static int usage_error(const char *why)
{
    fprintf(stderr, "ltvd key: %s\n%s", why, key_usage);
    return 2;
}

/* Connects and migrates. NULL after printing why. */
static store_db *open_db(void)
{
    return cli_db_open("key", getenv("DATABASE_URL"), NULL);
}

static bool name_ok(const char *name)
{
    if (strlen(name) > NAME_MAX_BYTES)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* ---------------------------------------------------------------- create */

/* Draws tokens until one's key id is free (a clash of 48 random bits is
 * all but impossible, but costs nothing to handle). */
static int create_key(store_db *db, const char *name, unsigned scopes, const char *tenant)
{
    char token[AUTH_TOKEN_LEN + 1], key_id[AUTH_KEY_ID_LEN + 1];
    unsigned char hash[AUTH_HASH_LEN];
    int rc = 1;
    for (int attempt = 0; attempt < 5 && rc == 1; attempt++) {
        if (auth_token_new(token, key_id) != 0 ||
            auth_token_hash(token, strlen(token), hash) != 0) {
            fputs("ltvd key: no random bytes or no SHA-256 available\n", stderr);
            rc = -1;
            break;
        }
        rc = auth_store_create(db, key_id, name, hash, scopes, tenant);
    }
    if (rc == 0) {
        printf("%s\n", token);
        fprintf(stderr, "ltvd key: created key %s; the token above is not shown again\n",
                key_id);
    } else if (rc > 0 || rc < 0) {
        fprintf(stderr, "ltvd key: %s\n", rc > 0 ? "no free key id" : store_db_error(db));
    }
    explicit_bzero(token, sizeof token);
    return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

static int key_create(int argc, char **argv)
{
    static const struct option opts[] = {{"scopes", required_argument, NULL, 's'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"tenant", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    const char *scope_text = NULL, *name = "", *tenant = STORE_TENANT_DEFAULT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            scope_text = optarg;
        else if (c == 'n')
            name = optarg;
        else if (c == 't')
            tenant = optarg;
        else
            return usage_error("bad option for create");
    }
    if (optind < argc)
        return usage_error("create takes no arguments besides its options");
    if (scope_text == NULL)
        return usage_error("create needs --scopes");
    int scopes = auth_scopes_parse(scope_text);
    if (scopes < 0)
        return usage_error(
            "--scopes: a comma-separated list of ingest, read, admin, platform");
    bool any = strcmp(tenant, AUTH_TENANT_ANY) == 0;
    if (!any && !app_tenant_id_ok(tenant))
        return usage_error("--tenant: a tenant id ([a-z0-9][a-z0-9_-]{0,62}) or '*'");
    if ((scopes & AUTH_SCOPE_PLATFORM) != 0 && !any)
        return usage_error("--scopes platform needs --tenant '*' (a platform key)");
    if (!name_ok(name))
        return usage_error("--name: printable, at most 64 bytes");
    store_db *db = open_db();
    if (db == NULL)
        return 1;
    /* a key for a tenant to come would open it to whoever creates it */
    if (!any && !cli_db_tenant_exists("key", db, tenant, ": no key created")) {
        store_db_close(db);
        return 1;
    }
    int rc = create_key(db, name, (unsigned)scopes, tenant);
    store_db_close(db);
    return rc;
}

/* ---------------------------------------------------------- list, revoke */

static int print_key(const auth_key_info *k, void *arg)
{
    (void)arg;
    printf("%s\t%s\t%s\t%s\t%s\t%s\n", k->key_id, k->name, k->scopes, k->created,
           k->revoked != NULL ? k->revoked : "-", k->tenant);
    return 0;
}

static int key_list(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return usage_error("list takes no arguments");
    store_db *db = open_db();
    if (db == NULL)
        return 1;
    printf("ID\tNAME\tSCOPES\tCREATED\tREVOKED\tTENANT\n");
    int rc = auth_store_list(db, print_key, NULL);
    if (rc != 0)
        fprintf(stderr, "ltvd key: %s\n", store_db_error(db));
    store_db_close(db);
    return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

static int key_revoke(int argc, char **argv)
{
    if (argc != 2)
        return usage_error("revoke takes one KEY_ID (see ltvd key list)");
    const char *id = argv[1];
    /* a whole token is accepted too: its key id is what counts */
    char parsed[AUTH_KEY_ID_LEN + 1];
    if (auth_token_parse(id, strlen(id), parsed))
        id = parsed;
    store_db *db = open_db();
    if (db == NULL)
        return 1;
    int rc = auth_store_revoke(db, id);
    if (rc == 0)
        fprintf(stderr, "ltvd key: revoked %s\n", id);
    else if (rc == 1)
        fprintf(stderr, "ltvd key: %s was revoked already\n", id);
    else if (rc == 2)
        fprintf(stderr, "ltvd key: no key %.*s\n", AUTH_KEY_ID_LEN, id);
    else
        fprintf(stderr, "ltvd key: %s\n", store_db_error(db));
    store_db_close(db);
    return rc == 0 || rc == 1 ? 0 : 1;
}

int cli_key_main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing sub-command");
    const char *cmd = argv[1];
    /* `key -h`, `key create --help`...: any -h or --help asks for this text */
    if (strcmp(cmd, "help") == 0 || wants_help(argc, argv)) {
        fputs(key_usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "create") == 0)
        return key_create(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0)
        return key_list(argc - 1, argv + 1);
    if (strcmp(cmd, "revoke") == 0)
        return key_revoke(argc - 1, argv + 1);
    return usage_error("unknown sub-command");
}
