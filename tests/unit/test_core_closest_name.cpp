#include "core/closest_name.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

TEST_SUITE("core::closest_name") {
  const std::vector<std::string> kKnown{"OCI2EIF_WORKERS", "OCI2EIF_LISTEN", "workers",
                                        "max_queue"};

  TEST_CASE("a typo finds the name it was meant to be") {
    CHECK(closest_name("OCI2EIF_WORKER", kKnown) == "OCI2EIF_WORKERS");
    CHECK(closest_name("wrokers", kKnown) == "workers");
    CHECK(closest_name("MAX_QUEUE", kKnown) == "max_queue"); // case does not count
  }

  TEST_CASE("another word finds nothing") {
    CHECK_FALSE(closest_name("OCI2EIF_BANANA", kKnown));
    CHECK_FALSE(closest_name("x", {"listen"}));
    CHECK_FALSE(closest_name("anything", {}));
  }
}
