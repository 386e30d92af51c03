// The daemon's HTTP API in process, for the cases that speak HTTP to it: SQLite, artifact and
// log directories in a temporary directory, three tokens (one per role), a kernel "test" (bytes
// only), an allowed local-image directory holding nothing buildable, no workers running
// (builds stay queued unless a case finishes them), and the server on a reserved 127.0.0.1 port,
// stopped by the destructor. Serving::No binds but leaves starting run() to the case.
#pragma once

#include "api/http_api.hpp"
#include "tests/unit/test_support.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace oci2eif::test {

inline constexpr const char* kReadToken = "read-token-0123456789abcdef0123";
inline constexpr const char* kBuildToken = "build-token-0123456789abcdef012";
inline constexpr const char* kAdminToken = "admin-token-0123456789abcdef012";

class ApiHarness {
public:
  enum class Serving { Yes, No };
  explicit ApiHarness(Serving serving = Serving::Yes,
                      const std::function<void(server::ServeConfig&)>& configure = {});
  ~ApiHarness();
  ApiHarness(const ApiHarness&) = delete;
  ApiHarness& operator=(const ApiHarness&) = delete;

  int port() const { return port_; }
  server::JobStore& store() { return *store_; }
  server::BuildLogStore& logs() { return *logs_; }
  const std::filesystem::path& data_dir() const { return dir_.path(); }
  const api::HttpApi& http() const { return *http_; }
  api::HttpApi& http() { return *http_; }

  // An image string POST /v1/builds accepts (an allowed local path; nothing to build there).
  std::string image() const;

  // A succeeded build whose image.eif holds `eif`; returns its id.
  std::string succeeded_build(const std::string& eif);

  // Claims the oldest queued build and finishes it with `outcome`, publishing `artifacts`
  // (name → bytes) for it; the build's id, or "" while none is queued.
  std::string finish_next(server::BuildOutcome outcome,
                          const std::map<std::string, std::string>& artifacts = {});

  // A new connection to the server (the caller closes it); its reads time out after 5 s.
  int connect() const;

  // Sends `request` as it is on a new connection and returns everything the server sends until
  // it closes the connection or 5 s pass.
  std::string raw(const std::string& request) const;

private:
  TempDir dir_;
  server::ServeConfig config_;
  std::unique_ptr<server::JobStore> store_;
  std::unique_ptr<server::ArtifactStore> artifacts_;
  std::unique_ptr<server::KernelCatalog> kernels_;
  std::unique_ptr<server::SigningKeys> signing_keys_;
  std::unique_ptr<server::BuildLogStore> logs_;
  std::unique_ptr<server::WebhookDedupe> dedupe_;
  std::unique_ptr<server::BuildRunner> runner_;
  std::unique_ptr<server::WorkerPool> pool_;
  std::unique_ptr<server::Metrics> metrics_;
  std::unique_ptr<server::DependencyMonitor> dependencies_;
  std::unique_ptr<api::HttpApi> http_;
  int port_ = 0;
  std::thread thread_;
};

} // namespace oci2eif::test
