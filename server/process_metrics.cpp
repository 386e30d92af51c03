#include "server/process_metrics.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

namespace oci2eif::server {
namespace {

// proc(5): field numbers counted from 1; proc_stat_fields() starts at field 3.
constexpr std::size_t kUtime = 14 - 3;
constexpr std::size_t kStime = 15 - 3;
constexpr std::size_t kThreads = 20 - 3;
constexpr std::size_t kStartTime = 22 - 3;
constexpr std::size_t kVsize = 23 - 3;
constexpr std::size_t kRss = 24 - 3;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Seconds since the epoch at boot: the "btime" line of /proc/stat; 0 if absent.
double boot_time() {
  std::istringstream stat(read_text("/proc/stat"));
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) {
      return value;
    }
  }
  return 0;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

} // namespace

std::vector<std::string> proc_stat_fields(const std::string& stat_line) {
  // The command name is in parentheses and may itself hold spaces and ')': the fields start
  // after the last ')'.
  const auto close = stat_line.rfind(')');
  if (close == std::string::npos) {
    return {};
  }
  std::istringstream rest(stat_line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) {
    fields.push_back(field);
  }
  return fields;
}

void declare_process_metrics(Metrics& m) {
  m.declare_counter("process_cpu_seconds_total", "Total user and system CPU time in seconds.");
  m.declare_gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  m.declare_gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  m.declare_gauge("process_open_fds", "Number of open file descriptors.");
  m.declare_gauge("process_max_fds", "Maximum number of open file descriptors.");
  m.declare_gauge("process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.");
  m.declare_gauge("process_threads", "Number of OS threads in the process.");
}

void refresh_process_metrics(Metrics& m) {
  const std::vector<std::string> f = proc_stat_fields(read_text("/proc/self/stat"));
  if (f.size() > kRss) {
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    m.raise_to("process_cpu_seconds_total", {},
               (std::stod(f[kUtime]) + std::stod(f[kStime])) / ticks);
    m.set("process_threads", {}, std::stod(f[kThreads]));
    m.set("process_start_time_seconds", {}, boot_time() + std::stod(f[kStartTime]) / ticks);
    m.set("process_virtual_memory_bytes", {}, std::stod(f[kVsize]));
    m.set("process_resident_memory_bytes", {}, std::stod(f[kRss]) * page);
  }
  m.set("process_open_fds", {}, open_fds());
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    m.set("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
  }
}

} // namespace oci2eif::server
