/* MBG/NBD: mpmath reference values (tests/reference/mbgnbd.py), grid
 * properties, domain errors, the fast likelihood sum, and (with fit.c) the
 * CDNOW fit and parameter recovery. */
#include <check.h>
#include <gsl/gsl_errno.h>

#include "model/mbgnbd.h"
#include "nbd_checks.h"

static void setup(void)
{
    gsl_set_error_handler_off();
}

START_TEST(test_reference)
{
    nbd_check_reference(&mbgnbd_model, "tests/data/ref_mbgnbd.csv", 1e-9);
}
END_TEST

START_TEST(test_properties)
{
    nbd_check_properties(&mbgnbd_model);
}
END_TEST

START_TEST(test_domain)
{
    nbd_check_domain(&mbgnbd_model);
}
END_TEST

START_TEST(test_loglik_sum)
{
    nbd_check_loglik_sum(&mbgnbd_model);
}
END_TEST

Suite *suite_mbgnbd(void)
{
    Suite *s = suite_create("mbgnbd");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reference);
    tcase_add_test(tc, test_properties);
    tcase_add_test(tc, test_domain);
    tcase_add_test(tc, test_loglik_sum);
    suite_add_tcase(s, tc);
    return s;
}
