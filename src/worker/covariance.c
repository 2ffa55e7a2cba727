/* A snapshot's parameter covariances to and from their JSON column (see
 * covariance.h). */
#include "worker/covariance.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/gg.h"

/* An n x n row-major matrix as an array of rows, or NULL (a non-finite
 * entry, out of memory): never a short row. */
static json_t *matrix_json(const double *c, size_t n)
{
    json_t *mat = json_array();
    for (size_t i = 0; mat != NULL && i < n; i++) {
        json_t *row = json_array();
        for (size_t j = 0; row != NULL && j < n; j++)
            if (json_array_append_new(row, json_real(c[i * n + j])) != 0) {
                json_decref(row);
                row = NULL;
            }
        if (json_array_append_new(mat, row) != 0) {
            json_decref(mat);
            mat = NULL;
        }
    }
    return mat;
}

/* One fit's block, null when it has no covariance, NULL on failure. */
static json_t *block_json(const char *model, const char *const *names, size_t n,
                          const fit_result *f)
{
    if (!f->covariance_ok)
        return json_null();
    json_t *p = json_array();
    for (size_t i = 0; p != NULL && i < n; i++)
        if (json_array_append_new(p, json_string(names[i])) != 0) {
            json_decref(p);
            p = NULL;
        }
    /* "o" steals even on failure: a NULL anywhere frees the rest */
    return json_pack("{s:s, s:o, s:o}", "model", model, "params", p, "matrix",
                     matrix_json(f->covariance, n));
}

char *worker_covariance_json(const cache_model *m)
{
    bool spend = m->has_spend && m->gg_fit.covariance_ok;
    if (!m->fit.covariance_ok && !spend)
        return NULL;
    json_t *o = json_pack(
        "{s:o, s:o}", "purchase",
        block_json(m->model->name, m->model->param_names, m->model->n_params, &m->fit),
        "spend", spend ? block_json("gg", gg_param_names, 3, &m->gg_fit) : json_null());
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    return s;
}

/* The block's matrix into f->covariance when it is model's, with names. */
static void block_read(json_t *b, const char *model, const char *const *names, size_t n,
                       fit_result *f)
{
    f->covariance_ok = false;
    json_t *p = json_object_get(b, "params"), *mat = json_object_get(b, "matrix");
    const char *name = json_string_value(json_object_get(b, "model"));
    if (name == NULL || strcmp(name, model) != 0 || json_array_size(p) != n ||
        json_array_size(mat) != n)
        return;
    double c[FIT_MAX_PARAMS * FIT_MAX_PARAMS];
    for (size_t i = 0; i < n; i++) {
        const char *pi = json_string_value(json_array_get(p, i));
        json_t *row = json_array_get(mat, i);
        if (pi == NULL || strcmp(pi, names[i]) != 0 || json_array_size(row) != n)
            return;
        for (size_t j = 0; j < n; j++) {
            json_t *v = json_array_get(row, j);
            c[i * n + j] = json_is_number(v) ? json_number_value(v) : NAN;
            if (!isfinite(c[i * n + j]))
                return;
        }
    }
    memcpy(f->covariance, c, n * n * sizeof c[0]);
    f->covariance_ok = true;
}

void worker_covariance_read(const char *text, cache_model *m)
{
    m->fit.covariance_ok = false;
    m->gg_fit.covariance_ok = false;
    if (text == NULL || m->model == NULL || m->model->n_params > FIT_MAX_PARAMS)
        return;
    /* reals whatever their magnitude (jsonb may print one as an integer) */
    json_t *o = json_loads(text, JSON_DECODE_INT_AS_REAL, NULL);
    block_read(json_object_get(o, "purchase"), m->model->name, m->model->param_names,
               m->model->n_params, &m->fit);
    if (m->has_spend)
        block_read(json_object_get(o, "spend"), "gg", gg_param_names, 3, &m->gg_fit);
    json_decref(o);
}
