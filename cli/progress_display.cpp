#include "cli/progress_display.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sys/ioctl.h>
#include <unistd.h>

namespace oci2eif::cli {
namespace {

using registry::TransferProgress;

constexpr double kRedrawSeconds = 0.1;     // tty: at most 10 redraws a second
constexpr double kPlainEverySeconds = 5.0; // plain: a line per layer at most this often
constexpr double kJsonEverySeconds = 1.0;  // json: an event per layer at most this often

std::string mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// "512 B", "3.4 KiB", "12.0 MiB": for a line about one blob, small or large.
std::string size_text(std::uint64_t bytes) {
  if (bytes < 1024) {
    return std::to_string(bytes) + " B";
  }
  char text[32];
  const bool kib = bytes < (1 << 20);
  std::snprintf(text, sizeof text, "%.1f %s", static_cast<double>(bytes) / (kib ? 1024 : 1 << 20),
                kib ? "KiB" : "MiB");
  return text;
}

std::string rate_text(double bytes_per_second) {
  return size_text(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

// "0.4s" under 10 s, then as eta_text.
std::string duration_text(double seconds);

// "6s", "1:05", "1:02:03".
std::string eta_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  }
  return text;
}

std::string duration_text(double seconds) {
  if (seconds >= 10) {
    return eta_text(seconds);
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1fs", seconds);
  return text;
}

// ", 12.4 MiB/s, ETA 6s" for `done` of `total` bytes moved in `elapsed` seconds; empty while
// too little has happened to tell.
std::string speed_text(std::uint64_t done, std::uint64_t total, double elapsed) {
  if (elapsed < 0.2 || done == 0) {
    return "";
  }
  const double rate = static_cast<double>(done) / elapsed;
  std::string text = ", " + rate_text(rate);
  if (total > done) {
    text += ", ETA " + eta_text(static_cast<double>(total - done) / rate);
  }
  return text;
}

// "layer 2/4", or for a blob fetched outside fetch_layers() "blob sha256:0123456789ab".
std::string name_of(const TransferProgress& p) {
  return p.label == "blob" ? "blob " + p.digest.substr(0, 19) : p.label;
}

// "layer 2/4 sha256:0123456789ab…" (or "blob sha256:…"): for a plain line, which has room.
std::string described(const TransferProgress& p) {
  return p.label + " " + p.digest.substr(0, 19) + "…";
}

bool ended(const TransferProgress& p) {
  return p.total > 0 && p.done == p.total;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

ProgressMode progress_mode(const std::string& text, bool quiet, bool stderr_terminal) {
  ProgressMode mode;
  if (text == "auto") {
    mode = stderr_terminal ? ProgressMode::Tty : ProgressMode::Plain;
  } else if (text == "tty") {
    mode = ProgressMode::Tty;
  } else if (text == "plain") {
    mode = ProgressMode::Plain;
  } else if (text == "json") {
    mode = ProgressMode::Json;
  } else if (text == "none") {
    mode = ProgressMode::None;
  } else {
    throw Error(ErrorCode::InvalidInput,
                "--progress must be auto, tty, plain, json or none, not '" + text + "'");
  }
  return quiet ? ProgressMode::Quiet : mode;
}

std::optional<int> stderr_terminal() {
  const char* term = std::getenv("TERM");
  if (isatty(STDERR_FILENO) != 1 || term == nullptr || std::string(term) == "dumb") {
    return std::nullopt;
  }
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  const char* columns = std::getenv("COLUMNS");
  const int n = columns != nullptr ? std::atoi(columns) : 0;
  return n > 0 ? n : 80;
}

ProgressDisplay::ProgressDisplay(ProgressMode mode, std::ostream& out, int width, Clock clock)
    : mode_(mode), out_(out), width_(width), clock_(clock ? std::move(clock) : steady_seconds) {
}

ProgressDisplay::~ProgressDisplay() {
  const std::lock_guard<std::mutex> lock(mutex_);
  clear_status();
}

std::function<void(const std::string&)> ProgressDisplay::log_function() {
  return [this](const std::string& line) { log(line); };
}

registry::ProgressObserver ProgressDisplay::observer() {
  if (mode_ == ProgressMode::None || mode_ == ProgressMode::Quiet) {
    return {}; // nobody watches: the pipeline need not report
  }
  return [this](const TransferProgress& p) { transfer(p); };
}

void ProgressDisplay::log(const std::string& line) {
  const std::lock_guard<std::mutex> lock(mutex_);
  switch (mode_) {
  case ProgressMode::Quiet:
    if (line.rfind("warning:", 0) != 0) {
      return;
    }
    break;
  case ProgressMode::Json:
    out_ << nlohmann::json{{"type", "log"}, {"message", line}}.dump(
                -1, ' ', false, nlohmann::json::error_handler_t::replace)
         << "\n"
         << std::flush;
    return;
  default:
    break;
  }
  clear_status();
  out_ << "oci2eif: " << line << "\n" << std::flush;
  if (mode_ == ProgressMode::Tty) {
    draw_status(clock_());
  }
}

void ProgressDisplay::transfer(const TransferProgress& p) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const double now = clock_();
  if (!phase_active(p.phase)) {
    phase_started_[p.phase] = now;
  }
  const std::string key = std::string(registry::phase_name(p.phase)) + " " + p.digest;
  auto [it, first] = layers_.try_emplace(key);
  Layer& layer = it->second;
  if (first || p.done == 0) {
    layer.started = now;
    layer.reported = first ? -1e9 : layer.reported;
  }
  const bool news = first || p.done != layer.last.done;
  layer.last = p;
  switch (mode_) {
  case ProgressMode::Tty:
    if (now - drawn_at_ >= kRedrawSeconds || ended(p)) {
      draw_status(now);
    }
    break;
  case ProgressMode::Plain:
    transfer_plain(layer, news && ended(p), now);
    break;
  case ProgressMode::Json:
    transfer_json(layer, news && ended(p), now);
    break;
  default:
    break;
  }
}

void ProgressDisplay::transfer_plain(Layer& layer, bool just_ended, double now) {
  const TransferProgress& p = layer.last;
  const std::string name = described(p);
  if (just_ended && p.phase == TransferProgress::Phase::Download) {
    out_ << "oci2eif: " << name << ": downloaded " << size_text(p.done) << " in "
         << duration_text(now - layer.started) << speed_text(p.done, p.total, now - layer.started)
         << "\n"
         << std::flush;
  } else if (!ended(p) && p.done > 0 && now - layer.started >= kPlainEverySeconds &&
             now - layer.reported >= kPlainEverySeconds) {
    layer.reported = now;
    out_ << "oci2eif: " << name << ": " << registry::phase_name(p.phase) << " " << mib(p.done)
         << "/" << mib(p.total) << " MiB (" << p.done * 100 / p.total << "%)"
         << speed_text(p.done, p.total, now - layer.started) << "\n"
         << std::flush;
  }
}

void ProgressDisplay::transfer_json(Layer& layer, bool just_ended, double now) {
  if (!just_ended && now - layer.reported < kJsonEverySeconds) {
    return;
  }
  layer.reported = now;
  const TransferProgress& p = layer.last;
  out_ << nlohmann::json{{"type", "progress"},  {"phase", registry::phase_name(p.phase)},
                         {"layer", name_of(p)}, {"digest", p.digest},
                         {"current", p.done},   {"total", p.total}}
              .dump()
       << "\n"
       << std::flush;
}

bool ProgressDisplay::phase_active(TransferProgress::Phase phase) const {
  return std::any_of(layers_.begin(), layers_.end(), [phase](const auto& entry) {
    return entry.second.last.phase == phase && !ended(entry.second.last);
  });
}

std::string ProgressDisplay::phase_status(TransferProgress::Phase phase, double now) const {
  std::uint64_t done = 0, total = 0;
  std::size_t count = 0, finished = 0;
  std::string layers;
  for (const auto& [key, layer] : layers_) {
    const TransferProgress& p = layer.last;
    if (p.phase != phase) {
      continue;
    }
    done += p.done;
    total += p.total;
    ++count;
    finished += ended(p) ? 1 : 0;
    if (!ended(p) && p.done > 0) {
      layers += " | " + name_of(p) + " " + mib(p.done) + "/" + mib(p.total) + " MiB";
    }
  }
  const auto started = phase_started_.find(phase);
  const double elapsed = now - (started == phase_started_.end() ? now : started->second);
  return std::string(registry::phase_name(phase)) + " " + mib(done) + "/" + mib(total) + " MiB (" +
         std::to_string(finished) + "/" + std::to_string(count) + " layers done" +
         speed_text(done, total, elapsed) + ")" + layers;
}

// The phases under way, downloads first: "download … ; apply …".
std::string ProgressDisplay::status_line(double now) const {
  std::string line;
  for (const auto phase : {TransferProgress::Phase::Download, TransferProgress::Phase::Apply}) {
    if (phase_active(phase)) {
      line += (line.empty() ? "" : "; ") + phase_status(phase, now);
    }
  }
  return line;
}

void ProgressDisplay::draw_status(double now) {
  if (!phase_active(TransferProgress::Phase::Download) &&
      !phase_active(TransferProgress::Phase::Apply)) {
    clear_status(); // every phase is over: their log lines say the rest
    return;
  }
  std::string line = status_line(now);
  const auto columns = static_cast<std::size_t>(std::max(width_ - 1, 10));
  if (line.size() > columns) {
    line.resize(columns);
  }
  out_ << "\r\033[K" << line << std::flush;
  status_shown_ = true;
  drawn_at_ = now;
}

void ProgressDisplay::clear_status() {
  if (status_shown_) {
    out_ << "\r\033[K" << std::flush;
    status_shown_ = false;
  }
}

} // namespace oci2eif::cli
