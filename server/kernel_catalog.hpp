// KernelCatalog: the kernel bundles builds may name. The configured bundles come first (the
// first configured one is the default); bundles uploaded through POST /v1/kernels live in
//
//   <upload dir>/<name>/{bzImage | Image, [<image>.config], [nsm.ko], [cmdline]}
//   <upload dir>/.upload-<name>-…    an upload in progress (removed at start)
//   <upload dir>/.deleted-<name>     a removal in progress (removed at start)
//
// and are loaded again at start. A configured bundle shadows an uploaded one of the same name.
// Each bundle has a digest over its kernel, cmdline, config and nsm.ko, which is part of a
// build's input key.
//
// Thread safety: every method may be called from any thread. Uploads and removals (add,
// remove) change the catalog while builds and API readers use it; they are serialised by an
// internal mutex, and readers get copies, never references into the catalog.
#pragma once

#include "core/eif_format.hpp"
#include "pipeline/kernel_bundle.hpp"
#include "server/config.hpp"

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

// A kernel of the catalog, as GET /v1/kernels shows it.
struct KernelInfo {
  std::string name;
  Arch arch = Arch::X86_64;
  std::string source;        // "configured" (incl. nitro-cli) or "uploaded"
  std::string kernel_sha256; // "sha256:<hex>" of bzImage / Image
  std::optional<std::string> config_sha256;
  std::optional<std::string> nsm_sha256;
  std::string cmdline; // the bundle's default command line
  std::string digest;  // over kernel, cmdline, config and nsm.ko (part of a build's input key)
  bool is_default = false;
};

// The files of an uploaded kernel bundle (contents, not paths).
struct KernelUpload {
  Arch arch = Arch::X86_64;
  std::string kernel; // bzImage (x86_64) or Image (aarch64)
  std::optional<std::string> config;
  std::optional<std::string> nsm_ko;
  std::optional<std::string> cmdline;
};

// What a build needs of a catalog entry: the files and the digest that identifies them.
struct CatalogKernel {
  pipeline::KernelBundle bundle;
  KernelInfo info;
};

enum class KernelRemoveResult { NotFound, Removed, IsDefault, Configured };

class KernelCatalog {
public:
  // Loads every configured bundle (throws naming the bad one) and every complete upload below
  // `upload_dir` (created if absent; an upload that does not load is logged and skipped, so one
  // bad directory does not keep the daemon from starting).
  KernelCatalog(const std::vector<KernelDir>& configured, std::filesystem::path upload_dir);

  bool contains(const std::string& name) const;
  // The first configured bundle, else the first uploaded one by name; "" for an empty catalog.
  // Fixed at construction: the default cannot be removed.
  const std::string& default_name() const { return default_name_; }
  // Every bundle, ordered by name.
  std::vector<KernelInfo> list() const;
  // The bundle called `name`; nothing if there is none.
  std::optional<CatalogKernel> find(const std::string& name) const;

  // Writes the bundle to <upload dir>/<name>/ atomically (a temp directory, fsync'd, renamed)
  // and adds it. Throws InvalidInput naming the field for a bad name, an empty kernel or a name
  // already in the catalog; throws what loading the written bundle throws.
  KernelInfo add(const std::string& name, const KernelUpload& upload);
  // Removes an uploaded bundle, its directory too (renamed away first, so a crash never leaves
  // half a bundle under its name). The default and the configured ones stay. A build already
  // running with it may fail.
  KernelRemoveResult remove(const std::string& name);

private:
  void load_uploads();

  std::filesystem::path upload_dir_;
  std::string default_name_;
  mutable std::mutex mutex_; // guards kernels_
  std::map<std::string, CatalogKernel> kernels_;
};

} // namespace oci2eif::server
