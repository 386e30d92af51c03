#include "pipeline/layer_application.hpp"

#include "core/digest.hpp"
#include "core/reporting_source.hpp"
#include "core/tar_reader.hpp"
#include "pipeline/read_ahead_source.hpp"
#include "pipeline/step_timing.hpp"

#include <chrono>
#include <optional>

namespace oci2eif::pipeline {
namespace {

// Where a layer's bytes came from, for its log line.
std::string origin_of(const registry::ImageSource& source, const registry::Descriptor& d) {
  const auto fetch = source.blob_fetch(d.digest);
  if (!fetch) {
    return "read in place from the local image";
  }
  return "downloaded " + std::to_string(fetch->downloaded) + " bytes, " +
         std::to_string(fetch->from_cache ? d.size : 0) + " bytes from the cache";
}

// Layer `d`'s blob as it is read to be applied, told to `progress` (which may be empty).
ReportingSource applying(ByteSource& blob, const registry::Descriptor& d, const std::string& label,
                         const registry::ProgressObserver& progress) {
  ReportingSource::Report report;
  if (progress) {
    report = [&progress, d, label](std::uint64_t done) {
      progress({registry::TransferProgress::Phase::Apply, d.digest, label, done, d.size});
    };
  }
  return ReportingSource(blob, std::move(report), registry::kProgressEveryBytes);
}

// Applies one layer's blob (already digest-checked as it is read) to the flattener: inflated,
// checked against `diff_id`, parsed. With more than one thread, the chain is cut in four, each
// part a thread that works ahead of the next: reading the blob and checking its digest;
// inflating it; hashing the inflated bytes; parsing the tar and writing the spool (this thread).
// Inflating is the longest part, so it has a thread to itself. Returns the number of inflated
// bytes.
std::uint64_t apply_layer(ByteSource& blob, Compression compression, const std::string& diff_id,
                          const std::string& name, LayerFlattener& flattener, unsigned threads,
                          registry::ImageSource& source) {
  std::optional<ReadAheadSource> read;
  if (threads > 1 && compression != Compression::None) {
    read.emplace(blob);
  }
  auto tar = decompressing_source(read ? static_cast<ByteSource&>(*read) : blob, compression, name);
  std::optional<ReadAheadSource> inflated;
  if (threads > 1) {
    inflated.emplace(*tar);
  }
  VerifyingSource diff(inflated ? static_cast<ByteSource&>(*inflated) : *tar, diff_id, kUnknownSize,
                       name + ": uncompressed content (diff_id)");
  std::optional<ReadAheadSource> checked;
  if (threads > 1) {
    checked.emplace(diff);
  }
  try {
    // Reads to the end of the stream, so the threads have ended when it returns.
    flattener.apply_layer(checked ? static_cast<ByteSource&>(*checked) : diff, name);
    if (read) {
      // Inflating stops at the end of the gzip data, but the blob's digest covers every byte:
      // the thread checked it at the blob's end, and only reading to that end hands its
      // verdict over (the caller's drain would find the check done and say nothing).
      drain(*read);
    }
  } catch (...) {
    // The threads are joined as this unwinds; one may be waiting for bytes of a layer still
    // downloading, which would hold the error back until the network gave up.
    source.stop_reading();
    throw;
  }
  return diff.bytes_read();
}

} // namespace

void apply_layers(registry::ImageSource& source, const registry::ResolvedImage& image,
                  LayerFlattener& flattener, const ProgressLog& log,
                  const registry::ProgressObserver& progress, unsigned threads) {
  const auto& layers = image.manifest.layers;
  for (std::size_t i = 0; progress && i < layers.size(); ++i) { // the whole, for a display
    progress({registry::TransferProgress::Phase::Apply, layers[i].digest,
              "layer " + std::to_string(i + 1) + "/" + std::to_string(layers.size()), 0,
              layers[i].size});
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto started = std::chrono::steady_clock::now();
    const registry::Descriptor& d = layers[i];
    const std::string name =
        source.name() + ": layer " + std::to_string(i + 1) + " (" + short_digest(d.digest) + "…)";
    const Compression compression = registry::layer_compression(d.media_type, name);
    auto blob = source.open_blob(d);
    const std::string count = std::to_string(i + 1) + "/" + std::to_string(layers.size());
    ReportingSource read(applying(*blob, d, "layer " + count, progress));
    const std::uint64_t uncompressed =
        apply_layer(read, compression, image.config.diff_ids[i], name, flattener, threads, source);
    drain(read);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log("layer " + count + " " + d.digest + ": " + std::to_string(d.size) + " bytes compressed, " +
        std::to_string(uncompressed) + " uncompressed; " + origin_of(source, d) + "; applied in " +
        format_seconds(seconds) + " s (" + std::to_string(flattener.tree().size()) +
        " entries so far)");
  }
}

} // namespace oci2eif::pipeline
