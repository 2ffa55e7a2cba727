/* make bench (and make bench-fitcsv): `ltvd fit --summary FILE` as a whole
 * process on a 1M-row summary CSV, against Python lifetimes fitting the same
 * file's collapsed patterns with weights (2.42 s, measured by issue 10's filer;
 * lifetimes is not installable here). Issue 10's target is 5x, i.e. at most
 * 0.48 s. The file is what lifetimes writes (pandas' to_csv):
 * customer_id,frequency,recency,T,monetary_value, floats as their shortest
 * round-trip text ("2.0", "30.428571428571427"), ids c0000001..., drawn from
 * BG/NBD near the CDNOW fit (ages of 27 to 39 weeks recorded by day, so
 * ~107k distinct histories among 1M customers), seeded: the same file every
 * run. The in-process rows time the steps apart: read, collapse, fit.
 *   bench_fitcsv LTVD_BIN CSV_PATH [ROWS [RUNS]]   (results: docs/benchmarks.md) */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/btyd.h"
#include "model/fit.h"
#include "model/simulate.h"
#include "summary/summary.h"

#define LIFETIMES_S 2.42 /* issue 10: lifetimes on the collapsed patterns */
#define TARGET_RATIO 5.0

static const double bgnbd_true[] = {0.243, 4.414, 0.793, 2.426};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_fitcsv: %s\n", what);
    exit(1);
}

/* Writes v as Python's repr does: the shortest text that reads back as v,
 * with ".0" on whole numbers. */
static void put_float(FILE *f, double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) { /* %g drops trailing zeros */
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
    if (strpbrk(buf, ".e") == NULL)
        fputs(".0", f);
}

/* The summary CSV of n simulated customers; spend is the mean of x draws of
 * whole cents around a per-customer mean. */
static void write_csv(const char *path, size_t n)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261206);
    btyd_pattern *p = malloc(n * sizeof *p);
    FILE *f = fopen(path, "w");
    if (p == NULL || f == NULL || rng == NULL)
        die("cannot allocate or create the CSV");
    if (simulate_customers(&bgnbd_model, bgnbd_true, n, 27, 39, 1.0 / 7, rng, p) != 0)
        die("simulate_customers failed");
    fputs("customer_id,frequency,recency,T,monetary_value\n", f);
    for (size_t i = 0; i < n; i++) {
        double m = 0, mean = 5 + gsl_ran_gamma(rng, 2, 12);
        for (double k = 0; k < p[i].x; k++)
            m += round(100 * gsl_ran_gamma(rng, 4, mean / 4)) / 100;
        fprintf(f, "c%07zu,", i + 1);
        put_float(f, p[i].x);
        fputc(',', f);
        put_float(f, p[i].t_x);
        fputc(',', f);
        put_float(f, p[i].T);
        fputc(',', f);
        put_float(f, p[i].x > 0 ? m / p[i].x : 0);
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        die("cannot write the CSV");
    free(p);
    gsl_rng_free(rng);
}

/* One `ltvd fit` process, stdout to /dev/null. Returns its wall time; its
 * CPU time (user + system, both threads of the fit) goes to *cpu. */
static double run_fit(const char *bin, const char *csv, double *cpu)
{
    fflush(stdout);
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(127);
        execl(bin, bin, "fit", "--model", "bgnbd", "--period", "week", "--summary", csv,
              (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
        die("cannot run ltvd");
    double dt = now() - t0;
    *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("ltvd fit failed");
    return dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The same steps inside this process, timed apart: what `ltvd fit` does
 * (summary_read_patterns, then the fit) and, for comparison, what `ltvd
 * score` does to load (summary_read_csv keeps every customer, then
 * summary_patterns). */
static void steps(const char *csv)
{
    char err[SUMMARY_ERR_MAX];
    summary_set s;
    btyd_pattern *p, *q;
    size_t k, k2;
    fit_result r;
    double t0 = now();
    if (summary_read_patterns(csv, &p, &k, err) != 0)
        die(err);
    double t1 = now();
    if (fit_btyd(&bgnbd_model, p, k, 0, NULL, &r) != GSL_SUCCESS)
        die("fit_btyd failed");
    double t2 = now();
    if (summary_read_csv(csv, &s, err) != 0)
        die(err);
    double t3 = now();
    if (summary_patterns(&s, &q, &k2) != 0 || k2 != k)
        die("summary_patterns: out of memory, or not the same patterns");
    double t4 = now();
    printf("in-process: fit's read+collapse %.3f s (%zu patterns), fit %.3f s (%zu "
           "iterations); score's read %.3f s, collapse %.3f s\n",
           t1 - t0, k, t2 - t1, r.iterations, t3 - t2, t4 - t3);
    summary_set_free(&s);
    free(p);
    free(q);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: bench_fitcsv LTVD_BIN CSV_PATH [ROWS [RUNS]]");
    size_t n = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
    int runs = argc > 4 ? atoi(argv[4]) : 5;
    if (n == 0 || runs < 1 || runs > 100)
        die("ROWS must be > 0 and RUNS 1..100");
    gsl_set_error_handler_off();
    double t0 = now();
    write_csv(argv[2], n);
    FILE *f = fopen(argv[2], "rb");
    long bytes = f != NULL && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (f != NULL)
        fclose(f);
    printf("# ltvd fit --model bgnbd --summary %s: %zu customers, %.1f MB, written in "
           "%.2f s\n",
           argv[2], n, (double)bytes / 1e6, now() - t0);
    double t[100], cpu[100];
    run_fit(argv[1], argv[2], &cpu[0]); /* warm the page cache */
    for (int i = 0; i < runs; i++)
        t[i] = run_fit(argv[1], argv[2], &cpu[i]);
    printf("whole process, %d runs:", runs);
    for (int i = 0; i < runs; i++)
        printf(" %.3f", t[i]);
    printf(" s (CPU user+sys:");
    for (int i = 0; i < runs; i++)
        printf(" %.3f", cpu[i]);
    printf(")\n");
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    double best = t[0], median = t[runs / 2];
    printf("best %.3f s, median %.3f s; lifetimes %.2f s: %.1fx (best), %.1fx (median); "
           "target %.0fx (<= %.3f s): %s\n",
           best, median, LIFETIMES_S, LIFETIMES_S / best, LIFETIMES_S / median,
           TARGET_RATIO, LIFETIMES_S / TARGET_RATIO,
           median <= LIFETIMES_S / TARGET_RATIO ? "met" : "MISSED");
    steps(argv[2]);
    return 0;
}
