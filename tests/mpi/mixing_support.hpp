#pragma once
// Shared helpers of the MPI mixing tests: deterministic initial states keyed by global agent id,
// gathering every rank's block to every rank, an independent dense host reference of
// W(k)...W(0) X, and the catalogue of topologies to sweep.
//
// Kernels are functors in a named namespace (not lambdas inside TEST bodies) so the file also
// compiles for CUDA, whose extended lambdas may not live in private member functions.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/core/spaces.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/topology/registry.hpp"
#include "concord/topology/topology.hpp"

namespace concord_test {

/// The message of the exception f() throws, or "(no exception)".
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int p = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  return p;
}

/// True when every rank passes true (a collective: call it on every rank).
inline bool all_ranks(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

/// True when the 64-bit value is the same on every rank.
inline bool same_on_all_ranks(std::uint64_t value) {
  std::uint64_t lo = 0, hi = 0;
  MPI_Allreduce(&value, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&value, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

inline std::uint64_t bits_of(double v) {
  std::uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

/// The initial value of (global agent, coordinate): in [-1, 1), a function of the ids only.
KOKKOS_INLINE_FUNCTION double initial_value(std::uint64_t seed, std::int64_t agent, std::int64_t c) {
  concord::RandomStream s(seed, static_cast<std::uint64_t>(agent), static_cast<std::uint64_t>(c));
  return 2.0 * s.uniform() - 1.0;
}

/// Fills x(a, c) = initial_value(seed, first + a, c) on the device.
struct FillInitial {
  concord::AgentMatrix x;
  std::uint64_t seed;
  std::int64_t first;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t t) const {
    const std::int64_t rows = static_cast<std::int64_t>(x.extent(0));
    const std::int64_t a = t % rows, c = t / rows;
    x(a, c) = initial_value(seed, first + a, c);
  }
};

/// This rank's block of the deterministic initial state: (local agents x d).
inline concord::AgentMatrix initial_state(const concord::AgentLayout& layout, int d, std::uint64_t seed,
                                          const std::string& label = "concord_test::x") {
  concord::AgentMatrix x(label, layout.local_count(), d);
  const std::int64_t total = static_cast<std::int64_t>(layout.local_count()) * d;
  Kokkos::parallel_for("concord_test::fill_initial", Kokkos::RangePolicy<concord::ExecutionSpace>(0, total),
                       FillInitial{x, seed, layout.local_first()});
  Kokkos::fence();
  return x;
}

/// The same initial state for all n agents, computed on the host, row-major (agent, coordinate).
inline std::vector<double> initial_rows(int n, int d, std::uint64_t seed) {
  std::vector<double> rows(static_cast<std::size_t>(n) * d);
  for (int a = 0; a < n; ++a)
    for (int c = 0; c < d; ++c) rows[static_cast<std::size_t>(a) * d + c] = initial_value(seed, a, c);
  return rows;
}

/// The local block of x as host rows (agent-major: (local agent, c) at a * d + c).
inline std::vector<double> local_rows(const concord::AgentMatrix& x) {
  Kokkos::fence();
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  const std::size_t n = h.extent(0), d = h.extent(1);
  std::vector<double> rows(n * d);
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t c = 0; c < d; ++c) rows[a * d + c] = h(a, c);
  return rows;
}

/// Every agent's row on every rank, in global agent order (a collective on `comm`).
inline std::vector<double> gather_rows(const concord::AgentLayout& layout, const concord::AgentMatrix& x,
                                       MPI_Comm comm = MPI_COMM_WORLD) {
  const int d = static_cast<int>(x.extent(1));
  const std::vector<double> mine = local_rows(x);
  std::vector<int> counts(static_cast<std::size_t>(layout.ranks())), displs(counts.size());
  for (int r = 0; r < layout.ranks(); ++r) {
    counts[static_cast<std::size_t>(r)] = layout.count(r) * d;
    displs[static_cast<std::size_t>(r)] = layout.first(r) * d;
  }
  std::vector<double> all(static_cast<std::size_t>(layout.agents()) * d);
  MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                 MPI_DOUBLE, comm);
  return all;
}

/// Dense row-major copy of W built from WeightMatrix::operator() only.
inline std::vector<double> dense(const concord::topology::WeightMatrix& w) {
  const int n = w.size();
  std::vector<double> m(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) m[static_cast<std::size_t>(i) * n + j] = w(i, j);
  return m;
}

/// Y = W X with W dense (n x n) and X row-major (n x d), plain loops.
inline std::vector<double> dense_multiply(const std::vector<double>& w, const std::vector<double>& x, int n, int d) {
  std::vector<double> y(static_cast<std::size_t>(n) * d, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double wij = w[static_cast<std::size_t>(i) * n + j];
      for (int c = 0; c < d; ++c)
        y[static_cast<std::size_t>(i) * d + c] += wij * x[static_cast<std::size_t>(j) * d + c];
    }
  return y;
}

/// W(k0 + steps - 1) ... W(k0) X on the host, dense.
inline std::vector<double> dense_reference(const concord::topology::Topology& t, std::vector<double> x, int d,
                                           std::int64_t k0, int steps) {
  // W(k) from Topology::matrix: the periodic round, the drawn pool member or the reweighted draw.
  for (int s = 0; s < steps; ++s) x = dense_multiply(dense(t.matrix(k0 + s)), x, t.agents(), d);
  return x;
}

/// Applies `steps` mixing steps k0, k0 + 1, ... starting from a copy of x; returns the result.
inline concord::AgentMatrix run_steps(concord::mixing::Mixer& mixer, const concord::AgentMatrix& x, std::int64_t k0,
                                      int steps) {
  concord::AgentMatrix a("concord_test::a", x.extent(0), x.extent(1));
  concord::AgentMatrix b("concord_test::b", x.extent(0), x.extent(1));
  Kokkos::deep_copy(a, x);
  for (int s = 0; s < steps; ++s) {
    mixer.apply(concord::ExecutionSpace(), k0 + s, a, b);
    std::swap(a, b);
  }
  Kokkos::fence();
  return a;
}

/// Largest |a - b| over two equally long vectors.
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

/// Bit-for-bit equality.
inline bool bit_identical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// The single-process reference layout/transport: every agent on this rank, no messages.
struct SelfMixer {
  concord::AgentLayout layout;
  std::shared_ptr<concord::comm::Transport> transport;
  concord::mixing::Mixer mixer;
  SelfMixer(const concord::topology::Topology& t, int d, int max_vectors = 2)
      : layout(t.agents(), 1, 0),
        transport(concord::comm::make_transport(MPI_COMM_SELF)),
        mixer(t, layout, transport, d, max_vectors) {}
};

/// One topology of the sweep.
struct TopologyCase {
  std::string name;
  int n = 0;
  std::map<std::string, std::string> params;
  concord::topology::Topology topology;
  std::string label() const {
    std::string s = name + "(n=" + std::to_string(n);
    for (const auto& [k, v] : params) s += ", " + k + "=" + v;
    return s + ")";
  }
};

/// Values for parameters the catalogue marks as required (empty default) that these tests know.
inline const std::map<std::string, std::string>& required_values() {
  static const std::map<std::string, std::string> v{{"radius", "0.6"}};
  return v;
}

/// Whether a catalogue entry needs something these tests cannot give (a file).
inline bool needs_file(const concord::topology::TopologyInfo& info) {
  for (const auto& p : info.parameters)
    if (p.type == "path") return true;
  return false;
}

/// Every catalogue entry (file-based ones aside) built for each n in `ns` where it is valid, with
/// its defaults and, for entries with an integer parameter k, also k = 2. `uncovered` receives
/// the entries valid for none of the n (a test should fail on those: a new entry needs a case).
inline std::vector<TopologyCase> catalogue_cases(const std::vector<int>& ns, std::vector<std::string>* uncovered,
                                                 std::uint64_t seed = 3) {
  std::vector<TopologyCase> cases;
  for (const auto& info : concord::topology::topology_catalog()) {
    if (needs_file(info)) continue;
    std::vector<std::map<std::string, std::string>> variants{{}};
    for (const auto& p : info.parameters) {
      if (p.default_value.empty() && required_values().count(p.key))
        variants.front()[p.key] = required_values().at(p.key);
      if (p.key == "k" && p.type == "int") {
        auto v = variants.front();
        v["k"] = "2";
        variants.push_back(v);
      }
    }
    bool covered = false;
    for (int n : ns)
      for (const auto& params : variants) {
        try {
          auto t = concord::topology::make_topology(info.name, n, params, seed);
          cases.push_back({info.name, n, params, std::move(t)});
          covered = true;
        } catch (const concord::InputError&) {
          // Not defined for this n (e.g. a hypercube needs a power of two).
        }
      }
    if (!covered && uncovered) uncovered->push_back(info.name);
  }
  return cases;
}

}  // namespace concord_test
