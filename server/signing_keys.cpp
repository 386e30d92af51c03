#include "server/signing_keys.hpp"

#include "core/error.hpp"
#include "pipeline/pkcs11_key.hpp"

namespace oci2eif::server {

SigningKeys::SigningKeys(const std::vector<SigningKeyFiles>& keys) {
  for (const SigningKeyFiles& k : keys) {
    try {
      EifSigner s = pipeline::load_eif_signer(k.certificate, k.private_key.string());
      const std::string pcr8 = to_hex(s.pcr8());
      keys_.emplace(k.name, Key{std::move(s), pcr8});
    } catch (const Error& e) {
      // Whatever is wrong with the files, the configuration names them: serve's exit 2.
      throw Error(ErrorCode::InvalidInput,
                  "configuration: signing key '" + k.name + "': " + e.what());
    }
  }
}

std::string SigningKeys::names() const {
  std::string out;
  for (const auto& [name, k] : keys_) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

const SigningKeys::Key& SigningKeys::key(const std::string& name) const {
  const auto it = keys_.find(name);
  if (it == keys_.end()) {
    throw Error(ErrorCode::InvalidInput,
                "field 'signing_key': '" + name +
                    "' is not a configured signing key (configured: " + names() + ")");
  }
  return it->second;
}

const EifSigner& SigningKeys::signer(const std::string& name) const {
  return key(name).signer;
}

std::optional<SigningIdentity> SigningKeys::identity(const BuildRequest& request) const {
  if (!request.signing_key) {
    return std::nullopt;
  }
  return SigningIdentity{*request.signing_key, key(*request.signing_key).pcr8};
}

} // namespace oci2eif::server
