// `oci2eif completion bash|zsh`: shell completion generated from the command line's own model
// (every subcommand and option CLI11 knows), as kubectl and gh do; the build also writes both
// scripts and `cmake --install` puts them where bash-completion and zsh look.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace oci2eif::cli {

// Completion scripts for `app` (its subcommands, their options and descriptions).
std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);

// Adds the `completion` subcommand to `app`, parsing its argument into `shell`; call it last,
// so the scripts cover every other subcommand.
void add_completion(CLI::App& app, std::string& shell);

} // namespace oci2eif::cli
