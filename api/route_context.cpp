#include "api/route_context.hpp"

#include "core/error.hpp"
#include "core/json_text.hpp"

#include <algorithm>
#include <httplib.h>

namespace oci2eif::api {

void send_problem(httplib::Response& res, const Problem& p) {
  if (p.status == 429 || p.status == 503) {
    res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
  }
  if (p.status == 401) { // RFC 9110 11.6.1: every 401 says which scheme to use
    res.set_header("WWW-Authenticate", "Bearer realm=\"oci2eif\"");
    res.set_header("WWW-Authenticate", std::string(kBasicChallenge)); // browsers, following links
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

namespace {

// httplib reads a POST's body before its handler, and without Content-Length it reads until the
// connection ends: a bodiless `POST .../cancel` waited for the read timeout, then got 400. RFC
// 9112 6.3: a request with neither Content-Length nor Transfer-Encoding has no body (chunked
// ones are refused before routing). So a POST is dispatched first and reads only the body it
// announced, within the payload limit; a failed read leaves httplib's status (400, 413) for the
// error handler to answer.
// The body `req` announced, into req.body or, for multipart/form-data, req.files (as httplib's
// own reading would fill them).
bool read_body(httplib::Request& req, const httplib::ContentReader& read) {
  if (!req.is_multipart_form_data()) {
    return read([&req](const char* data, std::size_t size) {
      req.body.append(data, size);
      return true;
    });
  }
  httplib::MultipartFormData* part = nullptr;
  return read(
      [&req, &part](const httplib::MultipartFormData& header) {
        part = &req.files.emplace(header.name, header)->second;
        return true;
      },
      [&part](const char* data, std::size_t size) {
        part->content.append(data, size);
        return true;
      });
}

void add_post(httplib::Server& http, const std::string& pattern, RouteHandler handler) {
  http.Post(pattern,
            [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& read) {
              if (!req.has_header("Content-Length")) {
                handler(req, res);
                return;
              }
              httplib::Request whole = req;
              if (!read_body(whole, read)) {
                res.set_header("Connection", "close");
                return;
              }
              handler(whole, res);
            });
}

} // namespace

void RouteContext::add(const std::string& method, const std::string& path,
                       const std::string& pattern, RouteHandler handler) {
  table_.push_back({method, path});
  patterns_.emplace_back(method, std::regex(pattern));
  if (method == "GET") {
    http_.Get(pattern, std::move(handler));
  } else if (method == "POST") {
    add_post(http_, pattern, std::move(handler));
  } else {
    http_.Delete(pattern, std::move(handler));
  }
}

std::vector<std::string> RouteContext::methods_at(const std::string& path) const {
  std::vector<std::string> methods;
  for (const auto& [method, pattern] : patterns_) {
    if (std::regex_match(path, pattern)) {
      methods.push_back(method);
      if (method == "GET") {
        methods.push_back("HEAD");
      }
    }
  }
  std::sort(methods.begin(), methods.end()); // a stable Allow, whatever the order of add()
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  return methods;
}

std::string RouteContext::route_of(const std::string& path) const {
  for (std::size_t i = 0; i < patterns_.size(); ++i) { // patterns_[i] is table_[i]'s
    if (std::regex_match(path, patterns_[i].second)) {
      return table_[i].path;
    }
  }
  return "other";
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
