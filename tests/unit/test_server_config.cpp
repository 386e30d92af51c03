#include "core/error.hpp"
#include "server/config.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <functional>
#include <set>
#include <unistd.h>

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

    flags.values["--workers"] = {"2"};
    flags.values["--data-dir"] = {"/flag"};
    flags.values["--listen"] = {"localhost:7000"};
    flags.values["--kernel-dir"] = {"b=" + k2.string(), "a=" + k1.string()};
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
    flags.values["--kernel-dir"] = {"mine=" + k1.string()};
    c = load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", blobs.string()}});
    REQUIRE(c.kernels.size() == 2);
    CHECK(c.kernels[0].name == "mine");
    CHECK(c.kernels[1].name == "nitro-cli");
    flags.values["--kernel-dir"] = {"nitro-cli=" +
                                    k1.string()}; // a configured one of that name wins
    c = load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", blobs.string()}});
    REQUIRE(c.kernels.size() == 1);
    CHECK(c.kernels[0].dir == k1);
    c = load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", (dir / "none").string()}});
    CHECK(c.kernels.empty());
  }

  TEST_CASE("shutdown grace: default 30 s - file, environment and flag - bounded") {
    test::TempDir dir;
    CHECK(load_serve_config({}, {}).shutdown_grace == std::chrono::seconds(30));
    write_text(dir / "c.json", R"({"shutdown_grace_seconds": 5})");
    ServeFlags flags;
    flags.config = dir / "c.json";
    CHECK(load_serve_config(flags, {}).shutdown_grace == std::chrono::seconds(5));
    CHECK(load_serve_config(flags, {{"OCI2EIF_SHUTDOWN_GRACE_SECONDS", "7"}}).shutdown_grace ==
          std::chrono::seconds(7));
    flags.values["--shutdown-grace"] = {"0"};
    CHECK(load_serve_config(flags, {{"OCI2EIF_SHUTDOWN_GRACE_SECONDS", "7"}}).shutdown_grace ==
          std::chrono::seconds(0));
    flags.values["--shutdown-grace"] = {"4000"};
    CHECK(error_loading(flags).find("--shutdown-grace") != std::string::npos);
  }

  TEST_CASE("min_free_mb: default 100 MiB - file, then environment - 0 turns the floor off") {
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

  TEST_CASE("image limits: 8 GiB of files, 2,000,000 entries, 2 GiB of file list by default") {
    const ServeConfig defaults = load_serve_config({}, {});
    CHECK(defaults.image_limits.max_total_bytes == std::uint64_t{8} << 30);
    CHECK(defaults.image_limits.max_entries == 2'000'000);
    CHECK(defaults.image_limits.max_file_list_bytes == std::uint64_t{2} << 30);
    ServeFlags flags;
    flags.values["--max-image-mb"] = {"0"};
    CHECK(error_loading(flags).find("--max-image-mb") != std::string::npos);
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
      f.values["--listen"] = {"127.0.0.1:70000"};
      CHECK(error_loading(f) == "configuration: --listen port: '70000' is not a whole number "
                                "from 1 to 65535");
    }
    SUBCASE("no port") {
      ServeFlags f;
      f.values["--listen"] = {"127.0.0.1"};
      CHECK(error_loading(f).find("--listen: '127.0.0.1' is not HOST:PORT") != std::string::npos);
    }
    SUBCASE("zero workers from the environment") {
      CHECK(error_loading({}, {{"OCI2EIF_WORKERS", "0"}}).find("OCI2EIF_WORKERS: '0'") !=
            std::string::npos);
    }
    SUBCASE("a kernel without NAME=") {
      ServeFlags f;
      f.values["--kernel-dir"] = {"/boot"};
      CHECK(error_loading(f).find("--kernel-dir: '/boot' is not NAME=DIR") != std::string::npos);
    }
    SUBCASE("a kernel directory without a kernel") {
      ServeFlags f;
      f.values["--kernel-dir"] = {"empty=" + dir.path().string()};
      CHECK(error_loading(f).find("kernel 'empty': " + dir.path().string() +
                                  " has neither bzImage") != std::string::npos);
    }
    SUBCASE("the same kernel name twice") {
      const auto k = kernel_dir(dir, "k");
      ServeFlags f;
      f.values["--kernel-dir"] = {"a=" + k.string(), "a=" + k.string()};
      CHECK(error_loading(f).find("kernel name 'a' is given twice") != std::string::npos);
    }
  }

  TEST_CASE("registry settings: file, then environment, then flags - each list replaced") {
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

    flags.values["--insecure-registry"] = {"c.example:5000"};
    flags.values["--registry-mirror"] = {"docker.io=http://127.0.0.1:5001"};
    flags.values["--parallel-downloads"] = {"1"};
    c = load_serve_config(flags, env);
    CHECK(c.registry.insecure_registries == std::vector<std::string>{"c.example:5000"});
    REQUIRE(c.registry.mirrors.size() == 1);
    CHECK(c.registry.mirrors[0].url == "http://127.0.0.1:5001");
    CHECK(c.registry.parallel_downloads == 1);
  }

  TEST_CASE("registry settings: bad values name where they came from") {
    test::TempDir dir;
    ServeFlags f;
    f.values["--insecure-registry"] = {"http://reg.example"};
    CHECK(error_loading(f).find("--insecure-registry: 'http://reg.example' is not HOST[:PORT]") !=
          std::string::npos);
    f = {};
    f.values["--registry-mirror"] = {"docker.io=ftp://m.example"};
    CHECK(error_loading(f).find("--registry-mirror") != std::string::npos);
    CHECK(error_loading(f).find("http:// or https:// URL") != std::string::npos);
    f = {};
    f.values["--parallel-downloads"] = {"0"};
    CHECK(error_loading(f).find("--parallel-downloads") != std::string::npos);
    f = {};
    f.values["--registry-ca"] = {(dir / "missing.pem").string()};
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

  TEST_CASE("signing keys: named, each with certificate and private key - bad entries refused") {
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
    f.values["--local-images"] = {(dir / "images" / "sub" / "..").string()};
    const ServeConfig c = load_serve_config(f, {});
    REQUIRE(c.local_images.size() == 1);
    CHECK(c.local_images[0] == std::filesystem::canonical(dir / "images"));
    CHECK(load_serve_config({}, {}).local_images.empty()); // none by default
    f.values["--local-images"] = {"images"};
    CHECK(error_loading(f).find("--local-images: 'images' is not an absolute path") !=
          std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_LOCAL_IMAGES", (dir / "nope").string()}})
              .find("OCI2EIF_LOCAL_IMAGES: '" + (dir / "nope").string() + "' is not a directory") !=
          std::string::npos);
  }

  TEST_CASE("a non-loopback address is refused without tokens, accepted with them") {
    test::TempDir dir;
    ServeFlags f;
    f.values["--listen"] = {"0.0.0.0:8080"};
    CHECK(error_loading(f).find("'0.0.0.0' is not a loopback address and no API tokens") !=
          std::string::npos);
    write_text(dir / "tokens", "# role token name\nread 0123456789abcdef-read reader\n\n"
                               "build 0123456789abcdef-build ci\nadmin 0123456789abcdef-admin\n");
    f.values["--token-file"] = {(dir / "tokens").string()};
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
    f.values["--token-file"] = {(dir / "tokens").string()};
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
    flags.values["--log-format"] = {"text"};
    CHECK(load_serve_config(flags, env).log_format == "text");
    flags.values["--log-format"] = {"yaml"};
    CHECK(error_loading(flags, env) == "configuration: log_format: 'yaml' is not text or json");
  }

  TEST_CASE("an unknown OCI2EIF_ variable is refused, naming the closest known one") {
    const std::string near = error_loading({}, {{"OCI2EIF_WORKER", "2"}});
    CHECK(near.starts_with("configuration: OCI2EIF_WORKER: unknown environment variable; did you "
                           "mean OCI2EIF_WORKERS? (known: OCI2EIF_LISTEN, OCI2EIF_DATA_DIR, "));
    CHECK(near.find("OCI2EIF_DATABASE, OCI2EIF_OBJECT_STORE") != std::string::npos);
    const std::string far = error_loading({}, {{"OCI2EIF_BANANA", "1"}});
    CHECK(far.starts_with("configuration: OCI2EIF_BANANA: unknown environment variable (known: "));
  }

  TEST_CASE("OCI2EIF_ variables read elsewhere or by the test harnesses are accepted") {
    CHECK_NOTHROW(load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", "/nonexistent"},
                                         {"OCI2EIF_INIT_DIR", "/nonexistent"},
                                         {"OCI2EIF_TEST_PORTS", "20000-20059"},
                                         {"OCI2EIF_TEST_SERVICES", "/nonexistent"},
                                         {"OCI2EIF_ARM64_PARTS", "/nonexistent"},
                                         {"OCI2EIF_DEPS_MINIMAL", "1"}}));
  }

  TEST_CASE("scale-out settings: checked, and a database password never shown") {
    CHECK(error_loading({}, {{"OCI2EIF_DATABASE", "mysql://u:hunter2@db/x"}}) ==
          "configuration: OCI2EIF_DATABASE: 'mysql://u:***@db/x' is not a postgresql:// URL "
          "(leave it unset for SQLite in the data directory)");
    CHECK(redacted_database_url("postgresql://app:s3cr%40t@db.example:5432/oci2eif") ==
          "postgresql://app:***@db.example:5432/oci2eif");
    CHECK(redacted_database_url("postgresql://app@db/x") == "postgresql://app@db/x");
    CHECK(redacted_database_url("postgresql:///x?host=/run") == "postgresql:///x?host=/run");
    CHECK(error_loading({}, {{"OCI2EIF_DATABASE", "postgresql://db/x"}}) ==
          "configuration: database: scale-out needs both database (postgresql://…) and "
          "object_store (s3://…); give both, or neither for the embedded SQLite and data "
          "directory");
    CHECK(error_loading({}, {{"OCI2EIF_OBJECT_STORE", "s3://A_B"}}).find("is not s3://BUCKET") !=
          std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_OBJECT_STORE", "/srv/bucket"}}).find("is not s3://") !=
          std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_S3_ENDPOINT", "http://127.0.0.1:9"}})
              .find("S3 settings are given but object_store (s3://BUCKET) is not") !=
          std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_OBJECT_STORE", "s3://b-1"},
                             {"OCI2EIF_DATABASE", "postgresql://db/x"},
                             {"OCI2EIF_S3_ENDPOINT", "ftp://x"}})
              .find("is not http(s)://HOST[:PORT]") != std::string::npos);
    CHECK(error_loading({}, {{"OCI2EIF_REPLICA_ID", "a b"}}).find("is not 1-63 characters") !=
          std::string::npos);
    ServeFlags path_style;
    path_style.values["--s3-path-style"] = {"maybe"};
    path_style.values["--object-store"] = {"s3://b-1"};
    path_style.values["--database"] = {"postgresql://db/x"};
    CHECK(error_loading(path_style) ==
          "configuration: --s3-path-style: 'maybe' is not true or false");
  }

  TEST_CASE("the replica id defaults to HOSTNAME-PID") {
    const std::string id = load_serve_config({}, {{"OCI2EIF_NITRO_CLI_BLOBS", "/none"}}).replica_id;
    CHECK(id.ends_with("-" + std::to_string(::getpid())));
    CHECK(id.size() <= 63);
  }

  // One value per setting: as the file holds it, as a variable or flag carries it ("" for the
  // structured, file-only settings), and what it must have set.
  struct SettingCase {
    nlohmann::json file;
    std::string text;
    std::function<bool(const ServeConfig&)> check;
  };

  std::map<std::string, SettingCase> setting_cases(const test::TempDir& dir) {
    const std::string kernels = kernel_dir(dir, "k").string();
    write_text(dir / "tokens", "admin 0123456789abcdef0123 ci\n");
    write_text(dir / "ca.pem", "ca");
    std::filesystem::create_directories(dir / "images");
    const std::string images = (dir / "images").string();
    const std::string tokens = (dir / "tokens").string();
    const std::string ca = (dir / "ca.pem").string();
    const nlohmann::json kernel = {{"name", "k"}, {"dir", kernels}};
    const nlohmann::json token = {{"token", "0123456789abcdef0123"}, {"role", "read"}};
    const nlohmann::json key = {{"name", "s"}, {"certificate", "c"}, {"private_key", "k"}};
    using std::chrono::seconds;
    return {
        {"listen",
         {"127.0.0.1:9000", "127.0.0.1:9000", [](auto& c) { return c.listen_port == 9000; }}},
        {"data_dir", {"/d", "/d", [](auto& c) { return c.data_dir == "/d"; }}},
        {"kernels",
         {nlohmann::json::array({kernel}), "k=" + kernels,
          [](auto& c) { return c.kernels.at(0).name == "k"; }}},
        {"workers", {3, "3", [](auto& c) { return c.workers == 3; }}},
        {"max_queue", {5, "5", [](auto& c) { return c.max_queue == 5; }}},
        {"min_free_mb", {1, "1", [](auto& c) { return c.min_free_bytes == 1 << 20; }}},
        {"max_body_bytes", {2048, "2048", [](auto& c) { return c.max_body_bytes == 2048; }}},
        {"max_connections", {64, "64", [](auto& c) { return c.max_connections == 64; }}},
        {"max_kernel_upload_bytes",
         {4096, "4096", [](auto& c) { return c.max_kernel_upload_bytes == 4096; }}},
        {"max_image_mb",
         {3, "3", [](auto& c) { return c.image_limits.max_total_bytes == 3 << 20; }}},
        {"max_image_entries", {10, "10", [](auto& c) { return c.image_limits.max_entries == 10; }}},
        {"max_build_memory_mb",
         {5, "5", [](auto& c) { return c.image_limits.max_file_list_bytes == 5 << 20; }}},
        {"max_eif_mb", {7, "7", [](auto& c) { return c.max_eif_bytes == 7 << 20; }}},
        {"lease_seconds", {9, "9", [](auto& c) { return c.lease == seconds(9); }}},
        {"build_timeout_seconds",
         {60, "60", [](auto& c) { return c.build_timeout == seconds(60); }}},
        {"shutdown_grace_seconds",
         {7, "7", [](auto& c) { return c.shutdown_grace == seconds(7); }}},
        {"log_format", {"json", "json", [](auto& c) { return c.log_format == "json"; }}},
        {"tokens",
         {nlohmann::json::array({token}), "",
          [](auto& c) { return c.tokens.at(0).name == "token-0"; }}},
        {"token_file", {tokens, tokens, [](auto& c) { return c.tokens.at(0).name == "ci"; }}},
        {"local_images",
         {nlohmann::json::array({images}), images,
          [](auto& c) { return c.local_images.size() == 1; }}},
        {"push_targets",
         {nlohmann::json::array({"registry.example:5000/team/*"}), "registry.example:5000/team/*",
          [](auto& c) {
            return c.push_targets == std::vector<std::string>{"registry.example:5000/team/*"};
          }}},
        {"signing_keys",
         {nlohmann::json::array({key}), "",
          [](auto& c) { return c.signing_keys.at(0).name == "s"; }}},
        {"webhooks",
         {{{"dedupe_window_seconds", 5}},
          "",
          [](auto& c) { return c.webhooks.dedupe_window == seconds(5); }}},
        {"registry.insecure",
         {{"r.example:5000"},
          "r.example:5000",
          [](auto& c) { return c.registry.insecure_registries.size() == 1; }}},
        {"registry.ca_file", {ca, ca, [](auto& c) { return !c.registry.extra_ca_file.empty(); }}},
        {"registry.mirrors",
         {{{"docker.io", {"https://m.example"}}},
          "docker.io=https://m.example",
          [](auto& c) { return c.registry.mirrors.at(0).url == "https://m.example"; }}},
        {"registry.parallel_downloads",
         {5, "5", [](auto& c) { return c.registry.parallel_downloads == 5; }}},
        {"registry.cache_max_bytes",
         {1 << 21, "2097152", [](auto& c) { return c.registry.cache_max_bytes == 1 << 21; }}},
        {"database",
         {"postgresql://u@db:5432/b", "postgresql://u@db:5432/b",
          [](auto& c) { return c.database == "postgresql://u@db:5432/b"; }}},
        {"object_store",
         {"s3://eifs/prod", "s3://eifs/prod",
          [](auto& c) { return c.object_store == "s3://eifs/prod"; }}},
        {"s3_endpoint",
         {"http://127.0.0.1:9", "http://127.0.0.1:9",
          [](auto& c) { return c.s3_endpoint == "http://127.0.0.1:9"; }}},
        {"s3_region",
         {"eu-west-1", "eu-west-1", [](auto& c) { return c.s3_region == "eu-west-1"; }}},
        {"s3_path_style", {true, "true", [](auto& c) { return c.s3_path_style; }}},
        {"metrics_require_token", {true, "true", [](auto& c) { return c.metrics_require_token; }}},
        {"replica_id", {"r-1", "r-1", [](auto& c) { return c.replica_id == "r-1"; }}},
    };
  }

  // The file, variable or flag of `name` alone, with what the S3 settings need beside them.
  ServeConfig load_with_file_key(const test::TempDir& dir, const std::string& name,
                                 const nlohmann::json& value) {
    nlohmann::json file;
    const auto dot = name.find('.');
    if (dot == std::string::npos) {
      file[name] = value;
    } else {
      file[name.substr(0, dot)][name.substr(dot + 1)] = value;
    }
    if (name.starts_with("s3_") || name == "database") {
      file["object_store"] = "s3://b-1";
    }
    if (name == "object_store" || name.starts_with("s3_")) {
      file["database"] = "postgresql://db/x";
    }
    write_text(dir / "c.json", file.dump());
    ServeFlags flags;
    flags.config = dir / "c.json";
    return load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", "/none"}});
  }

  TEST_CASE("every setting has a file key, a variable and a flag, each honoured") {
    test::TempDir dir;
    const auto cases = setting_cases(dir);
    const std::set<std::string> file_only{"tokens", "signing_keys", "webhooks"};
    std::size_t rows = 0;
    for (const SettingNames& s : serve_setting_names()) {
      const std::string name(s.file_key);
      CAPTURE(name);
      ++rows;
      REQUIRE(cases.count(name) == 1); // a new row needs a case above
      const SettingCase& sc = cases.at(name);
      CHECK(sc.check(load_with_file_key(dir, name, sc.file)));
      if (file_only.count(name) == 1) {
        CHECK((s.env.empty() && s.flag.empty()));
        continue;
      }
      REQUIRE_FALSE(s.env.empty());
      REQUIRE_FALSE(s.flag.empty());
      CHECK_FALSE(s.help.empty());
      Environment env{{std::string(s.env), sc.text}, {"OCI2EIF_NITRO_CLI_BLOBS", "/none"}};
      ServeFlags flags;
      flags.values[std::string(s.flag)] = {sc.text};
      if (name.starts_with("s3_") || name == "database") {
        env["OCI2EIF_OBJECT_STORE"] = "s3://b-1";
        flags.values["--object-store"] = {"s3://b-1"};
      }
      if (name == "object_store" || name.starts_with("s3_")) {
        env["OCI2EIF_DATABASE"] = "postgresql://db/x";
        flags.values["--database"] = {"postgresql://db/x"};
      }
      CHECK(sc.check(load_serve_config({}, env)));
      CHECK(sc.check(load_serve_config(flags, {{"OCI2EIF_NITRO_CLI_BLOBS", "/none"}})));
    }
    CHECK(rows == cases.size());
  }
}
