// A small, thread-safe Prometheus metrics registry for `oci2eif serve` (GET /metrics): counters,
// gauges and histograms, each declared once with its help text, then updated by name with a
// set of labels. render() writes the text exposition format 0.0.4: `# HELP` and `# TYPE` for
// every declared family (even one with no samples yet), samples sorted by labels, histograms as
// cumulative `_bucket{le=…}` series with `+Inf`, `_sum` and `_count`.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace oci2eif::server {

// Label name → value; a std::map so one set of labels has one spelling.
using MetricLabels = std::map<std::string, std::string>;

class Metrics {
public:
  // Declarations. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; declaring a name twice (with any
  // type) or an unsorted/empty bucket list throws std::invalid_argument.
  void declare_counter(const std::string& name, const std::string& help);
  void declare_gauge(const std::string& name, const std::string& help);
  void declare_histogram(const std::string& name, const std::string& help,
                         std::vector<double> upper_bounds);

  // Updates. Using an undeclared name, or a name with another type, throws
  // std::invalid_argument; a negative counter increment too.
  void add(const std::string& counter, const MetricLabels& labels, double value = 1);
  // Sets a counter to a running total kept elsewhere (atomics that download threads update),
  // read at scrape time. The larger of the current value and `total` is kept, so concurrent
  // scrapes that read the total at different moments never make the counter go down.
  void raise_to(const std::string& counter, const MetricLabels& labels, double total);
  void set(const std::string& gauge, const MetricLabels& labels, double value);
  void observe(const std::string& histogram, const MetricLabels& labels, double value);

  // The value of one counter or gauge series (0 if it has no sample yet); for tests.
  double value(const std::string& name, const MetricLabels& labels) const;

  std::string render() const;

private:
  enum class Type { Counter, Gauge, Histogram };
  struct HistogramSeries {
    std::vector<std::uint64_t> buckets; // per upper bound, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    Type type = Type::Counter;
    std::string help;
    std::vector<double> bounds;
    std::map<MetricLabels, double> values;
    std::map<MetricLabels, HistogramSeries> histograms;
  };
  void declare(const std::string& name, Type type, const std::string& help,
               std::vector<double> bounds);
  Family& family(const std::string& name, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Prometheus' number spelling: integers without a fraction, +Inf/-Inf/NaN, else %.17g.
std::string metric_number(double value);

} // namespace oci2eif::server
