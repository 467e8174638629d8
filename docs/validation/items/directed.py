"""Directed graphs and topologies drawn anew every iteration.

(a) Push-sum on `directed_random` (n = 16: the directed ring plus 2 random out-neighbours per
agent, column-stochastic W that is not row-stochastic): push_sum_gossip from random initial
models against x <- W x computed with numpy from the same W (`concord topology --json`). Claim
(Kempe et al. 2003): push-sum reaches the exact average; plain gossip does not: with W column- but
not row-stochastic it does not even agree, x^k -> pi (1^T x^0) with pi the Perron vector of W.

(b) Heterogeneous least squares over the same graph (deck heterogeneity.yaml, delta = 1, exact
gradients, constant step): push_pull reaches x* to 1e-10 (Pu et al. 2020); push_sum_sgd, like
DSGD, stalls at a heterogeneity bias.

(c) Randomised pairwise gossip (Boyd et al. 2006) over `random_matching` (a fresh random
matching every iteration): the measured mean per-iteration contraction of the consensus error
against the spectral prediction lambda_2(E[W^T W]) of `concord topology` (exact in expectation on
the complete base graph, an upper bound on the ring).
"""
from __future__ import annotations

import numpy as np

import common

TITLE = "Directed graphs (push-sum, push-pull) and drawn topologies (random matchings)"


def dense(analysis: dict, n: int) -> np.ndarray:
    w = np.zeros((n, n))
    for i, j, v in analysis["rounds"][0]["entries"]:
        w[i, j] = v
    return w


def run(ctx) -> dict:
    n = 16
    measured = {}
    # ---- (a) push-sum against plain gossip -----------------------------------------------------
    iterations = 300
    path = ctx.run("gossip.yaml", "push_sum_gossip",
                   {"agents": n, "topology/name": "directed_random", "algorithm/name": "push_sum_gossip",
                    "algorithm/iterations": iterations, "output/snapshot_every": iterations})
    t = common.trajectory(path)
    x0, xk = t["snapshot_x"][0], t["snapshot_x"][-1]
    mean0 = x0.mean(axis=0)
    push_error = float(np.max(np.abs(xk - mean0)))
    analysis = ctx.topology("directed_random", n)
    w = dense(analysis, n)
    plain = np.linalg.matrix_power(w, iterations) @ x0
    plain_error = float(np.max(np.abs(plain - mean0)))
    plain_spread = float(np.max(np.abs(plain - plain.mean(axis=0))))
    column_sums, row_sums = w.sum(axis=0), w.sum(axis=1)
    ctx.check("push-sum reaches the exact average on a directed graph whose W is column- but not "
              "row-stochastic, where x <- W x does not",
              analysis["stochasticity"] == "column" and push_error < 1e-12 and plain_error > 1e-3,
              f"push-sum: max |z_i - mean| {push_error:.1e} after {iterations} iterations; x <- W x: agents "
              f"{plain_error:.3f} from the mean (spread {plain_spread:.3f}: x^k -> pi 1^T x^0); row sums of W in "
              f"[{row_sums.min():.3f}, {row_sums.max():.3f}]")
    measured["push_sum_gossip"] = {"agents": n, "iterations": iterations, "stochasticity": analysis["stochasticity"],
                                   "max_abs_error_push_sum": push_error, "max_abs_error_plain_gossip": plain_error,
                                   "row_sum_range": [float(row_sums.min()), float(row_sums.max())],
                                   "column_sum_max_deviation": float(np.max(np.abs(column_sums - 1)))}

    # ---- (b) push-pull reaches x*, push-sum SGD is biased ------------------------------------------
    its = 1500 if ctx.quick else 3000
    base = {"agents": n, "topology/name": "directed_random", "problem/data/heterogeneity": 1.0,
            "algorithm/step_size": 0.05, "algorithm/iterations": its, "output/log_every": 10}
    p_pull, p_sgp = ctx.run_many([("heterogeneity.yaml", "push_pull", {**base, "algorithm/name": "push_pull"}),
                                  ("heterogeneity.yaml", "push_sum_sgd", {**base, "algorithm/name": "push_sum_sgd"})])
    pull, sgp = common.trajectory(p_pull), common.trajectory(p_sgp)
    d_pull, d_sgp = float(pull["distance_to_solution"][-1]), float(sgp["distance_to_solution"][-1])
    ctx.check("push-pull reaches x* of heterogeneous least squares on the directed graph (||xbar - x*|| < 1e-10); "
              "push-sum SGD keeps a heterogeneity bias", d_pull < 1e-10 and d_sgp > 1e-4,
              f"after {its} iterations at step 0.05: push_pull {d_pull:.1e}, push_sum_sgd {d_sgp:.1e}")
    measured["least_squares"] = {"agents": n, "heterogeneity": 1.0, "step_size": 0.05, "iterations": its,
                                 "distance_push_pull": d_pull, "distance_push_sum_sgd": d_sgp}

    # ---- (c) random matchings: measured rate against lambda_2(E[W^T W]) ---------------------------
    cases = [(16, "complete"), (64, "complete"), (16, "ring")]
    if ctx.quick:
        cases = [(16, "complete"), (16, "ring")]
    gossip_its = 400
    jobs = [("gossip.yaml", f"random_matching_{m}_{b}",
             {"agents": m, "topology/name": "random_matching", "topology/base": b, "algorithm/iterations": gossip_its})
            for m, b in cases]
    paths = ctx.run_many(jobs)
    matching = {}
    for (m, b), p in zip(cases, paths):
        tr = common.trajectory(p)
        e = np.asarray(tr["consensus_error"], float)
        usable = np.nonzero(e > 1e-26 * e[0])[0]
        e = e[: usable[-1] + 1]
        ratios = e[1:] / e[:-1]
        predicted = float(ctx.topology("random_matching", m, base=b)["mean_square_rate"])
        matching[f"n={m} {b}"] = {"predicted": predicted, "measured_mean_ratio": float(ratios.mean()),
                                  "standard_error": float(ratios.std(ddof=1) / np.sqrt(len(ratios))),
                                  "steps": int(len(ratios)),
                                  "measured_geometric_rate": float((e[-1] / e[0]) ** (1.0 / len(ratios)))}
    ok_complete = all(abs(v["measured_mean_ratio"] - v["predicted"]) < 4 * v["standard_error"]
                      for k, v in matching.items() if "complete" in k)
    ok_ring = all(v["measured_mean_ratio"] <= v["predicted"] + 4 * v["standard_error"]
                  for k, v in matching.items() if "ring" in k)
    ctx.check("random matchings contract the consensus error by lambda_2(E[W^T W]) per iteration in expectation "
              "(complete base: equal within 4 standard errors; ring base: at most)", ok_complete and ok_ring,
              "; ".join(f"{k}: measured {v['measured_mean_ratio']:.4f} ± {v['standard_error']:.4f}, predicted "
                        f"{v['predicted']:.4f}" for k, v in matching.items()))
    measured["random_matching"] = {"iterations": gossip_its, "cases": matching}

    # ---- figure -------------------------------------------------------------------------------------
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    err = np.array([np.max(np.abs(np.linalg.matrix_power(w, k) @ x0 - mean0)) for k in range(iterations + 1)])
    ax.semilogy(err, label="x ← W x (numpy, same W)")
    ax.axhline(push_error if push_error > 0 else 1e-17, color="tab:orange", ls="--",
               label=f"push-sum after {iterations} iterations")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("max_i |x_i − mean of x⁰|")
    ax.set_title(f"directed_random n={n} (column-stochastic)")
    ax.legend()
    ax = axes[1]
    ax.semilogy(pull["iteration"], np.maximum(pull["distance_to_solution"], 1e-17), label="push_pull")
    ax.semilogy(sgp["iteration"], np.maximum(sgp["distance_to_solution"], 1e-17), label="push_sum_sgd")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("‖x̄ − x*‖")
    ax.set_title("heterogeneous least squares on directed_random")
    ax.legend()
    ax = axes[2]
    for (m, b), p in zip(cases, paths):
        tr = common.trajectory(p)
        e = np.asarray(tr["consensus_error"], float)
        line, = ax.semilogy(tr["iteration"], np.maximum(e / e[0], 1e-32), lw=1, label=f"random_matching n={m}, {b}")
        lam = matching[f"n={m} {b}"]["predicted"]
        ax.semilogy(tr["iteration"], np.maximum(lam ** tr["iteration"], 1e-32), ":", color=line.get_color())
    ax.set_ylim(1e-32, 10)
    ax.set_xlabel("iteration k")
    ax.set_ylabel("consensus error / start (dotted: λ₂(E[WᵀW])^k)")
    ax.set_title("random matchings drawn every iteration")
    ax.legend()
    measured["figure"] = common.save(fig, ctx, "directed")
    return measured
