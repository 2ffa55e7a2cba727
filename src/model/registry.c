/* The table of purchase models, looked up by their CLI names. */
#include "model/btyd.h"

#include <string.h>

static const btyd_model *const models[] = {
    &bgnbd_model, &pareto_model, &mbgnbd_model, &bgbb_model, &bggeo_model, &bgpois_model,
};

const btyd_model *btyd_model_find(const char *name)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(models[i]->name, name) == 0)
            return models[i];
    return NULL;
}
