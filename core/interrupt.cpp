#include "core/interrupt.hpp"

#include <algorithm>

namespace oci2eif {
namespace {

// Calls `interrupt` once the byte budget is spent, then refills the budget.
void check_if_due(const Interrupt& interrupt, std::uint64_t every, std::uint64_t& budget) {
  if (budget > 0) {
    return;
  }
  if (interrupt) {
    interrupt();
  }
  budget = std::max<std::uint64_t>(every, 1);
}

void spend(std::uint64_t& budget, std::uint64_t bytes) {
  budget -= std::min(budget, bytes);
}

} // namespace

InterruptingSource::InterruptingSource(ByteSource& inner, Interrupt interrupt,
                                       std::uint64_t every_bytes)
    : inner_(inner), interrupt_(std::move(interrupt)), every_(every_bytes) {
}

std::size_t InterruptingSource::read(std::span<std::uint8_t> out) {
  check_if_due(interrupt_, every_, budget_);
  const std::size_t n = inner_.read(out);
  spend(budget_, n);
  return n;
}

InterruptingSink::InterruptingSink(ByteSink& inner, Interrupt interrupt, std::uint64_t every_bytes)
    : inner_(inner), interrupt_(std::move(interrupt)), every_(every_bytes) {
}

void InterruptingSink::write(ByteView data) {
  check_if_due(interrupt_, every_, budget_);
  inner_.write(data);
  spend(budget_, data.size());
}

} // namespace oci2eif
