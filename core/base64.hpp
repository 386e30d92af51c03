// Base64 (RFC 4648, standard alphabet, padded), for the places a format carries bytes as text:
// Basic credentials, DSSE envelopes.
#pragma once

#include <string>

namespace oci2eif {

std::string base64_encode(const std::string& data);
// Throws InvalidInput (naming `what`) on malformed input.
std::string base64_decode(const std::string& text, const std::string& what);

} // namespace oci2eif
