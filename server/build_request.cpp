#include "server/build_request.hpp"

#include "core/eif_metadata.hpp"
#include "core/error.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/image_reference.hpp"
#include "registry/image_source.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif::server {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxString = 4096;
constexpr std::size_t kMaxList = 256;
constexpr std::size_t kMaxLabels = 64;
constexpr int kMaxDepth = 8;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::InvalidInput, "field '" + field + "': " + why);
}

std::string string_field(const json& j, const std::string& field) {
  if (!j.is_string()) {
    bad(field, std::string("expected a string, found ") + j.type_name());
  }
  std::string s = j.get<std::string>();
  if (s.size() > kMaxString) {
    bad(field, "longer than " + std::to_string(kMaxString) + " bytes");
  }
  return s;
}

std::vector<std::string> list_field(const json& j, const std::string& field) {
  if (!j.is_array()) {
    bad(field, std::string("expected an array of strings, found ") + j.type_name());
  }
  if (j.size() > kMaxList) {
    bad(field, "more than " + std::to_string(kMaxList) + " elements");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    out.push_back(string_field(j[i], field + "[" + std::to_string(i) + "]"));
  }
  return out;
}

json parse_bounded(const std::string& text) {
  int depth = 0;
  bool too_deep = false;
  const json::parser_callback_t limit = [&](int d, json::parse_event_t, json&) {
    depth = std::max(depth, d);
    too_deep = too_deep || d > kMaxDepth;
    return !too_deep;
  };
  try {
    json j = json::parse(text, limit);
    if (too_deep) {
      throw Error(ErrorCode::InvalidInput,
                  "request body nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return j;
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::InvalidInput,
                "request body is not valid JSON: " + std::string(e.what()));
  }
}

} // namespace

BuildRequest parse_build_request(const std::string& text) {
  const json j = parse_bounded(text);
  if (!j.is_object()) {
    throw Error(ErrorCode::InvalidInput, "request body must be a JSON object");
  }
  BuildRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key == "image") {
      r.image = string_field(value, key);
    } else if (key == "platform") {
      r.platform = string_field(value, key);
      try {
        registry::Platform::parse(*r.platform);
      } catch (const Error& e) {
        bad(key, e.what());
      }
    } else if (key == "kernel") {
      r.kernel = string_field(value, key);
    } else if (key == "cmdline") {
      r.cmdline = string_field(value, key);
    } else if (key == "entrypoint") {
      r.entrypoint = list_field(value, key);
    } else if (key == "cmd") {
      r.cmd = list_field(value, key);
    } else if (key == "env") {
      r.env = list_field(value, key);
      for (std::size_t i = 0; i < r.env.size(); ++i) {
        if (r.env[i].find('=') == std::string::npos || r.env[i].front() == '=') {
          bad("env[" + std::to_string(i) + "]", "'" + r.env[i] + "' is not KEY=VALUE");
        }
      }
    } else if (key == "compress") {
      r.compress = string_field(value, key);
      if (r.compress != "none" && r.compress != "gzip") {
        bad(key, "'" + r.compress + "' is not none or gzip");
      }
    } else if (key == "name") {
      r.name = string_field(value, key);
    } else if (key == "version") {
      r.version = string_field(value, key);
    } else if (key == "labels") {
      if (!value.is_object() || value.size() > kMaxLabels) {
        bad(key, "expected an object of at most " + std::to_string(kMaxLabels) + " string values");
      }
      for (const auto& [k, v] : value.items()) {
        if (k.empty() || k.size() > 128) {
          bad(key, "a label key must be 1-128 bytes");
        }
        r.labels[k] = string_field(v, "labels." + k);
      }
    } else if (key == "metadata") {
      if (!value.is_object()) {
        bad(key, std::string("expected a JSON object, found ") + value.type_name());
      }
      try {
        pipeline::check_custom_metadata(value);
      } catch (const Error& e) {
        bad(key, e.what());
      }
      if (const std::size_t size = value.dump().size(); size > kMaxCustomMetadataSize) {
        bad(key, std::to_string(size) + " bytes as JSON; an EIF's custom metadata is at most " +
                     std::to_string(kMaxCustomMetadataSize));
      }
      r.metadata = value;
    } else if (key == "signing_key") {
      r.signing_key = string_field(value, key);
    } else {
      bad(key, "unknown field (known: image, platform, kernel, cmdline, entrypoint, cmd, env, "
               "compress, name, version, metadata, signing_key, labels)");
    }
  }
  if (!j.contains("image")) {
    bad("image", "required");
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
  if (!r.env.empty()) {
    j["env"] = r.env;
  }
  if (!r.labels.empty()) {
    j["labels"] = r.labels;
  }
  return j.dump();
}

} // namespace oci2eif::server
