#include "concord/core/parameters.hpp"

#include <algorithm>

namespace concord::parameters {

const Tree& value_at(const Tree& validated, std::string_view path) {
  static const Tree null;
  if (!validated.is_object() || !validated.contains("concord")) return null;
  const Tree* node = &validated["concord"];
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string key(path.substr(start, end - start));
    if (!node->is_object() || !node->contains(key)) return null;
    node = &(*node)[key];
    start = end + 1;
  }
  return *node;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

Condition when_in(const std::string& path, std::vector<std::string> values) {
  const std::string description = "concord/" + path + (values.size() == 1 ? " is " : " is one of ") + join(values);
  return {description, [path, values](const Tree& v) {
            const Tree& x = value_at(v, path);
            return x.is_string() && std::find(values.begin(), values.end(), x.get<std::string>()) != values.end();
          }};
}

Condition both(Condition a, Condition b) {
  return {a.description + " and " + b.description, [a, b](const Tree& v) { return a.holds(v) && b.holds(v); }};
}

namespace {
Param make(std::string key, ParamType type, Tree def, std::string doc) {
  Param p;
  p.key = std::move(key);
  p.type = type;
  p.default_value = std::move(def);
  p.doc = std::move(doc);
  return p;
}
}  // namespace

Param integer(std::string key, Tree def, std::string doc, double min, double max) {
  Param p = make(std::move(key), ParamType::integer, std::move(def), std::move(doc));
  p.min = min;
  p.max = max;
  return p;
}

Param integer(std::string key, std::string doc, double min, double max) {
  return integer(std::move(key), nullptr, std::move(doc), min, max);
}

Param real(std::string key, Tree def, std::string doc, double min, bool min_open, std::optional<double> max) {
  Param p = make(std::move(key), ParamType::real, std::move(def), std::move(doc));
  p.min = min;
  p.min_open = min_open;
  p.max = max;
  return p;
}

Param real(std::string key, std::string doc, double min, bool min_open, std::optional<double> max) {
  return real(std::move(key), nullptr, std::move(doc), min, min_open, max);
}

Param boolean(std::string key, bool def, std::string doc) {
  return make(std::move(key), ParamType::boolean, def, std::move(doc));
}

Param boolean(std::string key, std::string doc) { return make(std::move(key), ParamType::boolean, nullptr, std::move(doc)); }

Param word(std::string key, Tree def, std::vector<std::string> words, std::string doc) {
  Param p = make(std::move(key), ParamType::word, std::move(def), std::move(doc));
  p.words = std::move(words);
  return p;
}

Param text(std::string key, Tree def, std::string doc) {
  return make(std::move(key), ParamType::text, std::move(def), std::move(doc));
}

Param integer_list(std::string key, Tree def, std::string doc, double min, double max) {
  Param p = make(std::move(key), ParamType::integer_list, std::move(def), std::move(doc));
  p.min = min;
  p.max = max;
  return p;
}

Param with(Param p, Condition c) {
  p.when = std::move(c);
  return p;
}

Param required(Param p) {
  p.required = true;
  p.default_value = nullptr;
  return p;
}

std::vector<Param> merge_entry_params(const std::vector<EntryParams>& entries, const std::string& selector) {
  std::vector<Param> merged;
  std::vector<std::vector<std::string>> names;
  for (const auto& e : entries)
    for (const auto& p : e.params) {
      std::size_t i = 0;
      while (i < merged.size() && !merged[i].same_declaration(p)) ++i;
      if (i == merged.size()) {
        merged.push_back(p);
        names.emplace_back();
      }
      names[i].push_back(e.entry);
    }
  for (std::size_t i = 0; i < merged.size(); ++i) {
    Condition c = when_in(selector, names[i]);
    merged[i].when = merged[i].when ? both(std::move(c), *merged[i].when) : std::move(c);
  }
  return merged;
}

}  // namespace concord::parameters
