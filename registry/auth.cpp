#include "registry/auth.hpp"

#include "core/base64.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace oci2eif::registry {
namespace {

constexpr std::size_t kMaxTokenResponse = 1 << 20;
constexpr int kDefaultTokenSeconds = 60;

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void skip_space(const std::string& s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) {
    ++i;
  }
}

std::string read_token(const std::string& s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != ',' && s[i] != '=') {
    ++i;
  }
  return s.substr(start, i - start);
}

std::string lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// The space-separated entries of a scope list.
std::vector<std::string> split_scopes(const std::string& list) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < list.size()) {
    const std::size_t end = std::min(list.find(' ', i), list.size());
    if (end > i) {
      out.push_back(list.substr(i, end - i));
    }
    i = end + 1;
  }
  return out;
}

// Adds the comma-separated `actions` to `into` unless present.
void add_actions(std::vector<std::string>& into, const std::string& actions) {
  std::size_t i = 0;
  while (i <= actions.size()) {
    const std::size_t end = std::min(actions.find(',', i), actions.size());
    const std::string action = actions.substr(i, end - i);
    if (!action.empty() && std::find(into.begin(), into.end(), action) == into.end()) {
      into.push_back(action);
    }
    i = end + 1;
  }
}

} // namespace

std::string merge_scopes(const std::string& a, const std::string& b) {
  std::vector<std::pair<std::string, std::vector<std::string>>> resources; // "type:name" → actions
  for (const std::string& scope : split_scopes(a + " " + b)) {
    const std::size_t colon = scope.rfind(':');
    const std::string resource = colon == std::string::npos ? scope : scope.substr(0, colon);
    const std::string actions = colon == std::string::npos ? "" : scope.substr(colon + 1);
    auto it = std::find_if(resources.begin(), resources.end(),
                           [&](const auto& r) { return r.first == resource; });
    if (it == resources.end()) {
      it = resources.insert(resources.end(), {resource, {}});
    }
    add_actions(it->second, actions);
  }
  std::string out;
  for (const auto& [resource, actions] : resources) {
    std::string joined;
    for (const std::string& action : actions) {
      joined += (joined.empty() ? "" : ",") + action;
    }
    out += (out.empty() ? "" : " ") + resource + (joined.empty() ? "" : ":" + joined);
  }
  return out;
}

std::vector<Challenge> parse_www_authenticate(const std::string& value) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  while (true) {
    skip_space(value, i);
    if (i >= value.size()) {
      break;
    }
    const std::size_t mark = i;
    std::string word = read_token(value, i);
    if (i < value.size() && value[i] == '=' && !out.empty()) {
      // key=value belonging to the current challenge
      ++i;
      std::string v;
      if (i < value.size() && value[i] == '"') {
        for (++i; i < value.size() && value[i] != '"'; ++i) {
          if (value[i] == '\\' && i + 1 < value.size()) {
            ++i;
          }
          v += value[i];
        }
        ++i; // the closing quote
      } else {
        v = read_token(value, i);
      }
      out.back().params[lower(word)] = v;
      continue;
    }
    if (word.empty()) {
      i = mark + 1; // stray character
      continue;
    }
    out.push_back({lower(word), {}});
  }
  return out;
}

Authenticator::Authenticator(HttpClient& http, std::string registry,
                             std::optional<Credentials> credentials, Interrupt interrupt,
                             long token_timeout_ms)
    : http_(http), registry_(std::move(registry)), credentials_(std::move(credentials)),
      interrupt_(std::move(interrupt)), token_timeout_ms_(token_timeout_ms) {
}

std::optional<std::string> Authenticator::authorization(const std::string& scope) {
  if (const auto t = tokens_.find(scope); t != tokens_.end()) {
    if (std::chrono::steady_clock::now() < t->second.expires) {
      return "Bearer " + t->second.value;
    }
    tokens_.erase(t);
  }
  return basic_;
}

bool Authenticator::on_unauthorized(const HttpResponse& response, const std::string& scope) {
  const std::vector<Challenge> challenges =
      parse_www_authenticate(response.header("www-authenticate"));
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer" && c.params.count("realm") != 0) {
      const std::string want =
          c.params.count("scope") != 0 ? merge_scopes(c.params.at("scope"), scope) : scope;
      tokens_[scope] = fetch_token(c, want);
      return true;
    }
  }
  for (const Challenge& c : challenges) {
    if (c.scheme == "basic") {
      if (basic_ || !credentials_ || credentials_->username.empty()) {
        return false; // already refused, or nothing to send
      }
      basic_ = "Basic " + base64_encode(credentials_->username + ":" + credentials_->password);
      return true;
    }
  }
  return false;
}

Authenticator::Token Authenticator::fetch_token(const Challenge& challenge,
                                                const std::string& scope) {
  const std::string realm = challenge.params.at("realm");
  const std::string service =
      challenge.params.count("service") != 0 ? challenge.params.at("service") : "";
  const HttpRequest req = token_request(realm, service, scope);
  std::string body;
  const HttpResponse r = http_.send(req, [&](ByteView chunk) {
    if (body.size() + chunk.size() > kMaxTokenResponse) {
      throw Error(ErrorCode::Corrupt, "token server " + url_origin(realm) + " for " + registry_ +
                                          ": answer larger than 1 MiB");
    }
    body.append(chunk.begin(), chunk.end());
  });
  const std::string who =
      "token server " + url_origin(realm) + " for " + registry_ + " (scope " + scope + ")";
  if (r.status == 401 || r.status == 403) {
    throw Error(ErrorCode::Unauthorized, who + ": HTTP " + std::to_string(r.status) +
                                             (credentials_ ? ", the credentials were refused"
                                                           : ", anonymous access refused; "
                                                             "log in (docker config.json)"));
  }
  if (r.status != 200) {
    throw Error(r.status == 429 ? ErrorCode::RateLimited : ErrorCode::Io,
                who + ": HTTP " + std::to_string(r.status));
  }
  return parse_token_answer(body, who);
}

HttpRequest Authenticator::token_request(const std::string& realm, const std::string& service,
                                         const std::string& scope) const {
  HttpRequest req;
  req.timeout_ms = token_timeout_ms_;
  req.interrupt = interrupt_;
  if (credentials_ && !credentials_->identity_token.empty()) {
    req.method = "POST";
    req.url = realm;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=oci2eif&service=" + url_escape(service) +
               "&scope=" + url_escape(scope) +
               "&refresh_token=" + url_escape(credentials_->identity_token);
  } else {
    // One scope parameter per resource, as docker sends them (token servers do not split).
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
              "service=" + url_escape(service);
    for (const std::string& one : split_scopes(scope)) {
      req.url += "&scope=" + url_escape(one);
    }
    if (credentials_ && !credentials_->username.empty()) {
      req.headers.emplace_back(
          "Authorization",
          "Basic " + base64_encode(credentials_->username + ":" + credentials_->password));
    }
  }
  return req;
}

Authenticator::Token Authenticator::parse_token_answer(const std::string& body,
                                                       const std::string& who) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  std::string token;
  if (j.is_object()) {
    token = j.value("token", "");
    if (token.empty()) {
      token = j.value("access_token", "");
    }
  }
  if (token.empty()) {
    throw Error(ErrorCode::Corrupt, who + ": the answer holds no token");
  }
  int seconds = kDefaultTokenSeconds;
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) {
    seconds = std::max(j["expires_in"].get<int>(), 1);
  }
  // Renew a little early so a token does not expire in flight.
  return {token, std::chrono::steady_clock::now() + std::chrono::seconds(seconds) * 9 / 10};
}

} // namespace oci2eif::registry
