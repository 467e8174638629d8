"""Fault injection on `concord run`: a kill (SIGKILL) or a full disk (ENOSPC) at every n-th call
that changes a file — writes, syncs, truncations, renames, counted by the LD_PRELOAD library
tests/io/fault_inject.c — during a run with records, snapshots and checkpoints. Whatever the
moment:

- the process never dies of a signal it did not get: a full disk gives exit status 1 and one
  line on stderr;
- the last checkpoint is intact: the restart from it ends bit-identical to an uninterrupted run;
- no record is lost: the trajectory is continued, or — when the crash damaged it — the restart
  refuses with one line and `--new-trajectory` rebuilds every record from the checkpoint.

Usage: test_faults.py CONCORD FAULT_LIBRARY WORK_DIR [STRIDE]  (every STRIDE-th call is tried)."""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

CONCORD, LIBRARY, WORK = sys.argv[1:4]
STRIDE = int(sys.argv[4]) if len(sys.argv) > 4 else 1
ONLY = [int(x) for x in os.environ.get("CONCORD_FAULT_ONLY", "").split(",") if x]  # debugging: these calls
DECK = """concord:
  seed: 2
  agents: 8
  topology: { name: ring }
  problem:
    name: least_squares
    data: { source: synthetic, samples_per_agent: 20, dimension: 6, heterogeneity: 1.0 }
  algorithm: { name: gradient_tracking, step_size: 0.05, iterations: 60, batch_size: 4 }
  output: { file: run.h5, log_every: 10, checkpoint_every: 20, snapshot_every: 20, time_phases: false }
"""
failures = []


def concord(directory, *args, env=None):
    if env is not None:
        env = dict(env, CONCORD_FAULT_UNDER=os.path.realpath(WORK))
    return subprocess.run([CONCORD, "run", "deck.yaml", *args], cwd=directory, capture_output=True, text=True,
                          timeout=120, env=env)


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "deck.yaml"), "w") as f:
        f.write(DECK)
    return d


def records(path):
    with h5py.File(path, "r") as f:
        return {name: f["trajectory"][name][()] for name in f["trajectory"]}


def state(path):
    with h5py.File(path, "r") as f:
        return {name: f["state"][name][()] for name in f["state"]}


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


def fail(n, mode, what, r=None):
    failures.append("%s at call %d: %s%s" % (mode, n, what, "" if r is None else "\n  stderr: " + r.stderr.strip()))


def stderr_lines(r):
    return [line for line in r.stderr.splitlines() if line.strip()]


reference = fresh("reference")
counter = os.path.join(WORK, "calls")
r = concord(reference, env=dict(os.environ, LD_PRELOAD=LIBRARY, CONCORD_FAULT_COUNT=counter))
assert r.returncode == 0, r.stderr
calls = int(open(counter).read())
assert calls > 50, "the fault library saw only %d calls: is it preloaded?" % calls
want_records, want_state = records(os.path.join(reference, "run.h5")), state(os.path.join(reference, "run.checkpoint.h5"))

outcomes = {}
for mode, variable in (("kill", "CONCORD_FAULT_KILL_AT"), ("full disk", "CONCORD_FAULT_FAIL_AT")):
    for n in ONLY or range(1, calls + 1, STRIDE):
        d = fresh("fault")
        r = concord(d, env=dict(os.environ, LD_PRELOAD=LIBRARY, **{variable: str(n)}))
        if mode == "kill" and r.returncode not in (-9, 0):
            fail(n, mode, "exit status %d" % r.returncode, r)
        if mode == "full disk":
            if r.returncode < 0:
                fail(n, mode, "died of signal %d" % -r.returncode, r)
            elif r.returncode not in (0, 1) or (r.returncode == 1 and len(stderr_lines(r)) != 1):
                fail(n, mode, "exit status %d with %d stderr lines (expected 1 and one line)" %
                     (r.returncode, len(stderr_lines(r))), r)
        if os.path.exists(os.path.join(d, "run.checkpoint.h5.tmp")) and r.returncode == 0:
            fail(n, mode, "a completed run left run.checkpoint.h5.tmp")
        if not os.path.exists(os.path.join(d, "run.checkpoint.h5")):
            outcomes[(mode, "no checkpoint yet")] = outcomes.get((mode, "no checkpoint yet"), 0) + 1
            continue
        # The restart, without faults.
        restart = concord(d, "--restart", "run.checkpoint.h5")
        outcome = "continued"
        if restart.returncode == 2 and len(stderr_lines(restart)) == 1 and "--new-trajectory" in restart.stderr:
            outcome = "rebuilt from the checkpoint"
            restart = concord(d, "--restart", "run.checkpoint.h5", "--new-trajectory", "--set",
                              "concord/output/file=rebuilt.h5", "--set", "concord/output/checkpoint_file=run.checkpoint.h5")
            trajectory = os.path.join(d, "rebuilt.h5")
        else:
            trajectory = os.path.join(d, "run.h5")
        if restart.returncode != 0:
            fail(n, mode, "the restart failed with status %d" % restart.returncode, restart)
            continue
        outcomes[(mode, outcome)] = outcomes.get((mode, outcome), 0) + 1
        if not same(records(trajectory), want_records):
            fail(n, mode, "the records after the restart (%s) differ from an uninterrupted run's" % outcome)
        if not same(state(os.path.join(d, "run.checkpoint.h5")), want_state):
            fail(n, mode, "the final state after the restart differs from an uninterrupted run's")

for (mode, outcome), count in sorted(outcomes.items()):
    print("%-9s %-30s %d" % (mode, outcome, count))
print("%d calls that change files per run; every %d-th tried in each mode" % (calls, STRIDE))
if failures:
    print("\n".join(failures))
    sys.exit(1)
