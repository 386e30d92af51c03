// The API's form of the one exception mapping: problem_for(current_error()).
#include "api/problem.hpp"
#include "core/error.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

using namespace oci2eif;

namespace {

template <typename Exception> api::Problem problem_of(const Exception& e) {
  try {
    throw e;
  } catch (...) {
    return api::problem_for(current_error());
  }
}

} // namespace

TEST_SUITE("api::problem_for") {
  TEST_CASE("an unexpected std::exception is 500 internal with its message, as the CLI's 70") {
    const api::Problem p = problem_of(std::logic_error("map::at"));
    CHECK(p.status == 500);
    CHECK(p.code == "internal");
    CHECK(p.detail == "map::at");
  }

  TEST_CASE("an Error keeps its code: not_found is 404, invalid_input 400, disk_full 503") {
    CHECK(problem_of(Error(ErrorCode::NotFound, "no build")).status == 404);
    CHECK(problem_of(Error(ErrorCode::InvalidInput, "field 'x'")).status == 400);
    CHECK(problem_of(Error(ErrorCode::NoSpace, "full")).code == "disk_full");
  }

  TEST_CASE("a dependency that cannot be reached is 503 unavailable") {
    const api::Problem p =
        problem_of(Error(ErrorCode::Unavailable, "PostgreSQL at 127.0.0.1:5432"));
    CHECK(p.status == 503);
    CHECK(p.code == "unavailable");
  }

  TEST_CASE("a full disk reported by std::filesystem is 503 disk_full naming the path") {
    const api::Problem p = problem_of(std::filesystem::filesystem_error(
        "cannot copy", "/data/artifacts/b1", std::make_error_code(std::errc::no_space_on_device)));
    CHECK(p.status == 503);
    CHECK(p.code == "disk_full");
    CHECK(p.detail.find("/data/artifacts/b1") != std::string::npos);
  }

  TEST_CASE("the JSON body carries status, code, title and detail") {
    const auto j = nlohmann::json::parse(api::problem_json({404, "not_found", "no build 'x'"}));
    CHECK(j["status"] == 404);
    CHECK(j["code"] == "not_found");
    CHECK(j["title"] == "Not Found");
    CHECK(j["detail"] == "no build 'x'");
    CHECK(j["type"] == "about:blank");
  }
}
