#pragma once
/// \file deck.hpp
/// Input decks: a Teuchos ParameterList (YAML or XML) with one top-level list `concord`,
/// validated against Concord's declared parameters before any work.
///
/// Every configurable object declares its parameters once -- key, type, default, allowed values or
/// range, when it applies, and a description: the catalogues of algorithms, problems, data sources
/// and topologies declare theirs, and deck_schema() assembles them with the run's own (seed,
/// agents, output, parallel). One declaration serves validation (the messages
/// name the full path, e.g. `concord/algorithm/step_sise`, what is allowed and the closest valid
/// key), the validated deck (defaults filled in), and docs/deck-reference.md
/// (`concord deck --reference`).
///
/// \code
///   auto raw = concord::io::parse_deck(text, "run.yaml");   // Teuchos YAML/XML -> tree
///   concord::io::apply_override(raw, "concord/algorithm/step_size=0.1");
///   concord::io::Deck deck = concord::io::validate_deck(raw);  // InputError on bad input
///   double gamma = deck.real("algorithm/step_size");
/// \endcode
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concord/core/parameters.hpp"

namespace concord::io {

/// A deck as a tree (core/parameters.hpp).
using concord::Tree;

enum class DeckFormat { yaml, xml };

/// YAML unless `name` ends in ".xml".
DeckFormat deck_format_of(std::string_view name);

/// Limits checked on the text before Teuchos reads it (its parsers are slow, or recurse, on
/// deep or long input; no deck comes near these).
inline constexpr std::size_t max_deck_bytes = 1 << 20;  ///< 1 MiB
inline constexpr int max_deck_depth = 16;               ///< nested lists, `concord` counting as 1
inline constexpr std::size_t max_value_length = 4096;   ///< characters of one value, key or line
inline constexpr std::size_t max_deck_entries = 1000;   ///< keys (parameters and lists) in a deck
/// Characters of a value quoted in a message (longer values end in "...").
inline constexpr std::size_t max_quoted_length = 60;

/// `text` in single quotes for a message, cut after `max_quoted_length` characters ("...").
std::string quote_value(std::string_view text);

/// Parses deck text with Teuchos (YAML or XML). `origin` names the deck in messages. InputError
/// (one line, "ORIGIN: line L: ...", naming the key where it is known) for: a deck over
/// `max_deck_bytes` or with more than `max_deck_entries` keys, a non-ASCII or control character, a line or value over `max_value_length`,
/// lists nested deeper than `max_deck_depth`, a key given twice in one list, an XML value that is
/// not a whole token of its type (`value="0.05abc"` for a double, `value="4294967297"` for an
/// int), a YAML tag (`!!int`), a syntax error, more or fewer than one top-level list, or a
/// top-level list not named `concord`. Returns {"concord": {...}}.
Tree parse_deck(const std::string& text, const std::string& origin, DeckFormat format);
/// Reads and parses a deck file (InputError naming the file when it cannot be read).
Tree read_deck_file(const std::string& path);

/// Applies one `PATH=VALUE` override to a raw deck, e.g. `concord/algorithm/step_size=0.1` or
/// `concord/topology/hops=[1,2,4]`. VALUE is read as an integer, a real, true/false, a list
/// `[a, b, ...]` or else a string. Intermediate lists are created. InputError for a malformed
/// override (the value itself is checked by `validate_deck`).
void apply_override(Tree& raw, const std::string& assignment);

// The declaration types live in core/parameters.hpp, where the catalogues of the lower layers
// (algorithms, problems, topologies) declare their parameters.
using concord::Condition;
using concord::Param;
using concord::ParamType;
using concord::Section;

/// The declaration of every deck parameter: the root section `concord`.
const Section& deck_schema();

/// A validated deck: every applicable parameter present (defaults filled in).
class Deck {
 public:
  explicit Deck(Tree validated) : tree_(std::move(validated)) {}
  const Tree& tree() const { return tree_; }
  /// Values by path relative to `concord/`, e.g. "algorithm/step_size". Missing paths throw.
  const Tree& at(std::string_view path) const;
  bool has(std::string_view path) const;
  std::int64_t integer(std::string_view path) const { return at(path).get<std::int64_t>(); }
  double real(std::string_view path) const { return at(path).get<double>(); }
  bool boolean(std::string_view path) const { return at(path).get<bool>(); }
  std::string text(std::string_view path) const { return at(path).get<std::string>(); }
  /// The validated deck as YAML (readable back by `parse_deck`).
  std::string yaml() const;

 private:
  Tree tree_;
};

/// Validates a raw deck: unknown keys (with the closest valid key), wrong types, values out of
/// range, unknown names (with the closest valid name), missing required parameters and
/// parameters that do not apply. Throws InputError with one message naming the path.
Deck validate_deck(const Tree& raw);

/// Paths (relative to concord/) whose values may change between a checkpoint and a restart:
/// the iteration count, outputs and the parallel set-up.
bool restart_may_change(std::string_view path);
/// Lines "concord/agents: 16 in the checkpoint, 32 in the deck" for every other difference
/// between two validated decks (empty when they match).
std::vector<std::string> restart_differences(const Tree& checkpoint, const Tree& deck);

/// YAML text of a tree (block style for lists, flow style for arrays; shortest round-trip reals).
std::string to_yaml(const Tree& tree);

/// docs/deck-reference.md: every parameter, generated from `deck_schema()`.
std::string deck_reference_markdown();

/// `concord deck --list`: the algorithms, problems and data sources of the catalogues, each with
/// its summary and its parameters (defaults or "required").
std::string catalog_listing();

}  // namespace concord::io
