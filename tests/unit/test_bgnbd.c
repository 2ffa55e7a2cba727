/* BG/NBD: mpmath reference values (tests/reference/bgnbd.py), grid
 * properties, domain errors, the fast likelihood sum, and (with fit.c) the
 * CDNOW fit and parameter recovery. */
#include <check.h>
#include <gsl/gsl_errno.h>

#include "model/bgnbd.h"
#include "nbd_checks.h"

static void setup(void)
{
    gsl_set_error_handler_off();
}

START_TEST(test_reference)
{
    nbd_check_reference(&bgnbd_model, "tests/data/ref_bgnbd.csv", 1e-9);
}
END_TEST

START_TEST(test_properties)
{
    nbd_check_properties(&bgnbd_model);
}
END_TEST

START_TEST(test_domain)
{
    nbd_check_domain(&bgnbd_model);
}
END_TEST

START_TEST(test_loglik_sum)
{
    nbd_check_loglik_sum(&bgnbd_model);
}
END_TEST

/* Published MLE (Fader, Hardie & Lee 2005) on CDNOW, to their 3 decimals. */
START_TEST(test_cdnow_fit)
{
    const double published[4] = {0.243, 4.414, 0.793, 2.426};
    nbd_check_cdnow_fit(&bgnbd_model, published, 0.001, 0.0005, -9582.4, 0.05);
    double ref[4], ll;
    ck_assert_int_eq(nbd_read_fit_reference(1, ref, &ll), 0);
    nbd_check_cdnow_fit(&bgnbd_model, ref, 1e-4, 0, ll, 1e-4);
}
END_TEST

START_TEST(test_recovery)
{
    const double truth[4] = {0.243, 4.414, 0.793, 2.426};
    nbd_check_recovery(&bgnbd_model, truth, 20000);
}
END_TEST

Suite *suite_bgnbd(void)
{
    Suite *s = suite_create("bgnbd");
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
