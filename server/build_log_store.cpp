#include "server/build_log_store.hpp"

namespace oci2eif::server {

std::string read_whole_log(BuildLogStore& logs, const std::string& build_id) {
  constexpr std::size_t kSlice = 1 << 20;
  std::string text;
  for (;;) {
    const std::string part = logs.read(build_id, text.size(), kSlice);
    if (part.empty()) {
      return text;
    }
    text += part;
  }
}

} // namespace oci2eif::server
