// Remembers webhook deliveries so a registry's retry (or two registries announcing one push)
// queues one build: a key is claimed at most once per window. Stored in SQLite (its own table
// in the daemon's database), so the window survives a restart. Safe from several threads.
#pragma once

#include "server/job_store.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace oci2eif::server {

class WebhookDedupe {
public:
  WebhookDedupe(const std::string& path, Clock clock, std::chrono::seconds window);
  ~WebhookDedupe();
  WebhookDedupe(const WebhookDedupe&) = delete;
  WebhookDedupe& operator=(const WebhookDedupe&) = delete;

  // True if `key` was not seen within the window (and records it now); false for a duplicate.
  // Atomic: of two concurrent callers with one key, one gets true.
  bool claim(const std::string& key);
  // Forgets `key` (the build it was claimed for could not be queued).
  void release(const std::string& key);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace oci2eif::server
