// SigningKeys: the keys builds may be signed with (PCR8), loaded from the configuration at
// start and checked then (a bad key stops the daemon before it takes work). Requests name a
// key; the files and the private key never leave the server. Immutable after construction, so
// safe to share between threads.
#pragma once

#include "core/eif_signature.hpp"
#include "server/build_inputs.hpp"
#include "server/build_request.hpp"
#include "server/config.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

class SigningKeys {
public:
  // Loads every key; throws (the loader's code) naming the key that does not load.
  explicit SigningKeys(const std::vector<SigningKeyFiles>& keys);

  bool contains(const std::string& name) const { return keys_.count(name) != 0; }
  // "a, b" (sorted) or "none", for messages.
  std::string names() const;
  // The signer called `name`; throws InvalidInput naming the field 'signing_key' and the
  // configured names for an unknown one. The reference lives as long as this object.
  const EifSigner& signer(const std::string& name) const;
  // The request's key and its certificate's PCR8 (part of the input key); nothing for an
  // unsigned request; throws like signer() for an unknown name.
  std::optional<SigningIdentity> identity(const BuildRequest& request) const;

private:
  struct Key {
    EifSigner signer;
    std::string pcr8; // hex: identifies the certificate in the input key
  };
  const Key& key(const std::string& name) const;

  std::map<std::string, Key> keys_;
};

} // namespace oci2eif::server
