#include "server/job_store.hpp"
#include "tests/unit/api_harness.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace oci2eif;

namespace {

httplib::Headers bearer(const char* token) {
  return {{"Authorization", std::string("Bearer ") + token}};
}

std::string vector_eif(char v) {
  const Bytes b = test::read_file(test::vector_file(v));
  return {b.begin(), b.end()};
}

} // namespace

TEST_SUITE("api::diff") {
  TEST_CASE("GET /v1/builds/{a}/diff/{b} explains two builds' EIFs as oci2eif diff does") {
    test::ApiHarness api;
    // AWS's vectors: d has no application ramdisk of its own (vectors.json), a has one.
    const std::string a = api.succeeded_build(vector_eif('a'));
    const std::string d = api.succeeded_build(vector_eif('d'));
    httplib::Client client("127.0.0.1", api.port());
    auto r = client.Get(("/v1/builds/" + a + "/diff/" + d).c_str(), bearer(test::kReadToken));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type").starts_with("application/json"));
    const auto body = nlohmann::json::parse(r->body);
    CHECK(body["a"] == a);
    CHECK(body["b"] == d);
    CHECK(body["identical"] == false);
    CHECK(body["measurements"]["PCR1"]["changed"] == false);
    CHECK(body["measurements"]["PCR2"]["changed"] == true);
    bool hello_removed = false;
    for (const auto& c : body["changes"]) {
      CHECK(c["pcrs"] == nlohmann::json::array({"PCR0", "PCR2"}));
      hello_removed |=
          c["subject"] == "file" && c["path"] == "/bin/hello" && c["change"] == "removed";
    }
    CHECK(hello_removed);

    r = client.Get(("/v1/builds/" + a + "/diff/" + a).c_str(), bearer(test::kReadToken));
    REQUIRE(r);
    CHECK(nlohmann::json::parse(r->body)["changes"].empty());
  }

  TEST_CASE("diff: an unknown build or one without an EIF is 404, no token is 401") {
    test::ApiHarness api;
    const std::string a = api.succeeded_build(vector_eif('a'));
    const std::string queued = nlohmann::json::parse(
        httplib::Client("127.0.0.1", api.port())
            .Post("/v1/builds", bearer(test::kBuildToken),
                  nlohmann::json{{"image", api.image()}}.dump(), "application/json")
            ->body)["id"];
    httplib::Client client("127.0.0.1", api.port());
    const auto get = [&](const std::string& x, const std::string& y, const char* token) {
      auto r = client.Get(("/v1/builds/" + x + "/diff/" + y).c_str(),
                          token ? bearer(token) : httplib::Headers{});
      REQUIRE(r);
      return r;
    };
    auto r = get(a, "b-00000000000000000000000000000000", test::kReadToken);
    CHECK(r->status == 404);
    CHECK(r->body.find("no build with id 'b-00000000000000000000000000000000'") !=
          std::string::npos);
    r = get(queued, a, test::kReadToken);
    CHECK(r->status == 404);
    CHECK(r->body.find("(queued) has no image.eif to compare") != std::string::npos);
    r = get(a, a, nullptr);
    CHECK(r->status == 401);
  }

  TEST_CASE("diff: an artifact that is not an EIF is a clear error, and the API stays up") {
    test::ApiHarness api;
    const std::string a = api.succeeded_build(vector_eif('a'));
    const std::string junk = api.succeeded_build("not an eif at all");
    httplib::Client client("127.0.0.1", api.port());
    auto r = client.Get(("/v1/builds/" + a + "/diff/" + junk).c_str(), bearer(test::kReadToken));
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK(r->get_header_value("Content-Type") == "application/problem+json");
    CHECK(r->body.find("build " + junk + " image.eif") != std::string::npos);
    r = client.Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}
