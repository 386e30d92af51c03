// ConnectionThreads: how the API runs its connections, in place of httplib's fixed pool.
//
// httplib serves a connection on one thread from first byte to close, blocking while the client
// is idle or slow. Its default pool has max(8, cores - 1) threads, so eight idle keep-alive or
// slowloris connections (no token needed) stalled every probe behind them. Here a connection
// gets a thread of its own as soon as it is accepted, up to `max_threads` at once (threads end
// with their connection; none idle); beyond that, connections wait in order for one to end.
// A thread costs its stack's touched pages, so a few thousand slow clients are affordable; what
// bounds a slow client's time is httplib's read timeout, re-armed by every byte it sends, which
// is why an untrusted network still wants a proxy with a total header deadline in front
// (README, "On an untrusted network").
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <httplib.h>
#include <mutex>

namespace oci2eif::api {

class ConnectionThreads final : public httplib::TaskQueue {
public:
  explicit ConnectionThreads(std::size_t max_threads);
  ~ConnectionThreads() override;
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  void enqueue(std::function<void()> connection) override;
  // Waits for every queued and running connection to end (httplib calls this once it stopped
  // accepting; each connection ends within its keep-alive or read timeout).
  void shutdown() override;

  std::size_t running() const;

private:
  void serve(std::function<void()> connection);

  const std::size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable all_ended_;
  std::deque<std::function<void()>> waiting_;
  std::size_t threads_ = 0;
};

} // namespace oci2eif::api
