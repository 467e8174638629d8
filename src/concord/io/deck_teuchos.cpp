// Compiled at C++17 (Teuchos headers do not compile as C++20 with g++ 12): see CMakeLists.txt.
// The only place Teuchos' ParameterList reaches: deck text in, a plain tree out.
#include <Teuchos_ParameterList.hpp>
#include <Teuchos_XMLParameterListCoreHelpers.hpp>
#include <Teuchos_YamlParameterListCoreHelpers.hpp>

#include <sstream>

#include "concord/core/error.hpp"
#include "concord/io/deck.hpp"

namespace concord::io {
namespace {

template <class T>
bool convert_array(const Teuchos::any& value, Tree& out) {
  if (value.type() != typeid(Teuchos::Array<T>)) return false;
  out = Tree::array();
  for (const auto& v : Teuchos::any_cast<Teuchos::Array<T>>(value)) out.push_back(v);
  return true;
}

Tree convert(const Teuchos::ParameterList& list, const std::string& path) {
  Tree out = Tree::object();
  for (auto it = list.begin(); it != list.end(); ++it) {
    const std::string& name = list.name(it);
    const Teuchos::ParameterEntry& entry = list.entry(it);
    const std::string where = path + "/" + name;
    if (entry.isList()) {
      out[name] = convert(Teuchos::getValue<Teuchos::ParameterList>(entry), where);
      continue;
    }
    const Teuchos::any& value = entry.getAny(false);
    Tree& v = out[name];
    if (value.type() == typeid(int)) v = Teuchos::any_cast<int>(value);
    else if (value.type() == typeid(long long)) v = Teuchos::any_cast<long long>(value);
    else if (value.type() == typeid(double)) v = Teuchos::any_cast<double>(value);
    else if (value.type() == typeid(bool)) v = Teuchos::any_cast<bool>(value);
    else if (value.type() == typeid(std::string)) v = Teuchos::any_cast<std::string>(value);
    else if (convert_array<int>(value, v) || convert_array<long long>(value, v) || convert_array<double>(value, v) ||
             convert_array<std::string>(value, v)) {
    } else {
      throw InputError(where + ": unsupported value type " + value.typeName() +
                       " (use numbers, true/false, strings, lists of those, or nested lists)");
    }
  }
  return out;
}

/// Teuchos' own message for several top-level YAML keys is opaque: find them first.
std::vector<std::string> top_level_yaml_keys(const std::string& text) {
  std::vector<std::string> keys;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == '-' || line[0] == '%' ||
        line[0] == '.' || line[0] == '\r')
      continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) keys.push_back(line.substr(0, colon));
  }
  return keys;
}

/// Where the outermost element starts (after the XML declaration and comments); npos if none.
std::size_t first_element(const std::string& text) {
  std::size_t pos = text.find('<');
  while (pos != std::string::npos) {
    if (text.compare(pos, 4, "<!--") == 0) {
      const auto end = text.find("-->", pos + 4);
      pos = end == std::string::npos ? end : text.find('<', end + 3);
    } else if (text.compare(pos, 2, "<?") == 0 || text.compare(pos, 2, "<!") == 0) {
      const auto end = text.find('>', pos + 2);
      pos = end == std::string::npos ? end : text.find('<', end + 1);
    } else {
      return pos;
    }
  }
  return pos;
}

}  // namespace

Tree parse_deck(const std::string& text, const std::string& origin, DeckFormat format) {
  // Teuchos' parsers read ASCII only (even in comments); say where the first other byte is.
  for (std::size_t i = 0, line = 1, column = 1; i < text.size(); ++i, ++column) {
    if (text[i] == '\n') line += 1, column = 0;
    if (static_cast<unsigned char>(text[i]) > 127)
      throw InputError(origin + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                       ": a non-ASCII character; decks must be plain ASCII (also in comments)");
  }
  Teuchos::RCP<Teuchos::ParameterList> list;
  std::string top;
  if (format == DeckFormat::yaml) {
    const auto keys = top_level_yaml_keys(text);
    if (keys.size() != 1 || keys[0] != "concord") {
      std::string found;
      for (const auto& k : keys) found += (found.empty() ? "" : ", ") + k;
      throw InputError(origin + ": a deck has exactly one top-level list, `concord:` (found " +
                       (found.empty() ? std::string("none") : found) + ")");
    }
    try {
      list = Teuchos::getParametersFromYamlString(text);
    } catch (const std::exception& e) {
      throw InputError(origin + ": not valid YAML for a Teuchos ParameterList: " + e.what());
    }
    top = "concord";
  } else {
    try {
      list = Teuchos::getParametersFromXmlString(text);
    } catch (const std::exception& e) {
      throw InputError(origin + ": not a valid XML ParameterList: " + e.what());
    }
    // Teuchos drops the top-level list's name: read it from the text. Two forms are accepted:
    // <ParameterList name="concord"> ... </ParameterList>, and the usual Teuchos wrapper
    // <ParameterList name="ANONYMOUS"> (or unnamed) holding exactly one list, `concord`.
    const auto open = first_element(text);
    const auto close = text.find('>', open);
    const auto attr = text.find("name=\"", open);
    if (open != std::string::npos && attr != std::string::npos && attr < close)
      top = text.substr(attr + 6, text.find('"', attr + 6) - (attr + 6));
    if (top != "concord") {
      std::string found;
      for (auto it = list->begin(); it != list->end(); ++it) found += (found.empty() ? "" : ", ") + list->name(it);
      if (list->numParams() != 1 || !list->isSublist("concord"))
        throw InputError(origin + ": the top-level <ParameterList> must be named \"concord\", or be a wrapper (\"" +
                         (top.empty() ? std::string("unnamed") : top) +
                         "\" here) holding exactly one <ParameterList name=\"concord\"> (found: " +
                         (found.empty() ? std::string("nothing") : found) + ")");
      Tree deck = Tree::object();
      deck["concord"] = convert(list->sublist("concord"), "concord");
      return deck;
    }
  }
  Tree deck = Tree::object();
  deck["concord"] = convert(*list, "concord");
  return deck;
}

}  // namespace concord::io
