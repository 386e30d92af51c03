// What the enclave's root holds beyond the image: init's mount points, and a missing WORKDIR
// created as Docker creates it (moby Container.SetupWorkingDirectory: 0755, root).
#include "core/enclave_tree.hpp"
#include "core/error.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

namespace {

FileNode node(FileType type, std::uint32_t mode, std::uint32_t uid = 0) {
  FileNode n;
  n.type = type;
  n.mode = mode;
  n.uid = uid;
  n.gid = uid;
  return n;
}

} // namespace

TEST_SUITE("core::enclave_tree") {
  TEST_CASE("the mount points the image lacks are added, the ones it has are kept as they are") {
    FileTree tree;
    tree.put("tmp", node(FileType::Directory, 01777));
    tree.put("var", node(FileType::Directory, 0700, 5));
    const auto changes = complete_enclave_tree(tree, "");
    CHECK(changes.added_mount_points == std::vector<std::string>{"dev", "proc", "run", "sys"});
    CHECK(tree.find("tmp")->mode == 01777);
    CHECK(tree.find("var")->uid == 5);
    const FileNode* dev = tree.find("dev");
    REQUIRE(dev != nullptr);
    CHECK(dev->type == FileType::Directory);
    CHECK(dev->mode == 0755);
    CHECK(dev->uid == 0);
    CHECK(changes.added_workdir.empty());
  }

  TEST_CASE("a missing WORKDIR is created with its missing parents, 0755 and root's") {
    FileTree tree;
    tree.put("srv", node(FileType::Directory, 0750, 1000));
    const auto changes = complete_enclave_tree(tree, "/srv/app//data/");
    CHECK(changes.added_workdir == std::vector<std::string>{"srv/app", "srv/app/data"});
    CHECK(tree.find("srv")->mode == 0750); // an existing parent keeps its owner and mode
    CHECK(tree.find("srv")->uid == 1000);
    for (const char* p : {"srv/app", "srv/app/data"}) {
      CAPTURE(p);
      REQUIRE(tree.find(p) != nullptr);
      CHECK(tree.find(p)->type == FileType::Directory);
      CHECK(tree.find(p)->mode == 0755);
      CHECK(tree.find(p)->uid == 0);
      CHECK(tree.find(p)->gid == 0);
    }
  }

  TEST_CASE("an existing WORKDIR, or the root, changes nothing") {
    FileTree tree;
    tree.put("app", node(FileType::Directory, 0700, 7));
    CHECK(complete_enclave_tree(tree, "/app").added_workdir.empty());
    CHECK(tree.find("app")->mode == 0700);
    CHECK(complete_enclave_tree(tree, "/").added_workdir.empty());
  }

  TEST_CASE("a symlink or a file on the WORKDIR's path is left for init to meet") {
    FileTree tree;
    FileNode link = node(FileType::Symlink, 0777);
    link.link_target = "/elsewhere";
    tree.put("app", link);
    const auto changes = complete_enclave_tree(tree, "/app/data");
    CHECK(changes.added_workdir.empty());
    CHECK(changes.workdir_blocked_by == "app");
    CHECK(tree.find("app/data") == nullptr);
  }

  TEST_CASE("a WORKDIR that climbs above the root is refused") {
    FileTree tree;
    CHECK_THROWS_AS(complete_enclave_tree(tree, "/../x"), Error);
  }
}
