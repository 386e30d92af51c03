// Kernels shared by replicas: two KernelCatalogs ("replicas", each with its own upload
// directory) over one SharedKernelStore on the real PostgreSQL and S3 servers of the test
// fixtures. An upload through one is resolved, listed and removed through the other; a name is
// published once; a shared copy whose bytes do not match its digest is refused.
#include "core/error.hpp"
#include "server/kernel_catalog.hpp"
#include "server/postgres_database.hpp"
#include "server/s3_client.hpp"
#include "server/shared_kernel_store.hpp"
#include "tests/unit/s3_service.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_services.hpp"
#include "tests/unit/test_support.hpp"

#include <algorithm>
#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

std::string text_of(const std::filesystem::path& path) {
  const Bytes bytes = test::read_file(path);
  return {bytes.begin(), bytes.end()};
}

KernelUpload upload_of(const std::string& kernel) {
  KernelUpload u;
  u.kernel = kernel;
  u.cmdline = "console=ttyS0";
  u.config = "CONFIG_X=y\n";
  return u;
}

// One database schema and one bucket prefix, as a set of replicas shares them.
struct SharedServers {
  test::PostgresTestSchema schema;
  std::string prefix = test::fresh_s3_prefix();
  std::shared_ptr<S3Client> s3 = test::s3_client(prefix);
  std::shared_ptr<SharedKernels> open() {
    return open_shared_kernel_store(open_postgres_database(schema.url()), s3);
  }
};

} // namespace

TEST_SUITE("server::SharedKernelStore") {
  TEST_CASE_TEMPLATE("an upload through one replica is resolved, listed and removed through "
                     "another",
                     Services, test::ScaleOutServices) {
    SharedServers servers;
    test::TempDir a_dir, b_dir;
    KernelCatalog a({}, a_dir / "kernels", servers.open());
    KernelCatalog b({}, b_dir / "kernels", servers.open());
    const KernelInfo added = a.add("mine", upload_of("KERNEL-1"));
    CHECK_FALSE(b.find("mine")); // not fetched yet: the catalog does not poll
    const auto found = b.resolve("mine");
    REQUIRE(found);
    CHECK(found->info.digest == added.digest);
    CHECK(text_of(found->bundle.kernel) == "KERNEL-1");
    CHECK(found->bundle.kernel.string().starts_with((b_dir / "kernels").string()));
    CHECK(found->bundle.config);
    CHECK(b.remove("mine") == KernelRemoveResult::Removed);
    a.refresh();
    CHECK_FALSE(a.find("mine"));
    CHECK_FALSE(std::filesystem::exists(a_dir / "kernels" / "mine"));
    CHECK(servers.s3->list(servers.prefix + "kernels/").empty()); // its files went too
  }

  TEST_CASE_TEMPLATE("what another replica removed or replaced is what resolve answers", Services,
                     test::ScaleOutServices) {
    SharedServers servers;
    test::TempDir a_dir, b_dir;
    KernelCatalog a({}, a_dir / "kernels", servers.open());
    KernelCatalog b({}, b_dir / "kernels", servers.open());
    a.add("k", upload_of("FIRST"));
    REQUIRE(b.resolve("k")); // b holds a copy now
    CHECK(a.remove("k") == KernelRemoveResult::Removed);
    CHECK_FALSE(b.resolve("k")); // not b's stale copy
    CHECK_FALSE(std::filesystem::exists(b_dir / "kernels" / "k"));
    a.add("k", upload_of("SECOND"));
    REQUIRE(b.resolve("k"));
    CHECK(text_of(b.resolve("k")->bundle.kernel) == "SECOND");
  }

  TEST_CASE_TEMPLATE("a kernel published elsewhere and not yet fetched here can be removed here",
                     Services, test::ScaleOutServices) {
    SharedServers servers;
    test::TempDir a_dir, b_dir;
    KernelCatalog a({}, a_dir / "kernels", servers.open());
    KernelCatalog b({}, b_dir / "kernels", servers.open());
    a.add("k", upload_of("ONLY"));
    CHECK(b.remove("k") == KernelRemoveResult::Removed);
    CHECK_FALSE(a.resolve("k"));
  }

  TEST_CASE_TEMPLATE("a name is published once: the second replica's upload is refused", Services,
                     test::ScaleOutServices) {
    SharedServers servers;
    test::TempDir a_dir, b_dir;
    KernelCatalog a({}, a_dir / "kernels", servers.open());
    KernelCatalog b({}, b_dir / "kernels", servers.open());
    a.add("k", upload_of("FIRST"));
    CHECK_THROWS_WITH_AS(b.add("k", upload_of("SECOND")),
                         "field 'name': a kernel named 'k' already exists; delete it first", Error);
    CHECK_FALSE(std::filesystem::exists(b_dir / "kernels" / "k")); // nothing left behind
    CHECK(text_of(b.resolve("k")->bundle.kernel) == "FIRST");
  }

  TEST_CASE_TEMPLATE("a shared copy that does not match its digest is not loaded", Services,
                     test::ScaleOutServices) {
    SharedServers servers;
    test::TempDir a_dir, b_dir;
    KernelCatalog a({}, a_dir / "kernels", servers.open());
    const KernelInfo added = a.add("k", upload_of("GOOD"));
    const auto keys = servers.s3->list(servers.prefix + "kernels/");
    const auto kernel_key = std::find_if(
        keys.begin(), keys.end(), [](const std::string& k) { return k.ends_with("/kernel"); });
    REQUIRE(kernel_key != keys.end());
    servers.s3->put_object(*kernel_key, "EVIL");
    KernelCatalog b({}, b_dir / "kernels", servers.open());
    CHECK_FALSE(b.resolve("k"));
    CHECK_FALSE(std::filesystem::exists(b_dir / "kernels" / "k"));
    CHECK(a.find("k")->info.digest == added.digest); // the uploader's own copy is untouched
  }
}
