#include "pipeline/pkcs11_key.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/openssl_util.hpp"
#include "pipeline/pkcs11_uri.hpp"

#include <cstdio>
#include <libp11.h>
#include <map>
#include <mutex>
#include <openssl/ui.h>

namespace oci2eif::pipeline {
namespace {

constexpr std::size_t kMaxPinFileSize = 4096;
// PKCS#11 v2.40 §11.1 return values for a PIN the token refuses.
constexpr int kCkrPinIncorrect = 0xA0;
constexpr int kCkrPinInvalid = 0xA1;
constexpr int kCkrPinLenRange = 0xA2;
constexpr int kCkrPinLocked = 0xA4;

// One loaded module (PKCS11_CTX_load: dlopen and C_Initialize) and its slot list; unloaded
// (C_Finalize) when the last key using it goes. Keys of one module share it (shared_module()).
class Module {
public:
  Module(const std::string& path, const std::string& subject) : ctx_(PKCS11_CTX_new()) {
    // A token asking for a PIN again (CKA_ALWAYS_AUTHENTICATE) gets none: nobody can answer.
    // libp11 only calls the method, its pointer is not const for older OpenSSL's sake.
    PKCS11_set_ui_method(ctx_, const_cast<UI_METHOD*>(UI_null()), nullptr);
    if (PKCS11_CTX_load(ctx_, path.c_str()) != 0) {
      const std::string why = openssl::last_error();
      PKCS11_CTX_free(ctx_);
      throw Error(ErrorCode::NotFound, subject + ": cannot load the PKCS#11 module " + path +
                                           (why.empty() ? "" : ": " + why));
    }
    if (PKCS11_enumerate_slots(ctx_, &slots_, &count_) != 0) {
      const std::string why = openssl::last_error();
      release();
      throw Error(ErrorCode::Unavailable,
                  subject + ": the PKCS#11 module " + path + " lists no slots: " + why);
    }
  }
  ~Module() { release(); }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  PKCS11_SLOT* begin() const { return slots_; }
  PKCS11_SLOT* end() const { return slots_ + count_; }
  // Held while a key of this module signs: one operation at a time per module, whichever
  // threads and keys ask.
  std::mutex& signing() const { return signing_; }

private:
  void release() {
    if (slots_ != nullptr) {
      PKCS11_release_all_slots(ctx_, slots_, count_);
    }
    PKCS11_CTX_unload(ctx_);
    PKCS11_CTX_free(ctx_);
  }
  PKCS11_CTX* ctx_;
  PKCS11_SLOT* slots_ = nullptr;
  unsigned count_ = 0;
  mutable std::mutex signing_;
};

// The loaded module at `path`, shared by every key that names it. PKCS#11 state is
// process-wide (one C_Initialize per process), and libp11 closes every session of a slot
// (C_CloseAllSessions) when a second context opens its first one there: two contexts on one
// module would end each other's sessions. Hence this process-wide table, which core/ could not
// hold. Keys that reach one module both directly and through p11-kit's proxy still get two
// contexts: a configuration reaches each module one way (docs/signing.md).
std::shared_ptr<Module> shared_module(const std::string& path, const std::string& subject) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<Module>> loaded;
  const std::lock_guard lock(mutex);
  std::shared_ptr<Module> module = loaded[path].lock();
  if (!module) {
    module = std::make_shared<Module>(path, subject);
    loaded[path] = module;
  }
  return module;
}

// A key on the token. Holds the module so that the key's handles stay valid.
class Pkcs11Signer : public EcdsaSigner {
public:
  Pkcs11Signer(std::shared_ptr<Module> module, openssl::PkeyPtr key, Bytes public_der,
               std::string subject)
      : module_(std::move(module)), key_(std::move(key)), public_der_(std::move(public_der)),
        subject_(std::move(subject)) {}
  Bytes public_key_der() const override { return public_der_; }
  Bytes sign_der(ByteView message, HashAlgorithm digest) const override {
    const std::lock_guard lock(module_->signing());
    try {
      return openssl::digest_sign(key_.get(), digest, message, subject_);
    } catch (const Error& e) { // the token went away, or refused: not a bug of ours
      throw Error(ErrorCode::Unavailable, e.what());
    }
  }

private:
  std::shared_ptr<Module> module_;
  openssl::PkeyPtr key_;
  Bytes public_der_;
  std::string subject_;
};

bool field_matches(const std::optional<std::string>& wanted, const char* actual) {
  return !wanted || (actual != nullptr && *wanted == actual);
}

bool token_matches(const Pkcs11Uri& u, PKCS11_SLOT& slot) {
  const PKCS11_TOKEN* t = slot.token;
  return t != nullptr && field_matches(u.token, t->label) &&
         field_matches(u.manufacturer, t->manufacturer) && field_matches(u.model, t->model) &&
         field_matches(u.serial, t->serialnr) &&
         (!u.slot_id || *u.slot_id == PKCS11_get_slotid_from_slot(&slot));
}

// The first slot whose token the URI selects; NotFound listing the tokens there are.
PKCS11_SLOT& find_token(const Module& module, const Pkcs11Uri& u, const std::string& path) {
  std::string present;
  for (PKCS11_SLOT& slot : module) {
    if (token_matches(u, slot)) {
      return slot;
    }
    if (slot.token != nullptr && slot.token->initialized && slot.token->label[0] != '\0') {
      present += (present.empty() ? "'" : ", '") + std::string(slot.token->label) + "'";
    }
  }
  throw Error(ErrorCode::NotFound, u.subject + ": no such token in the PKCS#11 module " + path +
                                       " (tokens present: " + (present.empty() ? "none" : present) +
                                       ")");
}

// The PIN the URI gives, by value or from its pin-source file (one line).
std::optional<std::string> pin_of(const Pkcs11Uri& u) {
  if (!u.pin_source) {
    return u.pin_value;
  }
  const std::string file =
      u.pin_source->rfind("file:", 0) == 0 ? u.pin_source->substr(5) : *u.pin_source;
  if (file.empty() || file[0] != '/') {
    throw Error(ErrorCode::InvalidInput, u.subject + ": pin-source must be file:/ABSOLUTE/PATH");
  }
  Bytes bytes;
  try {
    bytes = read_small_file(file, kMaxPinFileSize);
  } catch (const Error& e) {
    throw Error(e.code(), u.subject + ": pin-source: " + e.what());
  }
  std::string pin(bytes.begin(), bytes.end());
  while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) {
    pin.pop_back();
  }
  return pin;
}

// Why the token refused the login, from the PKCS#11 return value libp11 queued.
std::string login_failure() {
  int ckr = 0;
  while (const unsigned long e = ERR_get_error()) {
    if (ERR_GET_LIB(e) == ERR_get_CKR_code()) {
      ckr = ERR_GET_REASON(e);
    }
  }
  switch (ckr) {
  case kCkrPinIncorrect:
  case kCkrPinInvalid:
  case kCkrPinLenRange:
    return "the token refused the PIN (wrong PIN)";
  case kCkrPinLocked:
    return "the token's PIN is locked (too many wrong PINs)";
  case 0:
    return "login to the token failed";
  default:
    char code[16];
    std::snprintf(code, sizeof code, "0x%X", static_cast<unsigned>(ckr));
    return std::string("login to the token failed (PKCS#11 error ") + code + ")";
  }
}

// Logs in to the token unless it needs no login or an earlier key of this process did (the
// login belongs to the module's context, shared by its keys).
void log_in(PKCS11_SLOT& slot, const Pkcs11Uri& u) {
  int logged_in = 0;
  if (!slot.token->loginRequired ||
      (PKCS11_is_logged_in(&slot, 0, &logged_in) == 0 && logged_in != 0)) {
    return;
  }
  const std::optional<std::string> pin = pin_of(u);
  if (!pin) {
    throw Error(ErrorCode::Unauthorized,
                u.subject + ": the token needs a PIN: add ?pin-source=file:PATH or ?pin-value=…");
  }
  if (PKCS11_open_session(&slot, 0) != 0 || PKCS11_login(&slot, 0, pin->c_str()) != 0) {
    throw Error(ErrorCode::Unauthorized, u.subject + ": " + login_failure());
  }
}

bool key_matches(const Pkcs11Uri& u, const PKCS11_KEY& key) {
  return field_matches(u.object, key.label) &&
         (!u.id || Bytes(key.id, key.id + key.id_len) == *u.id);
}

// The private key the URI names on the token; NotFound listing the labels there are.
PKCS11_KEY& find_key(PKCS11_SLOT& slot, const Pkcs11Uri& u) {
  PKCS11_KEY* keys = nullptr;
  unsigned count = 0;
  if (PKCS11_enumerate_keys(slot.token, &keys, &count) != 0) {
    throw Error(ErrorCode::Unavailable,
                u.subject + ": cannot list the token's keys: " + openssl::last_error());
  }
  std::string present;
  for (unsigned i = 0; i < count; ++i) {
    if (key_matches(u, keys[i])) {
      return keys[i];
    }
    present += (present.empty() ? "'" : ", '") +
               std::string(keys[i].label != nullptr ? keys[i].label : "") + "'";
  }
  throw Error(ErrorCode::NotFound,
              u.subject + ": no such private key on the token '" + slot.token->label +
                  "' (private keys there: " + (present.empty() ? "none" : present) + ")");
}

// SubjectPublicKeyInfo of the token's key, as libp11 shows it with the private key (from the
// key object's EC point, else its public key object). Not PKCS11_get_public_key: in libp11
// 0.4.12 it leaks the public key object it looks up (LeakSanitizer, signing.pkcs11_e2e).
Bytes public_der_of(EVP_PKEY* private_key, const std::string& subject) {
  try {
    return openssl::to_der(i2d_PUBKEY, private_key, "the public key");
  } catch (const Error&) {
    openssl::last_error();
    throw Error(ErrorCode::NotFound,
                subject + ": the token shows no public key for this private key; store its "
                          "public key object with the same id");
  }
}

std::string module_path_of(const Pkcs11Uri& u) {
  const std::string path = u.module_path ? *u.module_path : std::string(default_pkcs11_module());
  if (path.find('/') != std::string::npos && !std::filesystem::exists(path)) {
    throw Error(ErrorCode::NotFound,
                u.subject + ": the PKCS#11 module " + path + " does not exist" +
                    (u.module_path ? ""
                                   : " (p11-kit's proxy: install p11-kit-modules, or "
                                     "give ?module-path=…)"));
  }
  return path;
}

} // namespace

std::string_view default_pkcs11_module() {
  return OCI2EIF_P11_KIT_PROXY;
}

SigningKey load_pkcs11_key(std::string_view uri) {
  const Pkcs11Uri u = parse_pkcs11_uri(uri);
  const std::string path = module_path_of(u);
  std::shared_ptr<Module> module = shared_module(path, u.subject);
  PKCS11_SLOT& slot = find_token(*module, u, path);
  log_in(slot, u);
  PKCS11_KEY& key = find_key(slot, u);
  openssl::PkeyPtr private_key(PKCS11_get_private_key(&key));
  if (!private_key) {
    throw Error(ErrorCode::Unavailable,
                u.subject + ": the token does not give this key: " + openssl::last_error());
  }
  Bytes public_der = public_der_of(private_key.get(), u.subject);
  return SigningKey::from_signer(std::make_shared<Pkcs11Signer>(std::move(module),
                                                                std::move(private_key),
                                                                std::move(public_der), u.subject),
                                 u.subject);
}

EifSigner load_eif_signer(const std::filesystem::path& certificate,
                          const std::string& private_key) {
  if (!is_pkcs11_uri(private_key)) {
    return EifSigner::load(certificate, private_key);
  }
  constexpr std::size_t kMaxPemFileSize = 1 << 20;
  const Bytes pem = read_small_file(certificate, kMaxPemFileSize);
  // The certificate is checked before the token is asked for anything.
  (void)Certificate::from_pem(pem, certificate.string());
  const std::string subject = parse_pkcs11_uri(private_key).subject;
  return EifSigner::from_key(pem, load_pkcs11_key(private_key), certificate.string(), subject);
}

} // namespace oci2eif::pipeline
