// Deck fuzzer: mutated decks through concord::io::parse_deck, apply_override and validate_deck,
// in-process. Every input must end in a validated deck or in one concord::InputError whose
// message is one line of at most --max-message characters; a crash (a signal), a hang (an input
// over --timeout seconds) or any other exception fails the run.
//
//   fuzz_decks --corpus tests/fuzz/corpus/decks [--inputs 12000] [--seed 1] [--timeout 2]
//              [--max-message 400] [--save DIR] [--first K]
//
// Inputs are generated from (seed, index) alone (mutator.hpp); batches run in forked children so
// that a crash or a hang is reported with its input, which --save writes out, and the run goes on;
// `--seed S --first K --inputs 1` runs input K of seed S alone.
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/io/deck.hpp"
#include "mutator.hpp"

namespace {

namespace fs = std::filesystem;
using concord::io::DeckFormat;

struct Seed {
  std::string name;
  std::string text;
  DeckFormat format;
};

struct Options {
  std::string corpus;
  std::uint64_t inputs = 12000;
  std::uint64_t seed = 1;
  double timeout = 2.0;
  std::size_t max_message = 400;
  std::string save;
  std::uint64_t batch = 1000;
  std::uint64_t first = 0;  // run inputs [first, first + inputs): --first K --inputs 1 replays input K
};

/// Shared between the parent and the child running a batch.
struct Shared {
  std::uint64_t current;  // the input being run
  std::uint64_t done;     // inputs finished in this batch
  std::uint64_t refused, accepted, bad_message, other_exception;
  double max_seconds;
  std::uint64_t slowest;
};

std::vector<std::string> dictionary() {
  std::vector<std::string> d = {
      "concord:", "  ", "\n", ": ", "{", "}", "[", "]", ", ", "- ", "#", "\"", "'", "~", "null", "true", "false",
      "yes", "!!int ", "!!str ", "&a ", "*a", "|\n", ">\n", "---\n", "...\n", "%YAML 1.2\n", "\t", "\r\n", "\\",
      "agents: ", "seed: ", "topology: ", "name: ", "problem: ", "data: ", "algorithm: ", "output: ", "parallel: ",
      "hidden: ", "hops: ", "step_size: ", "iterations: ", "concord: ~\n", "concord: 5\n", "concord:\n  concord:\n",
      "<ParameterList name=\"concord\">", "</ParameterList>", "<Parameter name=\"agents\" type=\"int\" value=\"4\"/>",
      "<Parameter name=\"step_size\" type=\"double\" value=\"0.05abc\"/>", " type=\"int\"", " type=\"double\"",
      " type=\"bool\"", " type=\"string\"", " type=\"long long\"", " type=\"Array(int)\"", " type=\"float\"",
      " value=\"{1, 2}\"", " value=\"\"", " name=\"\"", "<!--", "-->", "<?xml version=\"1.0\"?>", "<![CDATA[x]]>",
      "&amp;", "&lt;", "&#65;", "&bogus;", "/>", ">", "<", "=", "\""};
  for (const auto& e : concord::fuzz::Mutator::edge_numbers()) d.push_back(e);
  return d;
}

/// Every declared parameter path (concord/...), for overrides.
std::vector<std::string> schema_paths() {
  std::vector<std::string> out;
  std::function<void(const concord::io::Section&, const std::string&)> walk = [&](const concord::io::Section& s,
                                                                               const std::string& path) {
    for (const auto& p : s.params) out.push_back(path + "/" + p.key);
    for (const auto& sub : s.sections) {
      out.push_back(path + "/" + sub.key);
      walk(sub, path + "/" + sub.key);
    }
  };
  walk(concord::io::deck_schema(), "concord");
  return out;
}

std::vector<Seed> load_corpus(const std::string& dir) {
  std::vector<Seed> seeds;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const auto ext = f.extension().string();
    if (ext != ".yaml" && ext != ".xml") continue;
    std::ifstream in(f, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    seeds.push_back({f.filename().string(), s.str(), ext == ".xml" ? DeckFormat::xml : DeckFormat::yaml});
  }
  return seeds;
}

/// Input number `index`: its text, format, overrides and a description.
struct Input {
  std::string text;
  DeckFormat format;
  std::vector<std::string> overrides;
  std::string description;
};

Input make_input(std::uint64_t seed, std::uint64_t index, const std::vector<Seed>& seeds,
                 const std::vector<std::string>& texts, const std::vector<std::string>& dict,
                 const std::vector<std::string>& paths) {
  concord::fuzz::Mutator m(concord::fuzz::input_seed(seed, index), dict);
  const Seed& s = seeds[m.pick(seeds.size())];
  Input in;
  in.format = s.format;
  // A few inputs are seeds as they are (they must pass or be refused cleanly too).
  in.text = m.rng().chance(2) ? s.text : m.mutate(s.text, texts);
  in.description = s.name + " " + (m.applied().empty() ? "unchanged" : m.applied());
  if (m.rng().chance(25)) {
    const std::size_t count = 1 + m.pick(3);
    for (std::size_t k = 0; k < count; ++k) {
      std::string value = m.rng().chance(50) ? concord::fuzz::Mutator::edge_numbers()[m.pick(
                                                   concord::fuzz::Mutator::edge_numbers().size())]
                                             : dict[m.pick(dict.size())];
      std::string path = paths[m.pick(paths.size())];
      std::string assignment = path + "=" + value;
      if (m.rng().chance(30)) assignment = m.mutate(assignment, {});
      in.overrides.push_back(assignment);
    }
  }
  return in;
}

/// Runs one input; "" when it ended as it should, else what went wrong.
std::string run_one(const Input& in, const Options& opt, Shared& shared) {
  const std::string origin = in.format == DeckFormat::xml ? "fuzz.xml" : "fuzz.yaml";
  try {
    auto raw = concord::io::parse_deck(in.text, origin, in.format);
    for (const auto& o : in.overrides) concord::io::apply_override(raw, o);
    concord::io::validate_deck(raw);
    shared.accepted += 1;
    return "";
  } catch (const concord::InputError& e) {
    const std::string m = e.what();
    shared.refused += 1;
    if (m.find('\n') != std::string::npos) {
      shared.bad_message += 1;
      return "InputError message over several lines: " + m;
    }
    for (const char c : m)
      if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) {
        shared.bad_message += 1;
        return "InputError message with a control or non-ASCII character: " + m;
      }
    if (m.size() > opt.max_message) {
      shared.bad_message += 1;
      return "InputError message of " + std::to_string(m.size()) + " characters: " + m.substr(0, 300) + "...";
    }
    if (m.empty()) {
      shared.bad_message += 1;
      return "empty InputError message";
    }
    return "";
  } catch (const std::exception& e) {
    shared.other_exception += 1;
    return std::string("exception other than InputError: ") + e.what();
  } catch (...) {
    shared.other_exception += 1;
    return "a non-standard exception";
  }
}

void save_input(const Options& opt, std::uint64_t index, const Input& in, const std::string& what) {
  if (opt.save.empty()) return;
  fs::create_directories(opt.save);
  const std::string base = opt.save + "/input-" + std::to_string(index);
  std::ofstream(base + (in.format == DeckFormat::xml ? ".xml" : ".yaml"), std::ios::binary) << in.text;
  std::ofstream info(base + ".txt");
  info << what << "\n" << in.description << "\n";
  for (const auto& o : in.overrides) info << "--set " << o << "\n";
}

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " --corpus DIR [--inputs N] [--seed S] [--first K] [--timeout SECONDS] [--max-message N] [--save DIR]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--corpus") opt.corpus = value();
      else if (a == "--inputs") opt.inputs = std::stoull(value());
      else if (a == "--seed") opt.seed = std::stoull(value());
      else if (a == "--timeout") opt.timeout = std::stod(value());
      else if (a == "--max-message") opt.max_message = std::stoull(value());
      else if (a == "--save") opt.save = value();
      else if (a == "--first") opt.first = std::stoull(value());
      else if (a == "--batch") opt.batch = std::max<std::uint64_t>(1, std::stoull(value()));
      else return usage(argv[0]);
    } catch (const std::exception& e) {
      std::cerr << "fuzz_decks: " << e.what() << "\n";
      return usage(argv[0]);
    }
  }
  if (opt.corpus.empty()) return usage(argv[0]);
  const auto seeds = load_corpus(opt.corpus);
  if (seeds.empty()) {
    std::cerr << "fuzz_decks: no *.yaml or *.xml deck in " << opt.corpus << "\n";
    return 2;
  }
  std::vector<std::string> texts;
  for (const auto& s : seeds) texts.push_back(s.text);
  const auto dict = dictionary();
  const auto paths = schema_paths();

  auto* shared = static_cast<Shared*>(
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  std::memset(shared, 0, sizeof(Shared));

  std::uint64_t refused = 0, accepted = 0, bad_message = 0, other_exception = 0, crashes = 0, hangs = 0;
  double max_seconds = 0;
  std::uint64_t slowest = 0;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t next = opt.first;
  const std::uint64_t last = opt.first + opt.inputs;
  while (next < last) {
    const std::uint64_t end = std::min(last, next + opt.batch);
    std::memset(shared, 0, sizeof(Shared));
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      // Child: run inputs [next, end), each under a timer whose signal ends the child.
      for (std::uint64_t k = next; k < end; ++k) {
        shared->current = k;
        const Input in = make_input(opt.seed, k, seeds, texts, dict, paths);
        itimerval timer{};
        timer.it_value.tv_sec = static_cast<time_t>(opt.timeout);
        timer.it_value.tv_usec = static_cast<suseconds_t>((opt.timeout - static_cast<double>(timer.it_value.tv_sec)) * 1e6);
        setitimer(ITIMER_REAL, &timer, nullptr);
        const auto t0 = std::chrono::steady_clock::now();
        const std::string failure = run_one(in, opt, *shared);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        timer = {};
        setitimer(ITIMER_REAL, &timer, nullptr);
        if (seconds > shared->max_seconds) shared->max_seconds = seconds, shared->slowest = k;
        if (!failure.empty()) {
          std::cerr << "FAIL input " << k << " (" << in.description << "): " << failure << "\n";
          save_input(opt, k, in, failure);
        }
        shared->done += 1;
      }
      std::cerr.flush();
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    refused += shared->refused;
    accepted += shared->accepted;
    bad_message += shared->bad_message;
    other_exception += shared->other_exception;
    if (shared->max_seconds > max_seconds) max_seconds = shared->max_seconds, slowest = shared->slowest;
    if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
      const std::uint64_t k = shared->current;
      const Input in = make_input(opt.seed, k, seeds, texts, dict, paths);
      const bool hang = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
      const std::string what = hang ? "hang: over " + std::to_string(opt.timeout) + " s"
                               : WIFSIGNALED(status) ? std::string("crash: signal ") + strsignal(WTERMSIG(status))
                                                     : "crash: exit status " + std::to_string(WEXITSTATUS(status));
      (hang ? hangs : crashes) += 1;
      std::cerr << "FAIL input " << k << " (" << in.description << "): " << what << "\n";
      save_input(opt, k, in, what);
      next = k + 1;
    } else {
      next = end;
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::uint64_t run = refused + accepted + other_exception + crashes + hangs;
  char line[512];
  std::snprintf(line, sizeof line,
                "fuzz_decks: seed %llu, %llu inputs from %zu corpus decks in %.1f s: %llu refused (InputError), "
                "%llu accepted; %llu crashes, %llu hangs, %llu bad messages, %llu other exceptions; slowest input "
                "%.3f s (#%llu)",
                static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(run), seeds.size(), total,
                static_cast<unsigned long long>(refused), static_cast<unsigned long long>(accepted),
                static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(hangs),
                static_cast<unsigned long long>(bad_message), static_cast<unsigned long long>(other_exception),
                max_seconds, static_cast<unsigned long long>(slowest));
  std::cout << line << std::endl;
  const bool ok = crashes == 0 && hangs == 0 && bad_message == 0 && other_exception == 0 && run == opt.inputs;
  return ok ? 0 : 1;
}
