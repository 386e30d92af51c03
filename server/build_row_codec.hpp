// How the JobStore backends store the parts of a build that are not plain columns: its id, the
// outcome's JSON `result` column and the list cursor. Shared so that every backend writes the
// same bytes and a build reads back alike from any of them.
#pragma once

#include "server/job_store.hpp"

#include <cstdint>
#include <string>

namespace oci2eif::server {

// "b-" and 32 random hex digits.
std::string new_build_id();

// The `result` column: image digest, PCRs, artifacts and step timings as JSON.
std::string outcome_result_json(const BuildOutcome& outcome);
// Fills those fields of `outcome` from a `result` column ("" leaves them empty).
void read_outcome_result(const std::string& text, BuildOutcome& outcome);

// A list page's cursor: the last row's sequence number. Throws InvalidInput for a cursor this
// server did not hand out.
std::int64_t parse_list_cursor(const std::string& cursor);

} // namespace oci2eif::server
