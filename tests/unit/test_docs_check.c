/* The docs check itself (scripts/docs_check.sh): it runs ```sh blocks and
 * fails when one fails, carries variables from block to block, skips
 * ```text, refuses unlabelled and ```console blocks and broken relative
 * links. Markdown files are written to a temporary directory; none of these
 * needs a server or a database. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testrun.h"

/* Writes text to a new temporary .md file; its path goes to path. */
static void write_md(char *path, size_t size, const char *text)
{
    char tmpl[] = "/tmp/ltvd_docs_mdXXXXXX";
    int fd = mkstemp(tmpl);
    ck_assert(fd >= 0);
    close(fd);
    unlink(tmpl);
    snprintf(path, size, "%s.md", tmpl);
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Runs the docs check on one markdown text; returns its exit status and
 * leaves its stderr in err (size bytes). */
static int check_md(const char *text, char *err, size_t size)
{
    char path[64], cmd[256];
    write_md(path, sizeof path, text);
    /* LTVD_MODEL: an LTVD_* variable of the caller, which the blocks must not see */
    snprintf(cmd, sizeof cmd,
             "LTVD_MODEL=pareto LTVD_BIN=\"$LTVD\" scripts/docs_check.sh %s", path);
    testrun_out r = testrun_sh(cmd);
    snprintf(err, size, "%s", r.err);
    int status = r.status;
    testrun_free(&r);
    unlink(path);
    return status;
}

START_TEST(test_docs_check_runs_sh_blocks)
{
    char err[4096];
    /* variables carry over; ./ltvd is the binary; text blocks are not run */
    ck_assert_msg(check_md("# ok\n\n```sh\nexport X=1\n./ltvd --version\n```\n\n"
                           "```text\nfalse\n```\n\n```sh\ntest \"$X\" = 1\n```\n",
                           err, sizeof err) == 0,
                  "%s", err);
    /* a failing command fails the check, and says where */
    ck_assert_int_eq(check_md("# bad\n\n```sh\ntrue\nfalse\n```\n", err, sizeof err), 1);
    ck_assert_msg(strstr(err, ".md:4: a command failed") != NULL, "%s", err);
    /* the caller's DATABASE_URL and LTVD_* never reach the blocks */
    ck_assert_msg(check_md("```sh\ntest -z \"${DATABASE_URL:-}\"\n"
                           "test -z \"${LTVD_MODEL:-}\"\n```\n",
                           err, sizeof err) == 0,
                  "%s", err);
}
END_TEST

START_TEST(test_docs_check_refuses_unchecked_looking_blocks)
{
    char err[4096];
    ck_assert_int_eq(check_md("```\nls\n```\n", err, sizeof err), 1);
    ck_assert_msg(strstr(err, "without a language") != NULL, "%s", err);
    ck_assert_int_eq(check_md("```console\n$ ls\n```\n", err, sizeof err), 1);
    ck_assert_msg(strstr(err, "```console") != NULL, "%s", err);
    ck_assert_int_eq(check_md("```sh\ntrue\n", err, sizeof err), 1);
    ck_assert_msg(strstr(err, "never closed") != NULL, "%s", err);
    ck_assert_int_eq(check_md("see [x](no/such/file.md)\n", err, sizeof err), 1);
    ck_assert_msg(strstr(err, "no/such/file.md") != NULL, "%s", err);
}
END_TEST

Suite *suite_docs_check(void)
{
    Suite *s = suite_create("docs_check");
    TCase *tc = tcase_create("script");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_docs_check_runs_sh_blocks);
    tcase_add_test(tc, test_docs_check_refuses_unchecked_looking_blocks);
    suite_add_tcase(s, tc);
    return s;
}
