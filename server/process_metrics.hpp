// The process metrics every Prometheus client library exports, read from /proc at scrape time,
// under the same names, so dashboards and alerts written for them work unchanged:
//   process_cpu_seconds_total          counter, user + system CPU time
//   process_resident_memory_bytes      gauge
//   process_virtual_memory_bytes       gauge
//   process_open_fds, process_max_fds  gauges (the soft RLIMIT_NOFILE)
//   process_start_time_seconds         gauge, since the Unix epoch
//   process_threads                    gauge (client_golang's name for the OS threads)
#pragma once

#include "server/metrics.hpp"

#include <string>
#include <vector>

namespace oci2eif::server {

void declare_process_metrics(Metrics& metrics);

// Reads /proc/self (stat, fd, limits) and /proc/stat (boot time) into the metrics; a file that
// cannot be read leaves its metrics at their last values.
void refresh_process_metrics(Metrics& metrics);

// The fields of /proc/PID/stat after the command name (field 3, the state, is index 0), for
// tests; empty for text that is not a stat line.
std::vector<std::string> proc_stat_fields(const std::string& stat_line);

} // namespace oci2eif::server
