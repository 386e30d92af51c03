// The API under hostile or sloppy HTTP: Range requests that would amplify or overflow, bytes that
// are not UTF-8, Content-Length with Transfer-Encoding, the Authorization scheme's case, and
// request fields that cannot reach the enclave. Over real HTTP to the API in process.
#include "api/byte_ranges.hpp"
#include "tests/unit/api_harness.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace oci2eif;
using api::RangeAnswer;

namespace {

httplib::Headers bearer(const char* token) {
  return {{"Authorization", std::string("Bearer ") + token}};
}

std::string artifact_bytes() {
  std::string eif(1000, '\0');
  for (std::size_t i = 0; i < eif.size(); ++i) {
    eif[i] = static_cast<char>('a' + i % 26);
  }
  return eif;
}

// The headers of a raw response, up to the blank line.
std::string head_of(const std::string& response) {
  return response.substr(0, response.find("\r\n\r\n"));
}

} // namespace

TEST_SUITE("api::byte_ranges") {
  TEST_CASE("one range is a slice, overlapping ones merge, disjoint ones give the whole file") {
    const auto slice = [](std::string_view h) {
      const RangeAnswer a = api::answer_range(h, 1000);
      return a.kind == RangeAnswer::Kind::Slice
                 ? std::to_string(a.first) + "-" + std::to_string(a.last)
                 : std::string("not a slice");
    };
    CHECK(slice("bytes=0-3") == "0-3");
    CHECK(slice("bytes=990-") == "990-999");
    CHECK(slice("bytes=-4") == "996-999");
    CHECK(slice("bytes=-5000") == "0-999");
    CHECK(slice("bytes=10-99999") == "10-999");
    CHECK(slice("bytes=0-3, 2-9") == "0-9");
    CHECK(slice("bytes=0-3,4-9") == "0-9"); // adjacent
    CHECK(slice("bytes=0-,0-") == "0-999");
    CHECK(slice("BYTES=1-1") == "1-1");
    CHECK(slice("bytes=0-3,,") == "0-3");
    CHECK(slice("bytes=5-9,2000-") == "5-9"); // the unsatisfiable one is dropped
    CHECK(api::answer_range("bytes=0-3,100-200", 1000).kind == RangeAnswer::Kind::Whole);
    CHECK(api::answer_range("", 1000).kind == RangeAnswer::Kind::Whole);
    CHECK(api::answer_range("items=0-3", 1000).kind == RangeAnswer::Kind::Whole);
  }

  TEST_CASE("nothing satisfiable, or malformed, is 416") {
    for (const char* h :
         {"bytes=1000-", "bytes=99999999-", "bytes=-0", "bytes=5-2", "bytes=abc",
          "bytes=", "bytes=1-2-3", "bytes=99999999999999999999-", "bytes=0x10-20", "bytes=+1-2"}) {
      CHECK_MESSAGE(api::answer_range(h, 1000).kind == RangeAnswer::Kind::Unsatisfiable, h);
    }
    CHECK(api::answer_range("bytes=0-", 0).kind == RangeAnswer::Kind::Unsatisfiable);
  }
}

TEST_SUITE("api::strict_http") {
  TEST_CASE("Range on an artifact: one slice, merged ranges, the whole file, or 416") {
    test::ApiHarness api;
    const std::string eif = artifact_bytes();
    const std::string path = "/v1/builds/" + api.succeeded_build(eif) + "/artifacts/image.eif";
    httplib::Client client("127.0.0.1", api.port());
    const auto get = [&](const std::string& range) {
      httplib::Headers h = bearer(test::kReadToken);
      h.emplace("Range", range);
      auto r = client.Get(path.c_str(), h);
      REQUIRE(r);
      return r;
    };
    auto r = get("bytes=0-3");
    CHECK(r->status == 206);
    CHECK(r->body == "abcd");
    CHECK(r->get_header_value("Content-Range") == "bytes 0-3/1000");
    r = get("bytes=0-3,2-9");
    CHECK(r->status == 206);
    CHECK(r->body == eif.substr(0, 10));
    r = get("bytes=-4");
    CHECK(r->body == eif.substr(996));
    CHECK(r->get_header_value("Content-Range") == "bytes 996-999/1000");
    std::string many = "bytes=0-0";
    for (int i = 2; i < 1000; i += 2) {
      many += "," + std::to_string(i) + "-" + std::to_string(i);
    }
    r = get(many); // 500 disjoint one-byte ranges: never more than the file
    CHECK(r->status == 200);
    CHECK(r->body == eif);
    r = get("bytes=0-,0-");
    CHECK(r->status == 206);
    CHECK(r->body == eif);
    for (const char* beyond : {"bytes=1000-", "bytes=99999999-", "bytes=-0"}) {
      r = get(beyond);
      CHECK_MESSAGE(r->status == 416, beyond);
      CHECK(r->get_header_value("Content-Range") == "bytes */1000");
      CHECK(nlohmann::json::parse(r->body)["code"] == "range_not_satisfiable");
    }
  }

  TEST_CASE("bytes that are not UTF-8 in a path or a stored message do not break the JSON views") {
    test::ApiHarness api;
    const std::string response =
        api.raw("GET /v1/builds/%FF%FE HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                std::string(test::kReadToken) + "\r\nConnection: close\r\n\r\n");
    CHECK(response.starts_with("HTTP/1.1 404"));
    CHECK(head_of(response).find("EXCEPTION_WHAT") == std::string::npos);
    CHECK(nlohmann::json::parse(response.substr(response.find("\r\n\r\n") + 4))["code"] ==
          "not_found");

    const auto added = api.store().enqueue(
        {R"({"image":"oci-layout:/x:latest"})", "oci-layout:/x:latest", {}, std::nullopt, "", ""});
    REQUIRE(api.store().claim("w", std::chrono::minutes(1)));
    server::BuildOutcome failed;
    failed.state = server::BuildState::Failed;
    failed.error_code = "corrupt";
    failed.error_message = "registry said Content-Type: \xff\xfe\xc3";
    REQUIRE(api.store().finish(added.id, "w", failed));
    httplib::Client client("127.0.0.1", api.port());
    for (const std::string& path : {"/v1/builds/" + added.id, std::string("/v1/builds")}) {
      auto r = client.Get(path.c_str(), bearer(test::kReadToken));
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 200, path);
      CHECK(r->body.find("\xef\xbf\xbd") != std::string::npos); // U+FFFD in its place
      CHECK(nlohmann::json::accept(r->body));
    }
  }

  TEST_CASE("undecodable escapes in a path are a 400 or 404 problem, with no exception text") {
    test::ApiHarness api;
    for (const char* path : {"/v1/builds/%G1", "/v1/builds/%", "/v1/builds/a%2", "/%zz"}) {
      const std::string response =
          api.raw(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  test::kReadToken + "\r\nConnection: close\r\n\r\n");
      CAPTURE(path);
      CHECK((response.starts_with("HTTP/1.1 400") || response.starts_with("HTTP/1.1 404")));
      CHECK(head_of(response).find("EXCEPTION_WHAT") == std::string::npos);
      const std::string body = response.substr(response.find("\r\n\r\n") + 4);
      CHECK(nlohmann::json::accept(body));
    }
  }

  TEST_CASE("a number beyond what a double holds is a 400 naming the JSON, not a 500") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    for (const std::string body :
         {R"({"image":"busybox","labels":{"a":"b"},"x":1e999999})", R"([1e999999])",
          R"({"image":"busybox","timeout_seconds":1e999999})"}) {
      auto r = client.Post("/v1/builds", bearer(test::kBuildToken), body, "application/json");
      REQUIRE(r);
      CAPTURE(body);
      CHECK(r->status == 400);
      CHECK(nlohmann::json::parse(r->body)["code"] == "invalid_input");
    }
    CHECK(api.store().count_queued() == 0);
  }

  TEST_CASE("a request with both Content-Length and Transfer-Encoding is refused") {
    test::ApiHarness api;
    const std::string body = R"({"image":"oci-layout:/x:latest"})";
    const std::string response = api.raw(
        "POST /v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
        std::string(test::kBuildToken) + "\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    CHECK(response.starts_with("HTTP/1.1 400"));
    CHECK(response.find("both Content-Length and Transfer-Encoding") != std::string::npos);
    CHECK(api.store().count_queued() == 0);
  }

  TEST_CASE("a chunked request body is refused with 411 before it is read") {
    // httplib applies its payload limit to Content-Length only: a chunked body of any size was
    // read into memory. 1 MiB of chunks, 16x the 64 KiB JSON limit, must not reach a handler.
    test::ApiHarness api;
    const std::string chunk(64 * 1024, ' ');
    std::string chunks;
    for (int i = 0; i < 16; ++i) {
      chunks += "10000\r\n" + chunk + "\r\n";
    }
    const std::string response =
        api.raw("POST /v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                std::string(test::kBuildToken) +
                "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                chunks + "0\r\n\r\n");
    CHECK(response.starts_with("HTTP/1.1 411"));
    CHECK(response.find("application/problem+json") != std::string::npos);
    CHECK(response.find("\"length_required\"") != std::string::npos);
    CHECK(response.find("with Content-Length") != std::string::npos);
    CHECK(api.store().count_queued() == 0);
  }

  TEST_CASE("the Bearer scheme is case-insensitive, and every 401 says WWW-Authenticate") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    for (const char* scheme : {"bearer ", "BEARER ", "Bearer   "}) {
      auto r =
          client.Get("/v1/builds", {{"Authorization", std::string(scheme) + test::kReadToken}});
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 200, scheme);
    }
    const std::vector<std::pair<std::string, httplib::Headers>> refused = {
        {"no token", {}},
        {"a wrong token", bearer("wrong-token-0123456789abcdef0123")},
        {"another scheme", {{"Authorization", std::string("Basic ") + test::kReadToken}}},
        {"no space", {{"Authorization", std::string("Bearer") + test::kReadToken}}}};
    for (const auto& [what, headers] : refused) {
      auto r = client.Get("/v1/builds", headers);
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 401, what);
      CHECK_MESSAGE(r->get_header_value("WWW-Authenticate") == "Bearer realm=\"oci2eif\"", what);
    }
    auto upload =
        client.Post("/v1/kernels", httplib::MultipartFormDataItems{{"name", "k", "", ""}});
    REQUIRE(upload); // refused before the body is read, by the upload's own check
    CHECK(upload->status == 401);
    CHECK(upload->get_header_value("WWW-Authenticate") == "Bearer realm=\"oci2eif\"");
  }

  TEST_CASE("fields that cannot reach the enclave are refused at POST, naming the field") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    const auto post = [&](const std::string& extra) {
      auto r = client.Post("/v1/builds", bearer(test::kBuildToken),
                           R"({"image":")" + api.image() + "\"" + extra + "}", "application/json");
      REQUIRE(r);
      return r;
    };
    const std::vector<std::pair<std::string, std::string>> refused = {
        {R"(,"cmd":["a\u0000b"])", "field 'cmd[0]': contains a NUL byte"},
        {R"(,"entrypoint":["/bin/sh","\u0000"])", "field 'entrypoint[1]': contains a NUL byte"},
        {R"(,"env":["A=\u0000"])", "field 'env[0]': contains a NUL byte"},
        {R"(,"cmdline":"console=ttyS0\nquiet")", "field 'cmdline': must be one line"},
        {R"(,"cmdline":"a\u0000b")", "field 'cmdline': must be one line"},
        {R"(,"cmdline":"")", "field 'cmdline': must be 1-4096 bytes"}};
    for (const auto& [extra, message] : refused) {
      const auto r = post(extra);
      CHECK_MESSAGE(r->status == 400, extra);
      CHECK_MESSAGE(r->body.find(message) != std::string::npos, r->body);
    }
    CHECK(api.store().count_queued() == 0);
    const auto line_breaks = post(R"(,"cmd":["/bin/sh","-c","echo a\necho b"])");
    CHECK(line_breaks->status == 202); // argv may hold line breaks (docs/init.md)
  }

  TEST_CASE("a kernel upload's cmdline must be one line of UTF-8") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    for (const std::string& cmdline : {std::string("console=\xff"), std::string("a\nb")}) {
      const httplib::MultipartFormDataItems form = {{"name", "k1", "", ""},
                                                    {"kernel", "bzImage bytes", "bzImage", ""},
                                                    {"cmdline", cmdline, "", ""}};
      auto r = client.Post("/v1/kernels", bearer(test::kAdminToken), form);
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(r->body.find("field 'cmdline'") != std::string::npos);
    }
  }
}

TEST_SUITE("api::idempotency") {
  TEST_CASE("an Idempotency-Key sent again with another request is 422, with the same one 200") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    const auto post = [&](const std::string& key, const std::string& label) {
      httplib::Headers h = bearer(test::kBuildToken);
      h.emplace("Idempotency-Key", key);
      auto r = client.Post("/v1/builds", h,
                           R"({"image":")" + api.image() + R"(","labels":{"v":")" + label + "\"}}",
                           "application/json");
      REQUIRE(r);
      return r;
    };
    const auto first = post("k1", "one");
    REQUIRE(first->status == 202);
    const std::string id = nlohmann::json::parse(first->body)["id"];
    const auto again = post("k1", "one");
    CHECK(again->status == 200);
    CHECK(nlohmann::json::parse(again->body)["id"] == id);
    const auto other = post("k1", "two");
    CHECK(other->status == 422);
    const auto problem = nlohmann::json::parse(other->body);
    CHECK(problem["code"] == "idempotency_key_reused");
    CHECK(problem["detail"].get<std::string>().find(id) != std::string::npos);
    CHECK(api.store().count_queued() == 1);
    CHECK(post("k2", "two")->status == 202); // a new key for the new request
  }

  TEST_CASE("a POST without a body is answered at once, its body taken as empty") {
    // RFC 9112 6.3: no Content-Length and no Transfer-Encoding means no body. httplib waited
    // for one until its read timeout, then answered 400 (curl -X POST .../cancel).
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    auto posted = client.Post("/v1/builds", bearer(test::kBuildToken),
                              R"({"image":")" + api.image() + "\"}", "application/json");
    REQUIRE(posted);
    REQUIRE(posted->status == 202);
    const std::string id = nlohmann::json::parse(posted->body)["id"];
    const std::string response =
        api.raw("POST /v1/builds/" + id + "/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                std::string(test::kBuildToken) + "\r\nConnection: close\r\n\r\n");
    CHECK(response.starts_with("HTTP/1.1 202"));
    CHECK(response.find("\"cancelled\"") != std::string::npos);
    CHECK(api.store().count_queued() == 0);
    // A body that was announced is still read, whole, and reaches the route.
    auto again =
        client.Post("/v1/builds", bearer(test::kBuildToken),
                    R"({"image":")" + api.image() + R"(","labels":{"x":"y"}})", "application/json");
    REQUIRE(again);
    CHECK(again->status == 202);
    CHECK(nlohmann::json::parse(again->body)["labels"]["x"] == "y");
  }

  TEST_CASE("a method a path does not have is 405 with Allow, before any body is read") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    const auto cases = std::vector<std::pair<std::string, std::string>>{
        {"PUT /v1/builds", "GET, HEAD, POST"},
        {"DELETE /v1/builds", "GET, HEAD, POST"},
        {"GET /v1/builds/b-1/cancel", "POST"},
        {"POST /healthz", "GET, HEAD"},
        {"PATCH /v1/kernels/k", "DELETE, GET, HEAD"}};
    for (const auto& [request, allow] : cases) {
      // With a body of 1 MiB announced but never sent: a 405 must not wait for it.
      const std::string response =
          api.raw(request + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  std::string(test::kAdminToken) + "\r\nContent-Length: 1048576\r\n\r\n");
      CHECK_MESSAGE(response.starts_with("HTTP/1.1 405"), request);
      CHECK_MESSAGE(response.find("Allow: " + allow + "\r\n") != std::string::npos, request);
      CHECK_MESSAGE(response.find("\"method_not_allowed\"") != std::string::npos, request);
    }
    auto unknown = client.Get("/v1/nosuch");
    REQUIRE(unknown);
    CHECK(unknown->status == 404); // no route at all: still 404
    auto head = client.Head("/healthz");
    REQUIRE(head);
    CHECK(head->status == 200); // HEAD is GET's
  }
}
