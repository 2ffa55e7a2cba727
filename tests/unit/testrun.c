/* Running the ltvd binary and capturing its output (see testrun.h). */
#include "testrun.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testserve.h"

/* The whole of path, NUL-terminated (malloc'd); a check failure when it
 * cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    ck_assert(buf != NULL);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            buf = realloc(buf, cap *= 2);
            ck_assert(buf != NULL);
        }
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

testrun_out testrun_sh(const char *cmd)
{
    char out_path[] = "/tmp/ltvd_run_outXXXXXX", err_path[] = "/tmp/ltvd_run_errXXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    ck_assert(fo >= 0 && fe >= 0);
    close(fo);
    close(fe);
    setenv("LTVD", testserve_bin(), 1);
    char full[4096];
    int len = snprintf(full, sizeof full, "{ %s ; } >%s 2>%s", cmd, out_path, err_path);
    ck_assert_msg(len > 0 && (size_t)len < sizeof full, "command too long: %s", cmd);
    int st = system(full);
    testrun_out r = {slurp(out_path), slurp(err_path),
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1};
    unlink(out_path);
    unlink(err_path);
    return r;
}

void testrun_free(testrun_out *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

json_t *testrun_json(const char *args)
{
    char cmd[1024];
    ck_assert_msg(snprintf(cmd, sizeof cmd, "$LTVD %s", args) < (int)sizeof cmd,
                  "arguments too long: %s", args);
    testrun_out r = testrun_sh(cmd);
    ck_assert_msg(r.status == 0, "ltvd %s: status %d: %s", args, r.status, r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_msg(j != NULL, "ltvd %s: not JSON (%s)", args, e.text);
    testrun_free(&r);
    return j;
}
