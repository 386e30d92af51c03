// Shared helpers for the doctest suite: test data, temporary directories, EIF surgery, and
// throwaway EC signing identities.
#pragma once

#include "core/bytes.hpp"
#include "core/error.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace oci2eif::test {

// tests/data in the source tree.
std::filesystem::path data_dir();
// tests/data/eif-vectors/inputs/<name>.
std::filesystem::path vector_input(const std::string& name);
std::filesystem::path vector_file(char vector);
// tests/data/eif-vectors/vectors.json, parsed.
const nlohmann::json& vectors_json();

// A 127.0.0.1 port for a test's server, reserved as the e2e suites reserve theirs
// (tests/e2e/ports.py: below the ephemeral range, one file per port under a shared lock), so
// that suites running in parallel never meet on one. Throws std::runtime_error if ports.py fails.
int reserved_port();

// The message of the oci2eif::Error that `f` throws, or "" if it returns normally.
std::string error_of(const std::function<void()>& f);
// The code of the oci2eif::Error that `f` throws, or nullopt if it returns normally.
std::optional<ErrorCode> code_of(const std::function<void()>& f);

Bytes read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, ByteView data);
std::string sha256_hex(ByteView data);
// `n` bytes of a fixed pseudo-random sequence (an LCG), the same on every run.
Bytes pattern_bytes(std::size_t n);
// Everything `in` yields, read in reads of `read_size` bytes.
Bytes read_all(ByteSource& in, std::size_t read_size);
// What `in` yields before it ends or throws an oci2eif::Error, and that error's code and message.
struct PartialRead {
  Bytes bytes;
  std::optional<ErrorCode> code;
  std::string error;
};
PartialRead read_until_error(ByteSource& in, std::size_t read_size);

// A fresh directory removed (recursively) when the object goes out of scope.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

// Recomputes and stores the header CRC of a whole EIF held in memory (after a test edits it).
void fix_crc(Bytes& eif);
// Reads/writes big-endian integers inside an EIF held in memory.
std::uint64_t get_be64(const Bytes& eif, std::size_t offset);
void put_be64(Bytes& eif, std::size_t offset, std::uint64_t value);
void put_be16(Bytes& eif, std::size_t offset, std::uint16_t value);

// A self-signed certificate and its private key, both PEM, made fresh with OpenSSL.
struct PemIdentity {
  std::string certificate;
  std::string private_key;
};
// `curve` is an OpenSSL group name ("prime256v1", "secp384r1", "secp521r1").
// Validity is [not_before, not_after] in Unix seconds.
PemIdentity make_ec_identity(const std::string& curve, std::int64_t not_before = 946684800,
                             std::int64_t not_after = 4102444800);
// A 2048-bit RSA key, PEM (to check that it is refused).
std::string make_rsa_key_pem();
// An EC key encrypted with a passphrase, PEM (to check that we never prompt).
std::string make_encrypted_ec_key_pem();

} // namespace oci2eif::test
