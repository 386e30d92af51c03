// app_config_for: the program the enclave's init runs, by Docker's rules for ENTRYPOINT, CMD and
// environment (docs.docker.com, "Understand how CMD and ENTRYPOINT interact" and
// `docker run --entrypoint`: "Passing --entrypoint clears out any default command set on the
// image"; `docker run -e` replaces a variable the image sets).
#include "pipeline/build_pipeline.hpp"

#include <algorithm>
#include <doctest/doctest.h>

using namespace oci2eif;
using pipeline::app_config_for;
using Args = std::vector<std::string>;

namespace {

registry::ImageConfig image(Args entrypoint, Args cmd, Args env = {}) {
  registry::ImageConfig c;
  c.entrypoint = std::move(entrypoint);
  c.cmd = std::move(cmd);
  c.env = std::move(env);
  c.working_dir = "/srv";
  c.user = "1000:1000";
  return c;
}

bool has(const Args& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

} // namespace

TEST_SUITE("pipeline::app_config_for") {
  TEST_CASE("without overrides the image's ENTRYPOINT runs with its CMD as arguments") {
    CHECK(app_config_for(image({"/bin/app"}, {"--serve"}), {}, {}, {}).argv ==
          Args{"/bin/app", "--serve"});
    CHECK(app_config_for(image({}, {"/bin/sh", "-c", "run"}), {}, {}, {}).argv ==
          Args{"/bin/sh", "-c", "run"});
  }

  TEST_CASE("a cmd override replaces the image's CMD and keeps its ENTRYPOINT") {
    CHECK(app_config_for(image({"/bin/app"}, {"--serve"}), {}, Args{"--check"}, {}).argv ==
          Args{"/bin/app", "--check"});
  }

  TEST_CASE("an entrypoint override drops the image's CMD") {
    CHECK(app_config_for(image({"/bin/app"}, {"--serve"}), Args{"/bin/other"}, {}, {}).argv ==
          Args{"/bin/other"});
  }

  TEST_CASE("entrypoint and cmd overrides together replace both") {
    CHECK(
        app_config_for(image({"/bin/app"}, {"--serve"}), Args{"/bin/other"}, Args{"-v"}, {}).argv ==
        Args{"/bin/other", "-v"});
  }

  TEST_CASE("an empty cmd override runs the entrypoint without arguments") {
    CHECK(app_config_for(image({"/bin/app"}, {"--serve"}), {}, Args{}, {}).argv ==
          Args{"/bin/app"});
  }

  TEST_CASE("env overrides replace the image's variable of the same key and add new ones") {
    const auto app = app_config_for(image({"/bin/app"}, {}, {"PATH=/usr/bin", "A=1", "AB=2"}), {},
                                    {}, {"A=override", "NEW=3"});
    CHECK(app.env.size() == 4);
    CHECK(has(app.env, "PATH=/usr/bin"));
    CHECK(has(app.env, "A=override"));
    CHECK_FALSE(has(app.env, "A=1"));
    CHECK(has(app.env, "AB=2")); // a key that merely starts with "A" is another variable
    CHECK(has(app.env, "NEW=3"));
  }

  TEST_CASE("the working directory and user come from the image") {
    const auto app = app_config_for(image({"/bin/app"}, {}), Args{"/x"}, {}, {});
    CHECK(app.workdir == "/srv");
    CHECK(app.user == "1000:1000");
  }
}
