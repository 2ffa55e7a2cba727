/* The v1 API of `ltvd serve`: every route group that needs the app (the
 * health routes do not), in one table, so the server and the tests
 * register, and the OpenAPI check compares, the same set. */
#ifndef LTVD_HTTP_API_H
#define LTVD_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"
#include "http/server.h"

typedef struct api_group {
    const http_route *routes;
    const size_t *n;
} api_group;

extern const api_group api_groups[];
extern const size_t api_ngroups;

/* Adds every group to s. False when the server's table is full. */
bool api_add_routes(http_server *s);

#endif
