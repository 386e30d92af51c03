// /v1/builds: submit (with idempotency keys and reuse of an equal build), list, get, the log
// (optionally followed as it grows), artifacts (Range served by httplib), cancel and delete.
#include "api/build_view.hpp"
#include "api/byte_ranges.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "server/build_request.hpp"
#include "server/disk_space.hpp"
#include "server/push_targets.hpp"

#include <array>
#include <chrono>
#include <httplib.h>
#include <memory>
#include <span>
#include <thread>

namespace oci2eif::api {
namespace {

using server::Role;

std::string content_type_of(const std::string& name) {
  if (name.ends_with(".json") || name.ends_with(".jsonl")) {
    return "application/json"; // a .jsonl artifact is one JSON object and its newline
  }
  if (name.ends_with(".txt") || name.ends_with(".log")) {
    return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

// Query parameter `name` as a whole number from `min` to `max` (at most 4 digits); else
// InvalidInput naming the parameter and the range. REQUIRES: the parameter is present.
int bounded_param(const httplib::Request& req, const std::string& name, int max, int min = 1) {
  const std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(v) < min || std::stoi(v) > max) {
    throw Error(ErrorCode::InvalidInput, "query '" + name + "': '" + v + "' is not " +
                                             std::to_string(min) + " to " + std::to_string(max));
  }
  return std::stoi(v);
}

// The last line of a followed log: the outcome as `key=value` pairs (logfmt), so that a CI job
// piping the log can tell how it ended without another request. `timed_out`: the follow's
// deadline passed first.
std::string outcome_line(const std::string& id, const std::optional<server::BuildRecord>& b,
                         bool timed_out) {
  std::string line =
      "build=" + id + " state=" + (b ? std::string(server::build_state_name(b->state)) : "deleted");
  if (b && !b->outcome.error_code.empty()) {
    line += " error_code=" + b->outcome.error_code;
  }
  return line + (timed_out ? " follow=timed_out\n" : "\n");
}

// The filter of GET /v1/builds: ?state=&image=&label=K=V&limit=&cursor=.
server::BuildFilter build_filter(const httplib::Request& req) {
  server::BuildFilter f;
  if (req.has_param("state")) {
    f.state = server::parse_build_state(req.get_param_value("state"));
    if (!f.state) {
      throw Error(ErrorCode::InvalidInput,
                  "query 'state': '" + req.get_param_value("state") +
                      "' is not queued, running, succeeded, failed or cancelled");
    }
  }
  if (req.has_param("image")) {
    f.image = req.get_param_value("image");
  }
  if (req.has_param("label")) {
    const std::string l = req.get_param_value("label");
    const auto eq = l.find('=');
    if (eq == std::string::npos) {
      throw Error(ErrorCode::InvalidInput, "query 'label': '" + l + "' is not KEY=VALUE");
    }
    f.label = {l.substr(0, eq), l.substr(eq + 1)};
  }
  if (req.has_param("limit")) {
    f.limit = static_cast<std::size_t>(bounded_param(req, "limit", 1000));
  }
  f.cursor = req.get_param_value("cursor");
  return f;
}

class BuildRoutes {
public:
  explicit BuildRoutes(RouteContext& routes) : routes_(routes), ctx_(routes.ctx) {}

  void submit(const httplib::Request& req, httplib::Response& res);
  void list(const httplib::Request& req, httplib::Response& res);
  void get(const httplib::Request& req, httplib::Response& res);
  void log(const httplib::Request& req, httplib::Response& res);
  void artifact(const httplib::Request& req, httplib::Response& res);
  void cancel(const httplib::Request& req, httplib::Response& res);
  void remove(const httplib::Request& req, httplib::Response& res);

private:
  // Followers of a log hold a server thread each, so at most this many at once; more get 429.
  static constexpr int kMaxFollowers = 4;
  // What one read of a followed log asks the store for.
  static constexpr std::size_t kFollowSlice = 1 << 16;
  // Long polls (GET /v1/builds/{id}?wait=) hold a connection thread each: at most this many.
  static constexpr int kMaxWaiters = 64;
  static constexpr int kMaxWaitSeconds = 600;
  // How often a follower or a waiter reads the build's state.
  static constexpr std::chrono::milliseconds kPollInterval{200};

  server::BuildRecord build_or_404(const std::string& id) const;
  // The state name of build `id` ("running"), for messages; NotFound if it is gone.
  std::string state_of(const std::string& id) const;
  // Checks a request against what the server can build (kernel, signing key, local-image
  // allow-list) so that a wrong one is a 400 now rather than a failed build later.
  void check_buildable(const server::BuildRequest& request) const;
  // The Idempotency-Key header, if sent; InvalidInput unless 1-255 characters.
  static std::optional<std::string> idempotency_key(const httplib::Request& req);
  bool send_existing(httplib::Response& res, const std::string& id) const;
  bool refuse_reused_key(httplib::Response& res, const std::string& key,
                         const std::string& request_json) const;
  static bool refuse_other_request(httplib::Response& res, const std::string& key,
                                   const server::IdempotentAnswer& answer,
                                   const std::string& request_json);
  // A key sent before: 422 if with another request, else 200 with its build (one lookup).
  // False for a new key, or one whose build was deleted: the request goes on.
  bool answer_known_key(httplib::Response& res, const std::string& key,
                        const std::string& request_json) const;
  static void serve_range(const httplib::Request& req, httplib::Response& res,
                          std::shared_ptr<server::ArtifactReader> reader,
                          const std::string& content_type);
  void follow_log(const server::BuildRecord& b, int timeout_seconds, httplib::Response& res);
  void wait_for_end(const std::string& id, int wait_seconds, httplib::Response& res);

  RouteContext& routes_;
  const ApiContext& ctx_;
  std::atomic<int> followers_{0};
  std::atomic<int> waiters_{0};
};

server::BuildRecord BuildRoutes::build_or_404(const std::string& id) const {
  auto b = ctx_.store.get(id);
  if (!b) {
    throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
  }
  return *b;
}

std::string BuildRoutes::state_of(const std::string& id) const {
  return std::string(server::build_state_name(build_or_404(id).state));
}

void BuildRoutes::check_buildable(const server::BuildRequest& request) const {
  const std::string kernel = request.kernel.value_or(ctx_.kernels.default_name());
  if (kernel.empty()) {
    throw Error(ErrorCode::InvalidInput,
                "no kernel is configured on this server; start it with --kernel-dir NAME=DIR");
  }
  if (!ctx_.kernels.resolve(kernel)) {
    throw Error(ErrorCode::InvalidInput, "field 'kernel': '" + kernel +
                                             "' is not a configured kernel (default: '" +
                                             ctx_.kernels.default_name() + "')");
  }
  ctx_.signing_keys.identity(request); // an unknown signing key is a 400 now, not a failed build
  if (request.push) {
    server::check_push_allowed(ctx_.config.push_targets, *request.push);
  }
}

std::optional<std::string> BuildRoutes::idempotency_key(const httplib::Request& req) {
  if (!req.has_header("Idempotency-Key")) {
    return std::nullopt;
  }
  std::string key = req.get_header_value("Idempotency-Key");
  if (key.empty() || key.size() > 255) {
    throw Error(ErrorCode::InvalidInput, "Idempotency-Key must be 1-255 characters");
  }
  return key;
}

// 200 with a build that answers the request already (same idempotency key or same inputs);
// false if it was deleted since it was found, so the caller queues a new one instead.
// 422 when `key` was first sent with another request (the IETF Idempotency-Key draft: a key
// names one request; answering a different one with its build would hide the client's bug).
bool BuildRoutes::refuse_reused_key(httplib::Response& res, const std::string& key,
                                    const std::string& request_json) const {
  const auto answer = ctx_.store.find_by_idempotency_key(key);
  return answer && refuse_other_request(res, key, *answer, request_json);
}

bool BuildRoutes::refuse_other_request(httplib::Response& res, const std::string& key,
                                       const server::IdempotentAnswer& answer,
                                       const std::string& request_json) {
  if (answer.request_json.empty() || answer.request_json == request_json) {
    return false;
  }
  send_problem(res, {422, "idempotency_key_reused",
                     "Idempotency-Key '" + key + "' was sent with another request (build " +
                         answer.build_id + "); use a new key for a new request"});
  return true;
}

bool BuildRoutes::answer_known_key(httplib::Response& res, const std::string& key,
                                   const std::string& request_json) const {
  const auto answer = ctx_.store.find_by_idempotency_key(key); // one lookup for both answers
  return answer && (refuse_other_request(res, key, *answer, request_json) ||
                    send_existing(res, answer->build_id));
}

bool BuildRoutes::send_existing(httplib::Response& res, const std::string& id) const {
  const auto b = ctx_.store.get(id);
  if (!b) {
    return false;
  }
  res.set_header("Location", "/v1/builds/" + id);
  send_json(res, 200, build_view(*b));
  return true;
}

void BuildRoutes::submit(const httplib::Request& req, httplib::Response& res) {
  if (routes_.refuse_if_draining(res)) {
    return;
  }
  if (auto down = ctx_.dependencies.problem()) { // a build accepted now could not be kept
    throw Error(ErrorCode::Unavailable, "no new builds: " + *down);
  }
  const server::BuildRequest request = server::parse_build_request(req.body);
  check_buildable(request);
  const std::string request_json = server::to_json(request);
  const std::optional<std::string> key = idempotency_key(req);
  if (key && answer_known_key(res, *key, request_json)) {
    return;
  }
  // Resolved before queueing so that a request equal to an earlier one (same image digest,
  // kernel, options, tool version) gets that build back instead of a rebuild.
  ctx_.runner.image_ref(request.image); // the local-image allow-list, as a 400 now
  const auto early = ctx_.runner.resolve_early(request).value_or(server::EarlyResolution{});
  const server::NewBuild build{request_json, request.image,   request.labels,
                               key,          early.input_key, early.pinned_digest};
  if (auto existing = ctx_.store.reuse(build)) {             // even with the queue full
    if (key && refuse_reused_key(res, *key, request_json)) { // another request won the race
      return;
    }
    if (send_existing(res, *existing)) {
      return;
    } // deleted in the meantime: queue a new one
  }
  if (auto low = server::check_free_space(ctx_.config.data_dir, ctx_.config.min_free_bytes)) {
    throw Error(ErrorCode::NoSpace, "no new builds: " + *low);
  }
  if (ctx_.store.count_queued() >= ctx_.config.max_queue) {
    send_problem(res, {429, "queue_full",
                       "the build queue is full (" + std::to_string(ctx_.config.max_queue) +
                           " queued); retry after " + std::to_string(kRetryAfterSeconds) + " s"});
    return;
  }
  const auto added = ctx_.store.enqueue(build);
  if (!added.created && key && refuse_reused_key(res, *key, request_json)) {
    return;
  }
  if (!added.created && send_existing(res, added.id)) {
    return;
  }
  // Read before the workers are woken: the answer describes the build as accepted (queued),
  // not whatever state an idle worker has taken it to a millisecond later.
  const auto b = build_or_404(added.id);
  ctx_.pool.notify();
  res.set_header("Location", "/v1/builds/" + b.id);
  send_json(res, 202, build_view(b));
}

void BuildRoutes::list(const httplib::Request& req, httplib::Response& res) {
  send_json(res, 200, build_list_view(ctx_.store.list(build_filter(req))));
}

// GET /v1/builds/{id}[?wait=S]: with `wait`, a long poll: answered when the build has ended or
// S seconds (at most 600) have passed, whichever comes first, with the build as it then is. A
// CI job needs no polling loop; it asks again while the state is not terminal.
void BuildRoutes::get(const httplib::Request& req, httplib::Response& res) {
  const auto b = build_or_404(req.matches[1]);
  const int wait = req.has_param("wait") ? bounded_param(req, "wait", kMaxWaitSeconds, 0) : 0;
  if (wait == 0 || server::is_terminal(b.state) || routes_.draining()) {
    send_json(res, 200, build_view(b));
    return;
  }
  if (++waiters_ > kMaxWaiters) {
    --waiters_;
    send_problem(res, {429, "too_many_waiters",
                       "at most " + std::to_string(kMaxWaiters) +
                           " requests wait for builds at once; retry, or ask without wait"});
    return;
  }
  wait_for_end(b.id, wait, res);
}

// Answers with the build once it ended or the time passed (or the server drains). Streamed
// (chunked), as a followed log: a client that went away is noticed between polls and frees its
// slot then, not at its deadline.
void BuildRoutes::wait_for_end(const std::string& id, int wait_seconds, httplib::Response& res) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  res.status = 200;
  res.set_chunked_content_provider(
      "application/json",
      [this, id, deadline](std::size_t, httplib::DataSink& sink) {
        const auto b = ctx_.store.get(id);
        if (!b || server::is_terminal(b->state) || routes_.draining() ||
            std::chrono::steady_clock::now() >= deadline) {
          const nlohmann::json view =
              b ? build_view(*b) : nlohmann::json{{"id", id}, {"state", "deleted"}};
          const std::string text = json_text_for_display(view);
          if (!sink.write(text.data(), text.size())) {
            return false;
          }
          sink.done();
          return true;
        }
        if (!sink.is_writable()) {
          return false;
        }
        std::this_thread::sleep_for(kPollInterval);
        return true;
      },
      [this](bool) { --waiters_; });
}

// GET /v1/builds/{id}/log[?follow=1[&timeout=S]]: with follow, the log is streamed (chunked)
// as it grows until the build ends (the tail after the end included) or `timeout` seconds
// (default 600, at most 3600) pass, then one outcome_line().
void BuildRoutes::log(const httplib::Request& req, httplib::Response& res) {
  const auto b = build_or_404(req.matches[1]);
  const std::string follow = req.get_param_value("follow");
  if (follow != "1" && follow != "true") {
    res.set_content(server::read_whole_log(ctx_.logs, b.id), "text/plain; charset=utf-8");
    return;
  }
  const int timeout = req.has_param("timeout") ? bounded_param(req, "timeout", 3600) : 600;
  if (++followers_ > kMaxFollowers) {
    --followers_;
    send_problem(res, {429, "too_many_followers",
                       "at most " + std::to_string(kMaxFollowers) +
                           " logs are followed at once; retry, or poll without follow"});
    return;
  }
  follow_log(b, timeout, res);
}

// Streams the log from its start, polling it (every 200 ms while it does not grow) until the
// build has ended and everything written is sent, or the deadline passes.
void BuildRoutes::follow_log(const server::BuildRecord& b, int timeout_seconds,
                             httplib::Response& res) {
  struct Follow {
    std::string id;
    std::uint64_t offset = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  auto state = std::make_shared<Follow>(
      Follow{b.id, 0, std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds)});
  res.set_chunked_content_provider(
      "text/plain; charset=utf-8",
      [this, state](std::size_t, httplib::DataSink& sink) {
        // The state is read before the log, so the tail written before the end is sent.
        const auto now_b = ctx_.store.get(state->id);
        const bool ended = !now_b || server::is_terminal(now_b->state);
        bool wrote = false;
        for (;;) {
          const std::string part = ctx_.logs.read(state->id, state->offset, kFollowSlice);
          if (part.empty()) {
            break;
          }
          if (!sink.write(part.data(), part.size())) {
            return false;
          }
          state->offset += part.size();
          wrote = true;
        }
        const bool timed_out = std::chrono::steady_clock::now() >= state->deadline;
        if (ended || timed_out) {
          const std::string last = outcome_line(state->id, now_b, !ended);
          if (!sink.write(last.data(), last.size())) {
            return false;
          }
          sink.done();
          return true;
        }
        if (!wrote) {
          // A follower that went away frees its slot now, not at its deadline.
          if (!sink.is_writable()) {
            return false;
          }
          std::this_thread::sleep_for(kPollInterval);
        }
        return true;
      },
      [this](bool) { --followers_; });
}

void BuildRoutes::artifact(const httplib::Request& req, httplib::Response& res) {
  const auto b = build_or_404(req.matches[1]);
  const std::string name = req.matches[2];
  std::shared_ptr<server::ArtifactReader> reader = ctx_.artifacts.open(b.id, name);
  if (!reader || b.state != server::BuildState::Succeeded) {
    throw Error(ErrorCode::NotFound, "build " + b.id + " (" +
                                         std::string(server::build_state_name(b.state)) +
                                         ") has no artifact '" + name + "'");
  }
  serve_range(req, res, std::move(reader), content_type_of(name));
}

// The artifact, whole or the one range answer_range() allows. httplib would apply the ranges it
// parsed itself after the handler (api/byte_ranges.hpp says why not): they are cleared. The
// Request is httplib's own non-const object, handed to handlers as const.
void BuildRoutes::serve_range(const httplib::Request& req, httplib::Response& res,
                              std::shared_ptr<server::ArtifactReader> reader,
                              const std::string& content_type) {
  const std::uint64_t size = reader->size();
  const RangeAnswer range = answer_range(req.get_header_value("Range"), size);
  const_cast<httplib::Request&>(req).ranges.clear();
  res.set_header("Accept-Ranges", "bytes");
  if (range.kind == RangeAnswer::Kind::Unsatisfiable) {
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    send_problem(res,
                 {416, "range_not_satisfiable",
                  "the Range '" + req.get_header_value("Range") + "' selects no bytes of this " +
                      std::to_string(size) + "-byte artifact"});
    return;
  }
  std::uint64_t first = 0;
  std::uint64_t count = size;
  if (range.kind == RangeAnswer::Kind::Slice) {
    first = range.first;
    count = range.last - range.first + 1;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                        std::to_string(range.last) + "/" + std::to_string(size));
  }
  res.set_content_provider(
      static_cast<std::size_t>(count), content_type,
      [reader, first](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        std::array<std::uint8_t, 1 << 16> buf;
        const std::size_t n =
            reader->read_at(first + offset, std::span(buf.data(), std::min(length, buf.size())));
        return n > 0 && sink.write(reinterpret_cast<const char*>(buf.data()), n);
      });
}

void BuildRoutes::cancel(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  switch (ctx_.store.cancel(id)) {
  case server::CancelResult::NotFound:
    throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
  case server::CancelResult::AlreadyFinished:
    send_problem(
        res, {409, "already_finished", "build " + id + " already ended (" + state_of(id) + ")"});
    return;
  case server::CancelResult::Requested:
    ctx_.pool.cancel(id); // stop it now if it runs here, not at the next heartbeat
    send_json(res, 202, build_view(build_or_404(id)));
    return;
  case server::CancelResult::Cancelled:
    send_json(res, 202, build_view(build_or_404(id)));
    return;
  }
}

// DELETE /v1/builds/{id}: the row goes (GET answers 404 afterwards, and the idempotency key
// and input key no longer name it), then its artifacts and log. Only a finished build.
void BuildRoutes::remove(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  switch (ctx_.store.remove(id)) {
  case server::RemoveResult::NotFound:
    throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
  case server::RemoveResult::NotFinished:
    send_problem(res, {409, "not_finished",
                       "build " + id + " is " + state_of(id) + "; cancel it (POST /v1/builds/" +
                           id + "/cancel) and delete it once it has ended"});
    return;
  case server::RemoveResult::Removed:
    ctx_.artifacts.remove(id);
    ctx_.logs.remove(id);
    ctx_.runner.forget(id);
    res.status = 204;
    return;
  }
}

} // namespace

void add_build_routes(RouteContext& routes) {
  auto b = std::make_shared<BuildRoutes>(routes);
  using R = const httplib::Request&;
  using W = httplib::Response&;
  const std::string id = "([^/]+)";
  routes.add("POST", "/v1/builds", "/v1/builds",
             routes.guarded(Role::Build, [b](R q, W s) { b->submit(q, s); }));
  routes.add("GET", "/v1/builds", "/v1/builds",
             routes.guarded(Role::Read, [b](R q, W s) { b->list(q, s); }));
  routes.add("GET", "/v1/builds/{id}", "/v1/builds/" + id,
             routes.guarded(Role::Read, [b](R q, W s) { b->get(q, s); }));
  routes.add("GET", "/v1/builds/{id}/log", "/v1/builds/" + id + "/log",
             routes.guarded(Role::Read, [b](R q, W s) { b->log(q, s); }));
  routes.add("GET", "/v1/builds/{id}/artifacts/{name}", "/v1/builds/" + id + "/artifacts/([^/]+)",
             routes.guarded(Role::Read, [b](R q, W s) { b->artifact(q, s); }));
  routes.add("DELETE", "/v1/builds/{id}", "/v1/builds/" + id,
             routes.guarded(Role::Build, [b](R q, W s) { b->remove(q, s); }));
  routes.add("POST", "/v1/builds/{id}/cancel", "/v1/builds/" + id + "/cancel",
             routes.guarded(Role::Build, [b](R q, W s) { b->cancel(q, s); }));
}

} // namespace oci2eif::api
