// `oci2eif submit` against the real HTTP API in process (api_harness.hpp): no workers run there,
// so each case plays the worker itself (finish_next) or leaves the build queued.
#include "cli/commands.hpp"
#include "cli/service_client.hpp"
#include "tests/unit/api_harness.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <future>
#include <sstream>
#include <thread>

using namespace oci2eif;

namespace {

constexpr const char* kPcrJson = R"({"Measurements":{"HashAlgorithm":"Sha384 { ... }"}})";

cli::SubmitOptions options(const test::ApiHarness& api) {
  cli::SubmitOptions o;
  o.image = api.image();
  o.server = "http://127.0.0.1:" + std::to_string(api.port());
  o.token_env = test::kBuildToken;
  return o;
}

struct Run {
  int status = -1;
  std::string out;
  std::string log;
};

Run submit(const cli::SubmitOptions& o) {
  std::ostringstream out;
  std::ostringstream log;
  const int status = cli::run_submit(o, out, log);
  return {status, out.str(), log.str()};
}

// Plays the worker: finishes the first build that gets queued within 10 s with `outcome`.
std::future<std::string> finish_when_queued(test::ApiHarness& api, server::BuildOutcome outcome,
                                            std::map<std::string, std::string> artifacts) {
  return std::async(std::launch::async, [&api, outcome, artifacts] {
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::string id = api.finish_next(outcome, artifacts); !id.empty()) {
        return id;
      }
    }
    return std::string();
  });
}

} // namespace

TEST_SUITE("cli::submit") {
  TEST_CASE("submit --wait: a build that succeeds prints its measurements and downloads the EIF") {
    test::ApiHarness api;
    test::TempDir dir;
    server::BuildOutcome ok;
    const std::string eif(300000, 'E'); // several reads' worth
    auto worker = finish_when_queued(api, ok, {{"image.eif", eif}, {"pcr.json", kPcrJson}});
    cli::SubmitOptions o = options(api);
    o.wait = true;
    o.output = dir / "app.eif";
    o.pcrs = dir / "pcrs.json";
    o.labels = {"commit=abc123"};
    const Run run = submit(o);
    const std::string id = worker.get();
    CHECK(run.status == 0);
    CHECK(run.out == std::string(kPcrJson) + "\n");
    CHECK(as_chars(test::read_file(dir / "app.eif")) == eif);
    CHECK(as_chars(test::read_file(dir / "pcrs.json")) == kPcrJson);
    CHECK(run.log.find("build=" + id + " state=succeeded") != std::string::npos); // the log
    CHECK(api.store().get(id)->labels.at("commit") == "abc123");
  }

  TEST_CASE("submit --wait: a failed or cancelled build exits 1 and says why") {
    test::ApiHarness api;
    server::BuildOutcome failed;
    failed.state = server::BuildState::Failed;
    failed.error_code = "registry_not_found";
    failed.error_message = "no such image";
    auto worker = finish_when_queued(api, failed, {});
    cli::SubmitOptions o = options(api);
    o.wait = true;
    const Run run = submit(o);
    CHECK(!worker.get().empty());
    CHECK(run.status == static_cast<int>(cli::SubmitExit::BuildFailed));
    CHECK(run.out.empty());
    CHECK(run.log.find("failed: registry_not_found: no such image") != std::string::npos);
  }

  TEST_CASE("submit: without --wait it prints the accepted build and exits 0") {
    test::ApiHarness api;
    const Run run = submit(options(api));
    CHECK(run.status == 0);
    const auto build = nlohmann::json::parse(run.out);
    CHECK(build["state"] == "queued");
    CHECK(api.store().get(build["id"].get<std::string>()));
  }

  TEST_CASE("submit: a refused request exits 3 with the server's reason, never the token") {
    test::ApiHarness api;
    cli::SubmitOptions o = options(api);
    o.token_env = "wrong-token-0123456789abcdef0123";
    Run run = submit(o);
    CHECK(run.status == static_cast<int>(cli::SubmitExit::Refused));
    CHECK(run.log.find("401") != std::string::npos);
    CHECK(run.log.find("wrong-token") == std::string::npos);
    o = options(api);
    o.kernel = "nosuch";
    run = submit(o);
    CHECK(run.status == static_cast<int>(cli::SubmitExit::Refused));
    CHECK(run.log.find("'nosuch' is not a configured kernel") != std::string::npos);
  }

  TEST_CASE("submit: an unreachable or unready server exits 4") {
    test::ApiHarness api;
    cli::SubmitOptions o = options(api);
    o.timeout = "3s";   // retries stop at the deadline
    api.http().drain(); // 503 shutting_down, with Retry-After
    Run run = submit(o);
    CHECK(run.status == static_cast<int>(cli::SubmitExit::Unavailable));
    CHECK(run.log.find("503 shutting_down") != std::string::npos);
    api.http().stop();
    o.server = "http://127.0.0.1:" + std::to_string(api.port()); // nothing listens now
    run = submit(o);
    CHECK(run.status == static_cast<int>(cli::SubmitExit::Unavailable));
    CHECK(run.log.find("cannot reach") != std::string::npos);
  }

  TEST_CASE("submit --wait: a build still queued when --timeout passes exits 5") {
    test::ApiHarness api;
    cli::SubmitOptions o = options(api);
    o.wait = true;
    o.timeout = "2s";
    const Run run = submit(o);
    CHECK(run.status == static_cast<int>(cli::SubmitExit::TimedOut));
    CHECK(run.log.find("is still queued") != std::string::npos);
  }

  TEST_CASE("submit: wrong options are usage errors before anything is sent") {
    test::ApiHarness api;
    cli::SubmitOptions o = options(api);
    o.output = "x.eif"; // without --wait
    CHECK_THROWS_WITH(submit(o), "--output and --pcrs need --wait");
    o = options(api);
    o.labels = {"novalue"};
    CHECK_THROWS_WITH(submit(o), "--label 'novalue' is not KEY=VALUE");
    o = options(api);
    o.env = {"NOEQUALS"};
    CHECK_THROWS_AS(submit(o), Error);
    CHECK(api.store().count_queued() == 0);
  }

  TEST_CASE("submit: durations") {
    CHECK(cli::parse_duration("90") == std::chrono::seconds(90));
    CHECK(cli::parse_duration("90s") == std::chrono::seconds(90));
    CHECK(cli::parse_duration("15m") == std::chrono::minutes(15));
    CHECK(cli::parse_duration("2h") == std::chrono::hours(2));
    for (const char* bad : {"", "0", "m", "1d", "1.5h", "-1s", "9999999s"}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(cli::parse_duration(bad), Error);
    }
  }
}
