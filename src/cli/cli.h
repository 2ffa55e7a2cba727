/* The sub-commands of the ltvd binary. Each takes argv with argv[0] the
 * sub-command name and returns the process exit status. */
#ifndef LTVD_CLI_H
#define LTVD_CLI_H

int cli_fit_main(int argc, char **argv);
int cli_score_main(int argc, char **argv);
int cli_serve_main(int argc, char **argv);
int cli_migrate_main(int argc, char **argv);
int cli_import_main(int argc, char **argv);
int cli_key_main(int argc, char **argv);
int cli_tenant_main(int argc, char **argv);
int cli_retention_main(int argc, char **argv);
/* `ltvd backtest`: calibration/holdout back-test of a purchase model. */
int cli_backtest_main(int argc, char **argv);
/* `ltvd acquisition` and `ltvd cohorts` (argv[0] says which). */
int cli_acquisition_main(int argc, char **argv);

#endif
