// ParallelTasks, the RunAll the pipeline gives the EIF writer: every task of a batch runs once,
// errors come back, and the EIF's bytes and PCRs do not depend on the number of threads.
#include "core/eif_writer.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "pipeline/parallel_tasks.hpp"
#include "tests/unit/eif_vector_inputs.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <set>
#include <thread>

using namespace oci2eif;
using pipeline::ParallelTasks;

namespace {

Bytes pseudo_random(std::size_t size, unsigned seed) {
  Bytes b(size);
  for (std::uint8_t& x : b) {
    seed = seed * 1103515245u + 12345u;
    x = static_cast<std::uint8_t>(seed >> 16);
  }
  return b;
}

// An EIF of a 2.5 MiB kernel and ramdisks of 3.5 MiB and 1 MiB + 1 (several chunks, the last
// short), written with `runner`.
struct Written {
  Bytes eif;
  EifWriteResult result;
};

Written write_with(const RunAll& runner, const Bytes& kernel, const Bytes& boot, const Bytes& app) {
  MemorySource k(kernel, "kernel"), b(boot, "boot"), a(app, "app");
  EifContents c;
  c.kernel = &k;
  c.cmdline = "console=ttyS0";
  c.ramdisks = {&b, &a};
  c.run_all = runner;
  VectorSink out;
  Written w;
  w.result = write_eif(c, out);
  w.eif = out.bytes();
  return w;
}

} // namespace

TEST_SUITE("pipeline::parallel_tasks") {
  TEST_CASE("every task of a batch runs once, on more than one thread, before run_all returns") {
    ParallelTasks tasks(3);
    for (int batch = 0; batch < 50; ++batch) {
      std::atomic<int> ran{0};
      std::mutex mutex;
      std::set<std::thread::id> threads;
      std::vector<Task> batch_tasks(8, [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const std::lock_guard<std::mutex> lock(mutex);
        threads.insert(std::this_thread::get_id());
        ++ran;
      });
      tasks.run_all(batch_tasks);
      CHECK(ran == 8);
      if (batch == 49) {
        CHECK(threads.size() > 1); // 8 tasks of 1 ms: the helpers take some
      }
    }
  }

  TEST_CASE("the first exception comes back once the batch has ended, and the pool goes on") {
    ParallelTasks tasks(2);
    std::atomic<int> ran{0};
    const std::vector<Task> failing = {
        [&] { ++ran; },
        [] { throw Error(ErrorCode::Io, "disk on fire"); },
        [&] { ++ran; },
    };
    CHECK_THROWS_WITH_AS(tasks.run_all(failing), "disk on fire", Error);
    CHECK(ran == 2);
    const std::vector<Task> fine = {[&] { ++ran; }};
    tasks.run_all(fine);
    CHECK(ran == 3);
  }

  TEST_CASE("one thread means no runner: the writer runs the tasks in order itself") {
    ParallelTasks one(1);
    CHECK_FALSE(one.runner());
    ParallelTasks two(2);
    CHECK(two.runner());
  }

  TEST_CASE(
      "the EIF bytes and PCRs are the same for 1, 2 and 4 threads, and PCRs as computed apart") {
    const Bytes kernel = pseudo_random((5 << 20) / 2, 1);
    const Bytes boot = pseudo_random((7 << 20) / 2, 2);
    const Bytes app = pseudo_random((1 << 20) + 1, 3);
    const Written inline_run = write_with({}, kernel, boot, app);
    for (unsigned threads : {1u, 2u, 4u}) {
      CAPTURE(threads);
      ParallelTasks tasks(threads);
      const Written w = write_with(tasks.runner(), kernel, boot, app);
      CHECK(w.eif == inline_run.eif);
      CHECK(w.result.crc32 == inline_run.result.crc32);
    }
    // PCRs from the inputs alone (pcr.hpp's definitions), not from the writer.
    Bytes all = kernel;
    all.insert(all.end(), {'c', 'o', 'n', 's', 'o', 'l', 'e', '=', 't', 't', 'y', 'S', '0'});
    Bytes pcr1_input = all;
    pcr1_input.insert(pcr1_input.end(), boot.begin(), boot.end());
    all = pcr1_input;
    all.insert(all.end(), app.begin(), app.end());
    CHECK(inline_run.result.measurements.pcr0 == pcr_of(all));
    CHECK(inline_run.result.measurements.pcr1 == pcr_of(pcr1_input));
    CHECK(inline_run.result.measurements.pcr2 == pcr_of(app));
  }

  TEST_CASE("AWS vector A is reproduced byte for byte with 3 threads") {
    const auto& expected = test::vectors_json()["vectors"]["a"];
    auto in = test::vector_inputs({"ramdisk-bootstrap.cpio", "ramdisk-customer.cpio"});
    ParallelTasks tasks(3);
    in->contents.run_all = tasks.runner();
    VectorSink out;
    write_eif(in->contents, out);
    CHECK(test::sha256_hex(out.bytes()) == expected["sha256"]);
  }
}
