#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace oci2eif;

TEST_SUITE("core::AtomicFileWriter") {
  TEST_CASE("the file appears only on commit, with mode 0644 whatever the umask") {
    test::TempDir dir;
    const auto target = dir / "out.eif";
    const mode_t old = ::umask(077);
    {
      AtomicFileWriter w(target);
      w.write(as_bytes("hello world"));
      w.write_at(0, as_bytes("J"));
      CHECK_FALSE(std::filesystem::exists(target));
      w.commit();
    }
    ::umask(old);
    CHECK(test::read_file(target) == Bytes{'J', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
  }

  TEST_CASE("an abandoned writer leaves nothing behind and keeps the old file") {
    test::TempDir dir;
    const auto target = dir / "out.eif";
    test::write_file(target, as_bytes("old"));
    {
      AtomicFileWriter w(target);
      w.write(as_bytes("partial"));
    }
    CHECK(test::read_file(target) == Bytes{'o', 'l', 'd'});
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
  }

  TEST_CASE("patching past the written end is refused") {
    test::TempDir dir;
    AtomicFileWriter w(dir / "x");
    w.write(as_bytes("ab"));
    CHECK_THROWS_AS(w.write_at(1, as_bytes("cd")), Error);
  }

  TEST_CASE("reading a missing file or a directory names it") {
    CHECK_THROWS_WITH_AS(FileSource("/nonexistent/k"),
                         "cannot open /nonexistent/k: No such file or directory", Error);
    test::TempDir dir;
    CHECK_THROWS_WITH_AS(FileSource(dir.path()),
                         (dir.path().string() + ": not a regular file").c_str(), Error);
  }
}
