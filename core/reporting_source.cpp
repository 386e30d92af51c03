#include "core/reporting_source.hpp"

namespace oci2eif {

ReportingSource::ReportingSource(ByteSource& inner, Report report, std::uint64_t every_bytes)
    : inner_(inner), report_(std::move(report)), every_(every_bytes) {
}

std::size_t ReportingSource::read(std::span<std::uint8_t> out) {
  const std::size_t n = inner_.read(out);
  done_ += n;
  const bool end = n == 0 && !out.empty() && !ended_;
  const bool news = end ? (done_ != reported_ || !reported_once_) : done_ >= reported_ + every_;
  if (report_ && news) {
    reported_ = done_;
    reported_once_ = true;
    report_(done_);
  }
  ended_ = ended_ || end;
  return n;
}

} // namespace oci2eif
