// `oci2eif rootfs`: the enclave's root filesystem, one line per entry, without building.
#include "cli/commands.hpp"
#include "cli/image_options.hpp"
#include "pipeline/build_pipeline.hpp"

#include <ostream>

namespace oci2eif::cli {

void run_rootfs(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  const Arch arch = enclave_arch(o);
  Scratch scratch(o.scratch_dir);
  const auto display = progress_display(o, log);
  const std::string listing =
      pipeline::flatten_listing(image_ref(o), platform_of(o, arch), scratch.path(),
                                display->log_function(), display->observer());
  out << listing;
}

} // namespace oci2eif::cli
