// What a start removes from a data directory a killed daemon left behind, and what it keeps.
#include "core/file_stream.hpp"
#include "server/data_dir_sweep.hpp"
#include "tests/unit/job_store_requests.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace oci2eif::test;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& path, std::size_t bytes) {
  fs::create_directories(path.parent_path());
  write_file(path, Bytes(bytes, 0x61));
}

// The name an AtomicFileWriter really gives its temporary, observed rather than restated: the
// only entry of a directory where a writer is open.
std::string live_temp_name() {
  TempDir dir;
  AtomicFileWriter writer(dir / "image.eif");
  return fs::directory_iterator(dir.path())->path().filename().string();
}

} // namespace

TEST_SUITE("server::data_dir_sweep") {
  TEST_CASE("is_atomic_temp_name knows the writer's temporaries and nothing else") {
    CHECK(is_atomic_temp_name(live_temp_name()));
    for (const char* name : {"image.eif", ".image.eif", "image.eif.tmp-abcdef", ".tmp-abcdef",
                             ".image.eif.tmp-abc", "..tmp-abcdefg"}) {
      CAPTURE(name);
      CHECK_FALSE(is_atomic_temp_name(name));
    }
  }

  TEST_CASE("scratch, unfinished downloads and half-written files go, published files stay") {
    TempDir data;
    const std::string id = "b-" + std::string(32, 'a');
    const std::string temp = live_temp_name();
    put(data / "scratch" / id / "spool" / "layer", 1000);
    put(data / "scratch" / "b-other" / "image.eif", 24);
    put(data / "cache" / "tmp" / "abcd.123.0", 100);
    put(data / "cache" / "blobs" / "sha256" / "abcd", 7);
    put(data / "artifacts" / id / temp, 10);
    put(data / "artifacts" / id / "pcr.json", 5);
    put(data / "kernels" / "uploaded" / ".bzImage.tmp-Zx9Q1a", 3);
    put(data / "kernels" / "uploaded" / "bzImage", 4);
    put(data / "logs" / (id + ".log"), 2);

    const SweepReport report = sweep_crash_leftovers(data.path());
    CHECK(report.scratch_dirs == 2);
    CHECK(report.temp_files == 3);
    CHECK(report.bytes == 1000 + 24 + 100 + 10 + 3);
    CHECK(fs::is_empty(data / "scratch"));
    CHECK(fs::is_empty(data / "cache" / "tmp"));
    CHECK_FALSE(fs::exists(data / "artifacts" / id / temp));
    CHECK_FALSE(fs::exists(data / "kernels" / "uploaded" / ".bzImage.tmp-Zx9Q1a"));
    for (const fs::path& kept :
         {data / "cache" / "blobs" / "sha256" / "abcd", data / "artifacts" / id / "pcr.json",
          data / "kernels" / "uploaded" / "bzImage", data / "logs" / (id + ".log")}) {
      CAPTURE(kept);
      CHECK(fs::exists(kept));
    }
    CHECK(sweep_crash_leftovers(data.path()).bytes == 0); // nothing left to sweep
  }

  TEST_CASE("a symlink in scratch is removed, never followed") {
    TempDir data;
    TempDir outside;
    put(outside / "precious", 9);
    fs::create_directories(data / "scratch");
    fs::create_directory_symlink(outside.path(), data / "scratch" / "b-link");
    CHECK(sweep_crash_leftovers(data.path()).scratch_dirs == 1);
    CHECK_FALSE(fs::exists(fs::symlink_status(data / "scratch" / "b-link")));
    CHECK(fs::exists(outside / "precious"));
  }

  TEST_CASE("artifact directories of builds the job store does not know are reported") {
    TempDir data;
    auto jobs = open_sqlite_job_store((data / "jobs.db").string(), system_clock());
    const std::string known = jobs->enqueue(request("a")).id;
    const std::string unknown_a = "b-" + std::string(32, '0');
    const std::string unknown_b = "b-" + std::string(32, 'f');
    for (const std::string& id : {known, unknown_b, unknown_a}) {
      put(data / "artifacts" / id / "pcr.json", 1);
    }
    put(data / "artifacts" / "not-a-build" / "x", 1);
    CHECK(orphaned_artifact_dirs(data / "artifacts", *jobs) ==
          std::vector<std::string>{unknown_a, unknown_b});
    CHECK(fs::exists(data / "artifacts" / unknown_a / "pcr.json")); // reported, not removed
  }
}
