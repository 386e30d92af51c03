#include "server/build_row_codec.hpp"

#include "core/error.hpp"

#include <nlohmann/json.hpp>
#include <random>

namespace oci2eif::server {

std::string new_build_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "b-";
  for (int i = 0; i < 2; ++i) {
    std::uint64_t v = rng();
    for (int j = 0; j < 16; ++j, v >>= 4) {
      id += kHex[v & 15];
    }
  }
  return id;
}

std::string outcome_result_json(const BuildOutcome& o) {
  nlohmann::json artifacts = nlohmann::json::array();
  for (const ArtifactInfo& a : o.artifacts) {
    artifacts.push_back({{"name", a.name}, {"size", a.size}, {"sha256", a.sha256}});
  }
  nlohmann::json steps = nlohmann::json::array();
  for (const pipeline::StepTiming& s : o.steps) {
    steps.push_back({{"step", s.step}, {"seconds", s.seconds}});
  }
  return nlohmann::json{{"image_digest", o.image_digest},
                        {"pcrs", o.pcrs},
                        {"artifacts", artifacts},
                        {"steps", steps}}
      .dump();
}

void read_outcome_result(const std::string& text, BuildOutcome& o) {
  if (text.empty()) {
    return;
  }
  const nlohmann::json j = nlohmann::json::parse(text);
  o.image_digest = j.value("image_digest", "");
  o.pcrs = j.value("pcrs", std::map<std::string, std::string>{});
  for (const auto& a : j.at("artifacts")) {
    o.artifacts.push_back({a.at("name"), a.at("size"), a.at("sha256")});
  }
  for (const auto& s : j.at("steps")) {
    o.steps.push_back({s.at("step"), s.at("seconds")});
  }
}

std::int64_t parse_list_cursor(const std::string& cursor) {
  std::size_t used = 0;
  std::int64_t v = 0;
  try {
    v = std::stoll(cursor, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != cursor.size() || v <= 0) {
    throw Error(ErrorCode::InvalidInput, "cursor '" + cursor +
                                             "' is not one this server returned; start "
                                             "again without a cursor");
  }
  return v;
}

} // namespace oci2eif::server
