#include "server/build_log_stream.hpp"

#include <spdlog/spdlog.h>

namespace oci2eif::server {

BuildLogStream::BuildLogStream(BuildLogStore& logs, std::string build_id)
    : std::ostream(nullptr), buffer_(logs, std::move(build_id)) {
  rdbuf(&buffer_);
}

BuildLogStream::~BuildLogStream() {
  buffer_.forward();
}

void BuildLogStream::Buffer::forward() {
  if (pending_.empty()) {
    return;
  }
  try {
    logs_.append(build_id_, pending_);
    pending_.clear();
    warned_ = false;
  } catch (const std::exception& e) {
    if (!warned_) {
      spdlog::warn("build {}: log lines not stored yet, retried with the next line: {}", build_id_,
                   e.what());
      warned_ = true;
    }
  }
}

BuildLogStream::Buffer::int_type BuildLogStream::Buffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) {
    return traits_type::not_eof(c);
  }
  pending_ += traits_type::to_char_type(c);
  if (c == '\n') {
    forward();
  }
  return c;
}

std::streamsize BuildLogStream::Buffer::xsputn(const char* s, std::streamsize n) {
  const std::string_view text(s, static_cast<std::size_t>(n));
  pending_ += text;
  if (text.find('\n') != std::string_view::npos) {
    forward();
  }
  return n;
}

int BuildLogStream::Buffer::sync() {
  forward();
  return 0;
}

} // namespace oci2eif::server
