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

/* The optimum of tests/reference/mbgnbd_fit.py (lifetimes'
 * ModifiedBetaGeoFitter gives about r=0.525 alpha=6.183 a=0.891 b=1.614). */
START_TEST(test_cdnow_fit)
{
    double ref[4], ll;
    ck_assert_int_eq(nbd_read_fit_reference(2, ref, &ll), 0);
    nbd_check_cdnow_fit(&mbgnbd_model, ref, 1e-4, 0, ll, 1e-4);
    const double lifetimes[4] = {0.525, 6.183, 0.891, 1.614};
    nbd_check_cdnow_fit(&mbgnbd_model, lifetimes, 0.001, 0.0005, ll, 1e-4);
}
END_TEST

START_TEST(test_recovery)
{
    const double truth[4] = {0.525, 6.183, 0.891, 1.614};
    nbd_check_recovery(&mbgnbd_model, truth, 20000);
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
    tcase_add_test(tc, test_cdnow_fit);
    tcase_add_test(tc, test_recovery);
    suite_add_tcase(s, tc);
    return s;
}
