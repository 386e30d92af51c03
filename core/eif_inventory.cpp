#include "core/eif_inventory.hpp"

#include "core/error.hpp"
#include "core/sha.hpp"

#include <memory>

namespace oci2eif {
namespace {

RamdiskIndexOptions application_options() {
  return {.keep_content = {"cmd", "env", "workdir", "user"}};
}

} // namespace

EifInventory read_eif_inventory(PositionalReader& in, const std::string& name) {
  EifInventory inv;
  std::vector<std::unique_ptr<Hasher>> hashers;
  EifReadOptions options;
  options.payload_sink = [&](std::size_t, const EifSection& s) -> ByteSink* {
    if (s.type != SectionType::Kernel && s.type != SectionType::Ramdisk) {
      return nullptr;
    }
    hashers.push_back(std::make_unique<Hasher>(HashAlgorithm::Sha384));
    return hashers.back().get();
  };
  RangeSource whole(in, 0, in.size(), name);
  inv.info = read_eif(whole, name, options);

  std::size_t hashed = 0;
  std::size_t ramdisk = 0;
  for (const EifSection& s : inv.info.sections) {
    if (s.type == SectionType::Kernel) {
      inv.kernel_sha384 = hashers[hashed++]->finish();
    } else if (s.type == SectionType::Ramdisk) {
      inv.ramdisk_sha384.push_back(hashers[hashed++]->finish());
      const std::string label = name + " ramdisk " + std::to_string(ramdisk);
      RangeSource payload(in, s.offset + kEifSectionHeaderSize, s.size, label);
      RamdiskIndex index;
      try {
        index = index_ramdisk(payload, label,
                              ramdisk == 0 ? RamdiskIndexOptions{} : application_options());
      } catch (const Error& e) {
        if (e.code() != ErrorCode::Corrupt) {
          throw;
        }
        inv.unreadable_ramdisks.emplace(ramdisk++, e.what());
        continue;
      }
      RamdiskIndex& into = ramdisk == 0 ? inv.bootstrap : inv.application;
      for (auto& [member, entry] : index) {
        into.insert_or_assign(member, std::move(entry));
      }
      ++ramdisk;
    }
  }
  return inv;
}

} // namespace oci2eif
