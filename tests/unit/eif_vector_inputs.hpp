// The inputs of AWS's EIF vectors (tests/data/eif-vectors) as EifContents, as vectors.json's
// eif_build command line gives them (its flags are fixed there).
#pragma once

#include "core/eif_writer.hpp"
#include "core/file_stream.hpp"
#include "tests/unit/test_support.hpp"

#include <memory>
#include <string>
#include <vector>

namespace oci2eif::test {

struct VectorInputs {
  std::vector<std::unique_ptr<FileSource>> files;
  EifContents contents;
};

// kernel.bin, cmdline.txt, eif_build's metadata, and `ramdisks` (input file names) in order.
inline std::unique_ptr<VectorInputs> vector_inputs(const std::vector<std::string>& ramdisks) {
  auto v = std::make_unique<VectorInputs>();
  v->files.push_back(std::make_unique<FileSource>(vector_input("kernel.bin")));
  v->contents.kernel = v->files.back().get();
  const Bytes cmdline = read_file(vector_input("cmdline.txt"));
  v->contents.cmdline.assign(cmdline.begin(), cmdline.end());
  v->contents.metadata.image_name = "kernel.bin";
  v->contents.metadata.image_version = "1.0";
  v->contents.metadata.build = {"2024-01-01T00:00:00+00:00", "eif_build", "0.3.1", "Linux",
                                "6.6.79"};
  for (const std::string& r : ramdisks) {
    v->files.push_back(std::make_unique<FileSource>(vector_input(r)));
    v->contents.ramdisks.push_back(v->files.back().get());
  }
  return v;
}

} // namespace oci2eif::test
