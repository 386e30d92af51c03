// `oci2eif rootfs`: the enclave's root filesystem, one line per entry, without building.
#include "cli/commands.hpp"
#include "cli/image_options.hpp"
#include "pipeline/build_pipeline.hpp"

#include <ostream>

namespace oci2eif::cli {

void run_rootfs(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  const Arch arch = enclave_arch(o);
  Scratch scratch(o.scratch_dir);
  out << pipeline::flatten_listing(
      image_ref(o), platform_of(o, arch), scratch.path(),
      [&](const std::string& line) { log << "oci2eif: " << line << "\n"; });
}

} // namespace oci2eif::cli
