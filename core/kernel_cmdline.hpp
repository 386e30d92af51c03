// The kernel command line as a user gives it (a build request, a kernel upload): the EIF's
// cmdline section and PCR1 take it as it is, and the kernel reads it as one line of text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace oci2eif {

inline constexpr std::size_t kMaxKernelCmdline = 4096;

// What is wrong with `cmdline` ("…"), or nothing: it must be 1-4096 bytes of UTF-8 on one line
// without a NUL byte.
std::optional<std::string> kernel_cmdline_problem(std::string_view cmdline);

} // namespace oci2eif
