#pragma once
/// \file text.hpp
/// One syntax for values typed as text — `concord topology --param K=V`, `concord compare
/// NAME:K=V`, `concord run --set PATH=VALUE` and topology parameters given as deck strings — so
/// that every entry point reads "1,3" and "1 3" the same way (a list, and a refused entry with a
/// space inside; never the number 13).
///
/// \code
///   concord::parse_integer(" 42 ");          // 42 (surrounding spaces are ignored)
///   concord::parse_integer("4 2");           // nullopt
///   concord::split_list("[1, 3, 7]").items;  // {"1", "3", "7"}
///   concord::split_list("1 3").error;        // "entry '1 3' has a space inside: separate entries with commas"
/// \endcode
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace concord {

/// `text` without leading and trailing blanks (spaces, tabs, CR, LF).
std::string_view trim(std::string_view text);

/// The whole of `text` (surrounding blanks ignored) as a decimal integer of 64 bits: optional
/// sign, digits only. nullopt for anything else, including values out of range.
std::optional<std::int64_t> parse_integer(std::string_view text);

/// The whole of `text` (surrounding blanks ignored) as a finite real ("0.5", "1e-3", "-2").
/// nullopt for anything else: trailing characters, inf, nan, an empty text.
std::optional<double> parse_real(std::string_view text);

/// The entries of a list written "a,b,c" or "[a, b, c]", each trimmed. `error` (empty when the
/// list is well formed) says what is wrong: an empty entry ("1,,2", "1,"), an entry with a blank
/// inside ("1 3": entries are separated by commas, never merged), unbalanced or nested brackets.
/// "[]" is the empty list; "" is one empty entry (an error).
struct ListItems {
  std::vector<std::string> items;
  std::string error;
};
ListItems split_list(std::string_view text);

/// KEY=VALUE split at the first '='. InputError "`where`: 'TEXT' is not of the form KEY=VALUE"
/// when there is no '=' or the key is empty or has blanks.
std::pair<std::string, std::string> split_assignment(std::string_view text, const std::string& where);

/// Several KEY=VALUE assignments as a map; a key given twice is refused (InputError naming it and
/// both values), never silently replaced.
std::map<std::string, std::string> parse_assignments(const std::vector<std::string>& assignments,
                                                     const std::string& where);

/// `text` quoted for a POSIX shell when it needs quoting (for commands printed to be pasted).
std::string shell_quote(std::string_view text);

}  // namespace concord
