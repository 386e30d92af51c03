// What `build`, `rootfs` and `pull` share: the image and platform they name, the enclave's
// architecture, a private scratch directory, and atomic text output.
#pragma once

#include "cli/commands.hpp"
#include "cli/progress_display.hpp"
#include "core/eif_format.hpp"
#include "pipeline/image_reference.hpp"
#include "registry/platform.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace oci2eif::cli {

// The one image the flags name (--image, --oci-layout, --oci-archive or --docker-archive), with
// the registry flags applied; InvalidInput unless exactly one is given.
pipeline::ImageRef image_ref(const BuildOptions& o);
// The registry flags of `o` (TLS trust, plain-HTTP hosts, cache, mirrors, timeouts): the pull's,
// and `build --push`'s.
registry::RegistryOptions registry_options(const BuildOptions& o);

// --arch when given; else the kernel bundle's (a nitro-cli blobs directory holds one kernel,
// bzImage or Image, so it names the architecture); else x86_64.
Arch enclave_arch(const BuildOptions& o);

// --platform when given, else the one matching `arch`.
registry::Platform platform_of(const BuildOptions& o, Arch arch);

// The progress display --progress, --quiet and stderr (BuildOptions::terminal) ask for, writing
// to `log`.
std::unique_ptr<ProgressDisplay> progress_display(const BuildOptions& o, std::ostream& log);

// Writes `text` to `path` atomically (temp file, fsync, rename).
void write_text(const std::filesystem::path& path, const std::string& text);

// A private scratch directory for one command, removed afterwards; a --scratch-dir the user
// named must be empty, and is emptied (not removed) afterwards.
class Scratch {
public:
  explicit Scratch(const std::optional<std::filesystem::path>& given);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
  bool owned_ = false;
};

} // namespace oci2eif::cli
