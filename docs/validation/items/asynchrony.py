"""Asynchronous gossip with one slow agent, simulated in virtual time.

Heterogeneous least squares (deck heterogeneity.yaml: n = 16, d = 5, delta = 1, exact gradients,
constant step 0.1) on the ring. Agent 0 computes `slowdown` = 4 times less often than the others.
Synchronous DSGD (the cta form, which async_dsgd reduces to without staleness) waits for it: one
iteration costs 4 units of virtual time. async_dsgd lets every other agent go on with the slow
agent's stale published model (activation 1, max_staleness 8): one tick is one unit.

Claims: the asynchronous run reaches a given distance to x* in less virtual time than the
synchronous one (the point of asynchrony with stragglers), and both settle at the same point
(a fixed point of the asynchronous update is one of DSGD cta): asynchrony does not add bias here.
"""
from __future__ import annotations

import numpy as np

import common

TITLE = "Asynchronous gossip with a slow agent: virtual time to accuracy"

SLOWDOWN = 4


def run(ctx) -> dict:
    n, iterations = 16, (400 if ctx.quick else 1500)
    base = {"agents": n, "topology/name": "ring", "problem/data/heterogeneity": 1.0, "algorithm/step_size": 0.1,
            "algorithm/iterations": iterations, "output/log_every": 1}
    p_sync, p_async = ctx.run_many([
        ("heterogeneity.yaml", "dsgd_cta", {**base, "algorithm/name": "dsgd", "algorithm/variant": "cta"}),
        ("heterogeneity.yaml", "async_dsgd", {**base, "algorithm/name": "async_dsgd", "algorithm/activation": 1.0,
                                              "algorithm/slow_agents": [0], "algorithm/slowdown": SLOWDOWN,
                                              "algorithm/max_staleness": 8})])
    sync, asyn = common.trajectory(p_sync), common.trajectory(p_async)
    d_sync, d_async = np.asarray(sync["distance_to_solution"]), np.asarray(asyn["distance_to_solution"])
    final_sync, final_async = float(d_sync[-1]), float(d_async[-1])
    target = final_sync + 0.05 * (d_sync[0] - final_sync)  # 95 % of the way to the common fixed point

    def first(d, t):
        hit = np.nonzero(d <= target)[0]
        return float(t[hit[0]]) if len(hit) else float("inf")

    time_sync = SLOWDOWN * first(d_sync, sync["iteration"])
    time_async = first(d_async, asyn["iteration"])
    ctx.check("with one agent 4x slower, asynchronous DSGD gets 95 % of the way to its fixed point in less "
              "virtual time than synchronous DSGD, which waits for the slow agent",
              time_async < time_sync,
              f"async {time_async:.0f} units, synchronous {time_sync:.0f} units ({time_sync / time_async:.2f}x)")
    ctx.check("both settle at the same point (asynchrony adds no bias to DSGD's fixed point)",
              abs(final_async - final_sync) <= 1e-9 * final_sync,
              f"final ||xbar - x*||: async {final_async:.10f}, synchronous {final_sync:.10f}")
    bytes_ratio = float(asyn["bytes_sent"][-1] / sync["bytes_sent"][-1])
    measured = {"agents": n, "slowdown": SLOWDOWN, "iterations": iterations, "target_distance": float(target),
                "virtual_time_sync": time_sync, "virtual_time_async": time_async,
                "final_distance_sync": final_sync, "final_distance_async": final_async,
                "bytes_async_over_sync_per_tick": bytes_ratio}

    plt = common.pyplot()
    fig, ax = plt.subplots(1, 1, figsize=(6.5, 4.2))
    ax.semilogy(SLOWDOWN * sync["iteration"], d_sync, label=f"synchronous DSGD (cta): {SLOWDOWN} units per iteration")
    ax.semilogy(asyn["iteration"], d_async, label="async_dsgd: 1 unit per tick")
    ax.axhline(target, color="k", ls=":", lw=0.8, label="95 % of the way to the fixed point")
    ax.set_xlim(0, 4 * time_sync if np.isfinite(time_sync) else None)
    ax.set_xlabel("virtual time (units)")
    ax.set_ylabel("‖x̄ − x*‖")
    ax.set_title(f"ring n={n}, agent 0 {SLOWDOWN}x slower")
    ax.legend()
    measured["figure"] = common.save(fig, ctx, "asynchrony")
    return measured
