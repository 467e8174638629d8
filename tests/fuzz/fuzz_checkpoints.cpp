// Deterministic mutation fuzzer of the checkpoint reader (read_checkpoint_header and
// read_checkpoint_state).
//
// The seed corpus is written by the fuzzer itself with concord::io::write_checkpoint (one MPI
// rank): a few shapes (1 to 8 agents, dimension 1 to 40, 1 to 3 state matrices x, y, g, with and
// without trajectory records, deck text attributes of a few KB). Every input is a seed mutated by
// rules drawn from (seed, index): byte overwrites, bit flips, truncations at random lengths,
// extensions, 4- and 8-byte words set to extreme values (0, -1, 2^31, 2^63, ...), small integer
// fields (sizes, offsets, counts) set to edge values, blocks overwritten, splices of two seeds.
//
// Each input is written to a fresh file name and read in-process: read_checkpoint_header, then
// read_checkpoint_state into Views of the header's shape (the seed's shape when the header was
// refused). Batches of inputs run in a forked child (which initializes MPI and Kokkos itself and
// ends with std::_Exit, never running HDF5's shutdown after a damaged file), so that a crash or a
// hang is caught and attributed to one input.
//
// It fails (exit 1) on: a crash (signal), a hang (an input running longer than --hang-ms), an
// exception other than concord::InputError (std::bad_alloc included), an InputError message that
// is empty, not one line or does not name the file, anything written on stderr (HDF5's error
// stack), and an accepted input whose contents differ from the seed's (any header field, any bit
// of a state matrix; a splice that rebuilds another seed whole must give that seed's contents).
// Failing inputs are saved for --replay; --inject makes one input fail on purpose (crash, hang,
// exception, or a file whose state differs in one bit from the seed's expected state): the run
// then succeeds only when exactly that failure is reported, a check that the harness catches
// each kind.
//
//   fuzz_checkpoints [--inputs 10000] [--seed 1] [--batch 400] [--hang-ms 2000] [--save DIR]
//                    [--replay INDEX] [--inject crash|hang|exception|alter:INDEX]
//                    [--expect-fail INDEX,...]
#include <fcntl.h>
#include <mpi.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/error.hpp"
#include "concord/core/spaces.hpp"
#include "concord/io/checkpoint.hpp"
#include "mutator.hpp"

namespace fs = std::filesystem;
using concord::fuzz::Mutator;
using concord::fuzz::Rng;
using namespace concord::fuzz;  // binary mutations and file helpers

namespace {

// ---- the seed corpus --------------------------------------------------------------------------

/// A seed checkpoint: what is written, hence exactly what an accepted input must give back.
struct Spec {
  std::string name;
  concord::io::CheckpointHeader header;      // agents, dimension and state names filled in
  std::vector<std::vector<double>> values;   // [state][agent * dimension + coordinate]
};

std::string deck_text(std::size_t bytes, std::uint64_t key) {
  Rng r(key);
  std::string out = "concord:\n  algorithm:\n    name: gradient_tracking\n";
  for (std::size_t k = 0; out.size() < bytes; ++k)
    out += "    key_" + std::to_string(k) + ": " + std::to_string(r.next() % 100000) + "  # café\n";
  out.resize(bytes);
  return out;
}

double value(Rng& r, int scale) {
  const double u = static_cast<double>(r.next() >> 11) * 0x1.0p-53 - 0.5;
  static const double scales[] = {1.0, 1e-300, 1e300, 3.0, 1e-8};
  return u * scales[scale % 5];
}

std::vector<Spec> make_specs() {
  struct Shape {
    int agents, dimension, states, records, columns;
    std::size_t deck;
    std::int64_t iteration;
  };
  static const Shape shapes[] = {{1, 1, 1, 0, 0, 1000, 0},        {3, 7, 3, 5, 3, 3000, 50},
                                 {8, 40, 2, 20, 2, 4000, 1000},   {5, 13, 1, 1, 1, 2000, std::int64_t{1} << 40},
                                 {2, 33, 3, 0, 0, 5000, 7},       {6, 1, 2, 3, 4, 1500, 12}};
  static const char* state_names[] = {"x", "y", "g"};
  std::vector<Spec> specs;
  for (std::size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k) {
    const Shape& s = shapes[k];
    Rng r(1000 + k);
    Spec spec;
    spec.name = "seed" + std::to_string(k) + "-" + std::to_string(s.agents) + "x" + std::to_string(s.dimension) + "-" +
                std::to_string(s.states) + "states-" + std::to_string(s.records) + "records.h5";
    auto& h = spec.header;
    h.iteration = s.iteration;
    h.agents = s.agents;
    h.dimension = s.dimension;
    h.attributes.text["deck"] = deck_text(s.deck, k);
    h.attributes.text["version"] = "0.9.0";
    h.attributes.text["algorithm"] = "gradient_tracking (atc), step size constant 0.05";
    if (k % 2 == 1) h.attributes.text["topology"] = "ring";
    h.attributes.integers["ranks"] = 1;
    h.attributes.integers["trajectory_last_record"] = s.records > 0 ? s.iteration : -1;
    for (int i = 0; i < s.states; ++i) {
      h.state.push_back(state_names[i]);
      std::vector<double> v(static_cast<std::size_t>(s.agents) * static_cast<std::size_t>(s.dimension));
      for (auto& x : v) x = value(r, i + static_cast<int>(k));
      spec.values.push_back(std::move(v));
    }
    for (int i = 0; i < s.records; ++i) h.record_iteration.push_back(i * 10);
    for (int c = 0; c < s.columns && s.records > 0; ++c) h.record_columns.push_back("metric_" + std::to_string(c));
    if (s.records > 0)
      for (int i = 0; i < s.records * s.columns; ++i) h.record_values.push_back(value(r, i));
    specs.push_back(std::move(spec));
  }
  return specs;
}

/// Collective (one rank): writes `spec` to `path`.
void write_spec(const fs::path& path, const Spec& spec) {
  const concord::AgentLayout layout(spec.header.agents, 1, 0);
  std::vector<std::pair<std::string, concord::AgentMatrix>> state;
  for (std::size_t i = 0; i < spec.header.state.size(); ++i) {
    concord::AgentMatrix x(Kokkos::view_alloc(Kokkos::WithoutInitializing, "fuzz_checkpoints::" + spec.header.state[i]),
                           spec.header.agents, spec.header.dimension);
    auto h = Kokkos::create_mirror_view(x);
    for (int a = 0; a < spec.header.agents; ++a)
      for (int c = 0; c < spec.header.dimension; ++c)
        h(a, c) = spec.values[i][static_cast<std::size_t>(a) * static_cast<std::size_t>(spec.header.dimension) +
                                 static_cast<std::size_t>(c)];
    Kokkos::deep_copy(x, h);
    state.emplace_back(spec.header.state[i], x);
  }
  concord::io::write_checkpoint(path.string(), MPI_COMM_WORLD, layout, spec.header, state);
}

// ---- mutations ------------------------------------------------------------------------------------

const std::uint64_t extreme_words[] = {0, ~0ull, 1ull << 31, 1ull << 63, 0x7fffffffull, 0x7fffffffffffffffull,
                                       0xffffffffull, 1ull << 32, 1};
const std::uint64_t edge_values[] = {0,          1,          2,          255,        256,        65535,
                                     0x7fffffff, 0x80000000, 0xffffffff, 1000000000, 1ull << 40, 1ull << 62,
                                     ~0ull,      ~0ull - 1,  0x100000000ull};

std::uint64_t get_le(const std::string& s, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int k = width - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(k)]);
  return v;
}

void set_le(std::string& s, std::size_t at, int width, std::uint64_t v) {
  for (int k = 0; k < width; ++k) s[at + static_cast<std::size_t>(k)] = static_cast<char>((v >> (8 * k)) & 0xff);
}

void overwrite_bytes(std::string& s, Mutator& m) {
  if (s.empty()) return;
  for (std::size_t k = 0, n = 1 + m.pick(8); k < n; ++k) s[m.pick(s.size())] = static_cast<char>(m.pick(256));
}

/// A 4- or 8-byte word (aligned or not) set to an extreme value.
void extreme_word(std::string& s, Mutator& m) {
  const int width = m.rng().chance(50) ? 4 : 8;
  if (s.size() < static_cast<std::size_t>(width)) return;
  std::size_t at = m.pick(s.size() - static_cast<std::size_t>(width) + 1);
  if (m.rng().chance(50)) at -= at % static_cast<std::size_t>(width);
  set_le(s, at, width, extreme_words[m.pick(sizeof extreme_words / sizeof extreme_words[0])]);
}

/// An integer field of 1 to 8 bytes holding a small value (a size, an offset, a count) set to an
/// edge value, one more, or a thousand times more.
void mutate_field(std::string& s, Mutator& m) {
  static const int widths[] = {1, 2, 4, 8};
  const int width = widths[m.pick(4)];
  if (s.size() < static_cast<std::size_t>(width)) return;
  std::vector<std::size_t> candidates;
  for (std::size_t at = 0; at + static_cast<std::size_t>(width) <= s.size(); ++at) {
    const auto v = get_le(s, at, width);
    if (v >= 1 && v < (1u << 20)) candidates.push_back(at);
  }
  if (candidates.empty()) return;
  const std::size_t at = candidates[m.pick(candidates.size())];
  const std::uint64_t old = get_le(s, at, width);
  std::uint64_t v = edge_values[m.pick(sizeof edge_values / sizeof edge_values[0])];
  switch (m.pick(4)) {
    case 0: v = old + 1; break;
    case 1: v = old * 1000; break;
    default: break;
  }
  set_le(s, at, width, v);
}


/// The start of one seed and the rest of another: cut at the same offset (HDF5 addresses stay
/// in place) or at two random offsets.
void splice(std::string& s, Mutator& m, const std::string& other) {
  if (m.rng().chance(50)) {
    const std::size_t cut = m.pick(std::min(s.size(), other.size()) + 1);
    s = s.substr(0, cut) + other.substr(cut);
  } else {
    s = s.substr(0, m.pick(s.size() + 1)) + other.substr(m.pick(other.size() + 1));
  }
}

struct Input {
  std::size_t seed = 0;  // into the corpus
  std::string bytes;
  std::string how;  // the mutations applied
};

Input make_input(const std::vector<std::string>& corpus, std::uint64_t seed, std::uint64_t index) {
  Mutator m(concord::fuzz::input_seed(seed, index), {});
  Input in;
  in.seed = static_cast<std::size_t>(index % corpus.size());
  std::string bytes = corpus[in.seed];
  const std::size_t rounds = 1 + (m.rng().chance(75) ? 0 : m.pick(3));
  for (std::size_t r = 0; r < rounds; ++r) {
    const char* name = "";
    switch (m.pick(10)) {
      case 0: name = "byte"; overwrite_bytes(bytes, m); break;
      case 1: case 2: name = "flip"; flip_bits(bytes, m); break;
      case 3: name = "truncate"; truncate(bytes, m, 30, 64); break;
      case 4: name = "extend"; extend(bytes, m, 512); break;
      case 5: case 6: name = "word"; extreme_word(bytes, m); break;
      case 7: name = "field"; mutate_field(bytes, m); break;
      case 8: name = "block"; overwrite_block(bytes, m); break;
      default: name = "splice"; splice(bytes, m, corpus[m.pick(corpus.size())]); break;
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
  bool state_without_header = false;  // header refused, state read and unchanged
  std::string message;                // the failure
};

/// The differences between an accepted header and the seed's ("" when none).
std::string header_difference(const concord::io::CheckpointHeader& got, const concord::io::CheckpointHeader& want) {
  if (got.iteration != want.iteration) return "iteration " + std::to_string(got.iteration);
  if (got.agents != want.agents) return "agents " + std::to_string(got.agents);
  if (got.dimension != want.dimension) return "dimension " + std::to_string(got.dimension);
  if (got.attributes.text != want.attributes.text) return "text attributes";
  if (got.attributes.integers != want.attributes.integers) return "integer attributes";
  if (got.state != want.state) return "state names";
  if (got.record_iteration != want.record_iteration) return "record iterations";
  if (got.record_columns != want.record_columns) return "record columns";
  if (got.record_values.size() != want.record_values.size() ||
      (!got.record_values.empty() && std::memcmp(got.record_values.data(), want.record_values.data(),
                                                 got.record_values.size() * sizeof(double)) != 0))
    return "record values";
  return "";
}

/// What is wrong with an InputError's message ("" when fine: one non-empty line naming the file).
std::string message_problem(const std::string& what, const fs::path& path) {
  if (what.empty()) return "InputError with an empty message";
  if (what.find('\n') != std::string::npos || what.find('\r') != std::string::npos)
    return "InputError message of more than one line: " + what;
  if (what.find(path.string()) == std::string::npos) return "InputError message does not name the file: " + what;
  return "";
}

/// Cap on what the fuzzer allocates for an accepted header's state (doubles).
constexpr std::uint64_t max_state_values = std::uint64_t{1} << 24;

/// `spec`: the seed the input was made from; `seeds`: every seed. An accepted input must equal one
/// of them exactly (a splice may rebuild another seed whole).
Result run_input(const fs::path& path, const Spec& spec, const std::vector<Spec>& seeds, int stderr_fd) {
  const Spec* match = &spec;
  struct stat before {};
  if (stderr_fd >= 0) fstat(stderr_fd, &before);
  Result r;
  auto fail = [&](const std::string& why) {
    if (r.outcome == failure) return;  // the first failure is reported
    r.outcome = failure;
    r.message = why;
  };
  auto guarded = [&](const char* stage, auto&& body) -> bool {  // true: the call returned
    try {
      body();
      return true;
    } catch (const concord::InputError& e) {
      const std::string problem = message_problem(e.what(), path);
      if (!problem.empty()) fail(std::string(stage) + ": " + problem);
    } catch (const std::exception& e) {
      fail(std::string(stage) + ": exception " + typeid(e).name() + ": " + e.what());
    } catch (...) {
      fail(std::string(stage) + ": unknown exception");
    }
    return false;
  };

  concord::io::CheckpointHeader header;
  const bool header_ok = guarded("read_checkpoint_header", [&] { header = concord::io::read_checkpoint_header(path.string()); });
  bool header_same = false;
  if (header_ok) {
    for (const auto& seed : seeds)
      if (header_difference(header, seed.header).empty()) match = &seed;
    const std::string diff = header_difference(header, match->header);
    header_same = diff.empty();
    if (!header_same) fail("accepted with an altered header: " + diff);
  }
  const Spec& expected = *match;
  // The state: in the header's shape when accepted (when altered too, if of sane size), else in
  // the seed's shape (read_checkpoint_state must refuse damage on its own, without the header).
  const auto& shape = header_ok ? header : spec.header;
  const std::uint64_t values = static_cast<std::uint64_t>(shape.agents) * static_cast<std::uint64_t>(shape.dimension) *
                               std::max<std::uint64_t>(1, shape.state.size());
  if (shape.agents >= 1 && shape.dimension >= 1 && values <= max_state_values && !shape.state.empty()) {
    const concord::AgentLayout layout(shape.agents, 1, 0);
    std::vector<std::pair<std::string, concord::AgentMatrix>> state;
    for (const auto& name : shape.state)
      state.emplace_back(name, concord::AgentMatrix(Kokkos::view_alloc("fuzz_checkpoints::read"), shape.agents,
                                                    shape.dimension));
    const bool state_ok = guarded("read_checkpoint_state", [&] {
      concord::io::read_checkpoint_state(path.string(), MPI_COMM_WORLD, layout, state);
    });
    if (state_ok) {
      bool same = shape.state == expected.header.state && shape.agents == expected.header.agents &&
                  shape.dimension == expected.header.dimension;
      for (std::size_t i = 0; same && i < state.size(); ++i) {
        auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state[i].second);
        for (int a = 0; same && a < shape.agents; ++a)
          for (int c = 0; same && c < shape.dimension; ++c) {
            const double want = expected.values[i][static_cast<std::size_t>(a) * static_cast<std::size_t>(shape.dimension) +
                                                   static_cast<std::size_t>(c)];
            const double got = h(a, c);
            if (std::memcmp(&got, &want, sizeof got) != 0) {
              same = false;
              char text[200];
              std::snprintf(text, sizeof text, "accepted with an altered state: %s(%d, %d) is %.17g, written %.17g",
                            shape.state[i].c_str(), a, c, got, want);
              fail(text);
            }
          }
      }
      if (!same) fail("accepted a state of another shape or names");
      if (header_same) r.outcome = r.outcome == failure ? failure : accepted;
      else if (!header_ok) r.state_without_header = true;
    }
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
  std::uint32_t state_without_header;
  std::uint64_t index;
  std::uint64_t micros;
  char message[460];
};
static_assert(sizeof(Record) < PIPE_BUF);

struct Options {
  std::uint64_t inputs = 10000, seed = 1, batch = 400, hang_ms = 2000;
  fs::path save;
  long long replay = -1;
  std::string inject;  // crash, hang, exception, alter
  long long inject_at = -1;
  std::set<std::uint64_t> expect_fail;  // known crashers: their failure does not fail the run
};

void write_record(int fd, const Record& rec) {
  const char* p = reinterpret_cast<const char*>(&rec);
  std::size_t left = sizeof rec;
  while (left > 0) {
    const ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) std::_Exit(3);
    p += w, left -= static_cast<std::size_t>(w);
  }
}

/// MPI (one rank) and Kokkos, in a child process only: the parent never initializes them, so
/// every child starts clean, and ends with std::_Exit (no HDF5 shutdown after damaged files).
void start_runtime() {
  int argc = 1;
  char name[] = "fuzz_checkpoints";
  char* args[] = {name, nullptr};
  char** argv = args;
  MPI_Init(&argc, &argv);
  Kokkos::initialize(Kokkos::InitializationSettings().set_disable_warnings(true));
}

struct Corpus {
  std::vector<Spec> specs;
  std::vector<std::string> bytes;
  std::string altered;  // seed 1 with one bit of its state changed (for --inject alter)
};

/// Child: writes the seeds into `dir`, checks that each reads back unchanged; exit 0 when so.
[[noreturn]] void generate(const std::vector<Spec>& specs, const fs::path& dir) {
  start_runtime();
  int rc = 0;
  try {
    for (const auto& spec : specs) {
      write_spec(dir / spec.name, spec);
      const Result r = run_input(dir / spec.name, spec, {spec}, -1);
      if (r.outcome != accepted) {
        std::fprintf(stderr, "fuzz_checkpoints: seed %s does not read back: %s\n", spec.name.c_str(), r.message.c_str());
        rc = 1;
      }
    }
    Spec altered = specs[1];
    altered.values[0][3] = std::nextafter(altered.values[0][3], 1e300);
    write_spec(dir / "altered.h5", altered);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_checkpoints: cannot write the seeds: %s\n", e.what());
    rc = 1;
  }
  std::fflush(nullptr);
  std::_Exit(rc);
}

/// The input's bytes, and which seed an accepted input must equal (--inject alter: the file
/// whose state differs in one bit from the seed's, compared with the seed).
std::string input_bytes(const Options& o, const Corpus& c, std::uint64_t index, const Input& in) {
  if (o.inject == "alter" && static_cast<long long>(index) == o.inject_at) return c.altered;
  return in.bytes;
}

Result run_one(const Options& o, const Corpus& c, const fs::path& work, std::uint64_t index, int stderr_fd) {
  const Input in = make_input(c.bytes, o.seed, index);
  std::size_t seed = in.seed;
  if (o.inject == "alter" && static_cast<long long>(index) == o.inject_at) seed = 1;
  if (static_cast<long long>(index) == o.inject_at) {
    if (o.inject == "crash") raise(SIGSEGV);
    if (o.inject == "hang")
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    if (o.inject == "exception") {
      Result r;
      try {
        throw std::runtime_error("injected");
      } catch (const std::exception& e) {
        r.outcome = failure;
        r.message = std::string("exception ") + typeid(e).name() + ": " + e.what();
      }
      return r;
    }
  }
  // A fresh name for every input: HDF5 may keep a damaged file registered as open.
  const fs::path path = work / ("input-" + std::to_string(index) + ".h5");
  write_all(path, input_bytes(o, c, index, in));
  // --inject alter: compared with its seed alone (its header is the seed's, its state is not).
  Result r = seed == in.seed ? run_input(path, c.specs[seed], c.specs, stderr_fd)
                             : run_input(path, c.specs[seed], {c.specs[seed]}, stderr_fd);
  std::error_code ec;
  fs::remove(path, ec);
  return r;
}

[[noreturn]] void child(const Options& o, const Corpus& c, const fs::path& work, std::uint64_t first, std::uint64_t end,
                        int out) {
  // Address-space limit: an attempt at a huge allocation fails at once instead of paging.
  struct rlimit as {};
  as.rlim_cur = as.rlim_max = std::uint64_t{4} << 30;
  setrlimit(RLIMIT_AS, &as);
  const fs::path err = work / ("stderr-" + std::to_string(getpid()) + ".txt");
  const int fd = open(err.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) dup2(fd, 2);
  start_runtime();
  for (std::uint64_t i = first; i < end; ++i) {
    Record rec{};
    rec.type = 0;
    rec.index = i;
    write_record(out, rec);
    const auto t0 = std::chrono::steady_clock::now();
    const Result r = run_one(o, c, work, i, fd >= 0 ? 2 : -1);
    rec.type = 1;
    rec.outcome = r.outcome;
    rec.state_without_header = r.state_without_header ? 1 : 0;
    rec.micros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    std::snprintf(rec.message, sizeof rec.message, "%s", r.message.c_str());
    write_record(out, rec);
  }
  std::_Exit(0);
}

struct Tally {
  std::uint64_t inputs = 0, refused = 0, accepted = 0, state_without_header = 0, failures = 0, crashes = 0, hangs = 0,
                expected = 0;
  bool injected_caught = false;  // --inject: the injected failure was reported, as its kind
  std::uint64_t max_micros = 0, max_index = 0;
  std::vector<std::string> reports;
};

void report(const Options& o, const Corpus& c, std::uint64_t index, Tally& t, const std::string& what) {
  const Input in = make_input(c.bytes, o.seed, index);
  const bool known = o.expect_fail.count(index) > 0;
  std::string line = std::string(known ? "expected failure, " : "") + "input " + std::to_string(index) + " (" +
                     c.specs[in.seed].name + ", " + in.how + "): " + what;
  if (!o.save.empty()) {
    fs::create_directories(o.save);
    const fs::path p = o.save / (std::to_string(index) + "-" + c.specs[in.seed].name);
    write_all(p, input_bytes(o, c, index, in));
    line += " (saved as " + p.string() + ")";
  }
  t.reports.push_back(line);
  if (known) ++t.expected;
  if (!o.inject.empty() && static_cast<long long>(index) == o.inject_at) {
    const char* sign = o.inject == "crash"       ? "crash: signal"
                       : o.inject == "hang"      ? "hang: "
                       : o.inject == "exception" ? "exception "
                                                 : "accepted with an altered state";
    t.injected_caught = what.rfind(sign, 0) == 0;
  }
}

/// Child: runs input `index` alone and says what happened.
int replay(const Options& o, const Corpus& c, const fs::path& work) {
  const pid_t pid = fork();
  if (pid == 0) {
    start_runtime();
    const auto index = static_cast<std::uint64_t>(o.replay);
    const Input in = make_input(c.bytes, o.seed, index);
    std::cout << "input " << index << ": " << c.specs[in.seed].name << " mutated by " << in.how << ", "
              << in.bytes.size() << " bytes\n";
    std::cout.flush();
    const Result r = run_one(o, c, work, index, -1);
    std::cout << (r.outcome == accepted ? "accepted unchanged"
                  : r.outcome == refused ? (r.state_without_header ? "refused (header; the state alone read unchanged)"
                                                                   : "refused")
                                         : "FAILURE: " + r.message)
              << "\n";
    std::cout.flush();
    std::_Exit(r.outcome == failure ? 1 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    std::cout << "FAILURE: crash: signal " << WTERMSIG(status) << " (" << strsignal(WTERMSIG(status)) << ")\n";
    return 1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::cerr << "fuzz_checkpoints: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--inputs") o.inputs = std::stoull(value());
    else if (arg == "--seed") o.seed = std::stoull(value());
    else if (arg == "--batch") o.batch = std::max<std::uint64_t>(1, std::stoull(value()));
    else if (arg == "--hang-ms") o.hang_ms = std::stoull(value());
    else if (arg == "--save") o.save = value();
    else if (arg == "--replay") o.replay = std::stoll(value());
    else if (arg == "--inject") {
      const std::string v = value();
      const auto colon = v.find(':');
      o.inject = v.substr(0, colon);
      if (colon == std::string::npos || (o.inject != "crash" && o.inject != "hang" && o.inject != "exception" &&
                                         o.inject != "alter")) {
        std::cerr << "fuzz_checkpoints: --inject takes crash|hang|exception|alter:INDEX\n";
        return 2;
      }
      o.inject_at = std::stoll(v.substr(colon + 1));
    } else if (arg == "--expect-fail") {
      std::string v = value();
      for (std::size_t at = 0; at < v.size();) {
        const auto comma = std::min(v.find(',', at), v.size());
        o.expect_fail.insert(std::stoull(v.substr(at, comma - at)));
        at = comma + 1;
      }
    } else {
      std::cerr << "fuzz_checkpoints: unknown argument '" << arg
                << "'; allowed: --inputs N --seed S --batch B --hang-ms MS --save DIR --replay INDEX "
                   "--inject KIND:INDEX --expect-fail INDEX,...\n";
      return 2;
    }
  }
  char tmpl[] = "/tmp/concord_fuzz_checkpoints_XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("fuzz_checkpoints: mkdtemp");
    return 2;
  }
  const fs::path work = tmpl;
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(work, ec);
  };

  // The seeds, written and checked by a child.
  Corpus c;
  c.specs = make_specs();
  const fs::path seeds = work / "seeds";
  fs::create_directories(seeds);
  std::cout.flush();
  const pid_t generator = fork();
  if (generator == 0) generate(c.specs, seeds);
  int status = 0;
  waitpid(generator, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "fuzz_checkpoints: writing the seed checkpoints failed\n";
    cleanup();
    return 2;
  }
  for (const auto& spec : c.specs) c.bytes.push_back(read_all(seeds / spec.name));
  c.altered = read_all(seeds / "altered.h5");

  if (o.replay >= 0) {
    const int rc = replay(o, c, work);
    cleanup();
    return rc;
  }

  Tally t;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t next = 0;
  while (next < o.inputs) {
    const std::uint64_t end = std::min(o.inputs, next + o.batch);
    int fds[2];
    if (pipe(fds) != 0) {
      std::perror("fuzz_checkpoints: pipe");
      return 2;
    }
    std::cout.flush();
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child(o, c, work, next, end, fds[1]);
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
      if (rec.micros > t.max_micros) t.max_micros = rec.micros, t.max_index = rec.index;
      if (rec.outcome == refused) ++t.refused;
      if (rec.outcome == refused && rec.state_without_header) ++t.state_without_header;
      if (rec.outcome == accepted) ++t.accepted;
      if (rec.outcome == failure) {
        ++t.failures;
        report(o, c, rec.index, t, std::string(rec.message));
      }
    }
    close(fds[0]);
    int child_status = 0;
    waitpid(pid, &child_status, 0);
    if (hung) {
      const std::uint64_t at = current >= 0 ? static_cast<std::uint64_t>(current) : next;
      ++t.hangs, ++t.inputs;
      report(o, c, at, t, "hang: no result within " + std::to_string(o.hang_ms) + " ms");
      resume = at + 1;
    } else if (WIFSIGNALED(child_status) || (WIFEXITED(child_status) && WEXITSTATUS(child_status) != 0)) {
      const std::uint64_t at = current >= 0 ? static_cast<std::uint64_t>(current) : next;
      ++t.crashes, ++t.inputs;
      report(o, c, at, t,
             WIFSIGNALED(child_status) ? "crash: signal " + std::to_string(WTERMSIG(child_status)) + " (" +
                                             strsignal(WTERMSIG(child_status)) + ")"
                                       : "child exited with status " + std::to_string(WEXITSTATUS(child_status)));
      resume = at + 1;
    }
    next = resume;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cleanup();

  for (const auto& r : t.reports) std::cout << r << "\n";
  const Input slowest = make_input(c.bytes, o.seed, t.max_index);
  std::printf(
      "fuzz_checkpoints: %llu inputs (seed %llu, %zu seed checkpoints): %llu refused (%llu of them with the header "
      "refused and the state alone read unchanged), %llu accepted unchanged, %llu failures, %llu crashes, %llu hangs "
      "(%llu expected); slowest input %.1f ms (input %llu, %s %s); %.1f s in all\n",
      static_cast<unsigned long long>(t.inputs), static_cast<unsigned long long>(o.seed), c.specs.size(),
      static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.state_without_header),
      static_cast<unsigned long long>(t.accepted), static_cast<unsigned long long>(t.failures),
      static_cast<unsigned long long>(t.crashes), static_cast<unsigned long long>(t.hangs),
      static_cast<unsigned long long>(t.expected), static_cast<double>(t.max_micros) / 1000.0,
      static_cast<unsigned long long>(t.max_index), c.specs[slowest.seed].name.c_str(), slowest.how.c_str(), seconds);
  if (!o.inject.empty()) {
    // A check of the fuzzer itself: it must report the injected failure, and nothing else.
    const bool fine = t.injected_caught && t.failures + t.crashes + t.hangs == 1;
    std::printf("fuzz_checkpoints: injected %s at input %lld: %s\n", o.inject.c_str(), o.inject_at,
                fine ? "caught, and nothing else failed" : "NOT caught as it should be");
    return fine ? 0 : 1;
  }
  return t.failures + t.crashes + t.hangs == t.expected ? 0 : 1;
}
