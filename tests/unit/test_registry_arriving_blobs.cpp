// A blob read while it downloads: the download side is a real BlobDownload (the cache's
// temporary file) driven by the test as BlobTransfer drives it; the reader is what
// RegistrySource::open_blob() returns for a layer still arriving.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/arriving_blobs.hpp"
#include "registry/blob_cache.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

// One blob's download into a temporary file, announced to `blobs` as BlobTransfer does.
struct Download {
  ArrivingBlobs& blobs;
  std::string digest;
  BlobDownload file;

  Download(ArrivingBlobs& b, const test::TempDir& dir, const Bytes& content)
      : blobs(b), digest(sha256_digest(content)),
        file(dir / "download.tmp", content.size(), "blob") {}
  void append(ByteView part) {
    file.append(part);
    blobs.appended(digest, file.path(), file.received());
  }
  void restart() {
    blobs.restarting(digest); // before the truncation, as BlobTransfer::restart() does
    file.restart();
  }
  void finish() {
    file.finish(digest);
    blobs.ended(digest, nullptr);
  }
};

Descriptor descriptor_of(const Bytes& content) {
  return {"application/vnd.oci.image.layer.v1.tar+gzip",
          sha256_digest(content),
          content.size(),
          {},
          {}};
}

std::unique_ptr<ByteSource> reader_of(ArrivingBlobs& blobs, const Bytes& content,
                                      std::function<std::filesystem::path()> final_file = {},
                                      Interrupt interrupt = {}) {
  if (!final_file) {
    final_file = []() -> std::filesystem::path {
      throw Error(ErrorCode::Internal, "no final file");
    };
  }
  return open_arriving_blob(blobs, descriptor_of(content), "layer 1", std::move(final_file),
                            std::move(interrupt));
}

ByteView part(const Bytes& b, std::size_t from, std::size_t to) {
  return ByteView(b).subspan(from, to - from);
}

// One blob arriving, its download and a reader.
struct OneBlob {
  explicit OneBlob(std::size_t size)
      : content(test::pattern_bytes(size)), blobs({sha256_digest(content)}),
        download(blobs, dir, content), reader(reader_of(blobs, content)) {}
  const test::TempDir dir;
  const Bytes content;
  ArrivingBlobs blobs;
  Download download;
  std::unique_ptr<ByteSource> reader;
};

// Exactly `n` bytes from `in` (which must have them).
Bytes read_n(ByteSource& in, std::size_t n) {
  Bytes out(n);
  for (std::size_t done = 0; done < n;) {
    const std::size_t got = in.read(std::span<std::uint8_t>(out).subspan(done));
    REQUIRE(got > 0);
    done += got;
  }
  return out;
}

} // namespace

TEST_SUITE("registry::ArrivingBlobs") {
  TEST_CASE("a reader gets each part as it is written - its end waits for the download's end") {
    OneBlob one(300000);
    const Bytes& content = one.content;
    Download& download = one.download;
    ByteSource& reader = *one.reader;

    download.append(part(content, 0, 1000));
    Bytes buffer(4096);
    CHECK(reader.read(buffer) == 1000); // what is there, without waiting for more
    CHECK(Bytes(buffer.begin(), buffer.begin() + 1000) ==
          Bytes(content.begin(), content.begin() + 1000));

    std::atomic<bool> ended{false};
    Bytes rest;
    bool ended_first = false;
    std::thread read_rest([&] {
      rest = test::read_all(reader, 7000);
      ended_first = ended; // the last read returned only after the download's end
    });
    for (std::size_t at = 1000; at < content.size(); at += 65536) {
      download.append(part(content, at, std::min(content.size(), at + 65536)));
    }
    ended = true;
    download.finish();
    read_rest.join();
    CHECK(ended_first);
    CHECK(rest == Bytes(content.begin() + 1000, content.end()));
  }

  TEST_CASE("after a restart the reader goes on in the new bytes - the same pass, others fail") {
    OneBlob one(100000);
    const Bytes& content = one.content;
    Download& download = one.download;
    ByteSource& reader = *one.reader;
    Bytes first_sent = content;
    bool same = true;
    SUBCASE("the server sent the same bytes again (it ignored Range)") {
    }
    SUBCASE("a mirror sent other bytes first") {
      first_sent[10] ^= 0xff;
      same = false;
    }
    download.append(part(first_sent, 0, 50000));
    CHECK(read_n(reader, 40000) == Bytes(first_sent.begin(), first_sent.begin() + 40000));
    download.restart();
    download.append(part(content, 0, 30000)); // not yet where the reader is
    download.append(part(content, 30000, content.size()));
    download.finish();
    if (same) {
      CHECK(test::read_all(reader, 4096) == Bytes(content.begin() + 40000, content.end()));
    } else {
      CHECK(test::code_of([&] { test::read_all(reader, 4096); }) == ErrorCode::DigestMismatch);
    }
  }

  TEST_CASE("reads racing restarts never take the bytes of a truncated file") {
    OneBlob one(1 << 20);
    const Bytes& content = one.content;
    Download& download = one.download;
    ByteSource& reader = *one.reader;
    Bytes got;
    std::string error;
    std::thread read([&] { error = test::error_of([&] { got = test::read_all(reader, 3000); }); });
    for (int round = 0; round < 200; ++round) { // each sends a part of the same bytes again
      download.append(part(content, 0, 64 << 10));
      download.append(part(content, 64 << 10, (200 + round) << 10));
      download.restart();
    }
    download.append(part(content, 0, content.size()));
    download.finish();
    read.join();
    CHECK(error == ""); // a read of truncated zeros would fail the digest, or come up short
    CHECK(got == content);
  }

  TEST_CASE("a failed download ends its readers with its error - and those it kept from "
            "starting") {
    const Bytes a = test::pattern_bytes(1000);
    const Bytes b = test::pattern_bytes(2000);
    ArrivingBlobs blobs({sha256_digest(a), sha256_digest(b)});
    auto reader_a = reader_of(blobs, a);
    auto reader_b = reader_of(blobs, b);
    std::string seen_a;
    std::thread waiting([&] { seen_a = test::error_of([&] { test::read_all(*reader_a, 100); }); });
    blobs.ended(sha256_digest(a),
                std::make_exception_ptr(Error(ErrorCode::NotFound, "blob a: HTTP 404")));
    waiting.join();
    CHECK(seen_a == "blob a: HTTP 404");
    blobs.end_the_rest();
    CHECK(test::code_of([&] { test::read_all(*reader_b, 100); }) == ErrorCode::NotFound);
    CHECK(test::error_of([&] { blobs.await_end(sha256_digest(b)); }) == "blob a: HTTP 404");
  }

  TEST_CASE("a blob that ended without arriving here is read from its file in the cache") {
    const test::TempDir dir;
    const Bytes content = test::pattern_bytes(5000);
    ArrivingBlobs blobs({sha256_digest(content)});
    Bytes in_cache = content;
    SUBCASE("as it should be") {
    }
    SUBCASE("changed since (the reader checks it too)") {
      in_cache[4999] ^= 1;
    }
    test::write_file(dir / "cached", in_cache);
    const auto reader = reader_of(blobs, content, [&] { return dir / "cached"; });
    blobs.ended(sha256_digest(content), nullptr); // the shared cache had it, say
    if (in_cache == content) {
      CHECK(test::read_all(*reader, 1000) == content);
    } else {
      CHECK(test::code_of([&] { test::read_all(*reader, 1000); }) == ErrorCode::DigestMismatch);
    }
  }

  TEST_CASE("a reader waiting for bytes is stopped by its interrupt") {
    const Bytes content = test::pattern_bytes(5000);
    ArrivingBlobs blobs({sha256_digest(content)});
    int asked = 0;
    const auto reader = reader_of(blobs, content, {}, [&] {
      if (++asked == 3) {
        throw Error(ErrorCode::Cancelled, "build cancelled");
      }
    });
    CHECK(test::code_of([&] { test::read_all(*reader, 100); }) == ErrorCode::Cancelled);
    CHECK(asked == 3);
  }
}
