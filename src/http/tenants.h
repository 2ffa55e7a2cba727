/* The routes of the tenants' management and of a customer's erasure (see
 * tenants.c). */
#ifndef LTVD_HTTP_TENANTS_H
#define LTVD_HTTP_TENANTS_H

#include <stddef.h>

#include "http/http.h"

extern const http_route tenants_routes[];
extern const size_t tenants_nroutes;

#endif
