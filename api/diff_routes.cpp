// GET /v1/builds/{a}/diff/{b}: why two succeeded builds' EIFs measure differently, the JSON of
// `oci2eif diff --json` (core/eif_diff.hpp) with the two build ids. It reads both image.eif
// artifacts through the artifact store, so it works the same on a directory or S3.
#include "api/routes.hpp"
#include "core/eif_diff.hpp"
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/job_store.hpp"

#include <atomic>
#include <httplib.h>
#include <memory>

namespace oci2eif::api {
namespace {

// An artifact as core/ reads files: at any offset.
class ArtifactInput final : public PositionalReader {
public:
  ArtifactInput(std::unique_ptr<server::ArtifactReader> reader, std::string name)
      : reader_(std::move(reader)), name_(std::move(name)) {}
  std::uint64_t size() const override { return reader_->size(); }
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    return reader_->read_at(offset, out);
  }
  std::string describe() const override { return name_; }

private:
  std::unique_ptr<server::ArtifactReader> reader_;
  std::string name_;
};

class DiffRoutes {
public:
  explicit DiffRoutes(const ApiContext& ctx) : ctx_(ctx) {}

  void diff(const httplib::Request& req, httplib::Response& res) {
    // Each diff reads and hashes two whole EIFs on a connection thread: a few at a time, so
    // that diffs cannot take every thread from the rest of the API.
    if (++running_ > kMaxDiffs) {
      --running_;
      send_problem(res, {429, "too_many_diffs",
                         "at most " + std::to_string(kMaxDiffs) + " diffs run at once; retry"});
      return;
    }
    struct Release {
      std::atomic<int>& n;
      ~Release() { --n; }
    } release{running_};
    const std::string a = req.matches[1];
    const std::string b = req.matches[2];
    const EifInventory inv_a = inventory_of(a);
    const EifInventory inv_b = inventory_of(b);
    nlohmann::ordered_json body{{"a", a}, {"b", b}};
    body.update(diff_json(diff_eifs(inv_a, inv_b)));
    send_json(res, 200, body);
  }

private:
  static constexpr int kMaxDiffs = 2;

  EifInventory inventory_of(const std::string& id) const {
    const auto build = ctx_.store.get(id);
    if (!build) {
      throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
    }
    auto reader = build->state == server::BuildState::Succeeded
                      ? ctx_.artifacts.open(build->id, "image.eif")
                      : nullptr;
    if (!reader) {
      throw Error(ErrorCode::NotFound, "build " + id + " (" +
                                           std::string(server::build_state_name(build->state)) +
                                           ") has no image.eif to compare");
    }
    ArtifactInput input(std::move(reader), "build " + id + " image.eif");
    return read_eif_inventory(input, input.describe());
  }

  const ApiContext& ctx_;
  std::atomic<int> running_{0};
};

} // namespace

void add_diff_routes(RouteContext& routes) {
  auto d = std::make_shared<DiffRoutes>(routes.ctx);
  const std::string id = "([^/]+)";
  routes.add("GET", "/v1/builds/{id}/diff/{other}", "/v1/builds/" + id + "/diff/" + id,
             routes.guarded(server::Role::Read, [d](const httplib::Request& q,
                                                    httplib::Response& s) { d->diff(q, s); }));
}

} // namespace oci2eif::api
