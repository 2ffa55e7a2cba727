/* The CSV reader on RFC 4180 corner cases: quotes, embedded separators and
 * newlines, CRLF, a byte order mark, blank lines, no final newline, and the
 * syntax errors with their line numbers. Inputs are written to temp files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    suite_add_tcase(s, tc);
    return s;
}
