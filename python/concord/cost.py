"""The alpha-beta model of communication, calibrated by a ping-pong, and its projection to many ranks.

A message of S bytes between two ranks takes t(S) = alpha + S beta (alpha the latency, 1/beta the
bandwidth). One iteration's communication, for a model of S bytes on each of n ranks:

    ring allreduce        2 (n - 1) (alpha + S / (n B))       (reduce-scatter + allgather)
    neighbour exchange    k (alpha + S / B)                   (k messages: the graph's maximum degree)

with B = 1 / beta. `concord study` and the validation's communication item use these functions;
`calibrate` runs concord_bench_exchange's ping-pong on two ranks and fits alpha and beta.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile

# The message sizes of the calibration: latency-bound to bandwidth-bound.
CALIBRATION_SIZES = [8, 512, 4096, 32768, 262144, 1 << 20, 4 << 20]


def allreduce_time(n, S, alpha, bandwidth):
    """Seconds of a ring allreduce of S bytes over n ranks."""
    return 2 * (n - 1) * (alpha + S / (n * bandwidth))


def exchange_time(k, S, alpha, bandwidth):
    """Seconds of a neighbour exchange: k messages of S bytes, one after the other."""
    return k * (alpha + S / bandwidth)


def fit_alpha_beta(S, t):
    """alpha, beta of t = alpha + S beta, least squares in relative error (each size counts alike)."""
    import numpy as np
    S, t = np.asarray(S, float), np.asarray(t, float)
    A = np.stack([1.0 / t, S / t], axis=1)
    (alpha, beta), *_ = np.linalg.lstsq(A, np.ones_like(t), rcond=None)
    # a noisy measurement can make one coefficient come out <= 0: refit the other one alone and
    # keep the first at a floor (1 ns latency, 10 TB/s), so that the model stays defined
    if beta <= 0:
        beta = 1e-13
        alpha = float(np.sum((t - S * beta) / t**2) / np.sum(1.0 / t**2))
    if alpha <= 0:
        alpha = 1e-9
        beta = float(np.sum(S * (t - alpha) / t**2) / np.sum(S**2 / t**2))
    return float(alpha), float(beta)


class CalibrationError(Exception):
    pass


def calibrate(bench, launch, sizes=CALIBRATION_SIZES, min_time=0.05, env=None) -> dict:
    """Runs `bench` (concord_bench_exchange) as launch(2) + [bench, ...]: its ping-pong between two
    ranks at `sizes`, and fits the alpha-beta model. Returns {alpha_s, beta_s_per_byte,
    bandwidth_Bps, sizes, oneway_s, command}; CalibrationError with the benchmark's output if it fails."""
    with tempfile.TemporaryDirectory(prefix="concord-calibration-") as tmp:
        out = os.path.join(tmp, "pingpong.json")
        args = [*launch(2), bench, "--sizes=" + ",".join(str(s) for s in sizes), "--benchmark_filter=pingpong",
                f"--benchmark_min_time={min_time}", f"--benchmark_out={out}", "--benchmark_out_format=json"]
        run_env = dict(os.environ, OMP_NUM_THREADS="1", OMP_PROC_BIND="false", **(env or {}))
        proc = subprocess.run(args, capture_output=True, text=True, timeout=600, env=run_env)
        if proc.returncode != 0 or not os.path.isfile(out):
            raise CalibrationError(f"{' '.join(args)} failed (exit {proc.returncode}): {proc.stderr[-1500:]}")
        with open(out) as f:
            data = json.load(f)
    oneway = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            raise CalibrationError(f"benchmark {b['name']}: {b.get('error_message')}")
        name = b["run_name"].replace("/manual_time", "")
        if name.startswith("pingpong/"):
            oneway[int(name.split("/")[1])] = b["oneway_us"] * 1e-6
    missing = [s for s in sizes if s not in oneway]
    if missing:
        raise CalibrationError(f"{bench}: no ping-pong result for sizes {missing}")
    alpha, beta = fit_alpha_beta(sizes, [oneway[s] for s in sizes])
    command = " ".join(a for a in args if not a.startswith("--benchmark_out"))
    return {"alpha_s": alpha, "beta_s_per_byte": beta, "bandwidth_Bps": 1.0 / beta, "sizes": list(sizes),
            "oneway_s": [oneway[s] for s in sizes], "command": command}
