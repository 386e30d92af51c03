// What `build`, `rootfs` and `pull` say on stderr while they work: the pipeline's log lines, and
// how each layer's download and application advance. As docker and buildx do, the form depends on
// where stderr goes (--progress auto|tty|plain|json|none, --quiet):
//   tty    one status line, redrawn in place at most 10 times a second, with each layer's bytes,
//          the rate and the ETA; log lines scroll above it
//   plain  log lines; a line per layer at most every 5 s while it lasts, one when a download ends
//   json   one JSON object per line: {"type":"log","message":…} and {"type":"progress",
//          "phase":"download"|"apply","layer":…,"digest":…,"current":N,"total":N} (at most one
//          a second per layer, and its last)
//   none   log lines only
//   quiet  warnings only
// auto is tty when stderr is a terminal (and TERM is not "dumb"), else plain. Errors are printed
// by main afterwards, as text, in every form.
#pragma once

#include "registry/transfer_progress.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

namespace oci2eif::cli {

enum class ProgressMode { Tty, Plain, Json, None, Quiet };

// The mode `--progress TEXT` (auto, tty, plain, json, none) and --quiet ask for; auto is tty
// when stderr is a terminal. InvalidInput for an unknown TEXT.
ProgressMode progress_mode(const std::string& text, bool quiet, bool stderr_terminal);

// stderr's terminal width in columns ($COLUMNS, else 80, when the terminal does not say);
// nullopt when stderr is not a terminal, or $TERM is unset or "dumb".
std::optional<int> stderr_terminal();

class ProgressDisplay {
public:
  using Clock = std::function<double()>; // monotonic seconds

  // Writes to `out`; `width` is the terminal's for the tty form. The default clock is
  // std::chrono::steady_clock.
  ProgressDisplay(ProgressMode mode, std::ostream& out, int width = 80, Clock clock = {});
  ~ProgressDisplay(); // clears a status line still shown
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // Both may be called from any thread.
  void log(const std::string& line);
  void transfer(const registry::TransferProgress& p);

  // The callables the pipeline takes.
  std::function<void(const std::string&)> log_function();
  registry::ProgressObserver observer();

private:
  struct Layer {
    registry::TransferProgress last;
    double started = 0;
    double reported = 0; // when a plain or json line last told of it
  };

  void transfer_plain(Layer& layer, bool just_ended, double now);
  void transfer_json(Layer& layer, bool just_ended, double now);
  void draw_status(double now);
  void clear_status();
  std::string status_line(double now) const;
  // "download 2.0/8.0 MiB (0/2 layers done, rate, ETA) | layer 1/2 2.0/4.0 MiB".
  std::string phase_status(registry::TransferProgress::Phase phase, double now) const;
  // Whether a layer of `phase` has not ended.
  bool phase_active(registry::TransferProgress::Phase phase) const;

  const ProgressMode mode_;
  std::ostream& out_;
  const int width_;
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, Layer> layers_; // by phase and digest
  // When each phase began (again): its rate counts from there. Layers download while earlier
  // ones are applied, so both phases may be under way at once.
  std::map<registry::TransferProgress::Phase, double> phase_started_;
  double drawn_at_ = -1;
  bool status_shown_ = false;
};

} // namespace oci2eif::cli
