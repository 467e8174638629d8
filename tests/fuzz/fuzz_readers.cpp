// Deterministic mutation fuzzer of the data readers (HDF5, LIBSVM, IDX plain and gzip'd).
//
// Every input is a seed file of tests/fuzz/corpus/readers mutated by rules drawn from (seed,
// index): byte and bit flips, header fields set to edge values (sizes to huge values), blocks
// overwritten, truncations, extensions, gzip trailers damaged or followed by garbage, IDX
// contents changed and re-compressed with a valid CRC, LIBSVM tokens replaced by edge values,
// and the text mutations of mutator.hpp. The input is written to a temporary folder and read
// in-process by the library's reader. Batches of inputs run in a forked child (with an
// address-space limit), so that a crash or a hang is caught and attributed to one input.
//
// It fails (exit 1) on: a crash (signal), a hang (an input running longer than --hang-ms), an
// exception other than concord::InputError (std::bad_alloc included), an InputError message that
// is not one line or does not name the file, a refusal that came from an allocation failure
// rather than a check, a returned SampleSet that does not validate, or anything written on
// stderr (HDF5's error stack). Failing inputs are saved for --replay.
//
//   fuzz_readers --corpus tests/fuzz/corpus/readers [--inputs 10000] [--seed 1] [--batch 400]
//                [--hang-ms 2000] [--save DIR] [--replay INDEX]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/data/readers.hpp"
#include "mutator.hpp"

namespace fs = std::filesystem;
using concord::fuzz::Mutator;
using namespace concord::fuzz;  // binary mutations and file helpers

namespace {

enum class Kind { hdf5, libsvm, idx_images, idx_labels };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::hdf5: return "hdf5";
    case Kind::libsvm: return "libsvm";
    case Kind::idx_images: return "idx-images";
    default: return "idx-labels";
  }
}

struct Seed {
  std::string name;
  Kind kind;
  bool gz = false;
  std::string bytes;
  std::string plain;  // IDX: the decompressed bytes
};

std::string gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("zlib");
  std::string out;
  char buffer[1 << 14];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int ret = Z_OK;
  while (ret == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    ret = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  if (ret != Z_STREAM_END) throw std::runtime_error("corpus file is not valid gzip");
  return out;
}

std::string gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("zlib");
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<Seed> load_corpus(const fs::path& dir) {
  std::vector<Seed> seeds;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    const std::string name = p.filename().string();
    Seed s;
    s.name = name;
    s.gz = p.extension() == ".gz";
    if (p.extension() == ".h5")
      s.kind = Kind::hdf5;
    else if (p.extension() == ".svm")
      s.kind = Kind::libsvm;
    else if (name.find("images.idx3") != std::string::npos)
      s.kind = Kind::idx_images;
    else if (name.find("labels.idx1") != std::string::npos)
      s.kind = Kind::idx_labels;
    else
      continue;  // the generator script
    s.bytes = read_all(p);
    if (s.kind == Kind::idx_images || s.kind == Kind::idx_labels) s.plain = s.gz ? gunzip(s.bytes) : s.bytes;
    seeds.push_back(std::move(s));
  }
  return seeds;
}

// ---- mutations ------------------------------------------------------------------------------------

const std::uint64_t edge_values[] = {0,          1,          2,          255,        256,         65535,
                                     0x7fffffff, 0x80000000, 0xffffffff, 1000000000, 1ull << 40,  1ull << 62,
                                     ~0ull,      ~0ull - 1,  0x100000000ull};

std::uint64_t get_field(const std::string& s, std::size_t at, int width, bool big_endian) {
  std::uint64_t v = 0;
  for (int k = 0; k < width; ++k) {
    const auto byte = static_cast<unsigned char>(s[at + static_cast<std::size_t>(big_endian ? k : width - 1 - k)]);
    v = (v << 8) | byte;
  }
  return v;
}

void set_field(std::string& s, std::size_t at, int width, bool big_endian, std::uint64_t v) {
  for (int k = 0; k < width; ++k) {
    const auto byte = static_cast<char>((v >> (8 * k)) & 0xff);
    s[at + static_cast<std::size_t>(big_endian ? width - 1 - k : k)] = byte;
  }
}

/// A header field: an integer of 1, 2, 4 or 8 bytes holding a small value (a size, a count, a
/// dimension) set to an edge value. `head`: only fields in the first `head` bytes (0: anywhere).
void mutate_field(std::string& s, Mutator& m, bool big_endian, std::size_t head = 0) {
  static const int widths[] = {1, 2, 4, 8};
  const int width = widths[m.pick(4)];
  if (s.size() < static_cast<std::size_t>(width)) return;
  const std::size_t limit = std::min(s.size() - static_cast<std::size_t>(width) + 1, head ? head : s.size());
  std::vector<std::size_t> candidates;
  for (std::size_t at = 0; at < limit; ++at) {
    const auto v = get_field(s, at, width, big_endian);
    if (v >= 1 && v < (1u << 20)) candidates.push_back(at);
  }
  if (candidates.empty()) return;
  const std::size_t at = candidates[m.pick(candidates.size())];
  const std::uint64_t old = get_field(s, at, width, big_endian);
  std::uint64_t v = edge_values[m.pick(sizeof edge_values / sizeof edge_values[0])];
  switch (m.pick(4)) {
    case 0: v = old + 1; break;
    case 1: v = old * 1000; break;
    default: break;
  }
  set_field(s, at, width, big_endian, v);
}

/// Damage to the gzip framing: the trailer (CRC-32, ISIZE), the end, what follows.
void mutate_gzip_frame(std::string& s, Mutator& m, const std::string& plain) {
  if (s.size() < 18) return;
  switch (m.pick(6)) {
    case 0: s[s.size() - 8 + m.pick(4)] ^= static_cast<char>(1 + m.pick(255)); break;  // CRC-32
    case 1: s[s.size() - 4 + m.pick(4)] ^= static_cast<char>(1 + m.pick(255)); break;  // ISIZE
    case 2: set_field(s, s.size() - 4, 4, false, edge_values[m.pick(sizeof edge_values / sizeof edge_values[0])]); break;
    case 3: s.resize(s.size() - 1 - m.pick(8)); break;                                 // trailer cut
    case 4: s += m.rng().chance(50) ? std::string("\x1f\x8b garbage") : std::string(1 + m.pick(16), '\0'); break;
    default: s += gzip(m.rng().chance(50) ? plain : std::string(1 + m.pick(32), 'x')); break;  // a second member
  }
}

/// LIBSVM: an index, value or label replaced by an edge token.
void mutate_svm_token(std::string& s, Mutator& m) {
  static const std::vector<std::string> tokens = {"0",    "-1",   "2147483647", "2147483648", "9223372036854775807",
                                                  "nan",  "inf",  "-inf",       "1e400",      "",
                                                  "1e9",  "1.5",  "-0",         "+",          "qid",
                                                  "0x1f", "1e-400", "99999999999999999999", "1000000000", "100001"};
  std::vector<std::size_t> colons;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == ':') colons.push_back(i);
  const std::string& t = tokens[m.pick(tokens.size())];
  if (colons.empty() || m.rng().chance(20)) {  // a label: the first token of a line
    std::vector<std::size_t> starts = {0};
    for (std::size_t i = 0; i + 1 < s.size(); ++i)
      if (s[i] == '\n') starts.push_back(i + 1);
    const std::size_t b = starts[m.pick(starts.size())];
    const std::size_t e = std::min(s.find_first_of(" \n", b), s.size());
    s.replace(b, e - b, t);
    return;
  }
  const std::size_t c = colons[m.pick(colons.size())];
  if (m.rng().chance(50)) {  // the index before the colon
    std::size_t b = c;
    while (b > 0 && s[b - 1] != ' ' && s[b - 1] != '\n') --b;
    s.replace(b, c - b, t);
  } else {  // the value after it
    const std::size_t e = std::min(s.find_first_of(" \r\n", c + 1), s.size());
    s.replace(c + 1, e - c - 1, t);
  }
}

struct Input {
  std::size_t seed = 0;  // into the corpus
  std::string bytes;
  std::string how;  // the mutations applied
};

Input make_input(const std::vector<Seed>& corpus, const std::vector<std::string>& texts, std::uint64_t seed,
                 std::uint64_t index) {
  Mutator m(concord::fuzz::input_seed(seed, index), {"1:", "qid:", "#", " ", ":", "\n", "\r", "2147483647:1", "0:1"});
  Input in;
  in.seed = static_cast<std::size_t>(index % corpus.size());
  const Seed& s = corpus[in.seed];
  const std::size_t rounds = 1 + (m.rng().chance(75) ? 0 : m.pick(3));
  std::string bytes = s.bytes;
  std::string plain = s.plain;  // IDX: the contents, mutated and re-compressed
  for (std::size_t r = 0; r < rounds; ++r) {
    const char* name = "";
    if (s.kind == Kind::libsvm) {
      switch (m.pick(6)) {
        case 0: case 1: name = "token"; mutate_svm_token(bytes, m); break;
        case 2: name = "flip"; flip_bits(bytes, m); break;
        case 3: name = "truncate"; truncate(bytes, m, 50, 16); break;
        default: bytes = m.mutate(bytes, texts); in.how += (in.how.empty() ? "" : "+") + m.applied(); continue;
      }
    } else if (s.kind == Kind::hdf5) {
      switch (m.pick(8)) {
        case 0: case 1: name = "field"; mutate_field(bytes, m, false); break;
        case 2: case 3: name = "flip"; flip_bits(bytes, m); break;
        case 4: name = "block"; overwrite_block(bytes, m); break;
        case 5: name = "truncate"; truncate(bytes, m, 50, 16); break;
        case 6: name = "extend"; extend(bytes, m, 64); break;
        default: name = "field_head"; mutate_field(bytes, m, false, 1024); break;
      }
    } else {  // IDX: the contents (re-compressed with a valid CRC when gzip'd), or the raw bytes
      const bool contents = !s.gz || m.rng().chance(60);
      if (contents) {
        switch (m.pick(6)) {
          case 0: case 1: case 2: name = "header"; mutate_field(plain, m, true, s.kind == Kind::idx_images ? 16 : 8); break;
          case 3: name = "flip"; flip_bits(plain, m); break;
          case 4: name = "truncate"; truncate(plain, m, 50, 16); break;
          default: name = "extend"; extend(plain, m, 64); break;
        }
        bytes = s.gz ? gzip(plain) : plain;
      } else {
        switch (m.pick(4)) {
          case 0: case 1: name = "gzip_frame"; mutate_gzip_frame(bytes, m, s.plain); break;
          case 2: name = "flip"; flip_bits(bytes, m); break;
          default: name = "truncate"; truncate(bytes, m, 50, 16); break;
        }
      }
    }
    in.how += (in.how.empty() ? "" : "+") + std::string(name);
  }
  in.bytes = std::move(bytes);
  return in;
}

// ---- running one input ---------------------------------------------------------------------------

enum Outcome : std::uint32_t { refused = 0, accepted = 1, failure = 2 };

struct Result {
  Outcome outcome = refused;
  std::string message;  // the failure
};

/// The file names the reader sees: kind and gz-ness in the name, like real files.
fs::path input_path(const fs::path& work, const Seed& s) { return work / ("input-" + s.name); }

Result run_input(const std::vector<Seed>& corpus, const fs::path& corpus_dir, const fs::path& work, std::uint64_t index,
                 const Input& in, int stderr_fd) {
  using namespace concord::data;
  const Seed& s = corpus[in.seed];
  const fs::path path = input_path(work, s);
  write_all(path, in.bytes);
  struct stat before {};
  if (stderr_fd >= 0) fstat(stderr_fd, &before);
  Result r;
  auto fail = [&](const std::string& why) {
    r.outcome = failure;
    r.message = why;
  };
  try {
    SampleSet set;
    const bool classification = (index / corpus.size()) % 2 == 0;
    const Task task = classification ? Task::classification : Task::regression;
    switch (s.kind) {
      case Kind::hdf5: set = read_hdf5(path.string(), task); break;
      case Kind::libsvm: set = read_libsvm(path.string(), task, (index / corpus.size()) % 3 == 2 ? 8 : 0); break;
      case Kind::idx_images: {
        const std::string partner = "mnist-labels.idx1" + std::string(s.gz ? ".gz" : "");
        set = read_idx(path.string(), (corpus_dir / partner).string());
        break;
      }
      case Kind::idx_labels: {
        const std::string partner = "mnist-images.idx3" + std::string(s.gz ? ".gz" : "");
        set = read_idx((corpus_dir / partner).string(), path.string());
        break;
      }
    }
    r.outcome = accepted;
    try {
      set.validate();
    } catch (const std::exception& e) {
      fail(std::string("accepted a data set that does not validate: ") + e.what());
    }
  } catch (const concord::InputError& e) {
    const std::string what = e.what();
    if (what.empty())
      fail("InputError with an empty message");
    else if (what.find('\n') != std::string::npos || what.find('\r') != std::string::npos)
      fail("InputError message of more than one line: " + what);
    else if (what.find(path.string()) == std::string::npos)
      fail("InputError message does not name the file: " + what);
    else if (what.find("not enough memory") != std::string::npos ||
             what.find("more values than one process can hold") != std::string::npos)
      fail("refused only when an allocation failed (no check came first): " + what);
  } catch (const std::exception& e) {
    fail(std::string("exception ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    fail("unknown exception");
  }
  if (stderr_fd >= 0) {
    struct stat after {};
    fstat(stderr_fd, &after);
    if (after.st_size > before.st_size && r.outcome != failure) {
      std::string text(static_cast<std::size_t>(std::min<off_t>(after.st_size - before.st_size, 300)), '\0');
      if (pread(stderr_fd, text.data(), text.size(), before.st_size) < 0) text = "?";
      fail("wrote on stderr: " + text.substr(0, text.find('\n')));
    }
  }
  return r;
}

// ---- the driver --------------------------------------------------------------------------------

struct Record {
  std::uint32_t type;  // 0 start, 1 done
  std::uint32_t outcome;
  std::uint64_t index;
  std::uint64_t micros;
  char message[480];
};
static_assert(sizeof(Record) < PIPE_BUF);

struct Options {
  fs::path corpus = "tests/fuzz/corpus/readers";
  std::uint64_t inputs = 10000, seed = 1, batch = 400, hang_ms = 2000;
  fs::path save;
  long long replay = -1;
};

void write_record(int fd, const Record& rec) {
  const char* p = reinterpret_cast<const char*>(&rec);
  std::size_t left = sizeof rec;
  while (left > 0) {
    const ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);
    p += w, left -= static_cast<std::size_t>(w);
  }
}

[[noreturn]] void child(const Options& o, const std::vector<Seed>& corpus, const std::vector<std::string>& texts,
                        const fs::path& work, std::uint64_t first, std::uint64_t end, int out) {
  // Address-space limit: an attempt at a huge allocation fails at once instead of paging; the
  // readers' memory limit follows it.
  struct rlimit as {};
  as.rlim_cur = as.rlim_max = std::uint64_t{4} << 30;
  setrlimit(RLIMIT_AS, &as);
  const fs::path err = work / "stderr.txt";
  const int fd = open(err.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) dup2(fd, 2);
  for (std::uint64_t i = first; i < end; ++i) {
    const Input in = make_input(corpus, texts, o.seed, i);
    Record rec{};
    rec.type = 0;
    rec.index = i;
    write_record(out, rec);
    const auto t0 = std::chrono::steady_clock::now();
    const Result r = run_input(corpus, o.corpus, work, i, in, fd >= 0 ? 2 : -1);
    rec.type = 1;
    rec.outcome = r.outcome;
    rec.micros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    std::snprintf(rec.message, sizeof rec.message, "%s", r.message.c_str());
    write_record(out, rec);
  }
  _exit(0);
}

struct Tally {
  std::uint64_t inputs = 0, refused = 0, accepted = 0, failures = 0, crashes = 0, hangs = 0;
  std::uint64_t max_micros = 0, max_index = 0;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> per_kind;  // refused, accepted
  std::vector<std::string> reports;
};

std::string fmt_line(std::uint64_t index, const std::string& seed, const std::string& how, const std::string& what) {
  return "input " + std::to_string(index) + " (" + seed + ", " + how + "): " + what;
}

void save_input(const Options& o, const std::vector<Seed>& corpus, const std::vector<std::string>& texts,
                std::uint64_t index, Tally& t, const std::string& what) {
  const Input in = make_input(corpus, texts, o.seed, index);
  std::string line = fmt_line(index, corpus[in.seed].name, in.how, what);
  if (!o.save.empty()) {
    fs::create_directories(o.save);
    const fs::path p = o.save / (std::to_string(index) + "-" + corpus[in.seed].name);
    write_all(p, in.bytes);
    line += " (saved as " + p.string() + ")";
  }
  t.reports.push_back(line);
}

int replay(const Options& o, const std::vector<Seed>& corpus, const std::vector<std::string>& texts,
           const fs::path& work) {
  const auto index = static_cast<std::uint64_t>(o.replay);
  const Input in = make_input(corpus, texts, o.seed, index);
  std::cout << "input " << index << ": " << corpus[in.seed].name << " mutated by " << in.how << ", " << in.bytes.size()
            << " bytes, written to " << input_path(work, corpus[in.seed]).string() << "\n";
  const Result r = run_input(corpus, o.corpus, work, index, in, -1);
  std::cout << (r.outcome == accepted ? "accepted" : r.outcome == refused ? "refused" : "FAILURE: " + r.message) << "\n";
  return r.outcome == failure ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::cerr << "fuzz_readers: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--corpus") o.corpus = value();
    else if (arg == "--inputs") o.inputs = std::stoull(value());
    else if (arg == "--seed") o.seed = std::stoull(value());
    else if (arg == "--batch") o.batch = std::max<std::uint64_t>(1, std::stoull(value()));
    else if (arg == "--hang-ms") o.hang_ms = std::stoull(value());
    else if (arg == "--save") o.save = value();
    else if (arg == "--replay") o.replay = std::stoll(value());
    else {
      std::cerr << "fuzz_readers: unknown argument '" << arg
                << "'; allowed: --corpus DIR --inputs N --seed S --batch B --hang-ms MS --save DIR --replay INDEX\n";
      return 2;
    }
  }
  const auto corpus = load_corpus(o.corpus);
  if (corpus.empty()) {
    std::cerr << "fuzz_readers: no corpus files in '" << o.corpus.string() << "'\n";
    return 2;
  }
  std::vector<std::string> texts;
  for (const auto& s : corpus)
    if (s.kind == Kind::libsvm) texts.push_back(s.bytes);
  char tmpl[] = "/tmp/concord_fuzz_readers_XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("fuzz_readers: mkdtemp");
    return 2;
  }
  const fs::path work = tmpl;
  if (o.replay >= 0) return replay(o, corpus, texts, work);

  Tally t;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t next = 0;
  while (next < o.inputs) {
    const std::uint64_t end = std::min(o.inputs, next + o.batch);
    int fds[2];
    if (pipe(fds) != 0) {
      std::perror("fuzz_readers: pipe");
      return 2;
    }
    std::cout.flush();
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child(o, corpus, texts, work, next, end, fds[1]);
    }
    close(fds[1]);
    long long current = -1;  // the input started and not yet done
    std::uint64_t resume = end;
    bool hung = false;
    Record rec{};
    std::size_t have = 0;
    for (;;) {
      pollfd p{fds[0], POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(current >= 0 ? o.hang_ms : 60000));
      if (ready == 0) {  // no word from the child within the limit
        kill(pid, SIGKILL);
        hung = true;
        break;
      }
      if (ready < 0) {
        if (errno == EINTR) continue;
        break;
      }
      const ssize_t got = read(fds[0], reinterpret_cast<char*>(&rec) + have, sizeof rec - have);
      if (got <= 0) break;
      have += static_cast<std::size_t>(got);
      if (have < sizeof rec) continue;
      have = 0;
      if (rec.type == 0) {
        current = static_cast<long long>(rec.index);
        continue;
      }
      current = -1;
      ++t.inputs;
      const Input in = make_input(corpus, texts, o.seed, rec.index);
      auto& kind = t.per_kind[kind_name(corpus[in.seed].kind)];
      if (rec.micros > t.max_micros) t.max_micros = rec.micros, t.max_index = rec.index;
      if (rec.outcome == refused) ++t.refused, ++kind.first;
      if (rec.outcome == accepted) ++t.accepted, ++kind.second;
      if (rec.outcome == failure) {
        ++t.failures;
        save_input(o, corpus, texts, rec.index, t, std::string(rec.message));
      }
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (hung) {
      const std::uint64_t at = current >= 0 ? static_cast<std::uint64_t>(current) : next;
      ++t.hangs, ++t.inputs;
      save_input(o, corpus, texts, at, t, "hang: no result within " + std::to_string(o.hang_ms) + " ms");
      resume = at + 1;
    } else if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
      const std::uint64_t at = current >= 0 ? static_cast<std::uint64_t>(current) : next;
      ++t.crashes, ++t.inputs;
      save_input(o, corpus, texts, at, t,
                 WIFSIGNALED(status) ? "crash: signal " + std::to_string(WTERMSIG(status)) + " (" +
                                           strsignal(WTERMSIG(status)) + ")"
                                     : "child exited with status " + std::to_string(WEXITSTATUS(status)));
      resume = at + 1;
    }
    next = resume;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::error_code ec;
  fs::remove_all(work, ec);

  for (const auto& r : t.reports) std::cout << r << "\n";
  for (const auto& [kind, counts] : t.per_kind)
    std::cout << "  " << kind << ": " << counts.first << " refused, " << counts.second << " accepted\n";
  const Input slowest = make_input(corpus, texts, o.seed, t.max_index);
  std::printf(
      "fuzz_readers: %llu inputs (seed %llu, %zu corpus files): %llu refused, %llu accepted, %llu failures, %llu crashes, "
      "%llu hangs; slowest input %.1f ms (input %llu, %s %s); %.1f s in all\n",
      static_cast<unsigned long long>(t.inputs), static_cast<unsigned long long>(o.seed), corpus.size(),
      static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.accepted),
      static_cast<unsigned long long>(t.failures), static_cast<unsigned long long>(t.crashes),
      static_cast<unsigned long long>(t.hangs), static_cast<double>(t.max_micros) / 1000.0,
      static_cast<unsigned long long>(t.max_index), corpus[slowest.seed].name.c_str(), slowest.how.c_str(), seconds);
  return t.failures + t.crashes + t.hangs == 0 ? 0 : 1;
}
