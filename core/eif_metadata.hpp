// The EIF metadata section (type 5): the JSON AWS's EifBuilder writes with serde_json, i.e.
// compact, keys in struct order, no trailing newline (FORMAT.md §5):
//
//   {"ImageName":S,"ImageVersion":S,
//    "BuildMetadata":{"BuildTime":S,"BuildTool":S,"BuildToolVersion":S,
//                     "OperatingSystem":S,"KernelVersion":S},
//    "DockerInfo":V|null,"CustomMetadata":V|null}
//
// Object keys inside DockerInfo and CustomMetadata come out sorted bytewise, as serde_json's
// default map does. The section is covered by the CRC but by no PCR.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace oci2eif {

inline constexpr std::size_t kMaxCustomMetadataSize = 4096;

struct EifBuildInfo {
  std::string build_time;
  std::string build_tool;
  std::string build_tool_version;
  std::string operating_system;
  std::string kernel_version;
};

struct EifMetadata {
  std::string image_name;
  std::string image_version;
  EifBuildInfo build;
  nlohmann::json docker_info;     // null when absent
  nlohmann::json custom_metadata; // null when absent
};

// Exact bytes of the metadata section. Throws InvalidInput on strings that are not UTF-8.
Bytes encode_metadata(const EifMetadata& metadata);

// Parses a metadata section strictly: every key AWS's reader requires must be present with the
// right type. Unknown extra keys are tolerated (serde ignores them too).
EifMetadata decode_metadata(ByteView section);

// Parses a --metadata file: any JSON value, at most kMaxCustomMetadataSize bytes.
// `source` names the file in errors.
nlohmann::json parse_custom_metadata(ByteView file_bytes, const std::string& source);

// "2024-01-01T00:00:00+00:00" for a Unix time, the form eif_build and nitro-cli write.
std::string rfc3339_utc(std::int64_t unix_seconds);

// OperatingSystem and KernelVersion as upstream derives them from a kernel .config: line 3,
// e.g. "# Linux/x86_64 6.1.0-27-cloud-amd64 Kernel Configuration", split on ' ', '/' and '-',
// words 1 and 3 ("Linux", "6.1.0"). Throws InvalidInput if the line is not there.
struct KernelIdentity {
  std::string operating_system;
  std::string kernel_version;
};
KernelIdentity kernel_identity_from_config(std::string_view config_text);

} // namespace oci2eif
