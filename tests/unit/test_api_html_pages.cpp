// The HTML pages (GET /, GET /builds/{id}) over real HTTP to the API in process: the same
// tokens as the API (a browser sends them with Basic), what a build's page shows while it runs
// and after, escaping of what a client sent, and a Content-Security-Policy that allows exactly
// the inline style and script.
#include "api/auth.hpp"
#include "api/html_pages.hpp"
#include "server/build_log_store.hpp"
#include "tests/unit/api_harness.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <regex>

using namespace oci2eif;

namespace {

const std::string kPcr0 = std::string(96, 'a');

// `Authorization: Basic base64(user:token)`, as a browser sends it once asked.
httplib::Headers basic(const std::string& token) {
  const std::string pair = "browser:" + token;
  std::string out(4 * ((pair.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(pair.data()),
                                static_cast<int>(pair.size()));
  out.resize(static_cast<std::size_t>(n));
  return {{"Authorization", "Basic " + out}};
}

std::string sha256_base64(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                      digest, static_cast<int>(size))));
  return out;
}

// The text between the first `open` and the next `close` in `html`.
std::string between(const std::string& html, const std::string& open, const std::string& close) {
  const std::size_t start = html.find(open);
  REQUIRE(start != std::string::npos);
  const std::size_t end = html.find(close, start + open.size());
  REQUIRE(end != std::string::npos);
  return html.substr(start + open.size(), end - start - open.size());
}

std::string post_build(httplib::Client& client, const test::ApiHarness& api,
                       const std::string& labels_json) {
  const std::string body = R"({"image":")" + api.image() + R"(","labels":)" + labels_json + "}";
  auto r =
      client.Post("/v1/builds", {{"Authorization", std::string("Bearer ") + test::kBuildToken}},
                  body, "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 202);
  return nlohmann::json::parse(r->body)["id"].get<std::string>();
}

} // namespace

TEST_SUITE("api::html_pages") {
  TEST_CASE("html_escape - markup characters become references, bytes not UTF-8 become U+FFFD") {
    CHECK(api::html_escape(R"(<a href="x">'&'</a>)") ==
          "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    CHECK(api::html_escape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92") ==
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92");
    CHECK(api::html_escape("a\xFF"
                           "b\xC3") == "a\xEF\xBF\xBD"
                                       "b\xEF\xBF\xBD");
    CHECK(api::html_escape("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
  }

  TEST_CASE(
      "pages - no token is a 401 page with a Basic challenge - Basic with a token is let in") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    for (const char* path : {"/", "/builds/b-1"}) {
      auto r = client.Get(path);
      REQUIRE(r);
      CHECK(r->status == 401);
      CHECK(r->get_header_value("WWW-Authenticate") ==
            "Basic realm=\"oci2eif\", charset=\"UTF-8\"");
      CHECK(r->get_header_value("Content-Type") == "text/html; charset=utf-8");
      CHECK(r->body.find("as the password") != std::string::npos);
    }
    auto wrong = client.Get("/", basic("wrong-token-0123456789abcdef0123"));
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    auto page = client.Get("/", basic(test::kReadToken));
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("No builds") != std::string::npos);
    // The API takes the browser's Basic credentials too (the pages link to it), and its 401
    // offers Basic after Bearer, so a browser following a link asks for the token.
    auto list = client.Get("/v1/builds", basic(test::kReadToken));
    REQUIRE(list);
    CHECK(list->status == 200);
    auto refused = client.Get("/v1/builds");
    REQUIRE(refused);
    std::vector<std::string> challenges;
    for (auto [it, end] = refused->headers.equal_range("WWW-Authenticate"); it != end; ++it) {
      challenges.push_back(it->second);
    }
    CHECK(challenges ==
          std::vector<std::string>{"Bearer realm=\"oci2eif\"", std::string(api::kBasicChallenge)});
  }

  TEST_CASE(
      "a build page while queued reloads itself - once succeeded it shows what the build made") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    const std::string id = post_build(client, api, R"({"commit":"<script>alert(1)</script>"})");
    api.logs().append(id, "resolved image\nstep pull: 0.5 s\n");

    auto queued = client.Get("/builds/" + id, basic(test::kReadToken));
    REQUIRE(queued);
    CHECK(queued->status == 200);
    CHECK(queued->body.find("<meta http-equiv=\"refresh\" content=\"3\">") != std::string::npos);
    CHECK(queued->body.find("class=\"state queued\"") != std::string::npos);
    CHECK(queued->body.find("<script>alert(1)") == std::string::npos);
    CHECK(queued->body.find("commit=&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(queued->body.find("step pull: 0.5 s") != std::string::npos);

    auto list = client.Get("/", basic(test::kReadToken));
    REQUIRE(list);
    CHECK(list->body.find("<a href=\"/builds/" + id + "\">") != std::string::npos);
    CHECK(list->body.find("content=\"5\"") != std::string::npos); // a build is still going

    server::BuildOutcome outcome;
    outcome.image_digest = "sha256:" + std::string(64, 'd');
    outcome.pcrs = {{"PCR0", kPcr0}, {"PCR1", std::string(96, 'b')}};
    outcome.steps = {{"flatten", 1.25}};
    REQUIRE(api.finish_next(outcome, {{"image.eif", "EIF bytes"}}) == id);

    auto done = client.Get("/builds/" + id, basic(test::kReadToken));
    REQUIRE(done);
    const std::string& html = done->body;
    CHECK(html.find("http-equiv=\"refresh\"") == std::string::npos);
    CHECK(html.find("class=\"state succeeded\"") != std::string::npos);
    CHECK(html.find("<code id=\"pcr-PCR0\">" + kPcr0 + "</code>") != std::string::npos);
    CHECK(html.find("data-target=\"pcr-PCR0\" hidden>Copy</button>") != std::string::npos);
    CHECK(html.find("<td>flatten</td><td>1.250 s</td>") != std::string::npos);
    CHECK(html.find(outcome.image_digest) != std::string::npos);
    const std::string eif_link = "/v1/builds/" + id + "/artifacts/image.eif";
    CHECK(html.find("<a href=\"" + eif_link + "\">image.eif</a>") != std::string::npos);
    auto eif = client.Get(eif_link, basic(test::kReadToken)); // the link works for the browser
    REQUIRE(eif);
    CHECK(eif->body == "EIF bytes");
  }

  TEST_CASE("the Content-Security-Policy allows exactly the page's inline style and script") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    auto r = client.Get("/", basic(test::kReadToken));
    REQUIRE(r);
    const std::string csp = r->get_header_value("Content-Security-Policy");
    CHECK(csp.rfind("default-src 'none';", 0) == 0);
    const std::string style = between(r->body, "<style>", "</style>");
    const std::string script = between(r->body, "<script>", "</script>");
    CHECK(csp.find("style-src 'sha256-" + sha256_base64(style) + "'") != std::string::npos);
    CHECK(csp.find("script-src 'sha256-" + sha256_base64(script) + "'") != std::string::npos);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
  }

  TEST_CASE("an unknown build is a 404 page - an unknown state filter a 400 page") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    auto missing = client.Get("/builds/no-such-build", basic(test::kReadToken));
    REQUIRE(missing);
    CHECK(missing->status == 404);
    CHECK(missing->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(missing->body.find("no build with id") != std::string::npos);
    auto bad = client.Get("/?state=sleeping", basic(test::kReadToken));
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(bad->body.find("no such state: &#39;sleeping&#39;") != std::string::npos);
  }
}
