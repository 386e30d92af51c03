// The HTTP side of /metrics: every answered request counted by route, method and status
// (oci2eif_http_requests_total) and timed (oci2eif_http_request_duration_seconds), from
// httplib's logger hook, which runs once the answer has been written.
#pragma once

#include "api/route_context.hpp"

#include <httplib.h>

namespace oci2eif::api {

// Installs the hooks on `http`: the pre-routing handler must call request_started() first.
// Labels are bounded whatever clients send: a path no route has is route "other", a method
// outside HTTP's registered ones method "other".
void record_request_metrics(httplib::Server& http, const RouteContext& routes);

// Marks the start of the request this thread serves (one connection per thread,
// connection_threads.hpp); a request answered before it (a malformed request line) is counted
// without a duration.
void request_started();

} // namespace oci2eif::api
