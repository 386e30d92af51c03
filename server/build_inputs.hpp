// The resolved inputs of a service build and the key over them. Two requests with equal keys
// produce the same EIF (the build is reproducible), so the API answers the second with the
// first build instead of building again; build.json records the same inputs as provenance.
//
// The key covers what determines the output: the image as requested (its name and tag become the
// EIF's default name and version), its resolved manifest and config digests and platform (so a
// tag that moved is a new key), the kernel bundle's digest, the init binary's digest, the
// effective command line, the signing certificate, every build option, and the tool version.
// Labels are not inputs: they only annotate a build.
#pragma once

#include "registry/image_source.hpp"
#include "server/build_request.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace oci2eif::server {

struct KernelIdentity {
  std::string name;
  std::string digest; // KernelInfo::digest
};

struct SigningIdentity {
  std::string name;
  std::string pcr8; // of the certificate
};

struct BuildInputs {
  nlohmann::json inputs;  // image, kernel, init, cmdline, tool
  nlohmann::json options; // the request's options (entrypoint, cmd, env, compress, …)
  std::string key;        // "sha256:<hex>" over both
};

BuildInputs build_inputs(const BuildRequest& request, const registry::ResolvedImage& image,
                         const KernelIdentity& kernel, const std::string& init_digest,
                         const std::string& cmdline, const std::optional<SigningIdentity>& signing);

} // namespace oci2eif::server
