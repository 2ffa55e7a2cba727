/* `ltvd tenant create|list|show|update|delete`: the tenants of the service,
 * straight in the tenants table of DATABASE_URL (pending migrations are
 * applied first), by the rules of /v1/tenants: settings are checked by
 * app_tenant_cfg_make over the configuration (--config FILE, LTVD_*), an
 * update merges (null removes) and cannot change as_of, the tenant default
 * cannot be deleted. Every change is announced on the snapshot channel by
 * the store, so running servers follow within cache_sync_ms. Exit 0 on
 * success, 1 when the database fails or the tenant is unknown (or taken),
 * 2 on a usage error (bad id, bad settings, delete without --yes). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/tenant.h"
#include "app/tenant_admin.h"
#include "app/tenants.h"
#include "cli/cli.h"
#include "cli/cli_data.h"
#include "cli/cli_db.h"
#include "config/config.h"
#include "store/tenants.h"

static const char tenant_usage[] =
    "usage: ltvd tenant create ID [--settings JSON]\n"
    "       ltvd tenant list\n"
    "       ltvd tenant show ID\n"
    "       ltvd tenant update ID --settings JSON\n"
    "       ltvd tenant delete ID --yes\n"
    "  ID          a tenant id: [a-z0-9][a-z0-9_-]{0,62}\n"
    "  JSON        an object of tenant settings: model, period, as_of,\n"
    "              churn_medium_below, churn_high_below, horizon_days,\n"
    "              discount_rate, margin, lifecycle_new_days,\n"
    "              lifecycle_established_repeats (as in the configuration),\n"
    "              currency (ISO 4217); update merges: a value sets, null\n"
    "              removes; as_of is fixed when the tenant is created\n"
    "  --yes       delete erases every transaction, snapshot and key of the\n"
    "              tenant, for good: refused without --yes; the tenant default\n"
    "              cannot be deleted\n"
    "  --config FILE  (any sub-command) the configuration settings are checked\n"
    "              over, as the servers' (default config/ltvd.conf; LTVD_*)\n"
    "create, show and update print the tenant as JSON (id, settings, effective,\n"
    "created_at, updated_at); list prints ID SETTINGS CREATED UPDATED as TSV.\n"
    "Running servers follow a change within cache_sync_ms. DATABASE_URL names the\n"
    "database; pending migrations (LTVD_MIGRATIONS_DIR, default migrations) are\n"
    "applied first.\n";

static int usage_error(const char *why)
{
    fprintf(stderr, "ltvd tenant: %s\n%s", why, tenant_usage);
    return 2;
}

/* ------------------------------------------------------------- arguments */

enum { OPT_SETTINGS = 1, OPT_YES = 2 };

typedef struct targs {
    const char *cmd;
    const char *id;       /* NULL for list */
    const char *settings; /* --settings, or NULL */
    const char *config;   /* --config */
    bool yes;
} targs;

/* Parses the options of sub-command argv[0] (those in `allowed` and
 * --config) and its ID when want_id. Returns 0, or 2 after printing why. */
static int parse(int argc, char **argv, unsigned allowed, bool want_id, targs *a)
{
    static const struct option opts[] = {{"settings", required_argument, NULL, 's'},
                                         {"yes", no_argument, NULL, 'y'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    *a = (targs){argv[0], NULL, NULL, CONFIG_DEFAULT_PATH, false};
    char why[128];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's' && (allowed & OPT_SETTINGS) != 0) {
            a->settings = optarg;
        } else if (c == 'y' && (allowed & OPT_YES) != 0) {
            a->yes = true;
        } else if (c == 'c') {
            a->config = optarg;
        } else {
            snprintf(why, sizeof why, "bad option for %s", a->cmd);
            return usage_error(why);
        }
    }
    if (argc - optind != (want_id ? 1 : 0)) {
        snprintf(why, sizeof why, "%s takes %s", a->cmd,
                 want_id ? "one ID" : "no arguments");
        return usage_error(why);
    }
    if (want_id) {
        a->id = argv[optind];
        if (!app_tenant_id_ok(a->id)) {
            fprintf(
                stderr,
                "ltvd tenant: '%.80s%s' is not a tenant id: [a-z0-9][a-z0-9_-]{0,62}\n",
                a->id, strlen(a->id) > 80 ? "..." : "");
            return 2;
        }
    }
    return 0;
}

/* The configuration of a->config with LTVD_* over it. False after saying
 * why. */
static bool load_config(const targs *a, ltvd_config *cfg)
{
    char err[CONFIG_ERR_MAX];
    if (config_load(cfg, a->config, err))
        return true;
    fprintf(stderr, "ltvd tenant: %s\n", err);
    return false;
}

/* --settings parsed: a JSON object (new reference), or NULL after saying
 * why. */
static json_t *parse_settings(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (json_is_object(j))
        return j;
    if (j == NULL)
        fprintf(stderr, "ltvd tenant: --settings: not JSON: %s (column %d)\n", jerr.text,
                jerr.column);
    else
        fputs("ltvd tenant: --settings: must be a JSON object\n", stderr);
    json_decref(j);
    return NULL;
}

/* One line per bad setting of errors (app_tenant_cfg_make's). */
static void print_errors(json_t *errors)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        if (field == NULL || strcmp(field, "settings") == 0)
            fprintf(stderr, "ltvd tenant: --settings: %s\n", reason ? reason : "invalid");
        else
            fprintf(stderr, "ltvd tenant: --settings: %s: %s\n", field,
                    reason ? reason : "invalid");
    }
}

/* ----------------------------------------------------------- the output */

/* Whether every number of j prints exactly with 15 significant digits
 * (0.3, not 0.29999999999999999). */
static bool reals_short(json_t *j)
{
    const char *k;
    size_t i;
    json_t *v;
    if (json_is_real(j)) {
        char b[40];
        snprintf(b, sizeof b, "%.15g", json_real_value(j));
        return strtod(b, NULL) == json_real_value(j);
    }
    json_object_foreach(j, k, v)
    {
        if (!reals_short(v))
            return false;
    }
    json_array_foreach(j, i, v)
    {
        if (!reals_short(v))
            return false;
    }
    return true;
}

/* j as text (free it), numbers as short as they stay exact: 0.3 is stored
 * and shown as 0.3 (the same double as jansson's 0.29999999999999999). */
static char *dump(json_t *j, size_t flags)
{
    return json_dumps(j, flags | JSON_REAL_PRECISION(reals_short(j) ? 15 : 17));
}

static void utc_text(double t, char out[32])
{
    time_t s = (time_t)t;
    struct tm tm;
    if (gmtime_r(&s, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "-");
}

/* A tenant row, copied out of the store's callback. */
typedef struct row_copy {
    bool found;
    char *settings;
    double created_at, updated_at;
} row_copy;

static int copy_row(const store_tenant *t, void *arg)
{
    row_copy *r = arg;
    r->found = true;
    r->settings = strdup(t->settings_json);
    r->created_at = t->created_at;
    r->updated_at = t->updated_at;
    return r->settings != NULL ? 0 : 1;
}

/* Reads tenant id into r. Returns 0, or the exit status 1 after saying why
 * (no such tenant, the database failed, out of memory). */
static int read_row(store_db *db, const char *id, row_copy *r)
{
    *r = (row_copy){0};
    int rc = store_tenant_get(db, id, copy_row, r);
    if (rc == 0 && r->settings != NULL)
        return 0;
    if (rc < 0)
        fprintf(stderr, "ltvd tenant: %s\n", store_db_error(db));
    else if (!r->found)
        fprintf(stderr, "ltvd tenant: no tenant %s (ltvd tenant list shows them)\n", id);
    else
        fputs("ltvd tenant: out of memory\n", stderr);
    free(r->settings);
    r->settings = NULL;
    return 1;
}

/* The settings of stored (a JSON object) over base, into *cfg; settings a
 * server would not use (written by hand, or checked over another
 * configuration) are reported and replaced by none, as a server does.
 * False when out of memory. */
static bool stored_cfg(const ltvd_config *base, const char *id, json_t *stored,
                       app_tenant_cfg *cfg)
{
    json_t *errors = json_array();
    bool ok = stored != NULL && app_tenant_cfg_make(base, stored, cfg, errors);
    if (!ok) {
        char *e = errors != NULL ? json_dumps(errors, JSON_COMPACT) : NULL;
        fprintf(stderr,
                "ltvd tenant: %s: the stored settings are not valid over this "
                "configuration (a server uses none of them): %s\n",
                id, e != NULL ? e : "unreadable");
        free(e);
        json_t *none = json_object();
        ok = none != NULL && app_tenant_cfg_make(base, none, cfg, NULL);
        json_decref(none);
    }
    json_decref(errors);
    return ok;
}

/* Prints tenant id (read back from the database) as a JSON document.
 * Returns the exit status. */
static int print_tenant(store_db *db, const ltvd_config *base, const char *id)
{
    row_copy r;
    if (read_row(db, id, &r) != 0)
        return 1;
    json_t *stored = json_loads(r.settings, 0, NULL);
    app_tenant_cfg cfg = {0};
    int status = 1;
    char created[32], updated[32];
    utc_text(r.created_at, created);
    utc_text(r.updated_at, updated);
    json_t *doc = NULL;
    if (stored_cfg(base, id, stored, &cfg))
        doc = json_pack("{s:s, s:O, s:o, s:s, s:s}", "id", id, "settings",
                        stored != NULL ? stored : cfg.settings, "effective",
                        app_tenant_cfg_effective(&cfg), "created_at", created,
                        "updated_at", updated);
    char *text = doc != NULL ? dump(doc, JSON_INDENT(2)) : NULL;
    if (text != NULL) {
        puts(text);
        status = cli_flush_stdout("tenant");
    } else {
        fputs("ltvd tenant: out of memory\n", stderr);
    }
    free(text);
    json_decref(doc);
    json_decref(cfg.settings);
    json_decref(stored);
    free(r.settings);
    return status;
}

/* -------------------------------------------------------- the commands */

static int tenant_create(int argc, char **argv)
{
    targs a;
    int status = parse(argc, argv, OPT_SETTINGS, true, &a);
    if (status != 0)
        return status;
    ltvd_config base;
    if (!load_config(&a, &base))
        return 2;
    json_t *settings = parse_settings(a.settings != NULL ? a.settings : "{}");
    if (settings == NULL)
        return 2;
    json_t *errors = json_array();
    app_tenant_cfg cfg = {0};
    char *text = NULL;
    store_db *db = NULL;
    status = 2;
    if (!app_tenant_cfg_make(&base, settings, &cfg, errors)) {
        print_errors(errors);
        goto cleanup;
    }
    status = 1;
    if ((text = dump(cfg.settings, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
        (db = cli_db_open("tenant", base.database_url, NULL)) == NULL)
        goto cleanup;
    int rc = store_tenant_create(db, a.id, text);
    if (rc == 0) {
        status = print_tenant(db, &base, a.id);
        fprintf(stderr,
                "ltvd tenant: created %s; running servers serve it within "
                "cache_sync_ms\n",
                a.id);
    } else if (rc == 1) {
        fprintf(stderr, "ltvd tenant: a tenant %s exists already\n", a.id);
    } else {
        fprintf(stderr, "ltvd tenant: %s\n", store_db_error(db));
    }
cleanup:
    store_db_close(db);
    free(text);
    json_decref(cfg.settings);
    json_decref(errors);
    json_decref(settings);
    return status;
}

static int print_row(const store_tenant *t, void *arg)
{
    (void)arg;
    json_t *s = json_loads(t->settings_json, 0, NULL);
    char *text = s != NULL ? dump(s, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char created[32], updated[32];
    utc_text(t->created_at, created);
    utc_text(t->updated_at, updated);
    printf("%s\t%s\t%s\t%s\n", t->id, text != NULL ? text : t->settings_json, created,
           updated);
    free(text);
    json_decref(s);
    return 0;
}

static int tenant_list(int argc, char **argv)
{
    targs a;
    int status = parse(argc, argv, 0, false, &a);
    if (status != 0)
        return status;
    ltvd_config base;
    if (!load_config(&a, &base))
        return 2;
    store_db *db = cli_db_open("tenant", base.database_url, NULL);
    if (db == NULL)
        return 1;
    printf("ID\tSETTINGS\tCREATED\tUPDATED\n");
    int rc = store_tenants_page(db, "", 0, print_row, NULL);
    if (rc != 0)
        fprintf(stderr, "ltvd tenant: %s\n", store_db_error(db));
    store_db_close(db);
    return rc == 0 ? cli_flush_stdout("tenant") : 1;
}

static int tenant_show(int argc, char **argv)
{
    targs a;
    int status = parse(argc, argv, 0, true, &a);
    if (status != 0)
        return status;
    ltvd_config base;
    if (!load_config(&a, &base))
        return 2;
    store_db *db = cli_db_open("tenant", base.database_url, NULL);
    if (db == NULL)
        return 1;
    status = print_tenant(db, &base, a.id);
    store_db_close(db);
    return status;
}

/* The merge of PATCH /v1/tenants/{tenant} (app_tenant_update): changes
 * over the settings in force cur, checked over base, as_of unchanged. The
 * new settings in *out, or false after saying why. */
static bool merge(const ltvd_config *base, const app_tenant_cfg *cur, json_t *changes,
                  app_tenant_cfg *out)
{
    json_t *merged = json_deep_copy(cur->settings), *errors = json_array();
    const char *name;
    json_t *v;
    bool ok = false;
    if (merged == NULL || errors == NULL) {
        fputs("ltvd tenant: out of memory\n", stderr);
        goto cleanup;
    }
    json_object_foreach(changes, name, v)
    {
        if (json_is_null(v))
            json_object_del(merged, name);
        else
            json_object_set(merged, name, v);
    }
    if (!app_tenant_cfg_make(base, merged, out, errors)) {
        print_errors(errors);
        goto cleanup;
    }
    if (cur->config.has_as_of != out->config.has_as_of ||
        (cur->config.has_as_of && cur->config.as_of_day != out->config.as_of_day)) {
        fputs("ltvd tenant: --settings: as_of: cannot change: it is fixed when the "
              "tenant is created (create another tenant)\n",
              stderr);
        json_decref(out->settings);
        out->settings = NULL;
        goto cleanup;
    }
    ok = true;
cleanup:
    json_decref(merged);
    json_decref(errors);
    return ok;
}

static int tenant_update(int argc, char **argv)
{
    targs a;
    int status = parse(argc, argv, OPT_SETTINGS, true, &a);
    if (status != 0)
        return status;
    if (a.settings == NULL)
        return usage_error("update needs --settings");
    ltvd_config base;
    if (!load_config(&a, &base))
        return 2;
    json_t *changes = parse_settings(a.settings), *stored = NULL;
    if (changes == NULL)
        return 2;
    app_tenant_cfg cur = {0}, next = {0};
    row_copy r = {0};
    char *text = NULL;
    status = 1;
    store_db *db = cli_db_open("tenant", base.database_url, NULL);
    if (db == NULL || read_row(db, a.id, &r) != 0)
        goto cleanup;
    stored = json_loads(r.settings, 0, NULL);
    if (!stored_cfg(&base, a.id, stored, &cur))
        goto cleanup;
    if (!merge(&base, &cur, changes, &next)) {
        status = 2;
        goto cleanup;
    }
    if ((text = dump(next.settings, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        goto cleanup;
    int rc = store_tenant_update(db, a.id, text);
    if (rc == 0)
        status = print_tenant(db, &base, a.id);
    else if (rc == 1)
        fprintf(stderr, "ltvd tenant: no tenant %s (deleted meanwhile)\n", a.id);
    else
        fprintf(stderr, "ltvd tenant: %s\n", store_db_error(db));
cleanup:
    store_db_close(db);
    free(text);
    free(r.settings);
    json_decref(cur.settings);
    json_decref(next.settings);
    json_decref(stored);
    json_decref(changes);
    return status;
}

static int tenant_delete(int argc, char **argv)
{
    targs a;
    int status = parse(argc, argv, OPT_YES, true, &a);
    if (status != 0)
        return status;
    if (strcmp(a.id, STORE_TENANT_DEFAULT) == 0) {
        fputs("ltvd tenant: the tenant default (the unprefixed /v1 paths) cannot be "
              "deleted\n",
              stderr);
        return 2;
    }
    if (!a.yes) {
        fprintf(stderr,
                "ltvd tenant: delete erases every transaction, model snapshot and key "
                "of tenant %s, for good: add --yes to do it\n",
                a.id);
        return 2;
    }
    ltvd_config base;
    if (!load_config(&a, &base))
        return 2;
    store_db *db = cli_db_open("tenant", base.database_url, NULL);
    if (db == NULL)
        return 1;
    int rc = store_tenant_delete(db, a.id);
    if (rc == 0)
        fprintf(stderr, "ltvd tenant: deleted %s and everything it held\n", a.id);
    else if (rc == 1)
        fprintf(stderr, "ltvd tenant: no tenant %s (ltvd tenant list shows them)\n",
                a.id);
    else
        fprintf(stderr, "ltvd tenant: %s\n", store_db_error(db));
    store_db_close(db);
    return rc == 0 ? 0 : 1;
}

/* True when argv (after the sub-command) asks for -h or --help. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

int cli_tenant_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } cmds[] = {{"create", tenant_create},
                {"list", tenant_list},
                {"show", tenant_show},
                {"update", tenant_update},
                {"delete", tenant_delete}};
    if (argc < 2)
        return usage_error("missing sub-command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || wants_help(argc, argv)) {
        fputs(tenant_usage, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    return usage_error("unknown sub-command");
}
