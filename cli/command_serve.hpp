// `oci2eif serve`: runs the build service until SIGTERM/SIGINT (see docs in config.hpp).
#pragma once

#include "server/config.hpp"

namespace oci2eif::cli {

// Throws InvalidInput for a bad configuration (before anything listens).
void run_serve(const server::ServeFlags& flags);

} // namespace oci2eif::cli
