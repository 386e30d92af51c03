// File-backed ByteSource and ByteSink, and an output file that appears atomically.
//
// These are the only places in core/ that touch the filesystem; every format is written
// against the interfaces in bytes.hpp and gets a file only through these adapters.
#pragma once

#include "core/bytes.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace oci2eif {

// Reads a regular file front to back. The size is taken when the file is opened; a file that
// grows or shrinks while it is read is reported as an error by read_exact()/the consumer.
class FileSource final : public ByteSource, public PositionalReader {
public:
  explicit FileSource(const std::filesystem::path& path);
  // Adopts `fd`, a file already open for reading (e.g. through a sealed directory handle);
  // `path` names it in errors. Throws InvalidInput, closing `fd`, unless it is a regular file.
  FileSource(int fd, const std::filesystem::path& path);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  std::uint64_t size() const override { return size_; }
  std::size_t read(std::span<std::uint8_t> out) override;
  // pread(): does not move the position read() reads from.
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override;
  std::string describe() const override { return path_.string(); }

private:
  void adopt(int fd);

  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Makes a rename or unlink inside `dir` durable ("" is the working directory). Throws Io naming
// the directory.
void fsync_directory(const std::filesystem::path& dir);

// pwrite()s all of `data` at `offset`, retrying short writes and EINTR; `path` names the file in
// errors.
void write_all_at(int fd, ByteView data, std::uint64_t offset, const std::filesystem::path& path);

// Reads a whole (small) file into memory, refusing files larger than `max_size`.
Bytes read_small_file(const std::filesystem::path& path, std::size_t max_size);
Bytes read_small_file(FileSource& in, std::size_t max_size);

// Writes a scratch file front to back (created exclusively, mode 0600; no fsync: scratch data
// does not need to survive a crash).
class FileSink final : public ByteSink {
public:
  explicit FileSink(const std::filesystem::path& path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(ByteView data) override;
  void close();

private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

// True for the names AtomicFileWriter gives its temporary files (".NAME.tmp-XXXXXX"): what a
// process killed mid-write leaves behind, safe to delete once no writer can still be running.
bool is_atomic_temp_name(std::string_view filename);

// Writes a new file that only becomes visible under its final name on commit():
// data goes to a temporary file in the same directory, which commit() fsyncs, renames over
// `path` and follows with an fsync of the directory. Destroying an uncommitted writer removes
// the temporary file, so a failed build never leaves a partial artifact behind.
// The final file gets mode 0644 regardless of the umask.
class AtomicFileWriter final : public PatchableSink {
public:
  explicit AtomicFileWriter(std::filesystem::path path);
  ~AtomicFileWriter() override;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(ByteView data) override;
  void write_at(std::uint64_t offset, ByteView data) override;
  void commit();

private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

} // namespace oci2eif
