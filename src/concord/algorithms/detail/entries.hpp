#pragma once
/// \file entries.hpp
/// The catalogue entry of each algorithm, defined in the algorithm's own source file and listed
/// by catalog.cpp. Adding an algorithm: its file (class + entry), one line here and one in
/// catalog.cpp, and its tests.
#include "concord/algorithms/catalog.hpp"

namespace concord::algorithms::detail {

AlgorithmInfo psgd_entry();
AlgorithmInfo dsgd_entry();
AlgorithmInfo gradient_tracking_entry();
AlgorithmInfo exact_diffusion_entry();
AlgorithmInfo d2_entry();
AlgorithmInfo gossip_pga_entry();
AlgorithmInfo local_sgd_entry();
AlgorithmInfo gossip_entry();
AlgorithmInfo choco_gossip_entry();
AlgorithmInfo choco_sgd_entry();
AlgorithmInfo beer_entry();
AlgorithmInfo push_sum_gossip_entry();
AlgorithmInfo push_sum_sgd_entry();
AlgorithmInfo push_pull_entry();
AlgorithmInfo async_dsgd_entry();
AlgorithmInfo async_gossip_entry();
AlgorithmInfo async_dsgd_mpi_entry();
AlgorithmInfo async_gossip_mpi_entry();

/// The variant parameter of dsgd and gradient_tracking (one declaration, shared).
parameters::Bound<AlgorithmOptions> variant_parameter();
/// consensus_step of the compressed-gossip algorithms (choco_*, beer; one declaration, shared).
parameters::Bound<AlgorithmOptions> consensus_step_parameter();
/// Compressed gossip keeps W x_hat incrementally: InputError unless W is static and doubly stochastic.
void check_compressed_gossip(const std::string& name, const topology::Topology& t);
/// max_staleness of the asynchronous algorithms, simulated and over MPI (one declaration, shared).
parameters::Bound<AlgorithmOptions> max_staleness_parameter();

}  // namespace concord::algorithms::detail
