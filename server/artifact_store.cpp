#include "server/artifact_store.hpp"

#include <algorithm>
#include <array>

namespace oci2eif::server {
namespace {

constexpr std::array<std::string_view, 8> kNames{
    "image.eif",  "pcr.json",  "describe.json",           "build.json",
    "rootfs.txt", "build.log", "provenance.intoto.jsonl", "push.json"};

} // namespace

bool is_artifact_name(std::string_view name) {
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

bool is_build_id(std::string_view id) {
  return id.size() == 34 && id.substr(0, 2) == "b-" &&
         std::all_of(id.begin() + 2, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

} // namespace oci2eif::server
