/* Running the ltvd binary under test (LTVD_BIN, else ./ltvd) through the
 * shell with its standard output and error captured, for the suites that
 * test the command line (cli, import). Failures are check assertions. */
#ifndef LTVD_TESTS_TESTRUN_H
#define LTVD_TESTS_TESTRUN_H

#include <jansson.h>

typedef struct testrun_out {
    char *out;  /* stdout, NUL-terminated, malloc'd */
    char *err;  /* stderr, likewise */
    int status; /* the shell's exit code, -1 when it did not exit */
} testrun_out;

/* Runs the shell text cmd, in which $LTVD names the binary, capturing the
 * whole command's stdout and stderr (a redirection inside cmd wins). Free
 * the result with testrun_free. */
testrun_out testrun_sh(const char *cmd);

/* Frees r->out and r->err (r itself is the caller's). */
void testrun_free(testrun_out *r);

/* Runs `$LTVD args` (testrun_sh), asserts it exits 0 and prints one JSON
 * document, and returns that (the caller json_decref's it). */
json_t *testrun_json(const char *args);

#endif
