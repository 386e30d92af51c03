// AWS credentials for the object store, found the way the AWS CLI and SDKs find them: the
// environment first (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN), else
// the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials), in
// the profile AWS_PROFILE names ("default" when unset).
//
// The file is INI: `[profile]` headers, `key = value` lines, `#` and `;` comments:
//
//   [default]
//   aws_access_key_id = AKIA...
//   aws_secret_access_key = ...
//   aws_session_token = ...        (optional)
//
// Secrets never appear in an error message or a log line: errors name the variable, file and
// profile only.
#pragma once

#include <map>
#include <string>

namespace oci2eif::server {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // empty: long-term credentials
};

// The credentials `env` (the process environment, as a map for testability) leads to. Throws
// Unauthorized naming where it looked when none are found or a profile lacks a key, InvalidInput
// when only one of the two environment variables is set, Io when the file cannot be read.
AwsCredentials load_aws_credentials(const std::map<std::string, std::string>& env);

// The process environment as a map, for load_aws_credentials().
std::map<std::string, std::string> process_environment();

} // namespace oci2eif::server
