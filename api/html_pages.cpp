#include "api/html_pages.hpp"

#include "api/build_view.hpp"

#include <array>
#include <cstdio>
#include <openssl/evp.h>
#include <openssl/sha.h>

namespace oci2eif::api {
namespace {

// One stylesheet and one script for every page: inline (no external assets), allowed by hash.
constexpr std::string_view kStyle = R"(
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6em 1.2em}header a{color:#fff;font-weight:600;text-decoration:none}
main{padding:1em 1.2em;max-width:72em}h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;background:#fff;width:100%}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-weight:600;color:#555;background:#eef0f3}code,pre{font:13px/1.4 ui-monospace,monospace}
code{word-break:break-all}pre{background:#fff;border:1px solid #e3e6ea;padding:.7em;overflow:auto;max-height:28em;white-space:pre-wrap}
.state{display:inline-block;padding:.05em .55em;border-radius:.8em;font-size:.85em;font-weight:600;color:#fff}
.queued{background:#6b7280}.running{background:#2563eb}.succeeded{background:#15803d}.failed{background:#b91c1c}.cancelled{background:#b45309}
.label{display:inline-block;background:#e8ebf0;border-radius:.3em;padding:0 .35em;margin:0 .2em .2em 0;font-size:.85em}
nav a{margin-right:.8em}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em;background:#fff;padding:.7em;border:1px solid #e3e6ea}
dt{color:#555}dd{margin:0}.error{border-left:4px solid #b91c1c;background:#fff;padding:.5em .8em}
button.copy{font-size:.8em;margin-left:.5em}.muted{color:#6b7280}code.id{word-break:normal;white-space:nowrap}
)";

constexpr std::string_view kScript = R"(
for (const b of document.querySelectorAll('button.copy')) {
  b.hidden = false;
  b.addEventListener('click', () => {
    const text = document.getElementById(b.dataset.target).textContent;
    navigator.clipboard.writeText(text).then(() => { b.textContent = 'Copied'; });
  });
}
)";

std::string base64_sha256(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  std::array<unsigned char, 4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1> out{};
  EVP_EncodeBlock(out.data(), digest.data(), static_cast<int>(digest.size()));
  return reinterpret_cast<const char*>(out.data());
}

// The length of the UTF-8 sequence at the start of `s`, or 0 if it is not a valid one.
std::size_t utf8_length(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto tail = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  if (b(0) < 0x80) {
    return 1;
  }
  if (b(0) >= 0xC2 && b(0) <= 0xDF) {
    return tail(1) ? 2 : 0;
  }
  if (b(0) >= 0xE0 && b(0) <= 0xEF) {
    const bool ok = tail(1) && tail(2) && !(b(0) == 0xE0 && b(1) < 0xA0) &&
                    !(b(0) == 0xED && b(1) >= 0xA0); // overlong, surrogates
    return ok ? 3 : 0;
  }
  if (b(0) >= 0xF0 && b(0) <= 0xF4) {
    const bool ok = tail(1) && tail(2) && tail(3) && !(b(0) == 0xF0 && b(1) < 0x90) &&
                    !(b(0) == 0xF4 && b(1) >= 0x90);
    return ok ? 4 : 0;
  }
  return 0;
}

std::string text_of(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.is_null() ? "" : value.dump();
}

std::string escaped(const nlohmann::json& value) {
  return html_escape(text_of(value));
}

// An URL query value: everything but unreserved characters percent-encoded.
std::string query_value(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string state_badge(const nlohmann::json& build) {
  const std::string state = text_of(build.value("state", nlohmann::json()));
  return "<span class=\"state " + html_escape(state) + "\">" + html_escape(state) + "</span>";
}

std::string labels_html(const nlohmann::json& build) {
  std::string out;
  const nlohmann::json labels = build.value("labels", nlohmann::json::object());
  for (const auto& [key, value] : labels.items()) {
    out += "<span class=\"label\">" + html_escape(key) + "=" + escaped(value) + "</span>";
  }
  return out;
}

// The page around `body`; `refresh_seconds` > 0 reloads it (a build still going).
std::string page(const std::string& title, const std::string& body, int refresh_seconds = 0) {
  std::string head = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                     "<title>" +
                     html_escape(title) + " · oci2eif</title><style>" + std::string(kStyle) +
                     "</style>";
  if (refresh_seconds > 0) {
    head += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
  }
  return head + "</head>\n<body><header><a href=\"/\">oci2eif</a> · builds</header><main>" + body +
         "</main><script>" + std::string(kScript) + "</script></body></html>\n";
}

std::string list_row(const nlohmann::json& b) {
  const std::string id = escaped(b.value("id", nlohmann::json()));
  return "<tr><td><a href=\"/builds/" + id + "\"><code class=\"id\">" + id +
         "</code></a></td><td>" + state_badge(b) + "</td><td>" +
         escaped(b.value("image", nlohmann::json())) + "</td><td>" + labels_html(b) + "</td><td>" +
         escaped(b.value("created_at", nlohmann::json())) + "</td><td>" +
         escaped(b.value("finished_at", nlohmann::json())) + "</td></tr>\n";
}

std::string state_filter(const std::string& current) {
  std::string out = "<nav>";
  for (const char* s : {"", "queued", "running", "succeeded", "failed", "cancelled"}) {
    const std::string name = *s ? s : "all";
    const std::string href = *s ? "/?state=" + std::string(s) : "/";
    out += current == s ? "<strong>" + name + "</strong> "
                        : "<a href=\"" + href + "\">" + name + "</a> ";
  }
  return out + "</nav>";
}

std::string pcr_rows(const nlohmann::json& pcrs) {
  std::string rows;
  for (const auto& [name, value] : pcrs.items()) {
    const std::string id = "pcr-" + html_escape(name);
    rows += "<tr><th>" + html_escape(name) + "</th><td><code id=\"" + id + "\">" + escaped(value) +
            "</code><button type=\"button\" class=\"copy\" data-target=\"" + id +
            "\" hidden>Copy</button></td></tr>\n";
  }
  return "<h2>Measurements</h2><table>" + rows + "</table>";
}

std::string step_rows(const nlohmann::json& steps) {
  std::string rows;
  for (const auto& s : steps) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f s", s.value("seconds", 0.0));
    rows += "<tr><td>" + escaped(s.value("step", nlohmann::json())) + "</td><td>" + seconds +
            "</td></tr>\n";
  }
  return "<h2>Steps</h2><table><tr><th>step</th><th>time</th></tr>" + rows + "</table>";
}

std::string artifact_rows(const nlohmann::json& artifacts) {
  std::string rows;
  for (const auto& a : artifacts) {
    rows += "<tr><td><a href=\"" + escaped(a.value("url", nlohmann::json())) + "\">" +
            escaped(a.value("name", nlohmann::json())) + "</a></td><td>" +
            escaped(a.value("size", nlohmann::json())) + " bytes</td><td><code>" +
            escaped(a.value("sha256", nlohmann::json())) + "</code></td></tr>\n";
  }
  return "<h2>Artifacts</h2><table><tr><th>file</th><th>size</th><th>sha256</th></tr>" + rows +
         "</table>";
}

std::string facts(const nlohmann::json& b) {
  std::string out = "<dl>";
  const auto fact = [&](const char* title, const char* key, bool code = false) {
    if (b.contains(key)) {
      const std::string v = escaped(b[key]);
      out += std::string("<dt>") + title + "</dt><dd>" + (code ? "<code>" + v + "</code>" : v) +
             "</dd>";
    }
  };
  fact("Image", "image");
  fact("Image digest", "image_digest", true);
  fact("Created", "created_at");
  fact("Started", "started_at");
  fact("Finished", "finished_at");
  fact("Attempts", "attempts");
  fact("Worker", "worker");
  if (!b.value("labels", nlohmann::json::object()).empty()) {
    out += "<dt>Labels</dt><dd>" + labels_html(b) + "</dd>";
  }
  return out + "</dl>";
}

} // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t n = utf8_length(text);
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD
      text.remove_prefix(1);
      continue;
    }
    switch (text[0]) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out.append(text.substr(0, n));
    }
    text.remove_prefix(n);
  }
  return out;
}

std::string build_list_page(const nlohmann::json& page_view, const std::string& state) {
  const nlohmann::json& builds = page_view.at("builds");
  std::string rows;
  bool going = false;
  for (const auto& b : builds) {
    rows += list_row(b);
    going = going || !view_is_terminal(b);
  }
  std::string body = "<h1>Builds</h1>" + state_filter(state);
  if (builds.empty()) {
    body +=
        "<p class=\"muted\">No builds" + (state.empty() ? "" : " " + html_escape(state)) + ".</p>";
  } else {
    body += "<table><tr><th>build</th><th>state</th><th>image</th><th>labels</th>"
            "<th>created (UTC)</th><th>finished (UTC)</th></tr>\n" +
            rows + "</table>";
  }
  const std::string next = text_of(page_view.value("next_cursor", nlohmann::json()));
  if (!next.empty()) {
    body += "<p><a href=\"/?" + (state.empty() ? "" : "state=" + query_value(state) + "&") +
            "cursor=" + query_value(next) + "\">Older builds</a></p>";
  }
  return page("Builds", body, going ? 5 : 0);
}

std::string build_page(const nlohmann::json& b, const std::string& log_tail) {
  const std::string id = escaped(b.value("id", nlohmann::json()));
  std::string body = "<h1>Build <code>" + id + "</code> " + state_badge(b) + "</h1>" + facts(b);
  if (b.contains("error")) {
    body += "<h2>Error</h2><p class=\"error\"><code>" + escaped(b["error"].value("code", "")) +
            "</code> " + escaped(b["error"].value("message", "")) + "</p>";
  }
  if (b.contains("pcrs")) {
    body += pcr_rows(b["pcrs"]);
  }
  if (b.contains("steps")) {
    body += step_rows(b["steps"]);
  }
  if (b.contains("artifacts")) {
    body += artifact_rows(b["artifacts"]);
  }
  const std::string log = "/v1/builds/" + id + "/log";
  body += "<h2>Log</h2><p><a href=\"" + log + "\">whole log</a> · <a href=\"" + log +
          "?follow=1\">follow live</a> · <a href=\"/v1/builds/" + id + "\">JSON</a></p><pre>" +
          html_escape(log_tail) + "</pre>";
  return page("Build " + text_of(b.value("id", nlohmann::json())), body,
              view_is_terminal(b) ? 0 : 3);
}

std::string message_page(const std::string& title, const std::string& message) {
  return page(title, "<h1>" + html_escape(title) + "</h1><p>" + html_escape(message) + "</p>");
}

const std::string& html_content_security_policy() {
  static const std::string policy =
      "default-src 'none'; style-src 'sha256-" + base64_sha256(kStyle) + "'; script-src 'sha256-" +
      base64_sha256(kScript) + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  return policy;
}

} // namespace oci2eif::api
