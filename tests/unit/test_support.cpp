#include "tests/unit/test_support.hpp"

#include "core/crc32.hpp"
#include "core/error.hpp"
#include "core/sha.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <random>
#include <stdexcept>

namespace oci2eif::test {

std::filesystem::path data_dir() {
  return OCI2EIF_TEST_DATA;
}

std::filesystem::path vector_input(const std::string& name) {
  return data_dir() / "eif-vectors" / "inputs" / name;
}

std::filesystem::path vector_file(char vector) {
  return data_dir() / "eif-vectors" / (std::string("vector-") + vector + ".eif");
}

const nlohmann::json& vectors_json() {
  static const nlohmann::json doc = [] {
    std::ifstream in(data_dir() / "eif-vectors" / "vectors.json");
    return nlohmann::json::parse(in);
  }();
  return doc;
}

int reserved_port() {
  const std::string command =
      "python3 '" + (data_dir().parent_path() / "e2e" / "ports.py").string() + "' 1";
  FILE* out = ::popen(command.c_str(), "r");
  if (out == nullptr) {
    throw std::runtime_error("cannot run " + command);
  }
  char line[32] = {};
  const bool read = std::fgets(line, sizeof line, out) != nullptr;
  const int status = ::pclose(out);
  const int port = read ? std::atoi(line) : 0;
  if (status != 0 || port <= 0 || port > 65535) {
    throw std::runtime_error(command + " gave no port (status " + std::to_string(status) + ")");
  }
  return port;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::optional<ErrorCode> code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + path.string());
  }
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::filesystem::path& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

std::string sha256_hex(ByteView data) {
  return to_hex(sha256(data));
}

Bytes pattern_bytes(std::size_t n) {
  Bytes out(n);
  std::uint32_t x = 7;
  for (auto& b : out) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::uint8_t>(x >> 23);
  }
  return out;
}

PartialRead read_until_error(ByteSource& in, std::size_t read_size) {
  PartialRead r;
  Bytes buffer(read_size);
  try {
    while (const std::size_t n = in.read(buffer)) {
      r.bytes.insert(r.bytes.end(), buffer.begin(),
                     buffer.begin() + static_cast<std::ptrdiff_t>(n));
    }
  } catch (const Error& e) {
    r.code = e.code();
    r.error = e.what();
  }
  return r;
}

Bytes read_all(ByteSource& in, std::size_t read_size) {
  Bytes out, buffer(read_size);
  while (const std::size_t n = in.read(buffer)) {
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("oci2eif-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::uint64_t get_be64(const Bytes& eif, std::size_t offset) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = (v << 8) | eif.at(offset + i);
  }
  return v;
}

void put_be64(Bytes& eif, std::size_t offset, std::uint64_t value) {
  for (std::size_t i = 0; i < 8; ++i) {
    eif.at(offset + i) = static_cast<std::uint8_t>(value >> (56 - 8 * i));
  }
}

void put_be16(Bytes& eif, std::size_t offset, std::uint16_t value) {
  eif.at(offset) = static_cast<std::uint8_t>(value >> 8);
  eif.at(offset + 1) = static_cast<std::uint8_t>(value);
}

void fix_crc(Bytes& eif) {
  Crc32 crc;
  crc.update(ByteView(eif.data(), 544));
  crc.update(ByteView(eif.data() + 548, eif.size() - 548));
  const std::uint32_t v = crc.value();
  for (std::size_t i = 0; i < 4; ++i) {
    eif.at(544 + i) = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}

namespace {

std::string pem_of(int (*write)(BIO*, const void*), const void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, object);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

std::string key_pem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  static char passphrase[] = "secret";
  PEM_write_bio_PrivateKey(bio, key, cipher, reinterpret_cast<unsigned char*>(passphrase),
                           cipher ? 6 : 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

} // namespace

PemIdentity make_ec_identity(const std::string& curve, std::int64_t not_before,
                             std::int64_t not_after) {
  EVP_PKEY* key = EVP_EC_gen(curve.c_str());
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after));
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("oci2eif-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha384());
  PemIdentity id;
  id.certificate = pem_of(
      [](BIO* b, const void* c) {
        return PEM_write_bio_X509(b, static_cast<X509*>(const_cast<void*>(c)));
      },
      cert);
  id.private_key = key_pem(key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return id;
}

std::string make_rsa_key_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  std::string pem = key_pem(key);
  EVP_PKEY_free(key);
  return pem;
}

std::string make_encrypted_ec_key_pem() {
  EVP_PKEY* key = EVP_EC_gen("secp384r1");
  std::string pem = key_pem(key, EVP_aes_256_cbc());
  EVP_PKEY_free(key);
  return pem;
}

} // namespace oci2eif::test
