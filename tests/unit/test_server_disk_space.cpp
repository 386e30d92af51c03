// A full disk: errno and SQLite's SQLITE_FULL become ErrorCode::NoSpace ("disk_full"), the
// free-space floor, and workers that leave queued builds queued while below it.
#include "api/problem.hpp"
#include "core/error.hpp"
#include "server/disk_space.hpp"
#include "server/job_store.hpp"
#include "server/sqlite_db.hpp"
#include "server/worker_pool.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <cerrno>
#include <doctest/doctest.h>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace std::chrono_literals;

namespace {
ErrorCode code_of_errno(int e) {
  try {
    errno = e;
    throw_errno("write /data/x");
  } catch (const Error& error) {
    return error.code();
  }
  return ErrorCode::Internal;
}
} // namespace

TEST_SUITE("server::disk_space") {
  TEST_CASE("ENOSPC and EDQUOT are disk_full - other failures stay io") {
    CHECK(code_of_errno(ENOSPC) == ErrorCode::NoSpace);
    CHECK(code_of_errno(EDQUOT) == ErrorCode::NoSpace);
    CHECK(code_of_errno(EACCES) == ErrorCode::Io);
    CHECK(code_of_errno(EIO) == ErrorCode::Io);
    CHECK(error_code_name(ErrorCode::NoSpace) == "disk_full");
    CHECK(code_for(std::make_error_code(std::errc::no_space_on_device)) == ErrorCode::NoSpace);
    CHECK(code_for(std::make_error_code(std::errc::permission_denied)) == ErrorCode::Io);
    CHECK(test::error_of([] {
            errno = ENOSPC;
            throw_errno("cannot write /data/x");
          }) == "cannot write /data/x: No space left on device");
  }

  TEST_CASE("the API answers a std::filesystem 'no space' failure 503 disk_full, others 500 io") {
    const auto full = api::problem_for(error_from_exception(std::make_exception_ptr(
        std::filesystem::filesystem_error("cannot create directory", "/data/kernels/k",
                                          std::make_error_code(std::errc::no_space_on_device)))));
    CHECK(full.status == 503);
    CHECK(full.code == "disk_full");
    CHECK(full.detail.find("/data/kernels/k") != std::string::npos);
    const auto denied = api::problem_for(
        error_from_exception(std::make_exception_ptr(std::filesystem::filesystem_error(
            "cannot create directory", std::make_error_code(std::errc::permission_denied)))));
    CHECK(denied.status == 500);
    CHECK(denied.code == "io");
    CHECK(api::problem_for(Error(ErrorCode::NoSpace, "x")).status == 503);
  }

  TEST_CASE("the floor: below it a reason naming the directory and both sizes, else none") {
    const std::uint64_t mib = 1 << 20;
    CHECK_FALSE(low_space_reason("/d", 200 * mib, 100 * mib));
    CHECK_FALSE(low_space_reason("/d", 100 * mib, 100 * mib));
    CHECK_FALSE(low_space_reason("/d", 0, 0)); // floor 0: never held
    const auto reason = low_space_reason("/srv/oci2eif", 3 * mib / 2, 100 * mib);
    REQUIRE(reason);
    CHECK(*reason == "the data directory /srv/oci2eif has 1.5 MiB free, below min_free_mb "
                     "(100.0 MiB): free some space (old builds: DELETE /v1/builds/{id})");
  }

  TEST_CASE("free space is read from the filesystem - a missing directory is an error naming it") {
    test::TempDir dir;
    CHECK(available_bytes(dir.path()) > 0);
    CHECK_FALSE(check_free_space(dir.path(), 1));
    CHECK(check_free_space(dir.path(), std::uint64_t{1} << 62)); // more than any disk
    CHECK(test::error_of([&] {
            available_bytes(dir / "missing");
          }).find("cannot read the free space of " + (dir / "missing").string()) == 0);
  }

  TEST_CASE("SQLITE_FULL is disk_full, with the database named") {
    test::TempDir dir;
    SqliteDb db((dir / "t.db").string());
    db.exec("CREATE TABLE t (v BLOB)");
    db.exec("PRAGMA max_page_count = 8"); // SQLite's own way to run out of room
    Error failure(ErrorCode::Internal, "not reached");
    try {
      for (int i = 0; i < 100; ++i) {
        db.exec("INSERT INTO t VALUES (zeroblob(4096))");
      }
    } catch (const Error& e) {
      failure = e;
    }
    CHECK(failure.code() == ErrorCode::NoSpace);
    CHECK(std::string(failure.what()).find("database " + (dir / "t.db").string()) == 0);
    CHECK(std::string(failure.what()).find("database or disk is full") != std::string::npos);
  }

  TEST_CASE("a held worker pool leaves queued builds queued, and takes them once released") {
    test::TempDir dir;
    auto store = open_sqlite_job_store((dir / "jobs.db").string(), system_clock());
    const auto id = store->enqueue({R"({"image":"a"})", "a", {}, {}, {}, {}}).id;
    std::atomic<bool> low{true};
    std::atomic<int> holds{0};
    std::atomic<int> runs{0};
    WorkerPoolOptions options;
    options.idle_poll = 10ms;
    options.hold = [&]() -> std::optional<std::string> {
      ++holds;
      return low ? std::optional<std::string>("the disk is full") : std::nullopt;
    };
    WorkerPool pool(
        *store,
        [&](const BuildRecord&, const Interrupt&) {
          ++runs;
          return BuildOutcome{};
        },
        options);
    pool.start();
    for (int i = 0; i < 1000 && holds < 5; ++i) { // the worker looked several times
      std::this_thread::sleep_for(5ms);
    }
    CHECK(holds >= 5);
    CHECK(runs == 0);
    CHECK(store->get(id)->state == BuildState::Queued);
    low = false;
    for (int i = 0; i < 1000 && !is_terminal(store->get(id)->state); ++i) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(runs == 1);
    CHECK(store->get(id)->state == BuildState::Succeeded);
    pool.stop();
  }
}
