#include "server/kernel_catalog.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"

#include <chrono>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace oci2eif::server {
namespace {

bool is_kernel_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && name.front() != '.' &&
         name.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string::npos;
}

CatalogKernel load(const std::string& name, const std::filesystem::path& dir,
                   const std::string& source) {
  const Arch arch =
      pipeline::bundle_arch(dir).value_or(Arch::X86_64); // neither: load names bzImage
  CatalogKernel kernel{pipeline::load_kernel_bundle(dir, arch), {}};
  KernelInfo& info = kernel.info;
  info.name = name;
  info.arch = arch;
  info.source = source;
  info.kernel_sha256 = sha256_file_digest(kernel.bundle.kernel);
  info.cmdline = kernel.bundle.cmdline;
  std::string identity = info.kernel_sha256 + "\n" + kernel.bundle.cmdline;
  if (kernel.bundle.config) {
    info.config_sha256 = sha256_file_digest(*kernel.bundle.config);
    identity += "\n" + *info.config_sha256;
  }
  if (kernel.bundle.nsm_ko) {
    info.nsm_sha256 = sha256_file_digest(*kernel.bundle.nsm_ko);
    identity += "\n" + *info.nsm_sha256;
  }
  info.digest = sha256_digest(as_bytes(identity));
  return kernel;
}

void write_bundle(const std::filesystem::path& dir, const KernelUpload& upload) {
  const std::string image = upload.arch == Arch::Aarch64 ? "Image" : "bzImage";
  const auto put = [&](const std::string& file, const std::string& content) {
    AtomicFileWriter w(dir / file);
    w.write(as_bytes(content));
    w.commit();
  };
  put(image, upload.kernel);
  if (upload.config) {
    put(image + ".config", *upload.config);
  }
  if (upload.nsm_ko) {
    put("nsm.ko", *upload.nsm_ko);
  }
  if (upload.cmdline) {
    put("cmdline", *upload.cmdline + "\n");
  }
}

} // namespace

KernelCatalog::KernelCatalog(const std::vector<KernelDir>& configured,
                             std::filesystem::path upload_dir,
                             std::shared_ptr<SharedKernels> shared)
    : shared_(std::move(shared)), upload_dir_(std::move(upload_dir)) {
  for (const KernelDir& k : configured) {
    kernels_.emplace(k.name, load(k.name, k.dir, "configured"));
  }
  if (!configured.empty()) {
    default_name_ = configured.front().name;
  }
  load_uploads();
  try {
    refresh();
  } catch (const std::exception& e) {
    spdlog::warn("shared kernels not loaded yet: {}", e.what());
  }
  if (default_name_.empty() && !kernels_.empty()) {
    default_name_ = kernels_.begin()->first;
  }
}

void KernelCatalog::load_uploads() {
  std::filesystem::create_directories(upload_dir_);
  for (const auto& entry : std::filesystem::directory_iterator(upload_dir_)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".")) { // an upload or removal that did not complete
      std::filesystem::remove_all(entry.path());
      continue;
    }
    if (kernels_.count(name) != 0) {
      spdlog::warn("uploaded kernel '{}' is shadowed by the configured one of that name", name);
      continue;
    }
    try {
      kernels_.emplace(name, load(name, entry.path(), "uploaded"));
    } catch (const std::exception& e) {
      spdlog::error("uploaded kernel '{}' not loaded: {}", name, e.what());
    }
  }
}

bool KernelCatalog::contains(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return kernels_.count(name) != 0;
}

std::vector<KernelInfo> KernelCatalog::list() const {
  std::lock_guard lock(mutex_);
  std::vector<KernelInfo> out;
  for (const auto& [name, k] : kernels_) {
    out.push_back(k.info);
    out.back().is_default = name == default_name_;
  }
  return out;
}

std::optional<CatalogKernel> KernelCatalog::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = kernels_.find(name);
  if (it == kernels_.end()) {
    return std::nullopt;
  }
  CatalogKernel out = it->second;
  out.info.is_default = name == default_name_;
  return out;
}

std::optional<CatalogKernel> KernelCatalog::resolve(const std::string& name) {
  if (shared_) {
    try {
      refresh(); // one small query: the shared catalog is the truth, not what this replica saw
    } catch (const std::exception& e) {
      spdlog::warn("kernel '{}': the shared kernels could not be read, using this replica's "
                   "copies: {}",
                   name, e.what());
    }
  }
  return find(name);
}

void KernelCatalog::refresh() {
  if (!shared_) {
    return;
  }
  // Listed under the lock: an add() between the listing and the sync would look removed.
  std::lock_guard lock(mutex_);
  const std::vector<SharedKernel> published = shared_->list();
  std::map<std::string, std::string> wanted;
  for (const SharedKernel& k : published) {
    wanted.emplace(k.name, k.digest);
  }
  for (auto it = kernels_.begin(); it != kernels_.end();) {
    const auto& [name, k] = *it;
    const auto w = wanted.find(name);
    const bool stale =
        k.info.source == "uploaded" && (w == wanted.end() || w->second != k.info.digest);
    if (stale) {
      drop_locally(name);
      it = kernels_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, digest] : wanted) {
    if (kernels_.count(name) != 0) {
      continue; // present (or shadowed by a configured one of that name)
    }
    try {
      CatalogKernel k = store_locally(name, shared_->get(name));
      if (k.info.digest != digest) {
        drop_locally(name);
        throw Error(ErrorCode::DigestMismatch, "its files' digest is " + k.info.digest +
                                                   ", the shared catalog says " + digest);
      }
      kernels_.emplace(name, std::move(k));
    } catch (const std::exception& e) {
      spdlog::error("shared kernel '{}' not loaded: {}", name, e.what());
    }
  }
}

CatalogKernel KernelCatalog::store_locally(const std::string& name, const KernelUpload& upload) {
  const auto final_dir = upload_dir_ / name;
  const auto temp_dir =
      upload_dir_ / (".upload-" + name + "-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  if (kernels_.count(name) != 0 || std::filesystem::exists(final_dir)) {
    throw Error(ErrorCode::InvalidInput,
                "field 'name': a kernel named '" + name + "' already exists; delete it first");
  }
  std::filesystem::create_directories(temp_dir);
  try {
    write_bundle(temp_dir, upload);
    std::filesystem::rename(temp_dir, final_dir);
    fsync_directory(upload_dir_);
  } catch (...) {
    std::filesystem::remove_all(temp_dir);
    throw;
  }
  return load(name, final_dir, "uploaded");
}

void KernelCatalog::drop_locally(const std::string& name) {
  const auto doomed = upload_dir_ / (".deleted-" + name);
  std::filesystem::remove_all(doomed);
  std::filesystem::rename(upload_dir_ / name, doomed);
  fsync_directory(upload_dir_);
  std::filesystem::remove_all(doomed);
}

KernelInfo KernelCatalog::add(const std::string& name, const KernelUpload& upload) {
  if (!is_kernel_name(name)) {
    throw Error(ErrorCode::InvalidInput,
                "field 'name': '" + name +
                    "' must be 1-64 of [A-Za-z0-9._-], not starting with '.'");
  }
  if (upload.kernel.empty()) {
    throw Error(ErrorCode::InvalidInput, "field 'kernel': the kernel image is empty");
  }
  std::lock_guard lock(mutex_);
  CatalogKernel k = store_locally(name, upload);
  try {
    if (shared_ && !shared_->put(name, k.info.digest, upload)) {
      throw Error(ErrorCode::InvalidInput,
                  "field 'name': a kernel named '" + name + "' already exists; delete it first");
    }
  } catch (...) {
    drop_locally(name);
    throw;
  }
  kernels_.emplace(name, k);
  return k.info;
}

KernelRemoveResult KernelCatalog::remove(const std::string& name) {
  refresh(); // it may have been published elsewhere and not fetched here yet
  std::lock_guard lock(mutex_);
  const auto it = kernels_.find(name);
  if (it == kernels_.end()) {
    return KernelRemoveResult::NotFound;
  }
  if (name == default_name_) {
    return KernelRemoveResult::IsDefault;
  }
  if (it->second.info.source != "uploaded") {
    return KernelRemoveResult::Configured;
  }
  if (shared_) {
    shared_->remove(name); // first: a failure leaves the kernel everywhere, not half-removed
  }
  kernels_.erase(it);
  drop_locally(name);
  return KernelRemoveResult::Removed;
}

} // namespace oci2eif::server
