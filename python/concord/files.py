"""Reading Concord's HDF5 outputs (docs/outputs.md has the layout)."""
from __future__ import annotations

import numpy as np


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError("concord: reading HDF5 files needs h5py (Debian: apt install python3-h5py)") from e
    return h5py


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _attributes(node) -> dict:
    return {key: _text(value) for key, value in node.attrs.items()}


def read_trajectory(path) -> dict:
    """A trajectory file (concord/output/file) as a dict:

    columns            {name: 1-D array}, every /trajectory dataset (iteration included)
    column_order       the metric columns' names in the file's order (iteration excluded)
    iteration          the records' iterations (int64)
    attrs              the root attributes (text decoded): algorithm, topology, ranks, agents, ...
    deck               the validated deck (YAML text) the run used
    snapshot_iteration, snapshots   [snapshots], [snapshots, agents, dimension], when the run wrote them

    ValueError naming the file when it is not a Concord trajectory."""
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        if "trajectory" not in f:
            raise ValueError(f"{path}: not a Concord trajectory (no /trajectory group)")
        group = f["trajectory"]
        order = list(group.attrs.get("columns", [])) or list(group)
        order = [_text(name) for name in order]
        columns = {name: group[name][()] for name in group if isinstance(group[name], h5py.Dataset)}
        t = {"columns": columns,
             "column_order": [name for name in order if name in columns] or list(columns),
             "iteration": np.asarray(columns.get("iteration", np.zeros(0, np.int64))),
             "attrs": _attributes(f)}
        t["deck"] = t["attrs"].get("deck", "")
        if "snapshots" in f:
            t["snapshot_iteration"] = f["snapshots/iteration"][()]
            t["snapshots"] = f["snapshots/x"][()]
    return t


def read_checkpoint(path) -> dict:
    """A checkpoint file (concord/output/checkpoint_file) as a dict:

    state       {name: [agents, dimension] array}: x first, then the algorithm's other state
    iteration   the iteration the checkpoint holds
    attrs       the root attributes (text decoded), deck among them
    deck        the validated deck (YAML text)
    records     {column: array} of every trajectory record the run had written (iteration included),
                empty when the file has none

    ValueError naming the file when it is not a Concord checkpoint."""
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        if "state" not in f:
            raise ValueError(f"{path}: not a Concord checkpoint (no /state group)")
        attrs = _attributes(f)
        order = [_text(n) for n in f["state"].attrs.get("order", [])] or list(f["state"])
        c = {"state": {name: f["state"][name][()] for name in order},
             "attrs": attrs,
             "iteration": int(np.asarray(attrs.get("iteration", -1)).reshape(-1)[0]),
             "deck": attrs.get("deck", ""),
             "records": {}}
        if "records" in f:  # iteration [records], values [records, columns], the names as an attribute
            records = f["records"]
            c["records"]["iteration"] = records["iteration"][()]
            values = records["values"][()]
            for j, name in enumerate(_text(n) for n in records.attrs.get("columns", [])):
                c["records"][name] = values[:, j]
    return c


def trajectory_columns(path) -> list[str]:
    """The metric columns a trajectory file holds, in order (for choosing what to plot)."""
    return read_trajectory(path)["column_order"]


def read_study(path) -> dict:
    """A study's table (`concord study`: DIRECTORY/results.h5, or the directory) as a dict:

    columns        {name: 1-D array}, one entry per cell: cell, status, series, ranks, the swept
                   keys, time_per_iteration_s, compute_ / comm_per_iteration_s, speedup, efficiency, ...
    column_order   the columns' names in the table's order
    attrs          mode, ranks, swept (the swept keys' column names), target ({column, sense, value}),
                   alpha_s, beta_s_per_byte, projection_ranks when the study projected
    study          the study file's text

    ValueError naming the file when it is not a study table."""
    import json
    import os
    h5py = _h5py()
    if os.path.isdir(path):
        path = os.path.join(path, "results.h5")
    with h5py.File(path, "r") as f:
        if "study" not in f or not isinstance(f["study"], h5py.Group):
            raise ValueError(f"{path}: not a Concord study table (no /study group)")
        group = f["study"]
        order = [_text(n) for n in group.attrs.get("columns", [])] or list(group)
        columns = {}
        for name in order:
            values = group[name][()]
            columns[name] = np.array([_text(v) for v in values], dtype=object) if values.dtype.kind in "OS" else values
        attrs = _attributes(f)
        attrs["swept"] = [s for s in (_text(v) for v in np.atleast_1d(attrs.get("swept", []))) if s]
        if "target" in attrs:
            attrs["target"] = json.loads(attrs["target"])
        return {"columns": columns, "column_order": order, "attrs": attrs, "study": attrs.pop("study", "")}
