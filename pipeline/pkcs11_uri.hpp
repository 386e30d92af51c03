// A PKCS#11 URI (RFC 7512) naming the private key to sign with, and how to reach it:
//
//   pkcs11:token=oci2eif;object=eif-key?pin-source=file:/etc/oci2eif/pin
//   pkcs11:token=oci2eif;id=%01?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so
//
//   path  (selects)  token, manufacturer, serial, model, slot-id: the token;
//                    object (label), id (bytes, %-encoded), type=private: the key
//   query (how)      pin-value or pin-source (file:PATH or an absolute PATH): the user PIN;
//                    module-path: the PKCS#11 module (default: p11-kit's proxy, pkcs11_key.hpp)
//
// Values are %-decoded. Attributes we cannot honour (module-name, another type, an unknown
// one) are refused rather than ignored: a key chosen by fewer attributes than written could
// be the wrong key. `x-` vendor attributes are ignored, as RFC 7512 §2.3 asks.
#pragma once

#include "core/bytes.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace oci2eif::pipeline {

struct Pkcs11Uri {
  // The URI without its query: what messages print. It never holds the PIN.
  std::string subject;
  std::optional<std::string> token, manufacturer, serial, model, object;
  std::optional<Bytes> id;
  std::optional<unsigned long> slot_id;
  std::optional<std::string> pin_value; // secret: never printed
  std::optional<std::string> pin_source;
  std::optional<std::string> module_path;
};

// Whether `text` is a PKCS#11 URI rather than a file name ("pkcs11:", any case).
bool is_pkcs11_uri(std::string_view text);

// Parses `uri`. Throws InvalidInput naming the subject and the attribute: a bad %-escape, a
// repeated, unknown or unsupported attribute, both pin-value and pin-source. Messages never
// echo a PIN.
Pkcs11Uri parse_pkcs11_uri(std::string_view uri);

} // namespace oci2eif::pipeline
