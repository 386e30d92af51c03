#include "core/kernel_cmdline.hpp"

#include "core/json_text.hpp"

namespace oci2eif {

std::optional<std::string> kernel_cmdline_problem(std::string_view cmdline) {
  if (cmdline.empty() || cmdline.size() > kMaxKernelCmdline) {
    return "must be 1-" + std::to_string(kMaxKernelCmdline) + " bytes";
  }
  if (cmdline.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
    return std::string("must be one line without a NUL byte");
  }
  if (!is_valid_utf8(cmdline)) {
    return std::string("is not valid UTF-8");
  }
  return std::nullopt;
}

} // namespace oci2eif
