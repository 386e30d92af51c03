// The requests and outcomes the job-store and worker-pool tests build with.
#pragma once

#include "server/job_store.hpp"

#include <map>
#include <optional>
#include <string>

namespace oci2eif::test {

inline server::NewBuild request(const std::string& image,
                                std::map<std::string, std::string> labels = {},
                                std::optional<std::string> key = std::nullopt) {
  return {R"({"image":")" + image + R"("})", image, std::move(labels), std::move(key), {}, {}};
}

inline server::BuildOutcome success() {
  server::BuildOutcome o;
  o.input_key = "sha256:input";
  o.image_digest = "sha256:manifest";
  o.pcrs = {{"PCR0", "aa"}, {"PCR1", "bb"}};
  o.artifacts = {{"image.eif", 123, "sha256:eif"}};
  o.steps = {{"flatten", 1.5}};
  return o;
}

} // namespace oci2eif::test
