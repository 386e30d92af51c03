// ArrivingBlobs: the blobs a pull downloads in the background (BlobTransfer::
// start_fetching_layers), readable while they arrive, so that a cold build inflates a layer as
// it comes off the wire instead of after it.
//
// The download threads say what they do: each append to a blob's temporary file, each restart
// (a mirror gave up, or a server ignored Range and sent the blob from its start), and each end
// (in the cache and verified, or failed). A reader (open_arriving_blob) blocks until the bytes
// it wants are in the file and reads them from there: nothing is held in memory, and the
// download runs at its own pace. The reader trusts none of it: what it read is checked against
// the digest as it is read, and its end waits for the download's own verdict.
//
// A restart truncates the file. It is announced before the truncation (restarting()), so a
// reader that sees the same generation after a read knows no truncation raced it; a read that
// overlapped one is done again from the new bytes.
#pragma once

#include "core/bytes.hpp"
#include "core/interrupt.hpp"
#include "registry/manifest.hpp"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace oci2eif::registry {

class ArrivingBlobs {
public:
  // `digests`: the blobs the background downloads will fetch.
  explicit ArrivingBlobs(std::set<std::string> digests);
  ~ArrivingBlobs(); // closes the files it opened
  ArrivingBlobs(const ArrivingBlobs&) = delete;
  ArrivingBlobs& operator=(const ArrivingBlobs&) = delete;

  // Whether `digest` is one of the blobs given at construction (ended or not).
  bool fetches(const std::string& digest) const { return digests_.count(digest) != 0; }

  // --- the download side ---
  // `file` now holds `total` bytes of `digest` (for a digest not fetched here: nothing).
  void appended(const std::string& digest, const std::filesystem::path& file, std::uint64_t total);
  // `digest`'s file is about to be truncated, to be written again from its start.
  void restarting(const std::string& digest);
  // The download of `digest` ended: in the cache, or failed with `error`.
  void ended(const std::string& digest, std::exception_ptr error);
  // Those not ended yet never will be (the first error stopped them): they end with it.
  void end_the_rest();

  // --- the reader side ---
  // Waits until `digest` ended (calling `interrupt`, which may throw, every so often); rethrows
  // the error that ended it, or the first download error if that kept it from starting.
  void await_end(const std::string& digest, const Interrupt& interrupt = {});

  // Readers waiting now or later throw Cancelled instead (the build that reads stopped).
  void stop_readers();

  // What a reader at `offset` of `digest` may read now.
  struct Readable {
    int fd = -1;                  // the file being written; -1 if no byte came this way
    std::uint64_t available = 0;  // bytes in it of this generation
    std::uint64_t generation = 0; // restarts so far
    bool ended = false;           // the download ended (well: await_end() did not throw)
  };
  // Waits until more than `offset` bytes of `digest` are readable, or its download ended.
  Readable await_bytes(const std::string& digest, std::uint64_t offset, const Interrupt& interrupt);
  std::uint64_t generation(const std::string& digest) const;

private:
  struct Arriving {
    int fd = -1;
    std::uint64_t available = 0;
    std::uint64_t generation = 0;
    bool ended = false;
  };
  // Waits on `changed` until `done` holds, calling `interrupt` between waits; throws Cancelled
  // once stop_readers() was called.
  void wait(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done,
            const Interrupt& interrupt);
  void rethrow_if_failed(const std::string& digest) const; // with mutex_ held

  const std::set<std::string> digests_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Arriving> blobs_;            // by digest, one for each of digests_
  std::map<std::string, std::exception_ptr> failed_; // by digest: why its download failed
  std::exception_ptr first_error_;
  bool readers_stopped_ = false;
};

// Blob `d` read while it arrives, checked against its digest and size as it is read (a
// mismatch throws DigestMismatch naming `subject`). At its end it waits for the download to
// end and rethrows its error. If the download ended without a byte passing through
// `blobs` (another process fetched the blob, or the shared cache had it), the rest is read from
// `final_file()`, the blob's verified file in the cache.
std::unique_ptr<ByteSource> open_arriving_blob(ArrivingBlobs& blobs, const Descriptor& d,
                                               std::string subject,
                                               std::function<std::filesystem::path()> final_file,
                                               Interrupt interrupt);

} // namespace oci2eif::registry
