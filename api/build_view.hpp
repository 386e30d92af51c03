// A build as the API shows it (GET /v1/builds/{id} and list entries).
#pragma once

#include "server/job_store.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace oci2eif::api {

// RFC 3339 UTC with milliseconds, e.g. "2024-05-01T12:00:00.123Z".
std::string rfc3339_ms(std::int64_t unix_ms);

// {id, state, image, labels, created_at, started_at?, finished_at?, attempts, image_digest?,
//  input_key?, pcrs?, steps?, artifacts?: [{name, size, sha256, url}], error?: {code, message},
//  links: {self, log, cancel}}
nlohmann::json build_view(const server::BuildRecord& build);

// Whether `view` (a build_view, or the API's answer read back by a client) shows a build that
// has ended: succeeded, failed or cancelled.
bool view_is_terminal(const nlohmann::json& view);

// {builds: [build_view…], next_cursor?}: GET /v1/builds's answer for `page`.
nlohmann::json build_list_view(const server::BuildPage& page);

} // namespace oci2eif::api
