// The BuildLogStore conformance suite (build_log_store.hpp's contracts), run through each backend
// of OCI2EIF_BUILD_LOG_STORE_BACKENDS (store_backends.hpp); then the directory store's layout and
// BuildLogStream, the ostream the runner writes through.
#include "core/error.hpp"
#include "server/build_log_store.hpp"
#include "server/build_log_stream.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <map>
#include <thread>
#include <vector>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

const std::string kBuild = "b-0123456789abcdef0123456789abcdef";
const std::string kOther = "b-fedcba9876543210fedcba9876543210";

} // namespace

TEST_SUITE("server::BuildLogStore") {
  TEST_CASE_TEMPLATE("appends read back in order, from any offset", Backend,
                     OCI2EIF_BUILD_LOG_STORE_BACKENDS) {
    Backend backend;
    auto logs = backend.open();
    CHECK(logs->read(kBuild, 0, 100).empty()); // nothing yet
    logs->append(kBuild, "first line\n");
    logs->append(kBuild, "second line\n");
    CHECK(logs->read(kBuild, 0, 100) == "first line\nsecond line\n");
    CHECK(logs->read(kBuild, 6, 100) == "line\nsecond line\n");
    CHECK(logs->read(kBuild, 11, 100) == "second line\n");
    CHECK(logs->read(kBuild, 23, 100).empty()); // the end
    CHECK(logs->read(kBuild, 1000, 100).empty());
    CHECK(backend.open()->read(kBuild, 0, 100) == "first line\nsecond line\n"); // another store
    CHECK(read_whole_log(*logs, kBuild) == "first line\nsecond line\n");
  }

  TEST_CASE_TEMPLATE("a read returns at most max_bytes, from anywhere inside an append", Backend,
                     OCI2EIF_BUILD_LOG_STORE_BACKENDS) {
    Backend backend;
    auto logs = backend.open();
    logs->append(kBuild, "0123456789");
    logs->append(kBuild, "abcdef");
    CHECK(logs->read(kBuild, 0, 4) == "0123");
    CHECK(logs->read(kBuild, 8, 4).size() <= 4);
    std::string text;
    while (true) { // a reader that follows with small slices sees every byte once
      const std::string part = logs->read(kBuild, text.size(), 3);
      if (part.empty()) {
        break;
      }
      CHECK(part.size() <= 3);
      text += part;
    }
    CHECK(text == "0123456789abcdef");
  }

  TEST_CASE_TEMPLATE("any bytes survive: NUL, invalid UTF-8, a large append", Backend,
                     OCI2EIF_BUILD_LOG_STORE_BACKENDS) {
    Backend backend;
    auto logs = backend.open();
    const std::string odd("a\0b\xff\xfe\n", 6);
    logs->append(kBuild, odd);
    const std::string big(3 << 20, 'x');
    logs->append(kBuild, big);
    CHECK(logs->read(kBuild, 0, 6) == odd);
    CHECK(read_whole_log(*logs, kBuild) == odd + big);
  }

  TEST_CASE_TEMPLATE("logs of different builds are separate, and remove forgets one", Backend,
                     OCI2EIF_BUILD_LOG_STORE_BACKENDS) {
    Backend backend;
    auto logs = backend.open();
    logs->append(kBuild, "mine\n");
    logs->append(kOther, "other\n");
    logs->remove(kBuild);
    CHECK(logs->read(kBuild, 0, 100).empty());
    CHECK(logs->read(kOther, 0, 100) == "other\n");
    logs->remove(kBuild); // again: nothing to do
    logs->append(kBuild, "new\n");
    CHECK(logs->read(kBuild, 0, 100) == "new\n"); // starts afresh
  }

  TEST_CASE_TEMPLATE("an id that is not a build id cannot name another place", Backend,
                     OCI2EIF_BUILD_LOG_STORE_BACKENDS) {
    Backend backend;
    auto logs = backend.open();
    for (const std::string id : {"../jobs", "", "b-0123", "B-0123456789ABCDEF0123456789ABCDEF"}) {
      CAPTURE(id);
      CHECK(test::code_of([&] { logs->append(id, "x"); }) == ErrorCode::InvalidInput);
      CHECK(logs->read(id, 0, 100).empty());
      logs->remove(id);
    }
  }

  TEST_CASE_TEMPLATE("concurrent appenders through two stores lose and split no append", Backend,
                     OCI2EIF_BUILD_LOG_STORE_BACKENDS) {
    Backend backend;
    auto a = backend.open();
    auto b = backend.open();
    constexpr int kThreads = 4;
    constexpr int kLines = 40;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        BuildLogStore& logs = t % 2 == 0 ? *a : *b;
        for (int i = 0; i < kLines; ++i) {
          logs.append(kBuild, "thread " + std::to_string(t) + " line " + std::to_string(i) + "\n");
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    const std::string text = read_whole_log(*a, kBuild);
    std::map<std::string, int> seen;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      REQUIRE(end != std::string::npos);
      ++seen[text.substr(start, end - start)];
      start = end + 1;
    }
    CHECK(seen.size() == kThreads * kLines);
    for (const auto& [line, n] : seen) {
      CHECK_MESSAGE(n == 1, line);
      CHECK_MESSAGE(line.starts_with("thread "), line);
    }
  }

  TEST_CASE("directory store: <dir>/<build id>.log, as data directories have always had it") {
    test::TempDir dir;
    auto logs = open_directory_build_log_store(dir / "logs");
    logs->append(kBuild, "hello\n");
    const Bytes file = test::read_file(dir / "logs" / (kBuild + ".log"));
    CHECK(std::string(file.begin(), file.end()) == "hello\n");
    logs->remove(kBuild);
    CHECK_FALSE(std::filesystem::exists(dir / "logs" / (kBuild + ".log")));
  }
}

TEST_SUITE("server::BuildLogStream") {
  TEST_CASE("each line and each flush reaches the store, the rest at destruction") {
    test::TempDir dir;
    auto logs = open_directory_build_log_store(dir / "logs");
    {
      BuildLogStream out(*logs, kBuild);
      out << "attempt " << 1 << " by w1\n";
      CHECK(logs->read(kBuild, 0, 100) == "attempt 1 by w1\n");
      out << "partial";
      CHECK(logs->read(kBuild, 0, 100) == "attempt 1 by w1\n"); // not a line yet
      out << std::flush;
      CHECK(logs->read(kBuild, 0, 100) == "attempt 1 by w1\npartial");
      out << " tail";
    }
    CHECK(logs->read(kBuild, 0, 100) == "attempt 1 by w1\npartial tail");
  }

  TEST_CASE("a store that refuses an append does not fail the stream") {
    test::TempDir dir;
    auto logs = open_directory_build_log_store(dir / "logs");
    BuildLogStream out(*logs, "not-a-build-id");
    out << "line\n" << std::flush;
    CHECK(out.good());
  }
}
