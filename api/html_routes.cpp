// GET / and GET /builds/{id}: the HTML pages (html_pages.hpp) with the data the JSON routes give,
// behind the same tokens. A browser cannot send a Bearer header from its address bar, so a
// page's 401 challenges with Basic: the browser asks once, then sends the token (as the
// password) with every page and with the API links on them (the artifacts, the log).
#include "api/build_view.hpp"
#include "api/html_pages.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"

#include <httplib.h>

namespace oci2eif::api {
namespace {

// The end of a build's log shown on its page; the whole log is one link away.
constexpr std::size_t kLogTailBytes = 64 << 10;

void send_page(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_header("Content-Security-Policy", html_content_security_policy());
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html; charset=utf-8");
}

// `page` behind a read-role token check that answers as a page too.
RouteHandler page_guarded(RouteContext& routes, RouteHandler page) {
  return [&routes, page = std::move(page)](const httplib::Request& req, httplib::Response& res) {
    if (auto p = routes.auth.check(req.get_header_value("Authorization"), server::Role::Read)) {
      if (p->status == 401) {
        res.set_header("WWW-Authenticate", std::string(kBasicChallenge));
      }
      send_page(res, p->status,
                message_page(p->status == 401 ? "Sign in" : "Forbidden",
                             p->status == 401 ? "This server needs an API token with role read: "
                                                "give it as the password (any user name)."
                                              : p->detail));
      return;
    }
    try {
      page(req, res);
    } catch (...) {
      const Problem p = problem_for(current_error());
      send_page(res, p.status,
                message_page(p.status == 404 ? "Not found" : "Error " + std::to_string(p.status),
                             p.detail));
    }
  };
}

// The last kLogTailBytes of the log of `id`, from the start of a line.
std::string log_tail(server::BuildLogStore& logs, const std::string& id) {
  std::string tail;
  for (std::uint64_t offset = 0;;) {
    const std::string part = logs.read(id, offset, kLogTailBytes);
    if (part.empty()) {
      break;
    }
    offset += part.size();
    tail += part;
    if (tail.size() > 2 * kLogTailBytes) {
      tail.erase(0, tail.size() - kLogTailBytes);
    }
  }
  if (tail.size() > kLogTailBytes) {
    tail.erase(0, tail.size() - kLogTailBytes);
    tail.erase(0, tail.find('\n') + 1);
  }
  return tail;
}

void list_page(const ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  server::BuildFilter filter;
  const std::string state = req.get_param_value("state");
  if (!state.empty()) {
    filter.state = server::parse_build_state(state);
    if (!filter.state) {
      throw Error(ErrorCode::InvalidInput, "no such state: '" + state + "'");
    }
  }
  filter.cursor = req.get_param_value("cursor");
  send_page(res, 200, build_list_page(build_list_view(ctx.store.list(filter)), state));
}

void one_build_page(const ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  const auto build = ctx.store.get(id);
  if (!build) {
    throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
  }
  send_page(res, 200, build_page(build_view(*build), log_tail(ctx.logs, id)));
}

} // namespace

void add_html_routes(RouteContext& routes) {
  const ApiContext& ctx = routes.ctx;
  routes.add("GET", "/", "/",
             page_guarded(routes, [&ctx](const auto& q, auto& s) { list_page(ctx, q, s); }));
  routes.add("GET", "/builds/{id}", "/builds/([^/]+)",
             page_guarded(routes, [&ctx](const auto& q, auto& s) { one_build_page(ctx, q, s); }));
}

} // namespace oci2eif::api
