#include "api/http_api.hpp"

#include "api/route_context.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"

#include <httplib.h>

namespace oci2eif::api {
namespace {

// httplib reads a body before the handler: the global limit is the largest (a kernel upload's);
// every handler checks its own, and this refuses by Content-Length (and checks an upload's
// admin token) before a large body is read at all.
void limit_bodies(httplib::Server& http, const RouteContext& routes) {
  const server::ServeConfig& config = routes.ctx.config;
  http.set_payload_max_length(std::max(config.max_body_bytes, config.max_kernel_upload_bytes));
  http.set_pre_routing_handler([&routes, &config](const httplib::Request& req,
                                                  httplib::Response& res) {
    const bool upload = req.method == "POST" && req.path == "/v1/kernels";
    if (upload) {
      if (auto p = routes.auth.check(req.get_header_value("Authorization"), server::Role::Admin)) {
        send_problem(res, *p);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    const std::size_t limit = upload ? config.max_kernel_upload_bytes : config.max_body_bytes;
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && length.size() < 20 &&
        length.find_first_not_of("0123456789") == std::string::npos &&
        std::stoull(length) > limit) {
      send_problem(res, too_large());
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
}

// What httplib answers on its own (no route, a body over the payload limit) as problem+json.
void answer_errors_as_problems(httplib::Server& http) {
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const int status = res.status;
      send_problem(res, {status, status == 413 ? "body_too_large" : "not_found",
                         status == 413 ? "the request body is larger than the server's limit"
                                       : "no such route"});
      res.status = status;
    }
  });
}

} // namespace

struct HttpApi::Impl {
  explicit Impl(ApiContext c) : routes(c, http) {}

  httplib::Server http;
  RouteContext routes; // after `http`, which it registers on
};

HttpApi::HttpApi(ApiContext context) : impl_(std::make_unique<Impl>(context)) {
  RouteContext& routes = impl_->routes;
  limit_bodies(impl_->http, routes);
  add_probe_routes(routes);
  add_build_routes(routes);
  add_kernel_routes(routes);
  add_webhook_routes(routes);
  answer_errors_as_problems(impl_->http);
}

const std::vector<ApiRoute>& HttpApi::route_table() const {
  return impl_->routes.table();
}

HttpApi::~HttpApi() = default;

void HttpApi::run() {
  const auto& c = impl_->routes.ctx.config;
  if (!impl_->http.bind_to_port(c.listen_host, c.listen_port)) {
    throw Error(ErrorCode::Io, "cannot listen on " + c.listen_host + ":" +
                                   std::to_string(c.listen_port) +
                                   " (in use, or not an address "
                                   "of this machine)");
  }
  impl_->http.listen_after_bind();
}

void HttpApi::drain() {
  impl_->routes.drain();
}

void HttpApi::stop() {
  impl_->http.stop();
}

} // namespace oci2eif::api
