/* ltvd entry point: dispatches to the sub-commands. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ingest/json_arena.h"

static const char usage[] =
    "usage:\n"
    "  ltvd fit   --model MODEL [OPTIONS] (--transactions FILE | --summary FILE)\n"
    "  ltvd score --model MODEL [--params FILE] [--spend-model gg [--spend-params FILE]]\n"
    "             --horizon T [OPTIONS] (--transactions FILE | --summary FILE)\n"
    "  ltvd serve [--config FILE]   (HTTP service; config/ltvd.conf, LTVD_* overrides)\n"
    "  ltvd migrate   (applies migrations/ or $LTVD_MIGRATIONS_DIR to $DATABASE_URL)\n"
    "  ltvd import [--batch N] [--dry-run] FILE   (backfill a transactions CSV into\n"
    "             $DATABASE_URL; - for stdin; see ltvd import --help)\n"
    "  ltvd key create --scopes ingest,read,admin [--name NAME] | list | revoke ID\n"
    "             (API keys of the service in $DATABASE_URL; see ltvd key help)\n"
    "MODEL: bgnbd, pareto, mbgnbd, bgbb, gg\n"
    "OPTIONS: --period day|week (default day)  --as-of YYYY-MM-DD (default: last day)\n"
    "         --penalizer C  --discount-rate D (per month, default 0.01)\n"
    "         --margin M (default 1)  --clv-months N (default 12)\n";

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    ingest_json_arena_init();
    if (argc >= 2 && strcmp(argv[1], "fit") == 0)
        return cli_fit_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "score") == 0)
        return cli_score_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return cli_serve_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return cli_migrate_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return cli_import_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "key") == 0)
        return cli_key_main(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    fputs(usage, stderr);
    return 2;
}
