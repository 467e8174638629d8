#pragma once
/// \file user_matrix.hpp
/// User-supplied mixing matrices read from files, and their validation.
///
/// Formats (W(i, j) = weight agent i gives to agent j; 0-based agents, 1-based in MatrixMarket):
///  - MatrixMarket coordinate (`.mtx`): `%%MatrixMarket matrix coordinate real general` (or
///    `symmetric`, lower triangle stored), then `n n nnz`, then `i j w` lines.
///  - HDF5 (`.h5`, `.hdf5`): either a dense 2-D float64 dataset `/W` (n x n), or three 1-D datasets
///    `/rows`, `/cols` (integers, 0-based) and `/weights` (float64) with an integer attribute
///    `agents` on the root group.
#include <string>

#include "concord/topology/topology.hpp"

namespace concord::topology {

/// Reads a matrix file (format chosen by extension). InputError with the file name and the line
/// or dataset at fault for anything malformed.
WeightMatrix read_weight_matrix_file(const std::string& path);

/// Checks that `w` is a valid mixing matrix: non-negative, and every row or every column (or both:
/// doubly stochastic) summing to 1 within `tolerance`; a connected pattern when doubly stochastic,
/// a strongly connected one otherwise. InputError naming `source` and the first violation. Which
/// of doubly, row or column the algorithm needs is its own check (analysis.hpp:
/// require_stochasticity).
void validate_mixing_matrix(const WeightMatrix& w, const std::string& source, double tolerance = 1e-12);

/// A static topology "file" from a validated user matrix; `agents` must equal its size.
Topology user_matrix_topology(WeightMatrix w, const std::string& source, int agents, double tolerance = 1e-12);

}  // namespace concord::topology
