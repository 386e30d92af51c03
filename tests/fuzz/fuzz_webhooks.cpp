// Registry webhook deliveries (POST /v1/webhooks/<source>): the body is tried with each
// source's adapter, GitHub's under both of its event names.
#include "api/webhooks/push_event.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;
using namespace oci2eif::api::webhooks;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  const std::string body = fuzz::text(data, size);
  fuzz::refusals_only([&] { (void)parse_distribution(body); });
  fuzz::refusals_only([&] { (void)parse_harbor(body); });
  fuzz::refusals_only([&] { (void)parse_dockerhub(body); });
  fuzz::refusals_only([&] { (void)parse_github(body, "package"); });
  fuzz::refusals_only([&] { (void)parse_github(body, "registry_package"); });
  return 0;
}
