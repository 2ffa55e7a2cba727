/* Config: defaults, the file reader, environment overrides, rejected values,
 * and that config/ltvd.conf documents every key of the table. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* Writes text to a fresh temporary file; the caller unlinks path. */
static void write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/ltvd_conf_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

START_TEST(test_defaults)
{
    ltvd_config c;
    config_defaults(&c);
    ck_assert_str_eq(c.listen, "127.0.0.1:8080");
    ck_assert_str_eq(c.listen_host, "127.0.0.1");
    ck_assert_int_eq(c.listen_port, 8080);
    ck_assert_int_eq(c.period, CONFIG_PERIOD_DAY);
    ck_assert_int_eq(c.model, CONFIG_MODEL_BGNBD);
    ck_assert(!c.has_as_of);
    ck_assert_int_eq(c.max_body_bytes, 8388608);
    ck_assert_int_eq(c.thread_pool_size, 4);
    ck_assert(c.metrics_public);
    ck_assert_str_eq(c.database_url, "");
    char err[CONFIG_ERR_MAX];
    ck_assert(config_check(&c, err));
}
END_TEST

/* The shipped file sets every key to its default. */
START_TEST(test_shipped_file_is_defaults)
{
    ltvd_config d, f;
    char err[CONFIG_ERR_MAX] = "";
    config_defaults(&d);
    config_defaults(&f);
    ck_assert_msg(config_load_file(&f, CONFIG_DEFAULT_PATH, err), "%s", err);
    ck_assert(memcmp(&d, &f, sizeof d) == 0);
}
END_TEST

START_TEST(test_file_parsing)
{
    char path[64], err[CONFIG_ERR_MAX] = "";
    write_temp(path, "# comment\n\n  listen = 0.0.0.0:9000   # trailing\n"
                     "period=week\nas_of = 1997-09-30\nmodel = pareto\n"
                     "discount_rate = 0.02\nmetrics_public = false\n");
    ltvd_config c;
    config_defaults(&c);
    bool ok = config_load_file(&c, path, err);
    unlink(path);
    ck_assert_msg(ok, "%s", err);
    ck_assert_str_eq(c.listen_host, "0.0.0.0");
    ck_assert_int_eq(c.listen_port, 9000);
    ck_assert_int_eq(c.period, CONFIG_PERIOD_WEEK);
    ck_assert_int_eq(c.model, CONFIG_MODEL_PARETO);
    ck_assert(c.has_as_of);
    ck_assert_int_eq(c.as_of_day, 10134); /* 1997-09-30 */
    ck_assert_double_eq(c.discount_rate, 0.02);
    ck_assert(!c.metrics_public);
    ck_assert_int_eq(c.max_body_bytes, 8388608); /* untouched */
}
END_TEST

static const struct {
    const char *text;
    const char *expect; /* after "PATH:" */
} bad_files[] = {
    {"# x\n\nmax_body_bytes = 12\n", "3: max_body_bytes: must be 1024..1073741824"},
    {"colour = blue\n", "1: colour: unknown key"},
    {"period = day\nperiod = week\n", "2: period: set twice"},
    {"listen\n", "1: expected key = value"},
    {"model = gg\n", "1: model: must be one of bgnbd|pareto"},
    {"churn_high_below = 1.5\n", "1: churn_high_below: must be 0..1"},
};

START_TEST(test_file_errors)
{
    char path[64], err[CONFIG_ERR_MAX] = "", expect[CONFIG_ERR_MAX + 64];
    write_temp(path, bad_files[_i].text);
    ltvd_config c;
    config_defaults(&c);
    bool ok = config_load_file(&c, path, err);
    snprintf(expect, sizeof expect, "%s:%s", path, bad_files[_i].expect);
    unlink(path);
    ck_assert(!ok);
    ck_assert_str_eq(err, expect);
}
END_TEST

static const struct {
    const char *key, *value;
} bad_values[] = {
    {"listen", "localhost:80"},
    {"listen", "127.0.0.1"},
    {"listen", "127.0.0.1:65536"},
    {"listen", "127.0.0.1:80x"},
    {"listen", ":80"},
    {"period", "month"},
    {"as_of", "yesterday"},
    {"as_of", "1997-13-01"},
    {"metrics_public", "maybe"},
    {"thread_pool_size", "4x"},
    {"thread_pool_size", ""},
    {"thread_pool_size", "0"},
    {"thread_pool_size", " 4"},
    {"discount_rate", "nan"},
    {"discount_rate", "inf"},
    {"margin", "-0.1"},
    {"connection_timeout_s", "99999999999999999999"},
};

START_TEST(test_bad_values)
{
    ltvd_config c, before;
    char err[CONFIG_ERR_MAX] = "";
    config_defaults(&c);
    before = c;
    ck_assert_msg(!config_set(&c, bad_values[_i].key, bad_values[_i].value, err),
                  "%s = '%s' accepted", bad_values[_i].key, bad_values[_i].value);
    ck_assert_msg(strncmp(err, bad_values[_i].key, strlen(bad_values[_i].key)) == 0, "%s",
                  err);
    ck_assert(memcmp(&c, &before, sizeof c) == 0);
}
END_TEST

/* The variables test_env_override sets, saved and restored: with CK_FORK=no
 * the suites share one environment (the store suite needs DATABASE_URL). */
static const char *const touched[] = {
    "LTVD_MAX_BODY_BYTES",   "LTVD_PERIOD",           "LTVD_LISTEN", "LTVD_MODEL",
    "LTVD_CHURN_HIGH_BELOW", "LTVD_CONNECTION_LIMIT", "DATABASE_URL"};
#define NTOUCHED (sizeof touched / sizeof touched[0])

static void env_save(char *saved[NTOUCHED])
{
    for (size_t i = 0; i < NTOUCHED; i++) {
        const char *v = getenv(touched[i]);
        saved[i] = v != NULL ? strdup(v) : NULL;
        unsetenv(touched[i]);
    }
}

static void env_restore(char *saved[NTOUCHED])
{
    for (size_t i = 0; i < NTOUCHED; i++) {
        if (saved[i] != NULL)
            setenv(touched[i], saved[i], 1);
        else
            unsetenv(touched[i]);
        free(saved[i]);
    }
}

START_TEST(test_env_override)
{
    char path[64], err[CONFIG_ERR_MAX] = "";
    char *saved[NTOUCHED];
    env_save(saved);
    write_temp(path, "max_body_bytes = 4096\nperiod = day\n");
    setenv("LTVD_MAX_BODY_BYTES", "2048", 1);
    setenv("LTVD_PERIOD", "week", 1);
    setenv("LTVD_LISTEN", "127.0.0.1:0", 1);
    setenv("DATABASE_URL", "postgresql:///ltvd?host=/tmp", 1);
    ltvd_config c;
    bool ok = config_load(&c, path, err);
    ck_assert_msg(ok, "%s", err);
    ck_assert_int_eq(c.max_body_bytes, 2048);
    ck_assert_int_eq(c.period, CONFIG_PERIOD_WEEK);
    ck_assert_int_eq(c.listen_port, 0);
    ck_assert_str_eq(c.database_url, "postgresql:///ltvd?host=/tmp");

    setenv("LTVD_MODEL", "gg", 1);
    ok = config_load(&c, path, err);
    ck_assert(!ok);
    ck_assert_str_eq(err, "model: must be one of bgnbd|pareto (from LTVD_MODEL)");
    unsetenv("LTVD_MODEL");

    setenv("LTVD_CHURN_HIGH_BELOW", "0.8", 1);
    ok = config_load(&c, path, err);
    ck_assert(!ok);
    ck_assert_msg(strstr(err, "churn_high_below: must not exceed") == err, "%s", err);
    unsetenv("LTVD_CHURN_HIGH_BELOW");
    setenv("LTVD_CONNECTION_LIMIT", "2", 1);
    ok = config_load(&c, path, err);
    ck_assert(!ok);
    ck_assert_msg(strstr(err, "thread_pool_size: must not exceed") == err, "%s", err);
    unsetenv("LTVD_CONNECTION_LIMIT");
    unlink(path);

    ck_assert(!config_load(&c, "/nonexistent/ltvd.conf", err));
    ck_assert(config_load(&c, NULL, err));
    env_restore(saved);
}
END_TEST

/* Every key of the table appears in config/ltvd.conf as `key = ...`, right
 * after a comment line of its own (not a section banner). */
START_TEST(test_every_key_documented)
{
    FILE *f = fopen(CONFIG_DEFAULT_PATH, "r");
    ck_assert_msg(f != NULL, "run the tests from the repository root");
    static char lines[512][256];
    size_t n = 0;
    while (n < 512 && fgets(lines[n], sizeof lines[n], f) != NULL)
        n++;
    fclose(f);
    size_t nkeys;
    const config_key *keys = config_keys(&nkeys);
    for (size_t k = 0; k < nkeys; k++) {
        size_t len = strlen(keys[k].name);
        bool documented = false, present = false;
        for (size_t i = 0; i < n; i++) {
            const char *l = lines[i];
            if (strncmp(l, keys[k].name, len) != 0 ||
                strspn(l + len, " ") + len >= strlen(l) ||
                l[len + strspn(l + len, " ")] != '=')
                continue;
            present = true;
            documented = i > 0 && lines[i - 1][0] == '#' && strlen(lines[i - 1]) > 3 &&
                         strncmp(lines[i - 1], "# ---", 5) != 0;
        }
        ck_assert_msg(present, "%s is not in %s", keys[k].name, CONFIG_DEFAULT_PATH);
        ck_assert_msg(documented, "%s has no comment in %s", keys[k].name,
                      CONFIG_DEFAULT_PATH);
    }
    /* and the table is sorted, as config.c promises */
    for (size_t k = 1; k < nkeys; k++)
        ck_assert_msg(strcmp(keys[k - 1].name, keys[k].name) < 0, "%s", keys[k].name);
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_shipped_file_is_defaults);
    tcase_add_test(tc, test_file_parsing);
    tcase_add_loop_test(tc, test_file_errors, 0, sizeof bad_files / sizeof bad_files[0]);
    tcase_add_loop_test(tc, test_bad_values, 0, sizeof bad_values / sizeof bad_values[0]);
    tcase_add_test(tc, test_env_override);
    tcase_add_test(tc, test_every_key_documented);
    suite_add_tcase(s, tc);
    return s;
}
