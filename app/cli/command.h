// glmv-cli sub-command registry. Each sub-command lives in its own cli/cmd_<name>.cpp and registers itself:
//
//   static int run_tokenize(glmv::cli::Args& args);
//   static glmv::cli::Registrar reg("tokenize", "--model DIR --text-file F   print token ids", run_tokenize);
//
// Commands print their machine-readable result on the last line of stdout; diagnostics go to stderr.
// Exit codes: 0 ok, 1 runtime error (bad file, …), 2 usage error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "glmv/inference/engine.h"

namespace glmv::cli {

// Minimal option parser: --name value, --flag, and positional arguments. Repeated options are kept in order.
class Args {
  public:
    Args(int argc, char** argv, int first);

    bool                     has(const std::string& name) const;
    std::optional<std::string> get(const std::string& name) const;      // last occurrence
    std::vector<std::string> get_all(const std::string& name) const;    // every occurrence
    std::string              get_or(const std::string& name, const std::string& fallback) const;
    // Parses an integer option; on a malformed value prints an error and returns false.
    bool                     get_int(const std::string& name, long long* out) const;
    bool                     get_double(const std::string& name, double* out) const;
    const std::vector<std::string>& positional() const { return positional_; }
    // Declares which options take a value (others are flags). Must be called before parsing accessors.
    static void              declare_value_options(const std::vector<std::string>& names);

  private:
    std::vector<std::pair<std::string, std::string>> options_; // name without "--", value ("" for flags)
    std::vector<std::string>                         positional_;
};

using CommandFn = int (*)(Args& args);

struct Command {
    std::string name;
    std::string usage;
    CommandFn   fn;
};

std::map<std::string, Command>& registry();

struct Registrar {
    Registrar(const std::string& name, const std::string& usage, CommandFn fn) {
        registry()[name] = Command{name, usage, fn};
    }
};

// Prints "error: <message>" to stderr and returns exit code 1.
int fail(const std::string& message);

// --prompt-arithmetic auto|exact|bf16 into *out (left as it is when the option is absent); false, with the error
// printed, for any other value.
bool read_prompt_arithmetic(const Args& args, PromptArithmetic* out);

} // namespace glmv::cli
