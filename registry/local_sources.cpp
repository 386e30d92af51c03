// Local image sources: an OCI image layout directory, and the two tarball formats (oci-archive,
// docker save) that are unpacked into the build's scratch directory and then read as files.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/file_tree.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/tar_reader.hpp"
#include "registry/archive_reference.hpp"
#include "registry/image_source.hpp"
#include "registry/local_files.hpp"

#include <algorithm>
#include <fcntl.h>
#include <map>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace oci2eif::registry {
namespace {

constexpr const char* kRefName = "org.opencontainers.image.ref.name";
constexpr const char* kContainerdName = "io.containerd.image.name"; // docker save, 25+
constexpr std::size_t kMaxIndexJson = 4 << 20;

std::filesystem::path blob_path(const std::filesystem::path& dir, const std::string& digest) {
  validate_digest(digest, dir.string());
  return dir / "blobs" / "sha256" / digest.substr(7);
}

// The names an index entry carries (docker save 25+ writes the tag in ref.name and the full
// name in io.containerd.image.name; podman the full name in ref.name).
NamedImage names_of(const Descriptor& d) {
  NamedImage image{d.digest, {}};
  for (const char* key : {kRefName, kContainerdName}) {
    const auto it = d.annotations.find(key);
    if (it != d.annotations.end() && !it->second.empty()) {
      image.names.push_back(it->second);
    }
  }
  return image;
}

bool all_have_platforms(const std::vector<Descriptor>& ds) {
  return !ds.empty() && std::all_of(ds.begin(), ds.end(),
                                    [](const Descriptor& d) { return d.platform.has_value(); });
}

// An OCI layout directory; `shown` is the path its errors name (for an oci-archive, the
// user's file rather than the scratch directory it was unpacked to).
class OciLayout final : public ImageSource {
public:
  OciLayout(LocalFiles files, std::filesystem::path dir, std::string tag, std::string kind,
            std::filesystem::path shown)
      : files_(std::move(files)), dir_(std::move(dir)), tag_(std::move(tag)),
        kind_(std::move(kind)), shown_(std::move(shown)) {
    if (!files_.is_regular_file(dir_ / "oci-layout") ||
        !files_.is_regular_file(dir_ / "index.json")) {
      throw Error(ErrorCode::NotFound, name() + ": not an OCI image layout (no oci-layout or "
                                                "index.json file)");
    }
  }

  std::string name() const override {
    return kind_ + ":" + shown_.string() + (tag_.empty() ? "" : ":" + tag_);
  }

  // The entry the tag names; several entries of one name that all carry a platform are an
  // image index (chosen by platform later). Without a tag, the only entry, or such an index.
  ImageRoot root() override {
    const ImageIndex index =
        parse_index(read_small_file(*files_.open_file(dir_ / "index.json"), kMaxIndexJson),
                    name() + ": index.json");
    std::vector<NamedImage> images;
    for (const Descriptor& d : index.manifests) {
      images.push_back(names_of(d));
    }
    if (index.manifests.empty()) {
      throw Error(ErrorCode::NotFound, name() + ": the index lists no image");
    }
    ImageIndex chosen;
    if (tag_.empty()) {
      chosen = index;
    } else {
      for (std::size_t i : images_named(tag_, images)) {
        chosen.manifests.push_back(index.manifests[i]);
      }
    }
    if (chosen.manifests.size() == 1) {
      return chosen.manifests.front();
    }
    if (all_have_platforms(chosen.manifests)) {
      return chosen; // one manifest per platform: choose by platform
    }
    if (tag_.empty()) {
      throw Error(ErrorCode::InvalidInput, name() + ": holds several images (" +
                                               names_listed(images) + "); name one as PATH:NAME");
    }
    image_named(tag_, images, name()); // throws: none, or several different images
    return chosen.manifests.front();   // several entries of one image (docker save's tags)
  }

  std::unique_ptr<ByteSource> open_blob(const Descriptor& d) override {
    const std::filesystem::path path = blob_path(dir_, d.digest);
    if (!files_.is_regular_file(path)) {
      throw Error(ErrorCode::NotFound, name() + ": blob " + d.digest + " is missing");
    }
    return std::make_unique<VerifiedFileSource>(files_.open_fd(path), path, d.digest, d.size,
                                                name() + ": blob " + d.digest);
  }

private:
  static std::string names_listed(const std::vector<NamedImage>& images) {
    std::string out;
    for (const NamedImage& i : images) {
      out += (out.empty() ? "" : ", ") + (i.names.empty() ? i.id : i.names.front());
    }
    return out;
  }

  LocalFiles files_;
  std::filesystem::path dir_;
  std::string tag_;
  std::string kind_;
  std::filesystem::path shown_;
};

// `target` as another name of the unpacked file `existing` (replacing what `target` was).
void link_in_archive(const std::filesystem::path& archive, const std::filesystem::path& existing,
                     const std::filesystem::path& target) {
  std::error_code ec;
  if (std::filesystem::equivalent(existing, target, ec)) {
    return; // a link to itself, or one repeated
  }
  std::filesystem::remove(target, ec);
  std::filesystem::create_hard_link(existing, target, ec);
  if (ec) {
    throw Error(ec == std::errc::too_many_links ? ErrorCode::LimitExceeded : code_for(ec),
                archive.string() + ": cannot link " + target.string() + " to " + existing.string() +
                    ": " + ec.message());
  }
}

// Unpacks regular files and directories of a tarball under `dest`; names are made canonical
// (and refused if they escape). A link (docker save links duplicate layers) becomes a hard link
// to the file already unpacked, never a copy: a small archive of many links to one large file
// would otherwise fill the disk.
void unpack(const LocalFiles& files, const std::filesystem::path& archive,
            const std::filesystem::path& dest, const Interrupt& interrupt) {
  const std::unique_ptr<FileSource> file = files.open_file(archive);
  InterruptingSource in(*file, interrupt);
  TarReader tar(in, archive.string());
  TarEntry e;
  while (tar.next(e)) {
    std::string path;
    if (!canonical_path(e.path, path)) {
      throw Error(ErrorCode::Corrupt,
                  archive.string() + ": entry `" + e.path + "` escapes the archive");
    }
    if (path.empty()) {
      continue;
    }
    const std::filesystem::path target = dest / path;
    std::filesystem::create_directories(target.parent_path());
    if (e.type == TarEntryType::Directory) {
      std::filesystem::create_directories(target);
    } else if (e.type == TarEntryType::File) {
      AtomicFileWriter out(target);
      Bytes buffer(1 << 20);
      for (std::size_t n; (n = tar.data().read(buffer)) > 0;) {
        out.write(ByteView(buffer.data(), n));
      }
      out.commit();
    } else if (e.type == TarEntryType::Hardlink || e.type == TarEntryType::Symlink) {
      std::string link;
      const std::string base = e.type == TarEntryType::Symlink ? parent_path(path) : "";
      if (!canonical_path(join_path(base, e.link_target), link) ||
          !std::filesystem::is_regular_file(dest / link)) {
        throw Error(ErrorCode::Corrupt, archive.string() + ": link `" + e.path + "` -> `" +
                                            e.link_target +
                                            "` does not name a file in the archive");
      }
      link_in_archive(archive, dest / link, target);
    }
  }
}

// A `docker save` archive in the pre-25 layout: manifest.json, <config>.json, <id>/layer.tar.
class DockerArchive final : public ImageSource {
public:
  DockerArchive(std::filesystem::path archive, std::filesystem::path dir, std::string tag)
      : archive_(std::move(archive)), dir_(std::move(dir)), tag_(std::move(tag)) {
    const Bytes raw = read_small_file(dir_ / "manifest.json", kMaxIndexJson);
    const nlohmann::json doc = parse_json_bounded(as_chars(raw), name() + ": manifest.json");
    if (!doc.is_array() || doc.empty()) {
      throw Error(ErrorCode::Corrupt, name() + ": manifest.json must be a non-empty array");
    }
    // Typed reads: the archive is untrusted, and a member of another type must be Corrupt
    // naming it, not a JSON library exception that surfaces as an internal error.
    const JsonField list(doc, name() + ": manifest.json", ErrorCode::Corrupt);
    std::vector<NamedImage> images;
    for (const JsonField& image : list.elements()) {
      images.push_back(
          {image.object()["Config"].string_or(""), image["RepoTags"].optional_strings()});
    }
    if (tag_.empty() && doc.size() > 1) {
      throw Error(ErrorCode::InvalidInput, name() + ": holds " + std::to_string(doc.size()) +
                                               " images; name one as PATH:NAME (" +
                                               repo_tags(images) + ")");
    }
    const JsonField chosen = list[tag_.empty() ? 0 : image_named(tag_, images, name())];
    config_file_ = chosen["Config"].string_or("");
    layer_files_ = chosen["Layers"].optional_strings();
    if (config_file_.empty() || layer_files_.empty()) {
      throw Error(ErrorCode::Corrupt, name() + ": manifest.json entry lacks Config or Layers");
    }
  }

  std::string name() const override {
    return "docker-archive:" + archive_.string() + (tag_.empty() ? "" : ":" + tag_);
  }

  static std::string repo_tags(const std::vector<NamedImage>& images) {
    std::string out;
    for (const NamedImage& i : images) {
      for (const std::string& n : i.names) {
        out += (out.empty() ? "" : ", ") + n;
      }
    }
    return out.empty() ? "none tagged" : out;
  }

  ImageRoot root() override {
    throw Error(ErrorCode::Internal, name() + ": a docker archive has no manifest to walk");
  }

  std::unique_ptr<ByteSource> open_blob(const Descriptor& d) override {
    const auto it = files_.find(d.digest);
    if (it == files_.end()) {
      throw Error(ErrorCode::NotFound, name() + ": no file for blob " + d.digest);
    }
    return std::make_unique<VerifiedFileSource>(it->second, d.digest, d.size,
                                                name() + ": " + it->first);
  }

  // The archive has no registry manifest: one is synthesised from manifest.json and the config,
  // with each (uncompressed) layer described by its diff_id, so the same checks apply.
  ResolvedImage resolve(const Platform& platform) override;

private:
  std::filesystem::path archive_, dir_;
  std::string tag_;
  std::string config_file_;
  std::vector<std::string> layer_files_;
  std::map<std::string, std::filesystem::path> files_;
};

std::filesystem::path inside(const std::filesystem::path& dir, const std::string& name,
                             const std::string& what) {
  std::string canonical;
  if (!canonical_path(name, canonical) || canonical.empty()) {
    throw Error(ErrorCode::Corrupt, what + ": path `" + name + "` escapes the archive");
  }
  return dir / canonical;
}

ResolvedImage DockerArchive::resolve(const Platform& platform) {
  const std::filesystem::path config_path = inside(dir_, config_file_, name());
  const Bytes config_bytes = read_small_file(config_path, kMaxConfigSize);
  ResolvedImage out;
  out.source_name = name();
  out.config_digest = sha256_digest(config_bytes);
  const std::string stem = config_path.stem().string();
  if (stem.size() == 64 && "sha256:" + stem != out.config_digest) {
    throw Error(ErrorCode::DigestMismatch,
                name() + ": config " + config_file_ + " has digest " + out.config_digest);
  }
  out.config = parse_config(config_bytes, name() + ": config");
  if (!platform.matches(out.config.platform)) {
    throw Error(ErrorCode::NotFound, name() + " is an image for " +
                                         out.config.platform.to_string() + ", not " +
                                         platform.to_string());
  }
  if (out.config.diff_ids.size() != layer_files_.size()) {
    throw Error(ErrorCode::Corrupt,
                name() + ": config lists " + std::to_string(out.config.diff_ids.size()) +
                    " diff_ids for " + std::to_string(layer_files_.size()) + " layers");
  }
  out.manifest.media_type = media_type::kDockerManifest;
  out.manifest.config = {
      media_type::kDockerConfig, out.config_digest, config_bytes.size(), std::nullopt, {}};
  for (std::size_t i = 0; i < layer_files_.size(); ++i) {
    const std::filesystem::path path = inside(dir_, layer_files_[i], name());
    const std::string& diff_id = out.config.diff_ids[i];
    files_[diff_id] = path;
    out.manifest.layers.push_back(
        {media_type::kDockerLayerTar, diff_id, std::filesystem::file_size(path), std::nullopt, {}});
  }
  out.manifest_digest = "";
  return out;
}

} // namespace

std::unique_ptr<ImageSource> open_oci_layout(const LocalFiles& files,
                                             const std::filesystem::path& dir, std::string tag) {
  return std::make_unique<OciLayout>(files, dir, std::move(tag), "oci-layout", dir);
}

std::unique_ptr<ImageSource> open_oci_archive(const LocalFiles& files,
                                              const std::filesystem::path& archive, std::string tag,
                                              const std::filesystem::path& scratch,
                                              const Interrupt& interrupt) {
  unpack(files, archive, scratch, interrupt);
  // The unpacked files are the build's own: read them as they are.
  return std::make_unique<OciLayout>(LocalFiles(), scratch, std::move(tag), "oci-archive", archive);
}

std::unique_ptr<ImageSource>
open_docker_archive(const LocalFiles& files, const std::filesystem::path& archive, std::string tag,
                    const std::filesystem::path& scratch, const Interrupt& interrupt) {
  unpack(files, archive, scratch, interrupt);
  // Docker 25 and later save an OCI layout (plus manifest.json); read that when present.
  if (std::filesystem::is_regular_file(scratch / "oci-layout")) {
    return std::make_unique<OciLayout>(LocalFiles(), scratch, std::move(tag), "docker-archive",
                                       archive);
  }
  return std::make_unique<DockerArchive>(archive, scratch, std::move(tag));
}

} // namespace oci2eif::registry
