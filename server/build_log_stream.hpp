// BuildLogStream: a build's log as a std::ostream (what the pipeline and the runner write to),
// forwarded to a BuildLogStore a line at a time: each complete line, and whatever is pending at
// a flush, becomes one append, so a follower sees lines as they are written.
#pragma once

#include "server/build_log_store.hpp"

#include <ostream>
#include <streambuf>
#include <string>

namespace oci2eif::server {

// Not thread-safe (as any ostream): one build's thread writes. `logs` must outlive the stream.
// An append that fails (a full disk, an unreachable database) is reported with spdlog and
// retried with the next line: a log the store cannot take must not fail the build.
class BuildLogStream : public std::ostream {
public:
  BuildLogStream(BuildLogStore& logs, std::string build_id);
  ~BuildLogStream() override;
  BuildLogStream(const BuildLogStream&) = delete;
  BuildLogStream& operator=(const BuildLogStream&) = delete;

private:
  class Buffer : public std::streambuf {
  public:
    Buffer(BuildLogStore& logs, std::string build_id)
        : logs_(logs), build_id_(std::move(build_id)) {}
    void forward(); // appends what is pending

  protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

  private:
    BuildLogStore& logs_;
    std::string build_id_;
    std::string pending_;
    bool warned_ = false; // one warning per failure streak, not one per line
  };

  Buffer buffer_;
};

} // namespace oci2eif::server
