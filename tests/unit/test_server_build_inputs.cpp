// build_inputs: the input key that lets the service answer a request with an earlier, equal
// build. It must change whenever anything that shapes the EIF changes, and only then.
#include "pipeline/version.hpp"
#include "server/build_inputs.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <functional>
#include <set>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

// Everything build_inputs() takes, with plain values a test can change one at a time.
struct Inputs {
  BuildRequest request;
  registry::ResolvedImage image;
  KernelIdentity kernel{"default", "sha256:k"};
  std::string init_digest = "sha256:i";
  std::string cmdline = "console=ttyS0";
  std::optional<SigningIdentity> signing;

  Inputs() {
    request.image = "oci-layout:/img";
    image.manifest_digest = "sha256:m";
    image.config_digest = "sha256:c";
    image.config.platform = registry::Platform::parse("linux/amd64");
  }
  std::string key() const {
    return build_inputs(request, image, kernel, init_digest, cmdline, signing).key;
  }
};

} // namespace

TEST_SUITE("server::build_inputs") {
  TEST_CASE("the key is sha256 over the sorted, compact JSON of inputs and options") {
    const Inputs in;
    // The document build_inputs.hpp describes, written out by hand: keys sorted, no spaces;
    // the options are the request minus image, kernel and labels.
    const std::string document =
        R"({"inputs":{"cmdline":"console=ttyS0","image":{"config_digest":"sha256:c",)"
        R"("manifest_digest":"sha256:m","platform":"linux/amd64","reference":"oci-layout:/img"},)"
        R"("init":{"digest":"sha256:i"},"kernel":{"digest":"sha256:k","name":"default"},)"
        R"("tool":{"name":"oci2eif","version":")" +
        std::string(pipeline::kVersion) + R"("}},"options":{"compress":"none"}})";
    CHECK(in.key() == "sha256:" + test::sha256_hex(as_bytes(document)));
    CHECK(in.key() == Inputs().key()); // and the same inputs give it again
  }

  TEST_CASE("changing any input changes the key") {
    using Change = std::function<void(Inputs&)>;
    const std::vector<std::pair<std::string, Change>> changes{
        {"manifest digest", [](Inputs& i) { i.image.manifest_digest = "sha256:m2"; }},
        {"config digest", [](Inputs& i) { i.image.config_digest = "sha256:c2"; }},
        {"platform",
         [](Inputs& i) { i.image.config.platform = registry::Platform::parse("linux/arm64"); }},
        {"kernel digest", [](Inputs& i) { i.kernel.digest = "sha256:k2"; }},
        {"init digest", [](Inputs& i) { i.init_digest = "sha256:i2"; }},
        {"cmdline", [](Inputs& i) { i.cmdline = "console=ttyS1"; }},
        {"signing key",
         [](Inputs& i) {
           i.signing = SigningIdentity{"prod", "ab"};
         }},
        {"entrypoint", [](Inputs& i) { i.request.entrypoint = std::vector<std::string>{"/a"}; }},
        {"cmd", [](Inputs& i) { i.request.cmd = std::vector<std::string>{"b"}; }},
        {"env", [](Inputs& i) { i.request.env = {"A=1"}; }},
        {"compression", [](Inputs& i) { i.request.compress = "gzip"; }},
        {"EIF name", [](Inputs& i) { i.request.name = "app"; }},
        {"EIF version", [](Inputs& i) { i.request.version = "1.0"; }},
        {"metadata",
         [](Inputs& i) {
           i.request.metadata = nlohmann::json{{"team", "a"}};
         }},
        {"requested platform", [](Inputs& i) { i.request.platform = "linux/amd64"; }},
        // A request that pushes is not answered by a build that pushed elsewhere, or not at all.
        {"push target", [](Inputs& i) { i.request.push = "registry.example/team/app:eif"; }},
    };
    std::set<std::string> keys{Inputs().key()};
    for (const auto& [what, change] : changes) {
      Inputs in;
      change(in);
      CHECK_MESSAGE(keys.insert(in.key()).second, what << " did not give a key of its own");
    }
    // A signing certificate is identified by its PCR8, not only by the key's name.
    Inputs a;
    a.signing = SigningIdentity{"prod", "ab"};
    Inputs b;
    b.signing = SigningIdentity{"prod", "cd"};
    CHECK(a.key() != b.key());
    Inputs here;
    here.request.push = "registry.example/team/app:eif";
    Inputs there;
    there.request.push = "registry.example/team/app:other";
    CHECK(here.key() != there.key());
  }

  TEST_CASE("labels annotate a build and leave its key alone") {
    Inputs labelled;
    labelled.request.labels = {{"team", "payments"}, {"ticket", "42"}};
    CHECK(labelled.key() == Inputs().key());
    const auto inputs = build_inputs(labelled.request, labelled.image, labelled.kernel,
                                     labelled.init_digest, labelled.cmdline, labelled.signing);
    CHECK_FALSE(inputs.options.contains("labels"));
  }
}
