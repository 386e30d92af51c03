#include "core/error.hpp"
#include "pipeline/pkcs11_uri.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::pipeline;

using test::error_of;

TEST_SUITE("pipeline::Pkcs11Uri") {
  TEST_CASE("the attributes of RFC 7512's examples are read and %-decoded") {
    const Pkcs11Uri u = parse_pkcs11_uri(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
        "model=1.0;serial=42;slot-id=7;object=my-certificate;id=%01%02;type=private"
        "?pin-source=file:/etc/token_pin&module-path=/usr/lib/libsofthsm2.so");
    CHECK(u.token == "The Software PKCS#11 Softtoken");
    CHECK(u.manufacturer == "Snake Oil, Inc.");
    CHECK(u.model == "1.0");
    CHECK(u.serial == "42");
    CHECK(u.slot_id == 7UL);
    CHECK(u.object == "my-certificate");
    CHECK(u.id == Bytes{1, 2});
    CHECK(u.pin_source == "file:/etc/token_pin");
    CHECK(u.module_path == "/usr/lib/libsofthsm2.so");
    CHECK_FALSE(u.pin_value);
  }

  TEST_CASE("the subject is the URI without its query, so messages never show the PIN") {
    const Pkcs11Uri u = parse_pkcs11_uri("pkcs11:token=oci2eif;object=eif-key?pin-value=1234");
    CHECK(u.subject == "pkcs11:token=oci2eif;object=eif-key");
    CHECK(u.pin_value == "1234");
    const std::string e =
        error_of([] { parse_pkcs11_uri("pkcs11:token=t;object=k?pin-value=12%3&pin-source=x"); });
    CHECK(e.find("12") == std::string::npos);
    CHECK(e.find("pin-value") != std::string::npos);
  }

  TEST_CASE("only pkcs11 URIs are taken for one, in any case of the scheme") {
    CHECK(is_pkcs11_uri("pkcs11:object=k"));
    CHECK(is_pkcs11_uri("PKCS11:object=k"));
    CHECK_FALSE(is_pkcs11_uri("/etc/oci2eif/key.pem"));
    CHECK_FALSE(is_pkcs11_uri("pkcs11"));
  }

  TEST_CASE("attributes that would choose a key loosely are refused, naming them") {
    CHECK(error_of([] { parse_pkcs11_uri("pkcs11:token=t"); }) ==
          "PKCS#11 URI pkcs11:token=t: name the key with object=LABEL or id=%XX…");
    CHECK(error_of([] { parse_pkcs11_uri("pkcs11:object=k;type=cert"); }) ==
          "PKCS#11 URI pkcs11:object=k;type=cert: type=cert cannot sign; name the private key "
          "(type=private)");
    CHECK(error_of([] { parse_pkcs11_uri("pkcs11:object=k;object=l"); }) ==
          "PKCS#11 URI pkcs11:object=k;object=l: attribute 'object' is given twice");
    CHECK(error_of([] {
            parse_pkcs11_uri("pkcs11:object=k;colour=red");
          }).find("path attribute 'colour' is not supported") != std::string::npos);
    CHECK(error_of([] {
            parse_pkcs11_uri("pkcs11:object=k?module-name=softhsm2");
          }).find("module-name is not supported") != std::string::npos);
    CHECK(error_of([] {
            parse_pkcs11_uri("pkcs11:object=k;pin-value=1");
          }).find("pin-value belongs in the query") != std::string::npos);
    CHECK(error_of([] {
            parse_pkcs11_uri("pkcs11:object=k%4");
          }).find("'object' has a '%' not followed by two hex digits") != std::string::npos);
    CHECK(error_of([] {
            parse_pkcs11_uri("pkcs11:object=k;slot-id=x");
          }).find("slot-id 'x' is not a decimal number") != std::string::npos);
    CHECK(error_of([] { parse_pkcs11_uri("/etc/key.pem"); }) ==
          "PKCS#11 URI '/etc/key.pem': does not start with pkcs11:");
  }

  TEST_CASE("vendor attributes are ignored, as RFC 7512 asks") {
    const Pkcs11Uri u = parse_pkcs11_uri("pkcs11:object=k;x-vendor=1?x-other=2");
    CHECK(u.object == "k");
  }
}
