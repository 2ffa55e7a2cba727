/* The table of the v1 route groups (see api.h). */
#include "http/api.h"

#include "http/acquisition.h"
#include "http/customers.h"
#include "http/dashboard.h"
#include "http/model.h"
#include "http/model_history.h"
#include "http/subscriptions.h"
#include "http/tenants.h"
#include "http/transactions.h"

const api_group api_groups[] = {
    {transactions_routes, &transactions_nroutes},
    {customer_export_routes, &customer_export_nroutes}, /* before {customer_id} */
    {dashboard_data_routes, &dashboard_data_nroutes},   /* before {customer_id} */
    {customers_routes, &customers_nroutes},
    {customer_list_routes, &customer_list_nroutes},
    {segments_routes, &segments_nroutes},
    {acq_answer_routes, &acq_answer_nroutes},
    {model_routes, &model_nroutes},
    {model_history_routes, &model_history_nroutes},
    {tenants_routes, &tenants_nroutes},
    {acquisition_routes, &acquisition_nroutes},
    {subscriptions_routes, &subscriptions_nroutes},
    {dashboard_routes, &dashboard_nroutes},
};
const size_t api_ngroups = sizeof api_groups / sizeof api_groups[0];

bool api_add_routes(http_server *s)
{
    for (size_t i = 0; i < api_ngroups; i++) {
        if (!http_server_add_routes(s, api_groups[i].routes, *api_groups[i].n))
            return false;
    }
    return true;
}
