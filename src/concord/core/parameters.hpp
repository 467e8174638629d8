#pragma once
/// \file parameters.hpp
/// Declared parameters: the one description of every configurable value -- its key, type,
/// default, range or allowed words, when it applies and its help -- from which deck validation,
/// the deck reference (docs/deck-reference.md), the CLI listings and the option structs are all
/// served. The catalogues (algorithms/catalog.hpp, problems/catalog.hpp, topology/registry.hpp)
/// declare their entries' parameters with it; io/deck.cpp assembles them into the deck schema.
///
/// A parameter that configures a C++ option struct is declared *bound* to the member it sets
/// (`bind`): its deck default is read from the struct's default member initializer, so a default
/// exists once, in the struct, and the deck cannot disagree with the library.
/// \code
///   struct Options { int period = 10; Variant variant = Variant::atc; };
///   const auto p = concord::parameters::bind(&Options::period,
///       concord::parameters::integer("period", "H: iterations between global averages", 1, 1e9));
///   // p.param.default_value == 10; p.assign(options, Tree(4)) sets options.period = 4.
/// \endcode
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "concord/core/error.hpp"

namespace concord {

/// A deck or a value of one as a tree: objects for ParameterLists, numbers / booleans / strings /
/// arrays for entries, in the deck's order.
using Tree = nlohmann::ordered_json;

enum class ParamType { integer, real, boolean, word, text, integer_list, topology_value };

/// When a parameter or section applies, evaluated on the validated deck so far (declaration
/// order: a condition may only look at parameters declared before it).
struct Condition {
  std::string description;  ///< e.g. "concord/problem/name is mlp"
  std::function<bool(const Tree& validated)> holds;
};

struct Param {
  std::string key;
  ParamType type = ParamType::text;
  Tree default_value;  ///< null: required (unless `optional`)
  /// Not filled in when absent: the consumer applies its own default (`default_note` says which).
  bool optional = false;
  std::string default_note;
  std::string type_note;  ///< shown as the type in the reference instead of `type` (topology keys)
  std::string doc;
  std::optional<double> min, max;
  bool min_open = false;           ///< min excluded
  std::vector<std::string> words;  ///< word: allowed values
  std::optional<Condition> when;
  /// bind() leaves the default null (required in decks) although the option struct has one.
  bool required = false;

  /// Same declaration (key, type, default, range, words, help): catalogue entries that share a
  /// parameter declare it alike, and the deck lists it once for all of them.
  bool same_declaration(const Param& o) const {
    return key == o.key && type == o.type && default_value == o.default_value && optional == o.optional &&
           doc == o.doc && min == o.min && max == o.max && min_open == o.min_open && words == o.words &&
           required == o.required && (when.has_value() == o.when.has_value()) &&
           (!when || when->description == o.when->description);
  }
};

struct Section {
  std::string key;
  std::string doc;
  std::vector<Param> params;
  std::vector<Section> sections;
  std::optional<Condition> when;
};

namespace parameters {

// Upper bounds of integer parameters, so that the validated value fits the C++ type it is read
// into: `int` for sizes (agents, samples, widths, ...), `std::int64_t` for iteration counts (a
// bound far beyond any run, with room for products such as iterations * batch), and the seed
// (std::uint64_t; bounded where a double represents every integer, so the check is exact).
inline constexpr double int_max = 2147483647.0;
inline constexpr double iterations_max = 1.0e12;
inline constexpr double seed_max = 9007199254740991.0;  // 2^53 - 1

/// The validated value at `path` (relative to concord/), or null.
const Tree& value_at(const Tree& validated, std::string_view path);

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

/// Applies when concord/<path> is one of `values`.
Condition when_in(const std::string& path, std::vector<std::string> values);
/// Applies when both do.
Condition both(Condition a, Condition b);

/// Declarations. `def` null: required. Bound parameters (`bind`) take their default from the
/// option struct and are declared without one.
Param integer(std::string key, Tree def, std::string doc, double min, double max);
Param integer(std::string key, std::string doc, double min, double max);
Param real(std::string key, Tree def, std::string doc, double min, bool min_open,
           std::optional<double> max = std::nullopt);
Param real(std::string key, std::string doc, double min, bool min_open, std::optional<double> max = std::nullopt);
Param boolean(std::string key, bool def, std::string doc);
Param boolean(std::string key, std::string doc);
Param word(std::string key, Tree def, std::vector<std::string> words, std::string doc);
Param text(std::string key, Tree def, std::string doc);
Param integer_list(std::string key, Tree def, std::string doc, double min, double max);
Param with(Param p, Condition c);
/// Required in decks even though the struct has a default (e.g. a step size has no sensible default).
Param required(Param p);

/// The names of an enum's values: one table serves the deck's allowed words, parsing and printing.
template <class Enum>
struct Words {
  std::string what;  ///< e.g. "variant", for messages
  std::vector<std::pair<std::string, Enum>> entries;

  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& e : entries) n.push_back(e.first);
    return n;
  }
  /// InputError naming `what`, the value and the allowed names otherwise.
  Enum parse(std::string_view name) const {
    for (const auto& [n, v] : entries)
      if (n == name) return v;
    throw InputError(std::string(what) + " '" + std::string(name) + "' is not known (allowed: " + join(names()) + ")");
  }
  const std::string& name(Enum value) const {
    for (const auto& e : entries)
      if (e.second == value) return e.first;
    throw std::logic_error("concord::parameters::Words: a value without a name in table '" + what + "'");
  }
};

/// A declared parameter bound to the member of `Options` it sets.
template <class Options>
struct Bound {
  Param param;
  std::function<void(Options&, const Tree&)> assign;
};

/// Binds `param` to the member `access(options)` returns a reference to (a member pointer or a
/// callable, for nested members such as `o.schedule.gamma`). The deck default is the member's
/// value in a default-constructed Options, unless `param` is `required`.
template <class Options, class Access>
Bound<Options> bind(Access access, Param param) {
  const auto member = [access](Options& o) -> decltype(auto) {
    if constexpr (std::is_member_object_pointer_v<Access>) return (o.*access);
    else return access(o);
  };
  using T = std::remove_cv_t<std::remove_reference_t<decltype(member(std::declval<Options&>()))>>;  // C++17: deck_teuchos.cpp
  if (param.default_value.is_null() && !param.optional && !param.required) {
    Options defaults{};
    param.default_value = Tree(member(defaults));
  }
  return {std::move(param), [member](Options& o, const Tree& v) { member(o) = v.get<T>(); }};
}

/// Binds a word parameter to an enum member through its name table (allowed words = its names).
template <class Options, class Access, class Enum>
Bound<Options> bind(Access access, const Words<Enum>& words, Param param) {
  const auto member = [access](Options& o) -> Enum& {
    if constexpr (std::is_member_object_pointer_v<Access>) return (o.*access);
    else return access(o);
  };
  param.type = ParamType::word;
  param.words = words.names();
  if (param.default_value.is_null() && !param.optional && !param.required) {
    Options defaults{};
    param.default_value = words.name(member(defaults));
  }
  return {std::move(param), [member, words](Options& o, const Tree& v) { member(o) = words.parse(v.get<std::string>()); }};
}

/// The same for a plain member: bind(&Options::period, integer("period", ...)).
template <class Options, class T>
Bound<Options> bind(T Options::*member, Param param) {
  return bind<Options>([member](Options& o) -> T& { return o.*member; }, std::move(param));
}
template <class Options, class Enum>
Bound<Options> bind(Enum Options::*member, const Words<Enum>& words, Param param) {
  return bind<Options>([member](Options& o) -> Enum& { return o.*member; }, words, std::move(param));
}

/// Sets every bound parameter present in `section` (a validated deck's list: only the parameters
/// that apply are there) on `options`.
template <class Options>
void assign(const std::vector<Bound<Options>>& bound, const Tree& section, Options& options) {
  for (const auto& b : bound)
    if (section.is_object() && section.contains(b.param.key)) b.assign(options, section.at(b.param.key));
}

/// The names of a catalogue's entries (any range of structs with a `name`), in order.
template <class Catalog>
std::vector<std::string> entry_names(const Catalog& catalog) {
  std::vector<std::string> names;
  for (const auto& e : catalog) names.push_back(e.name);
  return names;
}

/// The entry called `name`; InputError "unknown <what> '<name>' (allowed: ...)" otherwise.
template <class Catalog>
const auto& find_entry(const Catalog& catalog, std::string_view name, const std::string& what) {
  for (const auto& e : catalog)
    if (e.name == name) return e;
  throw InputError("unknown " + what + " '" + std::string(name) + "' (allowed: " + join(entry_names(catalog)) + ")");
}

/// The parameters of one catalogue entry (an algorithm, a problem, a data source).
struct EntryParams {
  std::string entry;
  std::vector<Param> params;
};

/// The deck declarations of a catalogue's parameters: each parameter once per declaration, with
/// the condition "concord/<selector> is one of <the entries declaring it alike>" (and its own
/// condition, if any), in order of first appearance. Entries that share a parameter declare it
/// alike (same key, type, default, range and help); two different declarations of one key get
/// one row each, with their own entries.
std::vector<Param> merge_entry_params(const std::vector<EntryParams>& entries, const std::string& selector);

}  // namespace parameters
}  // namespace concord
