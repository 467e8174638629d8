"""Transient iterations of DSGD: how many iterations DSGD needs before its error matches PSGD's on
the same problem, data, minibatch streams and step-size schedule, by topology and network size.

Problem (docs/validation/decks/transient.yaml): iid least squares, d = 2, 200 rows per agent, target
noise 1, 1-sample stochastic gradients, step gamma_k = 0.2 / sqrt(k + 1) (inverse_sqrt: both
methods keep improving, PSGD's error falls like gamma_k sigma^2 / n, and DSGD's extra consensus
error like gamma_k^2, so the ratio of the two falls and the transient is well defined). Every
agent starts at 0. The same seed gives PSGD and DSGD the same data and the same minibatch samples
(the streams are keyed by seed, agent and iteration), so their difference is measured with common
random numbers; several seeds are averaged.

Error measured: the agents' mean error E (1/n) sum_i ||x_i - x*||^2 = E ||xbar - x*||^2 + E consensus
error (the error of the models the agents hold; PSGD's consensus error is 0). The transient is the
first logged iteration from which DSGD's error stays within 10% of PSGD's until the end of the run
(censored, "> budget", when DSGD is still more than 10% above PSGD at the last record). The error
of xbar alone is reported too.

Lecture claims ("Transient iteration complexity", topology table): DSGD needs transient iterations
before matching PSGD; they grow with n and are longer on sparse graphs (ring > torus > exponential);
with non-iid data gradient tracking's transient is shorter than DSGD's. The lecture's growth
exponents (ring n^7, torus n^5, exponential n^3 log^2 n) are worst-case bounds for non-convex
problems; the measured ones are reported next to them, not checked.
"""
from __future__ import annotations

import math

import numpy as np

import common

TITLE = "Transient iterations of DSGD"

DECK = "transient.yaml"
TOPOLOGIES = {  # key -> (topology/name, extra sets, label, lecture's transient bound)
    "ring": ("ring", {}, "ring", "n^7"),
    "grid": ("grid", {}, "2D grid", "~n^5"),
    "torus": ("torus", {}, "2D torus", "n^5"),
    "exponential": ("exponential", {}, "static exponential", "~n^3 (n^3 log^2 n)"),
    "one_peer_exponential": ("one_peer_exponential", {}, "one-peer exponential", "~n^3 (n^3 log^2 n)"),
    "base2": ("base", {"topology/k": 1}, "Base-2 (k = 1)", "not in the lecture's table"),
    "od_equi_dyn": ("od_equi_dyn", {}, "OD-EquiDyn", "n^3 (in expectation)"),
}
LECTURE_EXPONENT = {"ring": 7, "grid": 5, "torus": 5, "exponential": 3, "one_peer_exponential": 3,
                    "od_equi_dyn": 3}
COLORS = {"ring": "tab:red", "grid": "tab:orange", "torus": "tab:olive", "exponential": "tab:blue",
          "one_peer_exponential": "tab:cyan", "base2": "tab:purple", "od_equi_dyn": "tab:green"}
TOLERANCE = 0.10   # "within 10% of PSGD"
GAMMA0 = 0.2       # the deck's step size (inverse_sqrt schedule)


def sizes(ctx):
    """(agents list, topology keys, {n: seeds}, {n: (iterations, log_every)}, non-iid setup)."""
    if ctx.quick:
        return ([8, 16], ["ring", "exponential"], {8: [1, 2, 3], 16: [1, 2]},
                {8: (20000, 20), 16: (50000, 50)},
                {"agents": 8, "topology": "ring", "deltas": [0.5], "seeds": [1, 2], "iterations": 20000,
                 "log_every": 20})
    return ([8, 16, 32, 64], list(TOPOLOGIES), {8: list(range(1, 9)), 16: list(range(1, 7)),
                                                32: [1, 2, 3, 4], 64: [1, 2, 3]},
            {8: (100000, 10), 16: (300000, 30), 32: (1000000, 100), 64: (2000000, 200)},
            {"agents": 16, "topology": "ring", "deltas": [0.125, 0.25, 0.5], "seeds": [1, 2, 3],
             "iterations": 300000, "log_every": 30})


def binned_ratio(iterations, num, den, per_decade=10):
    """Ratio of sums of num and den over log-spaced bins of the records (10 per decade): the
    records inside a bin are averaged, which tames the noise of single records at late times.
    Returns (first iteration of each bin, ratio)."""
    it = np.asarray(iterations, float)
    keep = it > 0
    it, num, den = it[keep], np.asarray(num, float)[keep], np.asarray(den, float)[keep]
    decades = math.log10(it[-1] / it[0])
    edges = it[0] * np.logspace(0, decades, max(2, int(decades * per_decade) + 1))
    edges[-1] = it[-1] + 1
    starts, ratios = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (it >= lo) & (it < hi)
        if sel.any():
            starts.append(it[sel][0])
            ratios.append(num[sel].sum() / den[sel].sum())
    return np.array(starts), np.array(ratios)


def transient(iterations, dsgd, psgd, tol=TOLERANCE):
    """(first iteration from which DSGD's binned error stays within (1 + tol) of PSGD's up to the end
    of the run, censored?, (bin starts, ratios))."""
    starts, ratio = binned_ratio(iterations, dsgd, psgd)
    above = np.nonzero(ratio > 1 + tol)[0]
    if len(above) == 0:
        return float(starts[0]), False, (starts, ratio)
    last = above[-1]
    if last == len(ratio) - 1:
        return float(iterations[-1]), True, (starts, ratio)
    return float(starts[last + 1]), False, (starts, ratio)


def mean_error(trajs):
    """Seed means of the agents' mean error ||xbar - x*||^2 + consensus, and of ||xbar - x*||^2."""
    agents = np.mean([t["distance_to_solution"] ** 2 + t["consensus_error"] for t in trajs], axis=0)
    xbar = np.mean([t["distance_to_solution"] ** 2 for t in trajs], axis=0)
    return agents, xbar


def topology_analysis(ctx, name, n, extra):
    """(rho per round, S(W) or None): rho = ||W - J|| (static) or the period's rate^(1/period);
    S(W) = (1/n) sum_{j>=2} s_j^2 / (1 - s_j^2) over the singular values s_j of W - J, for static
    graphs only. S sets DSGD's stationary consensus error gamma^2 sigma^2 S(W) in the simple model
    of the doc section (Concord's weights from `concord topology --json`)."""
    # seed 1: the first seed of the runs (random topologies draw from the run's seed)
    t = ctx.topology(name, n, 1, **{k.split('/')[-1]: v for k, v in extra.items()})
    rho = common.per_iteration_rate(t)
    if int(t["period"]) != 1:
        return rho, None
    W = np.zeros((n, n))
    for i, j, w in t["rounds"][0]["entries"]:
        W[int(i), int(j)] = float(w)
    sv = np.linalg.svd(W - np.full((n, n), 1.0 / n), compute_uv=False)
    a = sv[sv < 1 - 1e-12] ** 2
    return rho, float(np.sum(a / (1 - a)) / n)


def run(ctx) -> dict:
    agents, topologies, seeds_of, budget, noniid = sizes(ctx)
    jobs, keys = [], []
    for n in agents:
        iterations, log_every = budget[n]
        base = {"agents": n, "algorithm/iterations": iterations, "output/log_every": log_every}
        for seed in seeds_of[n]:
            jobs.append((DECK, f"psgd_n{n}_s{seed}", {**base, "seed": seed, "algorithm/name": "psgd"}))
            keys.append(("iid", "psgd", n, seed))
            for key in topologies:
                name, extra, _, _ = TOPOLOGIES[key]
                jobs.append((DECK, f"dsgd_{key}_n{n}_s{seed}",
                             {**base, **extra, "seed": seed, "algorithm/name": "dsgd", "topology/name": name}))
                keys.append(("iid", key, n, seed))
    # non-iid: PSGD, DSGD and gradient tracking on the same heterogeneous data
    nn = noniid["agents"]
    nbase = {"agents": nn, "algorithm/iterations": noniid["iterations"], "output/log_every": noniid["log_every"],
             "topology/name": noniid["topology"]}
    for delta in noniid["deltas"]:
        for seed in noniid["seeds"]:
            for alg in ("psgd", "dsgd", "gradient_tracking"):
                jobs.append((DECK, f"noniid_{alg}_d{delta:g}_s{seed}",
                             {**nbase, "problem/data/heterogeneity": delta, "seed": seed, "algorithm/name": alg}))
                keys.append(("noniid", alg, delta, seed))
    clock = common.Stopwatch()
    paths = ctx.run_many(jobs)
    run_seconds = clock.seconds()
    traj = {k: common.trajectory(p) for k, p in zip(keys, paths)}

    # ---- iid transients -----------------------------------------------------------------------------
    curves, result = {}, {}
    for n in agents:
        seeds = seeds_of[n]
        it = traj[("iid", "psgd", n, seeds[0])]["iteration"]
        psgd_agents, psgd_xbar = mean_error([traj[("iid", "psgd", n, s)] for s in seeds])
        curves[("psgd", n)] = (it, psgd_agents)
        for key in topologies:
            d_agents, d_xbar = mean_error([traj[("iid", key, n, s)] for s in seeds])
            curves[(key, n)] = (it, d_agents)
            t, censored, ratio = transient(it, d_agents, psgd_agents)
            tx, cx, ratio_x = transient(it, d_xbar, psgd_xbar)
            name, extra, _, _ = TOPOLOGIES[key]
            rho, S_W = topology_analysis(ctx, name, n, extra)
            result.setdefault(key, {})[str(n)] = {
                "transient": t, "censored": censored, "budget": float(it[-1]),
                "above_tolerance_at_some_record": bool(t > ratio[0][0]),
                "rho_per_round": rho,
                "S": S_W, "model_transient": (None if S_W is None else (20 * n * GAMMA0 * S_W) ** 2),
                "final_ratio_to_psgd": float(ratio[1][-1]),
                "xbar_only": {"transient": tx, "censored": cx,
                              "ratio_to_psgd_range": [float(ratio_x[1].min()), float(ratio_x[1].max())]}}
            curves[("ratio", key, n)] = ratio
            curves[("ratio_xbar", key, n)] = ratio_x
    exponents = {}
    for key in topologies:
        pts = [(n, result[key][str(n)]["transient"]) for n in agents
               if not result[key][str(n)]["censored"] and result[key][str(n)]["transient"] > budget[n][1]]
        exponents[key] = {"fitted": common.loglog_slope(*zip(*pts)) if len(pts) >= 2 else None,
                          "points_used": [p[0] for p in pts],
                          "lecture": TOPOLOGIES[key][3]}

    # ---- non-iid: gradient tracking vs DSGD ------------------------------------------------------
    noniid_result, noniid_curves = {}, {}
    for delta in noniid["deltas"]:
        it = traj[("noniid", "psgd", delta, noniid["seeds"][0])]["iteration"]
        psgd_noniid, _ = mean_error([traj[("noniid", "psgd", delta, s)] for s in noniid["seeds"]])
        for alg in ("dsgd", "gradient_tracking"):
            e, _ = mean_error([traj[("noniid", alg, delta, s)] for s in noniid["seeds"]])
            t, censored, ratio = transient(it, e, psgd_noniid)
            noniid_result.setdefault(f"{delta:g}", {})[alg] = {"transient": t, "censored": censored,
                                                               "budget": float(it[-1]),
                                                               "final_ratio_to_psgd": float(ratio[1][-1])}
            noniid_curves[(alg, delta)] = ratio

    measured = {"problem": {"dimension": 2, "samples_per_agent": 200, "noise": 1.0, "batch_size": 1,
                            "schedule": "inverse_sqrt", "step_size": GAMMA0, "initial": "zero"},
                "error": "seed mean of (1/n) sum_i ||x_i - x*||^2 = ||xbar - x*||^2 + consensus error",
                "tolerance": TOLERANCE, "seeds": {str(n): seeds_of[n] for n in agents},
                "budget_iterations": {str(n): budget[n][0] for n in agents},
                "log_every": {str(n): budget[n][1] for n in agents},
                "transients": result, "exponents": exponents,
                "non_iid": {"agents": nn, "topology": noniid["topology"], "deltas": noniid["deltas"],
                            "seeds": noniid["seeds"],
                            "iterations": noniid["iterations"], "transients": noniid_result},
                "run_seconds": round(run_seconds, 1)}

    # ---- verdicts ------------------------------------------------------------------------------------
    def value(key, n):
        r = result[key][str(n)]
        return r["transient"], r["censored"]

    def fmt(key, n):
        t, c = value(key, n)
        return f"> {t:.0f}" if c else f"{t:.0f}"

    big = agents[-1]
    grow_keys = [k for k in ("ring", "torus", "exponential") if k in topologies and not ctx.quick] or ["ring"]
    for key in grow_keys:
        small_t, small_c = value(key, agents[0])
        big_t, _ = value(key, big)
        resolved = result[key][str(big)]["above_tolerance_at_some_record"]
        ctx.check(f"DSGD's transient grows with n ({TOPOLOGIES[key][2]}, n = {agents[0]} -> {big})",
                  (not small_c) and resolved and big_t > 1.5 * small_t,
                  f"transient {fmt(key, agents[0])} at n = {agents[0]}, {fmt(key, big)} at n = {big}")
    order = [k for k in ("ring", "torus", "exponential") if k in topologies]
    ordered = all(value(a, big)[0] > value(b, big)[0] and not value(b, big)[1]
                  for a, b in zip(order[:-1], order[1:]))
    ctx.check(f"sparser graphs need longer transients at n = {big} ({' > '.join(TOPOLOGIES[k][2] for k in order)})",
              ordered, ", ".join(f"{TOPOLOGIES[k][2]} {fmt(k, big)}" for k in order))
    shown = lambda r: (f"> {r['transient']:.0f}" if r["censored"] else f"{r['transient']:.0f}")
    for delta in noniid["deltas"]:
        g, d = noniid_result[f"{delta:g}"]["gradient_tracking"], noniid_result[f"{delta:g}"]["dsgd"]
        ctx.check(f"with non-iid data (delta = {delta:g}) gradient tracking's transient is shorter "
                  f"than DSGD's ({noniid['topology']}, n = {nn})",
                  (not g["censored"]) and g["transient"] < 0.5 * d["transient"],
                  f"gradient tracking {shown(g)}, DSGD {shown(d)} iterations")
    if len(noniid["deltas"]) > 1:
        ds = [noniid_result[f"{d:g}"]["dsgd"] for d in noniid["deltas"]]
        # a censored transient is a lower bound (the budget): it decides "longer" only when it exceeds
        grows = all((not a["censored"]) and b["transient"] > (1.0 if b["censored"] else 1.5) * a["transient"]
                    for a, b in zip(ds[:-1], ds[1:]))
        ctx.check(f"larger heterogeneity lengthens DSGD's transient ({noniid['topology']}, n = {nn})", grows,
                  "DSGD transient " + ", ".join(f"{shown(r)} at delta = {d:g}" for d, r in zip(noniid["deltas"], ds)))

    # ---- figure ----------------------------------------------------------------------------------
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.4))
    ax = axes[0]
    nshow = agents[-2] if len(agents) > 2 else agents[-1]
    for key in topologies:
        starts, ratio = curves[("ratio", key, nshow)]
        ax.semilogx(starts, ratio, color=COLORS[key], lw=1.3, label=f"DSGD {TOPOLOGIES[key][2]}")
    starts, ratio = curves[("ratio_xbar", "ring", nshow)]
    ax.semilogx(starts, ratio, color="gray", lw=1, ls="--", label="ring, ||x̄ − x*||² only")
    ax.axhline(1 + TOLERANCE, color="k", ls=":", lw=1, label=f"PSGD + {TOLERANCE:.0%}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("DSGD error / PSGD error  (log-binned, mean of seeds)")
    ax.set_title(f"iid, n = {nshow}: error (1/n) Σ ||x_i − x*||² relative to PSGD")
    ax.legend(ncol=2)
    ax = axes[1]
    ns = np.array(agents, float)
    for key in topologies:
        t = np.array([result[key][str(n)]["transient"] for n in agents])
        c = np.array([result[key][str(n)]["censored"] for n in agents])
        slope = exponents[key]["fitted"]
        lab = f"{TOPOLOGIES[key][2]}" + (f" (slope {slope:.1f})" if slope is not None else "")
        ax.loglog(ns[~c], t[~c], "-o", color=COLORS[key], label=lab)
        if c.any():
            ax.loglog(ns[c], t[c], "^", color=COLORS[key], mfc="none", ms=10)
        model = [result[key][str(n)]["model_transient"] for n in agents]
        if key in ("ring", "grid", "torus", "exponential") and all(m is not None for m in model):
            ax.loglog(ns, model, ":", color=COLORS[key], lw=1)
    ax.plot([], [], "k:", lw=1, label="model (20 n γ₀ S(W))², static graphs")
    for n in agents:
        ax.plot([n], [budget[n][0]], "_", color="k", ms=16)
    ax.plot([], [], "^", color="gray", mfc="none", ms=10, label="censored (> budget)")
    ax.plot([], [], "_", color="k", ms=16, label="iteration budget at that n")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("agents n")
    ax.set_ylabel("transient iterations (DSGD stays within 10% of PSGD)")
    ax.set_title("DSGD's transient vs n, iid (fitted log-log slopes)")
    ax.legend(fontsize=7)
    ax = axes[2]
    dcolors = ["tab:blue", "tab:orange", "tab:red", "tab:purple"]
    for delta, color in zip(noniid["deltas"], dcolors):
        for alg, ls in (("dsgd", "-"), ("gradient_tracking", "--")):
            r = noniid_result[f"{delta:g}"][alg]
            starts, ratio = noniid_curves[(alg, delta)]
            lab = f"{'DSGD' if alg == 'dsgd' else 'gradient tracking'}, δ = {delta:g}: transient " + (
                f"> {r['transient']:.0f}" if r["censored"] else f"{r['transient']:.0f}")
            ax.loglog(starts, ratio, ls, color=color, label=lab)
    ax.axhline(1 + TOLERANCE, color="k", ls=":", lw=1, label=f"PSGD + {TOLERANCE:.0%}")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("error / PSGD error  (log-binned, mean of seeds)")
    ax.set_title(f"non-iid, {noniid['topology']}, n = {nn}: gradient tracking vs DSGD")
    ax.legend()
    measured["figure"] = common.save(fig, ctx, "transient")
    return measured
