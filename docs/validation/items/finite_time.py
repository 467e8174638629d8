"""Finite-time consensus.

Gossip runs x <- W(k) x from random initial models (docs/validation/decks/gossip.yaml):
(a) the one-peer exponential graph at n a power of two (exact average after log2 n iterations) and
    at other n (no exactness, linear decay only);
(b) Base-(k+1) graphs (k = 1, 2, 3) at every n in 2..64: the consensus error after one period
    (as many iterations as the graph has rounds), against the one-peer exponential graph (any n) and
    the one-peer hypercube (defined for powers of two only) after their own periods.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import common

TITLE = "Finite-time consensus"

EXACT = 1e-28     # relative consensus error at rounding level (rounding itself sits at ~1e-33)
DRAWN_ZERO = 1e-35

# Round counts |BG(n, k)| for k = 1, 2, 3 from Y. Takezawa et al., "Beyond Exponential Graph:
# Communication-Efficient Topologies for Decentralized Learning via Finite-time Convergence", NeurIPS 2023
TAKEZAWA = {2: (1, 1, 1), 3: (3, 1, 1), 4: (2, 2, 1), 5: (5, 3, 3), 6: (4, 2, 2), 7: (5, 4, 3), 8: (3, 3, 2),
            9: (7, 2, 2), 12: (5, 3, 2), 16: (4, 4, 2), 25: (9, 6, 5), 64: (6, 6, 3)}


def log_floor(n: int, b: int) -> int:
    """floor(log_b n) in integers."""
    p, v = 0, b
    while v <= n:
        p, v = p + 1, v * b
    return p


def run(ctx) -> dict:
    plt = common.pyplot()
    pow2 = [16, 32, 64] if not ctx.quick else [16]
    other = [12, 24, 48] if not ctx.quick else [12]
    nmax = 10 if ctx.quick else 64
    sizes = list(range(2, nmax + 1))
    ks = [1, 2, 3]
    measured = {}

    # ---- (a) one-peer exponential, 60 iterations ---------------------------------------------
    jobs = [("gossip.yaml", f"ope_{n}", {"agents": n, "topology/name": "one_peer_exponential",
                                         "algorithm/iterations": 60}) for n in pow2 + other]
    curves = {}
    for (_, _, sets), path in zip(jobs, ctx.run_many(jobs, workers=2)):
        t = common.trajectory(path)
        curves[sets["agents"]] = (t["iteration"], t["consensus_error"] / t["consensus_error"][0])
    part_a = {}
    for n, (k, e) in curves.items():
        tau = math.ceil(math.log2(n))
        hit = np.nonzero(e <= EXACT)[0]
        part_a[str(n)] = {"tau": tau, "error_after_tau": float(e[tau]), "error_after_60": float(e[-1]),
                          "first_iteration_at_rounding": int(k[hit[0]]) if len(hit) else None}
    measured["one_peer_exponential_runs"] = part_a
    ok = [n for n in pow2 if part_a[str(n)]["first_iteration_at_rounding"] == int(math.log2(n))]
    ctx.check("one-peer exponential graph, n a power of two: exact average after exactly log2 n iterations",
              len(ok) == len(pow2),
              "; ".join(f"n = {n}: rounding level first at iteration {part_a[str(n)]['first_iteration_at_rounding']} "
                        f"(log2 n = {int(math.log2(n))}), error {part_a[str(n)]['error_after_tau']:.1e}" for n in pow2))
    ctx.check("one-peer exponential graph, n not a power of two: no finite-time exactness",
              all(part_a[str(n)]["error_after_tau"] > 1e-6 and part_a[str(n)]["error_after_60"] > EXACT
                  for n in other),
              "; ".join(f"n = {n}: error after ceil(log2 n) = {part_a[str(n)]['tau']} iterations "
                        f"{part_a[str(n)]['error_after_tau']:.1e}, after 60 {part_a[str(n)]['error_after_60']:.1e}"
                        for n in other))

    # ---- (b) one period of every graph at every n ----------------------------------------------
    graphs = [(f"Base-{k + 1} (k={k})", "base", {"k": k}) for k in ks]
    graphs += [("one-peer exponential", "one_peer_exponential", {}), ("one-peer hypercube", "one_peer_hypercube", {})]
    specs = [(label, name, params, n) for label, name, params in graphs for n in sizes
             if name != "one_peer_hypercube" or n & (n - 1) == 0]
    with ThreadPoolExecutor(max_workers=2) as pool:
        analyses = list(pool.map(lambda s: ctx.topology(s[1], s[3], **s[2]), specs))
    jobs = []
    for (label, name, params, n), a in zip(specs, analyses):
        sets = {"agents": n, "topology/name": name, "algorithm/iterations": int(a["period"])}
        sets.update({f"topology/{k}": v for k, v in params.items()})
        jobs.append(("gossip.yaml", f"period_{name}{params.get('k', '')}_{n}", sets))
    paths = ctx.run_many(jobs, workers=2)
    table = {label: [] for label, *_ in graphs}
    for (label, name, params, n), a, path in zip(specs, analyses, paths):
        e = common.trajectory(path)["consensus_error"]
        table[label].append({"n": n, "period": int(a["period"]), "max_degree": int(a["max_degree"]),
                             "finite_time_analysis": bool(a["finite_time"]),
                             "error_after_period": float(e[-1] / e[0])})
    measured["one_period"] = table

    for k in ks:
        rows = table[f"Base-{k + 1} (k={k})"]
        worst = max(rows, key=lambda r: r["error_after_period"])
        ctx.check(f"Base-{k + 1} graph (k = {k}): exact average after one period for every n = 2..{nmax}",
                  worst["error_after_period"] <= EXACT,
                  f"largest relative consensus error after one period {worst['error_after_period']:.1e} "
                  f"(n = {worst['n']}); {sum(r['error_after_period'] == 0 for r in rows)}/{len(rows)} exactly 0")
        bound = [r for r in rows if r["period"] > 2 * log_floor(r["n"], k + 1) + 2 or r["max_degree"] > k]
        ctx.check(f"Base-{k + 1} graph (k = {k}): O(log_(k+1) n) rounds with at most k peers per round",
                  not bound,
                  f"rounds <= 2 floor(log_{k + 1} n) + 2 and max degree <= {k} at {len(rows) - len(bound)}/{len(rows)} n; "
                  f"largest rounds {max(r['period'] for r in rows)} (n = {max(rows, key=lambda r: r['period'])['n']})")
    listed = {n: v for n, v in TAKEZAWA.items() if n <= nmax}
    mismatch = [(n, k, v[k - 1], r["period"]) for n, v in listed.items() for k in ks
                for r in table[f"Base-{k + 1} (k={k})"] if r["n"] == n and r["period"] != v[k - 1]]
    ctx.check("Base-(k+1) round counts equal Takezawa et al.'s table", not mismatch,
              f"{3 * len(listed) - len(mismatch)}/{3 * len(listed)} (n, k) pairs at n = {sorted(listed)}"
              + (f"; differ: {mismatch}" if mismatch else ""))
    ope = table["one-peer exponential"]
    right = [r for r in ope if (r["error_after_period"] <= EXACT) == (r["n"] & (r["n"] - 1) == 0)]
    ctx.check(f"one-peer exponential graph: exact after one period exactly when n is a power of two (n = 2..{nmax})",
              len(right) == len(ope),
              f"{len(right)}/{len(ope)} n as predicted; smallest error at a non-power of two "
              f"{min(r['error_after_period'] for r in ope if r['n'] & (r['n'] - 1)):.2e}")
    hc = table["one-peer hypercube"]
    ctx.check("one-peer hypercube (powers of two only): exact after log2 n rounds",
              all(r["error_after_period"] <= EXACT and r["period"] == int(math.log2(r["n"])) for r in hc),
              ", ".join(f"n = {r['n']}: {r['period']} rounds, {r['error_after_period']:.0e}" for r in hc))
    agree = all(r["finite_time_analysis"] == (r["error_after_period"] <= EXACT) for rows in table.values() for r in rows)
    ctx.check("the runs agree with the spectral analysis' finite-time verdict (product of one period = J)", agree,
              f"{sum(len(v) for v in table.values())} (graph, n) pairs")

    # ---- figure -------------------------------------------------------------------------
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16.0, 5.4))
    colors = plt.get_cmap("tab10").colors
    for i, n in enumerate(pow2 + other):
        k, e = curves[n]
        ax1.semilogy(k, np.maximum(e, DRAWN_ZERO), "-" if n in pow2 else "--", color=colors[i], lw=1.4,
                     marker=".", ms=3, label=f"n = {n}" + (f" = 2^{int(math.log2(n))}" if n in pow2 else " (not 2^m)"))
    ax1.set_xlabel("iteration k")
    ax1.set_ylabel("relative consensus error  e(k) / e(0)")
    ax1.set_title("one-peer exponential graph: gossip runs")
    ax1.set_ylim(DRAWN_ZERO / 3, 3)
    ax1.text(59, DRAWN_ZERO * 1.5, "exact 0 drawn at 1e-35", ha="right", fontsize=7, color="0.4")
    ax1.legend(fontsize=7.5)
    styles = {"Base-2 (k=1)": ("o-", 0), "Base-3 (k=2)": ("s-", 1), "Base-4 (k=3)": ("^-", 2),
              "one-peer exponential": ("x--", 3), "one-peer hypercube": ("D", 4)}
    for label, rows in table.items():
        st, c = styles[label]
        n = [r["n"] for r in rows]
        ax2.semilogy(n, [max(r["error_after_period"], DRAWN_ZERO) for r in rows], st, color=colors[c], ms=4,
                     lw=1.0, mfc="none" if label == "one-peer hypercube" else None, label=label)
        ax3.plot(n, [r["period"] for r in rows], st, color=colors[c], ms=4, lw=1.0,
                 mfc="none" if label == "one-peer hypercube" else None, label=label)
    ax2.axhline(EXACT, color="0.3", lw=0.8, ls=":")
    ax2.text(2, EXACT * 3, "rounding level", fontsize=7, color="0.3")
    ax2.set_xlabel("number of agents n")
    ax2.set_ylabel("relative consensus error after one period  e(p) / e(0)")
    ax2.set_title("error after one period p (exact 0 drawn at 1e-35)")
    ax2.set_ylim(DRAWN_ZERO / 3, 3)
    ax2.legend(fontsize=7.5, loc="center right")
    nn = np.array(sizes, float)
    for k in ks:
        ax3.plot(nn, 2 * np.floor(np.log(nn) / np.log(k + 1) + 1e-9) + 2, ":", color=colors[k - 1], lw=1,
                 label=f"2 floor(log_{k + 1} n) + 2")
    ax3.set_xlabel("number of agents n")
    ax3.set_ylabel("rounds per period p (iterations to the exact average)")
    ax3.set_title("rounds per period versus n (dotted: 2 floor(log_(k+1) n) + 2)")
    ax3.legend(fontsize=7, ncol=2)
    measured["figure"] = common.save(fig, ctx, "finite_time")
    measured["rounding_level"] = EXACT
    return measured
