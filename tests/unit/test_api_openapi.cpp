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
}
