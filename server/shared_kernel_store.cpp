#include "server/shared_kernel_store.hpp"

#include "core/error.hpp"
#include "server/postgres_database.hpp"
#include "server/s3_client.hpp"

#include <chrono>
#include <utility>
#include <vector>

namespace oci2eif::server {
namespace {

// The optional parts of a bundle (the kernel is always there), as object names, with the
// field of KernelUpload each fills.
struct Part {
  const char* name;
  std::optional<std::string> KernelUpload::*field;
};
constexpr Part kParts[] = {{"config", &KernelUpload::config},
                           {"nsm.ko", &KernelUpload::nsm_ko},
                           {"cmdline", &KernelUpload::cmdline}};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SharedKernelStore final : public SharedKernels {
public:
  SharedKernelStore(std::shared_ptr<PostgresDatabase> db, std::shared_ptr<S3Client> s3)
      : db_(std::move(db)), s3_(std::move(s3)) {}

  std::vector<SharedKernel> list() override {
    const PgResult r = db_->exec("SELECT name, digest FROM kernels ORDER BY name");
    std::vector<SharedKernel> out;
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back({r.text(i, 0), r.text(i, 1)});
    }
    return out;
  }

  bool put(const std::string& name, const std::string& digest,
           const KernelUpload& upload) override {
    const std::string dir = files_of(digest);
    std::string parts = "kernel";
    s3_->put_object(dir + "kernel", upload.kernel);
    for (const Part& p : kParts) {
      if (const auto& content = upload.*p.field) {
        s3_->put_object(dir + p.name, *content);
        parts += std::string(",") + p.name;
      }
    }
    const PgResult r = db_->exec(
        "INSERT INTO kernels(name, digest, arch, parts, created_ms) VALUES($1, $2, $3, $4, $5) "
        "ON CONFLICT (name) DO NOTHING",
        {name, digest, upload.arch == Arch::Aarch64 ? "aarch64" : "x86_64", parts,
         std::to_string(now_ms())});
    return r.affected() == 1; // else another replica's bundle of that name stands
  }

  KernelUpload get(const std::string& name) override {
    const PgResult r = db_->exec("SELECT digest, arch, parts FROM kernels WHERE name = $1", {name});
    if (r.rows() == 0) {
      throw Error(ErrorCode::NotFound, "shared kernel '" + name + "' does not exist");
    }
    const std::string dir = files_of(r.text(0, 0));
    const std::string parts = "," + r.text(0, 2) + ",";
    KernelUpload upload;
    upload.arch = r.text(0, 1) == "aarch64" ? Arch::Aarch64 : Arch::X86_64;
    upload.kernel = s3_->get_object(dir + "kernel");
    for (const Part& p : kParts) {
      if (parts.find(std::string(",") + p.name + ",") != std::string::npos) {
        upload.*p.field = s3_->get_object(dir + p.name);
      }
    }
    return upload;
  }

  bool remove(const std::string& name) override {
    const PgResult r = db_->exec("DELETE FROM kernels WHERE name = $1 RETURNING digest", {name});
    if (r.rows() == 0) {
      return false;
    }
    const std::string digest = r.text(0, 0);
    // The files are named by content: another name may publish the same bundle.
    if (db_->exec("SELECT 1 FROM kernels WHERE digest = $1", {digest}).rows() == 0) {
      for (const std::string& key : s3_->list(files_of(digest))) {
        s3_->delete_object(key);
      }
    }
    return true;
  }

private:
  std::string files_of(const std::string& digest) const {
    const std::string hex = digest.starts_with("sha256:") ? digest.substr(7) : digest;
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw Error(ErrorCode::Internal, "kernel digest '" + digest + "' is not sha256:<64 hex>");
    }
    return s3_->options().location.prefix + "kernels/" + hex + "/";
  }

  std::shared_ptr<PostgresDatabase> db_;
  std::shared_ptr<S3Client> s3_;
};

} // namespace

std::shared_ptr<SharedKernels> open_shared_kernel_store(std::shared_ptr<PostgresDatabase> db,
                                                        std::shared_ptr<S3Client> s3) {
  return std::make_shared<SharedKernelStore>(std::move(db), std::move(s3));
}

} // namespace oci2eif::server
