// Text from an input file made safe to print on a terminal.
#pragma once

#include <string>

namespace oci2eif::cli {

// Control characters (and DEL) become \xNN, so a hostile file cannot move the cursor or
// rewrite what was printed before.
std::string printable(const std::string& s);

} // namespace oci2eif::cli
