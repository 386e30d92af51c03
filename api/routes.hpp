// The routes of the HTTP API by resource, each registered on the server through a RouteContext
// (which must outlive the server). Contracts: api/openapi.json; the table: http_api.hpp.
#pragma once

#include "api/route_context.hpp"

namespace oci2eif::api {

// GET /healthz, /readyz, /metrics and /v1/openapi.json: open, no token.
void add_probe_routes(RouteContext& routes);
// /v1/builds: submit, list, get, log (followed or not), artifacts, cancel, delete.
void add_build_routes(RouteContext& routes);
// GET /v1/builds/{id}/diff/{other}: why two builds' EIFs measure differently (role read).
void add_diff_routes(RouteContext& routes);
// /v1/kernels: list and get (read), upload and delete (admin).
void add_kernel_routes(RouteContext& routes);
// GET / and /builds/{id}: the builds as HTML pages for people (role read; browsers send the
// token with Basic).
void add_html_routes(RouteContext& routes);
// POST /v1/webhooks/{source}: registry push events, authenticated by per-source secrets.
// Throws InvalidInput if a configured webhook rule names a kernel that is not configured.
void add_webhook_routes(RouteContext& routes);

} // namespace oci2eif::api
