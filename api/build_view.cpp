#include "api/build_view.hpp"

#include <ctime>

namespace oci2eif::api {

std::string rfc3339_ms(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

nlohmann::json build_view(const server::BuildRecord& b) {
  const std::string self = "/v1/builds/" + b.id;
  nlohmann::json j = {
      {"id", b.id},
      {"state", server::build_state_name(b.state)},
      {"image", b.image},
      {"labels", b.labels},
      {"created_at", rfc3339_ms(b.created_ms)},
      {"attempts", b.attempts},
      {"links", {{"self", self}, {"log", self + "/log"}, {"cancel", self + "/cancel"}}}};
  if (b.started_ms) {
    j["started_at"] = rfc3339_ms(*b.started_ms);
  }
  if (b.finished_ms) {
    j["finished_at"] = rfc3339_ms(*b.finished_ms);
  }
  if (!b.worker_id.empty()) {
    j["worker"] = b.worker_id; // REPLICA-wN: which replica holds (or last held) the lease
  }
  if (b.cancel_requested && !server::is_terminal(b.state)) {
    j["cancel_requested"] = true;
  }
  const server::BuildOutcome& o = b.outcome;
  if (!server::is_terminal(b.state)) {
    return j;
  }
  if (!o.image_digest.empty()) {
    j["image_digest"] = o.image_digest;
  }
  if (!o.input_key.empty()) {
    j["input_key"] = o.input_key;
  }
  if (!o.pcrs.empty()) {
    j["pcrs"] = o.pcrs;
  }
  if (!o.steps.empty()) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : o.steps) {
      steps.push_back({{"step", s.step}, {"seconds", s.seconds}});
    }
    j["steps"] = steps;
  }
  if (!o.artifacts.empty()) {
    nlohmann::json artifacts = nlohmann::json::array();
    for (const auto& a : o.artifacts) {
      artifacts.push_back({{"name", a.name},
                           {"size", a.size},
                           {"sha256", a.sha256},
                           {"url", self + "/artifacts/" + a.name}});
    }
    j["artifacts"] = artifacts;
  }
  if (!o.error_code.empty()) {
    j["error"] = {{"code", o.error_code}, {"message", o.error_message}};
  }
  return j;
}

bool view_is_terminal(const nlohmann::json& view) {
  const auto state = view.find("state");
  const auto parsed = state != view.end() && state->is_string()
                          ? server::parse_build_state(state->get<std::string>())
                          : std::nullopt;
  return parsed && server::is_terminal(*parsed);
}

nlohmann::json build_list_view(const server::BuildPage& page) {
  nlohmann::json builds = nlohmann::json::array();
  for (const auto& b : page.builds) {
    builds.push_back(build_view(b));
  }
  nlohmann::json body = {{"builds", builds}};
  if (!page.next_cursor.empty()) {
    body["next_cursor"] = page.next_cursor;
  }
  return body;
}

} // namespace oci2eif::api
