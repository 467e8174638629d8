#pragma once
/// \file errors.hpp
/// The one place where MPI and NCCL return codes are checked. A failure throws
/// `concord::RuntimeError` naming the operation, the rank (in MPI_COMM_WORLD) and the library's
/// own error text, e.g. "MPI_Isend failed on rank 3: Invalid rank".
/// Concord's communicators use MPI_ERRORS_RETURN so that codes reach these checks.
#include <string_view>

namespace concord::comm {

/// Throws when `code != MPI_SUCCESS`.
void check_mpi(int code, std::string_view operation);
/// Throws when `code != ncclSuccess` (the code is an ncclResult_t).
void check_nccl(int code, std::string_view operation);

/// Calls that check themselves: CONCORD_MPI(MPI_Isend(...)) reports "MPI_Isend".
#define CONCORD_MPI(call) ::concord::comm::check_mpi((call), #call)

}  // namespace concord::comm
