#include "api/http_api.hpp"

#include "api/connection_threads.hpp"
#include "api/request_metrics.hpp"
#include "api/route_context.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <thread>

namespace oci2eif::api {
namespace {

// RFC 9110 15.5.6: a method no route at this path answers is 405 with the methods that do
// (Allow), not 404. Checked before any body is read; one that was announced stays unread, so
// the connection closes.
bool refuse_wrong_method(const RouteContext& routes, const httplib::Request& req,
                         httplib::Response& res) {
  const std::vector<std::string> allowed = routes.methods_at(req.path);
  if (allowed.empty() || std::find(allowed.begin(), allowed.end(), req.method) != allowed.end()) {
    return false;
  }
  std::string allow;
  for (const std::string& method : allowed) {
    allow += (allow.empty() ? "" : ", ") + method;
  }
  send_problem(res, {405, "method_not_allowed",
                     req.method + " is not a method of this resource; it allows " + allow});
  res.set_header("Allow", allow);
  if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
    res.set_header("Connection", "close");
  }
  return true;
}

// httplib reads a body before the handler: the global limit is the largest (a kernel upload's);
// every handler checks its own, and this refuses by Content-Length (and checks an upload's
// admin token) before a large body is read at all.
void limit_bodies(httplib::Server& http, const RouteContext& routes) {
  const server::ServeConfig& config = routes.ctx.config;
  http.set_payload_max_length(std::max(config.max_body_bytes, config.max_kernel_upload_bytes));
  http.set_pre_routing_handler([&routes, &config](const httplib::Request& req,
                                                  httplib::Response& res) {
    request_started();
    if (refuse_wrong_method(routes, req, res)) {
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Transfer-Encoding") && req.has_header("Content-Length")) {
      // RFC 9112 6.1: a message with both is a request-smuggling vector; refuse, then close.
      send_problem(
          res, {400, "invalid_input", "the request has both Content-Length and Transfer-Encoding"});
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Transfer-Encoding")) {
      // httplib bounds a body by Content-Length only: a chunked one would be read whole, of any
      // size. RFC 9110 15.5.12: 411 asks for the length; every client we serve can send it.
      send_problem(res, {411, "length_required",
                         "a request body must be sent with Content-Length (not chunked)"});
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
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

// The problem for a status httplib chose itself (before or instead of a route).
Problem problem_for_status(int status) {
  switch (status) {
  case 404:
    return {404, "not_found", "no such route"};
  case 413:
    return too_large();
  case 414:
    return {414, "uri_too_long", "the request target is longer than the server's limit"};
  case 416:
    return {416, "range_not_satisfiable", "the Range header is not a valid bytes range"};
  case 431:
    return {431, "headers_too_large", "a request header is longer than the server's limit"};
  default:
    return {status, status >= 500 ? "internal" : "invalid_input",
            status >= 500 ? "the server failed to answer this request"
                          : "the request is not valid HTTP this server accepts"};
  }
}

// What httplib answers on its own (no route, a body over the payload limit) as problem+json,
// and an exception no route caught as a 500 whose text stays in the log: httplib's default puts
// it in an EXCEPTION_WHAT response header.
void answer_errors_as_problems(httplib::Server& http) {
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        const Error error = error_from_exception(ep);
        spdlog::error("{} {}: {}", req.method, req.path, error.what());
        send_problem(res, {500, "internal", "the server failed to answer this request"});
      });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      send_problem(res, problem_for_status(res.status));
    }
  });
}

// Requests a keep-alive connection may carry before the server closes it (httplib's default,
// 5, made `ab -k` clients reconnect all the time).
constexpr std::size_t kKeepAliveRequests = 100;

// How long the kernel holds a connection that has sent nothing before handing it to accept().
// httplib 0.11 waits for a connection's first request by polling every 10 ms, so each idle
// connection cost a thread and 100 wake-ups a second: 1,000 idle sockets (no token needed)
// pushed an authenticated GET's p99 to 180 ms. Deferred (nginx's `listen ... deferred`), an
// idle connection costs a request socket in the kernel until it speaks or this passes.
constexpr int kDeferAcceptSeconds = 30;

void defer_accept_until_data(socket_t fd) {
  const int seconds = kDeferAcceptSeconds;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0) {
    spdlog::warn("cannot defer accepting idle connections: {}", std::strerror(errno));
  }
}

} // namespace

struct HttpApi::Impl {
  explicit Impl(ApiContext c) : routes(c, http) {}

  httplib::Server http;
  RouteContext routes; // after `http`, which it registers on
  int port = 0;        // bound, once bind() succeeded
  int listen_fd = -1;  // the bound socket, seen as httplib creates it
  // httplib's stop() does nothing until listen has begun, so a stop() racing a starting run()
  // would leave it serving forever. Each side sets its flag, then reads the other's (seq_cst):
  // at least one of them sees the other, so run() returns at once or stop() waits for it.
  std::atomic<bool> run_entered{false};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> run_returned{false};
};

HttpApi::HttpApi(ApiContext context) : impl_(std::make_unique<Impl>(context)) {
  RouteContext& routes = impl_->routes;
  httplib::Server& http = impl_->http;
  http.new_task_queue = [max = context.config.max_connections] {
    return new ConnectionThreads(max);
  };
  http.set_keep_alive_max_count(kKeepAliveRequests);
  http.set_socket_options([impl = impl_.get()](socket_t fd) {
    httplib::default_socket_options(fd);
    defer_accept_until_data(fd);
    impl->listen_fd = fd;
  });
  limit_bodies(impl_->http, routes);
  add_probe_routes(routes);
  add_build_routes(routes);
  add_diff_routes(routes);
  add_kernel_routes(routes);
  add_webhook_routes(routes);
  add_html_routes(routes);
  answer_errors_as_problems(impl_->http);
  record_request_metrics(impl_->http, routes);
}

const std::vector<ApiRoute>& HttpApi::route_table() const {
  return impl_->routes.table();
}

HttpApi::~HttpApi() = default;

int HttpApi::bind() {
  const auto& c = impl_->routes.ctx.config;
  const bool bound = c.listen_port == 0
                         ? (impl_->port = impl_->http.bind_to_any_port(c.listen_host)) > 0
                         : impl_->http.bind_to_port(c.listen_host, c.listen_port);
  if (!bound) {
    throw Error(ErrorCode::Io, "cannot listen on " + c.listen_host + ":" +
                                   std::to_string(c.listen_port) +
                                   " (in use, or not an address of this machine)");
  }
  if (c.listen_port != 0) {
    impl_->port = c.listen_port;
  }
  // httplib listens with a backlog of 5, so a burst of connections saw SYNs dropped (1 s and 3 s
  // retransmit tails). Linux lets listen() on a listening socket set a new backlog.
  if (impl_->listen_fd >= 0 && ::listen(impl_->listen_fd, SOMAXCONN) != 0) {
    spdlog::warn("cannot raise the listen backlog: {}", std::strerror(errno));
  }
  return impl_->port;
}

void HttpApi::run() {
  if (impl_->port == 0) {
    bind();
  }
  impl_->run_entered = true;
  if (!impl_->stop_requested) {
    impl_->http.listen_after_bind();
  }
  impl_->run_returned = true; // a later stop() has nothing to wait for
}

void HttpApi::drain() {
  impl_->routes.drain();
}

void HttpApi::stop() {
  impl_->stop_requested = true;
  if (impl_->run_entered) {
    // run() is about to listen, or listens: wait (bounded) until httplib counts it as running.
    for (int i = 0; i < 10000 && !impl_->http.is_running() && !impl_->run_returned; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  impl_->http.stop();
}

} // namespace oci2eif::api
