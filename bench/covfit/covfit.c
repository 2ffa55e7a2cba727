/* make bench (and make bench-covariates): `ltvd fit --covariates` as a whole
 * process on 1M simulated customers in 4 channels, BG/NBD and Pareto/NBD
 * (issue 11's target: under 2 s). The files are written under the build
 * directory, seeded (the same every run): a summary CSV
 * customer_id,frequency,recency,T (weeks, ages of 27 to 39 weeks recorded by
 * day, as bench_fitcsv's) drawn from BG/NBD near the CDNOW fit with the
 * channel effects below, and a covariates CSV customer_id,channel.
 *   bench_covfit LTVD_BIN DIR [ROWS [RUNS]]   (results: docs/benchmarks.md) */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/covariates.h"
#include "model/simulate.h"

#define TARGET_S 2.0

/* r, alpha, a, b; purchase gammas of email, social, partner; drop-out ones */
static const double truth[] = {0.243, 4.414, 0.793, 2.426, 0.4,
                               -0.3,  0.2,   0.5,   -0.4,  0.3};
static const char *const channels[] = {"web", "email", "social", "partner"};
static const double shares[] = {0.4, 0.3, 0.2, 0.1};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_covfit: %s\n", what);
    exit(1);
}

static void write_files(const char *summary, const char *covs, size_t n)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261207);
    btyd_pattern *p = malloc(n * sizeof *p);
    size_t *ch = malloc(n * sizeof *ch);
    FILE *fs = fopen(summary, "w"), *fc = fopen(covs, "w");
    if (p == NULL || ch == NULL || fs == NULL || fc == NULL || rng == NULL)
        die("cannot allocate or create the CSVs");
    size_t at = 0;
    for (size_t l = 0; l < 4; l++) {
        size_t k = l == 3 ? n - at : (size_t)(shares[l] * (double)n);
        double z[3] = {0}, q[4];
        if (l > 0)
            z[l - 1] = 1;
        if (cov_params_at(&bgnbd_model, truth, 3, z, q) != GSL_SUCCESS ||
            simulate_customers(&bgnbd_model, q, k, 27, 39, 1.0 / 7, rng, p + at) != 0)
            die("simulation failed");
        for (size_t i = 0; i < k; i++)
            ch[at + i] = l;
        at += k;
    }
    fputs("customer_id,frequency,recency,T\n", fs);
    fputs("customer_id,channel\n", fc);
    for (size_t i = 0; i < n; i++) {
        fprintf(fs, "c%07zu,%.17g,%.17g,%.17g\n", i + 1, p[i].x, p[i].t_x, p[i].T);
        fprintf(fc, "c%07zu,%s\n", i + 1, channels[ch[i]]);
    }
    if (fclose(fs) != 0 || fclose(fc) != 0)
        die("cannot write the CSVs");
    free(p);
    free(ch);
    gsl_rng_free(rng);
}

/* One `ltvd fit --covariates` process, stdout to out. Returns its wall
 * time; its CPU time goes to *cpu. */
static double run_fit(const char *bin, const char *model, const char *summary,
                      const char *covs, const char *out, double *cpu)
{
    fflush(stdout);
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen(out, "w", stdout) == NULL)
            _exit(127);
        execl(bin, bin, "fit", "--model", model, "--period", "week", "--summary", summary,
              "--covariates", covs, (char *)NULL);
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
        die("ltvd fit --covariates failed");
    return dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: bench_covfit LTVD_BIN DIR [ROWS [RUNS]]");
    size_t n = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 1000000;
    int runs = argc > 4 ? atoi(argv[4]) : 3;
    if (runs < 1 || runs > 50 || n < 1000)
        die("bad ROWS or RUNS");
    char summary[4096], covs[4096], out[4096];
    snprintf(summary, sizeof summary, "%s/bench_covfit_summary.csv", argv[2]);
    snprintf(covs, sizeof covs, "%s/bench_covfit_channels.csv", argv[2]);
    snprintf(out, sizeof out, "%s/bench_covfit_out.json", argv[2]);
    if (access(summary, R_OK) != 0 || access(covs, R_OK) != 0 || argc > 3) {
        double t0 = now();
        write_files(summary, covs, n);
        printf("wrote %zu customers in 4 channels in %.1f s\n", n, now() - t0);
    }
    static const char *const models[] = {"bgnbd", "pareto"};
    for (int m = 0; m < 2; m++) {
        double wall[50], cpu = 0, c;
        for (int i = 0; i < runs; i++) {
            wall[i] = run_fit(argv[1], models[m], summary, covs, out, &c);
            cpu += c;
        }
        qsort(wall, (size_t)runs, sizeof wall[0], cmp_double);
        printf("ltvd fit --model %-6s --covariates, %zu customers: median %.3f s (min "
               "%.3f, max %.3f, %d runs, CPU %.3f s/run) target < %.1f s: %s\n",
               models[m], n, wall[runs / 2], wall[0], wall[runs - 1], runs, cpu / runs,
               TARGET_S, wall[runs / 2] < TARGET_S ? "met" : "MISSED");
    }
    return 0;
}
