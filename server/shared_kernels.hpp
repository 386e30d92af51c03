// SharedKernels: where replicas share the kernel bundles uploaded through POST /v1/kernels
// (docs/scale-out.md): the catalog rows in the database, the files in the object store. Each
// replica's KernelCatalog keeps a local copy of every shared bundle below its upload directory
// (builds read files) and refreshes it from here; without SharedKernels (the embedded mode) the
// upload directory is the only copy.
// Implementations are safe to call from several threads and processes; they throw Unavailable
// when the database or object store cannot be reached.
#pragma once

#include "core/eif_format.hpp"

#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

// The files of an uploaded kernel bundle (contents, not paths).
struct KernelUpload {
  Arch arch = Arch::X86_64;
  std::string kernel; // bzImage (x86_64) or Image (aarch64)
  std::optional<std::string> config;
  std::optional<std::string> nsm_ko;
  std::optional<std::string> cmdline;
};

struct SharedKernel {
  std::string name;
  std::string digest; // KernelInfo::digest of the bundle, checked against each local copy
};

class SharedKernels {
public:
  virtual ~SharedKernels() = default;
  // Every shared bundle, by name.
  virtual std::vector<SharedKernel> list() = 0;
  // Stores the bundle's files, then publishes it under `name` (atomically: others see all of it
  // or nothing). False, storing nothing, when another replica published that name first.
  virtual bool put(const std::string& name, const std::string& digest,
                   const KernelUpload& upload) = 0;
  // The files of bundle `name`; throws NotFound if it is not (or no longer) shared.
  virtual KernelUpload get(const std::string& name) = 0;
  // Unpublishes `name` and deletes its files; false if it was not shared.
  virtual bool remove(const std::string& name) = 0;
};

} // namespace oci2eif::server
