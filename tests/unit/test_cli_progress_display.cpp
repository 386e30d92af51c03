// The progress display of build, rootfs and pull: what each --progress form writes for a known
// sequence of events on a clock the test moves.
#include "cli/progress_display.hpp"
#include "core/error.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace oci2eif;
using cli::ProgressDisplay;
using cli::ProgressMode;
using registry::TransferProgress;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');

TransferProgress download(const std::string& digest, const std::string& label, std::uint64_t done,
                          std::uint64_t total) {
  return {TransferProgress::Phase::Download, digest, label, done, total};
}

// A display on a clock the test sets, writing to a string.
struct Fixture {
  explicit Fixture(ProgressMode mode, int width = 200)
      : display(mode, out, width, [this] { return now; }) {}
  double now = 100;
  std::ostringstream out;
  ProgressDisplay display;
};

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_SUITE("cli::progress_display") {
  TEST_CASE("auto is tty on a terminal and plain elsewhere - quiet wins - unknown forms refused") {
    CHECK(cli::progress_mode("auto", false, true) == ProgressMode::Tty);
    CHECK(cli::progress_mode("auto", false, false) == ProgressMode::Plain);
    CHECK(cli::progress_mode("json", false, true) == ProgressMode::Json);
    CHECK(cli::progress_mode("none", false, true) == ProgressMode::None);
    CHECK(cli::progress_mode("plain", true, true) == ProgressMode::Quiet);
    CHECK_THROWS_AS(cli::progress_mode("fancy", false, true), Error);
  }

  TEST_CASE("tty - one line redrawn in place with bytes, rate and ETA, cleared when done") {
    Fixture f(ProgressMode::Tty);
    f.display.transfer(download(kDigestA, "layer 1/2", 0, 4 * kMiB));
    f.display.transfer(download(kDigestB, "layer 2/2", 0, 4 * kMiB));
    f.now += 1;
    f.display.transfer(download(kDigestA, "layer 1/2", 2 * kMiB, 4 * kMiB));
    const std::string first = f.out.str();
    // 2 MiB of 8 in 1 s: 2.0 MiB/s, 6 MiB left: 3 s.
    CHECK(first.find("\r\033[Kdownload 2.0/8.0 MiB (0/2 layers done, 2.0 MiB/s, ETA 3s) | "
                     "layer 1/2 2.0/4.0 MiB") != std::string::npos);
    CHECK(first.find('\n') == std::string::npos); // nothing scrolls

    f.now += 0.05; // too soon to redraw
    f.display.transfer(download(kDigestA, "layer 1/2", 3 * kMiB, 4 * kMiB));
    CHECK(f.out.str() == first);

    f.display.log("step pull: 1.0 s"); // scrolls above the line, which is drawn again
    const std::string logged = f.out.str().substr(first.size());
    CHECK(logged.rfind("\r\033[Koci2eif: step pull: 1.0 s\n\r\033[Kdownload 3.0/8.0 MiB", 0) == 0);

    f.now += 1;
    f.display.transfer(download(kDigestA, "layer 1/2", 4 * kMiB, 4 * kMiB));
    f.display.transfer(download(kDigestB, "layer 2/2", 4 * kMiB, 4 * kMiB));
    const std::string all = f.out.str();
    CHECK(all.find("download 4.0/8.0 MiB (1/2 layers done") != std::string::npos);
    CHECK(all.substr(all.size() - 4) == "\r\033[K"); // cleared once every layer is done
  }

  TEST_CASE("tty - the line is cut to the terminal width") {
    Fixture f(ProgressMode::Tty, 40);
    f.display.transfer(download(kDigestA, "layer 1/1", 1 * kMiB, 4 * kMiB));
    const std::string out = f.out.str();
    REQUIRE(out.rfind("\r\033[K", 0) == 0);
    CHECK(out.size() - 4 == 39);
  }

  TEST_CASE("plain - a line per layer every 5 s while it lasts, and one when a download ends") {
    Fixture f(ProgressMode::Plain);
    f.display.transfer(download(kDigestA, "layer 1/1", 0, 10 * kMiB));
    f.now += 2;
    f.display.transfer(download(kDigestA, "layer 1/1", 2 * kMiB, 10 * kMiB));
    CHECK(f.out.str().empty()); // a short download says nothing until it ends
    f.now += 3;
    f.display.transfer(download(kDigestA, "layer 1/1", 5 * kMiB, 10 * kMiB));
    f.now += 1;
    f.display.transfer(download(kDigestA, "layer 1/1", 6 * kMiB, 10 * kMiB));
    f.now += 4;
    f.display.transfer(download(kDigestA, "layer 1/1", 10 * kMiB, 10 * kMiB));
    const std::string out = f.out.str();
    CHECK(out == "oci2eif: layer 1/1 sha256:aaaaaaaaaaaa…: download 5.0/10.0 MiB (50%), "
                 "1.0 MiB/s, ETA 5s\n"
                 "oci2eif: layer 1/1 sha256:aaaaaaaaaaaa…: downloaded 10.0 MiB in 10s, "
                 "1.0 MiB/s\n");
    CHECK(out.find('\r') == std::string::npos);
    CHECK(out.find('\033') == std::string::npos);
  }

  TEST_CASE(
      "plain - a small blob ends in bytes or KiB, and a blob outside the layers is named once") {
    Fixture f(ProgressMode::Plain);
    f.display.transfer(download(kDigestA, "blob", 640, 640));
    f.display.transfer(download(kDigestB, "layer 1/1", 0, 3000));
    f.now += 0.5;
    f.display.transfer(download(kDigestB, "layer 1/1", 3000, 3000));
    CHECK(f.out.str() == "oci2eif: blob sha256:aaaaaaaaaaaa…: downloaded 640 B in 0.0s\n"
                         "oci2eif: layer 1/1 sha256:bbbbbbbbbbbb…: downloaded 2.9 KiB in 0.5s, "
                         "5.9 KiB/s\n");
  }

  TEST_CASE("json - every line is an object - progress at most once a second per layer") {
    Fixture f(ProgressMode::Json);
    f.display.log("resolved busybox");
    f.display.transfer(download(kDigestA, "layer 1/1", 0, 3 * kMiB));
    f.now += 0.5;
    f.display.transfer(download(kDigestA, "layer 1/1", 1 * kMiB, 3 * kMiB)); // too soon
    f.now += 0.6;
    f.display.transfer(download(kDigestA, "layer 1/1", 2 * kMiB, 3 * kMiB));
    f.now += 0.1;
    f.display.transfer(download(kDigestA, "layer 1/1", 3 * kMiB, 3 * kMiB)); // the end: always
    std::istringstream lines(f.out.str());
    std::vector<nlohmann::json> events;
    for (std::string line; std::getline(lines, line);) {
      events.push_back(nlohmann::json::parse(line));
    }
    REQUIRE(events.size() == 4);
    CHECK(events[0] == nlohmann::json{{"type", "log"}, {"message", "resolved busybox"}});
    CHECK(events[1]["current"] == 0);
    CHECK(events[2]["current"] == 2 * kMiB);
    CHECK(events[3] == nlohmann::json{{"type", "progress"},
                                      {"phase", "download"},
                                      {"layer", "layer 1/1"},
                                      {"digest", kDigestA},
                                      {"current", 3 * kMiB},
                                      {"total", 3 * kMiB}});
  }

  TEST_CASE("none prints log lines only - quiet prints warnings only") {
    Fixture none(ProgressMode::None);
    CHECK_FALSE(none.display.observer()); // the pipeline need not even report
    none.display.log("resolved busybox");
    CHECK(none.out.str() == "oci2eif: resolved busybox\n");

    Fixture quiet(ProgressMode::Quiet);
    CHECK_FALSE(quiet.display.observer());
    quiet.display.log("resolved busybox");
    quiet.display.log("warning: extended attributes of /bin dropped");
    CHECK(quiet.out.str() == "oci2eif: warning: extended attributes of /bin dropped\n");
  }

  TEST_CASE("apply follows download - the rate and ETA start again for the new phase") {
    Fixture f(ProgressMode::Tty);
    f.display.transfer(download(kDigestA, "layer 1/1", 0, 2 * kMiB));
    f.now += 10;
    f.display.transfer(download(kDigestA, "layer 1/1", 2 * kMiB, 2 * kMiB));
    f.display.transfer({TransferProgress::Phase::Apply, kDigestA, "layer 1/1", 0, 2 * kMiB});
    f.now += 1;
    f.display.transfer({TransferProgress::Phase::Apply, kDigestA, "layer 1/1", kMiB, 2 * kMiB});
    CHECK(count_of(f.out.str(), "apply 1.0/2.0 MiB (0/1 layers done, 1.0 MiB/s, ETA 1s)") == 1);
  }

  TEST_CASE("layers download while earlier ones are applied - one line shows both phases") {
    Fixture f(ProgressMode::Tty, 200);
    f.display.transfer(download(kDigestA, "layer 1/2", 0, 2 * kMiB));
    f.display.transfer(download(kDigestB, "layer 2/2", 0, 4 * kMiB));
    f.now += 1;
    f.display.transfer(download(kDigestA, "layer 1/2", 2 * kMiB, 2 * kMiB));
    f.display.transfer({TransferProgress::Phase::Apply, kDigestA, "layer 1/2", 0, 2 * kMiB});
    f.display.transfer({TransferProgress::Phase::Apply, kDigestB, "layer 2/2", 0, 4 * kMiB});
    f.now += 1;
    f.display.transfer({TransferProgress::Phase::Apply, kDigestA, "layer 1/2", kMiB, 2 * kMiB});
    f.display.transfer(download(kDigestB, "layer 2/2", 2 * kMiB, 4 * kMiB)); // too soon to draw
    f.display.log("step pull: 1.0 s");                                       // drawn again below it
    // Downloads: 4 MiB in 2 s; applying began 1 s ago: 1 MiB/s, 5 MiB left.
    CHECK(f.out.str().find("\r\033[Kdownload 4.0/6.0 MiB (1/2 layers done, 2.0 MiB/s, ETA 1s) | "
                           "layer 2/2 2.0/4.0 MiB; apply 1.0/6.0 MiB (0/2 layers done, 1.0 "
                           "MiB/s, ETA 5s) | layer 1/2 1.0/2.0 MiB") != std::string::npos);
    f.now += 1;
    f.display.transfer(download(kDigestB, "layer 2/2", 4 * kMiB, 4 * kMiB));
    f.display.transfer({TransferProgress::Phase::Apply, kDigestA, "layer 1/2", 2 * kMiB, 2 * kMiB});
    const std::string apply_only = f.out.str().substr(f.out.str().rfind("\r\033[K"));
    CHECK(apply_only.rfind("\r\033[Kapply 2.0/6.0 MiB (1/2 layers done", 0) == 0);
    f.display.transfer({TransferProgress::Phase::Apply, kDigestB, "layer 2/2", 4 * kMiB, 4 * kMiB});
    CHECK(f.out.str().substr(f.out.str().size() - 4) == "\r\033[K"); // all done: cleared
  }
}
