#include "cli/commands.hpp"
#include "cli/terminal_text.hpp"
#include "core/eif_diff.hpp"
#include "core/file_stream.hpp"

#include <ostream>

namespace oci2eif::cli {
namespace {

using Json = nlohmann::ordered_json;

// A value of a change on one line: strings as they are (made printable), arrays and objects
// as compact JSON, absence as "(none)".
std::string value_text(const Json& v) {
  if (v.is_null()) {
    return "(none)";
  }
  if (v.is_string()) {
    return "\"" + printable(v.get<std::string>()) + "\"";
  }
  return printable(v.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string pcr_list(const std::vector<std::string>& pcrs) {
  std::string out;
  for (const std::string& p : pcrs) {
    out += (out.empty() ? "" : " ") + p;
  }
  return "[" + out + "]";
}

// "file /etc/motd changed: size 10 → 12, sha256 ab… → cd…"
std::string change_line(const EifChange& c) {
  std::string line = c.subject + (c.path.empty() ? "" : " " + printable(c.path)) + " " + c.change;
  if (c.change == "added") {
    return line + ": " + value_text(c.b);
  }
  if (c.change == "removed") {
    return line + ": " + value_text(c.a);
  }
  if (c.fields.empty() || !c.a.is_object()) {
    return line + ": " + value_text(c.a) + " -> " + value_text(c.b);
  }
  std::string sep = ": ";
  for (const std::string& f : c.fields) {
    line += sep + f + " " + value_text(c.a[f]) + " -> " + value_text(c.b[f]);
    sep = ", ";
  }
  return line;
}

void print_measurement(const char* name, const Bytes& a, const Bytes& b, std::ostream& out) {
  if (a == b) {
    out << name << "  same     " << to_hex(a) << "\n";
  } else {
    out << name << "  changed  " << (a.empty() ? "(none)" : to_hex(a)) << "\n"
        << "               -> " << (b.empty() ? "(none)" : to_hex(b)) << "\n";
  }
}

void print_human(const EifDiff& diff, std::ostream& out) {
  print_measurement("PCR0", diff.a.pcr0, diff.b.pcr0, out);
  print_measurement("PCR1", diff.a.pcr1, diff.b.pcr1, out);
  print_measurement("PCR2", diff.a.pcr2, diff.b.pcr2, out);
  if (diff.a.pcr8 || diff.b.pcr8) {
    print_measurement("PCR8", diff.a.pcr8.value_or(Bytes{}), diff.b.pcr8.value_or(Bytes{}), out);
  }
  bool measured_header = false;
  bool unmeasured_header = false;
  for (const EifChange& c : diff.changes) {
    if (!c.pcrs.empty() && !measured_header) {
      out << "\nMeasured differences:\n";
      measured_header = true;
    } else if (c.pcrs.empty() && !unmeasured_header) {
      out << "\nNot measured (no PCR covers them):\n";
      unmeasured_header = true;
    }
    out << "  " << (c.pcrs.empty() ? "" : pcr_list(c.pcrs) + " ") << change_line(c) << "\n";
  }
  if (diff.changes.empty()) {
    out << "\nThe images are the same in everything measured and in their metadata.\n";
  }
}

} // namespace

void run_diff(const DiffOptions& o, std::ostream& out) {
  FileSource a(o.a);
  FileSource b(o.b);
  const EifDiff diff =
      diff_eifs(read_eif_inventory(a, o.a.string()), read_eif_inventory(b, o.b.string()));
  if (o.json) {
    out << diff_json(diff).dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  } else {
    print_human(diff, out);
  }
}

} // namespace oci2eif::cli
