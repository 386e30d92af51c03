#include "server/aws_credentials.hpp"

#include "core/error.hpp"

#include <fstream>
#include <optional>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not in a header

namespace oci2eif::server {
namespace {

std::string value_of(const std::map<std::string, std::string>& env, const std::string& name) {
  const auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// The keys of section `profile` in the INI file, or nullopt when the section is absent.
std::optional<std::map<std::string, std::string>> read_profile(const std::string& path,
                                                               const std::string& profile) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      inside = trim(line.substr(1, line.size() - 2)) == profile;
      if (inside && !found) {
        found.emplace();
      }
      continue;
    }
    const auto eq = line.find('=');
    if (inside && eq != std::string::npos) {
      (*found)[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
  }
  if (in.bad()) {
    throw Error(ErrorCode::Io, "cannot read AWS credentials file " + path);
  }
  return found;
}

AwsCredentials from_file(const std::map<std::string, std::string>& env) {
  std::string path = value_of(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty()) {
    const std::string home = value_of(env, "HOME");
    if (home.empty()) {
      throw Error(ErrorCode::Unauthorized,
                  "no AWS credentials: AWS_ACCESS_KEY_ID is not set, and neither "
                  "AWS_SHARED_CREDENTIALS_FILE nor HOME to find a credentials file");
    }
    path = home + "/.aws/credentials";
  }
  std::string profile = value_of(env, "AWS_PROFILE");
  if (profile.empty()) {
    profile = "default";
  }
  const auto keys = read_profile(path, profile);
  const std::string where = "AWS credentials file " + path + ", profile '" + profile + "'";
  if (!keys) {
    throw Error(ErrorCode::Unauthorized, "no AWS credentials: AWS_ACCESS_KEY_ID is not set and " +
                                             where + " does not exist");
  }
  AwsCredentials c{value_of(*keys, "aws_access_key_id"), value_of(*keys, "aws_secret_access_key"),
                   value_of(*keys, "aws_session_token")};
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    throw Error(ErrorCode::Unauthorized,
                where + ": needs both aws_access_key_id and aws_secret_access_key");
  }
  return c;
}

} // namespace

AwsCredentials load_aws_credentials(const std::map<std::string, std::string>& env) {
  const std::string id = value_of(env, "AWS_ACCESS_KEY_ID");
  const std::string secret = value_of(env, "AWS_SECRET_ACCESS_KEY");
  if (id.empty() && secret.empty()) {
    return from_file(env);
  }
  if (id.empty() || secret.empty()) {
    throw Error(ErrorCode::InvalidInput,
                std::string(id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                    " is set without " +
                    (id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"));
  }
  return {id, secret, value_of(env, "AWS_SESSION_TOKEN")};
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) {
      env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  return env;
}

} // namespace oci2eif::server
