#include "pipeline/image_reference.hpp"

#include "core/error.hpp"
#include "registry/reference.hpp"

#include <array>
#include <utility>

namespace oci2eif::pipeline {
namespace {

constexpr std::array<std::pair<std::string_view, SourceKind>, 3> kPrefixes{{
    {"oci-layout:", SourceKind::OciLayout},
    {"oci-archive:", SourceKind::OciArchive},
    {"docker-archive:", SourceKind::DockerArchive},
}};

constexpr std::string_view kForms =
    "oci-layout:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:TAG]";

} // namespace

ImageRef parse_image_reference(const std::string& image) {
  if (image.empty()) {
    throw Error(ErrorCode::InvalidInput, "image is empty; give " + std::string(kForms));
  }
  for (const auto& [prefix, kind] : kPrefixes) {
    if (image.rfind(prefix, 0) == 0) {
      std::string location = image.substr(prefix.size());
      if (location.empty() || location.front() == ':') {
        throw Error(ErrorCode::InvalidInput,
                    "image '" + image + "' names no path after " + std::string(prefix));
      }
      if (location.find('\0') != std::string::npos) {
        throw Error(ErrorCode::InvalidInput, "image contains a NUL byte");
      }
      return {kind, std::move(location), {}, {}, {}};
    }
  }
  // Anything else is a registry reference, checked now so a bad one is a 400, not a failed build.
  try {
    registry::Reference::parse(image);
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidInput,
                std::string(e.what()) + " (or give " + std::string(kForms) + ")");
  }
  return {SourceKind::Registry, image, {}, {}, {}};
}

std::string image_reference_text(const ImageRef& ref) {
  for (const auto& [prefix, kind] : kPrefixes) {
    if (kind == ref.kind) {
      return std::string(prefix) + ref.location;
    }
  }
  return ref.location;
}

} // namespace oci2eif::pipeline
