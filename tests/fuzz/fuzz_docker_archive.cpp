// The manifest.json of a `docker save` archive (pre-25 layout). DockerArchive reads it only from
// an unpacked archive, so each input becomes the manifest.json of a small tarball (beside a
// valid config.json and layer.tar) that open_docker_archive() unpacks into a scratch directory
// and resolve_image() resolves, once without a name and once asking for "app:1".
#include "core/digest.hpp"
#include "registry/image_source.hpp"
#include "registry/local_files.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/unit/tar_builder.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

// Under $TMPDIR (the unpacking fsyncs every file, so a tmpfs there makes it faster), never
// under /dev: tests leave the host's /dev alone.
std::filesystem::path work_dir() {
  return std::filesystem::temp_directory_path() /
         ("oci2eif-fuzz-docker-archive-" + std::to_string(::getpid()));
}

Bytes archive_with(const std::string& manifest_json) {
  const std::string layer = "layer bytes";
  const std::string config =
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers",)"
      R"("diff_ids":[")" +
      sha256_digest(as_bytes(layer)) + R"("]}})";
  return test::TarBuilder()
      .file("manifest.json", manifest_json)
      .file("config.json", config)
      .file("layer.tar", layer)
      .finish();
}

void resolve(const std::filesystem::path& dir, const Bytes& archive, const std::string& tag) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "scratch");
  std::ofstream(dir / "archive.tar", std::ios::binary)
      .write(reinterpret_cast<const char*>(archive.data()),
             static_cast<std::streamsize>(archive.size()));
  fuzz::refusals_only([&] {
    const auto source =
        open_docker_archive(LocalFiles(), dir / "archive.tar", tag, dir / "scratch");
    (void)resolve_image(*source, Platform::parse("linux/amd64"));
  });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  static const std::filesystem::path dir = work_dir();
  const Bytes archive = archive_with(fuzz::text(data, size));
  for (const char* tag : {"", "app:1"}) {
    resolve(dir, archive, tag);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
