// A ramdisk as `oci2eif diff` reads it from any EIF: plain or gzip newc cpio, several archives,
// hardlinks, symlinks; then the diff of what was accepted against an empty image, so the JSON
// of every member and launch setting is rendered too.
#include "core/cpio_reader.hpp"
#include "core/eif_diff.hpp"
#include "core/ramdisk_index.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  fuzz::refusals_only([&] {
    MemorySource in(fuzz::view(data, size), "fuzz.cpio");
    EifInventory inv;
    inv.ramdisk_sha384 = {Bytes(48, 0), Bytes(48, 1)};
    inv.application =
        index_ramdisk(in, "fuzz.cpio", {.keep_content = {"cmd", "env", "workdir", "user"}});
    for (const auto& [name, m] : inv.application) {
      fuzz::require(!name.empty() && name.size() < kMaxCpioNameSize, "a member has a name");
      fuzz::require(m.sha256.empty() || m.sha256.size() == 32, "a content hash is SHA-256");
      fuzz::require(m.content.empty() || name == "cmd" || name == "env" || name == "workdir" ||
                        name == "user",
                    "content is kept only for the launch settings");
    }
    const EifDiff d = diff_eifs(EifInventory{}, inv);
    (void)diff_json(d).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  });
  return 0;
}
