// The init's launch-list reader: nitro-cli's lines, or NUL-terminated items that may hold line
// breaks (docs/init.md).
#include "init/util.h"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> read_back(const std::string& content) {
  oci2eif::test::TempDir dir;
  std::ofstream(dir / "list", std::ios::binary) << content;
  string_list list{};
  REQUIRE(read_list((dir / "list").c_str(), 1 << 20, &list) == 0);
  std::vector<std::string> out(list.items, list.items + list.count);
  CHECK(list.items[list.count] == nullptr); // execve-shaped
  free_lines(&list);
  return out;
}

} // namespace

TEST_SUITE("init::read_list") {
  TEST_CASE("lines, with or without the last LF, empty lines as empty items") {
    using V = std::vector<std::string>;
    CHECK(read_back("/bin/sh\n-c\n\necho a\n") == V{"/bin/sh", "-c", "", "echo a"});
    CHECK(read_back("a\nb") == V{"a", "b"});
    CHECK(read_back("").empty());
  }

  TEST_CASE("NUL-terminated items keep their line breaks") {
    using namespace std::string_literals;
    using V = std::vector<std::string>;
    CHECK(read_back("/bin/sh\0-c\0echo a\necho b\0"s) == V{"/bin/sh", "-c", "echo a\necho b"});
    CHECK(read_back("A=1\0B=x\r\ny\0"s) == V{"A=1", "B=x\r\ny"});
    CHECK(read_back("a\0\0b"s) == V{"a", "", "b"}); // an empty item; a last one without NUL
  }

  TEST_CASE("a missing file is ENOENT") {
    oci2eif::test::TempDir dir;
    string_list list{};
    CHECK(read_list((dir / "absent").c_str(), 1 << 20, &list) == -1);
    CHECK(errno == ENOENT);
  }
}
