#pragma once
/// \file host_isa.hpp
/// The widest x86-64 vector extension Concord's hand-vectorised host kernels may use (the
/// reproducible sum, the mixing kernels, the agent-major transposes). Each kernel is compiled
/// for several extensions in one portable binary and picks the widest this returns.
///
/// By default this is what the CPU supports. The environment variable CONCORD_HOST_ISA
/// (sse2 | avx2 | avx512) caps it, so that the narrower kernels can be run, tested and timed on
/// a wider machine; every kernel gives the same bits whichever runs.
#include <string>

namespace concord::detail {

enum class HostIsa { sse2 = 0, avx2 = 1, avx512 = 2 };

/// The extension the kernels use: the CPU's, capped by CONCORD_HOST_ISA. Read once; InputError
/// (naming the variable and the allowed values) when the variable holds anything else.
HostIsa host_isa();

/// True when the kernels may use `isa` (host_isa() is at least as wide).
inline bool host_isa_allows(HostIsa isa) { return static_cast<int>(host_isa()) >= static_cast<int>(isa); }

std::string to_string(HostIsa isa);

/// One line for `concord info`: the extension in use and the CPU's widest.
std::string host_isa_description();

}  // namespace concord::detail
