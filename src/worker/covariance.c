/* A snapshot's parameter covariances to and from their JSON column (see
 * covariance.h). */
#include "worker/covariance.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/gg.h"

static json_t *block_json(const char *model, const char *const *names, size_t n,
                          const fit_result *f)
{
    if (!f->covariance_ok)
        return json_null();
    json_t *o = json_object(), *p = json_array(), *mat = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(p, json_string(names[i]));
        json_t *row = json_array();
        for (size_t j = 0; j < n; j++)
            json_array_append_new(row, json_real(f->covariance[i * n + j]));
        json_array_append_new(mat, row);
    }
    json_object_set_new(o, "model", json_string(model));
    json_object_set_new(o, "params", p);
    json_object_set_new(o, "matrix", mat);
    return o;
}

char *worker_covariance_json(const cache_model *m)
{
    bool spend = m->has_spend && m->gg_fit.covariance_ok;
    if (!m->fit.covariance_ok && !spend)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(
        o, "purchase",
        block_json(m->model->name, m->model->param_names, m->model->n_params, &m->fit));
    json_object_set_new(o, "spend",
                        spend ? block_json("gg", gg_param_names, 3, &m->gg_fit)
                              : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
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
