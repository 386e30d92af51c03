// How a local image location splits into a path and a reference, and which image of an
// archive the reference names, with the names podman and docker actually write
// (podman save: "localhost/pyapp:1" in RepoTags and ref.name; docker save 25+: ref.name "1" and
// io.containerd.image.name "docker.io/library/pyapp:1"; docker's RepoTags "pyapp:1").
#include "core/error.hpp"
#include "registry/archive_reference.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>

using namespace oci2eif;
using namespace oci2eif::registry;

TEST_SUITE("registry::archive_reference") {
  TEST_CASE("the path ends at the first ':' unless a longer existing path says otherwise") {
    test::TempDir dir;
    const std::string tar = (dir / "app.tar").string();
    std::ofstream(tar) << "x";
    CHECK(split_archive_location(tar).path == tar);
    CHECK(split_archive_location(tar).reference.empty());
    const auto full = split_archive_location(tar + ":localhost/pyapp:1");
    CHECK(full.path == tar);
    CHECK(full.reference == "localhost/pyapp:1");
    CHECK(split_archive_location(tar + ":1").reference == "1");
    // A path with a ':' in it: the prefix that exists wins over the first ':'.
    const std::string odd = (dir / "a:b.tar").string();
    std::ofstream(odd) << "x";
    CHECK(split_archive_location(odd + ":pyapp:1").path == odd);
    CHECK(split_archive_location(odd + ":pyapp:1").reference == "pyapp:1");
    CHECK(split_archive_location(odd).path == odd);
    // Nothing exists: skopeo's first-colon split, so the error names the file the user meant.
    const auto missing = split_archive_location("/nonexistent/app.tar:localhost/pyapp:1");
    CHECK(missing.path == "/nonexistent/app.tar");
    CHECK(missing.reference == "localhost/pyapp:1");
    CHECK(split_archive_location("/nonexistent/layout").reference.empty());
  }

  TEST_CASE("a reference names an image by its exact name, its normalised name or its tag") {
    const std::vector<NamedImage> podman{{"a", {"localhost/pyapp:1"}},
                                         {"b", {"localhost/other:2"}}};
    CHECK(images_named("localhost/pyapp:1", podman) == std::vector<std::size_t>{0});
    CHECK(images_named("1", podman) == std::vector<std::size_t>{0});
    CHECK(images_named("2", podman) == std::vector<std::size_t>{1});
    CHECK(images_named("pyapp:1", podman) == std::vector<std::size_t>{0}); // as podman finds it
    CHECK(images_named("other", podman).empty());                          // other:latest
    CHECK(images_named("other:2", podman) == std::vector<std::size_t>{1});
    CHECK(images_named("elsewhere.io/pyapp:1", podman).empty()); // a host is never dropped

    const std::vector<NamedImage> docker{{"a", {"1", "docker.io/library/pyapp:1"}},
                                         {"b", {"latest", "docker.io/library/pyapp:latest"}}};
    CHECK(images_named("1", docker) == std::vector<std::size_t>{0});
    CHECK(images_named("pyapp:1", docker) == std::vector<std::size_t>{0});
    CHECK(images_named("docker.io/library/pyapp:1", docker) == std::vector<std::size_t>{0});
    CHECK(images_named("pyapp", docker) == std::vector<std::size_t>{1}); // :latest
    CHECK(images_named("latest", docker) == std::vector<std::size_t>{1});

    const std::vector<NamedImage> familiar{{"a", {"pyapp:1"}}}; // docker save's RepoTags
    CHECK(images_named("docker.io/library/pyapp:1", familiar) == std::vector<std::size_t>{0});
    CHECK(images_named("1", familiar) == std::vector<std::size_t>{0});

    // Docker's normalised name wins over a short-name match under another host.
    const std::vector<NamedImage> both{{"a", {"docker.io/library/app:1"}},
                                       {"b", {"quay.io/app:1"}}};
    CHECK(images_named("app:1", both) == std::vector<std::size_t>{0});
    const std::vector<NamedImage> latest{{"a", {"localhost/pyapp:latest"}},
                                         {"b", {"x.io/b:pyapp"}}};
    CHECK(images_named("pyapp", latest) == std::vector<std::size_t>{0}); // a name before a tag
    const std::vector<NamedImage> hosts{{"a", {"localhost/team/app"}}, {"b", {"quay.io/team/app"}}};
    CHECK(images_named("team/app", hosts) == std::vector<std::size_t>{0, 1}); // image_named refuses
  }

  TEST_CASE("a tag two different images carry is refused, listing them - one image twice is not") {
    const std::vector<NamedImage> two{{"cfg-a", {"localhost/a:1"}}, {"cfg-b", {"localhost/b:1"}}};
    CHECK(test::error_of([&] { image_named("1", two, "docker-archive:m.tar:1"); }) ==
          "docker-archive:m.tar:1: '1' names 2 different images (localhost/a:1, "
          "localhost/b:1); give the full name");
    CHECK(image_named("localhost/b:1", two, "x") == 1);
    const std::vector<NamedImage> same{{"d", {"1"}}, {"d", {"v1"}}, {"e", {"2"}}};
    CHECK(image_named("1", same, "x") == 0);
  }

  TEST_CASE("a name no image has is NotFound, listing what the archive has") {
    const std::vector<NamedImage> images{{"a", {"localhost/a:1"}}, {"b", {}}};
    try {
      image_named("localhost/a:2", images, "oci-archive:x.tar:localhost/a:2");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::NotFound);
      CHECK(std::string(e.what()) ==
            "oci-archive:x.tar:localhost/a:2: no image named 'localhost/a:2'; the archive has: "
            "localhost/a:1, (untagged) b");
    }
  }
}
