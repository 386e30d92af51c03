#include "core/eif_metadata.hpp"

#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"

#include <ctime>
#include <vector>

namespace oci2eif {
namespace {

using nlohmann::json;

std::string dump(const json& value) {
  return serde_json_text(value);
}

} // namespace

Bytes encode_metadata(const EifMetadata& m) {
  std::string out;
  out += "{\"ImageName\":" + dump(m.image_name);
  out += ",\"ImageVersion\":" + dump(m.image_version);
  out += ",\"BuildMetadata\":{\"BuildTime\":" + dump(m.build.build_time);
  out += ",\"BuildTool\":" + dump(m.build.build_tool);
  out += ",\"BuildToolVersion\":" + dump(m.build.build_tool_version);
  out += ",\"OperatingSystem\":" + dump(m.build.operating_system);
  out += ",\"KernelVersion\":" + dump(m.build.kernel_version) + "}";
  out += ",\"DockerInfo\":" + dump(m.docker_info);
  out += ",\"CustomMetadata\":" + dump(m.custom_metadata) + "}";
  return Bytes(out.begin(), out.end());
}

EifMetadata decode_metadata(ByteView section) {
  const json doc = parse_json_object(as_chars(section), "metadata section", ErrorCode::Corrupt);
  const JsonField top(doc, "metadata section", ErrorCode::Corrupt);
  EifMetadata m;
  m.image_name = top["ImageName"].string();
  m.image_version = top["ImageVersion"].string();
  const JsonField build = top["BuildMetadata"].object();
  m.build.build_time = build["BuildTime"].string();
  m.build.build_tool = build["BuildTool"].string();
  m.build.build_tool_version = build["BuildToolVersion"].string();
  m.build.operating_system = build["OperatingSystem"].string();
  m.build.kernel_version = build["KernelVersion"].string();
  m.docker_info = top["DockerInfo"].value(); // any JSON, null included, but present
  m.custom_metadata = top["CustomMetadata"].value();
  return m;
}

json parse_custom_metadata(ByteView file_bytes, const std::string& source) {
  if (file_bytes.size() > kMaxCustomMetadataSize) {
    throw Error(ErrorCode::InvalidInput, source + ": custom metadata is " +
                                             std::to_string(file_bytes.size()) +
                                             " bytes; the EIF format allows at most " +
                                             std::to_string(kMaxCustomMetadataSize));
  }
  return parse_json_bounded(as_chars(file_bytes), source + ": custom metadata",
                            ErrorCode::InvalidInput);
}

std::string rfc3339_utc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) {
    throw Error(ErrorCode::InvalidInput,
                "time " + std::to_string(unix_seconds) + " is out of range");
  }
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

KernelIdentity kernel_identity_from_config(std::string_view text) {
  std::string_view line;
  for (int i = 0; i < 3; ++i) {
    const std::size_t nl = text.find('\n');
    line = text.substr(0, nl);
    if (nl == std::string_view::npos) {
      if (i < 2) {
        line = {};
      }
      break;
    }
    text.remove_prefix(nl + 1);
  }
  std::vector<std::string> words;
  std::string word;
  for (char c : line) {
    if (c == ' ' || c == '/' || c == '-') {
      words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  words.push_back(word);
  if (words.size() < 4 || words[0] != "#" || words[1].empty() || words[3].empty()) {
    throw Error(ErrorCode::InvalidInput,
                "kernel config: line 3 should read like '# Linux/x86_64 6.1.0 Kernel "
                "Configuration', found '" +
                    std::string(line) + "'");
  }
  return {words[1], words[3]};
}

} // namespace oci2eif
