// `oci2eif submit`: a build through a running `oci2eif serve`, for CI jobs. It posts the build
// (with an Idempotency-Key, so a retried POST cannot queue it twice), and with --wait follows
// its log to stderr, waits for the end with long polls, prints the measurements JSON
// (nitro-cli's shape) and downloads what was asked, verifying size and SHA-256.
#include "api/build_view.hpp"
#include "cli/commands.hpp"
#include "cli/service_client.hpp"
#include "core/eif_metadata.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/sha.hpp"
#include "server/build_request.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>

namespace oci2eif::cli {
namespace {

constexpr int kMaxWaitSeconds = 600;    // the API's longest ?wait=
constexpr int kMaxFollowSeconds = 3600; // the API's longest log follow
// The longest a waiting call may see no byte: a long poll's wait and then some.
constexpr long kStallSeconds = kMaxWaitSeconds + 60;

std::string token_of(const SubmitOptions& o) {
  if (!o.token_file) {
    return o.token_env.value_or("");
  }
  const Bytes bytes = read_small_file(*o.token_file, 4096);
  std::string token(as_chars(bytes));
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
    throw Error(ErrorCode::InvalidInput,
                "--token-file " + o.token_file->string() + " does not hold one token");
  }
  return token;
}

std::map<std::string, std::string> labels_of(const std::vector<std::string>& labels) {
  std::map<std::string, std::string> out;
  for (const std::string& l : labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorCode::InvalidInput, "--label '" + l + "' is not KEY=VALUE");
    }
    out[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return out;
}

// The request as POST /v1/builds takes it, validated here by the server's own parser so a
// wrong option is a usage error before anything is sent.
std::string request_json(const SubmitOptions& o) {
  server::BuildRequest r;
  r.image = o.image;
  r.platform = o.platform;
  r.kernel = o.kernel;
  r.cmdline = o.cmdline;
  if (o.entrypoint_set) {
    r.entrypoint = o.entrypoint;
  }
  if (o.cmd_set) {
    r.cmd = o.cmd;
  }
  r.env = o.env;
  r.compress = o.compress;
  r.name = o.name;
  r.version = o.version;
  r.signing_key = o.signing_key;
  r.push = o.push;
  r.labels = labels_of(o.labels);
  if (o.metadata) {
    r.metadata = parse_custom_metadata(read_small_file(*o.metadata, kMaxCustomMetadataSize + 1),
                                       o.metadata->string());
  }
  return server::to_json(server::parse_build_request(server::to_json(r)));
}

std::string random_idempotency_key() {
  std::random_device random;
  std::string key = "oci2eif-submit-";
  for (int i = 0; i < 4; ++i) {
    char part[9];
    std::snprintf(part, sizeof part, "%08x", random());
    key += part;
  }
  return key;
}

nlohmann::json parse_build(const ServiceAnswer& answer, const std::string& what) {
  auto j = nlohmann::json::parse(answer.body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("state")) {
    throw SubmitFailure(SubmitExit::Unavailable, what + " answered " +
                                                     std::to_string(answer.status) +
                                                     " without a build: " + answer.body);
  }
  return j;
}

class Submission {
public:
  Submission(const SubmitOptions& o, ServiceClient& client, std::ostream& out, std::ostream& log)
      : o_(o), client_(client), out_(out), log_(log) {}

  SubmitExit run(const std::string& request);

private:
  nlohmann::json post(const std::string& request);
  nlohmann::json get_build(const std::string& id, int wait_seconds);
  void follow_log(const std::string& id);
  nlohmann::json wait_for_end(nlohmann::json build);
  std::string artifact_text(const nlohmann::json& build, const std::string& name);
  void download(const nlohmann::json& build, const std::string& name,
                const std::filesystem::path& to);
  SubmitExit report(const nlohmann::json& build);

  const SubmitOptions& o_;
  ServiceClient& client_;
  std::ostream& out_;
  std::ostream& log_;
};

SubmitExit Submission::run(const std::string& request) {
  nlohmann::json build = post(request);
  const std::string id = build["id"];
  log_ << "oci2eif: build " << id << " " << build["state"].get<std::string>() << ": "
       << client_.base_url() << "/v1/builds/" << id << "\n"
       << std::flush;
  if (!o_.wait) {
    out_ << build.dump(2) << "\n";
    return SubmitExit::Succeeded;
  }
  if (!o_.quiet && !api::view_is_terminal(build)) {
    follow_log(id);
  }
  return report(wait_for_end(std::move(build)));
}

nlohmann::json Submission::post(const std::string& request) {
  const ServiceCall call{
      "POST",
      "/v1/builds",
      request,
      {{"Content-Type", "application/json"},
       {"Idempotency-Key", o_.idempotency_key.value_or(random_idempotency_key())}}};
  const ServiceAnswer answer = client_.send(call);
  if (answer.status != 200 && answer.status != 202) {
    ServiceClient::refuse(call, answer);
  }
  return parse_build(answer, "POST /v1/builds");
}

nlohmann::json Submission::get_build(const std::string& id, int wait_seconds) {
  const ServiceCall call = get_call("/v1/builds/" + id + "?wait=" + std::to_string(wait_seconds));
  const ServiceAnswer answer = client_.send(call);
  if (answer.status != 200) {
    ServiceClient::refuse(call, answer);
  }
  return parse_build(answer, "GET /v1/builds/" + id);
}

// The log, to stderr as it is written. Best effort: when the server follows too many logs or
// the stream breaks, the build is still waited for (by long polls), silently.
void Submission::follow_log(const std::string& id) {
  const int timeout = client_.seconds_left(kMaxFollowSeconds, kMaxFollowSeconds);
  ServiceCall call =
      get_call("/v1/builds/" + id + "/log?follow=1&timeout=" + std::to_string(timeout));
  call.retry = false;
  try {
    const ServiceAnswer answer =
        client_.send(call, [this](ByteView data) { log_ << as_chars(data) << std::flush; });
    if (answer.status != 200) {
      log_ << "oci2eif: not following the log (" << answer.status << "); waiting\n";
    }
  } catch (const SubmitFailure& e) {
    log_ << "oci2eif: the log stream ended early (" << e.what() << "); waiting\n";
  }
}

nlohmann::json Submission::wait_for_end(nlohmann::json build) {
  const std::string id = build["id"];
  while (!api::view_is_terminal(build)) {
    if (client_.past_deadline()) {
      throw SubmitFailure(SubmitExit::TimedOut, "--timeout passed; build " + id + " is still " +
                                                    build["state"].get<std::string>() +
                                                    " on the server");
    }
    build = get_build(id, client_.seconds_left(kMaxWaitSeconds, kMaxWaitSeconds));
  }
  return build;
}

std::string Submission::artifact_text(const nlohmann::json& build, const std::string& name) {
  const ServiceCall call =
      get_call("/v1/builds/" + build["id"].get<std::string>() + "/artifacts/" + name);
  const ServiceAnswer answer = client_.send(call);
  if (answer.status != 200) {
    ServiceClient::refuse(call, answer);
  }
  return answer.body;
}

// Streams artifact `name` to `to` (appearing only when whole), checking the size and SHA-256
// the build lists for it.
void Submission::download(const nlohmann::json& build, const std::string& name,
                          const std::filesystem::path& to) {
  const std::string id = build["id"];
  nlohmann::json listed;
  for (const auto& a : build.value("artifacts", nlohmann::json::array())) {
    listed = a.value("name", "") == name ? a : listed;
  }
  if (listed.is_null()) {
    throw SubmitFailure(SubmitExit::Unavailable, "build " + id + " lists no artifact " + name);
  }
  AtomicFileWriter file(to);
  Hasher sha(HashAlgorithm::Sha256);
  std::uint64_t size = 0;
  ServiceCall call = get_call("/v1/builds/" + id + "/artifacts/" + name);
  call.retry = false; // bytes went to the file already; a failure is reported, not repeated
  const ServiceAnswer answer = client_.send(call, [&](ByteView data) {
    file.write(data);
    sha.write(data);
    size += data.size();
  });
  if (answer.status != 200) {
    ServiceClient::refuse(call, answer);
  }
  const std::string digest = "sha256:" + to_hex(sha.finish());
  if (size != listed.value("size", std::uint64_t{0}) || digest != listed.value("sha256", "")) {
    throw SubmitFailure(SubmitExit::Unavailable, name + " of build " + id + " arrived with " +
                                                     std::to_string(size) + " bytes and " + digest +
                                                     ", not as listed; nothing was written");
  }
  file.commit();
}

SubmitExit Submission::report(const nlohmann::json& build) {
  const std::string id = build["id"];
  const std::string state = build["state"];
  if (state != "succeeded") {
    const auto error = build.value("error", nlohmann::json::object());
    log_ << "oci2eif: build " << id << " " << state << ": " << error.value("code", "")
         << (error.contains("message") ? ": " + error.value("message", "") : "") << "\n";
    return SubmitExit::BuildFailed;
  }
  const std::string pcrs = artifact_text(build, "pcr.json");
  if (o_.pcrs) {
    AtomicFileWriter file(*o_.pcrs);
    file.write(as_bytes(pcrs));
    file.commit();
  }
  if (o_.output) {
    download(build, "image.eif", *o_.output);
  }
  out_ << pcrs << (pcrs.ends_with('\n') ? "" : "\n");
  log_ << "oci2eif: build " << id << " succeeded\n";
  return SubmitExit::Succeeded;
}

} // namespace

std::chrono::seconds parse_duration(const std::string& text) {
  const std::size_t end = std::min(text.find_first_not_of("0123456789"), text.size());
  const std::string number = text.substr(0, end);
  const std::string unit = text.substr(end);
  const long per = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (number.empty() || number.size() > 6 || per == 0 || std::stol(number) == 0) {
    throw Error(ErrorCode::InvalidInput,
                "duration '" + text +
                    "' is not a positive whole number of s, m or h (90s, 15m, 2h)");
  }
  return std::chrono::seconds(std::stol(number) * per);
}

int run_submit(const SubmitOptions& o, std::ostream& out, std::ostream& log) {
  if (!o.wait && (o.output || o.pcrs)) {
    throw Error(ErrorCode::InvalidInput, "--output and --pcrs need --wait");
  }
  const std::string request = request_json(o);
  const std::string token = token_of(o);
  std::optional<ServiceClient::Clock::time_point> deadline;
  if (o.timeout) {
    deadline = ServiceClient::Clock::now() + parse_duration(*o.timeout);
  }
  registry::HttpOptions http;
  if (o.server_ca) {
    http.extra_ca_files.push_back(o.server_ca->string());
  }
  http.stall_seconds = kStallSeconds;
  try {
    ServiceClient client(o.server, token.empty() ? std::nullopt : std::optional(token), http,
                         deadline);
    return static_cast<int>(Submission(o, client, out, log).run(request));
  } catch (const SubmitFailure& f) {
    log << "oci2eif: error: " << f.what() << "\n";
    return static_cast<int>(f.exit());
  }
}

} // namespace oci2eif::cli
