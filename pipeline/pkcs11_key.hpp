// Signing keys that never sit in a file: a private key inside a PKCS#11 token (an HSM, a smart
// card, SoftHSM2, a cloud KMS through its PKCS#11 module), named by an RFC 7512 URI
// (pkcs11_uri.hpp) and used through libp11, which gives an OpenSSL key whose ECDSA runs on the
// token.
//
// Why pipeline/ and not core/: loading a module dlopens a library and calls its C_Initialize,
// process-wide state that lives as long as the key, and a daemon's workers sign from several
// threads; core/ holds no globals and no threads. pipeline/ is the lowest folder that both
// `oci2eif build`/`assemble` and the daemon's signing keys (server/) reach.
#pragma once

#include "core/eif_signature.hpp"
#include "core/signing_key.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace oci2eif::pipeline {

// The module used when a URI has no module-path: p11-kit's proxy (Debian: p11-kit-modules),
// which offers every module registered with p11-kit (/usr/share/p11-kit/modules/*.module;
// SoftHSM2 and OpenSC register themselves there).
std::string_view default_pkcs11_module();

// Loads the key `uri` names: the module, the token its path attributes select, a login with the
// URI's PIN, then the private key by object label and/or id; its public half comes from the
// token. Throws, naming the URI without its query (never the PIN): NotFound for a missing module,
// token or key; Unauthorized for a PIN the token refuses or none given; InvalidInput for a bad
// URI or pin-source; SigningKey's errors for a non-EC key or an unsupported curve. Never prompts.
// The key keeps its module loaded while it lives, and may sign from several threads.
SigningKey load_pkcs11_key(std::string_view uri);

// The signer --private-key and a service signing key's "private_key" describe: `private_key` is
// a PKCS#11 URI (pkcs11:…) or a PEM file. The certificate is a PEM file either way, checked
// first, and the key must belong to it (EifSigner's checks).
EifSigner load_eif_signer(const std::filesystem::path& certificate, const std::string& private_key);

} // namespace oci2eif::pipeline
