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
#include "server/shared_kernels.hpp"

#include <filesystem>
#include <map>
#include <memory>
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
  // With `shared` (scale-out), uploads are published there too and the local copies follow it
  // (refresh()).
  KernelCatalog(const std::vector<KernelDir>& configured, std::filesystem::path upload_dir,
                std::shared_ptr<SharedKernels> shared = nullptr);

  bool contains(const std::string& name) const;
  // The first configured bundle, else the first uploaded one by name; "" for an empty catalog.
  // Fixed at construction: the default cannot be removed.
  const std::string& default_name() const { return default_name_; }
  // Every bundle, ordered by name.
  std::vector<KernelInfo> list() const;
  // The bundle called `name`; nothing if there is none.
  std::optional<CatalogKernel> find(const std::string& name) const;

  // find(), after a refresh() in scale-out mode (a kernel another replica took in, replaced or
  // removed a moment ago). A refresh that fails is logged and the local view is used.
  std::optional<CatalogKernel> resolve(const std::string& name);
  // Brings the uploaded bundles in line with the shared ones: fetches the new (checking each
  // against its shared digest), drops those removed elsewhere. Without `shared`, nothing.
  // Throws what SharedKernels throws (Unavailable).
  void refresh();

  // Writes the bundle to <upload dir>/<name>/ atomically (a temp directory, fsync'd, renamed)
  // and adds it. Throws InvalidInput naming the field for a bad name, an empty kernel or a name
  // already in the catalog; throws what loading the written bundle throws.
  // With `shared`, the bundle is then published there; a name another replica published first
  // is refused like a local one.
  KernelInfo add(const std::string& name, const KernelUpload& upload);
  // Removes an uploaded bundle, its directory too (renamed away first, so a crash never leaves
  // half a bundle under its name). The default and the configured ones stay. A build already
  // running with it may fail. With `shared`, the shared catalog is read first (one another
  // replica published can be removed here) and the kernel is unpublished before the local copy
  // goes; throws Unavailable when the shared catalog cannot be reached.
  KernelRemoveResult remove(const std::string& name);

private:
  void load_uploads();
  // Writes and loads bundle `name` (mutex_ held); throws InvalidInput for a taken name.
  CatalogKernel store_locally(const std::string& name, const KernelUpload& upload);
  void drop_locally(const std::string& name); // mutex_ held

  std::shared_ptr<SharedKernels> shared_;

  std::filesystem::path upload_dir_;
  std::string default_name_;
  mutable std::mutex mutex_; // guards kernels_
  std::map<std::string, CatalogKernel> kernels_;
};

} // namespace oci2eif::server
