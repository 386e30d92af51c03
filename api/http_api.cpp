#include "api/http_api.hpp"

#include "api/auth.hpp"
#include "api/build_view.hpp"
#include "api/openapi.hpp"
#include "api/problem.hpp"
#include "api/webhooks/webhook_handler.hpp"
#include "core/error.hpp"
#include "server/build_request.hpp"
#include "server/disk_space.hpp"
#include "server/service_metrics.hpp"

#include <atomic>
#include <cstdint>
#include <fcntl.h>
#include <fstream>
#include <httplib.h>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace oci2eif::api {
namespace {

using server::Role;

constexpr int kRetryAfterSeconds = 10;

// 429 (a limit) and 503 (shutting down, not ready, disk full) are worth retrying: say when.
void send_problem(httplib::Response& res, const Problem& p) {
  if (p.status == 429 || p.status == 503) {
    res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
  }
  res.status = p.status;
  res.set_content(problem_json(p), "application/problem+json");
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

std::string content_type_of(const std::string& name) {
  if (name.ends_with(".json")) {
    return "application/json";
  }
  if (name.ends_with(".txt") || name.ends_with(".log")) {
    return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

} // namespace

struct HttpApi::Impl {
  explicit Impl(ApiContext c)
      : ctx(c), auth(c.config.tokens),
        dedupe((c.config.data_dir / "jobs.db").string(), server::system_clock(),
               c.config.webhooks.dedupe_window),
        webhooks(c.config, c.store, dedupe, [this] { ctx.pool.notify(); }) {}

  ApiContext ctx;
  Authenticator auth;
  server::WebhookDedupe dedupe;
  webhooks::WebhookHandler webhooks;
  httplib::Server http;
  std::vector<ApiRoute> table;
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> probes{0}; // /readyz probe file names

  // True (and the 503 sent) while the service shuts down: it takes no new builds.
  bool refuse_if_draining(httplib::Response& res) {
    if (!draining) {
      return false;
    }
    send_problem(res, {503, "shutting_down",
                       "the service is shutting down and takes no new builds; retry after " +
                           std::to_string(kRetryAfterSeconds) + " s (or on another instance)"});
    return true;
  }

  // Registers a route and records it (OpenAPI path syntax) for route_table().
  void add(const std::string& method, const std::string& path, const std::string& pattern,
           httplib::Server::Handler handler) {
    table.push_back({method, path});
    if (method == "GET") {
      http.Get(pattern, std::move(handler));
    } else if (method == "POST") {
      http.Post(pattern, std::move(handler));
    } else {
      http.Delete(pattern, std::move(handler));
    }
  }

  static Problem too_large() {
    return {413, "body_too_large", "the request body is larger than the server's limit"};
  }

  void webhook(const httplib::Request& req, httplib::Response& res) {
    const std::string source = req.matches[1];
    if (req.body.size() > ctx.config.max_body_bytes) {
      send_problem(res, too_large());
      return;
    }
    if (refuse_if_draining(res)) {
      ctx.metrics.add(server::kMetricWebhookDeliveries, {{"source", source}, {"outcome", "error"}});
      return;
    }
    webhooks::WebhookReply reply;
    try {
      reply = webhooks.handle({source, req.get_header_value("Authorization"),
                               req.get_header_value("X-Hub-Signature-256"),
                               req.get_header_value("X-GitHub-Event"), req.body});
    } catch (const Error& e) {
      reply.problem = problem_for(e);
      reply.outcome = "error";
    } catch (const std::filesystem::filesystem_error& e) {
      reply.problem = problem_for(e);
      reply.outcome = "error";
    } catch (const std::exception& e) {
      reply.problem = Problem{500, "internal", e.what()};
      reply.outcome = "error";
    }
    ctx.metrics.add(server::kMetricWebhookDeliveries,
                    {{"source", source}, {"outcome", reply.outcome}});
    if (reply.problem) {
      send_problem(res, *reply.problem);
      return;
    }
    send_json(res, reply.status, reply.body);
  }

  // Runs a handler after the role check, turning errors into problem+json.
  template <typename Handler>
  httplib::Server::Handler guarded(Role role, Handler handler, std::size_t body_limit = 0) {
    return [this, role, handler, body_limit](const httplib::Request& req, httplib::Response& res) {
      try {
        if (req.body.size() > (body_limit ? body_limit : ctx.config.max_body_bytes)) {
          send_problem(res, too_large());
          return;
        }
        if (auto p = auth.check(req.get_header_value("Authorization"), role)) {
          if (p->status == 401) {
            res.set_header("WWW-Authenticate", "Bearer");
          }
          send_problem(res, *p);
          return;
        }
        handler(req, res);
      } catch (const Error& e) {
        send_problem(res, problem_for(e));
      } catch (const std::filesystem::filesystem_error& e) {
        send_problem(res, problem_for(e));
      } catch (const std::exception& e) {
        send_problem(res, {500, "internal", e.what()});
      }
    };
  }

  server::BuildRecord build_or_404(const std::string& id) {
    auto b = ctx.store.get(id);
    if (!b) {
      throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
    }
    return *b;
  }

  void submit(const httplib::Request& req, httplib::Response& res) {
    if (refuse_if_draining(res)) {
      return;
    }
    const server::BuildRequest request = server::parse_build_request(req.body);
    const std::string kernel = request.kernel.value_or(ctx.kernels.default_name());
    if (kernel.empty()) {
      throw Error(ErrorCode::InvalidInput,
                  "no kernel is configured on this server; start it with --kernel-dir NAME=DIR");
    }
    if (!ctx.kernels.contains(kernel)) {
      throw Error(ErrorCode::InvalidInput, "field 'kernel': '" + kernel +
                                               "' is not a configured kernel (default: '" +
                                               ctx.kernels.default_name() + "')");
    }
    ctx.signing_keys.identity(request); // an unknown signing key is a 400 now, not a failed build
    std::optional<std::string> key;
    if (req.has_header("Idempotency-Key")) {
      key = req.get_header_value("Idempotency-Key");
      if (key->empty() || key->size() > 255) {
        throw Error(ErrorCode::InvalidInput, "Idempotency-Key must be 1-255 characters");
      }
      if (auto existing = ctx.store.find_by_idempotency_key(*key)) {
        if (send_existing(res, *existing)) {
          return;
        }
      }
    }
    // Resolved before queueing so that a request equal to an earlier one (same image digest,
    // kernel, options, tool version) gets that build back instead of a rebuild.
    ctx.runner.image_ref(request.image); // the local-image allow-list, as a 400 now
    const auto early = ctx.runner.resolve_early(request).value_or(server::EarlyResolution{});
    const server::NewBuild build{server::to_json(request), request.image,      request.labels, key,
                                 early.input_key,          early.pinned_digest};
    if (auto existing = ctx.store.reuse(build)) { // even with the queue full
      if (send_existing(res, *existing)) {
        return;
      } // deleted in the meantime: queue a new one
    }
    if (auto low = server::check_free_space(ctx.config.data_dir, ctx.config.min_free_bytes)) {
      throw Error(ErrorCode::NoSpace, "no new builds: " + *low);
    }
    if (ctx.store.count_queued() >= ctx.config.max_queue) {
      send_problem(res, {429, "queue_full",
                         "the build queue is full (" + std::to_string(ctx.config.max_queue) +
                             " queued); retry after " + std::to_string(kRetryAfterSeconds) + " s"});
      return;
    }
    const auto added = ctx.store.enqueue(build);
    if (!added.created && send_existing(res, added.id)) {
      return;
    }
    ctx.pool.notify();
    const auto b = build_or_404(added.id);
    res.set_header("Location", "/v1/builds/" + b.id);
    send_json(res, 202, build_view(b));
  }

  // 200 with a build that answers the request already (same idempotency key or same inputs);
  // false if it was deleted since it was found, so the caller queues a new one instead.
  bool send_existing(httplib::Response& res, const std::string& id) {
    const auto b = ctx.store.get(id);
    if (!b) {
      return false;
    }
    res.set_header("Location", "/v1/builds/" + id);
    send_json(res, 200, build_view(*b));
    return true;
  }

  void list(const httplib::Request& req, httplib::Response& res) {
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
      const std::string l = req.get_param_value("limit");
      if (l.empty() || l.size() > 4 || l.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(l) < 1 || std::stoi(l) > 1000) {
        throw Error(ErrorCode::InvalidInput, "query 'limit': '" + l + "' is not 1 to 1000");
      }
      f.limit = static_cast<std::size_t>(std::stoi(l));
    }
    f.cursor = req.get_param_value("cursor");
    const server::BuildPage page = ctx.store.list(f);
    nlohmann::json builds = nlohmann::json::array();
    for (const auto& b : page.builds) {
      builds.push_back(build_view(b));
    }
    nlohmann::json body = {{"builds", builds}};
    if (!page.next_cursor.empty()) {
      body["next_cursor"] = page.next_cursor;
    }
    send_json(res, 200, body);
  }

  // GET /v1/builds/{id}/log[?follow=1[&timeout=S]]: with follow, the log is streamed (chunked)
  // as it grows until the build ends (the tail after the end included) or `timeout` seconds
  // (default 600, at most 3600) pass. Followers hold a server thread each, so at most
  // kMaxFollowers at once; more answer 429.
  static constexpr int kMaxFollowers = 4;
  std::atomic<int> followers{0};

  void log(const httplib::Request& req, httplib::Response& res) {
    const auto b = build_or_404(req.matches[1]);
    const std::string follow = req.get_param_value("follow");
    if (follow != "1" && follow != "true") {
      std::ifstream in(ctx.runner.log_path(b.id));
      std::stringstream text;
      text << in.rdbuf();
      res.set_content(text.str(), "text/plain; charset=utf-8");
      return;
    }
    int timeout = 600;
    if (req.has_param("timeout")) {
      const std::string t = req.get_param_value("timeout");
      if (t.empty() || t.size() > 4 || t.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(t) < 1 || std::stoi(t) > 3600) {
        throw Error(ErrorCode::InvalidInput, "query 'timeout': '" + t + "' is not 1 to 3600");
      }
      timeout = std::stoi(t);
    }
    if (++followers > kMaxFollowers) {
      --followers;
      send_problem(res, {429, "too_many_followers",
                         "at most " + std::to_string(kMaxFollowers) +
                             " logs are followed at once; retry, or poll without follow"});
      return;
    }
    struct Follow {
      std::string id;
      std::filesystem::path path;
      std::uint64_t offset = 0;
      std::chrono::steady_clock::time_point deadline;
    };
    auto state = std::make_shared<Follow>(
        Follow{b.id, ctx.runner.log_path(b.id), 0,
               std::chrono::steady_clock::now() + std::chrono::seconds(timeout)});
    res.set_chunked_content_provider(
        "text/plain; charset=utf-8",
        [this, state](std::size_t, httplib::DataSink& sink) {
          // The state is read before the file, so the tail written before the end is sent.
          const auto now_b = ctx.store.get(state->id);
          const bool ended = !now_b || server::is_terminal(now_b->state);
          std::ifstream in(state->path, std::ios::binary);
          bool wrote = false;
          if (in) {
            in.seekg(static_cast<std::streamoff>(state->offset));
            char buf[1 << 16];
            while (in.read(buf, sizeof buf) || in.gcount() > 0) {
              const auto n = static_cast<std::size_t>(in.gcount());
              if (!sink.write(buf, n)) {
                return false;
              }
              state->offset += n;
              wrote = true;
            }
          }
          if (ended || std::chrono::steady_clock::now() >= state->deadline) {
            sink.done();
            return true;
          }
          if (!wrote) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
          return true;
        },
        [this](bool) { --followers; });
  }

  void artifact(const httplib::Request& req, httplib::Response& res) {
    const auto b = build_or_404(req.matches[1]);
    const std::string name = req.matches[2];
    const auto path = ctx.artifacts.find(b.id, name);
    if (!path || b.state != server::BuildState::Succeeded) {
      throw Error(ErrorCode::NotFound, "build " + b.id + " (" +
                                           std::string(server::build_state_name(b.state)) +
                                           ") has no artifact '" + name + "'");
    }
    const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw_errno("open " + path->string());
    }
    auto owner = std::shared_ptr<int>(new int(fd), [](int* p) {
      ::close(*p);
      delete p;
    });
    const auto size = static_cast<std::size_t>(std::filesystem::file_size(*path));
    // httplib answers Range requests (206) itself for a provider of known length.
    res.set_content_provider(
        size, content_type_of(name),
        [owner](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          char buf[1 << 16];
          const ssize_t n =
              ::pread(*owner, buf, std::min(length, sizeof buf), static_cast<off_t>(offset));
          return n > 0 && sink.write(buf, static_cast<std::size_t>(n));
        });
  }

  void cancel(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    switch (ctx.store.cancel(id)) {
    case server::CancelResult::NotFound:
      throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
    case server::CancelResult::AlreadyFinished: {
      const auto b = build_or_404(id);
      send_problem(res, {409, "already_finished",
                         "build " + id + " already ended (" +
                             std::string(server::build_state_name(b.state)) + ")"});
      return;
    }
    case server::CancelResult::Requested:
      ctx.pool.cancel(id); // stop it now if it runs here, not at the next heartbeat
      send_json(res, 202, build_view(build_or_404(id)));
      return;
    case server::CancelResult::Cancelled:
      send_json(res, 202, build_view(build_or_404(id)));
      return;
    }
  }

  // DELETE /v1/builds/{id}: the row goes (GET answers 404 afterwards, and the idempotency key
  // and input key no longer name it), then its artifacts and log. Only a finished build.
  void remove(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    switch (ctx.store.remove(id)) {
    case server::RemoveResult::NotFound:
      throw Error(ErrorCode::NotFound, "no build with id '" + id + "'");
    case server::RemoveResult::NotFinished: {
      const auto b = build_or_404(id);
      send_problem(res, {409, "not_finished",
                         "build " + id + " is " + std::string(server::build_state_name(b.state)) +
                             "; cancel it (POST /v1/builds/" + id +
                             "/cancel) and delete it once it has ended"});
      return;
    }
    case server::RemoveResult::Removed:
      ctx.artifacts.remove(id);
      std::filesystem::remove(ctx.runner.log_path(id));
      res.status = 204;
      return;
    }
  }

  static nlohmann::json kernel_view(const server::KernelInfo& k) {
    nlohmann::json digests = {{k.arch == Arch::Aarch64 ? "Image" : "bzImage", k.kernel_sha256}};
    if (k.config_sha256) {
      digests[k.arch == Arch::Aarch64 ? "Image.config" : "bzImage.config"] = *k.config_sha256;
    }
    if (k.nsm_sha256) {
      digests["nsm.ko"] = *k.nsm_sha256;
    }
    return {{"name", k.name},       {"arch", std::string(arch_name(k.arch))},
            {"source", k.source},   {"default", k.is_default},
            {"cmdline", k.cmdline}, {"digest", k.digest},
            {"digests", digests},   {"links", {{"self", "/v1/kernels/" + k.name}}}};
  }

  server::KernelInfo kernel_or_404(const std::string& name) {
    auto k = ctx.kernels.find(name);
    if (!k) {
      throw Error(ErrorCode::NotFound, "no kernel named '" + name + "'");
    }
    return k->info;
  }

  // POST /v1/kernels, multipart/form-data: name, arch (x86_64 | aarch64, default x86_64),
  // cmdline (optional); files kernel (bzImage / Image), config, nsm_ko (optional).
  void upload_kernel(const httplib::Request& req, httplib::Response& res) {
    if (!req.is_multipart_form_data()) {
      throw Error(ErrorCode::InvalidInput,
                  "expected multipart/form-data with fields name, kernel (file) and optionally "
                  "arch, cmdline, config (file), nsm_ko (file)");
    }
    for (const auto& [field, _] : req.files) {
      if (field != "name" && field != "arch" && field != "cmdline" && field != "kernel" &&
          field != "config" && field != "nsm_ko") {
        throw Error(ErrorCode::InvalidInput, "field '" + field + "': unknown field");
      }
    }
    const auto field = [&](const char* key) -> std::optional<std::string> {
      if (!req.has_file(key)) {
        return std::nullopt;
      }
      return req.get_file_value(key).content;
    };
    const auto name = field("name");
    if (!name) {
      throw Error(ErrorCode::InvalidInput, "field 'name': required");
    }
    server::KernelUpload upload;
    const std::string arch = field("arch").value_or("x86_64");
    if (arch == "aarch64") {
      upload.arch = Arch::Aarch64;
    } else if (arch != "x86_64") {
      throw Error(ErrorCode::InvalidInput, "field 'arch': '" + arch + "' is not x86_64 or aarch64");
    }
    const auto kernel = field("kernel");
    if (!kernel) {
      throw Error(ErrorCode::InvalidInput, "field 'kernel': required (the bzImage or Image file)");
    }
    upload.kernel = *kernel;
    upload.config = field("config");
    upload.nsm_ko = field("nsm_ko");
    upload.cmdline = field("cmdline");
    if (upload.cmdline && (upload.cmdline->empty() || upload.cmdline->size() > 4096 ||
                           upload.cmdline->find_first_of("\n\r") != std::string::npos)) {
      throw Error(ErrorCode::InvalidInput, "field 'cmdline': must be one line of 1-4096 bytes");
    }
    if (ctx.kernels.contains(*name)) {
      send_problem(res, {409, "already_exists",
                         "a kernel named '" + *name + "' already exists; delete it first"});
      return;
    }
    if (auto low = server::check_free_space(ctx.config.data_dir, ctx.config.min_free_bytes)) {
      throw Error(ErrorCode::NoSpace, "no kernel uploads: " + *low);
    }
    const server::KernelInfo k = ctx.kernels.add(*name, upload);
    res.set_header("Location", "/v1/kernels/" + k.name);
    send_json(res, 201, kernel_view(k));
  }

  void remove_kernel(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    switch (ctx.kernels.remove(name)) {
    case server::KernelRemoveResult::NotFound:
      throw Error(ErrorCode::NotFound, "no kernel named '" + name + "'");
    case server::KernelRemoveResult::IsDefault:
      send_problem(res, {409, "default_kernel",
                         "'" + name + "' is the default kernel; it cannot be deleted"});
      return;
    case server::KernelRemoveResult::Configured:
      send_problem(res, {409, "configured_kernel",
                         "'" + name + "' comes from the server's configuration; remove it there"});
      return;
    case server::KernelRemoveResult::Removed:
      res.status = 204;
      return;
    }
  }

  void ready(httplib::Response& res) {
    if (draining) {
      send_problem(res, {503, "shutting_down", "the service is shutting down"});
      return;
    }
    ctx.store.count_queued();
    if (auto low = server::check_free_space(ctx.config.data_dir, ctx.config.min_free_bytes)) {
      send_problem(res, {503, "disk_full", *low});
      return;
    }
    // One file per probe: concurrent probes must not remove each other's.
    const auto probe = ctx.config.data_dir / (".readyz-" + std::to_string(++probes));
    std::ofstream out(probe);
    out << "ok";
    out.close();
    const bool written = !out.fail() && std::filesystem::exists(probe);
    std::filesystem::remove(probe);
    if (!written) {
      send_problem(res, {503, "not_ready",
                         "data directory " + ctx.config.data_dir.string() + " is not writable"});
      return;
    }
    send_json(res, 200, {{"status", "ready"}});
  }

  void routes() {
    // httplib reads a body before the handler: the global limit is the largest (a kernel
    // upload's); every handler checks its own, and this refuses by Content-Length (and checks
    // an upload's admin token) before a large body is read at all.
    http.set_payload_max_length(
        std::max(ctx.config.max_body_bytes, ctx.config.max_kernel_upload_bytes));
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const bool upload = req.method == "POST" && req.path == "/v1/kernels";
      if (upload) {
        if (auto p = auth.check(req.get_header_value("Authorization"), Role::Admin)) {
          send_problem(res, *p);
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      const std::size_t limit =
          upload ? ctx.config.max_kernel_upload_bytes : ctx.config.max_body_bytes;
      const std::string length = req.get_header_value("Content-Length");
      if (!length.empty() && length.size() < 20 &&
          length.find_first_not_of("0123456789") == std::string::npos &&
          std::stoull(length) > limit) {
        send_problem(res, too_large());
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    add("GET", "/healthz", "/healthz", [](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}});
    });
    add("GET", "/readyz", "/readyz", [this](const httplib::Request&, httplib::Response& res) {
      try {
        ready(res);
      } catch (const std::exception& e) {
        send_problem(res, {503, "not_ready", e.what()});
      }
    });
    add("GET", "/metrics", "/metrics", [this](const httplib::Request&, httplib::Response& res) {
      try {
        server::refresh_store_metrics(ctx.metrics, ctx.store, ctx.pool.running());
        server::refresh_registry_metrics(ctx.metrics, ctx.runner.pull_counters());
        server::refresh_disk_metrics(ctx.metrics, ctx.config.data_dir);
        res.set_content(ctx.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
      } catch (const std::exception& e) {
        send_problem(res, {503, "metrics_unavailable", e.what()});
      }
    });
    add("GET", "/v1/openapi.json", "/v1/openapi.json",
        [](const httplib::Request&, httplib::Response& res) {
          res.set_content(std::string(openapi_document()), "application/json");
        });
    using R = const httplib::Request&;
    using W = httplib::Response&;
    const std::string id = "([^/]+)";
    add("POST", "/v1/builds", "/v1/builds",
        guarded(Role::Build, [this](R q, W s) { submit(q, s); }));
    add("GET", "/v1/builds", "/v1/builds", guarded(Role::Read, [this](R q, W s) { list(q, s); }));
    add("GET", "/v1/builds/{id}", "/v1/builds/" + id, guarded(Role::Read, [this](R q, W s) {
          send_json(s, 200, build_view(build_or_404(q.matches[1])));
        }));
    add("GET", "/v1/builds/{id}/log", "/v1/builds/" + id + "/log",
        guarded(Role::Read, [this](R q, W s) { log(q, s); }));
    add("GET", "/v1/builds/{id}/artifacts/{name}", "/v1/builds/" + id + "/artifacts/([^/]+)",
        guarded(Role::Read, [this](R q, W s) { artifact(q, s); }));
    add("DELETE", "/v1/builds/{id}", "/v1/builds/" + id,
        guarded(Role::Build, [this](R q, W s) { remove(q, s); }));
    add("POST", "/v1/builds/{id}/cancel", "/v1/builds/" + id + "/cancel",
        guarded(Role::Build, [this](R q, W s) { cancel(q, s); }));
    add("GET", "/v1/kernels", "/v1/kernels", guarded(Role::Read, [this](R, W s) {
          nlohmann::json list = nlohmann::json::array();
          for (const auto& k : ctx.kernels.list()) {
            list.push_back(kernel_view(k));
          }
          send_json(s, 200, {{"kernels", list}});
        }));
    add("GET", "/v1/kernels/{name}", "/v1/kernels/([^/]+)", guarded(Role::Read, [this](R q, W s) {
          send_json(s, 200, kernel_view(kernel_or_404(q.matches[1])));
        }));
    add("POST", "/v1/kernels", "/v1/kernels",
        guarded(
            Role::Admin, [this](R q, W s) { upload_kernel(q, s); },
            ctx.config.max_kernel_upload_bytes));
    add("DELETE", "/v1/kernels/{name}", "/v1/kernels/([^/]+)",
        guarded(Role::Admin, [this](R q, W s) { remove_kernel(q, s); }));
    // Webhooks authenticate with their own per-source secrets, not API tokens.
    add("POST", "/v1/webhooks/{source}", "/v1/webhooks/(distribution|harbor|dockerhub|github)",
        [this](R q, W s) { webhook(q, s); });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        const int status = res.status;
        send_problem(res, {status, status == 413 ? "body_too_large" : "not_found",
                           status == 413 ? "the request body is larger than the server's limit"
                                         : "no such route"});
        res.status = status;
      }
    });
  }
};

HttpApi::HttpApi(ApiContext context) : impl_(std::make_unique<Impl>(context)) {
  for (std::size_t i = 0; i < context.config.webhooks.rules.size(); ++i) {
    const auto j = nlohmann::json::parse(context.config.webhooks.rules[i].build_json);
    if (j.contains("kernel") && !context.kernels.contains(j["kernel"].get<std::string>())) {
      throw Error(ErrorCode::InvalidInput,
                  "configuration: webhooks.rules[" + std::to_string(i) + "].build.kernel: '" +
                      j["kernel"].get<std::string>() + "' is not a configured kernel");
    }
  }
  impl_->routes();
}

const std::vector<ApiRoute>& HttpApi::route_table() const {
  return impl_->table;
}

HttpApi::~HttpApi() = default;

void HttpApi::run() {
  const auto& c = impl_->ctx.config;
  if (!impl_->http.bind_to_port(c.listen_host, c.listen_port)) {
    throw Error(ErrorCode::Io, "cannot listen on " + c.listen_host + ":" +
                                   std::to_string(c.listen_port) +
                                   " (in use, or not an address "
                                   "of this machine)");
  }
  impl_->http.listen_after_bind();
}

void HttpApi::drain() {
  impl_->draining = true;
}

void HttpApi::stop() {
  impl_->http.stop();
}

} // namespace oci2eif::api
