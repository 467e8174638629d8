// Compiled at C++17 (Teuchos headers do not compile as C++20 with g++ 12): see CMakeLists.txt.
// The only place Teuchos' ParameterList reaches: deck text in, a plain tree out.
#include <Teuchos_ParameterList.hpp>
#include <Teuchos_XMLParameterListCoreHelpers.hpp>
#include <Teuchos_YamlParameterListCoreHelpers.hpp>

#include <cctype>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/core/text.hpp"
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
    const std::string where =
        path + "/" + (name.size() <= max_quoted_length ? name : name.substr(0, max_quoted_length) + "...");
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

// ---------------------------------------------------------------------------------------------
// Checks on the text before Teuchos reads it: Teuchos' parsers recurse on nesting (a crash at
// depth 20,000), take time cubic in the depth and quadratic in a value's length, keep the last of
// two XML parameters of the same name, read XML numbers by stream extraction ("0.05abc" is 0.05)
// and report errors over many lines with their own source locations.
// ---------------------------------------------------------------------------------------------

/// One-line errors "ORIGIN: line L: MESSAGE".
struct Where {
  const std::string& origin;
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    throw InputError(origin + ": line " + std::to_string(line) + ": " + message);
  }
};

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "/" + key;
}

/// `text` as printable ASCII for a one-line message: control and non-ASCII bytes as \xHH.
std::string printable(std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 32 && u < 127) out += c;
    else out += std::string("\\x") + hex[u >> 4] + hex[u & 15];
  }
  return out;
}

/// A key for a message: cut after max_quoted_length characters, printable.
std::string short_key(const std::string& key) {
  return printable(key.size() <= max_quoted_length ? key : key.substr(0, max_quoted_length) + "...");
}

/// Size, characters and line lengths (a value never spans more than a line in a deck written
/// for Concord; a longer one is refused here, with its line).
void check_text(const std::string& text, const Where& where) {
  if (text.size() > max_deck_bytes)
    throw InputError(where.origin + ": " + std::to_string(text.size()) + " bytes; a deck is at most " +
                     std::to_string(max_deck_bytes) + " bytes (1 MiB)");
  std::size_t line = 1, column = 1, line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i, ++column) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      line += 1, column = 0, line_start = i + 1;
      continue;
    }
    if (i - line_start >= max_value_length)
      where.fail(line, "a line longer than " + std::to_string(max_value_length) +
                           " characters; deck lines, keys and values are at most that long");
    if (c > 127)
      where.fail(line, "column " + std::to_string(column) +
                           ": a non-ASCII character; decks must be plain ASCII (also in comments)");
    if (c < 32 && c != '\t' && !(c == '\r' && i + 1 < text.size() && text[i + 1] == '\n'))
      where.fail(line, "column " + std::to_string(column) + ": a control character (byte " + std::to_string(c) +
                           "); decks are plain text");
    if (c == 127) where.fail(line, "column " + std::to_string(column) + ": a control character (byte 127)");
  }
}

// --- YAML ------------------------------------------------------------------------------------

/// Block mappings (by indentation) and flow collections ({...}, [...]) of a YAML deck: nesting
/// depth, keys given twice in one list (with the list's path), tags, anchors and aliases, and a
/// top-level `concord` that is not a list.
class YamlScan {
 public:
  YamlScan(const std::string& text, const Where& where) : where_(where) { split(text); }

  void run() {
    blocks_.push_back({-1, "", {}});
    for (line_ = 0; line_ < lines_.size(); ++line_) {
      const std::string& l = lines_[line_];
      std::size_t indent = 0;
      while (indent < l.size() && (l[indent] == ' ' || l[indent] == '\t')) ++indent;
      if (indent == l.size() || l[indent] == '#') continue;
      if (block_scalar_indent_ >= 0) {
        if (static_cast<long>(indent) > block_scalar_indent_) {
          grow_value(l.size() + 1);
          continue;
        }
        block_scalar_indent_ = -1;
      }
      if (indent == 0 && (l.compare(0, 3, "---") == 0 || l.compare(0, 3, "...") == 0 || l[0] == '%')) continue;
      while (blocks_.size() > 1 && blocks_.back().indent >= static_cast<long>(indent)) blocks_.pop_back();
      std::size_t pos = indent;
      // Block sequence entries "- x": the entry's content counts one level deeper.
      int seq = 0;
      while (pos < l.size() && l[pos] == '-' && (pos + 1 == l.size() || l[pos + 1] == ' ')) {
        ++seq;
        pos += 1;
        while (pos < l.size() && l[pos] == ' ') ++pos;
      }
      check_depth(blocks_.size() - 1 + seq);
      if (seq > 0) count_entry();
      if (pos >= l.size() || l[pos] == '#') continue;
      if (seq > 0) {
        value(l, pos, blocks_.back().path, blocks_.size() - 1 + seq);
        continue;
      }
      // key: value
      std::string key;
      std::size_t after = 0;
      if (!read_key(l, pos, key, after)) {
        grow_value(l.size() + 1);  // a plain scalar continued on this line
        value(l, pos, blocks_.back().path, blocks_.size() - 1);
        continue;
      }
      value_length_ = 0;
      add_key(blocks_.back().keys, blocks_.back().path, key);
      const std::string path = join_path(blocks_.back().path, short_key(key));
      std::size_t v = after;
      while (v < l.size() && (l[v] == ' ' || l[v] == '\t')) ++v;
      if (v >= l.size() || l[v] == '#') {
        blocks_.push_back({static_cast<long>(indent), path, {}});
        check_depth(blocks_.size() - 1);
        continue;
      }
      if (blocks_.size() == 1 && key == "concord" && l[v] != '{')
        where_.fail(line_ + 1, "concord: expected a parameter list (`concord:` followed by indented keys), got " +
                                   quote_value(trim(l.substr(v))));
      if (l[v] == '|' || l[v] == '>') {
        block_scalar_indent_ = static_cast<long>(indent);
        continue;
      }
      grow_value(l.size() - v);
      value(l, v, path, blocks_.size() - 1);
    }
  }

 private:
  struct Block {
    long indent;
    std::string path;
    std::map<std::string, std::size_t> keys;  // key -> line
  };
  struct Flow {
    bool map;
    std::string path;
    std::map<std::string, std::size_t> keys;
    bool expect_key = true;
  };

  void split(const std::string& text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string l = text.substr(start, end - start);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      lines_.push_back(std::move(l));
      start = end + 1;
    }
  }

  void check_depth(std::size_t depth) const {
    if (depth > static_cast<std::size_t>(max_deck_depth))
      where_.fail(line_ + 1, "lists nested " + std::to_string(depth) + " deep; a deck nests at most " +
                                 std::to_string(max_deck_depth) + " levels");
  }

  void count_entry() {
    if (++entries_ > max_deck_entries)
      where_.fail(line_ + 1, "more than " + std::to_string(max_deck_entries) + " keys; a deck has far fewer");
  }

  /// A value continued over several lines: its length so far, bounded.
  void grow_value(std::size_t characters) {
    value_length_ += characters;
    if (value_length_ > max_value_length)
      where_.fail(line_ + 1, "a value longer than " + std::to_string(max_value_length) +
                                 " characters (over several lines); deck values are at most that long");
  }

  void add_key(std::map<std::string, std::size_t>& keys, const std::string& path, const std::string& key) {
    count_entry();
    const auto [it, fresh] = keys.emplace(key, line_ + 1);
    if (!fresh)
      where_.fail(line_ + 1, join_path(path, short_key(key)) + ": given twice in one list (first at line " +
                                 std::to_string(it->second) + "); each key appears once");
  }

  /// A plain or quoted key ending in ':' followed by a blank or the end of the line.
  bool read_key(const std::string& l, std::size_t pos, std::string& key, std::size_t& after) const {
    if (pos < l.size() && (l[pos] == '"' || l[pos] == '\'')) {
      const char q = l[pos];
      std::size_t i = pos + 1;
      while (i < l.size() && l[i] != q) i += (l[i] == '\\' && q == '"') ? 2 : 1;
      if (i >= l.size()) return false;
      if (i + 1 < l.size() && l[i + 1] == ':' && (i + 2 == l.size() || l[i + 2] == ' ' || l[i + 2] == '\t')) {
        key = l.substr(pos + 1, i - pos - 1);
        after = i + 2;
        return true;
      }
      return false;
    }
    for (std::size_t i = pos; i < l.size(); ++i) {
      if (l[i] == '#' && i > pos && (l[i - 1] == ' ' || l[i - 1] == '\t')) return false;
      if (l[i] == ':' && (i + 1 == l.size() || l[i + 1] == ' ' || l[i + 1] == '\t')) {
        key = std::string(trim(std::string_view(l).substr(pos, i - pos)));
        after = i + 1;
        return true;
      }
    }
    return false;
  }

  [[noreturn]] void refuse_node_property(char c) const {
    if (c == '!')
      where_.fail(line_ + 1, "a YAML tag (e.g. !!int); decks take plain values, typed by how they are written");
    where_.fail(line_ + 1, "a YAML anchor or alias (&name, *name); decks write every value out");
  }

  /// A value from `pos` on: a scalar (checked for tags and anchors), a quoted scalar (which may
  /// continue on the next lines), or a flow collection (which may too).
  void value(const std::string& l, std::size_t pos, const std::string& path, std::size_t depth) {
    const char c = l[pos];
    if (c == '!' || c == '&' || c == '*') refuse_node_property(c);
    if (c == '"' || c == '\'') {
      std::size_t i = pos + 1;
      skip_quoted(c, i);
      return;
    }
    if (c != '{' && c != '[') return;
    flow(pos, path, depth);
  }

  /// Skips a quoted scalar opened before `i` on line line_, possibly over several lines; false
  /// when it is never closed (Teuchos reports that).
  bool skip_quoted(char q, std::size_t& i) {
    for (;;) {
      const std::string& l = lines_[line_];
      while (i < l.size()) {
        if (q == '"' && l[i] == '\\') {
          i += 2;
          continue;
        }
        if (l[i] == q) {
          if (q == '\'' && i + 1 < l.size() && l[i + 1] == '\'') {
            i += 2;
            continue;
          }
          ++i;
          return true;
        }
        ++i;
      }
      if (line_ + 1 >= lines_.size()) return false;
      ++line_;
      grow_value(lines_[line_].size() + 1);
      i = 0;
    }
  }

  /// A flow collection starting at `pos` (may span lines): depth and keys of flow mappings.
  void flow(std::size_t pos, const std::string& path, std::size_t depth) {
    std::vector<Flow> stack;
    std::size_t i = pos;
    std::string token;  // the current plain scalar of a flow mapping (a key candidate)
    for (;;) {
      const std::string& l = lines_[line_];
      while (i < l.size()) {
        const char c = l[i];
        if (c == '#' && (i == 0 || l[i - 1] == ' ' || l[i - 1] == '\t')) {
          i = l.size();
          break;
        }
        if (c == '{' || c == '[') {
          const std::string inner = stack.empty() ? path : stack.back().path;
          stack.push_back({c == '{', inner, {}});
          check_depth(depth + stack.size());
          token.clear();
          ++i;
          continue;
        }
        if (c == '}' || c == ']') {
          if (!stack.empty()) stack.pop_back();
          token.clear();
          ++i;
          if (stack.empty()) return;
          continue;
        }
        if (stack.empty()) return;
        Flow& f = stack.back();
        if (c == ',') {
          f.expect_key = true;
          token.clear();
          ++i;
          continue;
        }
        if ((c == '!' || c == '&' || c == '*') && trim(token).empty()) refuse_node_property(c);
        if (c == '"' || c == '\'') {
          const std::size_t open_line = line_;
          const std::size_t start = i + 1;
          ++i;
          if (!skip_quoted(c, i)) return;
          if (line_ == open_line) token = lines_[line_].substr(start, i - 1 - start);
          else token.clear();
          if (line_ != open_line) return flow_rest(stack, i, depth);
          continue;
        }
        if (c == ':' && f.map && f.expect_key &&
            (i + 1 == l.size() || l[i + 1] == ' ' || l[i + 1] == ',' || l[i + 1] == '}' || l[i + 1] == '\t')) {
          const std::string key(trim(token));
          add_key(f.keys, f.path, key);
          f.expect_key = false;
          // A nested collection as this key's value is a list at path/key.
          std::size_t j = i + 1;
          while (j < l.size() && l[j] == ' ') ++j;
          if (j < l.size() && l[j] == '{') {
            const std::string inner = join_path(f.path, short_key(key));
            stack.push_back({true, inner, {}});
            check_depth(depth + stack.size());
            token.clear();
            i = j + 1;
            continue;
          }
          token.clear();
          ++i;
          continue;
        }
        token += c;
        ++i;
      }
      if (line_ + 1 >= lines_.size()) return;  // unclosed: Teuchos reports it
      ++line_;
      grow_value(lines_[line_].size() + 1);
      i = 0;
      token += ' ';
    }
  }

  /// After a multi-line quoted scalar inside a flow collection: keep counting depth only.
  void flow_rest(std::vector<Flow>& stack, std::size_t i, std::size_t depth) {
    // Close what is open on the following text, without key bookkeeping (rare in decks).
    for (;;) {
      const std::string& l = lines_[line_];
      for (; i < l.size(); ++i) {
        if (l[i] == '{' || l[i] == '[') {
          stack.push_back({l[i] == '{', "", {}});
          check_depth(depth + stack.size());
        } else if (l[i] == '}' || l[i] == ']') {
          if (!stack.empty()) stack.pop_back();
          if (stack.empty()) return;
        }
      }
      if (line_ + 1 >= lines_.size()) return;
      ++line_;
      grow_value(lines_[line_].size() + 1);
      i = 0;
    }
  }

  const Where& where_;
  std::vector<std::string> lines_;
  std::vector<Block> blocks_;
  std::size_t line_ = 0;
  long block_scalar_indent_ = -1;
  std::size_t entries_ = 0, value_length_ = 0;
};

// --- XML -------------------------------------------------------------------------------------

struct XmlElement {
  std::string tag;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::size_t line = 0;
  std::vector<XmlElement> children;
  const std::string* attribute(const std::string& name) const {
    for (const auto& [k, v] : attributes)
      if (k == name) return &v;
    return nullptr;
  }
};

/// A strict reader of the XML subset decks use (elements, attributes in quotes, comments,
/// declarations, CDATA): the element tree with line numbers, its depth bounded while reading.
class XmlScan {
 public:
  XmlScan(const std::string& text, const Where& where) : text_(text), where_(where) {}

  /// The outermost element (tag empty when there is none).
  XmlElement run() {
    XmlElement root;
    std::vector<XmlElement*> open;
    std::size_t pos = 0;
    while ((pos = next('<', pos)) != std::string::npos) {
      if (starts(pos, "<!--")) {
        pos = skip_to(pos + 4, "-->", "a comment <!-- without -->");
      } else if (starts(pos, "<![CDATA[")) {
        pos = skip_to(pos + 9, "]]>", "<![CDATA[ without ]]>");
      } else if (starts(pos, "<?")) {
        pos = skip_to(pos + 2, "?>", "<? without ?>");
      } else if (starts(pos, "<!")) {
        pos = skip_to(pos + 2, ">", "<! without >");
      } else if (starts(pos, "</")) {
        std::size_t i = pos + 2;
        const std::string name = read_name(i);
        skip_blanks(i);
        if (i >= text_.size() || text_[i] != '>') where_.fail(line_at(pos), "malformed closing tag </" + short_key(name));
        if (open.empty()) where_.fail(line_at(pos), "</" + short_key(name) + "> closes nothing");
        if (open.back()->tag != name)
          where_.fail(line_at(pos), "</" + short_key(name) + "> closes <" + short_key(open.back()->tag) + "> opened at line " +
                                        std::to_string(open.back()->line));
        open.pop_back();
        pos = i + 1;
      } else {
        XmlElement e;
        e.line = line_at(pos);
        std::size_t i = pos + 1;
        e.tag = read_name(i);
        if (e.tag.empty()) where_.fail(e.line, "'<' that starts no element (write &lt; in values)");
        bool empty_element = false;
        for (;;) {
          const bool blank = skip_blanks(i);
          if (i >= text_.size()) where_.fail(e.line, "<" + short_key(e.tag) + " is never closed with >");
          if (text_[i] == '>') {
            ++i;
            break;
          }
          if (text_.compare(i, 2, "/>") == 0) {
            empty_element = true;
            i += 2;
            break;
          }
          if (!blank) where_.fail(line_at(i), "<" + short_key(e.tag) + ": malformed attributes (expected name=\"value\")");
          std::string name = read_name(i);
          skip_blanks(i);
          if (name.empty() || i >= text_.size() || text_[i] != '=')
            where_.fail(line_at(i), "<" + short_key(e.tag) + ": malformed attributes (expected name=\"value\")");
          ++i;
          skip_blanks(i);
          if (i >= text_.size() || (text_[i] != '"' && text_[i] != '\''))
            where_.fail(line_at(i), "<" + short_key(e.tag) + " " + short_key(name) + "=: the value must be in quotes");
          const char q = text_[i];
          const auto end = text_.find(q, i + 1);
          if (end == std::string::npos) where_.fail(line_at(i), "<" + short_key(e.tag) + " " + short_key(name) + "=: unterminated value");
          if (end - i - 1 > max_value_length)
            where_.fail(line_at(i), "<" + short_key(e.tag) + " " + short_key(name) + "=: a value longer than " +
                                        std::to_string(max_value_length) + " characters");
          e.attributes.emplace_back(std::move(name), decode(text_.substr(i + 1, end - i - 1), line_at(i)));
          i = end + 1;
        }
        if (++elements_ > max_deck_entries)
          where_.fail(e.line, "more than " + std::to_string(max_deck_entries) + " elements; a deck has far fewer");
        XmlElement* added = nullptr;
        if (open.empty()) {
          if (!root.tag.empty()) where_.fail(e.line, "a second top-level element <" + short_key(e.tag) + ">; a deck has one");
          root = std::move(e);
          added = &root;
        } else {
          open.back()->children.push_back(std::move(e));
          added = &open.back()->children.back();
        }
        if (!empty_element) {
          open.push_back(added);
          if (open.size() > static_cast<std::size_t>(max_deck_depth))
            where_.fail(added->line, "elements nested " + std::to_string(open.size()) + " deep; a deck nests at most " +
                                         std::to_string(max_deck_depth) + " levels");
        }
        pos = i;
      }
    }
    if (!open.empty())
      where_.fail(open.back()->line, "<" + short_key(open.back()->tag) + "> is never closed (</" + short_key(open.back()->tag) + ">)");
    return root;
  }

 private:
  std::size_t next(char c, std::size_t from) const { return text_.find(c, from); }
  bool starts(std::size_t pos, const char* s) const { return text_.compare(pos, std::strlen(s), s) == 0; }
  std::size_t skip_to(std::size_t from, const char* end, const char* what) {
    const auto at = text_.find(end, from);
    if (at == std::string::npos) where_.fail(line_at(from), what);
    return at + std::strlen(end);
  }
  bool skip_blanks(std::size_t& i) const {
    const std::size_t start = i;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
    return i > start;
  }
  std::string read_name(std::size_t& i) const {
    const std::size_t start = i;
    while (i < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[i])) || text_[i] == '_' ||
                                text_[i] == '-' || text_[i] == '.' || text_[i] == ':'))
      ++i;
    return text_.substr(start, i - start);
  }
  std::size_t line_at(std::size_t pos) {
    // Lines counted incrementally (positions only move forward, except for error reports).
    if (pos < counted_) counted_ = 0, line_ = 1;
    for (; counted_ < pos && counted_ < text_.size(); ++counted_)
      if (text_[counted_] == '\n') ++line_;
    return line_;
  }
  std::string decode(const std::string& raw, std::size_t line) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '<') where_.fail(line, "'<' inside an attribute value (write &lt;)");
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const auto semi = raw.find(';', i);
      const std::string entity = semi == std::string::npos ? "" : raw.substr(i + 1, semi - i - 1);
      if (entity == "lt") out += '<';
      else if (entity == "gt") out += '>';
      else if (entity == "amp") out += '&';
      else if (entity == "quot") out += '"';
      else if (entity == "apos") out += '\'';
      else where_.fail(line, "unsupported character reference " + quote_value(raw.substr(i, 12)) +
                                 " (use &lt; &gt; &amp; &quot; &apos;)");
      i = semi;
    }
    return out;
  }

  const std::string& text_;
  const Where& where_;
  std::size_t counted_ = 0, line_ = 1, elements_ = 0;
};

/// Whether `value` is a whole token of the Teuchos XML type `type`; `why` says what is wrong.
bool xml_value_fits(const std::string& type, const std::string& value, std::string& why) {
  auto scalar = [&](const std::string& t, std::string_view v) {
    if (t == "int") {
      const auto i = parse_integer(v);
      if (!i) return why = "is not an integer", false;
      if (*i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max())
        return why = "does not fit type \"int\" (at most 2147483647; type \"long long\" takes 64 bits)", false;
      return true;
    }
    if (t == "long long") return parse_integer(v) ? true : (why = "is not a 64-bit integer", false);
    if (t == "double") return parse_real(v) ? true : (why = "is not a finite real number", false);
    if (t == "bool") {
      std::string up(trim(v));
      for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (up == "TRUE" || up == "FALSE" || up == "YES" || up == "NO" || up == "1" || up == "0") return true;
      return why = "is not a boolean (true or false)", false;
    }
    return true;  // string
  };
  if (type == "int" || type == "long long" || type == "double" || type == "bool" || type == "string")
    return scalar(type, value);
  for (const char* element : {"int", "long long", "double", "string"}) {
    if (type != std::string("Array(") + element + ")") continue;
    const std::string_view v = trim(value);
    if (v.size() < 2 || v.front() != '{' || v.back() != '}')
      return why = "is not an array (write {a, b, c})", false;
    const std::string_view inner = v.substr(1, v.size() - 2);
    if (trim(inner).empty()) return true;
    std::size_t start = 0;
    for (;;) {
      const auto comma = inner.find(',', start);
      const auto item = inner.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (trim(item).empty()) return why = "has an empty array entry", false;
      if (!scalar(element, item)) return why = "has an entry that " + why, false;
      if (comma == std::string_view::npos) return true;
      start = comma + 1;
    }
  }
  why = "has an unsupported type \"" + short_key(type) +
        "\" (use int, long long, double, bool, string, Array(int), Array(long long), Array(double) or "
        "Array(string))";
  return false;
}

/// Parameters and lists of one <ParameterList>: names present and given once, values whole
/// tokens of their types.
void check_xml_list(const XmlElement& list, const std::string& path, const Where& where) {
  std::map<std::string, std::size_t> seen;
  for (const auto& child : list.children) {
    if (child.tag != "Parameter" && child.tag != "ParameterList") continue;
    const std::string* name = child.attribute("name");
    if (!name) {
      if (child.tag == "ParameterList") continue;  // Teuchos names it itself
      where.fail(child.line, join_path(path, "<Parameter>") + ": no name=\"...\"");
    }
    const std::string here = join_path(path, short_key(*name));
    const auto [it, fresh] = seen.emplace(*name, child.line);
    if (!fresh)
      where.fail(child.line, here + ": given twice in one list (first at line " + std::to_string(it->second) +
                                 "); each key appears once");
    if (child.tag == "ParameterList") {
      check_xml_list(child, here, where);
      continue;
    }
    const std::string* type = child.attribute("type");
    const std::string* value = child.attribute("value");
    if (!type) where.fail(child.line, here + ": no type=\"...\" (e.g. int, double, bool, string)");
    if (!value) where.fail(child.line, here + ": no value=\"...\"");
    std::string why;
    if (!xml_value_fits(*type, *value, why))
      where.fail(child.line, here + ": " + (why.rfind("has an unsupported", 0) == 0 ? why
                                                                                     : quote_value(*value) + " " + why +
                                                                                           " (type \"" + short_key(*type) + "\")"));
  }
}

// --- Teuchos' messages -----------------------------------------------------------------------

/// The useful part of a Teuchos parser message, on one line: "line L, column C: WHAT" without
/// Teuchos' source locations, "Throw number", the echoed text and the caret.
std::string teuchos_message(const std::string& what, std::string& line) {
  std::vector<std::string> lines;
  {
    std::istringstream in(what);
    std::string l;
    while (std::getline(in, l)) lines.emplace_back(trim(l));
  }
  auto caret = [](const std::string& t) { return !t.empty() && t.find_first_not_of("^~") == std::string::npos; };
  std::vector<std::string> useful;
  std::string column;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& t = lines[i];
    if (t.empty()) continue;
    // "... at line L column C of parseYamlStream" or "... (line L column C of parseYamlStream):"
    const auto at = t.find("line ");
    if (t.find("parseYamlStream") != std::string::npos && at != std::string::npos) {
      std::istringstream nums(t.substr(at + 5));
      std::size_t ln = 0, col = 0;
      std::string word;
      if (nums >> ln) line = std::to_string(ln);
      if (nums >> word && word == "column" && nums >> col) column = std::to_string(col);
      std::string what = t.substr(0, at);
      for (const char* noise : {"error: ", "Parser failure", " at ", " (", "("}) {
        const auto k = what.find(noise);
        if (k == 0 && std::string(noise) == "error: ") what.erase(0, 7);
        else if (k != std::string::npos && k + std::strlen(noise) == what.size()) what.erase(k);
      }
      what = std::string(trim(what));
      if (!what.empty()) useful.push_back(printable(what));
      continue;
    }
    if (i + 1 < lines.size() && caret(lines[i + 1])) {  // the deck's text echoed, then a caret
      ++i;
      continue;
    }
    if (t.rfind("Lexer text:", 0) == 0) {  // the text, possibly over lines, up to the state
      while (i + 1 < lines.size() && lines[i + 1].rfind("Parser was in state", 0) != 0) ++i;
      continue;
    }
    if (t.find(".cpp:") != std::string::npos || t.find(".hpp:") != std::string::npos ||
        t.rfind("Throw number", 0) == 0 || t.rfind("Throw test that evaluated to true", 0) == 0 || t == "Error!" ||
        t.rfind("Parser was in state", 0) == 0 || caret(t))
      continue;
    useful.push_back(printable(t));
  }
  std::string out;
  for (const auto& u : useful) {
    if (out.size() > 200) break;
    out += (out.empty() ? "" : "; ") + u;
  }
  if (out.size() > 200) out = out.substr(0, 200) + "...";
  if (!column.empty()) out = "column " + column + (out.empty() ? "" : ": " + out);
  return out;
}

}  // namespace

std::string quote_value(std::string_view text) {
  if (text.size() <= max_quoted_length) return "'" + printable(text) + "'";
  return "'" + printable(text.substr(0, max_quoted_length)) + "...'";
}

Tree parse_deck(const std::string& text, const std::string& origin, DeckFormat format) {
  const Where where{origin};
  check_text(text, where);
  Teuchos::RCP<Teuchos::ParameterList> list;
  // Teuchos' exceptions carry several lines: keep the useful part, on the line they name.
  auto refuse = [&](const std::exception& e, const char* what) -> InputError {
    std::string line;
    const std::string message = teuchos_message(e.what(), line);
    return InputError(origin + ": " + (line.empty() ? std::string() : "line " + line + ": ") + what +
                      (message.empty() ? std::string() : " (" + message + ")"));
  };
  if (format == DeckFormat::yaml) {
    const auto keys = top_level_yaml_keys(text);
    if (keys.size() != 1 || keys[0] != "concord") {
      std::string found;
      for (const auto& k : keys) found += (found.empty() ? "" : ", ") + short_key(k);
      if (found.size() > 200) found = found.substr(0, 200) + "...";
      throw InputError(origin + ": a deck has exactly one top-level list, `concord:` (found " +
                       (found.empty() ? std::string("none") : found) + ")");
    }
    YamlScan(text, where).run();
    try {
      list = Teuchos::getParametersFromYamlString(text);
    } catch (const std::exception& e) {
      throw refuse(e, "not valid YAML for a Teuchos ParameterList");
    }
    Tree deck = Tree::object();
    deck["concord"] = convert(*list, "concord");
    return deck;
  }
  const XmlElement root = XmlScan(text, where).run();
  if (root.tag.empty()) throw InputError(origin + ": no XML element; a deck is <ParameterList name=\"concord\">...");
  if (root.tag != "ParameterList")
    where.fail(root.line, "the top-level element is <" + short_key(root.tag) + ">; a deck is a <ParameterList>");
  // Two forms are accepted: <ParameterList name="concord"> ... </ParameterList>, and the usual
  // Teuchos wrapper <ParameterList name="ANONYMOUS"> (or unnamed) holding exactly one list,
  // `concord` (Teuchos drops the top-level list's name: it is read here).
  const std::string* name = root.attribute("name");
  const std::string top = name ? *name : "";
  check_xml_list(root, top == "concord" ? "concord" : "", where);
  try {
    list = Teuchos::getParametersFromXmlString(text);
  } catch (const std::exception& e) {
    throw refuse(e, "not a valid XML ParameterList");
  }
  if (top != "concord") {
    std::string found;
    for (auto it = list->begin(); it != list->end(); ++it) found += (found.empty() ? "" : ", ") + short_key(list->name(it));
    if (found.size() > 200) found = found.substr(0, 200) + "...";
    if (list->numParams() != 1 || !list->isSublist("concord"))
      where.fail(root.line, "the top-level <ParameterList> must be named \"concord\", or be a wrapper (" +
                                (top.empty() ? std::string("unnamed") : quote_value(top)) +
                                " here) holding exactly one <ParameterList name=\"concord\"> (found: " +
                                (found.empty() ? std::string("nothing") : found) + ")");
    Tree deck = Tree::object();
    deck["concord"] = convert(list->sublist("concord"), "concord");
    return deck;
  }
  Tree deck = Tree::object();
  deck["concord"] = convert(*list, "concord");
  return deck;
}

}  // namespace concord::io
