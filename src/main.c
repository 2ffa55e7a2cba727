/* ltvd entry point: dispatches to the sub-commands, and answers --version,
 * help and unknown commands itself. */
#include <gsl/gsl_errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_options.h"
#include "ingest/json_arena.h"

/* The one version string: the VERSION file, passed in by the Makefile. */
#ifndef LTVD_VERSION
#define LTVD_VERSION "unknown"
#endif

static const char usage[] =
    "usage: ltvd COMMAND [OPTIONS]\n"
    "  ltvd fit     --model MODEL [OPTIONS] (--transactions FILE | --summary FILE)\n"
    "               fit a model on a CSV, print the fit as JSON\n"
    "  ltvd score   --model MODEL [--params FILE] [--spend-model gg] --horizon T\n"
    "               [OPTIONS] (--transactions FILE | --summary FILE)\n"
    "               per-customer P(alive), purchases, spend and CLV as CSV\n"
    "  ltvd backtest --model MODEL [--spend-model gg] --transactions FILE\n"
    "               --calibration-end DATE [--holdout-end DATE] [--period day|week]\n"
    "               calibration/holdout back-test of a model, printed as JSON\n"
    "  ltvd serve   [--config FILE]   the HTTP service (config/ltvd.conf, LTVD_*)\n"
    "  ltvd migrate                   apply migrations/ to $DATABASE_URL\n"
    "  ltvd import  [--batch N] [--dry-run] [--tenant T] FILE\n"
    "               backfill a transactions CSV\n"
    "  ltvd key     create --scopes SCOPES [--name NAME] [--tenant T] | list\n"
    "               | revoke KEY_ID\n"
    "  ltvd tenant  create ID [--settings JSON] | list | show ID\n"
    "               | update ID --settings JSON | delete ID --yes\n"
    "  ltvd retention --model sbg|bdw (--survivors N0,N1,... | --cohorts FILE)\n"
    "               [--horizon H] [--discount-rate D]\n"
    "               fit a subscription retention model, print it and DERL as JSON\n"
    "  ltvd acquisition --transactions FILE [--attributes FILE] [--spend FILE] ...\n"
    "  ltvd cohorts --transactions FILE [--by month] ...\n"
    "  ltvd --version                 print the version\n"
    "MODEL: bgnbd, pareto, mbgnbd, bgbb, gg. `ltvd COMMAND --help` shows a\n"
    "command's options; docs/cli.md is the guide.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    int score; /* fit (0) or score (1) share one option parser; -1 for others */
} command;

static const command commands[] = {
    {"fit", cli_fit_main, 0},
    {"score", cli_score_main, 1},
    {"serve", cli_serve_main, -1},
    {"migrate", cli_migrate_main, -1},
    {"import", cli_import_main, -1},
    {"key", cli_key_main, -1},
    {"tenant", cli_tenant_main, -1},
    {"acquisition", cli_acquisition_main, -1},
    {"cohorts", cli_acquisition_main, -1},
    {"retention", cli_retention_main, -1},
    {"backtest", cli_backtest_main, -1},
};

static bool is_any(const char *s, const char *a, const char *b, const char *c)
{
    return strcmp(s, a) == 0 || strcmp(s, b) == 0 || strcmp(s, c) == 0;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    ingest_json_arena_init();
    if (argc < 2) {
        fprintf(stderr, "ltvd: missing command\n%s", usage);
        return 2;
    }
    const char *name = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const command *c = &commands[i];
        if (strcmp(name, c->name) != 0)
            continue;
        /* fit and score: --help is answered here, before any other check */
        if (c->score >= 0 && cli_options_help_requested(argc - 1, argv + 1)) {
            fputs(cli_options_usage(c->score == 1), stdout);
            return 0;
        }
        return c->run(argc - 1, argv + 1);
    }
    if (is_any(name, "--version", "-V", "version")) {
        puts("ltvd " LTVD_VERSION);
        return 0;
    }
    if (is_any(name, "--help", "-h", "help")) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "ltvd: unknown command '%s'\n%s", name, usage);
    return 2;
}
