#pragma once
/// \file mutator.hpp
/// A small deterministic mutation engine for text inputs (decks, data files): the same
/// (seed, index) always gives the same input, so that any failure is reproduced from two numbers.
///
/// \code
///   concord::fuzz::Mutator m(concord::fuzz::input_seed(seed, index), dictionary);
///   std::string input = m.mutate(corpus[m.pick(corpus.size())], corpus);
/// \endcode
///
/// Mutations: bit flips, byte replacements with interesting bytes, insertions (dictionary tokens,
/// random bytes, non-ASCII), deletions, duplicated and swapped lines, numbers replaced by edge
/// values, deep nesting (brackets or XML elements), huge values, truncation and splices of two
/// corpus entries.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace concord::fuzz {

/// SplitMix64: small, fast and good enough to drive mutations.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0).
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::uint64_t state_;
};

/// The seed of input number `index` of a run seeded with `seed`.
inline std::uint64_t input_seed(std::uint64_t seed, std::uint64_t index) {
  Rng r(seed * 0x100000001B3ull + index);
  r.next();
  return r.next();
}

class Mutator {
 public:
  /// `dictionary`: tokens of the input format worth inserting (keys, brackets, edge values).
  Mutator(std::uint64_t seed, std::vector<std::string> dictionary) : rng_(seed), dict_(std::move(dictionary)) {}

  Rng& rng() { return rng_; }
  std::size_t pick(std::size_t n) { return rng_.below(n); }
  /// The names of the mutations applied by the last `mutate`, e.g. "flip+dup_line".
  const std::string& applied() const { return applied_; }

  /// `input` with 1 to 4 mutations; `corpus` supplies the second parent of splices.
  std::string mutate(std::string input, const std::vector<std::string>& corpus) {
    applied_.clear();
    const std::size_t count = 1 + rng_.below(4);
    for (std::size_t k = 0; k < count; ++k) {
      const auto kind = rng_.below(15);
      const char* name = "";
      switch (kind) {
        case 0: name = "flip", flip(input); break;
        case 1: name = "byte", replace_byte(input); break;
        case 2: case 3: name = "insert_token", insert(input, token()); break;
        case 4: name = "insert_random", insert(input, random_bytes(1 + rng_.below(8))); break;
        case 5: name = "delete", erase(input); break;
        case 6: name = "dup_line", duplicate_line(input); break;
        case 7: name = "swap_lines", swap_lines(input); break;
        case 8: case 9: name = "number", replace_number(input); break;
        case 10: name = "nest", insert(input, nesting()); break;
        case 11: name = "huge", insert(input, std::string(huge_length(), "x9 {<"[rng_.below(5)])); break;
        case 12: name = "non_ascii", insert(input, non_ascii()); break;
        case 13: name = "truncate", input.resize(rng_.below(input.size() + 1)); break;
        default:
          name = "splice";
          if (!corpus.empty()) input = splice(input, corpus[rng_.below(corpus.size())]);
      }
      applied_ += (applied_.empty() ? "" : "+") + std::string(name);
    }
    return input;
  }

  /// Integers and reals at the edges of the types a value may be read into.
  static const std::vector<std::string>& edge_numbers() {
    static const std::vector<std::string> v = {
        "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967297",
        "4294967298", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551617", "99999999999999999999999999", "1e308", "1e309", "-1e309", "4.9e-324", "nan",
        "inf", "-inf", "0x10", "1_000", "+5", "-0", "1.", ".5", "5e", "0.05abc", "1,5", "1 5", "007"};
    return v;
  }

 private:
  std::size_t position(const std::string& s) { return rng_.below(s.size() + 1); }

  void flip(std::string& s) {
    if (s.empty()) return;
    s[rng_.below(s.size())] ^= static_cast<char>(1u << rng_.below(8));
  }
  void replace_byte(std::string& s) {
    static const char bytes[] = {' ', ':', '{', '}', '[', ']', ',', '"', '\'', '<', '>', '/', '=', '\n', '\t', '\r',
                                 '#', '-', '&', '*', '!', '|', '~', '\\', '\0', '\x7f', '\x01'};
    if (s.empty()) return;
    s[rng_.below(s.size())] = bytes[rng_.below(sizeof bytes)];
  }
  void insert(std::string& s, const std::string& what) { s.insert(position(s), what); }
  void erase(std::string& s) {
    if (s.empty()) return;
    const auto at = rng_.below(s.size());
    s.erase(at, 1 + rng_.below(rng_.chance(80) ? 8 : 200));
  }
  std::vector<std::pair<std::size_t, std::size_t>> lines(const std::string& s) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;  // [begin, end) including '\n'
    std::size_t start = 0;
    while (start < s.size()) {
      auto end = s.find('\n', start);
      end = end == std::string::npos ? s.size() : end + 1;
      out.emplace_back(start, end);
      start = end;
    }
    return out;
  }
  void duplicate_line(std::string& s) {
    const auto l = lines(s);
    if (l.empty()) return;
    const auto [b, e] = l[rng_.below(l.size())];
    std::string line = s.substr(b, e - b);
    if (line.empty() || line.back() != '\n') line += '\n';
    std::size_t copies = rng_.chance(90) ? 1 : 1 + rng_.below(2000);
    copies = std::max<std::size_t>(1, std::min(copies, (std::size_t{2} << 20) / line.size()));  // at most 2 MiB
    std::string many;
    for (std::size_t k = 0; k < copies; ++k) many += line;
    s.insert(rng_.chance(50) ? e : l[rng_.below(l.size())].first, many);
  }
  void swap_lines(std::string& s) {
    const auto l = lines(s);
    if (l.size() < 2) return;
    auto a = l[rng_.below(l.size())], b = l[rng_.below(l.size())];
    if (a.first > b.first) std::swap(a, b);
    if (a.first == b.first) return;
    const std::string la = s.substr(a.first, a.second - a.first), lb = s.substr(b.first, b.second - b.first);
    s = s.substr(0, a.first) + lb + s.substr(a.second, b.first - a.second) + la + s.substr(b.second);
  }
  void replace_number(std::string& s) {
    // A run of digits (with sign, dot, exponent) replaced by an edge value.
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    for (std::size_t i = 0; i < s.size();) {
      if (std::isdigit(static_cast<unsigned char>(s[i]))) {
        std::size_t j = i;
        while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == 'e' ||
                                s[j] == '-' || s[j] == '+'))
          ++j;
        runs.emplace_back(i, j);
        i = j;
      } else {
        ++i;
      }
    }
    const auto& edges = edge_numbers();
    if (runs.empty()) return insert(s, edges[rng_.below(edges.size())]);
    const auto [b, e] = runs[rng_.below(runs.size())];
    s.replace(b, e - b, edges[rng_.below(edges.size())]);
  }
  std::string token() {
    if (!dict_.empty() && rng_.chance(70)) return dict_[rng_.below(dict_.size())];
    const auto& edges = edge_numbers();
    return edges[rng_.below(edges.size())];
  }
  std::string random_bytes(std::size_t n) {
    std::string out;
    for (std::size_t k = 0; k < n; ++k) out += static_cast<char>(rng_.below(256));
    return out;
  }
  std::string non_ascii() {
    static const std::vector<std::string> v = {"\xc3\xa9", "\xe2\x80\x94", "\xef\xbb\xbf", "\xff\xfe", "\xf0\x9f\x98\x80",
                                               "\xc0\x80", "\x80"};
    return v[rng_.below(v.size())];
  }
  std::size_t huge_length() {
    static const std::size_t sizes[] = {100, 4000, 4097, 70000, 1 << 20, (1 << 20) + 1, 3 << 20};
    return sizes[rng_.below(sizeof sizes / sizeof sizes[0])];
  }
  std::string nesting() {
    static const std::size_t depths[] = {5, 15, 17, 100, 2000, 20000};
    const std::size_t depth = depths[rng_.below(sizeof depths / sizeof depths[0])];
    std::string open, close;
    switch (rng_.below(4)) {
      case 0:  // flow mappings
        for (std::size_t k = 0; k < depth; ++k) open += "{a: ", close += "}";
        return open + "1" + close;
      case 1:  // flow sequences
        for (std::size_t k = 0; k < depth; ++k) open += "[", close += "]";
        return open + "1" + close;
      case 2:  // XML lists
        for (std::size_t k = 0; k < depth; ++k)
          open += "<ParameterList name=\"a\">", close += "</ParameterList>";
        return open + close;
      default: {  // YAML block mappings, one level per line
        std::string out = "\n";
        for (std::size_t k = 0; k < std::min<std::size_t>(depth, 3000); ++k)
          out += std::string(2 * k, ' ') + "k" + std::to_string(k) + ":\n";
        return out;
      }
    }
  }
  std::string splice(const std::string& a, const std::string& b) {
    const auto la = lines(a), lb = lines(b);
    const std::size_t cut_a = la.empty() ? 0 : la[rng_.below(la.size())].first;
    const std::size_t cut_b = lb.empty() ? 0 : lb[rng_.below(lb.size())].first;
    return a.substr(0, cut_a) + b.substr(cut_b);
  }

  Rng rng_;
  std::vector<std::string> dict_;
  std::string applied_;
};

// ---------------------------------------------------------------------------------------------
// Binary files (data files, checkpoints): byte-level mutations and file helpers shared by the
// fuzzers. Their parameters keep each fuzzer's input stream as it was (seeds reproduce inputs).
// ---------------------------------------------------------------------------------------------

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// 1-4 (mostly) or up to 32 single-bit flips.
inline void flip_bits(std::string& s, Mutator& m) {
  if (s.empty()) return;
  const std::size_t n = 1 + m.pick(m.rng().chance(70) ? 4 : 32);
  for (std::size_t k = 0; k < n; ++k) s[m.pick(s.size())] ^= static_cast<char>(1u << m.pick(8));
}

/// Up to 64 bytes overwritten with 0x00, 0xff or random bytes.
inline void overwrite_block(std::string& s, Mutator& m) {
  if (s.empty()) return;
  const std::size_t at = m.pick(s.size());
  const std::size_t n = std::min(s.size() - at, 1 + m.pick(64));
  const int fill = static_cast<int>(m.pick(3));
  for (std::size_t k = 0; k < n; ++k) s[at + k] = fill == 0 ? '\0' : fill == 1 ? '\xff' : static_cast<char>(m.pick(256));
}

/// Cut: with `near_end_percent` chance within the last `window` bytes (trailers, last values),
/// else anywhere.
inline void truncate(std::string& s, Mutator& m, unsigned near_end_percent, std::size_t window) {
  if (s.empty()) return;
  const std::size_t cut = m.rng().chance(near_end_percent) ? s.size() - 1 - m.pick(std::min(s.size(), window))
                                                           : m.pick(s.size());
  s.resize(cut);
}

/// Appended: zeros, up to `random_bytes` random bytes, the input itself, or a long run of one byte.
inline void extend(std::string& s, Mutator& m, std::size_t random_bytes) {
  switch (m.pick(4)) {
    case 0: s += std::string(1 + m.pick(64), '\0'); break;
    case 1:
      for (std::size_t k = 0, n = 1 + m.pick(random_bytes); k < n; ++k) s += static_cast<char>(m.pick(256));
      break;
    case 2: s += s; break;
    default: s += std::string(1 + m.pick(100000), static_cast<char>(m.pick(256))); break;
  }
}

}  // namespace concord::fuzz
