#include "server/build_inputs.hpp"

#include "core/sha.hpp"
#include "pipeline/version.hpp"

namespace oci2eif::server {

using nlohmann::json;

BuildInputs build_inputs(const BuildRequest& request, const registry::ResolvedImage& image,
                         const KernelIdentity& kernel, const std::string& init_digest,
                         const std::string& cmdline,
                         const std::optional<SigningIdentity>& signing) {
  BuildInputs out;
  out.inputs = {{"image",
                 {{"reference", request.image},
                  {"manifest_digest", image.manifest_digest},
                  {"config_digest", image.config_digest},
                  {"platform", image.config.platform.to_string()}}},
                {"kernel", {{"name", kernel.name}, {"digest", kernel.digest}}},
                {"init", {{"digest", init_digest}}},
                {"cmdline", cmdline},
                {"tool", {{"name", "oci2eif"}, {"version", pipeline::kVersion}}}};
  if (signing) {
    out.inputs["signing"] = {{"name", signing->name}, {"pcr8", signing->pcr8}};
  }
  out.options = json::parse(to_json(request));
  out.options.erase("labels");
  out.options.erase("image");
  out.options.erase("kernel");
  const std::string text = json{{"inputs", out.inputs}, {"options", out.options}}.dump();
  out.key = "sha256:" + to_hex(sha256(as_bytes(text)));
  return out;
}

} // namespace oci2eif::server
