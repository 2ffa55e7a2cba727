/* The acquisition inputs of a tenant (issue 11, part A): PUT
 * /v1/customers/{customer_id}/attributes, PUT and GET
 * /v1/acquisition/spend (and their /v1/tenants/{tenant}/... forms). */
#ifndef LTVD_HTTP_ACQUISITION_H
#define LTVD_HTTP_ACQUISITION_H

#include <stddef.h>

#include "http/http.h"

extern const http_route acquisition_routes[];
extern const size_t acquisition_nroutes;

#endif
