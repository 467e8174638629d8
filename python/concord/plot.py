"""`concord plot`: trajectories as figures (PNG, PDF or SVG by the output's extension).

    concord plot run-a.h5 run-b.h5 [--y loss] [--x iteration|time|bytes] [--output fig.png]

One panel per --y metric (default: distance_to_solution when the runs know x*, else loss, and the
consensus error), every file a line. --x time uses the time_elapsed column (wall time of
iterating), --x bytes the bytes_sent column (bytes per agent so far). Metrics that span orders of
magnitude are drawn on a log scale. Bad input (a missing file, an unknown column) gets one line on
stderr naming it and what is allowed, and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys

try:
    import numpy as np

    from concord.files import read_trajectory
except ImportError as missing:  # one line, not a traceback
    print(f"concord: error: plot: {missing}; concord plot needs numpy, h5py and matplotlib "
          "(Debian: apt install python3-h5py python3-matplotlib), or CONCORD_PYTHON set to a Python that has them",
          file=sys.stderr)
    sys.exit(1)

X_COLUMNS = {"iteration": "iteration", "time": "time_elapsed", "bytes": "bytes_sent"}
X_LABELS = {"iteration": "iteration k", "time": "wall time of iterating (s, time_elapsed)",
            "bytes": "bytes sent per agent (bytes_sent)"}
FORMATS = (".png", ".pdf", ".svg")


class BadInput(Exception):
    pass


def _label(path: str, t: dict) -> str:
    algorithm = t["attrs"].get("algorithm", "?").split(", step size ")[0]
    if algorithm.count("(") > algorithm.count(")"):
        algorithm += ")"
    return f"{os.path.basename(path)}: {algorithm}"


def default_metrics(trajectories: list[dict]) -> list[str]:
    common = set.intersection(*(set(t["column_order"]) for t in trajectories))
    first = "distance_to_solution" if "distance_to_solution" in common else \
        "test_accuracy" if "test_accuracy" in common else "loss"
    return [first, "consensus_error"] if "consensus_error" in common else [first]


def figure(paths: list[str], metrics: list[str] | None, x: str, title: str | None = None):
    """The matplotlib figure of `paths` (see the module comment); BadInput for bad arguments."""
    if x not in X_COLUMNS:
        raise BadInput(f"--x: '{x}' is not one of {', '.join(X_COLUMNS)}")
    trajectories = []
    for path in paths:
        if not os.path.isfile(path):
            raise BadInput(f"{path}: no such file")
        try:
            trajectories.append(read_trajectory(path))
        except (OSError, ValueError) as e:
            raise BadInput(f"{path}: not a Concord trajectory ({e})") from None
    metrics = metrics or default_metrics(trajectories)
    for path, t in zip(paths, trajectories):
        for name in metrics + ([X_COLUMNS[x]] if x != "iteration" else []):
            if name not in t["columns"]:
                raise BadInput(f"{path}: has no column '{name}'; its columns: {', '.join(['iteration'] + t['column_order'])}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = []
        for path, t in zip(paths, trajectories):
            xs = np.asarray(t["columns"][X_COLUMNS[x]], float)
            ys = np.asarray(t["columns"][metric], float)
            ax.plot(xs, ys, lw=1.2, label=_label(path, t))
            values.append(ys[np.isfinite(ys)])
        finite = np.concatenate(values)
        if finite.size and np.all(finite > 0) and finite.max() > 100 * finite.min():
            ax.set_yscale("log")  # spans orders of magnitude
        ax.set_xlabel(X_LABELS[x])
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="concord plot", description="Plot Concord trajectories (one line per file).")
    parser.add_argument("files", nargs="+", help="trajectory files written by concord run")
    parser.add_argument("--y", action="append", metavar="COLUMN",
                        help="a metric column to plot (repeatable; default: distance to x* or loss, and consensus)")
    parser.add_argument("--x", default="iteration", choices=list(X_COLUMNS),
                        help="horizontal axis: iteration, time (time_elapsed) or bytes (bytes_sent)")
    parser.add_argument("--output", "-o", default="concord-plot.png", help="the figure file: .png, .pdf or .svg")
    parser.add_argument("--title", default=None, help="a title above the panels")
    args = parser.parse_args(argv)
    try:
        if not args.output.endswith(FORMATS):
            raise BadInput(f"--output: '{args.output}' must end in {', '.join(FORMATS)}")
        fig = figure(args.files, args.y, args.x, args.title)
        # Written next to its destination, then renamed: never a half-written figure.
        tmp = f"{args.output}.tmp{os.getpid()}{os.path.splitext(args.output)[1]}"
        fig.savefig(tmp)
        os.replace(tmp, args.output)
    except BadInput as e:
        print(f"concord: error: plot: {e}", file=sys.stderr)
        return 2
    print(f"concord plot: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
