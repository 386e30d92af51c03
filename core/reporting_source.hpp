// A ByteSource that says how many bytes have passed through it: for a progress display, without
// core knowing about displays. `report(bytes_so_far)` is called once every `every_bytes` bytes
// and at the end (the read that returns 0) unless the last report already said the total,
// from the reading thread.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <functional>

namespace oci2eif {

class ReportingSource final : public ByteSource {
public:
  using Report = std::function<void(std::uint64_t bytes_so_far)>;
  ReportingSource(ByteSource& inner, Report report, std::uint64_t every_bytes);
  std::uint64_t size() const override { return inner_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return inner_.describe(); }
  std::uint64_t bytes_read() const { return done_; }

private:
  ByteSource& inner_;
  Report report_;
  std::uint64_t every_;
  std::uint64_t done_ = 0;
  std::uint64_t reported_ = 0;
  bool reported_once_ = false;
  bool ended_ = false;
};

} // namespace oci2eif
