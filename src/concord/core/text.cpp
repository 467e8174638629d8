#include "concord/core/text.hpp"

#include <charconv>
#include <cmath>

#include "concord/core/error.hpp"

namespace concord {
namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  std::int64_t x = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return x;
}

std::optional<double> parse_real(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double x = 0.0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(x)) return std::nullopt;
  return x;
}

ListItems split_list(std::string_view text) {
  ListItems out;
  std::string_view body = trim(text);
  const bool open = !body.empty() && body.front() == '[', close = !body.empty() && body.back() == ']';
  if (open != close || (open && body.size() < 2)) {
    out.error = "unbalanced brackets: write a list as 1,3,7 or [1, 3, 7]";
    return out;
  }
  if (open) {
    body = trim(body.substr(1, body.size() - 2));
    if (body.empty()) return out;  // "[]"
  }
  if (body.find_first_of("[]") != std::string_view::npos) {
    out.error = "nested brackets: a list holds plain entries, e.g. [1, 3, 7]";
    return out;
  }
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find(',', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view item = trim(body.substr(start, end - start));
    if (item.empty()) {
      out.error = "an empty entry: separate entries with single commas, e.g. 1,3,7";
      return out;
    }
    for (char c : item)
      if (blank(c)) {
        out.error = "entry '" + std::string(item) + "' has a space inside: separate entries with commas, e.g. 1,3,7";
        return out;
      }
    out.items.emplace_back(item);
    start = end + 1;
  }
  return out;
}

std::pair<std::string, std::string> split_assignment(std::string_view text, const std::string& where) {
  const auto eq = text.find('=');
  const std::string key(trim(text.substr(0, eq == std::string_view::npos ? 0 : eq)));
  bool blanks = false;
  for (char c : key) blanks = blanks || blank(c);
  if (eq == std::string_view::npos || key.empty() || blanks)
    throw InputError(where + ": '" + std::string(text) + "' is not of the form KEY=VALUE");
  return {key, std::string(text.substr(eq + 1))};
}

std::map<std::string, std::string> parse_assignments(const std::vector<std::string>& assignments,
                                                     const std::string& where) {
  std::map<std::string, std::string> out;
  for (const auto& text : assignments) {
    auto [key, value] = split_assignment(text, where);
    if (auto [it, fresh] = out.emplace(key, value); !fresh)
      throw InputError(where + ": parameter " + key + " given twice (" + key + "=" + it->second + " and " + key + "=" +
                       value + "); give it once");
  }
  return out;
}

std::string shell_quote(std::string_view text) {
  bool plain = !text.empty();
  for (char c : text)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("_-./=:,+@%").find(c) != std::string_view::npos);
  if (plain) return std::string(text);
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace concord
