#include "concord/mixing/mixer.hpp"

#include <fmt/format.h>

#include <Kokkos_Profiling_ScopedRegion.hpp>
#include <algorithm>
#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "concord/core/detail/host_isa.hpp"
#include "concord/core/error.hpp"
#include "concord/mixing/detail/kernels.hpp"

// AVX2 host kernel (mixer_host.inc): x86-64 with GCC, not in CUDA builds.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define CONCORD_MIX_AVX2 1
#include <immintrin.h>
#endif

namespace concord::mixing {

namespace {

using detail::Buffer;
using Policy = Kokkos::RangePolicy<ExecutionSpace>;
/// Kernel arguments: unmanaged views (the Mixer and its plans own the memory for the whole
/// step), so launching a kernel copies no reference counts.
template <class T>
using Raw = Kokkos::View<T, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using RawMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using RawConstMatrix =
    Kokkos::View<const double**, Kokkos::LayoutLeft, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

/// Packs vector v of `in` into the send buffer (see plan.hpp for the buffer layout).
struct Pack {
  RawConstMatrix in;
  Raw<double*> send;
  Raw<const int*> local_row, position;
  Raw<const std::int64_t*> block_first, block_rows;
  std::int64_t rows, vd, vc;  // rows sent, V*d, v*d

  /// Host order: a chunk of coordinates [c0, c1) one sent row at a time (index arithmetic once
  /// per row and chunk, not per value).
  KOKKOS_INLINE_FUNCTION void chunk(std::int64_t c0, std::int64_t c1) const {
    const std::int64_t in_stride = static_cast<std::int64_t>(in.stride(1));
    for (std::int64_t s = 0; s < rows; ++s) {
      const double* x = in.data() + local_row(s);
      double* dst = send.data() + block_first(s) * vd + vc * block_rows(s) + position(s);
      const std::int64_t dst_stride = block_rows(s);
      for (std::int64_t c = c0; c < c1; ++c) dst[c * dst_stride] = x[c * in_stride];
    }
  }
  KOKKOS_INLINE_FUNCTION void value(std::int64_t s, std::int64_t c) const {
    send(block_first(s) * vd + (vc + c) * block_rows(s) + position(s)) = in(local_row(s), c);
  }
};

#if defined(__clang__)
#define CONCORD_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__) && !defined(__CUDACC__) && !defined(__INTEL_COMPILER)
#define CONCORD_IVDEP _Pragma("GCC ivdep")
#else
#define CONCORD_IVDEP
#endif


/// Host kernels run over chunks of coordinates holding about this many values of the rows a pass
/// writes (8 KiB): the chunks of x and y stay in L1 while every block passes over them. Measured
/// at n = 64 (perf/RESULTS.md): 256-1024 alike, 2048 up to 1.5x slower, 128 slower in cache.
constexpr std::int64_t kChunkValues = 1024;
/// Entries summed in registers per pass; rows with more entries take several passes (the later
/// ones re-load the partial sum, which keeps the order of the additions).
constexpr int kGroup = 8;

std::int64_t chunk_size(std::int64_t rows) {
  return std::max<std::int64_t>(1, kChunkValues / std::max<std::int64_t>(rows, 1));
}

/// Entries [0, G) of one block over coordinates [c0, c1). s[k] / ss[k]: source k's pointer at
/// coordinate 0 (first row of the block) and its coordinate stride; w[k]: its weights, one per
/// row, or (Uniform: the same for every row of the block) w[k][0].
template <int G, bool First, bool Uniform>
KOKKOS_INLINE_FUNCTION void block_pass(double* y, std::int64_t ys, const double* const* s, const std::int64_t* ss,
                                       const double* const* w, int length, std::int64_t c0, std::int64_t c1) {
  double wk[G];
  for (int k = 0; k < G; ++k) wk[k] = w[k][0];
  if (length == 1) {  // one row: walk the coordinates
    bool contiguous = ys == 1;  // the rank owns one row and every halo block is one row
    for (int k = 0; k < G; ++k) contiguous &= ss[k] == 1;
    if (contiguous) {
      CONCORD_IVDEP
      for (std::int64_t c = c0; c < c1; ++c) {
        double a = First ? wk[0] * s[0][c] : y[c] + wk[0] * s[0][c];
        for (int k = 1; k < G; ++k) a += wk[k] * s[k][c];
        y[c] = a;
      }
    } else {
      for (std::int64_t c = c0; c < c1; ++c) {
        double a = First ? wk[0] * s[0][c * ss[0]] : y[c * ys] + wk[0] * s[0][c * ss[0]];
        for (int k = 1; k < G; ++k) a += wk[k] * s[k][c * ss[k]];
        y[c * ys] = a;
      }
    }
    return;
  }
  for (std::int64_t c = c0; c < c1; ++c) {
    double* yc = y + c * ys;
    const double* sc[G];
    for (int k = 0; k < G; ++k) sc[k] = s[k] + c * ss[k];
    if constexpr (Uniform) {
      CONCORD_IVDEP
      for (int t = 0; t < length; ++t) {
        double a = First ? wk[0] * sc[0][t] : yc[t] + wk[0] * sc[0][t];
        for (int k = 1; k < G; ++k) a += wk[k] * sc[k][t];
        yc[t] = a;
      }
    } else {
      CONCORD_IVDEP
      for (int t = 0; t < length; ++t) {
        double a = First ? w[0][t] * sc[0][t] : yc[t] + w[0][t] * sc[0][t];
        for (int k = 1; k < G; ++k) a += w[k][t] * sc[k][t];
        yc[t] = a;
      }
    }
  }
}

template <bool First, bool Uniform>
KOKKOS_INLINE_FUNCTION void block_pass(int g, double* y, std::int64_t ys, const double* const* s,
                                       const std::int64_t* ss, const double* const* w, int length, std::int64_t c0,
                                       std::int64_t c1) {
  switch (g) {
    case 1: block_pass<1, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    case 2: block_pass<2, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    case 3: block_pass<3, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    case 4: block_pass<4, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    case 5: block_pass<5, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    case 6: block_pass<6, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    case 7: block_pass<7, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
    default: block_pass<kGroup, First, Uniform>(y, ys, s, ss, w, length, c0, c1); break;
  }
}

#ifdef CONCORD_MIX_AVX2
#pragma GCC push_options
#pragma GCC target("avx2")
#include "concord/mixing/mixer_host.inc"
#pragma GCC pop_options

/// The AVX2 kernel serves the interior pass (every source an owned row of x, one stride) when the
/// CPU has AVX2, no row has more than 8 entries (one pass, sums in registers) and the row blocks
/// are short (fewer than 16 rows on average: the static exponential graph, 32..1 rows at n = 64),
/// where the portable kernel is bound by its per-block loop set-up: 1.7-2x faster there. Graphs
/// with long blocks (ring, one-peer exponential) already stream at copy speed from memory and
/// keep the portable kernel, as do the boundary pass (halo sources, several strides) and denser
/// rows. Decided per plan from its block structure (perf/RESULTS.md).
bool use_avx2(const MixingPlan& plan) {
  const auto blocks = static_cast<std::int64_t>(plan.views().interior_blocks.extent(0));
  return concord::detail::host_isa_allows(concord::detail::HostIsa::avx2) && plan.max_row_entries() <= kGroup &&
         blocks * 16 > plan.interior_count();
}

/// Chunk of the AVX2 kernel: 32 coordinates at n = 64 (16 KiB of x and of y); its per-block
/// set-up is larger than the portable kernel's, and 2048 values were faster in cache than 1024.
constexpr std::int64_t kChunkValuesAvx2 = 2048;

#pragma GCC push_options
#pragma GCC target("avx512f")
#include "concord/mixing/mixer_circulant.inc"
#pragma GCC pop_options
#endif

/// out = W in for a subset of rows (interior or boundary), vector v.
struct Mix {
  RawConstMatrix in;
  RawMatrix out;
  Raw<const double*> recv;
  // Device kernel: the plan's local CSR and halo positions (plan.hpp), the subset's rows.
  Raw<const std::int64_t*> row_offsets;
  Raw<const int*> columns;
  Raw<const double*> weights;
  Raw<const std::int64_t*> halo_block_first, halo_block_rows;
  Raw<const int*> halo_position;
  Raw<const int*> rows;
  // Host kernel: the subset's row blocks; receive blocks (first row, rows) by source index.
  Raw<const RowBlock*> blocks;
  Raw<const BlockSource*> sources;
  Raw<const double*> block_weights;
  Raw<const std::int64_t*> recv_block_first, recv_block_rows;
  std::int64_t owned, vd, vc;  // owned rows, V*d, v*d

  /// Host kernel, coordinates [c0, c1): every block of the subset in turn.
  KOKKOS_INLINE_FUNCTION void chunk(std::int64_t c0, std::int64_t c1) const {
    const std::int64_t in_stride = static_cast<std::int64_t>(in.stride(1));
    const std::int64_t out_stride = static_cast<std::int64_t>(out.stride(1));
    for (std::size_t b = 0; b < blocks.extent(0); ++b) {
      const RowBlock blk = blocks(b);
      for (int k0 = 0; k0 < blk.entries; k0 += kGroup) {
        const int g = blk.entries - k0 < kGroup ? blk.entries - k0 : kGroup;
        const double* s[kGroup];
        const double* w[kGroup];
        std::int64_t ss[kGroup];
        for (int k = 0; k < g; ++k) {
          const BlockSource src = sources(blk.source + k0 + k);
          if (src.source < 0) {
            s[k] = in.data() + src.row;
            ss[k] = in_stride;
          } else {
            const std::int64_t m = recv_block_rows(src.source);
            s[k] = recv.data() + recv_block_first(src.source) * vd + vc * m + src.row;
            ss[k] = m;
          }
          w[k] = block_weights.data() + blk.weight + static_cast<std::int64_t>(k0 + k) * blk.length;
        }
        double* y = out.data() + blk.row;
        if (blk.uniform) {
          if (k0 == 0) block_pass<true, true>(g, y, out_stride, s, ss, w, blk.length, c0, c1);
          else block_pass<false, true>(g, y, out_stride, s, ss, w, blk.length, c0, c1);
        } else {
          if (k0 == 0) block_pass<true, false>(g, y, out_stride, s, ss, w, blk.length, c0, c1);
          else block_pass<false, false>(g, y, out_stride, s, ss, w, blk.length, c0, c1);
        }
      }
    }
  }

  /// Device kernel, one (row, coordinate): the row's entries in ascending global column order.
  KOKKOS_INLINE_FUNCTION void value(int i, std::int64_t c) const {
    double s = 0.0;
    for (std::int64_t e = row_offsets(i); e < row_offsets(i + 1); ++e) {
      const int col = columns(e);
      double v;
      if (col < owned) {
        v = in(col, c);
      } else {
        const int h = col - static_cast<int>(owned);
        v = recv(halo_block_first(h) * vd + (vc + c) * halo_block_rows(h) + halo_position(h));
      }
      s += weights(e) * v;
    }
    out(i, c) = s;
  }
};

}  // namespace

namespace detail {

void launch_pack(const ExecutionSpace& exec, const MixingPlan& plan, const AgentMatrix& in, const Buffer& send,
                 std::int64_t vd, std::int64_t vc) {
  const auto& p = plan.views();
  const std::int64_t rows = static_cast<std::int64_t>(p.send_local_row.extent(0));
  if (rows == 0) return;
  const std::int64_t d = static_cast<std::int64_t>(in.extent(1));
  Pack pack{in, send, p.send_local_row, p.send_position, p.send_block_first, p.send_block_rows, rows, vd, vc};
  if constexpr (host_execution) {
    const std::int64_t chunk = chunk_size(rows);
    Kokkos::parallel_for(
        "concord::Mixer::pack", Policy(exec, 0, (d + chunk - 1) / chunk),
        KOKKOS_LAMBDA(std::int64_t b) { pack.chunk(b * chunk, b * chunk + chunk < d ? b * chunk + chunk : d); });
  } else {
    Kokkos::parallel_for("concord::Mixer::pack", Policy(exec, 0, rows * d),
                         KOKKOS_LAMBDA(std::int64_t t) { pack.value(t % rows, t / rows); });
  }
}

void launch_mix(const ExecutionSpace& exec, const MixingPlan& plan, bool interior,
                const AgentMatrix& in, const AgentMatrix& out, const Buffer& recv, std::int64_t vd, std::int64_t vc) {
  const auto& p = plan.views();
  const auto rows = interior ? p.interior_rows : p.boundary_rows;
  const std::int64_t n = static_cast<std::int64_t>(rows.extent(0));
  if (n == 0) return;
  const std::int64_t d = static_cast<std::int64_t>(in.extent(1));
  Mix mix{in,
          out,
          recv,
          p.row_offsets,
          p.columns,
          p.weights,
          p.halo_block_first,
          p.halo_block_rows,
          p.halo_position,
          rows,
          interior ? p.interior_blocks : p.boundary_blocks,
          p.block_sources,
          p.block_weights,
          p.recv_block_first,
          p.recv_block_rows,
          plan.owned_rows(),
          vd,
          vc};
  const char* label = interior ? "concord::Mixer::mix_interior" : "concord::Mixer::mix_boundary";
#ifdef CONCORD_MIX_AVX2
  if constexpr (host_execution) {
    if (interior && use_avx2(plan)) {
      const auto& blocks = p.interior_blocks;
      const avx2::Args args{in.data(),
                            static_cast<std::int64_t>(in.stride(1)),
                            out.data(),
                            static_cast<std::int64_t>(out.stride(1)),
                            blocks.data(),
                            static_cast<std::int64_t>(blocks.extent(0)),
                            p.block_sources.data(),
                            p.block_weights.data()};
      const std::int64_t chunk = std::max<std::int64_t>(1, kChunkValuesAvx2 / n);
      Kokkos::parallel_for(label, Policy(exec, 0, (d + chunk - 1) / chunk), [=](std::int64_t b) {
        avx2::chunk(args, b * chunk, b * chunk + chunk < d ? b * chunk + chunk : d);
      });
      return;
    }
  }
#endif
  if constexpr (host_execution) {
    const std::int64_t chunk = chunk_size(n);  // n: the rows this pass writes
    Kokkos::parallel_for(
        label, Policy(exec, 0, (d + chunk - 1) / chunk),
        KOKKOS_LAMBDA(std::int64_t b) { mix.chunk(b * chunk, b * chunk + chunk < d ? b * chunk + chunk : d); });
  } else {
    Kokkos::parallel_for(label, Policy(exec, 0, n * d),
                         KOKKOS_LAMBDA(std::int64_t t) { mix.value(mix.rows(t % n), t / n); });
  }
}

CirculantStep find_circulant(const topology::WeightMatrix& w, const AgentLayout& layout) {
#ifdef CONCORD_MIX_AVX2
  if constexpr (host_execution) {
    const int n = w.size();
    if (!concord::detail::host_isa_allows(concord::detail::HostIsa::avx512) || layout.ranks() != 1 || n % 8 != 0 ||
        n > circulant::kMaxAgents)
      return {};
    // row 0 gives the hops (column = hop) and the weight; every row must be the same shifted
    std::uint64_t hops = 0;
    for (const int c : w.row_cols(0)) hops |= std::uint64_t{1} << c;
    const double weight = w.row_weights(0).empty() ? 0.0 : w.row_weights(0)[0];
    for (int i = 0; i < n; ++i) {
      const auto cols = w.row_cols(i);
      const auto weights = w.row_weights(i);
      if (static_cast<int>(cols.size()) != std::popcount(hops)) return {};
      for (std::size_t e = 0; e < cols.size(); ++e)
        if (!((hops >> ((cols[e] - i + n) % n)) & 1u) || weights[e] != weight) return {};
    }
    for (const auto& entry : circulant::kCirculantKernels)
      if (entry.n == n && entry.hops == hops) return {entry.kernel, weight};
  }
#else
  (void)w;
  (void)layout;
#endif
  return {};
}

void launch_circulant(const ExecutionSpace& exec, const CirculantStep& step, const AgentMatrix& in,
                      const AgentMatrix& out) {
#ifdef CONCORD_MIX_AVX2
  if constexpr (host_execution) {
    const auto kernel = step.kernel;
    const double* x = in.data();
    double* y = out.data();
    const auto ldx = static_cast<std::int64_t>(in.stride(1)), ldy = static_cast<std::int64_t>(out.stride(1));
    const double weight = step.weight;
    const std::int64_t d = static_cast<std::int64_t>(in.extent(1));
    constexpr std::int64_t chunk = 64;  // coordinates per work item: 32 KiB of x at n = 64
    Kokkos::parallel_for("concord::Mixer::mix_circulant", Policy(exec, 0, (d + chunk - 1) / chunk),
                         [=](std::int64_t b) { kernel(x, ldx, y, ldy, weight, b * chunk, std::min(d, b * chunk + chunk)); });
    return;
  }
#endif
  (void)exec;
  (void)step;
  (void)in;
  (void)out;
  throw std::logic_error("concord::Mixer: no circulant kernel in this build");
}

}  // namespace detail

using detail::launch_mix;
using detail::launch_pack;

Mixer::Mixer(const topology::Topology& topology, const AgentLayout& layout, std::shared_ptr<comm::Transport> transport,
             int dimension, int max_vectors)
    : topology_(topology), layout_(layout), transport_(std::move(transport)), dimension_(dimension), max_vectors_(max_vectors) {
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
  const topology::WeightDraw* draw = topology.weight_draw();
  for (const auto& w : topology.rounds()) {
    plans_.emplace_back(w, layout, /*variable_weights=*/draw != nullptr);
    circulant_.push_back(draw == nullptr ? detail::find_circulant(w, layout) : detail::CirculantStep{});
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
  if (draw != nullptr) {
    draw_values_.resize(plans_.front().owned_entries());
    draw_scratch_.resize(draw->scratch_size());
  }
}

const MixingPlan& Mixer::prepare(const ExecutionSpace& exec, std::int64_t k) {
  if (active_ != nullptr) throw std::logic_error("concord::Mixer::prepare: a step is in flight");
  MixingPlan& plan = plans_[topology_.round_index(k)];
  if (const topology::WeightDraw* draw = topology_.weight_draw()) {
    const int first = layout_.local_first();
    draw->fill(k, topology_.rounds().front(), first, first + layout_.local_count(), draw_values_, draw_scratch_);
    plan.set_weights(exec, draw_values_);
  }
  return plan;
}

void Mixer::check(std::span<const AgentMatrix> in, std::span<const AgentMatrix> out) const {
  if (in.size() != out.size() || in.empty() || static_cast<int>(in.size()) > max_vectors_)
    throw UsageError(fmt::format("concord::Mixer: {} input and {} output vectors (1 to {} pairs allowed)",
                                            in.size(), out.size(), max_vectors_));
  const auto rows = static_cast<std::size_t>(layout_.local_count());
  const auto dim = static_cast<std::size_t>(dimension_);
  for (std::size_t v = 0; v < in.size(); ++v) {
    for (const AgentMatrix* m : {&in[v], &out[v]})
      if (m->extent(0) != rows || m->extent(1) != dim)
        throw UsageError(fmt::format("concord::Mixer: vector {} is {} x {}, expected {} x {} "
                                                "(local agents x dimension)",
                                                v, m->extent(0), m->extent(1), rows, dim));
    for (std::size_t u = 0; u < out.size(); ++u)
      if (in[v].data() == out[u].data())
        throw UsageError("concord::Mixer: input and output must not alias (mixing is not in place)");
  }
}

void Mixer::start(const ExecutionSpace& exec, std::int64_t k, std::span<const AgentMatrix> in,
                  std::span<const AgentMatrix> out) {
  // Kokkos Tools region (a no-op without a tool: Kokkos checks a callback pointer). The name is
  // a static string so that no std::string is built per call.
  static const std::string region_name = "concord::Mixer::start";
  Kokkos::Profiling::ScopedRegion region(region_name);
  if (active_ != nullptr) throw std::logic_error("concord::Mixer::start: a step is already in flight");
  if (k < 0) throw UsageError("concord::Mixer::start: iteration k must be >= 0");
  check(in, out);
  const MixingPlan& plan = prepare(exec, k);
  vectors_ = static_cast<int>(in.size());
  in_.assign(in.begin(), in.end());
  out_.assign(out.begin(), out.end());
  const std::int64_t d = dimension_;
  const std::int64_t vd = vectors_ * d;
  const auto& pattern = plan.pattern();
  if (!pattern.empty()) transport_->post_receives(exec, pattern, static_cast<std::size_t>(vd), recv_buffer_.data());
  // One vector whose every row goes to one peer: its storage is the send block, no packing.
  const bool in_place = plan.sends_all_rows_in_order() && vectors_ == 1 && in_[0].span_is_contiguous() &&
                        static_cast<std::int64_t>(in_[0].stride(1)) == plan.owned_rows();
  if (!in_place)
    for (int v = 0; v < vectors_; ++v) launch_pack(exec, plan, in_[v], send_buffer_, vd, v * d);
  if (!pattern.empty())
    transport_->post_sends(exec, pattern, static_cast<std::size_t>(vd), in_place ? in_[0].data() : send_buffer_.data());
  const detail::CirculantStep& circulant = circulant_[static_cast<std::size_t>(&plan - plans_.data())];
  for (int v = 0; v < vectors_; ++v) {
    if (circulant.kernel != nullptr) detail::launch_circulant(exec, circulant, in_[v], out_[v]);
    else launch_mix(exec, plan, true, in_[v], out_[v], recv_buffer_, vd, v * d);
  }
  active_ = &plan;
}

void Mixer::finish(const ExecutionSpace& exec) {
  static const std::string region_name = "concord::Mixer::finish";
  Kokkos::Profiling::ScopedRegion region(region_name);
  if (active_ == nullptr) throw std::logic_error("concord::Mixer::finish: no step in flight");
  const MixingPlan& plan = *active_;
  active_ = nullptr;
  if (!plan.pattern().empty()) transport_->wait(exec);
  const std::int64_t d = dimension_;
  for (int v = 0; v < vectors_; ++v)
    launch_mix(exec, plan, false, in_[v], out_[v], recv_buffer_, vectors_ * d, v * d);
}

void Mixer::apply(const ExecutionSpace& exec, std::int64_t k, std::span<const AgentMatrix> in,
                  std::span<const AgentMatrix> out) {
  start(exec, k, in, out);
  finish(exec);
}

void Mixer::apply(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& in, const AgentMatrix& out) {
  apply(exec, k, std::span<const AgentMatrix>(&in, 1), std::span<const AgentMatrix>(&out, 1));
}

}  // namespace concord::mixing
