#include "concord/mixing/reproducible_sum.hpp"

#include <Kokkos_BitManipulation.hpp>
#include <Kokkos_Profiling_ScopedRegion.hpp>
#include <cstring>
#include <stdexcept>
#include <string>

#include "concord/core/detail/host_isa.hpp"
#include "concord/core/error.hpp"

#if defined(__x86_64__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

namespace concord::mixing {
namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// 2^k for k in [-1022, 1023], exactly.
KOKKOS_INLINE_FUNCTION double pow2(int k) {
  return Kokkos::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
}

/// v * 2^k for |k| <= 2044, as two exact power-of-two scalings.
KOKKOS_INLINE_FUNCTION double scale2(double v, int k) {
  const int half = k / 2;
  return v * pow2(half) * pow2(k - half);
}

/// The smallest e with m < 2^e, for finite m > 0 (m = 0 gives -1022, harmless).
KOKKOS_INLINE_FUNCTION int exponent_above(double m) {
  const int biased = static_cast<int>((Kokkos::bit_cast<std::uint64_t>(m) >> 52) & 0x7ff);
  return biased == 0 ? -1022 : biased - 1022;
}

}  // namespace

// Host kernels (Serial, OpenMP) on x86-64 with GCC or Clang: vectorised over the agents of a
// column (reproducible_sum_host.inc), one fused pass when there is one rank; with AVX2 or AVX-512
// (GCC), 4 or 8 columns at a time, their reductions across lanes and recombination as vector
// operations.
// Elsewhere (other hosts, CUDA builds) the kernels below serve every backend.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define CONCORD_RS_HOST_KERNELS 1

namespace {
namespace host {

enum class HostPass { fused, bounds, slices };

/// One reduction's buffers (raw pointers: the ReproducibleSum owns them).
struct HostColumns {
  const double* x;
  std::int64_t agents, columns, stride;
  double* bound;
  double* slices;
  double* out;
  int bits;
  double factor;
};

/// The recombination of the device kernel, unchanged. Each product is rounded on its own (the
/// empty asm hides it from the optimiser): inlined into the AVX-512 kernel, GCC would otherwise
/// contract the sum of products into an FMA, whose rounding differs from the other paths' where
/// a product underflows.
inline void combine(const HostColumns& h, std::int64_t c) {
  const double m = h.bound[c];
  if (!(m <= Kokkos::Experimental::finite_max_v<double>)) {
    h.out[c] = Kokkos::Experimental::quiet_NaN_v<double>;
    return;
  }
  const int e = exponent_above(m);
  double high = scale2(h.slices[c], e - h.bits), low = scale2(h.slices[h.columns + c], e - 2 * h.bits);
  asm("" : "+x"(high), "+x"(low));
  h.out[c] = (high + low) * h.factor;
}

#define CONCORD_RS_NAMESPACE portable
#include "concord/mixing/reproducible_sum_host.inc"
#undef CONCORD_RS_NAMESPACE

#if defined(__GNUC__) && !defined(__clang__)
#define CONCORD_RS_HAVE_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
#define CONCORD_RS_AVX2 1
#define CONCORD_RS_NAMESPACE avx2
#include "concord/mixing/reproducible_sum_host.inc"
#undef CONCORD_RS_NAMESPACE
#undef CONCORD_RS_AVX2
#pragma GCC pop_options
#define CONCORD_RS_HAVE_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx512f")
#define CONCORD_RS_AVX512 1
#define CONCORD_RS_NAMESPACE avx512
#include "concord/mixing/reproducible_sum_host.inc"
#undef CONCORD_RS_NAMESPACE
#undef CONCORD_RS_AVX512
#pragma GCC pop_options
#endif

using Columns = void (*)(const HostColumns&, std::int64_t, std::int64_t, HostPass);

/// The widest copy of the kernels that core/detail/host_isa.hpp allows (chosen on the host,
/// outside the kernels: a bad CONCORD_HOST_ISA throws from here).
Columns widest_columns() {
  using concord::detail::host_isa_allows;
  using concord::detail::HostIsa;
#ifdef CONCORD_RS_HAVE_AVX512
  if (host_isa_allows(HostIsa::avx512)) return avx512::columns;
#endif
#ifdef CONCORD_RS_HAVE_AVX2
  if (host_isa_allows(HostIsa::avx2)) return avx2::columns;
#endif
  return portable::columns;
}

/// Columns per work item: about 32 KiB of the matrix at n = 64.
constexpr std::int64_t kChunkColumns = 64;

void reduce(const ExecutionSpace& exec, comm::Transport& transport, const HostColumns& h) {
  const std::int64_t chunks = (h.columns + kChunkColumns - 1) / kChunkColumns;
  const Columns columns = widest_columns();
  const auto run = [&](const char* label, HostPass pass) {
    Kokkos::parallel_for(label, Policy(exec, 0, chunks), [=](std::int64_t b) {
      const std::int64_t c0 = b * kChunkColumns;
      columns(h, c0, c0 + kChunkColumns < h.columns ? c0 + kChunkColumns : h.columns, pass);
    });
  };
  if (transport.size() == 1) {  // the allreduces are the identity: one pass over the matrix
    run("concord::ReproducibleSum::fused", HostPass::fused);
    return;
  }
  run("concord::ReproducibleSum::bound", HostPass::bounds);
  transport.allreduce_max(exec, h.bound, static_cast<std::size_t>(h.columns));
  run("concord::ReproducibleSum::slice", HostPass::slices);
  transport.allreduce_sum(exec, h.slices, static_cast<std::size_t>(2 * h.columns));
  Kokkos::parallel_for("concord::ReproducibleSum::combine", Policy(exec, 0, h.columns),
                       [=](std::int64_t c) { combine(h, c); });
}

}  // namespace host
}  // namespace
#endif

ReproducibleSum::ReproducibleSum(std::shared_ptr<comm::Transport> transport, const AgentLayout& layout, int width)
    : transport_(std::move(transport)), layout_(layout), width_(width) {
  if (!transport_) throw UsageError("concord::mixing::ReproducibleSum: null transport");
  if (width < 1) throw InputError("concord::mixing::ReproducibleSum: width must be >= 1, got " + std::to_string(width));
  concord::detail::host_isa();  // a bad CONCORD_HOST_ISA is refused here, not in the first reduction
  int log2n = 0;
  while ((std::int64_t{1} << log2n) < layout.agents()) ++log2n;
  bits_ = 52 - log2n;
  bound_ = Kokkos::View<double*, MemorySpace>(Kokkos::view_alloc(std::string("concord::ReproducibleSum::bound")), width);
  slices_ =
      Kokkos::View<double*, MemorySpace>(Kokkos::view_alloc(std::string("concord::ReproducibleSum::slices")), 2 * width);
  transport_->reserve(0, 0, static_cast<std::size_t>(2 * width));
}

// The entry points open a Kokkos Tools region each (a no-op without a tool: Kokkos checks a
// callback pointer; the names are static strings so that no std::string is built per call).
void ReproducibleSum::sum(const ExecutionSpace& exec, const AgentMatrix& rows, const CoordinateVector& total) {
  static const std::string region_name = "concord::ReproducibleSum::sum";
  Kokkos::Profiling::ScopedRegion region(region_name);
  reduce(exec, rows, total, 1.0);
}

void ReproducibleSum::average(const ExecutionSpace& exec, const AgentMatrix& rows, const CoordinateVector& mean) {
  static const std::string region_name = "concord::ReproducibleSum::average";
  Kokkos::Profiling::ScopedRegion region(region_name);
  reduce(exec, rows, mean, 1.0 / layout_.agents());
}

void ReproducibleSum::reduce(const ExecutionSpace& exec, const AgentMatrix& rows, const CoordinateVector& out,
                             double factor) {
  const std::int64_t agents = static_cast<std::int64_t>(rows.extent(0));
  const std::int64_t columns = static_cast<std::int64_t>(rows.extent(1));
  if (agents != layout_.local_count() || columns > width_ || static_cast<std::int64_t>(out.extent(0)) < columns)
    throw UsageError("concord::mixing::ReproducibleSum: rows must be (local agents x <= width) and the "
                                "output at least as long as a row");
  auto bound = bound_;
  auto slices = slices_;
  const int bits = bits_;
#ifdef CONCORD_RS_HOST_KERNELS
  if constexpr (host_execution) {
    host::reduce(exec, *transport_,
                 host::HostColumns{rows.data(), agents, columns, static_cast<std::int64_t>(rows.stride(1)), bound.data(),
                                   slices.data(), out.data(), bits, factor});
    return;
  }
#endif
  Kokkos::parallel_for(
      "concord::ReproducibleSum::bound", Policy(exec, 0, columns), KOKKOS_LAMBDA(std::int64_t c) {
        double m = 0.0;
        for (std::int64_t a = 0; a < agents; ++a) {
          const double v = Kokkos::fabs(rows(a, c));
          if (!(v <= Kokkos::Experimental::finite_max_v<double>)) m = Kokkos::Experimental::infinity_v<double>;
          else if (v > m) m = v;
        }
        bound(c) = m;
      });
  transport_->allreduce_max(exec, bound.data(), static_cast<std::size_t>(columns));
  Kokkos::parallel_for(
      "concord::ReproducibleSum::slice", Policy(exec, 0, columns), KOKKOS_LAMBDA(std::int64_t c) {
        double s1 = 0.0, s2 = 0.0;
        const double m = bound(c);
        if (m <= Kokkos::Experimental::finite_max_v<double>) {
          const int e = exponent_above(m);
          for (std::int64_t a = 0; a < agents; ++a) {
            const double q = scale2(rows(a, c), bits - e);  // |q| < 2^B, exact
            const double t1 = Kokkos::trunc(q);
            const double t2 = Kokkos::trunc(scale2(q - t1, bits));  // q - t1 is exact
            s1 += t1;  // integers below 2^52 in magnitude: exact in any order
            s2 += t2;
          }
        }
        slices(c) = s1;
        slices(columns + c) = s2;
      });
  transport_->allreduce_sum(exec, slices.data(), static_cast<std::size_t>(2 * columns));
  Kokkos::parallel_for(
      "concord::ReproducibleSum::combine", Policy(exec, 0, columns), KOKKOS_LAMBDA(std::int64_t c) {
        const double m = bound(c);
        if (!(m <= Kokkos::Experimental::finite_max_v<double>)) {
          out(c) = Kokkos::Experimental::quiet_NaN_v<double>;
          return;
        }
        const int e = exponent_above(m);
        out(c) = (scale2(slices(c), e - bits) + scale2(slices(columns + c), e - 2 * bits)) * factor;
      });
}

}  // namespace concord::mixing
