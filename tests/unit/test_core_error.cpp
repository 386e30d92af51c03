// The one mapping from an exception to an Error (core/error.hpp) that the CLI, the API and the
// build runner share.
#include "core/error.hpp"

#include <cerrno>
#include <doctest/doctest.h>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>

using namespace oci2eif;

namespace {

template <typename Exception> Error mapped(const Exception& e) {
  return error_from_exception(std::make_exception_ptr(e));
}

} // namespace

TEST_SUITE("core::error_from_exception") {
  TEST_CASE("an Error keeps its code and message") {
    const Error e = mapped(Error(ErrorCode::DigestMismatch, "layer 2: sha256 differs"));
    CHECK(e.code() == ErrorCode::DigestMismatch);
    CHECK(std::string(e.what()) == "layer 2: sha256 differs");
  }

  TEST_CASE("a filesystem error for a full disk or quota is NoSpace and names the path") {
    SUBCASE("no space left on device") {
      const Error e = mapped(
          std::filesystem::filesystem_error("cannot create directory", "/data/kernels/k",
                                            std::make_error_code(std::errc::no_space_on_device)));
      CHECK(e.code() == ErrorCode::NoSpace);
      CHECK(std::string(e.what()).find("/data/kernels/k") != std::string::npos);
    }
    SUBCASE("disk quota exceeded") {
      const Error e = mapped(std::filesystem::filesystem_error(
          "cannot copy", "/data/a", std::error_code(EDQUOT, std::generic_category())));
      CHECK(e.code() == ErrorCode::NoSpace);
    }
  }

  TEST_CASE("any other filesystem error is Io and names the path") {
    const Error e = mapped(std::filesystem::filesystem_error(
        "cannot remove", "/data/logs/b1.log", std::make_error_code(std::errc::permission_denied)));
    CHECK(e.code() == ErrorCode::Io);
    CHECK(std::string(e.what()).find("/data/logs/b1.log") != std::string::npos);
    CHECK(std::string(e.what()).find("cannot remove") != std::string::npos);
  }

  TEST_CASE("running out of memory is Internal and says so") {
    const Error e = mapped(std::bad_alloc());
    CHECK(e.code() == ErrorCode::Internal);
    CHECK(std::string(e.what()) == "out of memory");
  }

  TEST_CASE("any other std::exception is Internal with its what()") {
    const Error e = mapped(std::out_of_range("vector::_M_range_check"));
    CHECK(e.code() == ErrorCode::Internal);
    CHECK(std::string(e.what()) == "vector::_M_range_check");
  }

  TEST_CASE("an exception of unknown type, or none, is Internal") {
    CHECK(error_from_exception(std::make_exception_ptr(42)).code() == ErrorCode::Internal);
    CHECK(error_from_exception(nullptr).code() == ErrorCode::Internal);
  }

  TEST_CASE("current_error maps the exception being handled") {
    try {
      throw std::runtime_error("boom");
    } catch (...) {
      const Error e = current_error();
      CHECK(e.code() == ErrorCode::Internal);
      CHECK(std::string(e.what()) == "boom");
    }
  }
}
