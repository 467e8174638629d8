#include "concord/mixing/mixer.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "concord/core/error.hpp"

namespace concord::mixing {

namespace {

using Buffer = Kokkos::View<double*, MemorySpace>;
using Policy = Kokkos::RangePolicy<ExecutionSpace>;

/// Packs vector v of `in` into the send buffer (see plan.hpp for the buffer layout).
struct Pack {
  AgentMatrix::const_type in;
  Buffer send;
  Kokkos::View<int*, MemorySpace> local_row, position;
  Kokkos::View<std::int64_t*, MemorySpace> block_first, block_rows;
  std::int64_t rows, vd, vc;  // rows sent, V*d, v*d

  /// Host order: one coordinate at a time, all sent rows (contiguous reads of that column).
  KOKKOS_INLINE_FUNCTION void column(std::int64_t c) const {
    for (std::int64_t s = 0; s < rows; ++s) value(s, c);
  }
  KOKKOS_INLINE_FUNCTION void value(std::int64_t s, std::int64_t c) const {
    send(block_first(s) * vd + (vc + c) * block_rows(s) + position(s)) = in(local_row(s), c);
  }
};

/// out = W in for a subset of rows (interior or boundary), vector v.
struct Mix {
  AgentMatrix::const_type in;
  AgentMatrix out;
  Buffer::const_type recv;
  PlanViews plan;
  Kokkos::View<const int*, MemorySpace> rows;  // device kernel: the subset's rows
  Kokkos::View<const Run*, MemorySpace> runs;  // host kernel: the subset's runs
  std::int64_t owned, vd, vc;                  // owned rows, V*d, v*d

  /// Host kernel, one coordinate: each run is a contiguous (multiply-)add over agent rows.
  KOKKOS_INLINE_FUNCTION void column(std::int64_t c) const {
    const double* x = &in(0, c);
    double* y = &out(0, c);
    const double* w = plan.run_weights.data();
    for (std::size_t r = 0; r < runs.extent(0); ++r) {
      const Run run = runs(r);
      const double* src =
          run.source < 0 ? x
                         : recv.data() + plan.recv_block_first(run.source) * vd + (vc + c) * plan.recv_block_rows(run.source);
      src += run.source_row;
      double* dst = y + run.row;
      const double* wr = w + run.weight;
      if (run.assign) {
        for (int t = 0; t < run.length; ++t) dst[t] = wr[t] * src[t];
      } else {
        for (int t = 0; t < run.length; ++t) dst[t] += wr[t] * src[t];
      }
    }
  }

  /// Device kernel, one (row, coordinate): the row's entries in ascending global column order.
  KOKKOS_INLINE_FUNCTION void value(int i, std::int64_t c) const {
    double s = 0.0;
    for (std::int64_t e = plan.row_offsets(i); e < plan.row_offsets(i + 1); ++e) {
      const int col = plan.columns(e);
      double v;
      if (col < owned) {
        v = in(col, c);
      } else {
        const int h = col - static_cast<int>(owned);
        v = recv(plan.halo_block_first(h) * vd + (vc + c) * plan.halo_block_rows(h) + plan.halo_position(h));
      }
      s += plan.weights(e) * v;
    }
    out(i, c) = s;
  }
};

void launch_pack(const ExecutionSpace& exec, const MixingPlan& plan, const AgentMatrix& in, const Buffer& send,
                 std::int64_t vd, std::int64_t vc) {
  const auto& p = plan.views();
  const std::int64_t rows = static_cast<std::int64_t>(p.send_local_row.extent(0));
  if (rows == 0) return;
  const std::int64_t d = static_cast<std::int64_t>(in.extent(1));
  Pack pack{in, send, p.send_local_row, p.send_position, p.send_block_first, p.send_block_rows, rows, vd, vc};
  if constexpr (host_execution) {
    Kokkos::parallel_for("concord::Mixer::pack", Policy(exec, 0, d),
                         KOKKOS_LAMBDA(std::int64_t c) { pack.column(c); });
  } else {
    Kokkos::parallel_for("concord::Mixer::pack", Policy(exec, 0, rows * d),
                         KOKKOS_LAMBDA(std::int64_t t) { pack.value(t % rows, t / rows); });
  }
}

void launch_mix(const ExecutionSpace& exec, const MixingPlan& plan, bool interior, const AgentMatrix& in,
                const AgentMatrix& out, const Buffer& recv, std::int64_t vd, std::int64_t vc) {
  const auto& p = plan.views();
  const auto rows = interior ? p.interior_rows : p.boundary_rows;
  const std::int64_t n = static_cast<std::int64_t>(rows.extent(0));
  if (n == 0) return;
  const std::int64_t d = static_cast<std::int64_t>(in.extent(1));
  Mix mix{in, out, recv, p, rows, interior ? p.interior_runs : p.boundary_runs, plan.owned_rows(), vd, vc};
  const char* label = interior ? "concord::Mixer::mix_interior" : "concord::Mixer::mix_boundary";
  if constexpr (host_execution) {
    Kokkos::parallel_for(label, Policy(exec, 0, d), KOKKOS_LAMBDA(std::int64_t c) { mix.column(c); });
  } else {
    Kokkos::parallel_for(label, Policy(exec, 0, n * d),
                         KOKKOS_LAMBDA(std::int64_t t) { mix.value(mix.rows(t % n), t / n); });
  }
}

}  // namespace

Mixer::Mixer(const topology::Topology& topology, const AgentLayout& layout, std::shared_ptr<comm::Transport> transport,
             int dimension, int max_vectors)
    : layout_(layout), transport_(std::move(transport)), dimension_(dimension), max_vectors_(max_vectors) {
  if (!transport_) throw std::logic_error("concord::Mixer: no transport");
  if (topology.agents() != layout.agents())
    throw InputError(fmt::format("mixing: topology '{}' has {} agents but the agent layout has {}", topology.name(),
                                 topology.agents(), layout.agents()));
  if (transport_->size() != layout.ranks() || transport_->rank() != layout.rank())
    throw InputError(fmt::format("mixing: the transport spans {} ranks but the agent layout {}", transport_->size(),
                                 layout.ranks()));
  if (dimension < 1) throw InputError(fmt::format("mixing: dimension must be >= 1 (got {})", dimension));
  if (max_vectors < 1) throw InputError(fmt::format("mixing: max_vectors must be >= 1 (got {})", max_vectors));
  plans_.reserve(static_cast<std::size_t>(topology.period()));
  std::int64_t send_rows = 0, recv_rows = 0;
  for (const auto& w : topology.rounds()) {
    plans_.emplace_back(w, layout);
    send_rows = std::max(send_rows, plans_.back().pattern().send_rows());
    recv_rows = std::max(recv_rows, plans_.back().pattern().recv_rows());
  }
  const std::size_t values = static_cast<std::size_t>(max_vectors) * static_cast<std::size_t>(dimension);
  send_buffer_ = Buffer(Kokkos::view_alloc(Kokkos::WithoutInitializing, "concord::Mixer::send_buffer"),
                        static_cast<std::size_t>(send_rows) * values);
  recv_buffer_ = Buffer(Kokkos::view_alloc(Kokkos::WithoutInitializing, "concord::Mixer::recv_buffer"),
                        static_cast<std::size_t>(recv_rows) * values);
  transport_->reserve(send_buffer_.extent(0), recv_buffer_.extent(0), static_cast<std::size_t>(dimension));
  in_.reserve(static_cast<std::size_t>(max_vectors));
  out_.reserve(static_cast<std::size_t>(max_vectors));
}

void Mixer::check(std::span<const AgentMatrix> in, std::span<const AgentMatrix> out) const {
  if (in.size() != out.size() || in.empty() || static_cast<int>(in.size()) > max_vectors_)
    throw std::invalid_argument(fmt::format("concord::Mixer: {} input and {} output vectors (1 to {} pairs allowed)",
                                            in.size(), out.size(), max_vectors_));
  const auto rows = static_cast<std::size_t>(layout_.local_count());
  const auto dim = static_cast<std::size_t>(dimension_);
  for (std::size_t v = 0; v < in.size(); ++v) {
    for (const AgentMatrix* m : {&in[v], &out[v]})
      if (m->extent(0) != rows || m->extent(1) != dim)
        throw std::invalid_argument(fmt::format("concord::Mixer: vector {} is {} x {}, expected {} x {} "
                                                "(local agents x dimension)",
                                                v, m->extent(0), m->extent(1), rows, dim));
    for (std::size_t u = 0; u < out.size(); ++u)
      if (in[v].data() == out[u].data())
        throw std::invalid_argument("concord::Mixer: input and output must not alias (mixing is not in place)");
  }
}

void Mixer::start(const ExecutionSpace& exec, std::int64_t k, std::span<const AgentMatrix> in,
                  std::span<const AgentMatrix> out) {
  if (active_ != nullptr) throw std::logic_error("concord::Mixer::start: a step is already in flight");
  if (k < 0) throw std::invalid_argument("concord::Mixer::start: iteration k must be >= 0");
  check(in, out);
  const MixingPlan& plan = plans_[static_cast<std::size_t>(k % period())];
  vectors_ = static_cast<int>(in.size());
  in_.assign(in.begin(), in.end());
  out_.assign(out.begin(), out.end());
  const std::int64_t d = dimension_;
  const std::int64_t vd = vectors_ * d;
  const auto& pattern = plan.pattern();
  if (!pattern.empty()) transport_->post_receives(exec, pattern, static_cast<std::size_t>(vd), recv_buffer_.data());
  for (int v = 0; v < vectors_; ++v) launch_pack(exec, plan, in_[v], send_buffer_, vd, v * d);
  if (!pattern.empty()) transport_->post_sends(exec, pattern, static_cast<std::size_t>(vd), send_buffer_.data());
  for (int v = 0; v < vectors_; ++v) launch_mix(exec, plan, true, in_[v], out_[v], recv_buffer_, vd, v * d);
  active_ = &plan;
}

void Mixer::finish(const ExecutionSpace& exec) {
  if (active_ == nullptr) throw std::logic_error("concord::Mixer::finish: no step in flight");
  const MixingPlan& plan = *active_;
  active_ = nullptr;
  if (!plan.pattern().empty()) transport_->wait(exec);
  const std::int64_t d = dimension_;
  for (int v = 0; v < vectors_; ++v) launch_mix(exec, plan, false, in_[v], out_[v], recv_buffer_, vectors_ * d, v * d);
}

void Mixer::apply(const ExecutionSpace& exec, std::int64_t k, std::span<const AgentMatrix> in,
                  std::span<const AgentMatrix> out) {
  start(exec, k, in, out);
  finish(exec);
}

void Mixer::apply(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& in, const AgentMatrix& out) {
  apply(exec, k, std::span<const AgentMatrix>(&in, 1), std::span<const AgentMatrix>(&out, 1));
}

void average(const ExecutionSpace& exec, comm::Transport& transport, const AgentLayout& layout, const AgentMatrix& x,
             const CoordinateVector& mean) {
  const std::int64_t rows = static_cast<std::int64_t>(x.extent(0));
  if (x.extent(1) != mean.extent(0) || rows != layout.local_count())
    throw std::invalid_argument("concord::mixing::average: extents do not match the layout");
  Kokkos::parallel_for(
      "concord::mixing::average::local_sum", Policy(exec, 0, static_cast<std::int64_t>(x.extent(1))),
      KOKKOS_LAMBDA(std::int64_t c) {
        double s = 0.0;
        for (std::int64_t a = 0; a < rows; ++a) s += x(a, c);
        mean(c) = s;
      });
  transport.allreduce_sum(exec, mean.data(), mean.extent(0));
  const double scale = 1.0 / layout.agents();
  Kokkos::parallel_for(
      "concord::mixing::average::scale", Policy(exec, 0, static_cast<std::int64_t>(mean.extent(0))),
      KOKKOS_LAMBDA(std::int64_t c) { mean(c) *= scale; });
}

}  // namespace concord::mixing
