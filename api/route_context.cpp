#include "api/route_context.hpp"

#include "core/error.hpp"
#include "core/json_text.hpp"

#include <httplib.h>

namespace oci2eif::api {

void send_problem(httplib::Response& res, const Problem& p) {
  if (p.status == 429 || p.status == 503) {
    res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
  }
  if (p.status == 401) { // RFC 9110 11.6.1: every 401 says which scheme to use
    res.set_header("WWW-Authenticate", "Bearer realm=\"oci2eif\"");
  }
  res.status = p.status;
  res.set_content(problem_json(p), "application/problem+json");
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(json_text_for_display(body), "application/json");
}

Problem too_large() {
  return {413, "body_too_large", "the request body is larger than the server's limit"};
}

RouteContext::RouteContext(ApiContext context, httplib::Server& http)
    : ctx(context), auth(context.config.tokens), http_(http) {
}

void RouteContext::add(const std::string& method, const std::string& path,
                       const std::string& pattern, RouteHandler handler) {
  table_.push_back({method, path});
  if (method == "GET") {
    http_.Get(pattern, std::move(handler));
  } else if (method == "POST") {
    http_.Post(pattern, std::move(handler));
  } else {
    http_.Delete(pattern, std::move(handler));
  }
}

RouteHandler RouteContext::guarded(server::Role role, RouteHandler handler,
                                   std::size_t body_limit) {
  return [this, role, handler = std::move(handler), body_limit](const httplib::Request& req,
                                                                httplib::Response& res) {
    try {
      if (req.body.size() > (body_limit ? body_limit : ctx.config.max_body_bytes)) {
        send_problem(res, too_large());
        return;
      }
      if (auto p = auth.check(req.get_header_value("Authorization"), role)) {
        send_problem(res, *p);
        return;
      }
      handler(req, res);
    } catch (...) {
      send_problem(res, problem_for(current_error()));
    }
  };
}

bool RouteContext::refuse_if_draining(httplib::Response& res) const {
  if (!draining_) {
    return false;
  }
  send_problem(res, {503, "shutting_down",
                     "the service is shutting down and takes no new builds; retry after " +
                         std::to_string(kRetryAfterSeconds) + " s (or on another instance)"});
  return true;
}

} // namespace oci2eif::api
