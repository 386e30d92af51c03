#include "core/error.hpp"
#include "server/config.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <functional>
#include <set>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::filesystem::path kernel_dir(const test::TempDir& dir, const std::string& name) {
  const auto d = dir / name;
  std::filesystem::create_directories(d);
  write_text(d / "bzImage", "kernel");
  return d;
}

std::string error_loading(const ServeFlags& flags, const Environment& env = {}) {
  return test::error_of([&] { load_serve_config(flags, env); });
}

} // namespace

TEST_SUITE("server::config") {
  TEST_CASE("defaults: loopback 127.0.0.1:8080, at least one worker, no tokens") {
    // (No nitro-cli blobs either, whatever this machine has installed.)
    const ServeConfig c = load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", "/nonexistent"}});
    CHECK(c.listen_host == "127.0.0.1");
    CHECK(c.listen_port == 8080);
    CHECK(c.workers >= 1);
    CHECK(c.tokens.empty());
    CHECK(c.kernels.empty());
  }

  TEST_CASE("flags override the environment, which overrides the file") {
    test::TempDir dir;
    const auto k1 = kernel_dir(dir, "k1"), k2 = kernel_dir(dir, "k2");
    write_text(dir / "c.json", R"({"listen": "127.0.0.1:9000", "workers": 3, "data_dir": "/f",
      "kernels": [{"name": "file", "dir": ")" +
                                   k1.string() + R"("}], "max_queue": 5})");
    ServeFlags flags;
    flags.config = dir / "c.json";
    Environment env{{"OCI2EIF_WORKERS", "4"}, {"OCI2EIF_DATA_DIR", "/env"}};
    ServeConfig c = load_serve_config(flags, env);
    CHECK(c.listen_port == 9000);
    CHECK(c.workers == 4);
    CHECK(c.data_dir == "/env");
    CHECK(c.max_queue == 5);
    REQUIRE(c.kernels.size() == 1);
    CHECK(c.kernels[0].name == "file");

    flags.workers = 2;
    flags.data_dir = "/flag";
    flags.listen = "localhost:7000";
    flags.kernel_dirs = {"b=" + k2.string(), "a=" + k1.string()};
    c = load_serve_config(flags, env);
    CHECK(c.workers == 2);
    CHECK(c.data_dir == "/flag");
    CHECK(c.listen_host == "localhost");
    CHECK(c.listen_port == 7000);
    REQUIRE(c.kernels.size() == 2);
    CHECK(c.kernels[0].name == "b"); // the first is the default
  }

  TEST_CASE("a nitro-cli blobs directory is offered as nitro-cli, after the configured kernels") {
    test::TempDir dir;
    const auto blobs = kernel_dir(dir, "blobs"), k1 = kernel_dir(dir, "k1");
    ServeConfig c = load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", blobs.string()}});
    REQUIRE(c.kernels.size() == 1);
    CHECK(c.kernels[0].name == "nitro-cli"); // the only one, so the default
    CHECK(c.kernels[0].dir == blobs);
    ServeFlags flags;
    flags.kernel_dirs = {"mine=" + k1.string()};
    c = load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", blobs.string()}});
    REQUIRE(c.kernels.size() == 2);
    CHECK(c.kernels[0].name == "mine");
    CHECK(c.kernels[1].name == "nitro-cli");
    flags.kernel_dirs = {"nitro-cli=" + k1.string()}; // a configured one of that name wins
    c = load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", blobs.string()}});
    REQUIRE(c.kernels.size() == 1);
    CHECK(c.kernels[0].dir == k1);
    c = load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", (dir / "none").string()}});
    CHECK(c.kernels.empty());
  }

  TEST_CASE("shutdown grace: default 30 s; file, environment and flag; bounded") {
    test::TempDir dir;
    CHECK(load_serve_config({}, {}).shutdown_grace == std::chrono::seconds(30));
    write_text(dir / "c.json", R"({"shutdown_grace_seconds": 5})");
    ServeFlags flags;
    flags.config = dir / "c.json";
    CHECK(load_serve_config(flags, {}).shutdown_grace == std::chrono::seconds(5));
    CHECK(load_serve_config(flags, {{"OCI2EIF_SHUTDOWN_GRACE_SECONDS", "7"}}).shutdown_grace ==
          std::chrono::seconds(7));
    flags.shutdown_grace_seconds = 0;
    CHECK(load_serve_config(flags, {{"OCI2EIF_SHUTDOWN_GRACE_SECONDS", "7"}}).shutdown_grace ==
          std::chrono::seconds(0));
    flags.shutdown_grace_seconds = 4000;
    CHECK(error_loading(flags).find("--shutdown-grace") != std::string::npos);
  }

  TEST_CASE("min_free_mb: default 100 MiB; file, then environment; 0 turns the floor off") {
    test::TempDir dir;
    CHECK(load_serve_config({}, {}).min_free_bytes == std::uint64_t{100} << 20);
    write_text(dir / "c.json", R"({"min_free_mb": 2048})");
    ServeFlags flags;
    flags.config = dir / "c.json";
    CHECK(load_serve_config(flags, {}).min_free_bytes == std::uint64_t{2048} << 20);
    CHECK(load_serve_config(flags, {{"OCI2EIF_MIN_FREE_MB", "0"}}).min_free_bytes == 0);
    write_text(dir / "c.json", R"({"min_free_mb": -1})");
    CHECK(error_loading(flags).find("c.json: min_free_mb") != std::string::npos);
  }

  TEST_CASE("an invalid setting names its source, key and reason") {
    test::TempDir dir;
    SUBCASE("unknown key in the file") {
      write_text(dir / "c.json", R"({"listen": "127.0.0.1:1", "wrokers": 2})");
      ServeFlags f;
      f.config = dir / "c.json";
      const std::string e = error_loading(f);
      CHECK(e.find("c.json: wrokers: unknown key; did you mean workers? (known: listen, ") !=
            std::string::npos);
    }
    SUBCASE("a string where a number belongs") {
      write_text(dir / "c.json", R"({"workers": "two"})");
      ServeFlags f;
      f.config = dir / "c.json";
      CHECK(error_loading(f).find(
                "c.json: workers: expected a whole number from 1 to 256, found \"two\"") !=
            std::string::npos);
    }
    SUBCASE("malformed JSON") {
      write_text(dir / "c.json", "{");
      ServeFlags f;
      f.config = dir / "c.json";
      CHECK(error_loading(f).find("not valid JSON") != std::string::npos);
    }
    SUBCASE("a port out of range") {
      ServeFlags f;
      f.listen = "127.0.0.1:70000";
      CHECK(error_loading(f) == "configuration: --listen port: '70000' is not a whole number "
                                "from 1 to 65535");
    }
    SUBCASE("no port") {
      ServeFlags f;
      f.listen = "127.0.0.1";
      CHECK(error_loading(f).find("--listen: '127.0.0.1' is not HOST:PORT") != std::string::npos);
    }
    SUBCASE("zero workers from the environment") {
      CHECK(error_loading({}, {{"OCI2EIF_WORKERS", "0"}}).find("OCI2EIF_WORKERS: '0'") !=
            std::string::npos);
    }
    SUBCASE("a kernel without NAME=") {
      ServeFlags f;
      f.kernel_dirs = {"/boot"};
      CHECK(error_loading(f).find("--kernel-dir: '/boot' is not NAME=DIR") != std::string::npos);
    }
    SUBCASE("a kernel directory without a kernel") {
      ServeFlags f;
      f.kernel_dirs = {"empty=" + dir.path().string()};
      CHECK(error_loading(f).find("kernel 'empty': " + dir.path().string() +
                                  " has neither bzImage") != std::string::npos);
    }
    SUBCASE("the same kernel name twice") {
      const auto k = kernel_dir(dir, "k");
      ServeFlags f;
      f.kernel_dirs = {"a=" + k.string(), "a=" + k.string()};
      CHECK(error_loading(f).find("kernel name 'a' is given twice") != std::string::npos);
    }
  }

  TEST_CASE("registry settings: file, then environment, then flags; each list replaced") {
    test::TempDir dir;
    write_text(dir / "ca.pem", "-----BEGIN CERTIFICATE-----\n");
    write_text(dir / "c.json", R"({"registry": {"insecure": ["reg.internal:5000"],
      "mirrors": {"docker.io": ["https://m1.example", "https://m2.example/"]},
      "parallel_downloads": 5, "cache_max_bytes": 2097152, "ca_file": ")" +
                                   (dir / "ca.pem").string() + R"("}})");
    ServeFlags flags;
    flags.config = dir / "c.json";
    ServeConfig c = load_serve_config(flags, {});
    CHECK(c.registry.insecure_registries == std::vector<std::string>{"reg.internal:5000"});
    REQUIRE(c.registry.mirrors.size() == 2);
    CHECK(c.registry.mirrors[0].domain == "docker.io");
    CHECK(c.registry.mirrors[1].url == "https://m2.example"); // trailing slash dropped
    CHECK(c.registry.parallel_downloads == 5);
    CHECK(c.registry.cache_max_bytes == 2097152);
    CHECK(c.registry.extra_ca_file == (dir / "ca.pem").string());

    const Environment env{{"OCI2EIF_INSECURE_REGISTRIES", "a.example:1,b.example"},
                          {"OCI2EIF_REGISTRY_MIRRORS", "quay.io=https://q.example"},
                          {"OCI2EIF_PARALLEL_DOWNLOADS", "2"}};
    c = load_serve_config(flags, env);
    CHECK(c.registry.insecure_registries == std::vector<std::string>{"a.example:1", "b.example"});
    REQUIRE(c.registry.mirrors.size() == 1);
    CHECK(c.registry.mirrors[0].domain == "quay.io");
    CHECK(c.registry.parallel_downloads == 2);

    flags.insecure_registries = {"c.example:5000"};
    flags.registry_mirrors = {"docker.io=http://127.0.0.1:5001"};
    flags.parallel_downloads = 1;
    c = load_serve_config(flags, env);
    CHECK(c.registry.insecure_registries == std::vector<std::string>{"c.example:5000"});
    REQUIRE(c.registry.mirrors.size() == 1);
    CHECK(c.registry.mirrors[0].url == "http://127.0.0.1:5001");
    CHECK(c.registry.parallel_downloads == 1);
  }

  TEST_CASE("registry settings: bad values name where they came from") {
    test::TempDir dir;
    ServeFlags f;
    f.insecure_registries = {"http://reg.example"};
    CHECK(error_loading(f).find("--insecure-registry: 'http://reg.example' is not HOST[:PORT]") !=
          std::string::npos);
    f = {};
    f.registry_mirrors = {"docker.io=ftp://m.example"};
    CHECK(error_loading(f).find("--registry-mirror") != std::string::npos);
    CHECK(error_loading(f).find("http:// or https:// URL") != std::string::npos);
    f = {};
    f.parallel_downloads = 0;
    CHECK(error_loading(f).find("--parallel-downloads") != std::string::npos);
    f = {};
    f.registry_ca = dir / "missing.pem";
    CHECK(error_loading(f).find("registry.ca_file: '" + (dir / "missing.pem").string() +
                                "' is not a readable file") != std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_PARALLEL_DOWNLOADS", "17"}})
              .find("OCI2EIF_PARALLEL_DOWNLOADS: '17' is not a whole number from 1 to 16") !=
          std::string::npos);
    write_text(dir / "c.json", R"({"registry": {"mirors": {}}})");
    f = {};
    f.config = dir / "c.json";
    CHECK(error_loading(f).find("registry.mirors: unknown key") != std::string::npos);
    write_text(dir / "c.json", R"({"registry": {"mirrors": ["https://m.example"]}})");
    CHECK(error_loading(f).find("registry.mirrors: expected an object") != std::string::npos);
  }

  TEST_CASE("signing keys: named, each with certificate and private key; bad entries refused") {
    test::TempDir dir;
    ServeFlags f;
    f.config = dir / "c.json";
    write_text(dir / "c.json", R"({"signing_keys": [
      {"name": "prod", "certificate": "/etc/c.pem", "private_key": "/etc/k.pem"}]})");
    const ServeConfig c = load_serve_config(f, {});
    REQUIRE(c.signing_keys.size() == 1);
    CHECK(c.signing_keys[0].name == "prod");
    CHECK(c.signing_keys[0].certificate == "/etc/c.pem");
    CHECK(c.signing_keys[0].private_key == "/etc/k.pem");

    write_text(dir / "c.json", R"({"signing_keys": [{"name": "prod", "certificate": "/c"}]})");
    CHECK(error_loading(f).find("signing_keys[0]: expected {\"name\": …, \"certificate\": …, "
                                "\"private_key\": …}") != std::string::npos);
    write_text(dir / "c.json", R"({"signing_keys": [
      {"name": "a b", "certificate": "/c", "private_key": "/k"}]})");
    CHECK(error_loading(f).find("signing_keys[0].name: 'a b' must be 1-64 of [A-Za-z0-9._-]") !=
          std::string::npos);
    write_text(dir / "c.json", R"({"signing_keys": [
      {"name": "a", "certificate": "/c", "private_key": "/k"},
      {"name": "a", "certificate": "/c", "private_key": "/k"}]})");
    CHECK(error_loading(f).find("signing_keys[1].name: 'a' is given twice") != std::string::npos);
  }

  TEST_CASE("local image directories: absolute, existing, kept canonical") {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "images" / "sub");
    ServeFlags f;
    f.local_images = {dir / "images" / "sub" / ".."};
    const ServeConfig c = load_serve_config(f, {});
    REQUIRE(c.local_images.size() == 1);
    CHECK(c.local_images[0] == std::filesystem::canonical(dir / "images"));
    CHECK(load_serve_config({}, {}).local_images.empty()); // none by default
    f.local_images = {"images"};
    CHECK(error_loading(f).find("--local-images: 'images' is not an absolute path") !=
          std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_LOCAL_IMAGES", (dir / "nope").string()}})
              .find("OCI2EIF_LOCAL_IMAGES: '" + (dir / "nope").string() + "' is not a directory") !=
          std::string::npos);
  }

  TEST_CASE("a non-loopback address is refused without tokens, accepted with them") {
    test::TempDir dir;
    ServeFlags f;
    f.listen = "0.0.0.0:8080";
    CHECK(error_loading(f).find("'0.0.0.0' is not a loopback address and no API tokens") !=
          std::string::npos);
    write_text(dir / "tokens", "# role token name\nread 0123456789abcdef-read reader\n\n"
                               "build 0123456789abcdef-build ci\nadmin 0123456789abcdef-admin\n");
    f.token_file = dir / "tokens";
    const ServeConfig c = load_serve_config(f, {});
    REQUIRE(c.tokens.size() == 3);
    CHECK(c.tokens[0].role == Role::Read);
    CHECK(c.tokens[0].name == "reader");
    CHECK(c.tokens[1].role == Role::Build);
    CHECK(c.tokens[2].role == Role::Admin);
  }

  TEST_CASE("tokens: an unknown role or a short token is refused") {
    test::TempDir dir;
    ServeFlags f;
    f.token_file = dir / "tokens";
    write_text(dir / "tokens", "owner 0123456789abcdef\n");
    CHECK(error_loading(f).find("line 1: role 'owner' is not read, build or admin") !=
          std::string::npos);
    write_text(dir / "tokens", "read short\n");
    CHECK(error_loading(f).find("shorter than 16 characters") != std::string::npos);
  }

  TEST_CASE("loopback hosts") {
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.1.2.3"));
    CHECK(is_loopback_host("::1"));
    CHECK(is_loopback_host("localhost"));
    CHECK_FALSE(is_loopback_host("0.0.0.0"));
    CHECK_FALSE(is_loopback_host("10.0.0.1"));
  }

  TEST_CASE("--log-format overrides OCI2EIF_LOG_FORMAT and is validated") {
    const Environment env{{"OCI2EIF_LOG_FORMAT", "json"},
                          {"OCI2EIF_NITRO_CLI_BLOBS", "/nonexistent"}};
    CHECK(load_serve_config({}, env).log_format == "json");
    ServeFlags flags;
    flags.log_format = "text";
    CHECK(load_serve_config(flags, env).log_format == "text");
    flags.log_format = "yaml";
    CHECK(error_loading(flags, env) == "configuration: log_format: 'yaml' is not text or json");
  }

  TEST_CASE("an unknown OCI2EIF_ variable is refused, naming the closest known one") {
    CHECK(error_loading({}, {{"OCI2EIF_WORKER", "2"}}) ==
          "configuration: OCI2EIF_WORKER: unknown environment variable; did you mean "
          "OCI2EIF_WORKERS? (known: OCI2EIF_LISTEN, OCI2EIF_DATA_DIR, OCI2EIF_KERNEL_DIRS, "
          "OCI2EIF_WORKERS, OCI2EIF_MAX_QUEUE, OCI2EIF_MIN_FREE_MB, "
          "OCI2EIF_SHUTDOWN_GRACE_SECONDS, OCI2EIF_LOG_FORMAT, OCI2EIF_TOKEN_FILE, "
          "OCI2EIF_INSECURE_REGISTRIES, OCI2EIF_REGISTRY_CA, OCI2EIF_REGISTRY_MIRRORS, "
          "OCI2EIF_PARALLEL_DOWNLOADS, OCI2EIF_LOCAL_IMAGES)");
    const std::string far = error_loading({}, {{"OCI2EIF_BANANA", "1"}});
    CHECK(far.starts_with("configuration: OCI2EIF_BANANA: unknown environment variable (known: "));
  }

  TEST_CASE("OCI2EIF_ variables read elsewhere or by the test harnesses are accepted") {
    CHECK_NOTHROW(load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", "/nonexistent"},
                                         {"OCI2EIF_INIT_DIR", "/nonexistent"},
                                         {"OCI2EIF_TEST_PORTS", "20000-20059"},
                                         {"OCI2EIF_ARM64_PARTS", "/nonexistent"},
                                         {"OCI2EIF_DEPS_MINIMAL", "1"}}));
  }

  TEST_CASE("every setting's variable and file key of the table is honoured") {
    test::TempDir dir;
    const std::string kernels = kernel_dir(dir, "k").string();
    write_text(dir / "tokens", "admin 0123456789abcdef0123 ci\n");
    write_text(dir / "ca.pem", "ca");
    std::filesystem::create_directories(dir / "images");
    const std::string images = (dir / "images").string();
    using Check = std::function<bool(const ServeConfig&)>;
    // name → value (the environment's text), and what it must have set.
    const std::map<std::string, std::pair<std::string, Check>> variables{
        {"OCI2EIF_LISTEN", {"127.0.0.1:9000", [](auto& c) { return c.listen_port == 9000; }}},
        {"OCI2EIF_DATA_DIR", {"/d", [](auto& c) { return c.data_dir == "/d"; }}},
        {"OCI2EIF_KERNEL_DIRS", {"k=" + kernels, [](auto& c) { return c.kernels[0].name == "k"; }}},
        {"OCI2EIF_WORKERS", {"3", [](auto& c) { return c.workers == 3; }}},
        {"OCI2EIF_MAX_QUEUE", {"5", [](auto& c) { return c.max_queue == 5; }}},
        {"OCI2EIF_MIN_FREE_MB", {"1", [](auto& c) { return c.min_free_bytes == 1 << 20; }}},
        {"OCI2EIF_SHUTDOWN_GRACE_SECONDS",
         {"7", [](auto& c) { return c.shutdown_grace == std::chrono::seconds(7); }}},
        {"OCI2EIF_LOG_FORMAT", {"json", [](auto& c) { return c.log_format == "json"; }}},
        {"OCI2EIF_TOKEN_FILE",
         {(dir / "tokens").string(), [](auto& c) { return c.tokens.at(0).name == "ci"; }}},
        {"OCI2EIF_INSECURE_REGISTRIES",
         {"r.example:5000", [](auto& c) { return c.registry.insecure_registries.size() == 1; }}},
        {"OCI2EIF_REGISTRY_CA",
         {(dir / "ca.pem").string(), [](auto& c) { return !c.registry.extra_ca_file.empty(); }}},
        {"OCI2EIF_REGISTRY_MIRRORS",
         {"docker.io=https://m.example",
          [](auto& c) { return c.registry.mirrors.at(0).domain == "docker.io"; }}},
        {"OCI2EIF_PARALLEL_DOWNLOADS",
         {"5", [](auto& c) { return c.registry.parallel_downloads == 5; }}},
        {"OCI2EIF_LOCAL_IMAGES", {images, [](auto& c) { return c.local_images.size() == 1; }}},
    };
    const nlohmann::json kernel = {{"name", "k"}, {"dir", kernels}};
    const nlohmann::json token = {{"token", "0123456789abcdef0123"}, {"role", "read"}};
    const nlohmann::json key = {{"name", "s"}, {"certificate", "c"}, {"private_key", "k"}};
    // key → value in the file, and what it must have set.
    const std::map<std::string, std::pair<nlohmann::json, Check>> keys{
        {"listen", {"127.0.0.1:9000", [](auto& c) { return c.listen_port == 9000; }}},
        {"data_dir", {"/d", [](auto& c) { return c.data_dir == "/d"; }}},
        {"kernels",
         {nlohmann::json::array({kernel}), [](auto& c) { return c.kernels.at(0).name == "k"; }}},
        {"workers", {3, [](auto& c) { return c.workers == 3; }}},
        {"max_queue", {5, [](auto& c) { return c.max_queue == 5; }}},
        {"min_free_mb", {1, [](auto& c) { return c.min_free_bytes == 1 << 20; }}},
        {"max_body_bytes", {2048, [](auto& c) { return c.max_body_bytes == 2048; }}},
        {"max_kernel_upload_bytes",
         {4096, [](auto& c) { return c.max_kernel_upload_bytes == 4096; }}},
        {"lease_seconds", {9, [](auto& c) { return c.lease == std::chrono::seconds(9); }}},
        {"build_timeout_seconds",
         {60, [](auto& c) { return c.build_timeout == std::chrono::seconds(60); }}},
        {"shutdown_grace_seconds",
         {7, [](auto& c) { return c.shutdown_grace == std::chrono::seconds(7); }}},
        {"log_format", {"json", [](auto& c) { return c.log_format == "json"; }}},
        {"tokens",
         {nlohmann::json::array({token}),
          [](auto& c) { return c.tokens.at(0).name == "token-0"; }}},
        {"token_file",
         {(dir / "tokens").string(), [](auto& c) { return c.tokens.at(0).name == "ci"; }}},
        {"registry.insecure",
         {{"r.example:5000"}, [](auto& c) { return c.registry.insecure_registries.size() == 1; }}},
        {"registry.ca_file",
         {(dir / "ca.pem").string(), [](auto& c) { return !c.registry.extra_ca_file.empty(); }}},
        {"registry.mirrors",
         {{{"docker.io", {"https://m.example"}}},
          [](auto& c) { return c.registry.mirrors.at(0).url == "https://m.example"; }}},
        {"registry.parallel_downloads",
         {5, [](auto& c) { return c.registry.parallel_downloads == 5; }}},
        {"registry.cache_max_bytes",
         {1 << 21, [](auto& c) { return c.registry.cache_max_bytes == 1 << 21; }}},
        {"local_images", {{images}, [](auto& c) { return c.local_images.size() == 1; }}},
        {"signing_keys",
         {nlohmann::json::array({key}), [](auto& c) { return c.signing_keys.at(0).name == "s"; }}},
        {"webhooks",
         {{{"dedupe_window_seconds", 5}},
          [](auto& c) { return c.webhooks.dedupe_window == std::chrono::seconds(5); }}},
    };
    std::set<std::string> documented_variables, documented_keys;
    for (const SettingNames& s : serve_setting_names()) {
      if (!s.env.empty()) {
        documented_variables.emplace(s.env);
      }
      documented_keys.emplace(s.file_key);
    }
    for (const std::string& name : documented_variables) {
      CAPTURE(name);
      REQUIRE(variables.count(name) == 1); // a new row needs a line here
      const auto& [value, check] = variables.at(name);
      CHECK(check(load_serve_config({}, {{name, value}, {"OCI2EIF_NITRO_CLI_BLOBS", "/none"}})));
    }
    for (const std::string& name : documented_keys) {
      CAPTURE(name);
      REQUIRE(keys.count(name) == 1);
      const auto& [value, check] = keys.at(name);
      nlohmann::json file;
      const auto dot = name.find('.');
      if (dot == std::string::npos) {
        file[name] = value;
      } else {
        file[name.substr(0, dot)][name.substr(dot + 1)] = value;
      }
      write_text(dir / "c.json", file.dump());
      ServeFlags flags;
      flags.config = dir / "c.json";
      CHECK(check(load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", "/none"}})));
    }
    CHECK(documented_variables.size() == variables.size());
    CHECK(documented_keys.size() == keys.size());
  }
}
