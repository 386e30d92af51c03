#include "server/log_context.hpp"

namespace oci2eif::server {
namespace {

// Per thread, so a worker's build id never shows on another thread's lines.
thread_local LogFields t_fields;

} // namespace

const LogFields& current_log_fields() {
  return t_fields;
}

ScopedLogField::ScopedLogField(std::string key, std::string value) {
  t_fields.emplace_back(std::move(key), std::move(value));
}

ScopedLogField::~ScopedLogField() {
  t_fields.pop_back();
}

} // namespace oci2eif::server
