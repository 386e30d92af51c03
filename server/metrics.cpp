#include "server/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace oci2eif::server {
namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  });
}

std::string escape(const std::string& s, bool quote) {
  std::string out;
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const MetricLabels& labels, const std::string& le = "") {
  std::string out;
  auto add = [&](const std::string& k, const std::string& v) {
    out += (out.empty() ? "{" : ",") + k + "=\"" + escape(v, true) + "\"";
  };
  for (const auto& [k, v] : labels) {
    add(k, v);
  }
  if (!le.empty()) {
    add("le", le);
  }
  return out.empty() ? out : out + "}";
}

const char* type_name(int type) {
  static const char* const kNames[] = {"counter", "gauge", "histogram"};
  return kNames[type];
}

} // namespace

std::string metric_number(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

void Metrics::declare(const std::string& name, Type type, const std::string& help,
                      std::vector<double> bounds) {
  if (!valid_name(name)) {
    throw std::invalid_argument("metric name '" + name + "' is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  std::lock_guard lock(mutex_);
  if (families_.count(name)) {
    throw std::invalid_argument("metric '" + name + "' is declared twice");
  }
  families_[name] = Family{type, help, std::move(bounds), {}, {}};
}

void Metrics::declare_counter(const std::string& name, const std::string& help) {
  declare(name, Type::Counter, help, {});
}

void Metrics::declare_gauge(const std::string& name, const std::string& help) {
  declare(name, Type::Gauge, help, {});
}

void Metrics::declare_histogram(const std::string& name, const std::string& help,
                                std::vector<double> bounds) {
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
      std::isinf(bounds.back())) {
    throw std::invalid_argument("histogram '" + name +
                                "' needs finite, strictly increasing bucket bounds");
  }
  declare(name, Type::Histogram, help, std::move(bounds));
}

Metrics::Family& Metrics::family(const std::string& name, Type type) {
  const auto it = families_.find(name);
  if (it == families_.end() || it->second.type != type) {
    throw std::invalid_argument("metric '" + name + "' is not a declared " +
                                type_name(static_cast<int>(type)));
  }
  return it->second;
}

void Metrics::add(const std::string& name, const MetricLabels& labels, double value) {
  if (!(value >= 0)) {
    throw std::invalid_argument("counter '" + name + "' cannot go down");
  }
  std::lock_guard lock(mutex_);
  family(name, Type::Counter).values[labels] += value;
}

void Metrics::raise_to(const std::string& name, const MetricLabels& labels, double total) {
  std::lock_guard lock(mutex_);
  double& value = family(name, Type::Counter).values[labels];
  value = std::max(value, total);
}

void Metrics::set(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard lock(mutex_);
  family(name, Type::Gauge).values[labels] = value;
}

void Metrics::observe(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, Type::Histogram);
  HistogramSeries& s = f.histograms[labels];
  s.buckets.resize(f.bounds.size());
  const auto at = std::lower_bound(f.bounds.begin(), f.bounds.end(), value);
  if (at != f.bounds.end()) {
    ++s.buckets[static_cast<std::size_t>(at - f.bounds.begin())];
  }
  ++s.count;
  s.sum += value;
}

double Metrics::value(const std::string& name, const MetricLabels& labels) const {
  std::lock_guard lock(mutex_);
  const auto f = families_.find(name);
  if (f == families_.end()) {
    return 0;
  }
  const auto v = f->second.values.find(labels);
  return v == f->second.values.end() ? 0 : v->second;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape(f.help, false) + "\n";
    out += "# TYPE " + name + " " + type_name(static_cast<int>(f.type)) + "\n";
    for (const auto& [labels, v] : f.values) {
      out += name + label_text(labels) + " " + metric_number(v) + "\n";
    }
    for (const auto& [labels, s] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += s.buckets[i];
        out += name + "_bucket" + label_text(labels, metric_number(f.bounds[i])) + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + label_text(labels, "+Inf") + " " + std::to_string(s.count) + "\n";
      out += name + "_sum" + label_text(labels) + " " + metric_number(s.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

} // namespace oci2eif::server
