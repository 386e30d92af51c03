// The known name closest to a misspelt one, for "did you mean …?" in refusals of unknown
// configuration keys and variables.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oci2eif {

// The candidate with the smallest edit distance (Levenshtein, case-insensitive) to `given`, if
// that distance is at most a third of `given`'s length (at least 2): a typo, not another word.
// Ties go to the earlier candidate.
std::optional<std::string> closest_name(std::string_view given,
                                        const std::vector<std::string>& candidates);

} // namespace oci2eif
