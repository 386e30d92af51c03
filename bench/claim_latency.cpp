// Claim latency of a JobStore with many builds queued: enqueues N builds, then claims them all
// from W threads (as W workers of one or several replicas would), timing every claim() call.
// Prints p50/p99/max and claims per second for the backend named on the command line:
//
//   oci2eif_bench_claim sqlite PATH.db [N] [W]
//   oci2eif_bench_claim postgres postgresql://… [N] [W]     (an empty database or schema)
//
// bench/bench_scaleout.py runs both in one go, beside the build-throughput figures.
#include "server/job_store.hpp"
#include "server/postgres_database.hpp"
#include "server/postgres_job_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace oci2eif;
using Ms = std::chrono::duration<double, std::milli>;

std::unique_ptr<server::JobStore> open_store(const std::string& kind, const std::string& where) {
  if (kind == "sqlite") {
    return server::open_sqlite_job_store(where, server::system_clock());
  }
  return server::open_postgres_job_store(server::open_postgres_database(where),
                                         server::system_clock());
}

void enqueue(server::JobStore& store, int n) {
  for (int i = 0; i < n; ++i) {
    server::NewBuild b;
    b.request_json = R"({"image":"bench"})";
    b.image = "bench";
    b.input_key = "sha256:bench-" + std::to_string(i) + "-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    store.enqueue(b);
  }
}

// Claims until the queue is empty; returns each claim's latency in milliseconds.
std::vector<double> claim_all(const std::string& kind, const std::string& where, int workers) {
  std::vector<double> latencies;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto store = open_store(kind, where); // one store each: as separate replicas
      const std::string worker = "bench-w" + std::to_string(w);
      for (;;) {
        const auto start = std::chrono::steady_clock::now();
        const auto claimed = store->claim(worker, std::chrono::minutes(10));
        const double ms = Ms(std::chrono::steady_clock::now() - start).count();
        if (!claimed) {
          return;
        }
        std::lock_guard lock(mutex);
        latencies.push_back(ms);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  return latencies;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s sqlite|postgres PATH|URL [QUEUED] [WORKERS]\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1], where = argv[2];
  const int n = argc > 3 ? std::stoi(argv[3]) : 1000;
  const int workers = argc > 4 ? std::stoi(argv[4]) : 3;
  try {
    enqueue(*open_store(kind, where), n);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<double> ms = claim_all(kind, where, workers);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-8s queued %d, %d claimers: %zu claims, p50 %.2f ms, p99 %.2f ms, max %.2f ms, "
                "%.0f claims/s\n",
                kind.c_str(), n, workers, ms.size(), percentile(ms, 0.50), percentile(ms, 0.99),
                percentile(ms, 1.0), ms.size() / seconds);
    return ms.size() == static_cast<std::size_t>(n) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oci2eif_bench_claim: %s\n", e.what());
    return 1;
  }
}
