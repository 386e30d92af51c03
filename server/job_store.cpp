#include "server/job_store.hpp"

#include <array>

namespace oci2eif::server {
namespace {

constexpr std::array<std::pair<BuildState, std::string_view>, 5> kStateNames{{
    {BuildState::Queued, "queued"},
    {BuildState::Running, "running"},
    {BuildState::Succeeded, "succeeded"},
    {BuildState::Failed, "failed"},
    {BuildState::Cancelled, "cancelled"},
}};

} // namespace

std::string_view build_state_name(BuildState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) {
      return name;
    }
  }
  return "unknown";
}

std::optional<BuildState> parse_build_state(std::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (n == name) {
      return s;
    }
  }
  return std::nullopt;
}

bool is_terminal(BuildState state) {
  return state == BuildState::Succeeded || state == BuildState::Failed ||
         state == BuildState::Cancelled;
}

Clock system_clock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

} // namespace oci2eif::server
