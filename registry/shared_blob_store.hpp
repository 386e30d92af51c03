// SharedBlobStore: the second level of the blob cache, shared by every replica of the service
// (an object store bucket: server/s3_blob_store.hpp). A DirectoryBlobCache asks it on a local
// miss before it asks the registry, and offers it each blob it fetched from a registry.
//
// It is trusted for nothing: what fetch() writes is verified against the digest exactly as a
// registry's bytes are, and a copy that fails is ignored (the registry is used instead).
// Implementations are safe to call from several threads.
#pragma once

#include "registry/blob_cache.hpp"

#include <filesystem>
#include <string>

namespace oci2eif::registry {

class SharedBlobStore {
public:
  virtual ~SharedBlobStore() = default;

  // Appends the stored blob `digest` to `into`; false when the store has none. Throws what the
  // store throws (e.g. Unavailable), and what `into` throws for bytes beyond its expected size.
  virtual bool fetch(const std::string& digest, BlobDownload& into) = 0;
  // Stores `verified_file`, whose content the caller verified to be `digest`.
  virtual void put(const std::string& digest, const std::filesystem::path& verified_file) = 0;
  // Whether the store holds `digest` (a hint; fetch() may still find none).
  virtual bool contains(const std::string& digest) = 0;
};

} // namespace oci2eif::registry
