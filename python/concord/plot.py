"""`concord plot`: trajectories and studies as figures (PNG, PDF or SVG by the output's extension).

    concord plot run-a.h5 run-b.h5 [--y loss] [--x iteration|time|bytes] [--output fig.png]
    concord plot study/results.h5 [--output scaling.png]

A study's table (`concord study`) gives its scaling figure instead: time per iteration against the
rank count for every series (split into computation and communication) with the ideal line, the
parallel efficiency, and, when the study projected, the communication per iteration measured beside
the alpha-beta model's exchange and allreduce at the projected rank counts.

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

    from concord.files import read_study, read_trajectory
except ImportError as missing:
    from concord import missing_dependency
    missing_dependency("plot", missing, "numpy, h5py and matplotlib", "python3-h5py python3-matplotlib")

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
    return _finished(fig, title)


def _finished(fig, title):
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _is_study(path) -> bool:
    try:
        read_study(path)
        return True
    except (OSError, ValueError, KeyError):
        return False


def _series_label(study: dict, rows: list[int]) -> str:
    c, swept = study["columns"], study["attrs"]["swept"]
    first = rows[0]
    parts = [f"{k}={c[k][first]}" for k in swept if k in c and str(c[k][first]) not in ("", "nan")]
    return ", ".join(parts) or "the deck"


def study_figure(path: str, title: str | None = None):
    """The scaling figure of a study table (see the module comment)."""
    study = read_study(path)
    c, attrs = study["columns"], study["attrs"]
    mode = attrs.get("mode", "strong")
    done = [i for i, status in enumerate(c["status"]) if status == "done"]
    if not done:
        raise BadInput(f"{path}: no finished cell to plot (concord study STUDY runs them)")
    series = {}
    for i in done:
        series.setdefault(int(c["series"][i]), []).append(i)
    projected = "alpha_s" in attrs and any(k.startswith("projected_exchange_s_") for k in c)
    panels = 2 + projected if mode != "grid" else 1 + projected
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.0), squeeze=False)
    axes = list(axes[0])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ax = axes.pop(0)
    for j, (key, rows) in enumerate(sorted(series.items())):
        rows = sorted(rows, key=lambda i: c["ranks"][i])
        r = np.array([c["ranks"][i] for i in rows], float)
        color = colors[j % len(colors)]
        total = np.array([c["time_per_iteration_s"][i] for i in rows], float)
        ax.plot(r, total, "o-", color=color, label=_series_label(study, rows))
        ax.plot(r, [c["compute_per_iteration_s"][i] for i in rows], "^--", color=color, ms=4, lw=0.8)
        ax.plot(r, [c["comm_per_iteration_s"][i] for i in rows], "v:", color=color, ms=4, lw=0.8)
        if mode != "grid" and len(r):
            ideal = total[0] * (r[0] / r if mode == "strong" else np.ones_like(r))
            ax.plot(r, ideal, color="gray", lw=0.8, ls="-.", label="ideal" if j == 0 else None)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("ranks")
    ax.set_ylabel("seconds per iteration (o total, ^ compute, v comm)")
    ax.set_title(f"{mode} scaling" if mode != "grid" else "time per iteration")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    if mode != "grid":
        bx = axes.pop(0)
        for j, (key, rows) in enumerate(sorted(series.items())):
            rows = sorted(rows, key=lambda i: c["ranks"][i])
            bx.plot([c["ranks"][i] for i in rows], [c["efficiency"][i] for i in rows], "o-",
                    color=colors[j % len(colors)], label=_series_label(study, rows))
        bx.axhline(1.0, color="gray", lw=0.8, ls="-.", label="ideal")
        bx.set_xscale("log", base=2)
        bx.set_ylim(bottom=0)
        bx.set_xlabel("ranks")
        bx.set_ylabel("parallel efficiency" + (" t(r0) / t(r)" if mode == "weak" else " speed-up x r0 / r"))
        bx.grid(True, alpha=0.3)
        bx.legend(fontsize=7)
    if projected:
        px = axes.pop(0)
        targets = sorted(int(k.rsplit("_", 1)[1]) for k in c if k.startswith("projected_exchange_s_"))
        drawn = set()  # series with the same topology and model size share their projection
        for j, (key, rows) in enumerate(sorted(series.items())):
            rows = sorted(rows, key=lambda i: c["ranks"][i])
            color = colors[j % len(colors)]
            r = [c["ranks"][i] for i in rows]
            px.plot(r, [c["comm_per_iteration_s"][i] for i in rows], "o-", color=color,
                    label=f"{_series_label(study, rows)}: measured")
            last = rows[-1]
            for kind, marker, name in (("exchange", "s--", f"{c['topology'][last]} exchange"),
                                       ("allreduce", "D:", "ring allreduce")):
                what = (kind, c["topology"][last] if kind == "exchange" else "", c["dimension"][last])
                if what in drawn:
                    continue
                drawn.add(what)
                px.plot(targets, [c[f"projected_{kind}_s_{n}"][last] for n in targets], marker, color="k" if
                        kind == "exchange" else "tab:red", ms=5, label=f"{name}, d = {c['dimension'][last]} (model)")
        px.set_xscale("log")
        px.set_yscale("log")
        px.set_xlabel("ranks (one agent per rank in the model)")
        px.set_ylabel("communication per iteration (s)")
        px.set_title(f"alpha-beta model: alpha = {attrs['alpha_s'] * 1e6:.3g} us, "
                     f"1/beta = {1e-9 / attrs['beta_s_per_byte']:.3g} GB/s", fontsize=9)
        px.grid(True, alpha=0.3)
        px.legend(fontsize=6)
    return _finished(fig, title)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="concord plot", description="Plot Concord trajectories (one line per "
                                     "file) or a study's table (its scaling figure).")
    parser.add_argument("files", nargs="+", help="trajectory files written by concord run, or one study table "
                        "(results.h5 of concord study, or its directory)")
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
        studies = [p for p in args.files if os.path.isdir(p) or (os.path.isfile(p) and _is_study(p))]
        if studies and (len(args.files) > 1 or args.y or args.x != "iteration"):
            raise BadInput(f"{studies[0]}: a study table is plotted alone, without --y or --x (its scaling figure)")
        fig = study_figure(studies[0], args.title) if studies else figure(args.files, args.y, args.x, args.title)
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
