#include "api/http_api.hpp"
#include "api/openapi.hpp"
#include "tests/unit/api_harness.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <set>

using namespace oci2eif;

TEST_SUITE("api::openapi") {
  TEST_CASE("openapi: the document lists exactly the routes the server registers") {
    const test::ApiHarness api;
    const api::HttpApi& http = api.http();

    std::set<std::pair<std::string, std::string>> served;
    for (const api::ApiRoute& r : http.route_table()) {
      CHECK_MESSAGE(served.insert({r.method, r.path}).second, r.method << " " << r.path);
    }
    const auto doc = nlohmann::json::parse(api::openapi_document());
    CHECK(doc["openapi"].get<std::string>().starts_with("3.0"));
    std::set<std::pair<std::string, std::string>> documented;
    for (const auto& [path, item] : doc["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        std::string upper = method;
        for (char& c : upper) {
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        documented.insert({upper, path});
        CHECK_MESSAGE(op.contains("responses"), method << " " << path << " has no responses");
      }
    }
    for (const auto& r : served) {
      CHECK_MESSAGE(documented.count(r), r.first << " " << r.second << " is not in openapi.json");
    }
    for (const auto& d : documented) {
      CHECK_MESSAGE(served.count(d), d.first << " " << d.second << " is documented but not served");
    }
  }

  TEST_CASE("openapi: every operation documents 405, and those behind a token 401 and 403") {
    // What the server answers before any handler runs (route_context.cpp, auth.cpp): a client
    // generated from the document must know these answers exist and which headers they carry.
    const auto doc = nlohmann::json::parse(api::openapi_document());
    const auto& responses = doc["components"]["responses"];
    CHECK(responses["Unauthorized"]["headers"].contains("WWW-Authenticate"));
    CHECK(responses["MethodNotAllowed"]["headers"].contains("Allow"));
    CHECK(responses["Unavailable"]["headers"].contains("Retry-After"));
    for (const auto& [path, item] : doc["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        CAPTURE(method + " " + path);
        CHECK(op["responses"].contains("405"));
        if (!op.value("security", nlohmann::json::array()).empty()) {
          const auto& unauthorized = op["responses"]["401"];
          // The HTML pages answer 401 with a page, not problem+json: their own entry, with the
          // same header.
          CHECK((unauthorized.value("$ref", "") == "#/components/responses/Unauthorized" ||
                 (unauthorized["content"].contains("text/html") &&
                  unauthorized["headers"].contains("WWW-Authenticate"))));
          CHECK(op["responses"].contains("403"));
        }
      }
    }
  }
}
