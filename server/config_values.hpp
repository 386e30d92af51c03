// The readers of single configuration values, shared by the file, environment and flag layers
// of config.cpp's settings table. Each takes `where` (the flag, the variable, or "FILE: key")
// and throws InvalidInput "configuration: <where>: <why>" for a bad value.
#pragma once

#include "core/json_fields.hpp"
#include "server/config.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace oci2eif::server::config_values {

inline constexpr std::size_t kMaxConfigFile = 1 << 20; // also bounds the token file

[[noreturn]] void invalid(const std::string& where, const std::string& why);

// Decimal digits only, within [min, max].
std::uint64_t parse_count(const std::string& where, const std::string& text, std::uint64_t min,
                          std::uint64_t max);
// "a,b,c" → {"a", "b", "c"}; "" → {}.
std::vector<std::string> comma_list(const std::string& text);

// HOST:PORT or [IPV6]:PORT.
void set_listen(ServeConfig& c, const std::string& where, const std::string& text);
// NAME=DIR, appended to c.kernels; names are unique.
void add_kernel_spec(ServeConfig& c, const std::string& where, const std::string& spec);
// Appends the tokens of a file of `ROLE TOKEN [NAME]` lines.
void read_token_file(ServeConfig& c, const std::string& where, const std::filesystem::path& p);
void add_insecure_registry(ServeConfig& c, const std::string& where, const std::string& host);
// DOMAIN=URL.
void add_mirror(ServeConfig& c, const std::string& where, const std::string& spec);
// An existing absolute directory, stored canonical.
void add_local_images(ServeConfig& c, const std::string& where, const std::filesystem::path& dir);

// "true"/"1"/"yes" or "false"/"0"/"no" (a switch's flag carries "true").
bool parse_switch(const std::string& where, const std::string& text);
// The text itself; refused when empty.
std::string non_empty(const std::string& where, const std::string& text);
// postgresql://… or postgres://… (libpq's URI forms); errors never repeat a password.
void set_database(ServeConfig& c, const std::string& where, const std::string& url);
// s3://BUCKET[/PREFIX] with a bucket name S3 accepts.
void set_object_store(ServeConfig& c, const std::string& where, const std::string& location);
// http://HOST[:PORT] or https://HOST[:PORT], no path.
void set_s3_endpoint(ServeConfig& c, const std::string& where, const std::string& url);
// 1-63 of [A-Za-z0-9._-]: it becomes part of worker ids and log lines.
void set_replica_id(ServeConfig& c, const std::string& where, const std::string& id);

// The file's shapes that are not a string or a list of strings; `file` names the file.
void add_mirrors_object(ServeConfig& c, const JsonField& mirrors, const std::string& file);
void add_kernels_array(ServeConfig& c, const JsonField& kernels, const std::string& file);
void add_tokens_array(ServeConfig& c, const JsonField& tokens, const std::string& file);
void add_signing_keys(ServeConfig& c, const JsonField& keys, const std::string& file);

} // namespace oci2eif::server::config_values
