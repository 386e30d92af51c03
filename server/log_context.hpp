// Structured fields that the daemon's log lines carry while a thread works on something, e.g.
// {"build": "b-…"} while a worker runs a build, so that a JSON log (json_log.hpp) can be
// filtered by build without parsing messages. Fields belong to the thread that set them.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace oci2eif::server {

using LogFields = std::vector<std::pair<std::string, std::string>>;

// The calling thread's fields, oldest first.
const LogFields& current_log_fields();

// Adds `key: value` to the calling thread's fields for the object's lifetime (scopes nest; the
// innermost value of a key is the one reported).
class ScopedLogField {
public:
  ScopedLogField(std::string key, std::string value);
  ~ScopedLogField();
  ScopedLogField(const ScopedLogField&) = delete;
  ScopedLogField& operator=(const ScopedLogField&) = delete;
};

} // namespace oci2eif::server
