"""Consensus rate rho versus n.

rho = ||W - J||_2 from Concord's spectral analysis (`concord topology NAME -n N --json`) for the
lecture's topologies over n = 4 .. 1024, against the lecture's orders: ring 1 - 1/n^2, grid
1 - 1/(n ln n), torus 1 - 1/n, exponential 1 - 1/ln n, Erdos-Renyi and EquiTopo O(1). Time-varying
graphs (one-peer exponential, Base-(k+1), OD-EquiDyn) are shown with their per-iteration period
rate ||W(p-1)...W(0) - J||^(1/p).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import common

TITLE = "Consensus rate rho versus n"

SEED = 1   # the seed of the random graphs (Erdos-Renyi, EquiTopo hops, OD-EquiDyn schedule)

# (label, name, parameters, family): family "square" runs on square n only (grid, torus)
TOPOLOGIES = [
    ("ring", "ring", {}, "all"),
    ("grid", "grid", {}, "square"),
    ("torus", "torus", {}, "square"),
    ("exponential", "exponential", {}, "all"),
    ("Erdos-Renyi p=1/2", "erdos_renyi", {"p": 0.5}, "all"),
    ("U-EquiStatic", "u_equi_static", {}, "all"),
    ("OD-EquiDyn (per iteration)", "od_equi_dyn", {}, "all"),
    ("one-peer exponential (per iteration)", "one_peer_exponential", {}, "all"),
    ("Base-2 (k=1, per iteration)", "base", {"k": 1}, "all"),
    ("Base-3 (k=2, per iteration)", "base", {"k": 2}, "all"),
]


def analysis(ctx, name: str, n: int, params: dict) -> dict:
    """rho (static) or per-iteration period rate (time-varying) of `concord topology`."""
    a = ctx.topology(name, n, SEED, **params)
    period = int(a["period"])
    period_rho = float(a["period_rho"])
    # a finite-time period leaves rounding (~1e-16) in the product: its rate is 0, not 1e-16^(1/p)
    rate = 0.0 if a["finite_time"] else common.per_iteration_rate(a)
    return {"n": n, "period": period, "period_rho": period_rho, "rate": rate,
            "finite_time": bool(a["finite_time"]), "max_degree": int(a["max_degree"])}


def run(ctx) -> dict:
    plt = common.pyplot()
    if ctx.quick:
        squares = [4, 9, 16, 36, 64]
        sizes = [4, 9, 16, 36, 64]
    else:
        squares = [4, 9, 16, 25, 36, 64, 100, 144, 256, 400, 576, 1024]
        sizes = sorted(set(squares) | {8, 32, 128, 512})
    jobs = []
    for label, name, params, family in TOPOLOGIES:
        for n in (squares if family == "square" else sizes):
            jobs.append((label, name, params, n))
    with ThreadPoolExecutor(max_workers=2) as pool:
        out = list(pool.map(lambda j: analysis(ctx, j[1], j[3], j[2]), jobs))
    data = {label: [] for label, *_ in TOPOLOGIES}
    for (label, *_), a in zip(jobs, out):
        data[label].append(a)

    def series(label, key="rate", nmin=1, pred=None):
        rows = [r for r in data[label] if r["n"] >= nmin and (pred is None or pred(r))]
        return np.array([r["n"] for r in rows], float), np.array([r[key] for r in rows], float)

    measured = {"seed": SEED, "sizes": sizes, "squares": squares, "topologies": {}}
    for label, name, params, family in TOPOLOGIES:
        measured["topologies"][label] = {"name": name, "params": params, "per_n": data[label]}

    nfit = 16 if ctx.quick else 64      # the asymptotic regime of the fits
    tol = 0.15 if ctx.quick else 0.05
    fits = {}
    # ring: 1 - rho ~ n^-2
    n, r = series("ring", nmin=nfit)
    fits["ring"] = common.loglog_slope(n, 1 - r)
    n, r = series("torus", nmin=nfit)
    fits["torus"] = common.loglog_slope(n, 1 - r)
    n, r = series("grid", nmin=nfit)
    fits["grid"] = common.loglog_slope(n, 1 - r)
    fits["grid_vs_n_ln_n"] = common.loglog_slope(n * np.log(n), 1 - r)
    # how flat (1 - rho) n and (1 - rho) n ln n are over the range (ratio largest/smallest)
    fits["grid_(1-rho)n_spread"] = float(np.ptp(np.log((1 - r) * n)))
    fits["grid_(1-rho)nlnn_spread"] = float(np.ptp(np.log((1 - r) * n * np.log(n))))
    n, r = series("exponential", nmin=16, pred=lambda r: r["n"] % 2 == 0)
    fits["exponential_vs_log2n"] = common.loglog_slope(np.log2(n), 1 - r)
    fits["exponential_vs_n"] = common.loglog_slope(n, 1 - r)
    for label in ("Erdos-Renyi p=1/2", "U-EquiStatic", "OD-EquiDyn (per iteration)"):
        n, r = series(label, nmin=16)
        fits[label] = common.loglog_slope(n, 1 - r)
    measured["fits"] = {k: round(v, 4) for k, v in fits.items()}
    measured["fit_range"] = f"ring, grid, torus: n >= {nfit}; exponential (even n), Erdos-Renyi, EquiTopo: n >= 16"

    # ---- checks ------------------------------------------------------------------------
    ctx.check("ring: rho = 1 - O(1/n^2), i.e. 1 - rho ~ n^-2", abs(fits["ring"] + 2) <= tol,
              f"slope of log(1 - rho) vs log n = {fits['ring']:.3f} (n = {nfit}..{max(sizes)})")
    ctx.check("torus: rho = 1 - O(1/n), i.e. 1 - rho ~ n^-1", abs(fits["torus"] + 1) <= tol,
              f"slope = {fits['torus']:.3f} (square n = {nfit}..{max(squares)})")
    ctx.check("grid: rho = 1 - O(1/(n ln n)): 1 - rho decays like n^-1 up to a logarithm",
              -1.25 <= fits["grid"] <= -0.9,
              f"slope of log(1 - rho) vs log n = {fits['grid']:.3f} (square n = {nfit}..{max(squares)}); vs log(n ln n) = "
              f"{fits['grid_vs_n_ln_n']:.3f}; (1 - rho) n varies by a factor "
              f"{math.exp(fits['grid_(1-rho)n_spread']):.2f}, (1 - rho) n ln n by "
              f"{math.exp(fits['grid_(1-rho)nlnn_spread']):.2f}")
    even = [r for r in data["exponential"] if r["n"] % 2 == 0]
    odd = [r for r in data["exponential"] if r["n"] % 2 == 1]
    theorem = lambda n: 1 - 2 / (math.ceil(math.log2(n) - 1e-12) + 1)  # noqa: E731
    dev = max(abs(r["rate"] - theorem(r["n"])) for r in even)
    below = all(r["rate"] < theorem(r["n"]) for r in odd)
    ctx.check("exponential graph theorem: rho = 1 - 2/(tau + 1) for even n, below it for odd n",
              dev <= 1e-10 and below,
              f"max |rho - (1 - 2/(tau+1))| = {dev:.1e} over even n = {[r['n'] for r in even]}; "
              f"odd n {[r['n'] for r in odd]}: " + ", ".join(f"{r['rate']:.4f} < {theorem(r['n']):.4f}" for r in odd))
    scaled = [(1 - r["rate"]) * math.log2(r["n"]) for r in even]
    ctx.check("exponential graph: rho = 1 - Theta(1/log2 n) ((1 - rho) log2 n between constants)",
              min(scaled) >= 1.0 and max(scaled) <= 2.0,
              f"(1 - rho) log2 n in [{min(scaled):.3f}, {max(scaled):.3f}] over even n = 4..{max(sizes)}; "
              f"slope of log(1 - rho) vs log(log2 n) = {fits['exponential_vs_log2n']:.3f} (even n >= 16; "
              f"-tau/(tau+1) locally)")
    for label, limit in (("Erdos-Renyi p=1/2", 0.75), ("U-EquiStatic", 0.4), ("OD-EquiDyn (per iteration)", 0.8)):
        n, r = series(label, nmin=16)
        ctx.check(f"{label}: rho = O(1), bounded away from 1 independently of n",
                  float(r.max()) <= limit,
                  f"largest over n = 16..{max(sizes)}: {r.max():.4f} (<= {limit}); "
                  f"slope of log(1 - rho) vs log n = {fits[label]:.3f}")
    for label in ("Base-2 (k=1, per iteration)", "Base-3 (k=2, per iteration)"):
        rows = data[label]
        worst = max(r["period_rho"] for r in rows)
        ctx.check(f"{label.split(' (')[0]}: finite-time consensus (period rate 0) at every n",
                  all(r["finite_time"] for r in rows) and worst <= 1e-12,
                  f"largest ||W(p-1)...W(0) - J|| = {worst:.1e} over n = {[r['n'] for r in rows]}")
    ope = data["one-peer exponential (per iteration)"]
    pow2 = [r for r in ope if r["n"] & (r["n"] - 1) == 0]
    other = [r for r in ope if r["n"] & (r["n"] - 1) != 0]
    ctx.check("one-peer exponential: exact average after log2 n rounds only when n is a power of two",
              all(r["period_rho"] <= 1e-12 for r in pow2) and all(r["period_rho"] > 1e-6 for r in other),
              f"period rate <= {max(r['period_rho'] for r in pow2):.1e} at n = {[r['n'] for r in pow2]}; "
              f">= {min(r['period_rho'] for r in other):.3f} at n = {[r['n'] for r in other]}")

    # ---- figure ------------------------------------------------------------------------
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15.0, 5.8), gridspec_kw={"width_ratios": [1, 1, 0.4]})
    colors = plt.get_cmap("tab10").colors
    orders = {"ring": (lambda n: 1 / n ** 2, "1/n^2"), "grid": (lambda n: 1 / (n * np.log(n)), "1/(n ln n)"),
              "torus": (lambda n: 1 / n, "1/n"), "exponential": (lambda n: 1 / np.log(n), "1/ln n")}
    for i, (label, *_rest) in enumerate(TOPOLOGIES):
        if label.startswith("Base"):
            continue
        pred = (lambda r: not r["finite_time"]) if label.startswith("one-peer") else None
        n, r = series(label, pred=pred)
        ax1.loglog(n, 1 - r, "o-", color=colors[i], ms=3.5, lw=1.3,
                   label=label + (" (n not a power of 2)" if pred else ""))
        if label in orders:
            f, text = orders[label]
            anchor = np.argmin(abs(n - 64))
            c = (1 - r[anchor]) / f(n[anchor])
            ax1.loglog(n, c * f(n), ":", color=colors[i], lw=1.6, label=f"{label}: lecture's {text}")
    ax1.set_xlabel("number of agents n")
    ax1.set_ylabel("1 - rho   (rho = ||W - J||, or period rate^(1/p))")
    ax1.set_title("spectral gap 1 - rho versus n (log-log)")
    handles, labels = ax1.get_legend_handles_labels()
    ref = [i for i, l in enumerate(labels) if "lecture's" in l]
    ax1.legend([handles[i] for i in ref], [labels[i] for i in ref], fontsize=7, loc="lower left",
               title="dotted: lecture's order, matched at n = 64", title_fontsize=7)
    for i, (label, *_rest) in enumerate(TOPOLOGIES):
        if label.startswith("one-peer"):
            n, r = series(label, pred=lambda r: not r["finite_time"])
            ax2.semilogx(n, r, "o-", color=colors[i], ms=3.5, lw=1.3, label=label + ", n not a power of 2")
            n, r = series(label, pred=lambda r: r["finite_time"])
            ax2.semilogx(n, r, "D", color=colors[i], ms=6, mfc="none", label=label + ", n = 2^m (exact: 0)")
            continue
        n, r = series(label)
        style = "s--" if label.startswith("Base") else "o-"
        ax2.semilogx(n, r, style, color=colors[i], ms=3.5, lw=1.3,
                     label=label + (" (finite time: 0)" if label.startswith("Base") else ""))
    ax2.set_ylim(-0.03, 1.03)
    ax2.set_xlabel("number of agents n")
    ax2.set_ylabel("rho (time-varying: ||W(p-1)...W(0) - J||^(1/p))")
    ax2.set_title(f"consensus rate rho versus n (random graphs: seed {SEED})")
    ax3.axis("off")
    ax3.legend(*ax2.get_legend_handles_labels(), fontsize=7.2, loc="center left", title="topology (both panels)",
               title_fontsize=8)
    measured["figure"] = common.save(fig, ctx, "rho_vs_n")
    return measured
