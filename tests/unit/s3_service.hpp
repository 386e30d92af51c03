// The S3 server the `<s3>` test cases run against: the Swift + s3api that tests/services/s3.py
// started, described by $OCI2EIF_TEST_SERVICES/s3.json. CTest starts and stops it around those
// cases (fixture `s3`, tests/CMakeLists.txt); to run them by hand, start it yourself:
//
//   python3 tests/services/s3.py start /tmp/svc
//   OCI2EIF_TEST_SERVICES=/tmp/svc build/tests/oci2eif_tests -tc='*<s3>*'
//   python3 tests/services/s3.py stop /tmp/svc
//
// A test case that names "s3" in its template list (S3Service) carries "<s3>" in its name, which
// is how CTest tells the cases that need the server from the rest.
#pragma once

#include "server/s3_client.hpp"

#include <memory>
#include <string>

namespace oci2eif::test {

struct S3Service {
  std::string endpoint;
  std::string region;
  std::string access_key;
  std::string secret_key;
  std::string bucket;
};

// The running server's description. Throws naming OCI2EIF_TEST_SERVICES when it is unset or
// its s3.json cannot be read (the case fails: it is never silently skipped).
const S3Service& s3_service();

// A prefix no other test case uses: "test-<random hex>/".
std::string fresh_s3_prefix();

// A client of the service's bucket under `prefix`, signing with `secret` (the real one when
// empty).
std::shared_ptr<server::S3Client> s3_client(const std::string& prefix,
                                            const std::string& secret = "");

} // namespace oci2eif::test
