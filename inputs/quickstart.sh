#!/usr/bin/env bash
# Quick-start: the lecture's topologies side by side for 64 agents — degree (communication per
# iteration), consensus rate rho = ||W - J||_2 and whether one period reaches the exact average.
set -euo pipefail
CONCORD=${CONCORD:-build/bin/concord}
export HYDRA_IFACE=${HYDRA_IFACE:-lo} OMP_PROC_BIND=${OMP_PROC_BIND:-false}
exec "$CONCORD" compare --agents 64 --seed 1 \
  ring grid torus erdos_renyi:p=0.1 exponential one_peer_exponential one_peer_hypercube \
  base:k=1 base:k=2 base:k=3 u_equi_static od_equi_dyn ou_equi_dyn star complete
