// The pages for people (GET / and GET /builds/{id}): small server-rendered HTML made from the
// same JSON views the API returns (build_view), so the two cannot disagree. No external assets;
// everything works without JavaScript (a page of a build still going reloads itself with
// <meta http-equiv="refresh">), and the one inline script only adds copy buttons to the PCRs.
// Every value is HTML-escaped; the Content-Security-Policy allows exactly the inline style and
// script by their hashes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace oci2eif::api {

// `text` with & < > " ' as character references, and bytes that are not UTF-8 as U+FFFD.
std::string html_escape(std::string_view text);

// The list of builds: `page` is GET /v1/builds's answer ({builds: [build_view…], next_cursor}),
// `state` the state filter in use ("" for all).
std::string build_list_page(const nlohmann::json& page, const std::string& state);

// One build: `build` is its build_view, `log_tail` the end of its log.
std::string build_page(const nlohmann::json& build, const std::string& log_tail);

// A page saying `title` and `message` (for 401, 404 and the like).
std::string message_page(const std::string& title, const std::string& message);

// The Content-Security-Policy header value that lets these pages' inline style and script run
// and nothing else load.
const std::string& html_content_security_policy();

} // namespace oci2eif::api
