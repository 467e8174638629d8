"""`concord study`: a deck run at several rank counts and deck values, tabulated.

    concord study STUDY.yaml               run every cell not yet finished, then write the table
    concord study STUDY.yaml --list        the cells and their state; runs nothing
    concord study STUDY.yaml --cell I      run cell I only (a Slurm job-array task), then the table
    concord study STUDY.yaml --submit [-- SBATCH-OPTION...]
                                           submit the unfinished cells as a Slurm job array
    concord study STUDY.yaml --collect     write the table from the finished cells
    concord study --reference              the study keys as a Markdown table (docs/studies.md)

A study file is YAML with one top-level map, `study` (STUDY_KEYS below are its keys, their
defaults and what is allowed; docs/studies.md explains them). Its cells are the product of `ranks`
and the values of every `sweep` key; a cell is `concord run DECK --set KEY=VALUE...` launched with
`mpiexec -n RANKS` (or `srun --ntasks=RANKS` inside a Slurm allocation), in a directory of its own
under the study's directory. Every cell's deck is validated by `concord deck` before any cell runs.

A cell is finished when its directory holds result.json (written last, atomically); a cell
interrupted before that continues from its checkpoint. The table (results.csv and results.h5)
holds, per cell, the time per iteration split into computation, communication and records'
evaluation, bytes sent per agent, speed-up and parallel efficiency against the series' smallest
rank count, the iteration and wall time at which a target was reached, and the alpha-beta model's
projection of the exchange and of an allreduce to many ranks (concord.cost).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

try:
    import yaml
except ImportError as missing:
    from concord import missing_dependency
    missing_dependency("study", missing, "PyYAML, numpy and h5py", "python3-yaml python3-h5py")

from concord import cost


class BadInput(Exception):
    """A study that cannot run as written: one line naming the item and what is allowed."""


class Interrupted(Exception):
    """A cell stopped by SIGTERM or Ctrl-C after writing its checkpoint (exit status 75)."""


class RunFailed(Exception):
    """A cell's run or the calibration failed for a reason that is not the input's."""


# ---- the study file: one declaration per key ------------------------------------------------------

MODES = ("strong", "weak", "grid")
LAUNCHERS = ("auto", "mpiexec", "srun", "none")
TARGET_SENSES = ("at_most", "at_least")

# key: (default, kind, allowed, description). `concord study --reference` prints this table and
# check_study() enforces it: the one place the keys are written.
STUDY_KEYS = {
    "deck": (None, "string", "a deck file", "the base deck (YAML or XML), relative to the study file"),
    "directory": ("", "string", "", "where the cells and the table go (\"\" = the study file's name without "
                  "its extension, next to it)"),
    "mode": ("strong", "word", ", ".join(MODES),
             "strong: the problem stays as the ranks grow; weak: the `weak_keys` grow with the ranks "
             "(value x ranks / first rank count); grid: no scaling, speed-up and efficiency are not computed"),
    "ranks": ([1], "integer list", ">= 1", "the rank counts each series runs at"),
    "sweep": ({}, "map of lists", "deck keys",
              "deck key (e.g. concord/agents) -> the values it takes; the cells are the product of all lists "
              "and `ranks`; a series is one choice of every swept value"),
    "cases": ([], "list of maps", "deck keys",
              "explicit series, each a map deck key -> value (e.g. [{concord/algorithm/name: psgd}, "
              "{concord/algorithm/name: dsgd, concord/topology/name: ring}]); multiplied with the sweep"),
    "set": ({}, "map", "deck keys", "deck key -> value, for every cell"),
    "weak_keys": (["concord/agents"], "list", "integer deck keys",
                  "mode weak: the keys multiplied by ranks / first rank count"),
    "target": ({}, "map", "column, at_most | at_least",
               "{column: NAME, at_most: V} or {column: NAME, at_least: V}: the table gives the first record's "
               "iteration and wall time (time_elapsed) at which the metric column reached V"),
    "projection": ([256, 10000], "integer list", ">= 2; [] = none",
                   "rank counts to which the alpha-beta model projects each cell's exchange and an allreduce "
                   "of its model, calibrated by concord_bench_exchange's ping-pong on two ranks"),
    "launcher": ("auto", "word", ", ".join(LAUNCHERS),
                 "how cells start: mpiexec -n R, srun --ntasks=R (inside an allocation), none (one rank, "
                 "no launcher); auto: srun inside a Slurm job, mpiexec otherwise"),
    "mpiexec": ("", "string", "", "the mpiexec command (\"\" = $MPIEXEC, else mpiexec)"),
}
REQUIRED = ("deck",)
# deck keys a study sets in every cell itself
OWN_DECK_KEYS = ("concord/output/file", "concord/output/checkpoint_file", "concord/output/overwrite",
                 "concord/output/time_phases")


def reference() -> str:
    lines = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
    for key, (default, kind, allowed, description) in STUDY_KEYS.items():
        shown = "**required**" if key in REQUIRED else f"`{json.dumps(default)}`"
        lines.append(f"| `{key}` | {kind} | {shown} | {allowed} | {description} |")
    return "\n".join(lines) + "\n"


def _text(value) -> str:
    """A YAML value as `concord run --set` takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def _deck_key(key, where) -> str:
    if not isinstance(key, str) or not re.fullmatch(r"concord(/[A-Za-z0-9_]+)+", key):
        raise BadInput(f"{where}: '{key}' is not a deck key (concord/.../name, e.g. concord/agents)")
    if key in OWN_DECK_KEYS:
        raise BadInput(f"{where}: '{key}' is set by the study itself (each cell writes its own files)")
    return key


MAX_RANKS = 2**31 - 1  # MPI counts ranks in an int


def _int_list(value, where, least):
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or not least <= v <= MAX_RANKS for v in values):
        raise BadInput(f"{where}: {value!r} is not a non-empty list of integers >= {least} and <= {MAX_RANKS}")
    if len(set(values)) != len(values):
        raise BadInput(f"{where}: {value!r} repeats a value")
    return values


def load_study(path) -> dict:
    """The study file, checked against STUDY_KEYS: BadInput naming the key and what is allowed."""
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no such file")
    try:
        with open(path) as f:
            document = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise BadInput(f"{path}: not YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(document, dict) or set(document) != {"study"} or not isinstance(document["study"], dict):
        raise BadInput(f"{path}: a study file has one top-level map, `study` (docs/studies.md)")
    given = document["study"]
    for key in given:
        if key not in STUDY_KEYS:
            raise BadInput(f"study/{key}: unknown key; the keys: {', '.join(STUDY_KEYS)}")
    for key in REQUIRED:
        if key not in given:
            raise BadInput(f"study/{key}: required ({STUDY_KEYS[key][3]})")
    s = {key: given.get(key, default) for key, (default, *_rest) in STUDY_KEYS.items()}
    base = os.path.dirname(os.path.abspath(path))
    s["file"] = os.path.abspath(path)
    s["deck"] = os.path.join(base, str(s["deck"]))
    if not os.path.isfile(s["deck"]):
        raise BadInput(f"study/deck: {s['deck']}: no such file")
    s["directory"] = os.path.join(base, str(s["directory"]) or os.path.splitext(os.path.basename(path))[0])
    for key, allowed in (("mode", MODES), ("launcher", LAUNCHERS)):
        if s[key] not in allowed:
            raise BadInput(f"study/{key}: '{s[key]}' is not one of {', '.join(allowed)}")
    s["ranks"] = _int_list(s["ranks"], "study/ranks", 1)
    s["projection"] = [] if s["projection"] in ([], None, False) else _int_list(s["projection"], "study/projection", 2)
    for key in ("sweep", "set", "target"):
        if not isinstance(s[key], dict):
            raise BadInput(f"study/{key}: must be a map ({STUDY_KEYS[key][3]})")
    for key, values in s["sweep"].items():
        _deck_key(key, f"study/sweep/{key}")
        if not isinstance(values, list) or not values:
            raise BadInput(f"study/sweep/{key}: must be a non-empty list of values")
        if len({_text(v) for v in values}) != len(values):
            raise BadInput(f"study/sweep/{key}: {values!r} repeats a value")
    if not isinstance(s["cases"], list) or not all(isinstance(c, dict) and c for c in s["cases"]):
        raise BadInput("study/cases: must be a list of non-empty maps, deck key -> value")
    for i, case in enumerate(s["cases"]):
        for key in case:
            _deck_key(key, f"study/cases[{i}]/{key}")
            if key in s["sweep"]:
                raise BadInput(f"study/cases[{i}]/{key}: also swept (study/sweep/{key}); give it in one place")
    if len({json.dumps({k: _text(v) for k, v in c.items()}, sort_keys=True) for c in s["cases"]}) != len(s["cases"]):
        raise BadInput("study/cases: two cases are the same")
    for key in s["set"]:
        _deck_key(key, f"study/set/{key}")
        if key in s["sweep"] or any(key in c for c in s["cases"]):
            raise BadInput(f"study/set/{key}: also swept (in study/sweep or study/cases); give it in one place")
    if not isinstance(s["weak_keys"], list):
        raise BadInput("study/weak_keys: must be a list of deck keys")
    for key in s["weak_keys"]:
        _deck_key(key, "study/weak_keys")
    if s["target"]:
        t = s["target"]
        senses = [k for k in TARGET_SENSES if k in t]
        extra = set(t) - {"column", *TARGET_SENSES}
        if "column" not in t or len(senses) != 1 or extra:
            raise BadInput("study/target: must be {column: NAME, at_most: VALUE} or {column: NAME, at_least: VALUE}")
        try:
            s["target"] = {"column": str(t["column"]), "sense": senses[0], "value": float(t[senses[0]])}
        except (TypeError, ValueError):
            raise BadInput(f"study/target/{senses[0]}: '{t[senses[0]]}' is not a number") from None
    if s["launcher"] == "none" and max(s["ranks"]) > 1:
        raise BadInput(f"study/launcher: none runs one rank; study/ranks is {s['ranks']}")
    s["text"] = open(path).read()
    return s


# ---- cells --------------------------------------------------------------------------------------

def _short(key, keys) -> str:
    """The last component of a deck key, or more of it when that is ambiguous among `keys`."""
    parts = key.split("/")
    keys = set(keys) | {key}
    for n in range(1, len(parts) + 1):
        tail = "/".join(parts[-n:])
        if sum(k == tail or k.endswith("/" + tail) for k in keys) == 1:
            return tail.replace("/", ".")
    return key.replace("/", ".")


def _slug(text) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)


class Cell:
    def __init__(self, index, ranks, series, values, directory):
        self.index, self.ranks, self.series = index, ranks, series
        self.values = values  # swept deck key -> value as text (weak keys scaled)
        self.directory = directory
        self.deck = os.path.join(directory, "deck.yaml")
        self.trajectory = os.path.join(directory, "trajectory.h5")
        self.checkpoint = os.path.join(directory, "checkpoint.h5")
        self.log = os.path.join(directory, "run.log")
        self.result = os.path.join(directory, "result.json")
        self.name = os.path.basename(directory)
        self.text = None  # the validated deck, once Study.prepare has made it

    def finished(self) -> bool:
        return os.path.isfile(self.result) and os.path.isfile(self.trajectory)

    def overrides(self, study) -> list[str]:
        settings = {**{k: _text(v) for k, v in study["set"].items()}, **self.values,
                    "concord/output/file": self.trajectory, "concord/output/checkpoint_file": self.checkpoint,
                    "concord/output/overwrite": "true", "concord/output/time_phases": "true"}
        return [f"{k}={v}" for k, v in settings.items()]


def _value(text):
    """A swept value for the table: a number where the text is one."""
    value = yaml.safe_load(text)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def _deck_value(deck_text, key):
    node = yaml.safe_load(deck_text)
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class Study:
    def __init__(self, path, concord, out=sys.stdout):
        self.s = load_study(path)
        self.concord = concord
        self.out = out
        # the keys that vary: those of the cases (in order of appearance), then the swept ones
        self.keys = list(dict.fromkeys([k for c in self.s["cases"] for k in c] + list(self.s["sweep"])))
        self._validated = {}

    def say(self, message):
        print(message, file=self.out, flush=True)

    # -- concord itself ------------------------------------------------------------------------
    def validated_deck(self, overrides) -> str:
        """`concord deck DECK --set ...`: the validated deck's text; BadInput with concord's message."""
        key = tuple(overrides)
        if key not in self._validated:
            args = [self.concord, "deck", self.s["deck"]]
            for o in overrides:
                args += ["--set", o]
            proc = subprocess.run(args, capture_output=True, text=True)
            if proc.returncode != 0:
                message = proc.stderr.strip().removeprefix("concord: error: ")
                raise BadInput(message or f"{' '.join(args)} exited with {proc.returncode}")
            self._validated[key] = proc.stdout
        return self._validated[key]

    def cells(self) -> list[Cell]:
        """Every cell, in order: series (each case with the product of the sweep lists, in the file's
        order), then ranks."""
        s = self.s
        swept = list(s["sweep"])
        lists = [[_text(v) for v in s["sweep"][k]] for k in swept]
        cases = [{k: _text(v) for k, v in c.items()} for c in s["cases"]] or [{}]
        r0 = s["ranks"][0]
        cells = []
        series_values = [{**case, **dict(zip(swept, combination))}
                         for case in cases for combination in (itertools.product(*lists) if lists else [()])]
        for series, values in enumerate(series_values):
            for ranks in s["ranks"]:
                scaled = dict(values)
                if s["mode"] == "weak":
                    for key in s["weak_keys"]:
                        base = scaled.get(key, _text(s["set"][key]) if key in s["set"] else None)
                        if base is None:
                            base = _deck_value(self.validated_deck([f"{k}={v}" for k, v in values.items()]), key)
                        try:
                            number = int(str(base))
                        except ValueError:
                            raise BadInput(f"study/weak_keys: {key} is '{base}', not an integer") from None
                        if (number * ranks) % r0 != 0:
                            raise BadInput(f"study/weak_keys: {key} = {number} x {ranks} / {r0} ranks is not an integer")
                        scaled[key] = str(number * ranks // r0)
                name = "_".join([f"ranks{ranks}"] + [f"{_short(k, self.keys)}-{v}" for k, v in scaled.items()])
                cells.append(Cell(len(cells), ranks, series, scaled,
                                  os.path.join(s["directory"], "cells", _slug(name))))
        return cells

    def launch(self, ranks) -> list[str]:
        launcher = self.s["launcher"]
        if launcher == "auto":
            launcher = "srun" if os.environ.get("SLURM_JOB_ID") else "mpiexec"
        if launcher == "none":
            return []
        if launcher == "srun":
            # PMI-2, as inputs/slurm/*.sbatch; SRUN_ARGS adds options (e.g. --mpi=pmix)
            return ["srun", "--mpi=pmi2", f"--ntasks={ranks}", "--kill-on-bad-exit=1", *os.environ.get("SRUN_ARGS", "").split()]
        mpiexec = self.s["mpiexec"] or os.environ.get("MPIEXEC") or "mpiexec"
        return [*mpiexec.split(), "-n", str(ranks)]

    def prepare(self, cells):
        """Validates every cell's deck (BadInput before any work) and writes it into its directory;
        a finished cell whose deck changed since it ran is refused, not rerun or overwritten."""
        for cell in cells:
            try:
                text = self.validated_deck(cell.overrides(self.s))
            except BadInput as e:
                raise BadInput(f"cell {cell.index} ({cell.name}): {e}") from None
            if os.path.isfile(cell.deck):
                with open(cell.deck) as f:
                    old = f.read()
                if old != text:
                    if cell.finished():
                        raise BadInput(f"cell {cell.index} ({cell.name}) ran with another deck (the study or its "
                                       f"base deck changed since); delete {cell.directory} to run it again, or "
                                       "give the study another directory")
                    _remove(cell.trajectory, cell.checkpoint)  # an unfinished run of the old deck
            cell.text = text
        if self.s["projection"] and not os.path.isfile(os.path.join(self.s["directory"], "calibration.json")):
            self.calibration_benchmark()
        launcher = self.launch(1)
        if launcher and shutil.which(launcher[0]) is None:
            key = "mpiexec" if launcher[0] != "srun" else "launcher"
            raise BadInput(f"study/{key}: cannot run '{launcher[0]}' (not found or not executable)")
        try:
            os.makedirs(os.path.join(self.s["directory"], "cells"), exist_ok=True)
        except OSError as e:
            raise BadInput(f"study/directory: cannot create {self.s['directory']} ({e.strerror})") from None
        for cell in cells:
            os.makedirs(cell.directory, exist_ok=True)
            if not os.path.isfile(cell.deck) or open(cell.deck).read() != cell.text:
                _atomic_write(cell.deck, cell.text)

    # -- running ---------------------------------------------------------------------------------
    def run_cell(self, cell, position=""):
        args = [*self.launch(cell.ranks), self.concord, "run", cell.deck]
        resumed = os.path.isfile(cell.checkpoint) and os.path.isfile(cell.trajectory)
        if resumed:
            args += ["--restart", cell.checkpoint]
        self.say(f"concord study: cell {cell.index}{position} {cell.name}: "
                 f"{'continuing from its checkpoint' if resumed else 'running'} ({' '.join(args)})")
        start = time.monotonic()
        env = _cell_env()
        with open(cell.log, "a") as log:
            start_of_log = log.tell()
            log.write(f"$ OMP_NUM_THREADS={env['OMP_NUM_THREADS']} {' '.join(args)}\n")
            log.flush()
            status = _run_to_the_end(args, log, env)
        with open(cell.log, errors="replace") as f:
            f.seek(start_of_log)
            this_run = f.read()
        # A launcher's status is not proof: MPICH's mpiexec returns 0 for one rank stopped by a
        # forwarded SIGTERM. A finished run's trajectory reaches the deck's last iteration.
        result = self.cell_result(cell, "diverged" if status == 3 else "done") if status in (0, 3) else None
        wanted = _deck_value(cell.text, "concord/algorithm/iterations")
        incomplete = status == 0 and wanted is not None and result.get("iteration") != int(wanted)
        if status == 75 or (incomplete and "interrupted by" in this_run and os.path.isfile(cell.checkpoint)):
            raise Interrupted(f"cell {cell.index} ({cell.name}) was interrupted and wrote its checkpoint: run the "
                              "study again to continue it")
        if status not in (0, 3):
            tail = "".join(this_run.splitlines(keepends=True)[-15:])
            raise RunFailed(f"cell {cell.index} ({cell.name}) failed (exit {status}); its log {cell.log} ends:\n{tail}")
        if incomplete:
            raise RunFailed(f"cell {cell.index} ({cell.name}) ended at iteration {result.get('iteration')} of "
                            f"{wanted} with exit status 0; its log: {cell.log}")
        if result.get("ranks_run", cell.ranks) != cell.ranks:  # a launcher that started another world
            raise RunFailed(f"cell {cell.index} ({cell.name}) asked for {cell.ranks} ranks but its run had "
                            f"{result['ranks_run']} (the trajectory's `ranks`): check the launcher "
                            f"({' '.join(self.launch(cell.ranks))}), e.g. srun's --mpi option")
        _atomic_write(cell.result, json.dumps(result, indent=1) + "\n")
        timing = result.get("timing") or {}
        rate = timing.get("iterations_per_s")
        self.say(f"concord study: cell {cell.index} {result['status']} in {time.monotonic() - start:.1f} s"
                 + (f", {rate:.4g} it/s" if rate else ""))

    def cell_result(self, cell, status) -> dict:
        """What the table takes from a cell: `concord summary --json` of its trajectory (the one
        place time columns are summed) and the target's first record."""
        proc = subprocess.run([self.concord, "summary", "--json", cell.trajectory], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RunFailed(f"cell {cell.index}: concord summary {cell.trajectory} failed: {proc.stderr.strip()}")
        summary = json.loads(proc.stdout)[0]
        result = {"status": status, "values": cell.values, **summary, "ranks_run": summary.get("ranks"),
                  "ranks": cell.ranks}
        target = self.s["target"]
        if target:
            from concord.files import read_trajectory
            t = read_trajectory(cell.trajectory)
            column = t["columns"].get(target["column"])
            if column is None:
                raise BadInput(f"study/target/column: the trajectory of cell {cell.index} has no column "
                               f"'{target['column']}'; its columns: {', '.join(t['column_order'])}")
            reached = [i for i, v in enumerate(column) if math.isfinite(v) and
                       (v <= target["value"] if target["sense"] == "at_most" else v >= target["value"])]
            first = reached[0] if reached else None
            elapsed = t["columns"].get("time_elapsed")
            result["target"] = {"iteration": int(t["iteration"][first]) if first is not None else None,
                                "time_s": float(elapsed[first]) if first is not None and elapsed is not None else None,
                                "last": float(column[-1]) if len(column) else None}
        return result

    def calibration(self) -> dict | None:
        """The alpha-beta calibration, measured once per study (calibration.json)."""
        if not self.s["projection"]:
            return None
        path = os.path.join(self.s["directory"], "calibration.json")
        if os.path.isfile(path):
            with open(path) as f:
                return json.load(f)
        bench = self.calibration_benchmark()
        self.say("concord study: calibrating the alpha-beta model (concord_bench_exchange ping-pong, 2 ranks)")
        try:
            c = cost.calibrate(bench, self.launch)
        except cost.CalibrationError as e:
            raise RunFailed(f"the calibration failed: {e}") from None
        self.say(f"concord study: alpha = {c['alpha_s'] * 1e6:.3g} us, bandwidth = {c['bandwidth_Bps'] / 1e9:.3g} GB/s")
        _atomic_write(path, json.dumps(c, indent=1) + "\n")
        return c

    def calibration_benchmark(self) -> str:
        """concord_bench_exchange next to concord; BadInput (before any cell runs) when it is missing."""
        bench = os.path.join(os.path.dirname(os.path.realpath(self.concord)), "concord_bench_exchange")
        if not os.access(bench, os.X_OK):
            raise BadInput(f"study/projection: the calibration needs concord_bench_exchange next to concord "
                           f"({bench} is missing: build or install the benchmarks), or set projection: []")
        return bench

    def max_degree(self, deck_text, n) -> int | None:
        """The maximum degree of the deck's topology at n agents (`concord topology --json`), or None
        where the topology has no member of that size."""
        topology = _deck_value(deck_text, "concord/topology") or {}
        seed = _deck_value(deck_text, "concord/seed")
        key = json.dumps([topology, seed, n], sort_keys=True)
        # cached in the study's directory: the analysis of a 10,000-agent graph takes seconds
        path = os.path.join(self.s["directory"], "degrees.json")
        if not hasattr(self, "_degrees"):
            self._degrees = json.load(open(path)) if os.path.isfile(path) else {}
        cache = self._degrees
        if key not in cache:
            args = [self.concord, "topology", str(topology.get("name")), "--agents", str(n), "--json"]
            if seed is not None:
                args += ["--seed", str(seed)]
            for k, v in topology.items():
                if k != "name":
                    args += ["--param", f"{k}={_text(v)}"]
            proc = subprocess.run(args, capture_output=True, text=True)
            cache[key] = int(json.loads(proc.stdout)["max_degree"]) if proc.returncode == 0 else None
            _atomic_write(path, json.dumps(cache, indent=1) + "\n")
        return cache[key]

    # -- the table -------------------------------------------------------------------------------
    def table(self, cells) -> tuple[list[str], list[dict]]:
        calibration = self.calibration()
        rows = []
        for cell in cells:
            row = {"cell": cell.name, "status": "missing", "series": cell.series, "ranks": cell.ranks}
            # the swept values first, as numbers where they are numbers; the run's own fields
            # below do not replace them (concord/agents and the run's agents agree)
            row.update({_short(k, self.keys): _value(cell.values[k]) if k in cell.values else None for k in self.keys})
            swept = set(row) - {"cell", "status", "series", "ranks"}
            if not cell.finished():
                rows.append(row)
                continue
            with open(cell.result) as f:
                r = json.load(f)
            timing = r.get("timing") or {}
            iterations = timing.get("iterations") or 0
            per = (lambda seconds: seconds / iterations if iterations and seconds is not None else None)
            bytes_sent = r["last"].get("bytes_sent")
            row["status"] = r["status"]
            fields = {
                "agents": r["agents"], "dimension": r["dimension"],
                "algorithm": r["algorithm"], "topology": r["topology"], "iterations": iterations,
                "elapsed_s": timing.get("elapsed_s"), "time_per_iteration_s": per(timing.get("elapsed_s")),
                "compute_per_iteration_s": per(timing.get("compute_s")), "comm_per_iteration_s": per(timing.get("comm_s")),
                "metrics_s": timing.get("metrics_s"), "comm_share": timing.get("comm_share"),
                "bytes_per_agent": bytes_sent, "bytes_per_agent_per_iteration": per(bytes_sent)}
            for name, value in r["last"].items():
                if not name.startswith("time_") and name != "bytes_sent":
                    fields[f"final_{name}"] = value
            if "target" in r:
                fields["target_iteration"] = r["target"]["iteration"]
                fields["target_time_s"] = r["target"]["time_s"]
            row.update({k: v for k, v in fields.items() if k not in swept})
            if calibration:
                S = 8.0 * r["dimension"]  # one model of doubles per message
                a, B = calibration["alpha_s"], calibration["bandwidth_Bps"]
                for n in self.s["projection"]:
                    k = self.max_degree(cell.text, n)
                    row[f"projected_exchange_s_{n}"] = cost.exchange_time(k, S, a, B) if k is not None else None
                    row[f"projected_allreduce_s_{n}"] = cost.allreduce_time(n, S, a, B)
            rows.append(row)
        # speed-up and efficiency against the series' first rank count
        for row in rows:
            if self.s["mode"] == "grid" or row["status"] != "done":
                continue
            first = next((o for o in rows if o["series"] == row["series"] and o["ranks"] == self.s["ranks"][0]
                          and o["status"] == "done"), None)
            if first is None or not first.get("time_per_iteration_s") or not row.get("time_per_iteration_s"):
                continue
            ratio = first["time_per_iteration_s"] / row["time_per_iteration_s"]
            scale = row["ranks"] / first["ranks"]
            if self.s["mode"] == "strong":
                row["speedup"], row["efficiency"] = ratio, ratio / scale
            else:  # weak: the work grows with the ranks; efficiency t(r0) / t(r), scaled speed-up
                row["speedup"], row["efficiency"] = ratio * scale, ratio
        columns = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        return columns, rows

    def write_table(self, cells):
        columns, rows = self.table(cells)
        directory = self.s["directory"]
        os.makedirs(directory, exist_ok=True)
        csv_path, h5_path = os.path.join(directory, "results.csv"), os.path.join(directory, "results.h5")
        tmp = f"{csv_path}.tmp{os.getpid()}"
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for row in rows:
                w.writerow(["" if row.get(c) is None else repr(row[c]) if isinstance(row[c], float) else row[c]
                            for c in columns])
        os.replace(tmp, csv_path)
        _write_h5(h5_path, columns, rows, self.s, [_short(k, self.keys) for k in self.keys], self.calibration())
        done = sum(r["status"] != "missing" for r in rows)
        self.say(f"concord study: {done} of {len(rows)} cells in {csv_path} and {h5_path}")
        return columns, rows


def _write_h5(path, columns, rows, study, varied, calibration):
    import h5py
    import numpy as np
    tmp = f"{path}.tmp{os.getpid()}"
    with h5py.File(tmp, "w") as f:
        g = f.create_group("study")
        for c in columns:
            values = [row.get(c) for row in rows]
            present = [v for v in values if v is not None]
            if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
                if all(isinstance(v, int) for v in present) and len(present) == len(values):
                    g.create_dataset(c, data=np.array(values, np.int64))
                else:
                    g.create_dataset(c, data=np.array([np.nan if v is None else v for v in values], float))
            else:
                g.create_dataset(c, data=np.array(["" if v is None else str(v) for v in values], dtype=h5py.string_dtype()))
        g.attrs["columns"] = np.array(columns, dtype=h5py.string_dtype())
        f.attrs["study"] = study["text"]
        f.attrs["mode"] = study["mode"]
        f.attrs["ranks"] = np.array(study["ranks"], np.int64)
        f.attrs["swept"] = np.array(varied or [""],
                                    dtype=h5py.string_dtype())
        if study["target"]:
            f.attrs["target"] = json.dumps(study["target"])
        if calibration:
            f.attrs["alpha_s"] = calibration["alpha_s"]
            f.attrs["beta_s_per_byte"] = calibration["beta_s_per_byte"]
            f.attrs["calibration_command"] = calibration["command"]
            f.attrs["projection_ranks"] = np.array(study["projection"], np.int64)
    os.replace(tmp, path)


def _run_to_the_end(args, log, env) -> int:
    """Runs a cell and waits for it whatever happens: Ctrl-C reaches it from the terminal and
    SIGTERM is passed on to it, and then it still gets to write its checkpoint (never killed)."""
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd(), env=env)
    previous = signal.signal(signal.SIGTERM, lambda signo, frame: proc.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue  # the run got the same SIGINT: wait for its checkpoint
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cell_env() -> dict:
    """The cells' environment: one OpenMP thread per rank unless OMP_NUM_THREADS says otherwise
    (as inputs/slurm/cpu.sbatch), so that the rank count is the one thing a scaling study varies and
    2 ranks on 2 cores do not run 4 threads."""
    return {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or "1"}


def _atomic_write(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _remove(*paths):
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.remove(p)


@contextlib.contextmanager
def _locked(directory):
    """One process at a time writes the table (job-array tasks end together)."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _sbatch_script() -> str:
    """inputs/slurm/study.sbatch: installed (share/concord/slurm) or of the source tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "..", "..", "slurm", "study.sbatch"),
                      os.path.join(here, "..", "..", "inputs", "slurm", "study.sbatch")):
        if os.path.isfile(candidate):
            return os.path.normpath(candidate)
    raise BadInput("--submit: study.sbatch not found (share/concord/slurm/ or inputs/slurm/)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="concord study", description="Run a deck at several rank counts and "
                                     "deck values and tabulate time per iteration, speed-up and efficiency "
                                     "(docs/studies.md).")
    parser.add_argument("study", nargs="?", help="the study file (YAML, one top-level map `study`)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the cells and their state; run nothing")
    what.add_argument("--cell", type=int, metavar="I", help="run cell I only (a job-array task), then the table")
    what.add_argument("--collect", action="store_true", help="write the table from the finished cells; run nothing")
    what.add_argument("--submit", action="store_true",
                      help="submit the unfinished cells as a Slurm job array (inputs/slurm/study.sbatch); "
                           "arguments after -- go to sbatch")
    what.add_argument("--reference", action="store_true", help="print the study keys as a Markdown table")
    argv = sys.argv[1:] if argv is None else list(argv)
    sbatch_args = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.reference:
        sys.stdout.write(reference())
        return 0
    # A study started under a launcher (mpiexec -n 1 concord study ...) must not hand its process
    # manager's connection to the runs it launches.
    for name in [n for n in os.environ if n.startswith(("PMI_", "PMIX_", "MPI_LOCAL"))]:
        del os.environ[name]
    concord = os.environ.get("CONCORD_EXECUTABLE") or shutil.which("concord") or "concord"
    try:
        if not args.study:
            raise BadInput("the study file is missing (concord study STUDY.yaml; docs/studies.md)")
        if sbatch_args and not args.submit:
            raise BadInput(f"unexpected arguments after --: {' '.join(sbatch_args)} (only --submit passes arguments "
                           "on, to sbatch)")
        study = Study(args.study, concord)
        cells = study.cells()
        if args.cell is not None and not 0 <= args.cell < len(cells):
            raise BadInput(f"--cell: {args.cell} is not a cell of this study (0 .. {len(cells) - 1})")
        if args.list:
            for cell in cells:
                state = "finished" if cell.finished() else \
                    "interrupted (continues from its checkpoint)" if os.path.isfile(cell.checkpoint) else "to run"
                print(f"{cell.index:4d}  ranks {cell.ranks:<4d} {cell.name}: {state}")
            return 0
        study.prepare(cells)
        if args.submit:
            pending = [c for c in cells if not c.finished()]
            if not pending:
                print("concord study: every cell is finished; nothing to submit")
                return 0
            script = _sbatch_script()
            command = ["sbatch", "--parsable", f"--array={','.join(str(c.index) for c in pending)}",
                       f"--ntasks={max([c.ranks for c in pending] + ([2] if study.s['projection'] else []))}", *sbatch_args, script,
                       os.path.abspath(args.study)]
            proc = subprocess.run(command, capture_output=True, text=True,
                                  env=dict(os.environ, CONCORD=os.path.realpath(concord)))
            if proc.returncode != 0:
                raise RunFailed(f"{' '.join(command)} failed: {proc.stderr.strip()}")
            print(f"concord study: submitted job array {proc.stdout.strip()} ({len(pending)} cells): {' '.join(command)}")
            print(f"concord study: each task writes the table when its cell ends; "
                  f"`concord study {args.study} --collect` writes it again")
            return 0
        if not args.collect:
            todo = [cells[args.cell]] if args.cell is not None else [c for c in cells if not c.finished()]
            if args.cell is None and len(todo) < len(cells):
                study.say(f"concord study: {len(cells) - len(todo)} of {len(cells)} cells already finished")
            for i, cell in enumerate(todo):
                if args.cell is not None and cell.finished():
                    study.say(f"concord study: cell {cell.index} is finished")
                    continue
                study.run_cell(cell, f" ({i + 1}/{len(todo)})" if args.cell is None else "")
        with _locked(study.s["directory"]):
            study.write_table(cells)
    except BadInput as e:
        print(f"concord: error: study: {e}", file=sys.stderr)
        return 2
    except RunFailed as e:
        print(f"concord: error: study: {e}", file=sys.stderr)
        return 1
    except Interrupted as e:
        print(f"concord study: {e}", file=sys.stderr)
        return 75
    return 0


if __name__ == "__main__":
    sys.exit(main())
