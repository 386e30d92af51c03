// What the route files of the HTTP API (build_routes.cpp, kernel_routes.cpp, probe_routes.cpp,
// webhook_routes.cpp) share: the service they answer for, API-token checks, body limits, the
// draining flag, the route table, and the two kinds of response (JSON, problem+json).
// cpp-httplib's types are only declared here; httplib.h stays in the .cpp files.
#pragma once

#include "api/auth.hpp"
#include "api/http_api.hpp"
#include "api/problem.hpp"
#include "server/config.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace oci2eif::api {

using RouteHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// What a 429 or 503 answer asks the client to wait (Retry-After, seconds) before retrying.
constexpr int kRetryAfterSeconds = 10;

// Sends `problem` as application/problem+json. 429 (a limit) and 503 (shutting down, not ready,
// disk full) are worth retrying, so those say when (Retry-After).
void send_problem(httplib::Response& res, const Problem& problem);
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
// 413 body_too_large: the request body is over the route's limit.
Problem too_large();

// Built once by HttpApi, then read by the handlers of every route: thread-safe after routes are
// registered (add() is only called before the server starts).
class RouteContext {
public:
  RouteContext(ApiContext context, httplib::Server& http);

  ApiContext ctx;
  Authenticator auth;

  // Registers `handler` for `method` (GET, POST or DELETE) and the regular expression `pattern`,
  // and records `path` (OpenAPI syntax, /v1/builds/{id}) for the route table.
  void add(const std::string& method, const std::string& path, const std::string& pattern,
           RouteHandler handler);
  // `handler` behind the checks every API route makes: the body within `body_limit` (0: the
  // configured max_body_bytes) else 413, then a token granting `role` else 401 (with
  // WWW-Authenticate) or 403; whatever it throws is answered as problem+json (problem_for of
  // current_error()).
  RouteHandler guarded(server::Role role, RouteHandler handler, std::size_t body_limit = 0);

  // True (and the 503 shutting_down sent) once drain() was called: no new builds are taken.
  bool refuse_if_draining(httplib::Response& res) const;
  bool draining() const { return draining_; }
  void drain() { draining_ = true; }

  // Every route added, in order.
  const std::vector<ApiRoute>& table() const { return table_; }
  // The methods routes answer at `path` (HEAD with GET, as httplib serves it), sorted, for
  // 405's Allow; empty when no route has this path.
  std::vector<std::string> methods_at(const std::string& path) const;
  // The OpenAPI path (/v1/builds/{id}) of the first route matching `path`, for metrics labels;
  // "other" when none does.
  std::string route_of(const std::string& path) const;

private:
  httplib::Server& http_;
  std::vector<ApiRoute> table_;
  std::vector<std::pair<std::string, std::regex>> patterns_; // method, pattern; as httplib matches
  std::atomic<bool> draining_{false};
};

} // namespace oci2eif::api
