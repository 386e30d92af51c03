#include "server/build_request.hpp"

#include "core/eif_metadata.hpp"
#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "core/kernel_cmdline.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/image_reference.hpp"
#include "registry/image_source.hpp"
#include "registry/reference.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif::server {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxString = 4096;
constexpr std::size_t kMaxList = 256;
constexpr std::size_t kMaxLabels = 64;
constexpr int kMaxDepth = 8;

std::string string_field(const JsonField& f) {
  std::string s = f.string();
  if (s.size() > kMaxString) {
    f.fail("longer than " + std::to_string(kMaxString) + " bytes");
  }
  return s;
}

// A list of strings that reach execve() (argv, the environment): a NUL byte cannot pass there,
// so it is refused here rather than in the worker. Line breaks are fine (docs/init.md).
std::vector<std::string> list_field(const JsonField& f) {
  std::vector<std::string> out = f.strings();
  if (out.size() > kMaxList) {
    f.fail("more than " + std::to_string(kMaxList) + " elements");
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (string_field(f[i]).find('\0') != std::string::npos) {
      f[i].fail("contains a NUL byte");
    }
  }
  return out;
}

std::map<std::string, std::string> labels_field(const JsonField& f) {
  if (!f.present() || !f.value().is_object() || f.value().size() > kMaxLabels) {
    f.fail("expected an object of at most " + std::to_string(kMaxLabels) + " string values");
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : f.members()) {
    if (k.empty() || k.size() > 128) {
      f.fail("a label key must be 1-128 bytes");
    }
    out[k] = string_field(v);
  }
  return out;
}

json metadata_field(const JsonField& f) {
  const json& value = f.object().value();
  try {
    pipeline::check_custom_metadata(value);
  } catch (const Error& e) {
    f.fail(e.what());
  }
  if (const std::size_t size = value.dump().size(); size > kMaxCustomMetadataSize) {
    f.fail(std::to_string(size) + " bytes as JSON; an EIF's custom metadata is at most " +
           std::to_string(kMaxCustomMetadataSize));
  }
  return value;
}

void check_env(const JsonField& f, const std::vector<std::string>& env) {
  for (std::size_t i = 0; i < env.size(); ++i) {
    if (env[i].find('=') == std::string::npos || env[i].front() == '=') {
      f[i].fail("'" + env[i] + "' is not KEY=VALUE");
    }
  }
}

// A registry reference to push the EIF to, by tag: a digest names content not yet made.
std::string push_field(const JsonField& f) {
  const std::string text = string_field(f);
  registry::Reference ref;
  try {
    ref = registry::Reference::parse(text);
  } catch (const Error& e) {
    f.fail(e.what());
  }
  if (!ref.digest.empty()) {
    f.fail("'" + text + "' names a digest; push to a tag (HOST/REPO:TAG)");
  }
  return text;
}

// Sets the request field `key` from `value`; false when `key` is not a request field.
bool read_field(BuildRequest& r, const std::string& key, const JsonField& value) {
  if (key == "image") {
    r.image = string_field(value);
  } else if (key == "platform") {
    r.platform = string_field(value);
    try {
      registry::Platform::parse(*r.platform);
    } catch (const Error& e) {
      value.fail(e.what());
    }
  } else if (key == "kernel") {
    r.kernel = string_field(value);
  } else if (key == "cmdline") {
    r.cmdline = string_field(value);
    if (const auto problem = kernel_cmdline_problem(*r.cmdline)) {
      value.fail(*problem);
    }
  } else if (key == "entrypoint") {
    r.entrypoint = list_field(value);
  } else if (key == "cmd") {
    r.cmd = list_field(value);
  } else if (key == "env") {
    r.env = list_field(value);
    check_env(value, r.env);
  } else if (key == "compress") {
    r.compress = string_field(value);
    if (r.compress != "none" && r.compress != "gzip") {
      value.fail("'" + r.compress + "' is not none or gzip");
    }
  } else if (key == "name") {
    r.name = string_field(value);
  } else if (key == "version") {
    r.version = string_field(value);
  } else if (key == "labels") {
    r.labels = labels_field(value);
  } else if (key == "metadata") {
    r.metadata = metadata_field(value);
  } else if (key == "signing_key") {
    r.signing_key = string_field(value);
  } else if (key == "push") {
    r.push = push_field(value);
  } else {
    return false;
  }
  return true;
}

} // namespace

BuildRequest parse_build_request(const std::string& text) {
  const JsonDocument doc(text, "request body", ErrorCode::InvalidInput, FieldNaming::RequestField,
                         kMaxDepth);
  BuildRequest r;
  for (const auto& [key, value] : doc.root().members()) {
    if (!read_field(r, key, value)) {
      value.fail("unknown field (known: image, platform, kernel, cmdline, entrypoint, cmd, env, "
                 "compress, name, version, metadata, signing_key, push, labels)");
    }
  }
  if (!doc.root()["image"].exists()) {
    doc.root()["image"].fail("required");
  }
  pipeline::parse_image_reference(r.image); // validates the prefix now, not in the worker
  return r;
}

std::string to_json(const BuildRequest& r) {
  json j = {{"image", r.image}, {"compress", r.compress}};
  const auto put = [&](const char* key, const auto& opt) {
    if (opt) {
      j[key] = *opt;
    }
  };
  put("platform", r.platform);
  put("kernel", r.kernel);
  put("cmdline", r.cmdline);
  put("entrypoint", r.entrypoint);
  put("cmd", r.cmd);
  put("name", r.name);
  put("version", r.version);
  put("metadata", r.metadata);
  put("signing_key", r.signing_key);
  put("push", r.push);
  if (!r.env.empty()) {
    j["env"] = r.env;
  }
  if (!r.labels.empty()) {
    j["labels"] = r.labels;
  }
  return j.dump();
}

} // namespace oci2eif::server
