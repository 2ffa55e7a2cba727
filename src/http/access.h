/* Who may call what: the API key scope each route needs, and the check the
 * dispatcher runs once a request's headers are in (before its body is
 * read). The rules are one table in access.c; a route missing from it needs
 * the scope admin, so a new endpoint is closed until someone opens it. */
#ifndef LTVD_HTTP_ACCESS_H
#define LTVD_HTTP_ACCESS_H

#include "http/http.h"

/* Checks req (its route matched, nothing pending) against the table and
 * req->ctx: unless the route is public, the key of the Authorization header
 * (req->ctx->auth) must hold one of its scopes. On a refusal sets
 * req->pending (PROBLEM_UNAUTHORIZED or PROBLEM_FORBIDDEN) with a detail
 * that never repeats the header; PROBLEM_STARTING for a token while the
 * keys are not loaded yet (start-up). A missing or malformed header is 401
 * at any time. */
void access_check(http_request *req);

/* Checks req's key again, just before a handler writes: its body may have
 * taken up to connection_timeout_s to arrive after access_check. A key no
 * longer in the copy (revoked and reloaded meanwhile) is answered 401 into
 * *res and false is returned: nothing may be written. True when the request
 * may go on (a public route, or the key still valid). */
bool access_recheck_or_reply(http_request *req, http_result *res);

/* The AUTH_SCOPE_ bits of which a key needs one for method and pattern; 0
 * when the route is public: /healthz and /readyz always, /metrics when
 * metrics_public, every other route when auth_required is false. */
unsigned access_scopes(const ltvd_config *cfg, const char *method, const char *pattern);

#endif
