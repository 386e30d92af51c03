// Applying an image's layers to a LayerFlattener: each blob read from its source (digest
// checked as it is read), decompressed, checked against its diff_id and parsed as a tar, with
// one log line per layer. With more than one thread the stages run ahead of one another on
// threads of their own (apply_layer in the .cpp says how).
#pragma once

#include "core/layer_flattener.hpp"
#include "pipeline/build_pipeline.hpp"
#include "registry/image_source.hpp"

namespace oci2eif::pipeline {

// Applies every layer of `image`, in order, reading the blobs from `source`; progress goes to
// `progress` (may be empty). When a layer fails, `source` is told to stop reading
// (ImageSource::stop_reading) before the layer's threads are joined, so that one waiting for
// bytes still downloading does not hold the error back.
void apply_layers(registry::ImageSource& source, const registry::ResolvedImage& image,
                  LayerFlattener& flattener, const ProgressLog& log,
                  const registry::ProgressObserver& progress, unsigned threads);

} // namespace oci2eif::pipeline
