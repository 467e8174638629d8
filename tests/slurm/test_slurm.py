#!/usr/bin/env python3
"""The Slurm batch scripts of inputs/slurm against a real, private Slurm cluster.

Starts munged + slurmctld + two slurmd on loopback under a temporary directory (tests/slurm/
slurm_cluster.py), submits the project's own scripts with sbatch, polls `scontrol show job` with time
bounds, checks the outputs with h5py and stops everything on success, failure, Ctrl-C or SIGTERM.

  a. cpu.sbatch at 2 ranks (one node) and 4 ranks (two nodes): COMPLETED, the rank count in the
     header line and in the trajectory's `ranks` attribute, the expected trajectory records, the
     final checkpoint; both rank counts give bit-identical models and metrics. Without CONCORD the
     scripts run build/bin/concord of their own source tree, or stop with status 2 saying it is missing.
  b. restartable.sbatch, interrupted with `scancel --signal=TERM` (to the job steps, i.e. concord's
     ranks): exit status 75 and a checkpoint; the same script resubmitted resumes and completes; and
     with CONCORD_REQUEUE=1 the job requeues itself and completes. Final models (/state/*) and the
     trajectory metrics (all columns but time_compute and time_comm) equal an uninterrupted run's.
  c. study.sbatch through `concord study STUDY --submit`: a study of 4 cells (ranks 1 and 2 x two
     topologies, projection to 256 ranks) as one job array, every task COMPLETED; results.csv and
     results.h5 list the 4 cells done, each trajectory's `ranks` attribute is its cell's (srun
     launched that many ranks) and its last time_elapsed the table's elapsed_s; the alpha-beta
     calibration ran once, under srun. A deleted cell is the only one submitted again, and the
     table is complete after it.

Needs root, Debian's slurm-wlm and munge, python3-h5py/numpy. Without them the test FAILS, unless
CONCORD_SKIP_SLURM=1 is set: then it prints SKIPPED and exits 77 (ctest SKIP_RETURN_CODE).
Run alone: python3 tests/slurm/test_slurm.py --concord build/bin/concord [--keep]   (see docs/slurm.md)
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import Cluster, ClusterError, missing_requirements  # noqa: E402

SKIP = 77
T0 = time.monotonic()


def say(msg):
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", flush=True)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


DECK = """\
concord:
  seed: 7
  agents: 8
  topology:  {{ name: ring }}
  problem:
    name: least_squares
    data: {{ source: synthetic, samples_per_agent: {samples}, dimension: 10, heterogeneity: 1.0 }}
  algorithm: {{ name: gradient_tracking, step_size: 0.002, iterations: {iterations}, batch_size: {batch} }}
  output:    {{ file: {output}, log_every: {log_every}, checkpoint_every: {checkpoint_every}, snapshot_every: 0, overwrite: false }}
"""

TIME_COLUMNS = {"time_compute", "time_comm", "time_metrics", "time_elapsed"}


class Harness:
    def __init__(self, args, cluster, work):
        self.args = args
        self.cluster = cluster
        self.work = work
        self.scripts = Path(args.source_dir) / "inputs" / "slurm"
        self.deadline = T0 + args.timeout

    def remaining(self, cap):
        left = self.deadline - time.monotonic()
        if left <= 5:
            raise Failure(f"out of time (--timeout {self.args.timeout} s)")
        return min(cap, left - 5)

    def write_deck(self, name, **values):
        path = self.work / name
        path.write_text(DECK.format(**values))
        return path

    def submit(self, script, *script_args, ranks, nodes=1, env=None, time_limit="10", options=()):
        options = [f"--nodes={nodes}", f"--ntasks-per-node={ranks // nodes}", f"--chdir={self.work}",
                   f"--time={time_limit}", f"--output={self.work}/%x-%j.out", *options]
        job_env = {"CONCORD": str(self.args.concord)}
        job_env.update(env or {})
        job = self.cluster.sbatch(self.scripts / script, *script_args, options=options, env=job_env)
        return job

    def stdout_of(self, job, name):
        path = self.work / f"{name}-{job}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_end(self, job, cap=300):
        return self.cluster.wait_end(job, self.remaining(cap))

    def expect_completed(self, job, name, info):
        out = self.stdout_of(job, name)
        check(info.get("JobState") == "COMPLETED" and info.get("ExitCode") == "0:0",
              f"job {job} ({name}) ended {info.get('JobState')} exit {info.get('ExitCode')} "
              f"reason {info.get('Reason')}; its output:\n{out}")
        return out


def read_trajectory(path):
    t = concord_files().read_trajectory(path)
    return t["attrs"], t["columns"]


def read_checkpoint(path):
    c = concord_files().read_checkpoint(path)
    return c["iteration"], c["state"]


def concord_files():
    """Concord's own Python reader (python/concord), with python3-h5py."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
    from concord import files
    return files


def same_arrays(a, b):
    import numpy as np
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def compare_runs(label, run_file, run_ckpt, ref_file, ref_ckpt):
    """Bit-identical final state and metrics (all columns but the timings), the same iterations."""
    _, traj = read_trajectory(run_file)
    _, ref = read_trajectory(ref_file)
    got, want = [int(i) for i in traj["iteration"]], [int(i) for i in ref["iteration"]]
    check(got == want, f"{label}: trajectory records at other iterations than the uninterrupted run's: "
                       f"missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}, "
                       f"{len(got)} records vs {len(want)}")
    columns = sorted(set(ref) - TIME_COLUMNS)
    check(set(traj) - TIME_COLUMNS == set(columns), f"{label}: columns {sorted(traj)} vs {sorted(ref)}")
    for c in columns:
        check(same_arrays(traj[c], ref[c]), f"{label}: trajectory column {c} differs from the uninterrupted run")
    it, state = read_checkpoint(run_ckpt)
    ref_it, ref_state = read_checkpoint(ref_ckpt)
    check(it == ref_it, f"{label}: final checkpoint at iteration {it}, uninterrupted run's at {ref_it}")
    check("x" in ref_state and set(state) == set(ref_state), f"{label}: checkpoint states {sorted(state)} vs {sorted(ref_state)}")
    for name in ref_state:
        check(same_arrays(state[name], ref_state[name]), f"{label}: final /state/{name} is not bit-identical")
    return len(columns)


def expected_iterations(iterations, log_every):
    its = list(range(0, iterations + 1, log_every))
    if its[-1] != iterations:
        its.append(iterations)
    return its


def header_ranks(out):
    m = re.search(r"^\s*ranks:\s+(\d+)\s*$", out, re.M)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------------------------------ checks
def check_cpu(h):
    """(a) cpu.sbatch at 2 and 4 ranks."""
    iterations, log_every = 100, 10
    deck = h.write_deck("cpu.yaml", samples=50, batch=0, iterations=1000, output="unused.h5", log_every=log_every,
                        checkpoint_every=0)
    files = {}
    for ranks, nodes in ((2, 1), (4, 2)):
        t = time.monotonic()
        output = f"cpu-np{ranks}.h5"
        # Overrides both ways: CONCORD_SET and arguments after the deck.
        job = h.submit("cpu.sbatch", deck.name, "--set", f"concord/output/file={output}", ranks=ranks, nodes=nodes,
                       env={"CONCORD_SET": f"concord/algorithm/iterations={iterations} concord/output/log_every={log_every}"})
        info = h.wait_end(job)
        out = h.expect_completed(job, "concord", info)
        check(header_ranks(out) == ranks, f"cpu.sbatch np{ranks}: header says ranks {header_ranks(out)}:\n{out}")
        check(info.get("NumTasks") == str(ranks) and info.get("NumNodes") == str(nodes),
              f"cpu.sbatch np{ranks}: job had {info.get('NumTasks')} tasks on {info.get('NumNodes')} nodes")
        path = h.work / output
        check(path.exists(), f"cpu.sbatch np{ranks}: no {path}")
        attrs, traj = read_trajectory(path)
        check(int(attrs["ranks"]) == ranks, f"cpu.sbatch np{ranks}: trajectory attribute ranks = {attrs['ranks']}")
        check(int(attrs["agents"]) == 8, f"cpu.sbatch np{ranks}: trajectory attribute agents = {attrs['agents']}")
        want = expected_iterations(iterations, log_every)
        check(list(traj["iteration"]) == want,
              f"cpu.sbatch np{ranks}: {len(traj['iteration'])} records at {list(traj['iteration'])}, want {want}")
        for c in ("consensus_error", "loss", "grad_norm_sq", "distance_to_solution", "time_compute", "time_comm"):
            check(c in traj and len(traj[c]) == len(want), f"cpu.sbatch np{ranks}: column {c} missing or short")
        ckpt = h.work / output.replace(".h5", ".checkpoint.h5")
        it, state = read_checkpoint(ckpt)
        check(it == iterations and state["x"].shape == (8, 10),
              f"cpu.sbatch np{ranks}: final checkpoint iteration {it}, /state/x shape {state['x'].shape}")
        files[ranks] = (path, ckpt)
        say(f"PASS cpu.sbatch {ranks} ranks on {nodes} node(s): COMPLETED, ranks={ranks} in header and file, "
            f"{len(want)} records, checkpoint at {it} ({time.monotonic() - t:.1f} s)")
    n = compare_runs("cpu.sbatch np4 vs np2", *files[4], *files[2])
    say(f"PASS 2 and 4 ranks: bit-identical final state and {n} metric columns")


def check_default_concord(h):
    """Without CONCORD, the scripts run build/bin/concord of the source tree they are in, found through
    the path they were submitted as (the batch shell runs a copy in the spool directory); without
    that executable they stop at once with status 2 and a one-line reason."""
    t = time.monotonic()
    deck = h.write_deck("default.yaml", samples=50, batch=0, iterations=20, output="default.h5", log_every=10,
                        checkpoint_every=0)
    # A source tree of its own: the scripts, and build/bin/concord linked to the executable under test.
    tree = h.work.parent / "tree"
    (tree / "inputs").mkdir(parents=True)
    shutil.copytree(h.scripts, tree / "inputs" / "slurm")
    (tree / "build" / "bin").mkdir(parents=True)
    (tree / "build" / "bin" / "concord").symlink_to(h.args.concord)
    # CONCORD empty counts as unset; no concord on the job's PATH, so only the tree can provide it.
    path = os.pathsep.join(d for d in h.cluster.env.get("PATH", "").split(os.pathsep)
                           if d and not (Path(d) / "concord").exists())
    env = {"CONCORD": "", "PATH": path}
    options = ["--nodes=1", "--ntasks-per-node=2", f"--chdir={h.work}", "--time=10", f"--output={h.work}/%x-%j.out"]
    # Submitted as the docs show it: from the tree's root, the script by a relative path.
    job = h.cluster.sbatch("inputs/slurm/cpu.sbatch", deck.name, options=options, env=env, cwd=tree)
    out = h.expect_completed(job, "concord", h.wait_end(job))
    want = f"cpu.sbatch: {tree}/build/bin/concord run {deck.name}"
    check(want in out, f"default CONCORD: the job's log lacks '{want}':\n{out}")
    check((h.work / "default.h5").exists(), "default CONCORD: no default.h5 written")
    # The same tree without its executable.
    (tree / "build" / "bin" / "concord").unlink()
    job = h.cluster.sbatch("inputs/slurm/restartable.sbatch", deck.name, options=options,
                           env={**env, "OUTPUT": "missing.h5"}, cwd=tree)
    info = h.wait_end(job)
    out = h.stdout_of(job, "concord-restartable")
    want = f"restartable.sbatch: no concord executable: {tree}/build/bin/concord does not exist"
    check(info.get("JobState") == "FAILED" and info.get("ExitCode") == "2:0" and want in out,
          f"missing concord: job {job} ended {info.get('JobState')} {info.get('ExitCode')}, want FAILED 2:0 "
          f"and '{want}':\n{out}")
    say(f"PASS without CONCORD: cpu.sbatch ran {tree}/build/bin/concord; restartable.sbatch without it: "
        f"FAILED 2:0 with the reason ({time.monotonic() - t:.1f} s)")


def check_gpu(h):
    """gpu.sbatch on nodes with count-only GPUs (no devices here): scheduling with --gpus-per-task,
    the arguments and environment it sets; a CPU build runs it with CONCORD_TRANSPORT=mpi."""
    deck = h.write_deck("gpu.yaml", samples=50, batch=0, iterations=50, output="unused.h5", log_every=10,
                        checkpoint_every=0)
    t = time.monotonic()
    job = h.submit("gpu.sbatch", deck.name, "--set", "concord/output/file=gpu-mpi.h5", ranks=2,
                   options=["--cpus-per-task=1"], env={"CONCORD_TRANSPORT": "mpi"})
    info = h.wait_end(job)
    out = h.expect_completed(job, "concord-gpu", info)
    check("gpu" in info.get("TresPerTask", ""), f"gpu.sbatch: job {job} has TresPerTask={info.get('TresPerTask')}")
    check(header_ranks(out) == 2 and "KOKKOS_MAP_DEVICE_ID_BY=mpi_rank" in out,
          f"gpu.sbatch: header ranks {header_ranks(out)} or no KOKKOS_MAP_DEVICE_ID_BY=mpi_rank:\n{out}")
    attrs, traj = read_trajectory(h.work / "gpu-mpi.h5")
    check(int(attrs["ranks"]) == 2 and int(traj["iteration"][-1]) == 50, f"gpu.sbatch: trajectory {attrs}")
    # The default transport is nccl: a build without NCCL refuses it as bad input (exit status 2).
    job = h.submit("gpu.sbatch", deck.name, "--set", "concord/output/file=gpu-nccl.h5", ranks=2,
                   options=["--cpus-per-task=1"])
    info = h.wait_end(job)
    out = h.stdout_of(job, "concord-gpu")
    check("--set concord/parallel/transport=nccl" in out, f"gpu.sbatch: nccl transport not requested:\n{out}")
    if re.search(r"^\s*NCCL:\s*disabled", run_info(h.args.concord), re.M | re.I):
        check(info.get("JobState") == "FAILED" and info.get("ExitCode") == "2:0" and "nccl" in out.lower(),
              f"gpu.sbatch: a build without NCCL should stop with status 2 naming nccl; job ended "
              f"{info.get('JobState')} {info.get('ExitCode')}:\n{out}")
    say(f"PASS gpu.sbatch: 2 ranks with --gpus-per-task=1 (TresPerTask={info.get('TresPerTask')}), "
        f"transport nccl by default (exit {info.get('ExitCode')} without NCCL), mpi on request ({time.monotonic() - t:.1f} s)")


def run_info(concord):
    try:
        return subprocess.run([str(concord), "info"], capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return ""


def interrupted_run(h, deck, name, requeue, ref_seconds):
    """Submit restartable.sbatch, SIGTERM its steps once a checkpoint exists; returns (job, info, output)."""
    output = f"{name}.h5"
    ckpt = h.work / f"{name}.checkpoint.h5"
    env = {"OUTPUT": output, "CONCORD_REQUEUE": "1" if requeue else "0"}
    job = h.submit("restartable.sbatch", deck.name, ranks=2, env=env)
    h.cluster.wait(job, lambda i: i.get("JobState") == "RUNNING" or i.get("JobState") in
                   ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), h.remaining(120))
    # A periodic checkpoint exists and iterations are running: then interrupt.
    deadline = time.monotonic() + h.remaining(max(60.0, ref_seconds))
    while time.monotonic() < deadline and not (ckpt.exists() and "iter " in h.stdout_of(job, "concord-restartable")):
        check(h.cluster.job(job).get("JobState") == "RUNNING",
              f"{name}: job {job} ended before it could be interrupted:\n{h.stdout_of(job, 'concord-restartable')}")
        time.sleep(0.2)
    check(ckpt.exists(), f"{name}: no checkpoint {ckpt} appeared")
    time.sleep(min(2.0, ref_seconds / 10))
    h.cluster.scancel("--signal=TERM", job)   # default: to the job steps (concord's ranks), not the batch shell
    say(f"{name}: job {job} running with a checkpoint: sent SIGTERM to its steps")
    return job, output, ckpt


def check_restart(h):
    """(b) restartable.sbatch interrupted and resumed, by resubmission and by requeueing itself."""
    # A record every iteration: the interruption always lands on a recorded iteration, which the
    # interrupted run must record before it stops (the resumed run starts after it).
    iterations, log_every, checkpoint_every = h.args.restart_iterations, h.args.restart_log_every, h.args.restart_iterations // 20
    deck = h.write_deck("long.yaml", samples=h.args.restart_samples, batch=h.args.restart_samples // 2,
                        iterations=iterations, output="long.h5",
                        log_every=log_every, checkpoint_every=checkpoint_every)
    # The uninterrupted reference: the same deck, cpu.sbatch at 2 ranks.
    t = time.monotonic()
    job = h.submit("cpu.sbatch", deck.name, "--set", "concord/output/file=reference.h5", ranks=2)
    h.expect_completed(job, "concord", h.wait_end(job, 600))
    ref_seconds = time.monotonic() - t
    ref = (h.work / "reference.h5", h.work / "reference.checkpoint.h5")
    say(f"reference: {iterations} iterations uninterrupted in {ref_seconds:.1f} s")

    # b1. Interrupted, exit 75, resubmitted by hand (CONCORD_REQUEUE=0).
    t = time.monotonic()
    job, output, ckpt = interrupted_run(h, deck, "resubmitted", requeue=False, ref_seconds=ref_seconds)
    info = h.wait_end(job, 120)
    out = h.stdout_of(job, "concord-restartable")
    check(info.get("JobState") == "FAILED" and info.get("ExitCode") == "75:0",
          f"resubmitted: interrupted job {job} ended {info.get('JobState')} exit {info.get('ExitCode')}, want "
          f"FAILED 75:0:\n{out}")
    check("concord exit status 75" in out, f"resubmitted: no 'concord exit status 75' in the job's output:\n{out}")
    m = re.search(r"interrupted by SIGTERM after iteration (\d+)", out)
    check(m is not None, f"resubmitted: concord did not report the SIGTERM interruption:\n{out}")
    stopped_at = int(m.group(1))
    it, _ = read_checkpoint(h.work / ckpt)
    check(it == stopped_at and 0 < it < iterations,
          f"resubmitted: checkpoint at iteration {it}, concord stopped after {stopped_at} (of {iterations})")
    say(f"PASS restartable.sbatch: SIGTERM -> exit status 75, job FAILED 75:0, checkpoint at iteration {it}")
    job2 = h.submit("restartable.sbatch", deck.name, ranks=2, env={"OUTPUT": output, "CONCORD_REQUEUE": "0"})
    check(job2 != job, "resubmission got the same job id")
    out2 = h.expect_completed(job2, "concord-restartable", h.wait_end(job2, 600))
    check(f"resuming from {ckpt.name}" in out2 and f"--restart {ckpt.name}" in out2,
          f"resubmitted: the second job did not resume from {ckpt.name}:\n{out2}")
    n = compare_runs("resubmitted", h.work / output, ckpt, *ref)
    say(f"PASS resubmission resumed from {it} and completed: final state and {n} metric columns bit-identical to "
        f"the uninterrupted run ({time.monotonic() - t:.1f} s)")

    # b2. Interrupted, the job requeues itself (the default) and completes under the same job id.
    if h.args.skip_requeue:
        return
    t = time.monotonic()
    job, output, ckpt = interrupted_run(h, deck, "requeued", requeue=True, ref_seconds=ref_seconds)
    h.cluster.wait(job, lambda i: int(i.get("Restarts", "0")) >= 1 or i.get("JobState") in
                   ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), h.remaining(120))
    info = h.wait_end(job, 600)
    out = h.expect_completed(job, "concord-restartable", info)
    check(info.get("Restarts") == "1", f"requeued: job {job} shows Restarts={info.get('Restarts')}, want 1:\n{out}")
    check("requeueing job" in out and "(restart count 1): resuming from" in out,
          f"requeued: the job's output does not show the requeue and the resume:\n{out}")
    n = compare_runs("requeued", h.work / output, ckpt, *ref)
    say(f"PASS self-requeue: SIGTERM -> checkpoint, scontrol requeue, resumed as restart 1, COMPLETED; final state "
        f"and {n} metric columns bit-identical ({time.monotonic() - t:.1f} s)")


STUDY = """\
study:
  deck: {deck}
  ranks: [1, 2]
  sweep: {{ concord/topology/name: [ring, exponential] }}
  projection: [256]
"""


def check_study(h):
    """(c) concord study --submit: the unfinished cells as a job array of study.sbatch."""
    import csv
    import math
    t = time.monotonic()
    deck = h.write_deck("study-deck.yaml", samples=50, batch=0, iterations=40, output="unused.h5", log_every=10,
                        checkpoint_every=0)
    study_file = h.work / "scaling.yaml"
    study_file.write_text(STUDY.format(deck=deck.name))
    directory = h.work / "scaling"   # the study file's name without its extension
    want_ranks = [1, 2, 1, 2]
    # The options the cluster needs, after --; the test's own environment reaches the private cluster.
    options = [f"--chdir={h.work}", "--time=10", f"--output={h.work}/%x-%A_%a.out", "--nodes=1"]

    def submit():
        cmd = [str(h.args.concord), "study", study_file.name, "--submit", "--", *options]
        r = subprocess.run(cmd, env=h.cluster.env, cwd=h.work, capture_output=True, text=True,
                           timeout=h.remaining(120))
        check(r.returncode == 0, f"study: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        m = re.search(r"submitted job array (\d+)", r.stdout)
        a = re.search(r"--array=(\S+)", r.stdout)
        n = re.search(r"--ntasks=(\d+)", r.stdout)
        check(m and a and n, f"study: no job id, --array or --ntasks in the submission's output:\n{r.stdout}{r.stderr}")
        return m.group(1), [int(i) for i in a.group(1).split(",")], int(n.group(1))

    def wait_tasks(job, indices):
        """Each array task (JOBID_I in scontrol) ended COMPLETED 0:0 after running its cell; their outputs."""
        outs = []
        for i in indices:
            task = f"{job}_{i}"
            info = h.wait_end(task, 180)
            out = h.expect_completed(task, "concord-study", info)
            check(info.get("ArrayJobId") == job and info.get("ArrayTaskId") == str(i),
                  f"study: {task} shows ArrayJobId={info.get('ArrayJobId')} ArrayTaskId={info.get('ArrayTaskId')}")
            check(f"concord study: cell {i} done" in out and "concord study exit status 0" in out,
                  f"study: task {task} did not report cell {i} done:\n{out}")
            outs.append(out)
        return outs

    def check_table(label):
        rows = list(csv.DictReader((directory / "results.csv").open()))
        check([r["status"] for r in rows] == ["done"] * 4 and [int(r["ranks"]) for r in rows] == want_ranks,
              f"study {label}: results.csv has status {[r['status'] for r in rows]}, ranks {[r['ranks'] for r in rows]}; "
              f"want 4 cells done at ranks {want_ranks}")
        table = concord_files().read_study(directory)
        c = table["columns"]
        check(list(c["status"]) == ["done"] * 4 and [int(r) for r in c["ranks"]] == want_ranks
              and list(c["cell"]) == [r["cell"] for r in rows],
              f"study {label}: results.h5 has cells {list(c['cell'])}, status {list(c['status'])}, ranks {list(c['ranks'])}")
        check([str(v) for v in c["name"]] == ["ring", "ring", "exponential", "exponential"],
              f"study {label}: swept topology column {list(c['name'])}")
        check("projected_exchange_s_256" in c and all(math.isfinite(v) and v > 0 for v in c["projected_exchange_s_256"]),
              f"study {label}: no projection to 256 ranks in results.h5 (columns {table['column_order']})")
        for name, ranks, elapsed in zip(c["cell"], c["ranks"], c["elapsed_s"]):
            cell = directory / "cells" / name
            attrs, traj = read_trajectory(cell / "trajectory.h5")
            check(int(attrs["ranks"]) == int(ranks),
                  f"study {label}: cell {name}'s trajectory says ranks {attrs['ranks']}, the table {ranks}")
            check(list(traj["iteration"]) == expected_iterations(40, 10),
                  f"study {label}: cell {name} recorded iterations {list(traj['iteration'])}")
            check(math.isclose(float(traj["time_elapsed"][-1]), float(elapsed), rel_tol=1e-12),
                  f"study {label}: cell {name}: table elapsed_s {elapsed}, trajectory time_elapsed[-1] "
                  f"{traj['time_elapsed'][-1]}")
            launched = (cell / "run.log").read_text(errors="replace").splitlines()[0]
            check(launched.startswith("$ OMP_NUM_THREADS=1 srun --mpi=pmi2 --ntasks=%d " % ranks),
                  f"study {label}: cell {name} was not launched with srun --ntasks={ranks}: {launched}")
        return table

    job, indices, ntasks = submit()
    check(indices == [0, 1, 2, 3] and ntasks == 2,
          f"study: job array {job} submitted cells {indices} with --ntasks={ntasks}; want 0,1,2,3 and 2")
    outs = wait_tasks(job, indices)
    table = check_table("first submission")
    calibration = json.loads((directory / "calibration.json").read_text())
    check(calibration["command"].startswith("srun --mpi=pmi2 --ntasks=2 ") and float(table["attrs"]["alpha_s"]) > 0,
          f"study: the calibration ran as '{calibration['command']}', alpha {table['attrs'].get('alpha_s')}")
    calibrated = sum("calibrating the alpha-beta model" in out for out in outs)
    check(calibrated == 1, f"study: {calibrated} of the 4 tasks calibrated the alpha-beta model, want 1")
    say(f"PASS concord study --submit: job array {job} of 4 cells COMPLETED under srun, results.csv/results.h5 "
        f"list them done at ranks {want_ranks} matching each trajectory's ranks and time_elapsed, calibrated once "
        f"under srun ({time.monotonic() - t:.1f} s)")

    # A deleted cell is the only one submitted again; the others are not rerun.
    t = time.monotonic()
    gone = directory / "cells" / str(table["columns"]["cell"][3])
    kept = {n: (directory / "cells" / n / "result.json").stat().st_mtime_ns for n in table["columns"]["cell"][:3]}
    shutil.rmtree(gone)
    job2, indices, ntasks = submit()
    check(job2 != job and indices == [3] and ntasks == 2,
          f"study: resubmission {job2} submitted cells {indices} (--ntasks={ntasks}); want only cell 3 ({gone.name})")
    outs = wait_tasks(job2, indices)
    check_table("after the resubmission")
    check("calibrating" not in outs[0], f"study: the resubmitted task calibrated again:\n{outs[0]}")
    check(all((directory / "cells" / n / "result.json").stat().st_mtime_ns == m for n, m in kept.items()),
          "study: a finished cell ran again on the resubmission")
    say(f"PASS deleted {gone.name}: resubmission {job2} ran only --array=3, the table is complete again "
        f"({time.monotonic() - t:.1f} s)")


# --------------------------------------------------------------------------------------------- main
def concord_run_available(concord):
    try:
        r = subprocess.run([str(concord), "run", "--help"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        return f"cannot execute {concord}: {e}"
    if r.returncode != 0 or "--restart" not in r.stdout:
        return f"{concord} has no `run` subcommand with --restart (rc {r.returncode})"
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = Path(__file__).resolve().parent
    p.add_argument("--concord", default=os.environ.get("CONCORD", str(here.parents[1] / "build" / "bin" / "concord")))
    p.add_argument("--source-dir", default=str(here.parents[1]))
    p.add_argument("--timeout", type=float, default=float(os.environ.get("CONCORD_SLURM_TIMEOUT", "1500")),
                   help="overall time bound in seconds (teardown included)")
    p.add_argument("--keep", action="store_true", default=os.environ.get("CONCORD_SLURM_KEEP") == "1",
                   help="keep the work directory (cluster config, logs, job outputs)")
    p.add_argument("--only", choices=["cpu", "gpu", "restart", "study"], help="run one group of checks")
    p.add_argument("--skip-requeue", action="store_true", help="skip the self-requeue check")
    p.add_argument("--restart-iterations", type=int, default=int(os.environ.get("CONCORD_SLURM_ITERATIONS", "4000")),
                   help="iterations of the interrupted deck (about 10-20 s at 2 ranks on an idle machine)")
    p.add_argument("--restart-log-every", type=int, default=1, help="record interval of the interrupted deck")
    p.add_argument("--restart-samples", type=int, default=int(os.environ.get("CONCORD_SLURM_SAMPLES", "16000")),
                   help="samples per agent of the interrupted deck (minibatches of half of them)")
    args = p.parse_args()

    if os.environ.get("CONCORD_SKIP_SLURM") == "1":
        print("*" * 78 + "\n*** SKIPPED: the Slurm tests (CONCORD_SKIP_SLURM=1)\n" + "*" * 78, flush=True)
        return SKIP
    problems = missing_requirements()
    try:
        import h5py  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        # A python3 of its own (pyenv, venv) first on PATH: Debian's has python3-h5py.
        debian = Path("/usr/bin/python3")
        if debian.exists() and Path(sys.executable).resolve() != debian.resolve() and "CONCORD_SLURM_REEXEC" not in os.environ:
            os.environ["CONCORD_SLURM_REEXEC"] = "1"
            os.execv(str(debian), [str(debian), str(Path(__file__).resolve()), *sys.argv[1:]])
        problems.append(f"{sys.executable} cannot import {e.name} (install python3-h5py python3-numpy)")
    args.concord = Path(args.concord).resolve()
    if not problems:
        why = concord_run_available(args.concord)
        if why:
            problems.append(why)
    if problems:
        print("FAILED: the Slurm tests cannot run here:\n  - " + "\n  - ".join(problems) +
              "\n(set CONCORD_SKIP_SLURM=1 to skip them deliberately)", file=sys.stderr, flush=True)
        return 1

    work = Path(tempfile.mkdtemp(prefix="concord-slurm-"))
    cluster = Cluster(work / "cluster", nodes=("n1", "n2"), cpus_per_node=8, gpus_per_node=2, log=say)
    jobs = work / "jobs"
    jobs.mkdir()

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def out_of_time(_signum, _frame):
        raise Failure(f"overall time bound of {args.timeout:.0f} s reached")

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, interrupt)
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(max(1, int(args.timeout - 30)))
    status = 1
    try:
        cluster.start()
        h = Harness(args, cluster, jobs)
        if args.only in (None, "cpu"):
            check_cpu(h)
            check_default_concord(h)
        if args.only in (None, "gpu"):
            check_gpu(h)
        if args.only in (None, "restart"):
            check_restart(h)
        if args.only in (None, "study"):
            check_study(h)
        say("ALL PASSED")
        status = 0
    except KeyboardInterrupt as e:
        say(f"interrupted ({e or 'SIGINT'}): tearing down")
        status = 130
    except (Failure, ClusterError) as e:
        say(f"FAILED: {e}")
    except Exception:  # noqa: BLE001 - report anything, then tear down
        say("FAILED with an exception:\n" + traceback.format_exc())
    finally:
        signal.alarm(0)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        if status != 0 and cluster.started:
            print(cluster.log_tails(), flush=True)
        cluster.stop()
        if status == 0 and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"work directory kept: {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
