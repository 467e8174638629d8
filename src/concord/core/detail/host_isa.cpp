#include "concord/core/detail/host_isa.hpp"

#include <cstdlib>
#include <optional>
#include <string_view>

#include "concord/core/error.hpp"

namespace concord::detail {
namespace {

HostIsa cpu_isa() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx512f")) return HostIsa::avx512;
  if (__builtin_cpu_supports("avx2")) return HostIsa::avx2;
#endif
  return HostIsa::sse2;
}

std::optional<HostIsa> parse(std::string_view s) {
  for (HostIsa isa : {HostIsa::sse2, HostIsa::avx2, HostIsa::avx512})
    if (s == to_string(isa)) return isa;
  return std::nullopt;
}

/// The choice, or the message of a bad CONCORD_HOST_ISA, made once.
struct Choice {
  HostIsa isa = HostIsa::sse2;
  std::string error;
};

Choice choose() {
  const HostIsa cpu = cpu_isa();
  const char* cap = std::getenv("CONCORD_HOST_ISA");
  if (cap == nullptr || *cap == '\0') return {cpu, {}};
  const auto parsed = parse(cap);
  if (!parsed)
    return {cpu, std::string("CONCORD_HOST_ISA='") + cap + "' is not one of sse2, avx2, avx512 (unset: what the CPU has)"};
  return {static_cast<int>(*parsed) < static_cast<int>(cpu) ? *parsed : cpu, {}};
}

}  // namespace

HostIsa host_isa() {
  static const Choice choice = choose();
  if (!choice.error.empty()) throw InputError(choice.error);
  return choice.isa;
}

std::string to_string(HostIsa isa) {
  switch (isa) {
    case HostIsa::avx512: return "avx512";
    case HostIsa::avx2: return "avx2";
    case HostIsa::sse2: break;
  }
  return "sse2";
}

std::string host_isa_description() {
  const HostIsa cpu = cpu_isa(), used = host_isa();
  if (used != cpu) return to_string(used) + " (capped by CONCORD_HOST_ISA; the CPU has " + to_string(cpu) + ")";
  return to_string(used) + " (the CPU's widest; CONCORD_HOST_ISA=sse2|avx2|avx512 caps it)";
}

}  // namespace concord::detail
