#include "registry/credentials.hpp"

#include "core/base64.hpp"
#include "core/error.hpp"

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace oci2eif::registry {
namespace {

constexpr std::size_t kMaxHelperOutput = 1 << 20;

// Writes to a pipe whose reader may already have exited, without letting SIGPIPE kill the
// process: SIGPIPE is blocked for this thread, and one raised by the write is consumed.
void write_to_pipe(int fd, const std::string& data) {
  sigset_t pipe_signal, old;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
  const ssize_t written = ::write(fd, data.data(), data.size());
  if (written < 0 && errno == EPIPE) {
    const timespec no_wait{0, 0};
    ::sigtimedwait(&pipe_signal, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Runs `docker-credential-<helper> get` with the server on stdin; returns its stdout.
// posix_spawnp rather than fork: the daemon is multi-threaded.
std::string run_helper(const std::string& helper, const std::string& server) {
  if (helper.find('/') != std::string::npos || helper.empty()) {
    throw Error(ErrorCode::InvalidInput, "credential helper name '" + helper + "' is invalid");
  }
  const std::string program = "docker-credential-" + helper;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    throw_errno("pipe for " + program);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  // A helper's stderr may echo secrets.
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  char* const argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>("get"), nullptr};
  pid_t pid = -1;
  const int spawn_error = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (spawn_error != 0) {
    ::close(in[1]);
    ::close(out[0]);
    throw Error(ErrorCode::Unauthorized,
                program + " get for " + server + " failed (" +
                    (spawn_error == ENOENT ? std::string("not found on PATH")
                                           : std::string(std::strerror(spawn_error))) +
                    ")");
  }
  write_to_pipe(in[1], server + "\n");
  ::close(in[1]);
  std::string output;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = ::read(out[0], buf.data(), buf.size())) > 0;) {
    if (output.size() < kMaxHelperOutput) {
      output.append(buf.data(), static_cast<std::size_t>(n));
    }
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    throw Error(ErrorCode::Unauthorized, program + " get for " + server + " failed (exit status " +
                                             std::to_string(code) + ")");
  }
  return output;
}

Credentials from_helper(const std::string& helper, const std::string& server) {
  const nlohmann::json j = nlohmann::json::parse(run_helper(helper, server), nullptr, false);
  if (!j.is_object() || !j.contains("Secret") || !j["Secret"].is_string()) {
    throw Error(ErrorCode::Unauthorized,
                "docker-credential-" + helper + " get for " + server + " printed no Secret");
  }
  Credentials c;
  const std::string user = j.value("Username", "");
  if (user == "<token>") {
    c.identity_token = j["Secret"].get<std::string>();
  } else {
    c.username = user;
    c.password = j["Secret"].get<std::string>();
  }
  return c;
}

} // namespace

std::filesystem::path default_docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::filesystem::path(dir) / "config.json";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "/") / ".docker" / "config.json";
}

std::vector<std::string> docker_config_keys(const std::string& domain) {
  if (domain == "docker.io") {
    return {"https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io",
            "https://registry-1.docker.io"};
  }
  return {domain, "https://" + domain, "http://" + domain, "https://" + domain + "/v1/",
          "https://" + domain + "/v2/"};
}

std::optional<Credentials> load_docker_credentials(const std::filesystem::path& path,
                                                   const std::string& domain) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::nullopt;
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json config = nlohmann::json::parse(text.str(), nullptr, false);
  if (!in || !config.is_object()) {
    throw Error(ErrorCode::InvalidInput, path.string() + " is not a valid docker config file");
  }
  const std::vector<std::string> keys = docker_config_keys(domain);
  const std::string server = domain == "docker.io" ? keys.front() : domain;
  if (const auto helpers = config.find("credHelpers");
      helpers != config.end() && helpers->is_object()) {
    for (const std::string& key : keys) {
      if (const auto h = helpers->find(key); h != helpers->end() && h->is_string()) {
        return from_helper(h->get<std::string>(), server);
      }
    }
  }
  if (const auto auths = config.find("auths"); auths != config.end() && auths->is_object()) {
    for (const std::string& key : keys) {
      const auto entry = auths->find(key);
      if (entry == auths->end() || !entry->is_object()) {
        continue;
      }
      Credentials c;
      c.identity_token = entry->value("identitytoken", "");
      const std::string auth = entry->value("auth", "");
      if (!auth.empty()) {
        const std::string what = path.string() + ": auths[\"" + key + "\"].auth";
        const std::string pair = base64_decode(auth, what);
        const std::size_t colon = pair.find(':');
        if (colon == std::string::npos) {
          throw Error(ErrorCode::InvalidInput, what + " is not base64 of user:password");
        }
        c.username = pair.substr(0, colon);
        c.password = pair.substr(colon + 1);
      }
      if (!c.identity_token.empty() || !c.username.empty()) {
        return c;
      }
    }
  }
  if (const auto store = config.find("credsStore"); store != config.end() && store->is_string()) {
    return from_helper(store->get<std::string>(), server);
  }
  return std::nullopt;
}

} // namespace oci2eif::registry
