// The algorithms of algorithm.hpp. Each is a handful of element-wise kernels around the problem's
// gradient and the Mixer / ReproducibleSum; all state is allocated in the constructors.
#include <fmt/format.h>

#include <algorithm>

#include "concord/algorithms/algorithm.hpp"
#include "concord/core/error.hpp"

namespace concord::algorithms {
namespace {

using Flat = Kokkos::View<double*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// The contiguous storage of an AgentMatrix as one vector (every matrix here is allocated whole).
Flat flat(const AgentMatrix& m) { return Flat(m.data(), m.span()); }

/// out(i) = f(i) over every entry of matrices of the same extents.
template <class F>
void entries(const ExecutionSpace& exec, const char* label, const AgentMatrix& like, F f) {
  Kokkos::parallel_for(label, Policy(exec, 0, static_cast<std::int64_t>(like.span())), f);
}

/// Every local agent's row <- mean (a CoordinateVector).
void broadcast(const ExecutionSpace& exec, const char* label, const CoordinateVector& mean, const AgentMatrix& x) {
  const std::int64_t agents = static_cast<std::int64_t>(x.extent(0));
  Flat xf = flat(x);
  Kokkos::parallel_for(label, Policy(exec, 0, static_cast<std::int64_t>(x.span())),
                       KOKKOS_LAMBDA(std::int64_t i) { xf(i) = mean(i / agents); });
}

// ---------------------------------------------------------------------------------------------
class Dsgd final : public Algorithm {
 public:
  Dsgd(const AlgorithmOptions& o, Environment env)
      : Algorithm("dsgd", o, env), cta_(o.variant == "cta"), g_(allocate("g")), work_(allocate("work")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override { Kokkos::deep_copy(exec, x_, x0); }

  void step(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), g = flat(g_), w = flat(work_);
    if (!cta_) {  // x <- W (x - gamma g)
      begin(exec);
      problem_.gradient(exec, x_, g_, k);
      entries(exec, "concord::Dsgd::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * g(i); });
      end(exec, times_.compute);
      mixer_.apply(exec, k, work_, x_);
      end(exec, times_.communication);
    } else {  // x <- W x - gamma g, the gradient computed while the exchange is in flight
      begin(exec);
      const AgentMatrix in[1] = {x_}, out[1] = {work_};
      mixer_.start(exec, k, in, out);
      problem_.gradient(exec, x_, g_, k);
      mixer_.finish(exec);
      entries(exec, "concord::Dsgd::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { x(i) = w(i) - gamma * g(i); });
      end(exec, times_.compute);  // overlapped: the whole step counts as computation
    }
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }

 private:
  bool cta_;
  AgentMatrix g_, work_;
};

// ---------------------------------------------------------------------------------------------
/// Average consensus: x <- W(k) x, no gradient. Every agent's model tends to the average of the
/// initial models at the topology's consensus rate.
class Gossip final : public Algorithm {
 public:
  Gossip(const AlgorithmOptions& o, Environment env) : Algorithm("gossip", o, env), work_(allocate("work")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override { Kokkos::deep_copy(exec, x_, x0); }

  void step(const ExecutionSpace& exec, std::int64_t k) override {
    begin(exec);
    mixer_.apply(exec, k, x_, work_);
    end(exec, times_.communication);
    std::swap(x_, work_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }

  std::string describe() const override { return name() + " (x <- W x, no gradient)"; }

 private:
  AgentMatrix work_;
};

// ---------------------------------------------------------------------------------------------
class GradientTracking final : public Algorithm {
 public:
  GradientTracking(const AlgorithmOptions& o, Environment env)
      : Algorithm("gradient_tracking", o, env),
        cta_(o.variant == "cta"),
        y_(allocate("y")),
        g_(allocate("g")),
        g_new_(allocate("g_new")),
        work_(allocate("work")),
        work2_(allocate("work2")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    problem_.gradient(exec, x_, g_, 0);  // g^0 at x^0 with xi^0
    Kokkos::deep_copy(exec, y_, g_);     // y^0 = g^0
  }

  void step(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), y = flat(y_), g = flat(g_), gn = flat(g_new_), w = flat(work_), w2 = flat(work2_);
    if (!cta_) {
      begin(exec);
      entries(exec, "concord::GradientTracking::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * y(i); });
      end(exec, times_.compute);
      mixer_.apply(exec, k, work_, x_);  // x^{k+1} = W (x^k - gamma y^k)
      end(exec, times_.communication);
      problem_.gradient(exec, x_, g_new_, k + 1);
      entries(exec, "concord::GradientTracking::track", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = y(i) + gn(i) - g(i); });
      end(exec, times_.compute);
      mixer_.apply(exec, k, work_, y_);  // y^{k+1} = W (y^k + g^{k+1} - g^k)
      end(exec, times_.communication);
    } else {
      begin(exec);
      const AgentMatrix in[2] = {x_, y_}, out[2] = {work_, work2_};
      mixer_.apply(exec, k, in, out);  // W x and W y in one exchange
      end(exec, times_.communication);
      entries(exec, "concord::GradientTracking::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { x(i) = w(i) - gamma * y(i); });
      problem_.gradient(exec, x_, g_new_, k + 1);
      entries(exec, "concord::GradientTracking::track", x_, KOKKOS_LAMBDA(std::int64_t i) { y(i) = w2(i) + gn(i) - g(i); });
      end(exec, times_.compute);
    }
    std::swap(g_, g_new_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"y", y_}, {"g", g_}}; }
  double exchanges_per_iteration() const override { return cta_ ? 1.0 : 2.0; }

 private:
  bool cta_;
  AgentMatrix y_, g_, g_new_, work_, work2_;
};

// ---------------------------------------------------------------------------------------------
class ExactDiffusion final : public Algorithm {
 public:
  ExactDiffusion(const AlgorithmOptions& o, Environment env)
      : Algorithm("exact_diffusion", o, env), psi_(allocate("psi")), g_(allocate("g")), phi_(allocate("phi")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    Kokkos::deep_copy(exec, psi_, x0);  // psi^0 = x^0
  }

  void step(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), psi = flat(psi_), g = flat(g_), phi = flat(phi_);
    begin(exec);
    problem_.gradient(exec, x_, g_, k);
    entries(exec, "concord::ExactDiffusion::adapt", x_, KOKKOS_LAMBDA(std::int64_t i) {
      const double next = x(i) - gamma * g(i);  // psi^{k+1}
      phi(i) = next + x(i) - psi(i);            // phi^{k+1}
      psi(i) = next;
    });
    end(exec, times_.compute);
    mixer_.apply(exec, k, phi_, x_);  // W phi
    end(exec, times_.communication);
    entries(exec, "concord::ExactDiffusion::combine", x_,
            KOKKOS_LAMBDA(std::int64_t i) { x(i) = 0.5 * (phi(i) + x(i)); });  // (I + W)/2 phi
    end(exec, times_.compute);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"psi", psi_}}; }

 private:
  AgentMatrix psi_, g_, phi_;
};

// ---------------------------------------------------------------------------------------------
class D2 final : public Algorithm {
 public:
  D2(const AlgorithmOptions& o, Environment env)
      : Algorithm("d2", o, env),
        x_prev_(allocate("x_prev")),
        g_(allocate("g")),
        g_prev_(allocate("g_prev")),
        work_(allocate("work")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    Kokkos::deep_copy(exec, x_prev_, x0);
    Kokkos::deep_copy(exec, g_prev_, 0.0);
  }

  void step(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), xp = flat(x_prev_), g = flat(g_), gp = flat(g_prev_), w = flat(work_);
    begin(exec);
    problem_.gradient(exec, x_, g_, k);
    if (k == 0)
      entries(exec, "concord::D2::first", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * g(i); });
    else
      entries(exec, "concord::D2::extrapolate", x_,
              KOKKOS_LAMBDA(std::int64_t i) { w(i) = 2.0 * x(i) - xp(i) - gamma * (g(i) - gp(i)); });
    end(exec, times_.compute);
    mixer_.apply(exec, k, work_, x_prev_);  // x^{k+1} into the buffer of x^{k-1}
    end(exec, times_.communication);
    std::swap(x_, x_prev_);
    std::swap(g_, g_prev_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override {
    return {{"x", x_}, {"x_prev", x_prev_}, {"g_prev", g_prev_}};
  }

 private:
  AgentMatrix x_prev_, g_, g_prev_, work_;
};

// ---------------------------------------------------------------------------------------------
/// PSGD, Gossip-PGA and local SGD: the algorithms with exact global averages.
class GlobalAveraging final : public Algorithm {
 public:
  enum class Kind { psgd, gossip_pga, local_sgd };
  GlobalAveraging(Kind kind, const AlgorithmOptions& o, Environment env)
      : Algorithm(kind == Kind::psgd ? "psgd" : kind == Kind::gossip_pga ? "gossip_pga" : "local_sgd", o, env),
        kind_(kind),
        g_(allocate("g")),
        work_(allocate("work")),
        mean_(Kokkos::view_alloc(std::string("concord::") + name_ + "::mean"), dimension_) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    if (kind_ == Kind::psgd) {  // PSGD keeps one model: start every agent from the average
      reducer_.average(exec, x_, mean_);
      broadcast(exec, "concord::psgd::broadcast", mean_, x_);
    }
  }

  void step(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), g = flat(g_), w = flat(work_);
    begin(exec);
    problem_.gradient(exec, x_, g_, k);
    end(exec, times_.compute);
    if (kind_ == Kind::psgd) {
      reducer_.average(exec, g_, mean_);
      end(exec, times_.communication);
      auto mean = mean_;
      const std::int64_t agents = agents_;
      entries(exec, "concord::psgd::descend", x_,
              KOKKOS_LAMBDA(std::int64_t i) { x(i) -= gamma * mean(i / agents); });
      end(exec, times_.compute);
      return;
    }
    const bool average = (k + 1) % options_.period == 0;
    entries(exec, "concord::GlobalAveraging::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * g(i); });
    end(exec, times_.compute);
    if (average) {
      reducer_.average(exec, work_, mean_);
      broadcast(exec, "concord::GlobalAveraging::broadcast", mean_, x_);
    } else if (kind_ == Kind::gossip_pga) {
      mixer_.apply(exec, k, work_, x_);
    } else {
      Kokkos::deep_copy(exec, x_, work_);
    }
    end(exec, times_.communication);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }
  double exchanges_per_iteration() const override {
    return kind_ == Kind::psgd ? 1.0 : kind_ == Kind::gossip_pga ? 1.0 : 1.0 / options_.period;
  }

 private:
  Kind kind_;
  AgentMatrix g_, work_;
  CoordinateVector mean_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
Algorithm::Algorithm(std::string name, const AlgorithmOptions& options, Environment env)
    : name_(std::move(name)),
      options_(options),
      problem_(env.problem),
      mixer_(env.mixer),
      reducer_(env.reducer),
      agents_(env.problem.layout().local_count()),
      dimension_(env.problem.dimension()) {
  if (mixer_.dimension() != dimension_)
    throw std::invalid_argument(fmt::format("concord::algorithms: the mixer's dimension {} differs from the problem's {}",
                                            mixer_.dimension(), dimension_));
  if (reducer_.width() < dimension_)
    throw std::invalid_argument("concord::algorithms: the ReproducibleSum is narrower than the problem dimension");
  x_ = allocate("x");
}

AgentMatrix Algorithm::allocate(const std::string& what) const {
  return AgentMatrix(Kokkos::view_alloc(std::string("concord::") + name_ + "::" + what), agents_, dimension_);
}

std::string Algorithm::describe() const {
  std::string s = name_;
  if (name_ == "dsgd" || name_ == "gradient_tracking") s += " (" + options_.variant + ")";
  if (name_ == "gossip_pga" || name_ == "local_sgd") s += fmt::format(" (H = {})", options_.period);
  return s + ", step size " + options_.schedule.describe();
}

void Algorithm::begin(const ExecutionSpace& exec) {
  if (!options_.time_phases) return;
  exec.fence("concord::Algorithm::timing");
  timer_.reset();
}

void Algorithm::end(const ExecutionSpace& exec, double& bucket) {
  if (!options_.time_phases) return;
  exec.fence("concord::Algorithm::timing");
  bucket += timer_.seconds();
  timer_.reset();
}

const std::vector<std::string>& algorithm_names() {
  static const std::vector<std::string> names = {"psgd", "dsgd",       "gradient_tracking", "exact_diffusion",
                                                 "d2",   "gossip_pga", "local_sgd",         "gossip"};
  return names;
}

std::unique_ptr<Algorithm> make_algorithm(const AlgorithmOptions& options, Environment env) {
  options.schedule.validate();
  const std::string& n = options.name;
  if ((n == "dsgd" || n == "gradient_tracking") && options.variant != "atc" && options.variant != "cta")
    throw InputError(fmt::format("algorithm '{}': unknown variant '{}' (allowed: atc, cta)", n, options.variant));
  if ((n == "gossip_pga" || n == "local_sgd") && options.period < 1)
    throw InputError(fmt::format("algorithm '{}': period must be >= 1, got {}", n, options.period));
  if (n == "dsgd") return std::make_unique<Dsgd>(options, env);
  if (n == "gradient_tracking") return std::make_unique<GradientTracking>(options, env);
  if (n == "exact_diffusion") return std::make_unique<ExactDiffusion>(options, env);
  if (n == "d2") return std::make_unique<D2>(options, env);
  if (n == "gossip") return std::make_unique<Gossip>(options, env);
  if (n == "psgd") return std::make_unique<GlobalAveraging>(GlobalAveraging::Kind::psgd, options, env);
  if (n == "gossip_pga") return std::make_unique<GlobalAveraging>(GlobalAveraging::Kind::gossip_pga, options, env);
  if (n == "local_sgd") return std::make_unique<GlobalAveraging>(GlobalAveraging::Kind::local_sgd, options, env);
  std::string known;
  for (const auto& name : algorithm_names()) known += (known.empty() ? "" : ", ") + name;
  throw InputError(fmt::format("unknown algorithm '{}' (allowed: {})", n, known));
}

}  // namespace concord::algorithms
