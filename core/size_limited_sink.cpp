#include "core/size_limited_sink.hpp"

#include "core/error.hpp"

#include <utility>

namespace oci2eif {

SizeLimitedSink::SizeLimitedSink(ByteSink& inner, std::uint64_t limit, std::string refusal)
    : inner_(inner), limit_(limit), refusal_(std::move(refusal)) {
}

void SizeLimitedSink::write(ByteView data) {
  if (data.size() > limit_ - written_) {
    throw Error(ErrorCode::LimitExceeded, refusal_);
  }
  inner_.write(data);
  written_ += data.size();
}

} // namespace oci2eif
