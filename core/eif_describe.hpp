// The JSON `nitro-cli describe-eif` prints for an image (field order as upstream's
// EifDescribeInfo, FORMAT.md §7), plus a "Sections" table of our own:
//
//   {"EifVersion", "Measurements", "IsSigned", ["SigningCertificate"], "CheckCRC",
//    ["SignatureCheck"], "ImageName", "ImageVersion", "Metadata", "Sections"}
//
// "Metadata" holds the five BuildMetadata strings, DockerInfo when not null, and the keys of
// CustomMetadata flattened in (serde's #[serde(flatten)]). A CustomMetadata that is not an
// object, which nitro-cli cannot print at all, is kept under "CustomMetadata".
#pragma once

#include "core/eif_reader.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif {

nlohmann::ordered_json describe_json(const EifInfo& info);

// {"Measurements": {...}}, as eif_build and `nitro-cli build-enclave` print it.
nlohmann::ordered_json measurements_document(const Measurements& m);

} // namespace oci2eif
