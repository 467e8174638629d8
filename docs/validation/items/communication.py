"""Communication cost: Concord's neighbour exchange (Mixer::apply over MPI) against MPI_Allreduce.

(a) Measured on this machine at 2 ranks with perf/bench_exchange.cpp (ring_n2: library exchange,
    hand-written exchange and MPI_Allreduce of the same message, 8 B .. 100 MiB).
(b) A ping-pong calibration (pingpong/<bytes> in the same benchmark) fitted to the alpha-beta
    model t(S) = alpha + S beta.
(c) The alpha-beta model of one iteration's communication: ring allreduce
    2(n-1)(alpha + S/(n B)) against a neighbour exchange k (alpha + S/B), k the topology's maximum
    degree (taken from `concord topology NAME --json`), for n = 2 .. 10,000, calibrated with (b)
    and with published GPU-cluster figures; compared with the lecture's 256-GPU ResNet-50 figure
    (ring-allreduce 278 ms, partial averaging 150 ms per iteration).
"""
from __future__ import annotations

import json
import math
import os
import subprocess

import numpy as np

import common
from concord.cost import allreduce_time, exchange_time, fit_alpha_beta  # the model concord study uses

TITLE = "Communication cost: neighbor exchange vs allreduce"

MiB = 1 << 20
FULL_SIZES = [8, 64, 512, 4096, 32768, 262144, MiB, 4 * MiB, 16 * MiB, 100 * MiB]
QUICK_SIZES = [8, 4096, 65536]

RESNET50_BYTES = 25.5e6 * 4          # 25.5M fp32 parameters = 102 MB
LECTURE = {"allreduce_ms": 278.0, "partial_ms": 150.0, "n": 256}
# Published GPU-cluster figures (see the doc section): BlueFog's ResNet-50 runs on V100 nodes joined
# by 25 Gbit/s Ethernet (Ying et al., arXiv 2111.04287), and 100 Gbit/s EDR InfiniBand. The
# latencies are typical MPI figures for such links, not measured here.
GPU_CALIBRATIONS = {
    "25 Gbit/s Ethernet (BlueFog's V100 cluster), alpha = 10 us": {"alpha": 10e-6, "bandwidth": 25e9 / 8},
    "100 Gbit/s EDR InfiniBand, alpha = 2 us": {"alpha": 2e-6, "bandwidth": 100e9 / 8},
}
GPU_MAIN = "25 Gbit/s Ethernet (BlueFog's V100 cluster), alpha = 10 us"

# model topology -> (label, degree k(n) the model uses, Concord topology name or None)
TOPOLOGIES = {
    "ring": ("ring exchange (k = 2)", lambda n: 1 if n == 2 else 2, "ring"),
    "torus": ("2D torus (k = 4)", lambda n: 4, "torus"),
    "exponential": ("static exponential (k = ceil(log2 n))", lambda n: max(1, math.ceil(math.log2(n))), "exponential"),
    "one_peer": ("one-peer exp. / one-peer hypercube / Base-2 / EquiDyn (k = 1)", lambda n: 1, None),
}
# Concord graphs whose maximum degree must equal the model's k at the sizes checked
DEGREE_CHECKS = [("ring", "ring", {}), ("torus", "torus", {}), ("exponential", "exponential", {}),
                 ("one_peer", "one_peer_exponential", {}), ("one_peer", "one_peer_hypercube", {}),
                 ("one_peer", "base", {"k": 1}), ("one_peer", "od_equi_dyn", {})]


def run_bench(ctx, sizes):
    """Runs concord_bench_exchange (ring_n2 and pingpong) on 2 ranks; returns {name: entry}."""
    exe = ctx.build / "bin" / "concord_bench_exchange"
    if not exe.is_file():
        raise common.ValidationError(f"{exe} is missing (cmake --build build --target concord_bench_exchange)")
    out = ctx.work / "bench_exchange.json"
    args = [ctx.mpiexec, "-n", "2", str(exe), "--sizes=" + ",".join(str(s) for s in sizes),
            "--benchmark_filter=ring_n2|pingpong", f"--benchmark_out={out}", "--benchmark_out_format=json"]
    if ctx.quick:
        args += ["--benchmark_min_time=0.01"]
    else:
        args += ["--benchmark_min_time=0.2", "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_PROC_BIND="false", HYDRA_IFACE="lo")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0 or not out.is_file():
        raise common.ValidationError(f"{' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    data = json.loads(out.read_text())
    rows = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            raise common.ValidationError(f"benchmark {b['name']}: {b.get('error_message')}")
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        rows[b["run_name"].replace("/manual_time", "")] = b
    # the command as a user types it: the benchmark's own options, not this run's output paths
    return rows, " ".join(a for a in args[4:] if not a.startswith("--benchmark_out"))


def run(ctx) -> dict:
    sizes = QUICK_SIZES if ctx.quick else FULL_SIZES
    rows, command = run_bench(ctx, sizes)
    meas = {"sizes_bytes": sizes, "command": "mpiexec.mpich -n 2 build/bin/concord_bench_exchange " + command,
            "library_us": [], "hand_us": [], "allreduce_us": [], "lib_over_allreduce": [],
            "pingpong_oneway_us": [], "pingpong_GBps": []}
    for s in sizes:
        r, p = rows[f"ring_n2/{s}"], rows[f"pingpong/{s}"]
        meas["library_us"].append(r["lib_us"])
        meas["hand_us"].append(r["hand_us"])
        meas["allreduce_us"].append(r["allreduce_us"])
        meas["lib_over_allreduce"].append(r["lib_over_allreduce"])
        meas["pingpong_oneway_us"].append(p["oneway_us"])
        meas["pingpong_GBps"].append(p["oneway_GBps"])

    # ---- (b) alpha-beta fit of the ping-pong ---------------------------------------------------
    S = np.array(sizes, float)
    t_pp = np.array(meas["pingpong_oneway_us"]) * 1e-6
    alpha, beta = fit_alpha_beta(S, t_pp)
    model_pp = alpha + S * beta
    resid = (model_pp - t_pp) / t_pp
    here = {"alpha": alpha, "bandwidth": 1.0 / beta}
    meas["fit"] = {"alpha_us": alpha * 1e6, "beta_s_per_byte": beta, "bandwidth_GBps": here["bandwidth"] / 1e9,
                   "relative_residuals": [float(x) for x in resid],
                   "median_abs_relative_residual": float(np.median(np.abs(resid))),
                   "max_abs_relative_residual": float(np.max(np.abs(resid)))}
    # the 2-rank exchange and allreduce against the model's prediction at n = 2 (both S/B + ...)
    meas["model_n2_us"] = {"allreduce": [allreduce_time(2, s, alpha, here["bandwidth"]) * 1e6 for s in sizes],
                           "exchange": [exchange_time(1, s, alpha, here["bandwidth"]) * 1e6 for s in sizes]}

    # ---- (c) the model against n ---------------------------------------------------------------
    degrees = {}
    check_sizes = [16] if ctx.quick else [16, 64, 256]
    degree_ok = True
    for key, name, params in DEGREE_CHECKS:
        for n in check_sizes:
            got = int(ctx.topology(name, n, **params)["max_degree"])
            want = TOPOLOGIES[key][1](n)
            degrees[f"{name}/{n}"] = got
            degree_ok &= got == want
    meas["concord_max_degree"] = degrees

    calibrations = {"this machine (ping-pong fit)": here, **GPU_CALIBRATIONS}
    ns = np.unique(np.round(np.logspace(math.log10(2), 4, 200)).astype(int))
    predictions = {}
    for cname, c in calibrations.items():
        a, B = c["alpha"], c["bandwidth"]
        at256 = {"ring_allreduce_ms": allreduce_time(256, RESNET50_BYTES, a, B) * 1e3}
        for key, (label, k, _) in TOPOLOGIES.items():
            at256[f"{key}_exchange_ms"] = exchange_time(k(256), RESNET50_BYTES, a, B) * 1e3
        at256["allreduce_over_one_peer"] = at256["ring_allreduce_ms"] / at256["one_peer_exchange_ms"]
        at256["allreduce_over_ring"] = at256["ring_allreduce_ms"] / at256["ring_exchange_ms"]
        small = 4096
        at10k = {"ring_allreduce_us_4KiB": allreduce_time(10000, small, a, B) * 1e6,
                 "one_peer_exchange_us_4KiB": exchange_time(1, small, a, B) * 1e6}
        predictions[cname] = {"alpha_us": a * 1e6, "bandwidth_GBps": B / 1e9, "resnet50_n256": at256,
                              "n10000": at10k}
    meas["model"] = predictions
    # the bandwidth at which a one-peer exchange of ResNet-50 takes the lecture's 150 ms (alpha of the
    # 25 Gbit/s calibration), and what the model then predicts for the ring allreduce at n = 256
    a_g = GPU_CALIBRATIONS[GPU_MAIN]["alpha"]
    B_fit = RESNET50_BYTES / (LECTURE["partial_ms"] * 1e-3 - a_g)
    meas["lecture_fit"] = {"alpha_us": a_g * 1e6, "bandwidth_GBps": B_fit / 1e9,
                           "bandwidth_Gbit_s": B_fit * 8 / 1e9,
                           "ring_allreduce_ms_n256": allreduce_time(256, RESNET50_BYTES, a_g, B_fit) * 1e3}
    meas["lecture"] = {**LECTURE, "ratio": LECTURE["allreduce_ms"] / LECTURE["partial_ms"],
                       "resnet50_bytes": RESNET50_BYTES}

    # ---- figures ---------------------------------------------------------------------------------
    plt = common.pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6))
    us = lambda key: np.array(meas[key])
    ax.loglog(S, us("library_us"), "o-", color="tab:blue", label="Concord exchange (Mixer::apply, ring n = 2)")
    ax.loglog(S, us("hand_us"), "s--", color="tab:cyan", ms=4, label="hand-written Irecv/Isend/Waitall + average")
    ax.loglog(S, us("allreduce_us"), "^-", color="tab:red", label="MPI_Allreduce (sum)")
    ax.loglog(S, us("pingpong_oneway_us"), "d-", color="k", ms=4, label="ping-pong, one way")
    Sf = np.logspace(math.log10(S.min()), math.log10(S.max()), 100)
    ax.loglog(Sf, (alpha + Sf * beta) * 1e6, ":", color="gray",
              label=f"fit α + Sβ: α = {alpha * 1e6:.2f} µs, 1/β = {here['bandwidth'] / 1e9:.1f} GB/s")
    ax.set_xlabel("message size S (bytes)")
    ax.set_ylabel("time per operation (µs, median)")
    ax.set_title("measured, 2 MPI ranks on this machine (MPICH, shared memory)")
    ax.legend(loc="upper left")
    bx.semilogx(S, us("lib_over_allreduce"), "o-", color="tab:blue", label="Concord exchange / MPI_Allreduce")
    bx.semilogx(S, us("hand_us") / us("allreduce_us"), "s--", color="tab:cyan", ms=4,
                label="hand-written exchange / MPI_Allreduce")
    bx.axhline(1.0, color="gray", lw=0.8)
    bx.set_xlabel("message size S (bytes)")
    bx.set_ylabel("time ratio")
    bx.set_title("exchange / allreduce at n = 2 (alpha-beta model: 1 for large S)")
    bx.legend()
    meas["figure_measured"] = common.save(fig, ctx, "communication_measured")

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.4), sharex=True)
    colors = {"ring": "tab:orange", "torus": "tab:purple", "exponential": "tab:brown", "one_peer": "tab:blue"}
    for c_idx, cname in enumerate(["this machine (ping-pong fit)", GPU_MAIN]):
        a, B = calibrations[cname]["alpha"], calibrations[cname]["bandwidth"]
        for r_idx, (Sm, Slabel) in enumerate([(RESNET50_BYTES, "S = 102 MB (ResNet-50)"),
                                              (4096, "S = 4 KiB")]):
            axm = axes[r_idx][c_idx]
            scale = 1e3 if r_idx == 0 else 1e6
            unit = "ms" if r_idx == 0 else "µs"
            axm.loglog(ns, allreduce_time(ns, Sm, a, B) * scale, color="tab:red", lw=2,
                       label="ring allreduce 2(n-1)(α + S/(nB))")
            for key, (label, k, _) in TOPOLOGIES.items():
                kk = np.array([k(int(n)) for n in ns])
                axm.loglog(ns, exchange_time(kk, Sm, a, B) * scale, color=colors[key], label=label)
            if r_idx == 0 and cname == GPU_MAIN:
                Bl = meas["lecture_fit"]["bandwidth_GBps"] * 1e9
                axm.loglog(ns, allreduce_time(ns, Sm, a, Bl) * scale, color="tab:red", ls="--", lw=1,
                           label=f"ring allreduce with B = {Bl / 1e9:.2f} GB/s (fitted to the lecture's 150 ms)")
                axm.loglog(ns, exchange_time(1, Sm, a, Bl) * scale + 0 * ns, color="tab:blue", ls="--", lw=1,
                           label="one-peer exchange with that B")
                axm.plot([256], [LECTURE["allreduce_ms"]], "*", color="tab:red", mec="k", ms=13,
                         label="lecture, 256 GPUs: ring-allreduce 278 ms")
                axm.plot([256], [LECTURE["partial_ms"]], "*", color="tab:blue", mec="k", ms=13,
                         label="lecture: partial averaging 150 ms")
            short = "this machine" if c_idx == 0 else "25 Gbit/s Ethernet"
            axm.set_title(f"{short}: α = {a * 1e6:.2g} µs, B = {B / 1e9:.3g} GB/s; {Slabel}")
            axm.set_ylabel(f"communication per iteration ({unit})")
            if r_idx == 1:
                axm.set_xlabel("number of ranks n")
    handles, labels = axes[0][1].get_legend_handles_labels()
    fig.suptitle("alpha-beta model of one iteration's communication: ring allreduce vs neighbour exchange")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7.5, frameon=False)
    fig.savefig(ctx.figures / "communication_model.png", metadata={"Software": None})
    plt.close(fig)
    meas["figure_model"] = "communication_model.png"

    # ---- verdicts ----------------------------------------------------------------------------
    ctx.check("the model's degree k equals the maximum degree of Concord's graphs (ring 2, torus 4, "
              "exponential log2 n, one-peer exponential / one-peer hypercube / Base-2 / OD-EquiDyn 1)",
              degree_ok, ", ".join(f"{k} {v}" for k, v in degrees.items()))
    g = predictions[GPU_MAIN]["resnet50_n256"]
    ratio = g["allreduce_over_one_peer"]
    lecture_ratio = LECTURE["allreduce_ms"] / LECTURE["partial_ms"]
    ctx.check("ResNet-50 on 256 GPUs (25 Gbit/s calibration): the model's ring-allreduce / one-peer exchange "
              "ratio is within a factor 1.5 of the lecture's 278 ms / 150 ms = 1.85",
              lecture_ratio / 1.5 <= ratio <= lecture_ratio * 1.5,
              f"model {g['ring_allreduce_ms']:.1f} ms / {g['one_peer_exchange_ms']:.1f} ms = {ratio:.2f}; "
              f"ring exchange {g['ring_exchange_ms']:.1f} ms (ratio {g['allreduce_over_ring']:.2f})")
    t10k = predictions[GPU_MAIN]["n10000"]
    ctx.check("latency regime (4 KiB, n = 10,000): ring allreduce costs O(n) latency, a one-peer exchange O(1) "
              "(model, 25 Gbit/s calibration: allreduce over 1000x the exchange)",
              t10k["ring_allreduce_us_4KiB"] > 1000 * t10k["one_peer_exchange_us_4KiB"],
              f"allreduce {t10k['ring_allreduce_us_4KiB'] / 1e3:.1f} ms, one-peer exchange "
              f"{t10k['one_peer_exchange_us_4KiB']:.1f} µs")
    if not ctx.quick:
        big = [i for i, b in enumerate(sizes) if b >= 256 * 1024]
        worst = max(meas["lib_over_allreduce"][i] for i in big)
        ctx.check("2 ranks, S >= 256 KiB: Concord's neighbour exchange is not slower than MPI_Allreduce "
                  "(model at n = 2: equal, S/B each; exchange / allreduce <= 1.1)", worst <= 1.1,
                  "exchange / allreduce " + ", ".join(f"{sizes[i] // 1024} KiB {meas['lib_over_allreduce'][i]:.2f}"
                                                       for i in big))
        fit = meas["fit"]
        ctx.check("ping-pong on this machine follows t(S) = α + Sβ (median |relative residual| <= 0.35 over "
                  "8 B .. 100 MiB)", fit["median_abs_relative_residual"] <= 0.35,
                  f"α = {fit['alpha_us']:.2f} µs, 1/β = {fit['bandwidth_GBps']:.2f} GB/s, median |residual| "
                  f"{fit['median_abs_relative_residual']:.2f}, max {fit['max_abs_relative_residual']:.2f}")
    return meas
