// The oci2eif subcommands. Each run_* function is the whole command minus argument parsing,
// so tests call it directly; main.cpp only wires CLI11 to them.
#pragma once

#include "core/layer_flattener.hpp"
#include "pipeline/build_pipeline.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::cli {

struct AssembleOptions {
  std::filesystem::path kernel;
  std::string cmdline;
  std::vector<std::filesystem::path> ramdisks;
  std::filesystem::path output;
  std::string arch = "x86_64";
  std::optional<std::string> name;    // default: the kernel's file name (as eif_build)
  std::optional<std::string> version; // default: "1.0" (as eif_build)
  std::optional<std::filesystem::path> metadata;
  std::optional<std::string> build_time; // default: SOURCE_DATE_EPOCH, else the Unix epoch
  std::string build_tool = "oci2eif";
  std::string build_tool_version;        // default: this program's version
  std::optional<std::string> img_os;     // default: from --kernel-config, else "OS"
  std::optional<std::string> img_kernel; // default: from --kernel-config, else "kernel"
  std::optional<std::filesystem::path> kernel_config;
  std::optional<std::filesystem::path> signing_certificate;
  std::optional<std::filesystem::path> private_key;
  std::optional<std::string> source_date_epoch; // the SOURCE_DATE_EPOCH environment value
  unsigned threads = 0;                         // 0: the machine's cores
};

// Writes the EIF atomically and prints {"Measurements": …} to `out`.
void run_assemble(const AssembleOptions& options, std::ostream& out, std::ostream& log);

struct DescribeOptions {
  std::filesystem::path input;
  bool json = false;
  std::optional<std::filesystem::path> extract_dir;
  std::optional<std::int64_t> now_unix; // certificate validity is checked at this time
};
void run_describe(const DescribeOptions& options, std::ostream& out);

// Why two EIFs measure differently (core/eif_diff.hpp): human text, or its JSON with `json`.
struct DiffOptions {
  std::filesystem::path a;
  std::filesystem::path b;
  bool json = false;
};
void run_diff(const DiffOptions& options, std::ostream& out);

struct PcrOptions {
  std::optional<std::filesystem::path> input;
  std::optional<std::filesystem::path> signing_certificate;
};
void run_pcr(const PcrOptions& options, std::ostream& out);

// Checks an EIF against its provenance (a DSSE envelope from `build --provenance` or the
// service's provenance.intoto.jsonl). Returns the exit status: 0 verified, else the first check
// that failed (kVerify*). Bad or unreadable files throw, as for every command (exit 1).
struct VerifyOptions {
  std::filesystem::path eif;
  std::filesystem::path provenance;
  // Exactly one: the signer's PEM certificate, or its PEM public key.
  std::optional<std::filesystem::path> certificate;
  std::optional<std::filesystem::path> key;
  std::map<std::string, std::string> expect_pcrs; // "PCR0" → hex
};
inline constexpr int kVerifySignature = 3; // no signature verifies with the key
inline constexpr int kVerifySubject = 4;   // the statement is not about this EIF (sha256)
inline constexpr int kVerifyPcrs = 5;      // the statement's or the expected PCRs differ
int run_verify(const VerifyOptions& options, std::ostream& out);

// EIFs as OCI 1.1 artifacts in a registry (docs/oci-artifacts.md): `push`, `fetch` and
// `referrers` share these.
struct ArtifactOptions {
  std::string reference;              // push, fetch: the artifact; referrers: the image
  std::filesystem::path eif;          // push: the EIF to store
  std::optional<std::string> subject; // push: the image it was built from, same repository
  // push: a provenance.intoto.jsonl to attach as a referrer of the EIF; fetch: where to write
  // the provenance attached to the EIF (fetch fails when there is none)
  std::optional<std::filesystem::path> provenance;
  std::filesystem::path output; // fetch: where to write the EIF
  bool json = false;            // referrers: print JSON
  std::vector<std::string> insecure_registries;
  std::optional<std::filesystem::path> registry_ca;
  std::optional<std::filesystem::path> cache_dir; // fetch: the blob cache
};

// Stores an EIF as an artifact, its PCRs as annotations, and links it to its --subject, and its
// --provenance to it; prints pipeline::pushed_json().
void run_push(const ArtifactOptions& options, std::ostream& out, std::ostream& log);
// Downloads an EIF artifact to `output` (atomically) once its digest and its PCRs (against the
// manifest's annotations) check out; prints the measurements JSON as `build` does.
void run_fetch(const ArtifactOptions& options, std::ostream& out, std::ostream& log);
// Lists the EIF artifacts whose subject is the image, with their PCRs.
void run_referrers(const ArtifactOptions& options, std::ostream& out, std::ostream& log);

struct BuildOptions {
  std::optional<std::string> oci_layout;     // DIR[:TAG]
  std::optional<std::string> oci_archive;    // FILE[:TAG]
  std::optional<std::string> docker_archive; // FILE[:TAG]
  std::optional<std::string> image;          // a registry reference
  std::vector<std::string> insecure_registries;
  std::optional<std::filesystem::path> registry_ca;
  std::optional<std::filesystem::path> cache_dir; // default: $XDG_CACHE_HOME/oci2eif
  long blob_timeout_seconds = 0;                  // 0: none
  std::vector<std::string> registry_mirrors;      // DOMAIN=URL
  int parallel_downloads = 3;                     // layers fetched at once
  std::optional<std::filesystem::path> kernel_dir;
  std::optional<std::filesystem::path> kernel;
  // The kernel bundle when neither --kernel-dir nor --kernel is given, as nitro-cli: its
  // NITRO_CLI_BLOBS (or OCI2EIF_NITRO_CLI_BLOBS, as `serve` reads), else its install path.
  std::filesystem::path nitro_cli_blobs = "/usr/share/nitro_enclaves/blobs";
  std::optional<std::filesystem::path> kernel_config;
  std::optional<std::string> cmdline;
  std::optional<std::string> arch; // default: the --kernel-dir bundle's, else x86_64
  std::optional<std::string> platform;
  std::vector<std::string> entrypoint; // each occurrence is one argv element
  bool entrypoint_set = false;
  std::vector<std::string> cmd;
  bool cmd_set = false;
  std::vector<std::string> env;
  std::string compress = "none";
  std::optional<std::string> name;
  std::optional<std::string> version;
  std::optional<std::filesystem::path> metadata; // custom metadata JSON object (build)
  std::optional<std::string> build_time;
  std::optional<std::string> source_date_epoch;
  std::optional<std::filesystem::path> signing_certificate;
  std::optional<std::filesystem::path> private_key;
  // A signed SLSA provenance statement (DSSE, in-toto) of the build, written here.
  std::optional<std::filesystem::path> provenance;
  // Push the EIF (and the provenance, when written) to this registry reference as an OCI artifact.
  std::optional<std::string> push;
  std::optional<std::filesystem::path> init;
  std::filesystem::path output;
  std::optional<std::filesystem::path> pcrs;
  std::optional<std::filesystem::path> rootfs_listing;
  std::optional<std::filesystem::path> scratch_dir; // default: a fresh directory under $TMPDIR
  std::uint64_t max_image_mb = FlattenLimits().max_total_bytes >> 20;
  std::uint64_t max_image_entries = FlattenLimits().max_entries;
  std::uint64_t max_build_memory_mb = FlattenLimits().max_file_list_bytes >> 20;
  std::uint64_t max_eif_mb = pipeline::kDefaultMaxEifBytes >> 20;
  unsigned threads = 0;          // for the EIF step; 0: the machine's cores
  std::string progress = "auto"; // --progress: auto, tty, plain, json, none (progress_display.hpp)
  bool quiet = false;            // --quiet: warnings only on stderr
  std::optional<int> terminal;   // stderr's width when it is a terminal (main fills it in)
};

// Builds an EIF from an image; progress lines go to `log`, the measurements JSON to `out` (and
// to --pcrs).
void run_build(const BuildOptions& options, std::ostream& out, std::ostream& log);

// `uri` (a registry reference, or oci-layout:/oci-archive:/docker-archive: PATH[:TAG], as POST
// /v1/builds takes) as the one image source of `o`: nitro-cli's --docker-uri.
void set_image_source(BuildOptions& o, const std::string& uri);

// Pulls `image` (BuildOptions::image) for one platform into an OCI layout directory
// (`output`), so a build can be reproduced offline; prints the resolved digests.
void run_pull(const BuildOptions& options, std::ostream& out, std::ostream& log);

// Prints the image's flattened root filesystem listing (docs/rootfs-listing.md).
void run_rootfs(const BuildOptions& options, std::ostream& out, std::ostream& log);

struct SubmitOptions {
  std::string image;
  std::string server; // the service's base URL, http(s)://host:port
  std::optional<std::filesystem::path> token_file;
  std::optional<std::string> token_env; // OCI2EIF_TOKEN, when --token-file is not given
  std::optional<std::filesystem::path> server_ca;
  std::optional<std::string> kernel;
  std::optional<std::string> platform;
  std::optional<std::string> cmdline;
  std::vector<std::string> entrypoint;
  bool entrypoint_set = false;
  std::vector<std::string> cmd;
  bool cmd_set = false;
  std::vector<std::string> env;
  std::vector<std::string> labels; // KEY=VALUE
  std::string compress = "none";
  std::optional<std::string> name;
  std::optional<std::string> version;
  std::optional<std::filesystem::path> metadata;
  std::optional<std::string> signing_key;     // a signing key configured on the server, by name
  std::optional<std::string> push;            // a registry reference the service pushes the EIF to
  std::optional<std::string> idempotency_key; // default: a random one per invocation
  bool wait = false;
  bool quiet = false; // with --wait: do not follow the log
  std::optional<std::filesystem::path> output;
  std::optional<std::filesystem::path> pcrs;
  std::optional<std::string> timeout; // a duration: 90s, 15m, 2h
};

// Submits a build to a running service; returns the exit status (SubmitExit in
// service_client.hpp: 0 succeeded, 1 build failed, 3 refused, 4 unavailable, 5 timed out).
// Throws InvalidInput for a wrong command line.
int run_submit(const SubmitOptions& options, std::ostream& out, std::ostream& log);

// "90" or "90s", "15m", "2h" as seconds; InvalidInput otherwise (or for zero).
std::chrono::seconds parse_duration(const std::string& text);

// The build-time string for the metadata: `explicit_time` if given, else SOURCE_DATE_EPOCH
// (decimal seconds) as RFC 3339, else 1970-01-01T00:00:00+00:00. Never the wall clock.
std::string resolve_build_time(const std::optional<std::string>& explicit_time,
                               const std::optional<std::string>& source_date_epoch);

} // namespace oci2eif::cli
