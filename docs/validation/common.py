"""Shared plumbing of the validation suite: run Concord decks, read their HDF5 trajectories,
draw figures in one style, record measured figures and verdicts.

Every item module in items/ defines TITLE and run(ctx) -> dict; validate.py calls it with a
Context. An item never writes outside ctx.work (its runs), ctx.figures (its PNGs) and the dict it
returns (saved as results/<item>.json by validate.py).
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
from dataclasses import dataclass, field

import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "python"))
from concord.files import read_trajectory  # noqa: E402  Concord's Python package: the one HDF5 reader
DECKS = HERE / "decks"


class ValidationError(RuntimeError):
    """A run or a measurement that could not be made (not a failed verdict)."""


@dataclass
class Context:
    concord: pathlib.Path          # the concord executable
    work: pathlib.Path             # this item's scratch folder (HDF5 outputs, checkpoints)
    figures: pathlib.Path          # where the item's PNGs go
    quick: bool                    # small sizes: the test suite's smoke run
    mpiexec: str = "mpiexec.mpich"
    build: pathlib.Path | None = None   # the build folder (benchmarks live in build/bin)
    checks: list = field(default_factory=list)
    runs: int = 0

    # ---- running decks ---------------------------------------------------------------------
    def run(self, deck: str | pathlib.Path, name: str, sets: dict | None = None, ranks: int = 1,
            timeout: float = 3600) -> pathlib.Path:
        """Runs `concord run DECK --set concord/KEY=VALUE ...` writing ctx.work/<name>.h5 and
        returns that path. Keys in `sets` are relative to concord/ (e.g. "topology/name")."""
        deck = pathlib.Path(deck)
        if not deck.is_absolute():
            deck = DECKS / deck
        out = self.work / f"{name}.h5"
        args = [str(self.concord), "run", str(deck)]
        values = {"output/file": str(out), "output/overwrite": "true", "output/progress_every": "0"}
        values.update(sets or {})
        for key, value in values.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, (list, tuple)):
                value = "[" + ",".join(str(v) for v in value) + "]"
            args += ["--set", f"concord/{key}={value}"]
        if ranks > 1:
            args = [self.mpiexec, "-n", str(ranks)] + args
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
                   OMP_PROC_BIND="false", HYDRA_IFACE=os.environ.get("HYDRA_IFACE", "lo"))
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0:
            raise ValidationError(f"run {name} failed (exit {proc.returncode}): {' '.join(args)}\n"
                                  f"{proc.stderr.strip()}\n{proc.stdout[-2000:]}")
        self.runs += 1
        return out

    def run_many(self, jobs: list, workers: int | None = None, allow_failure: bool = False) -> list:
        """Runs independent single-rank jobs [(deck, name, sets), ...] side by side, one per core
        (CONCORD_VALIDATION_JOBS overrides), and returns their output paths in order. With
        `allow_failure`, a run that fails (e.g. diverges on purpose in a sweep) gives None."""
        from concurrent.futures import ThreadPoolExecutor
        workers = workers or int(os.environ.get("CONCORD_VALIDATION_JOBS", os.cpu_count() or 1))

        def one(deck, name, sets):
            try:
                return self.run(deck, name, sets)
            except ValidationError:
                if allow_failure:
                    return None
                raise
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(one, deck, name, sets) for deck, name, sets in jobs]
            return [f.result() for f in futures]

    def tool(self, *args: str, timeout: float = 600) -> str:
        """Output of `concord ARGS...` (topology analysis, compare, ...)."""
        proc = subprocess.run([str(self.concord), *args], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ValidationError(f"concord {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def topology(self, name: str, n: int, seed: int = 1, **params) -> dict:
        """`concord topology NAME -n N --json` (weights and analysis)."""
        args = ["topology", name, "-n", str(n), "--seed", str(seed), "--json"]
        for k, v in params.items():
            args += ["--param", f"{k}={v}"]
        return json.loads(self.tool(*args))

    # ---- verdicts ------------------------------------------------------------------------
    def check(self, claim: str, passed: bool, measured: str) -> bool:
        """Records one verdict: the lecture's claim, whether Concord's runs reproduce it, and the
        figure that decides it."""
        self.checks.append({"claim": claim, "reproduced": bool(passed), "measured": measured})
        print(f"    [{'ok' if passed else 'NOT REPRODUCED'}] {claim}: {measured}", flush=True)
        return bool(passed)


# ---- reading outputs -------------------------------------------------------------------------
def trajectory(path: pathlib.Path) -> dict:
    """The /trajectory datasets of a Concord output file as numpy arrays (plus attributes), read by
    Concord's Python package (python/concord), flattened: {column: array, "attrs": {...},
    "snapshot_iteration", "snapshot_x"}."""
    t = read_trajectory(path)
    flat = dict(t["columns"])
    flat["attrs"] = t["attrs"]
    if "snapshots" in t:
        flat["snapshot_iteration"] = t["snapshot_iteration"]
        flat["snapshot_x"] = t["snapshots"]
    return flat


def per_iteration_rate(analysis: dict) -> float:
    """Consensus rate per iteration from `concord topology --json` (ctx.topology): rho =
    ||W - J||_2 for a static topology, (period rate)^(1/p) = ||W(p-1)...W(0) - J||_2^(1/p) for one
    with p rounds. A finite-time topology's period rate is rounding (~1e-16): callers that need 0
    there test analysis["finite_time"]."""
    period = int(analysis["period"])
    return float(analysis["period_rho"]) ** (1.0 / period) if period > 1 else float(analysis["rho"][0])


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


# ---- figures ---------------------------------------------------------------------------------
def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.grid": True,
                         "grid.alpha": 0.3, "legend.fontsize": 7, "axes.titlesize": 10})
    return plt


def save(fig, ctx: Context, name: str) -> str:
    path = ctx.figures / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path.name


class Stopwatch:
    def __init__(self):
        self.t0 = time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self.t0
