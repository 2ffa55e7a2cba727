/* The CSV reader on RFC 4180 corner cases: quotes, embedded separators and
 * newlines, CRLF, a byte order mark, blank lines, no final newline, and the
 * syntax errors with their line numbers; a file read whole (csv_open) and a
 * stream (csv_open_stream) agree on all of them. Inputs are written to temp
 * files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "summary/csv.h"

/* Writes len bytes to a new temp file; its name goes to path (64 bytes). */
static void write_temp(char path[64], const char *text, size_t len)
{
    strcpy(path, "/tmp/ltvd_csv_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Reads the whole file; expects `want` records, whose fields joined by '|'
 * and records by ';' make `joined`. */
static void expect_records(const char *text, size_t len, const char *joined,
                           const long *lines)
{
    char path[64], err[512], got[4096] = "";
    write_temp(path, text, len);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    int rc, k = 0;
    while ((rc = csv_next(r, err, sizeof err)) == 1) {
        if (k > 0)
            strcat(got, ";");
        for (size_t i = 0; i < csv_count(r); i++) {
            if (i > 0)
                strcat(got, "|");
            strcat(got, csv_field(r, i));
        }
        if (lines != NULL)
            ck_assert_int_eq(csv_line(r), lines[k]);
        k++;
    }
    ck_assert_msg(rc == 0, "csv_next: %s", err);
    ck_assert_str_eq(got, joined);
    csv_close(r);
    unlink(path);
}

#define EXPECT(text, joined, lines) expect_records(text, sizeof text - 1, joined, lines)

START_TEST(test_csv_plain_and_quoted)
{
    static const long lines[] = {1, 2, 3};
    EXPECT("a,b,c\n\"x,1\",\"say \"\"hi\"\"\",\n\"two\nlines\",\"\",z\n",
           "a|b|c;x,1|say \"hi\"|;two\nlines||z", lines);
}
END_TEST

START_TEST(test_csv_crlf_bom_no_final_newline)
{
    static const long lines[] = {1, 2, 3};
    EXPECT("\xEF\xBB\xBFid,v\r\n1,2\r\n3,\"4\r\n5\"", "id|v;1|2;3|4\r\n5", lines);
    EXPECT("a\r\nb", "a;b", NULL);
    EXPECT("a,b", "a|b", NULL);
    EXPECT("\"q\"", "q", NULL);
    EXPECT("\"q\"\r\n", "q", NULL);
}
END_TEST

START_TEST(test_csv_blank_lines_and_empty_fields)
{
    static const long lines[] = {1, 3, 6};
    EXPECT("a\n\nb\r\n\r\n\n,,\n\n", "a;b;||", lines);
    EXPECT("", "", NULL);
    EXPECT("\n\r\n", "", NULL);
    /* a quote inside an unquoted field is kept; a lone CR is data */
    EXPECT("ab\"c,d\re\n", "ab\"c|d\re", NULL);
}
END_TEST

START_TEST(test_csv_find_header)
{
    char path[64], err[512];
    const char text[] = "\xEF\xBB\xBF"
                        "customer_id, amount ,occurred_at\n";
    write_temp(path, text, sizeof text - 1);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(csv_next(r, err, sizeof err), 1);
    ck_assert_int_eq(csv_find(r, "customer_id"), 0);
    ck_assert_int_eq(csv_find(r, "amount"), 1);
    ck_assert_int_eq(csv_find(r, "occurred_at"), 2);
    ck_assert_int_eq(csv_find(r, "id"), -1);
    ck_assert_int_eq(csv_next(r, err, sizeof err), 0);
    ck_assert_int_eq(csv_line(r), 2);
    csv_close(r);
    unlink(path);
}
END_TEST

START_TEST(test_csv_long_field)
{
    size_t n = 200000;
    char *text = malloc(n + 8);
    ck_assert_ptr_nonnull(text);
    memset(text, 'x', n);
    memcpy(text + n, ",\"y\"\n", 6);
    char path[64], err[512];
    write_temp(path, text, n + 5);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(csv_next(r, err, sizeof err), 1);
    ck_assert_uint_eq(csv_count(r), 2);
    ck_assert_uint_eq(strlen(csv_field(r, 0)), n);
    ck_assert_str_eq(csv_field(r, 1), "y");
    csv_close(r);
    unlink(path);
    free(text);
}
END_TEST

/* Each case: input, then what the error must contain after "PATH:". */
static const struct {
    const char *text;
    size_t len;
    const char *want;
} BAD[] = {
#define BAD_CASE(t, w)                                                                   \
    {                                                                                    \
        t, sizeof t - 1, w                                                               \
    }
    BAD_CASE("a,b\n1,\"unterminated\n2,3\n", "2: unterminated quoted field"),
    BAD_CASE("a,b\n\"x\"y,1\n", "2: unexpected character after closing quote"),
    BAD_CASE("a,b\n1,2\n\"x\ny\"z\n", "4: unexpected character after closing quote"),
    BAD_CASE("a,b\n1,\0002\n", "2: NUL byte in line"),
#undef BAD_CASE
};

START_TEST(test_csv_errors)
{
    char path[64], err[512], want[640];
    write_temp(path, BAD[_i].text, BAD[_i].len);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    int rc;
    while ((rc = csv_next(r, err, sizeof err)) == 1)
        ;
    ck_assert_int_eq(rc, -1);
    snprintf(want, sizeof want, "%s:%s", path, BAD[_i].want);
    ck_assert_str_eq(err, want);
    csv_close(r);
    unlink(path);
}
END_TEST

START_TEST(test_csv_open_missing_file)
{
    char err[512];
    ck_assert_ptr_null(csv_open("/nonexistent/ltvd.csv", err, sizeof err));
    ck_assert_str_eq(err, "/nonexistent/ltvd.csv: No such file or directory");
    csv_close(NULL);
}
END_TEST

/* ------------------------------------------------------------------------
 * A file (csv_open: read whole, cut in place) and a stream (csv_open_stream:
 * getline) give the same records, line numbers and errors.
 * ------------------------------------------------------------------------ */

static const struct {
    const char *text;
    size_t len;
} SAME[] = {
#define SAME_CASE(t)                                                                     \
    {                                                                                    \
        t, sizeof t - 1                                                                  \
    }
    SAME_CASE(""),
    SAME_CASE("\xEF\xBB\xBF"),
    SAME_CASE("\xEF\xBB\xBF\n"),
    SAME_CASE("\xEF\xBB\xBF\r\na,b\r\n"),
    SAME_CASE("\xEF\xBB"),
    SAME_CASE("a,b\n1,2"),
    SAME_CASE("a,b\r\n1,2\r\n"),
    SAME_CASE("a,b\r"),
    SAME_CASE("a\rb,c\r\r\n"),
    SAME_CASE("\r"),
    SAME_CASE("\r\r\n"),
    SAME_CASE("\n\n\r\n,\n,,\n"),
    SAME_CASE("a,\"b\"\"c\",\"\"\n"),
    SAME_CASE("\"x\ny\",\"\r\n\"\r\nz\n"),
    SAME_CASE("\"q\""),
    SAME_CASE("\"q\"\r"),
    SAME_CASE("\"q\"\""),
    SAME_CASE("\"\"\"\"\n"),
    SAME_CASE("a\"b,c\"\n"),
    SAME_CASE("a,b\n\"open\n\n"),
    SAME_CASE("a,b\n\"open\n"),
    SAME_CASE("a,b\n\"open"),
    SAME_CASE("a\n\"x\"y\n"),
    SAME_CASE("a\n\"x\ny\"z,1\n"),
    SAME_CASE("a\n\"x\" \n"),
    SAME_CASE("a\n1\0002\nb\n"),
    SAME_CASE("\0"),
    SAME_CASE("\xEF\xBB\xBF\0\n"),
    SAME_CASE("a,b\n1,2\n\n\0\n"),
    SAME_CASE("\"a\n\0\"\n"),
    SAME_CASE("a\n\"x,\n\"\0\n"),
    SAME_CASE("\"a\"\n\"b\0\""),
#undef SAME_CASE
};

/* Every record of r as "line:[field]|[field];" then the outcome. */
static void transcript(csv_reader *r, char *out, size_t size)
{
    char err[512];
    size_t n = 0;
    int rc;
    out[0] = '\0';
    while ((rc = csv_next(r, err, sizeof err)) == 1) {
        n += (size_t)snprintf(out + n, size - n, "%ld:", csv_line(r));
        for (size_t i = 0; i < csv_count(r); i++)
            n += (size_t)snprintf(out + n, size - n, "%s[%s]", i ? "|" : "",
                                  csv_field(r, i));
        n += (size_t)snprintf(out + n, size - n, ";");
        ck_assert_uint_lt(n, size);
    }
    if (rc == 0) /* (csv_line after an error is unspecified) */
        snprintf(out + n, size - n, "end (line %ld)", csv_line(r));
    else
        snprintf(out + n, size - n, "%s", err);
}

START_TEST(test_csv_file_same_as_stream)
{
    char path[64], err[512], a[4096], b[4096];
    write_temp(path, SAME[_i].text, SAME[_i].len);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    transcript(r, a, sizeof a);
    csv_close(r);
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    r = csv_open_stream(fp, path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    transcript(r, b, sizeof b);
    csv_close(r);
    fclose(fp);
    ck_assert_str_eq(a, b);
    unlink(path);
}
END_TEST

/* csv_take_text: every field read stays valid after csv_close. */
START_TEST(test_csv_take_text)
{
    char path[64], err[512];
    const char text[] = "id,v\r\n\"a,1\",2\r\n\"b\"\"\",3";
    write_temp(path, text, sizeof text - 1);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    const char *f[6];
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(csv_next(r, err, sizeof err), 1);
        f[2 * k] = csv_field(r, 0);
        f[2 * k + 1] = csv_field(r, 1);
    }
    char *t = csv_take_text(r);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(csv_next(r, err, sizeof err), 0);
    csv_close(r);
    static const char *const want[] = {"id", "v", "a,1", "2", "b\"", "3"};
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(f[i], want[i]);
    free(t);
    FILE *fp = fopen(path, "rb");
    r = csv_open_stream(fp, path, err, sizeof err);
    ck_assert_ptr_null(csv_take_text(r)); /* a stream has no text to give */
    csv_close(r);
    fclose(fp);
    unlink(path);
}
END_TEST

/* A file that does not fit the first read (a pipe has no size). */
START_TEST(test_csv_open_pipe)
{
    int fd[2];
    char err[512], path[64];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fd[0]);
        for (int i = 0; i < 20000; i++) { /* ~200 kB, past the pipe's buffer */
            char line[32];
            int n = snprintf(line, sizeof line, "c%d,%d\n", i, i % 7);
            if (write(fd[1], line, (size_t)n) != n)
                _exit(1);
        }
        _exit(0);
    }
    close(fd[1]);
    snprintf(path, sizeof path, "/dev/fd/%d", fd[0]);
    csv_reader *r = csv_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    int n = 0;
    while (csv_next(r, err, sizeof err) == 1) {
        char want[32];
        snprintf(want, sizeof want, "c%d", n);
        ck_assert_str_eq(csv_field(r, 0), want);
        n++;
    }
    ck_assert_int_eq(n, 20000);
    csv_close(r);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

Suite *suite_csv(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("csv");
    tcase_add_test(tc, test_csv_plain_and_quoted);
    tcase_add_test(tc, test_csv_crlf_bom_no_final_newline);
    tcase_add_test(tc, test_csv_blank_lines_and_empty_fields);
    tcase_add_test(tc, test_csv_find_header);
    tcase_add_test(tc, test_csv_long_field);
    tcase_add_loop_test(tc, test_csv_errors, 0, sizeof BAD / sizeof BAD[0]);
    tcase_add_test(tc, test_csv_open_missing_file);
    tcase_add_loop_test(tc, test_csv_file_same_as_stream, 0,
                        sizeof SAME / sizeof SAME[0]);
    tcase_add_test(tc, test_csv_take_text);
    tcase_add_test(tc, test_csv_open_pipe);
    suite_add_tcase(s, tc);
    return s;
}
