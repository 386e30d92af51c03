// The API contract, api/openapi.json, embedded at build time (openapi_document.cpp.in) and
// served at GET /v1/openapi.json.
#pragma once

#include <string_view>

namespace oci2eif::api {

std::string_view openapi_document();

} // namespace oci2eif::api
