#include "concord/io/deck.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "concord/algorithms/catalog.hpp"
#include "concord/comm/transport.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"
#include "concord/core/text.hpp"
#include "concord/problems/catalog.hpp"
#include "concord/problems/setup.hpp"
#include "concord/topology/registry.hpp"

namespace concord::io {
namespace {

// ---------------------------------------------------------------------------------------------
// Declaring parameters
// ---------------------------------------------------------------------------------------------

using namespace concord::parameters;

std::vector<std::string> topology_names() {
  std::vector<std::string> names;
  for (const auto& t : topology::topology_catalog()) names.push_back(t.name);
  return names;
}

Section topology_section() {
  Section s;
  s.key = "topology";
  s.doc = "The communication graph and its weights W (docs/topologies.md). Its parameters depend on `name`; "
          "ranges and validity for the number of agents are checked when the topology is built, before any "
          "data is read. Random topologies use `concord/seed`.";
  s.params.push_back(word("name", nullptr, topology_names(), "the topology"));
  // One declaration per (key, topologies sharing that declaration).
  struct Shared {
    topology::ParameterInfo info;
    std::vector<std::string> topologies;
  };
  std::vector<Shared> shared;
  for (const auto& t : topology::topology_catalog())
    for (const auto& p : t.parameters) {
      auto same = std::find_if(shared.begin(), shared.end(), [&](const Shared& s) {
        return s.info.key == p.key && s.info.type == p.type && s.info.default_value == p.default_value &&
               s.info.help == p.help;
      });
      if (same == shared.end()) shared.push_back({p, {t.name}});
      else same->topologies.push_back(t.name);
    }
  for (const auto& [info, topologies] : shared) {
    Param p;
    p.key = info.key;
    p.type = ParamType::topology_value;
    // The topology applies its own defaults (some depend on which keys are given, e.g. hops or M).
    p.optional = true;
    p.default_note = info.default_value.empty() ? "none" : info.default_value;
    p.doc = info.help;
    p.type_note = info.type == "word" ? "word" : info.type == "path" ? "string" : info.type == "real" ? "real"
                : info.type == "int" ? (info.default_value == "auto" ? "integer or auto" : "integer")
                : info.default_value == "complete" ? "integer list or complete" : "integer list";
    p.when = when_in("topology/name", topologies);
    s.params.push_back(std::move(p));
  }
  return s;
}

Section problem_section() {
  Section s;
  s.key = "problem";
  s.doc = "The local objectives f_i and the data they are built from (docs/algorithms.md). Each problem's and each "
          "data source's parameters are declared by its catalogue entry (src/concord/problems/catalog.hpp).";
  s.params.push_back(word("name", nullptr, problems::problem_names(),
                          "least_squares; logistic_regression (binary for 2 classes, multinomial otherwise); mlp"));
  for (auto& p : problems::problem_deck_parameters()) s.params.push_back(std::move(p));
  // How the driver places the agents' initial models (driver/run.cpp).
  s.params.push_back(word("initial", "point", {"point", "normal", "index"},
                          "the agents' initial models: point (the problem's initial point, every agent alike); "
                          "normal (that point plus initial_scale * N(0, I), from agent i's own stream); index "
                          "(x_i = initial_scale * i in every coordinate, e.g. the lecture's x = (0, 1, 2, 3, 4))"));
  s.params.push_back(with(real("initial_scale", 1.0, "scale of the initial models' spread", 0.0, true),
                          when_in("problem/initial", {"normal", "index"})));

  Section d;
  d.key = "data";
  d.doc = "Where the samples come from and how they are spread over the agents.";
  d.params.push_back(word("source", "synthetic", problems::data_sources(),
                          "synthetic (generated from concord/seed), hdf5 (/features, /targets, optional /owner), "
                          "libsvm (text), fashion_mnist (Debian's dataset-fashion-mnist)"));
  for (auto& p : problems::data_deck_parameters()) d.params.push_back(std::move(p));
  s.sections.push_back(std::move(d));
  return s;
}

Section algorithm_section() {
  Section s;
  s.key = "algorithm";
  s.doc = "The optimizer and its step sizes (docs/algorithms.md). Each algorithm's parameters are declared by its "
          "catalogue entry (src/concord/algorithms/catalog.hpp).";
  s.params.push_back(word("name", nullptr, algorithms::algorithm_names(), "the algorithm"));
  for (auto& p : algorithms::algorithm_deck_parameters()) s.params.push_back(std::move(p));
  s.params.push_back(integer("iterations", nullptr, "iterations to run (in total, counting those before a restart)", 0, iterations_max));
  s.params.push_back(with(integer("batch_size", 0, "minibatch per agent and iteration (0 = full local gradient)", 0, int_max),
                          when_in("algorithm/name", algorithms::descending_algorithm_names())));
  for (auto& sub : algorithms::algorithm_deck_sections()) s.sections.push_back(std::move(sub));
  return s;
}

Section output_section() {
  Section s;
  s.key = "output";
  s.doc = "The HDF5 trajectory, checkpoints and progress lines (docs/outputs.md).";
  s.params.push_back(text("file", "concord.h5", "trajectory file (metrics every log_every iterations, snapshots)"));
  s.params.push_back(boolean("overwrite", false, "replace an existing output file (otherwise the run refuses to start)"));
  s.params.push_back(integer("log_every", 10, "iterations between trajectory records", 1, iterations_max));
  s.params.push_back(integer("evaluation_samples", 0,
                             "samples per agent on which each record's metrics are computed, a fixed subset of the "
                             "training and of the test set drawn once (0 = all samples)",
                             0, iterations_max));
  s.params.push_back(integer("progress_every", 0,
                             "iterations between progress lines on rank 0 (0 = about 20 lines per run, at log "
                             "records)",
                             0, iterations_max));
  s.params.push_back(integer("checkpoint_every", 0,
                             "iterations between checkpoints (0 = only at the end and when interrupted)", 0,
                             iterations_max));
  s.params.push_back(text("checkpoint_file", "",
                          "checkpoint file (\"\" = the output file with .h5 replaced by .checkpoint.h5); replaced "
                          "atomically"));
  s.params.push_back(integer("snapshot_every", 0, "iterations between snapshots of every agent's model (0 = never)", 0, iterations_max));
  s.params.push_back(integer("check_finite_every", 0,
                             "iterations between NaN/Inf checks of the models (0 = at log records and checkpoints)", 0,
                             iterations_max));
  s.params.push_back(boolean("time_phases", true,
                             "split each step's time into compute and communication (fences at phase boundaries) and write the time "
                             "columns time_compute, time_comm, time_metrics and time_elapsed"));
  return s;
}

Section parallel_section() {
  Section s;
  s.key = "parallel";
  s.doc = "How the ranks talk. The number of ranks is the launcher's (mpiexec -n, srun); results do not depend on it.";
  for (const auto& b : comm::transport_parameters()) s.params.push_back(b.param);
  s.params.push_back(integer("threads", 0,
                             "OpenMP threads of each rank's iterations: 0 = automatic (one thread when a step is below "
                             "65536 multiply-adds per rank, all of them otherwise), N = at most N; results do not depend "
                             "on it; ignored by Serial and CUDA builds",
                             0, int_max));
  for (const auto& b : algorithms::straggler_parameters()) s.params.push_back(b.param);
  return s;
}

Section make_schema() {
  Section root;
  root.key = "concord";
  root.doc = "A Concord run.";
  root.params.push_back(integer("seed", static_cast<std::int64_t>(default_seed),
                                "seed of every random stream (data, minibatches, random topologies, initial models)", 0,
                                seed_max));
  root.params.push_back(integer("agents", nullptr, "number of agents n (at least the number of ranks)", 1, int_max));
  root.sections = {topology_section(), problem_section(), algorithm_section(), output_section(), parallel_section()};
  return root;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// " (did you mean 'x'?)" when a candidate is close enough to be a plausible typo.
std::string closest(const std::string& given, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const auto d = edit_distance(given, c);
    if (d < best_d) best_d = d, best = c;
  }
  if (best.empty() || best_d > std::max<std::size_t>(2, given.size() / 3)) return "";
  return " (did you mean '" + best + "'?)";
}

std::string type_name(const Tree& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a real number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list of values";
  if (v.is_object()) return "a parameter list";
  return "nothing";
}

/// A value for a message: strings quoted, anything long cut after max_quoted_length characters.
std::string show(const Tree& v) {
  if (v.is_string()) return quote_value(v.get<std::string>());
  if (v.is_number_float()) return shortest(v.get<double>());
  std::string s = v.dump(-1, ' ', true, Tree::error_handler_t::replace);  // ASCII, escaped
  return s.size() <= max_quoted_length ? s : s.substr(0, max_quoted_length) + "...";
}

/// A key for a message: printable, cut after max_quoted_length characters.
std::string show_key(const std::string& key) {
  const std::string q = quote_value(key);
  return q.substr(1, q.size() - 2);
}

std::string bound_text(const Param& p, double x) {
  // Integer bounds are written out in full (2147483647, not 2.147483647e9).
  const bool integral = p.type == ParamType::integer || p.type == ParamType::integer_list;
  if (integral && std::abs(x) < 9.0e15) return std::to_string(static_cast<std::int64_t>(x));
  return shortest(x);
}

std::string range_text(const Param& p) {
  std::string lo = p.min ? std::string(p.min_open ? "> " : ">= ") + bound_text(p, *p.min) : "";
  std::string hi = p.max ? "<= " + bound_text(p, *p.max) : "";
  return join([&] {
    std::vector<std::string> v;
    if (!lo.empty()) v.push_back(lo);
    if (!hi.empty()) v.push_back(hi);
    return v;
  }());
}

void check_range(const Param& p, double x, const std::string& where, const Tree& shown) {
  const bool low = p.min && (p.min_open ? x <= *p.min : x < *p.min);
  const bool high = p.max && x > *p.max;
  if (low || high) throw InputError(where + ": " + show(shown) + " is out of range; allowed: " + range_text(p));
}

bool is_integer(const Tree& v) { return v.is_number_integer() && !v.is_boolean(); }

/// An integer entry as int64 (numbers above the int64 range compare as out of range).
double integer_value(const Tree& v) {
  if (v.is_number_unsigned()) return static_cast<double>(v.get<std::uint64_t>());
  return static_cast<double>(v.get<std::int64_t>());
}

std::string type_text(const Param& p);

Tree check_value(const Param& p, const Tree& v, const std::string& where) {
  auto wrong = [&](const std::string& expected) {
    return InputError(where + ": expected " + expected + ", got " + type_name(v) + " " + show(v));
  };
  switch (p.type) {
    case ParamType::integer:
      if (!is_integer(v)) throw wrong("an integer");
      check_range(p, integer_value(v), where, v);
      return v;
    case ParamType::real: {
      if (!v.is_number() || v.is_boolean()) throw wrong("a real number");
      const double x = v.get<double>();
      if (!std::isfinite(x)) throw InputError(where + ": " + show(v) + " is not a finite number");
      check_range(p, x, where, v);
      return Tree(x);
    }
    case ParamType::boolean:
      if (!v.is_boolean()) throw wrong("true or false");
      return v;
    case ParamType::word: {
      if (!v.is_string()) throw wrong("one of " + join(p.words));
      const auto s = v.get<std::string>();
      if (std::find(p.words.begin(), p.words.end(), s) == p.words.end())
        throw InputError(where + ": unknown value " + quote_value(s) + closest(s, p.words) + "; allowed: " + join(p.words));
      return v;
    }
    case ParamType::text:
      if (!v.is_string()) throw wrong("a string");
      return v;
    case ParamType::integer_list: {
      if (is_integer(v)) return check_value(p, Tree::array({v}), where);
      if (!v.is_array() || v.empty()) throw wrong("a non-empty list of integers, e.g. [1, 2]");
      for (const auto& x : v) {
        if (!is_integer(x)) throw wrong("a list of integers");
        check_range(p, integer_value(x), where, x);
      }
      return v;
    }
    case ParamType::topology_value:
      // Checked by the topology itself (ranges depend on n): numbers, words ("auto") or lists.
      if (v.is_array()) {
        for (const auto& x : v)
          if (!is_integer(x)) throw wrong("a list of integers");
        return v;
      }
      if (!(v.is_string() || v.is_number()) || v.is_boolean()) throw wrong("a number or a word");
      // Words and numbers are short (the topology echoes them in its own messages); only a path
      // (the matrix file) may be long.
      if (v.is_string() && p.type_note != "string" && v.get<std::string>().size() > max_quoted_length)
        throw InputError(where + ": " + show(v) + " is too long for " + type_text(p) + " (at most " +
                         std::to_string(max_quoted_length) + " characters)");
      return v;
  }
  return v;
}

void validate_section(const Section& section, const Tree& raw, const std::string& path, Tree& out, Tree& root) {
  if (!raw.is_object())
    throw InputError(path + ": expected a parameter list (e.g. `" + section.key + ": { key: value }`), got " +
                     type_name(raw) + " " + show(raw));
  std::vector<std::string> keys;
  for (const auto& p : section.params) keys.push_back(p.key);
  for (const auto& s : section.sections) keys.push_back(s.key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const auto& [key, value] : raw.items())
    if (!std::binary_search(keys.begin(), keys.end(), key))
      throw InputError(path + "/" + show_key(key) + ": unknown parameter" + closest(key, keys) + "; valid keys in " + path +
                       ": " + join(keys));

  std::set<std::string> used;
  for (const auto& p : section.params) {
    if (p.when && !p.when->holds(root)) continue;
    const std::string where = path + "/" + p.key;
    used.insert(p.key);
    if (raw.contains(p.key)) out[p.key] = check_value(p, raw[p.key], where);
    else if (!p.default_value.is_null()) out[p.key] = p.default_value;
    else if (p.optional) used.insert(p.key);
    else throw InputError(where + ": missing required parameter (" + p.doc + ")");
  }
  for (const auto& s : section.sections) {
    if (s.when && !s.when->holds(root)) continue;
    used.insert(s.key);
    out[s.key] = Tree::object();
    validate_section(s, raw.contains(s.key) ? raw[s.key] : Tree::object(), path + "/" + s.key, out[s.key], root);
  }
  for (const auto& [key, value] : raw.items()) {
    if (used.count(key)) continue;
    std::vector<std::string> conditions;
    for (const auto& p : section.params)
      if (p.key == key && p.when) conditions.push_back(p.when->description);
    for (const auto& sub : section.sections)
      if (sub.key == key && sub.when) conditions.push_back(sub.when->description);
    throw InputError(path + "/" + show_key(key) + ": does not apply here; it is used only when " + join(conditions, ", or when "));
  }
}

// ---------------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------------

std::string yaml_scalar(const Tree& v) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    const bool plain = !s.empty() && s.find_first_of(":#{}[],&*!|>'\"%@`") == std::string::npos &&
                       s.front() != ' ' && s.back() != ' ' && s.front() != '-' && s != "true" && s != "false" &&
                       s != "null" && s != "~" && [&] {
                         double x;
                         auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
                         return ec != std::errc() || ptr != s.data() + s.size();
                       }();
    if (plain) return s;
    std::string q = "\"";
    for (char c : s) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return q + "\"";
  }
  if (v.is_number_float()) {
    std::string s = shortest(v.get<double>());
    // Keep reals real when read back ("1" would become an integer).
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
  }
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + yaml_scalar(v[i]);
    return out + "]";
  }
  return v.dump();
}

void write_yaml(const Tree& node, int indent, std::string& out) {
  for (const auto& [key, value] : node.items()) {
    // An empty list is a list parameter left at its default (none: a deck may not write []),
    // which Teuchos's YAML cannot type: leave it out, reading the text back gives it again.
    if (value.is_array() && value.empty()) continue;
    out += std::string(indent, ' ') + key + ":";
    if (value.is_object()) {
      out += "\n";
      write_yaml(value, indent + 2, out);
    } else {
      out += " " + yaml_scalar(value) + "\n";
    }
  }
}

void collect_differences(const Tree& a, const Tree& b, const std::string& path, std::vector<std::string>& out) {
  const std::string prefix = "/concord/";
  const std::string rel = path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : "";
  if (!rel.empty() && restart_may_change(rel)) return;
  if (a.is_object() && b.is_object()) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.push_back(k);
    for (const auto& [k, v] : b.items())
      if (!a.contains(k)) keys.push_back(k);
    for (const auto& k : keys) {
      const Tree none;
      collect_differences(a.contains(k) ? a[k] : none, b.contains(k) ? b[k] : none, path + "/" + k, out);
    }
    return;
  }
  if (a != b)
    out.push_back(path + ": " + (a.is_null() ? std::string("absent") : yaml_scalar(a)) + " in the checkpoint, " +
                  (b.is_null() ? std::string("absent") : yaml_scalar(b)) + " in the deck");
}

// ---------------------------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------------------------

std::string type_text(const Param& p) {
  if (!p.type_note.empty()) return p.type_note;
  switch (p.type) {
    case ParamType::integer: return "integer";
    case ParamType::real: return "real";
    case ParamType::boolean: return "boolean";
    case ParamType::word: return "word";
    case ParamType::text: return "string";
    case ParamType::integer_list: return "integer list";
    case ParamType::topology_value: return "number or word";
  }
  return "";
}

std::string cell(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void reference_section(const Section& s, const std::string& path, std::string& out) {
  out += "\n## `" + path + "`\n\n" + s.doc + "\n";
  if (s.when) out += "\nPresent when " + s.when->description + ".\n";
  if (!s.params.empty()) {
    out += "\n| key | type | default | allowed | applies when | description |\n|---|---|---|---|---|---|\n";
    for (const auto& p : s.params) {
      std::string allowed = p.type == ParamType::word ? join(p.words) : range_text(p);
      if (p.type == ParamType::boolean) allowed = "true, false";
      const std::string def = p.optional                  ? p.default_note
                              : p.default_value.is_null() ? "**required**"
                                                          : "`" + yaml_scalar(p.default_value) + "`";
      out += "| `" + p.key + "` | " + type_text(p) + " | " + cell(def) + " | " + cell(allowed) + " | " +
             cell(p.when ? p.when->description : "always") + " | " + cell(p.doc) + " |\n";
    }
  }
  if (!s.sections.empty()) {
    out += "\nSub-lists:";
    for (const auto& sub : s.sections) out += " `" + sub.key + "`";
    out += "\n";
  }
  for (const auto& sub : s.sections) reference_section(sub, path + "/" + sub.key, out);
}

/// An override's VALUE read the way a YAML scalar or flow sequence would be, with the parsers
/// every command-line value goes through (concord/core/text.hpp): an integer, a real, true/false,
/// a quoted string, a list [a, b, ...] of those, or else a string ("1 3" stays the string "1 3",
/// which an integer or list parameter then refuses).
Tree override_value(const std::string& value, const std::string& where) {
  auto scalar = [](std::string_view s) -> Tree {
    s = trim(s);
    if (auto i = parse_integer(s)) return *i;
    if (auto x = parse_real(s)) return *x;
    if (s == "true") return true;
    if (s == "false") return false;
    if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
      return std::string(s.substr(1, s.size() - 2));
    return std::string(s);
  };
  const std::string_view v = trim(value);
  if (v.empty() || (v.front() != '[' && v.back() != ']')) return scalar(v);
  const auto list = split_list(v);
  if (!list.error.empty())
    throw InputError(where + ": " + (list.error.size() <= 2 * max_quoted_length ? list.error
                                                                   : list.error.substr(0, 2 * max_quoted_length) + "...") +
                     " (expected PATH=[a, b, ...] for a list)");
  Tree out = Tree::array();
  for (const auto& item : list.items) out.push_back(scalar(item));
  return out;
}

}  // namespace

DeckFormat deck_format_of(std::string_view name) {
  return name.size() >= 4 && name.substr(name.size() - 4) == ".xml" ? DeckFormat::xml : DeckFormat::yaml;
}

Tree read_deck_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("deck " + path + ": cannot be read (missing file or no permission)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_deck(text.str(), path, deck_format_of(path));
}

void apply_override(Tree& raw, const std::string& assignment) {
  const auto eq = assignment.find('=');
  const std::string usage = " (expected PATH=VALUE, e.g. concord/algorithm/step_size=0.1)";
  const std::string shown = quote_value(assignment);
  if (assignment.size() > max_value_length)
    throw InputError("--set " + shown + ": longer than " + std::to_string(max_value_length) + " characters");
  for (const char c : assignment)
    if (static_cast<unsigned char>(c) > 126 || (static_cast<unsigned char>(c) < 32 && c != '\t'))
      throw InputError("--set " + shown + ": a non-ASCII or control character; values are plain ASCII");
  if (eq == std::string::npos || eq == 0) throw InputError("--set " + shown + ": malformed" + usage);
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  if (path.rfind("concord/", 0) != 0 || path.size() <= 8 || path.back() == '/')
    throw InputError("--set " + shown + ": the path must start with concord/ and name a parameter" + usage);
  Tree* node = &raw;
  std::size_t start = 0;
  for (;;) {
    const auto slash = path.find('/', start);
    const std::string key = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (key.empty()) throw InputError("--set " + shown + ": empty path component" + usage);
    if (!node->is_object()) throw InputError("--set " + shown + ": " + show_key(path.substr(0, start - 1)) + " is not a list");
    if (slash == std::string::npos) {
      (*node)[key] = override_value(value, "--set " + shown);
      return;
    }
    node = &(*node)[key];
    if (node->is_null()) *node = Tree::object();
    start = slash + 1;
  }
}

const Section& deck_schema() {
  static const Section schema = make_schema();
  return schema;
}

Deck validate_deck(const Tree& raw) {
  if (!raw.is_object() || !raw.contains("concord") || raw.size() != 1)
    throw InputError("a deck has exactly one top-level list, `concord`");
  Tree root = Tree::object();
  root["concord"] = Tree::object();
  validate_section(deck_schema(), raw["concord"], "concord", root["concord"], root);
  return Deck(std::move(root));
}

const Tree& Deck::at(std::string_view path) const {
  const Tree& v = value_at(tree_, std::string(path));
  if (v.is_null()) throw std::logic_error("deck value concord/" + std::string(path) + " is not set");
  return v;
}

bool Deck::has(std::string_view path) const { return !value_at(tree_, std::string(path)).is_null(); }

std::string Deck::yaml() const { return to_yaml(tree_); }

std::string to_yaml(const Tree& tree) {
  std::string out;
  write_yaml(tree, 0, out);
  return out;
}

bool restart_may_change(std::string_view path) {
  return path == "algorithm/iterations" || path.rfind("output", 0) == 0 || path.rfind("parallel", 0) == 0;
}

std::vector<std::string> restart_differences(const Tree& checkpoint, const Tree& deck) {
  std::vector<std::string> out;
  collect_differences(checkpoint, deck, "", out);
  // Paths were built from the root: "/concord/..." -> "concord/...".
  for (auto& line : out)
    if (!line.empty() && line.front() == '/') line.erase(0, 1);
  return out;
}

std::string deck_reference_markdown() {
  std::string out =
      "# Deck reference\n\n"
      "<!-- Generated by `concord deck --reference` from the parameter declarations: the catalogues "
      "(src/concord/algorithms/catalog.hpp, src/concord/problems/catalog.hpp, src/concord/topology/registry.hpp) and "
      "src/concord/io/deck.cpp; a test keeps this file current. Do not edit by hand. -->\n\n"
      "A deck is a Teuchos ParameterList in YAML (or XML) with one top-level list, `concord`. Every key below is "
      "checked before any work: a misspelled key, a wrong type, a value out of range or an unknown name stops the "
      "run with one message naming the path (e.g. `concord/algorithm/step_sise`), what is allowed and the closest "
      "valid key. Keys that apply only to some choices (\"applies when\") are refused elsewhere. Any value can be "
      "overridden on the command line: `concord run DECK --set concord/algorithm/step_size=0.1`.\n\n"
      "Integers are bounded so that the validated value fits the type the run reads it into: sizes (agents, "
      "samples, dimensions, widths, batch sizes, ...) at most 2147483647 (a C++ `int`), iteration counts at most "
      "1000000000000, the seed at most 9007199254740991 (2^53 - 1). Before Teuchos reads a deck, its text is "
      "bounded too: at most 1 MiB, 1000 keys, lists nested at most 16 deep, lines and values of at most 4096 "
      "characters, plain ASCII; a key given twice in one list is refused (in YAML and in XML), and an XML value "
      "must be a whole token of its `type` (`value=\"0.05abc\"` is not a double). Messages quote at most 60 "
      "characters of a value.\n\n"
      "```yaml\n"
      "concord:\n"
      "  seed: 1\n"
      "  agents: 16\n"
      "  topology: { name: ring }\n"
      "  problem:\n"
      "    name: least_squares\n"
      "    data: { source: synthetic, samples_per_agent: 50, dimension: 10, heterogeneity: 1.0 }\n"
      "  algorithm: { name: gradient_tracking, step_size: 0.05, iterations: 1000, batch_size: 0 }\n"
      "  output: { file: run.h5, log_every: 10, checkpoint_every: 100 }\n"
      "```\n";
  reference_section(deck_schema(), "concord", out);
  return out;
}

namespace {
/// "key = default" or "key (required)" for a listing.
std::string listed(const Param& p) {
  if (p.default_value.is_null()) return p.key + " (required)";
  if (p.default_value.is_string())
    return p.key + " = " + (p.default_value.get<std::string>().empty() ? "\"\"" : p.default_value.get<std::string>());
  return p.key + " = " + show(p.default_value);
}

void list_entry(std::string& out, const std::string& name, const std::string& summary, const std::vector<Param>& params) {
  out += fmt::format("  {:<20} {}\n", name, summary);
  if (params.empty()) return;
  std::vector<std::string> items;
  for (const auto& p : params) items.push_back(listed(p));
  out += fmt::format("  {:<20} parameters: {}\n", "", join(items));
}
}  // namespace

std::string catalog_listing() {
  std::string out = "algorithms (concord/algorithm/name); every one but gossip also takes the step-size parameters:\n";
  for (const auto& a : algorithms::algorithm_catalog()) {
    std::vector<Param> params;
    for (const auto& b : a.parameters) params.push_back(b.param);
    list_entry(out, a.name, a.summary, params);
  }
  std::vector<Param> step;
  for (const auto& b : algorithms::step_size_parameters()) step.push_back(b.param);
  list_entry(out, "(step size)", "gamma_k from a schedule (docs/algorithms.md)", step);
  out += "\nproblems (concord/problem/name):\n";
  for (const auto& p : problems::problem_catalog()) {
    std::vector<Param> params;
    for (const auto& b : problems::common_problem_parameters()) params.push_back(b.param);
    for (const auto& b : p.parameters) params.push_back(b.param);
    list_entry(out, p.name, p.summary, params);
  }
  out += "\ndata sources (concord/problem/data/source):\n";
  for (const auto& d : problems::data_source_catalog()) {
    std::vector<Param> params;
    for (const auto& b : d.parameters) params.push_back(b.param);
    list_entry(out, d.name, d.summary, params);
  }
  out += "\ntopologies (concord/topology/name): concord topology --list\n";
  return out;
}

}  // namespace concord::io
