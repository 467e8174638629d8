"""End-to-end tests of `concord run` as users run it: decks in, HDF5 trajectories and checkpoints
out, read back with h5py and compared bit for bit across rank counts and restarts; errors, exit
codes and signals.

Run by ctest (test `run`) with CONCORD (the executable), MPIEXEC and SOURCE_DIR in the
environment, under an interpreter that has h5py and numpy (Debian's /usr/bin/python3).
Every test works in its own temporary directory; runs use paths relative to it (cwd)."""
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import h5py
import numpy as np

CONCORD = os.environ.get("CONCORD", "build/bin/concord")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec.mpich")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

TIME_COLUMNS = {"time_compute", "time_comm", "time_metrics", "time_elapsed"}

# Exit statuses of `concord run` (apps/run_command.cpp).
BAD_INPUT, DIVERGED, INTERRUPTED = 2, 3, 75


# ---------------------------------------------------------------------------------------------
# Decks
# ---------------------------------------------------------------------------------------------
def base_deck(**changes):
    """A small deck (8 agents, least squares in dimension 6); changes: {"algorithm/name": ...}."""
    deck = {
        "concord": {
            "seed": 3,
            "agents": 8,
            "topology": {"name": "ring"},
            "problem": {
                "name": "least_squares",
                "data": {"source": "synthetic", "samples_per_agent": 20, "dimension": 6, "heterogeneity": 1.0},
            },
            "algorithm": {"name": "gradient_tracking", "step_size": 0.05, "iterations": 200},
            "output": {"file": "run.h5", "log_every": 10},
        }
    }
    for path, value in changes.items():
        set_path(deck, path, value)
    return deck


def set_path(deck, path, value):
    node = deck["concord"]
    keys = path.split("/")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)  # always has '.', 'e' or is inf/nan: stays a real
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    return str(v)


def to_yaml(tree, indent=0):
    out = ""
    for key, value in tree.items():
        if isinstance(value, dict):
            out += " " * indent + key + ":\n" + to_yaml(value, indent + 2)
        else:
            out += " " * indent + key + ": " + yaml_scalar(value) + "\n"
    return out


def to_xml(tree, name="concord", indent=0):
    """The Teuchos XML ParameterList form of the same deck."""
    pad = " " * indent
    out = pad + '<ParameterList name="%s">\n' % name
    for key, value in tree.items():
        if isinstance(value, dict):
            out += to_xml(value, key, indent + 2)
            continue
        kind = ("bool" if isinstance(value, bool) else "int" if isinstance(value, int)
                else "double" if isinstance(value, float) else "string")
        out += pad + '  <Parameter name="%s" type="%s" value="%s"/>\n' % (key, kind, yaml_scalar(value))
    return out + pad + "</ParameterList>\n"


def write_deck(directory, deck, name="deck.yaml"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(to_yaml(deck) if not isinstance(deck, str) else deck)
    return name


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def command(args, ranks):
    """One rank runs the executable directly (as users do); more go through mpiexec."""
    return [CONCORD, *args] if ranks == 1 else [MPIEXEC, "-n", str(ranks), CONCORD, *args]


def concord(cwd, *args, ranks=1, timeout=180):
    return subprocess.run(command(args, ranks), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def sets(**values):
    """--set arguments: sets(**{"algorithm/iterations": 10}) -> [--set, concord/algorithm/iterations=10]."""
    out = []
    for path, value in values.items():
        out += ["--set", "concord/%s=%s" % (path, yaml_scalar(value))]
    return out


# Concord's own Python reader (python/concord): the one copy of HDF5 reading in Python.
sys.path.insert(0, os.path.join(SOURCE_DIR, "python"))
from concord.files import read_checkpoint, read_trajectory  # noqa: E402  {"columns", "attrs", "snapshots", "state", ...}


def as_int(v):
    return int(np.asarray(v).reshape(-1)[0])


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot_dir(directory):
    """{file name: sha256} of every file in the directory."""
    return {name: digest(os.path.join(directory, name)) for name in sorted(os.listdir(directory))}


class RunTestCase(unittest.TestCase):
    maxDiff = None

    def tmpdir(self):
        d = tempfile.TemporaryDirectory(prefix="concord-run-")
        self.addCleanup(d.cleanup)
        return d.name

    def run_ok(self, cwd, *args, ranks=1):
        r = concord(cwd, *args, ranks=ranks)
        self.assertEqual(r.returncode, 0, "concord %s at %d rank(s) failed:\n%s\n%s" % (" ".join(args), ranks, r.stdout, r.stderr))
        return r

    def assert_bits_equal(self, a, b, what):
        a, b = np.asarray(a), np.asarray(b)
        self.assertEqual(a.shape, b.shape, what + ": shapes differ")
        self.assertEqual(a.dtype, b.dtype, what + ": types differ")
        if a.tobytes() != b.tobytes():
            diff = np.argwhere(a != b)
            self.fail("%s: not bit-identical (first differing index %s: %r vs %r)" % (
                what, diff[0] if len(diff) else "?", a[tuple(diff[0])] if len(diff) else None,
                b[tuple(diff[0])] if len(diff) else None))

    def assert_same_trajectory(self, a, b, what):
        """Every non-time column bit for bit (and the same set of columns)."""
        self.assertEqual(sorted(a["columns"]), sorted(b["columns"]), what + ": columns")
        for name in a["columns"]:
            if name not in TIME_COLUMNS:
                self.assert_bits_equal(a["columns"][name], b["columns"][name], "%s: /trajectory/%s" % (what, name))
        if "snapshots" in a or "snapshots" in b:
            self.assertIn("snapshots", a)
            self.assertIn("snapshots", b)
            self.assert_bits_equal(a["snapshot_iteration"], b["snapshot_iteration"], what + ": /snapshots/iteration")
            self.assert_bits_equal(a["snapshots"], b["snapshots"], what + ": /snapshots/x")

    def assert_one_error(self, r, *fragments):
        self.assertEqual(r.returncode, BAD_INPUT, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected exactly one error line, got:\n" + r.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        return lines[0]


# ---------------------------------------------------------------------------------------------
# 1. Outputs, and their independence of the rank count
# ---------------------------------------------------------------------------------------------
class Outputs(RunTestCase):
    def test_trajectory_and_checkpoint_at_1_2_4_ranks(self):
        iterations, log_every, snapshot_every = 40, 5, 10
        deck = base_deck(**{"algorithm/iterations": iterations, "output/log_every": log_every,
                            "output/snapshot_every": snapshot_every})
        runs = {}
        for ranks in (1, 2, 4):
            d = self.tmpdir()
            name = write_deck(d, deck)
            r = self.run_ok(d, "run", name, ranks=ranks)
            self.assertIn("done: %d iterations" % iterations, r.stdout)
            lines = r.stdout.splitlines()
            self.assertEqual(sum(l.startswith("concord ") for l in lines), 1, "one header (rank 0):\n" + r.stdout)
            self.assertEqual(sum(l.startswith("done: ") for l in lines), 1, r.stdout)
            t = read_trajectory(os.path.join(d, "run.h5"))
            c = read_checkpoint(os.path.join(d, "run.checkpoint.h5"))
            runs[ranks] = (t, c)

            self.assertEqual(as_int(t["attrs"]["ranks"]), ranks)
            self.assertEqual(as_int(t["attrs"]["agents"]), 8)
            self.assertEqual(as_int(t["attrs"]["dimension"]), 6)
            self.assertIn("step_size: 0.05", t["attrs"]["deck"])
            self.assertIn("gradient_tracking", t["attrs"]["algorithm"])
            self.assertEqual(t["attrs"]["topology"], "ring")
            it = t["columns"]["iteration"]
            self.assertEqual(len(it), iterations // log_every + 1)
            self.assertEqual(list(it), list(range(0, iterations + 1, log_every)))
            for name in ("consensus_error", "loss", "grad_norm_sq", "distance_to_solution", "time_compute", "time_comm"):
                self.assertIn(name, t["columns"])
                self.assertEqual(len(t["columns"][name]), len(it))
            self.assertTrue(np.all(np.isfinite(t["columns"]["loss"])))
            # Gradient tracking with a small step converges: the distance to x* shrinks.
            dist = t["columns"]["distance_to_solution"]
            self.assertLess(dist[-1], dist[0])
            self.assertTrue(np.all(t["columns"]["time_compute"] >= 0))

            self.assertEqual(as_int(c["attrs"]["iteration"]), iterations)
            self.assertEqual(as_int(c["attrs"]["agents"]), 8)
            self.assertEqual(as_int(c["attrs"]["dimension"]), 6)
            self.assertEqual(c["attrs"]["deck"], t["attrs"]["deck"])
            self.assertIn("x", c["state"])
            self.assertEqual(c["state"]["x"].shape, (8, 6))
            self.assertTrue(np.all(np.isfinite(c["state"]["x"])))

            # Snapshots: [snapshots, agents, dimension], the last one the final models.
            self.assertEqual(list(t["snapshot_iteration"]), list(range(0, iterations + 1, snapshot_every)))
            self.assertEqual(t["snapshots"].shape, (iterations // snapshot_every + 1, 8, 6))
            self.assert_bits_equal(t["snapshots"][-1], c["state"]["x"], "last snapshot vs checkpoint x")

        for ranks in (2, 4):
            self.assert_same_trajectory(runs[1][0], runs[ranks][0], "1 vs %d ranks" % ranks)
            self.assertEqual(sorted(runs[1][1]["state"]), sorted(runs[ranks][1]["state"]))
            for name in runs[1][1]["state"]:
                self.assert_bits_equal(runs[1][1]["state"][name], runs[ranks][1]["state"][name],
                                       "checkpoint /state/%s, 1 vs %d ranks" % (name, ranks))

    def test_xml_deck_equals_yaml_deck(self):
        deck = base_deck(**{"algorithm/name": "dsgd", "algorithm/variant": "cta", "algorithm/batch_size": 4,
                            "topology/name": "exponential", "output/overwrite": True})
        runs = []
        for name, text in (("deck.yaml", to_yaml(deck)), ("deck.xml", to_xml(deck["concord"]))):
            d = self.tmpdir()
            write_deck(d, text, name)
            self.run_ok(d, "run", name)
            runs.append(read_trajectory(os.path.join(d, "run.h5")))
        self.assert_same_trajectory(runs[0], runs[1], "YAML vs XML deck")
        # The validated deck recorded in the file is the same text.
        self.assertEqual(runs[0]["attrs"]["deck"], runs[1]["attrs"]["deck"])

    def test_summary_one_line_per_file(self):
        d = self.tmpdir()
        files = []
        for algorithm in ("gradient_tracking", "exact_diffusion"):
            name = write_deck(d, base_deck(**{"algorithm/name": algorithm, "algorithm/iterations": 20,
                                              "output/file": algorithm + ".h5"}), algorithm + ".yaml")
            self.run_ok(d, "run", name)
            files.append(algorithm + ".h5")
        r = self.run_ok(d, "summary", *files)
        for algorithm, f in zip(("gradient_tracking", "exact_diffusion"), files):
            lines = [l for l in r.stdout.splitlines() if l.startswith(f)]
            self.assertEqual(len(lines), 1, r.stdout)
            self.assertIn(algorithm, lines[0])
            self.assertIn(" 20 ", lines[0])  # the last record's iteration

    def test_deck_reference_is_committed(self):
        r = self.run_ok(self.tmpdir(), "deck", "--reference")
        path = os.path.join(SOURCE_DIR, "docs", "deck-reference.md")
        committed = None
        if os.path.exists(path):
            with open(path) as f:
                committed = f.read()
        self.assertTrue(committed == r.stdout,
                        "docs/deck-reference.md is missing or out of date: regenerate with "
                        "`build/bin/concord deck --reference > docs/deck-reference.md`")


class EvaluationSubset(RunTestCase):
    def test_metrics_on_a_fixed_subset(self):
        """output/evaluation_samples: the records' metrics on k samples per agent, the same for any
        number of ranks; the iterates do not change; k >= the agents' samples is the full data."""
        out = {}
        for k, ranks in ((0, 1), (5, 1), (5, 2), (20, 2)):
            d = self.tmpdir()
            name = write_deck(d, base_deck(**{"algorithm/iterations": 30, "output/evaluation_samples": k}))
            self.run_ok(d, "run", name, ranks=ranks)
            out[(k, ranks)] = (read_trajectory(os.path.join(d, "run.h5")),
                               read_checkpoint(os.path.join(d, "run.checkpoint.h5")))
        full, subset = out[(0, 1)][0], out[(5, 1)][0]
        self.assert_same_trajectory(subset, out[(5, 2)][0], "subset at 1 and 2 ranks")
        self.assert_same_trajectory(full, out[(20, 2)][0], "a subset of all 20 samples and the full data")
        self.assert_bits_equal(full["columns"]["consensus_error"], subset["columns"]["consensus_error"],
                               "consensus error (independent of the samples)")
        self.assertFalse(np.array_equal(full["columns"]["loss"], subset["columns"]["loss"]),
                         "the loss on 5 of 20 samples per agent should differ from the full loss")
        self.assertIn("evaluation_samples: 5", subset["attrs"]["deck"])
        for key in out:
            for state in out[(0, 1)][1]["state"]:
                self.assert_bits_equal(out[key][1]["state"][state], out[(0, 1)][1]["state"][state],
                                       "final state %s, %s" % (state, key))


class GossipAndInitialModels(RunTestCase):
    """Average consensus (algorithm gossip) and the deck's initial models."""

    def gossip_deck(self, **changes):
        deck = base_deck(**{"algorithm/name": "gossip", "algorithm/step_size": None, "problem/initial": "index",
                            "problem/data/dimension": 1, "agents": 5, "algorithm/iterations": 10,
                            "output/log_every": 1, "output/snapshot_every": 1})
        for path, value in changes.items():
            set_path(deck, path, value)
        return deck

    def test_ring_table_and_consensus_error(self):
        """x = (0, 1, 2, 3, 4) over the 5-agent ring (weights 1/3): each step is x_i <- (x_{i-1} +
        x_i + x_{i+1}) / 3, computed here independently; the average 2 is kept exactly."""
        d = self.tmpdir()
        self.run_ok(d, "run", write_deck(d, self.gossip_deck()))
        t = read_trajectory(os.path.join(d, "run.h5"))
        x = np.arange(5.0)
        for k in range(11):
            np.testing.assert_allclose(t["snapshots"][k, :, 0], x, rtol=0, atol=1e-14, err_msg="iteration %d" % k)
            self.assertAlmostEqual(t["columns"]["consensus_error"][k], np.mean((x - 2.0) ** 2), delta=1e-14)
            x = (np.roll(x, 1) + x + np.roll(x, -1)) / 3.0
        np.testing.assert_allclose(t["snapshots"][1, :, 0], [5 / 3, 1, 2, 3, 7 / 3], atol=1e-15)
        self.assertIn("gossip", t["attrs"]["algorithm"])

    def test_initial_models_do_not_depend_on_ranks(self):
        """normal: the problem's point plus per-agent draws; index: x_i = scale * i; both the same
        bits at 1 and 2 ranks, and gossip keeps the agents' average."""
        for initial in ("normal", "index"):
            with self.subTest(initial):
                runs = []
                for ranks in (1, 2):
                    d = self.tmpdir()
                    deck = self.gossip_deck(**{"agents": 6, "problem/initial": initial, "problem/initial_scale": 0.5,
                                               "problem/data/dimension": 3, "algorithm/iterations": 4})
                    self.run_ok(d, "run", write_deck(d, deck), ranks=ranks)
                    runs.append(read_trajectory(os.path.join(d, "run.h5")))
                self.assert_same_trajectory(runs[0], runs[1], "%s: 1 vs 2 ranks" % initial)
                x0 = runs[0]["snapshots"][0]
                if initial == "index":
                    self.assert_bits_equal(x0, np.repeat(0.5 * np.arange(6.0)[:, None], 3, axis=1), "x0 = 0.5 i")
                else:
                    self.assertEqual(len(np.unique(x0)), x0.size, "every agent and coordinate drawn")
                    self.assertLess(abs(np.std(x0) - 0.5), 0.35)
                np.testing.assert_allclose(runs[0]["snapshots"][-1].mean(axis=0), x0.mean(axis=0), atol=1e-14)

    def test_gossip_refuses_step_size(self):
        d = self.tmpdir()
        name = write_deck(d, self.gossip_deck(**{"algorithm/step_size": 0.1}))
        self.assert_one_error(concord(d, "run", name), "concord/algorithm/step_size", "does not apply")
        name = write_deck(d, self.gossip_deck(**{"problem/initial": "point", "problem/initial_scale": 2.0}), "b.yaml")
        self.assert_one_error(concord(d, "run", name), "concord/problem/initial_scale", "does not apply")


# ---------------------------------------------------------------------------------------------
# 2. Restarts: bit-identical to an uninterrupted run, at any rank count
# ---------------------------------------------------------------------------------------------
class Restart(RunTestCase):
    # Small: 4 ranks on a 2-core machine are slow (MPICH busy-polls), so restarts run 30 iterations.
    HALF = 30

    def check_restart(self, deck, first_ranks, restart_ranks):
        """2*HALF iterations at 1 rank vs HALF at first_ranks, then --restart at each of restart_ranks."""
        total, half = 2 * self.HALF, self.HALF
        reference = self.tmpdir()
        self.run_ok(reference, "run", write_deck(reference, base_deck(**deck, **{"algorithm/iterations": total})))
        want = read_trajectory(os.path.join(reference, "run.h5"))
        want_x = read_checkpoint(os.path.join(reference, "run.checkpoint.h5"))

        first = self.tmpdir()
        name = write_deck(first, base_deck(**deck, **{"algorithm/iterations": half}))
        self.run_ok(first, "run", name, ranks=first_ranks)
        self.assertEqual(as_int(read_checkpoint(os.path.join(first, "run.checkpoint.h5"))["attrs"]["iteration"]), half)
        for ranks in restart_ranks:
            d = os.path.join(self.tmpdir(), "restart")
            shutil.copytree(first, d)
            r = self.run_ok(d, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"algorithm/iterations": total}),
                            ranks=ranks)
            self.assertIn("restarting from run.checkpoint.h5", r.stdout)
            what = "%s: %d rank(s), then restart at %d" % (deck, first_ranks, ranks)
            got = read_trajectory(os.path.join(d, "run.h5"))
            self.assert_same_trajectory(want, got, what)
            self.assertEqual(as_int(got["attrs"]["ranks"]), ranks)
            c = read_checkpoint(os.path.join(d, "run.checkpoint.h5"))
            self.assertEqual(as_int(c["attrs"]["iteration"]), total)
            self.assertEqual(sorted(c["state"]), sorted(want_x["state"]))
            for s in c["state"]:
                self.assert_bits_equal(want_x["state"][s], c["state"][s], what + ": /state/" + s)

    def test_gradient_tracking_minibatches(self):
        self.check_restart({"algorithm/name": "gradient_tracking", "algorithm/variant": "atc", "algorithm/batch_size": 5},
                           1, (2, 4))

    def test_dsgd_time_varying_topology(self):
        # one_peer_exponential on 8 agents has 3 rounds: the restart is at iteration 30, a multiple.
        self.check_restart({"algorithm/name": "dsgd", "algorithm/variant": "cta", "algorithm/step_size": 0.02,
                            "topology/name": "one_peer_exponential", "algorithm/batch_size": 3}, 1, (2,))

    def test_dsgd_time_varying_topology_off_period(self):
        # A restart in the middle of the 3-round period and between two records: the first run
        # ends with a record of iteration 31, which an uninterrupted run does not have; the
        # restart drops it, so the trajectories match record for record.
        self.HALF = 31
        self.check_restart({"algorithm/name": "dsgd", "algorithm/variant": "cta", "algorithm/step_size": 0.02,
                            "topology/name": "one_peer_exponential", "output/log_every": 10,
                            "output/snapshot_every": 31}, 4, (1,))

    def test_exact_diffusion_full_gradients(self):
        self.check_restart({"algorithm/name": "exact_diffusion", "topology/name": "ring",
                            "output/snapshot_every": 20}, 1, (2, 4))

    def test_restart_from_earlier_checkpoint_rewrites_records(self):
        """The trajectory has records (and snapshots) past the checkpoint: they are dropped and
        rewritten identically. Also: concord/output/* (here the checkpoint file) may change."""
        deck = {"algorithm/name": "gradient_tracking", "algorithm/batch_size": 5, "output/snapshot_every": 30,
                "output/checkpoint_file": "a.h5"}
        reference = self.tmpdir()
        self.run_ok(reference, "run", write_deck(reference, base_deck(**deck, **{"algorithm/iterations": 200})))
        want = read_trajectory(os.path.join(reference, "run.h5"))
        want_x = read_checkpoint(os.path.join(reference, "a.h5"))["state"]["x"]

        d = self.tmpdir()
        name = write_deck(d, base_deck(**deck, **{"algorithm/iterations": 100}))
        self.run_ok(d, "run", name)  # a.h5 at iteration 100
        # Continue to 170 at 2 ranks, checkpointing every 50 into b.h5 (150, then 170).
        self.run_ok(d, "run", name, "--restart", "a.h5",
                    *sets(**{"algorithm/iterations": 170, "output/checkpoint_every": 50,
                             "output/checkpoint_file": "b.h5"}), ranks=2)
        self.assertEqual(as_int(read_checkpoint(os.path.join(d, "b.h5"))["attrs"]["iteration"]), 170)
        past = read_trajectory(os.path.join(d, "run.h5"))
        self.assertEqual(past["columns"]["iteration"][-1], 170)
        self.assertEqual(past["snapshot_iteration"][-1], 150)
        # Back to a.h5 (iteration 100): records 110..170 and the snapshot at 120 and 150 are redone.
        self.run_ok(d, "run", name, "--restart", "a.h5", *sets(**{"algorithm/iterations": 200}))
        got = read_trajectory(os.path.join(d, "run.h5"))
        self.assert_same_trajectory(want, got, "restart from an earlier checkpoint")
        self.assert_bits_equal(want_x, read_checkpoint(os.path.join(d, "a.h5"))["state"]["x"], "final x")


# ---------------------------------------------------------------------------------------------
# 3-5. Refusals and divergence
# ---------------------------------------------------------------------------------------------
    def test_choco_sgd_compressed(self):
        # CHOCO's state is x, x_hat and s; qsgd's random rounding is keyed by (seed, agent, k).
        self.check_restart({"algorithm/name": "choco_sgd", "algorithm/consensus_step": 0.3,
                            "algorithm/compression": {"name": "qsgd", "levels": 4}, "algorithm/batch_size": 3},
                           2, (1,))

    def test_beer_compressed_gradient_tracking(self):
        # BEER's state: x, v, the public copies h and c, their mixes s and t, the last gradient g.
        self.check_restart({"algorithm/name": "beer", "algorithm/consensus_step": 0.4,
                            "algorithm/compression": {"name": "random_k", "ratio": 0.5}, "algorithm/batch_size": 3},
                           2, (1,))

    def test_push_sum_sgd_directed(self):
        # The push-sum weights are recomputed from w^0 = 1 after the restart.
        self.check_restart({"algorithm/name": "push_sum_sgd", "topology/name": "directed_random",
                            "algorithm/step_size": 0.02}, 1, (2,))

    def test_async_dsgd_mpi_staleness_0(self):
        # The checkpoint holds x alone; the restart primes the exchange with it. max_staleness 0 is
        # DSGD (cta) bit for bit, so the 1-rank reference applies.
        self.check_restart({"algorithm/name": "async_dsgd_mpi", "algorithm/max_staleness": 0,
                            "algorithm/batch_size": 3, "parallel/straggler_ranks": [0]}, 2, (1, 2))

    def test_dsgd_random_matching(self):
        # A matching drawn anew from (seed, k) every iteration.
        self.check_restart({"algorithm/name": "dsgd", "topology/name": "random_matching",
                            "algorithm/step_size": 0.02}, 2, (1,))


class AsynchronousRanks(RunTestCase):
    """async_dsgd_mpi over MPI: synchronous DSGD bit for bit with max_staleness 0 (a straggler rank
    or not), restarts, the activity line, time_elapsed, straggler emulation and refusals."""

    def test_staleness_0_is_dsgd_cta_with_a_straggler(self):
        ref = self.tmpdir()
        self.run_ok(ref, "run", write_deck(ref, base_deck(**{"algorithm/name": "dsgd", "algorithm/variant": "cta",
                                                             "algorithm/iterations": 60})))
        want = read_trajectory(os.path.join(ref, "run.h5"))
        d = self.tmpdir()
        deck = base_deck(**{"algorithm/name": "async_dsgd_mpi", "algorithm/max_staleness": 0,
                            "algorithm/iterations": 60, "parallel/straggler_ranks": [1],
                            "parallel/straggler_slowdown": 3})
        r = self.run_ok(d, "run", write_deck(d, deck), ranks=2)
        self.assertIn("async_dsgd_mpi (asynchronous over MPI: max staleness 0 ticks, straggler ranks [1] x3)", r.stdout)
        self.assertIn("async_dsgd_mpi: updates per rank 60 to 60 (ticks 60)", r.stdout)
        got = read_trajectory(os.path.join(d, "run.h5"))
        self.assert_same_trajectory(want, got, "async_dsgd_mpi, max_staleness 0, vs dsgd cta")
        elapsed = got["columns"]["time_elapsed"]
        self.assertEqual(elapsed[0], 0.0)
        self.assertTrue(np.all(np.diff(elapsed) >= 0), elapsed)

    def test_straggler_with_staleness_skips_ticks_and_keeps_time(self):
        d = self.tmpdir()
        deck = base_deck(**{"algorithm/name": "async_dsgd_mpi", "algorithm/max_staleness": 6,
                            "algorithm/iterations": 400, "algorithm/step_size": 0.02, "output/log_every": 100,
                            "parallel/straggler_ranks": [1], "parallel/straggler_slowdown": 4,
                            "problem/data/samples_per_agent": 400, "problem/data/dimension": 60})
        name = write_deck(d, deck)
        r = self.run_ok(d, "run", name, ranks=2)
        m = re.search(r"async_dsgd_mpi: updates per rank (\d+) to (\d+) \(ticks (\d+)\), waiting per rank at most", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        fewest, most, ticks = (int(g) for g in m.groups())
        self.assertEqual(ticks, 400)
        self.assertLessEqual(fewest, most)
        self.assertLessEqual(most, ticks)
        # Every update is at most max_staleness + 1 ticks after the previous one.
        self.assertGreaterEqual(fewest, ticks // 7)
        t = read_trajectory(os.path.join(d, "run.h5"))
        # bytes_sent counts the updates made: 60 values to 2 neighbours per agent and update.
        self.assertEqual(t["columns"]["bytes_sent"][-1], 8 * 60 * 2 * (fewest + most) / 2)
        self.assertLess(t["columns"]["distance_to_solution"][-1], 0.5 * t["columns"]["distance_to_solution"][0])
        # A restart continues the clock of the checkpoint's last record.
        first_end = t["columns"]["time_elapsed"][-1]
        self.assertGreater(first_end, 0.0)
        self.run_ok(d, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"algorithm/iterations": 600}), ranks=2)
        t2 = read_trajectory(os.path.join(d, "run.h5"))
        self.assertEqual(list(t2["columns"]["iteration"]), [0, 100, 200, 300, 400, 500, 600])
        self.assert_bits_equal(t2["columns"]["time_elapsed"][:5], t["columns"]["time_elapsed"], "records before the restart")
        self.assertGreaterEqual(t2["columns"]["time_elapsed"][5], first_end)

    def test_refusals(self):
        d = self.tmpdir()
        cases = [
            ({"algorithm/name": "async_dsgd_mpi", "topology/name": "one_peer_exponential"},
             ("async_dsgd_mpi", "static topology")),
            ({"algorithm/name": "async_dsgd_mpi", "algorithm/max_staleness": -1},
             ("concord/algorithm/max_staleness",)),
            ({"algorithm/name": "dsgd", "parallel/straggler_ranks": [2]},
             ("concord/parallel/straggler_ranks", "rank 2 does not exist", "2 ranks")),
            ({"algorithm/name": "dsgd", "parallel/straggler_slowdown": 0.5},
             ("concord/parallel/straggler_slowdown",)),
        ]
        for changes, fragments in cases:
            with self.subTest(changes=changes):
                r = concord(d, "run", write_deck(d, base_deck(**changes)), ranks=2)
                self.assert_one_error(r, *fragments)
                self.assertFalse(os.path.exists(os.path.join(d, "run.h5")))


class CompressedAndDirected(RunTestCase):
    def test_bytes_sent_and_traffic_header(self):
        d = self.tmpdir()
        deck = base_deck(**{"algorithm/name": "choco_sgd", "algorithm/consensus_step": 0.3,
                            "algorithm/compression": {"name": "top_k", "ratio": 0.34}, "algorithm/iterations": 40})
        r = self.run_ok(d, "run", write_deck(d, deck))
        # d = 6, k = round(0.34 * 6) = 2: 2 values and 2 indices (24 bytes) to each of the ring's 2 neighbours.
        self.assertIn("traffic:   48 bytes sent per agent per iteration", r.stdout)
        self.assertIn("top_k (k = 2 of 6, 24 bytes per row instead of 48)", r.stdout)
        t = read_trajectory(os.path.join(d, "run.h5"))
        self.assert_bits_equal(t["columns"]["bytes_sent"], 48.0 * t["columns"]["iteration"], "bytes_sent")
        self.assertEqual(t["attrs"]["bytes_per_agent_per_iteration"], "48")
        # Uncompressed DSGD on the same graph: 6 doubles to 2 neighbours.
        d2 = self.tmpdir()
        self.run_ok(d2, "run", write_deck(d2, base_deck(**{"algorithm/name": "dsgd", "algorithm/iterations": 40})))
        t2 = read_trajectory(os.path.join(d2, "run.h5"))
        self.assert_bits_equal(t2["columns"]["bytes_sent"], 96.0 * t2["columns"]["iteration"], "dsgd bytes_sent")

    def test_refusals(self):
        d = self.tmpdir()
        cases = [
            ({"algorithm/name": "dsgd", "algorithm/compression": {"name": "top_k"}},
             ("concord/algorithm/compression", "does not apply")),
            ({"algorithm/name": "choco_sgd", "algorithm/consensus_step": 0.5,
              "algorithm/compression": {"name": "top_kk"}},
             ("concord/algorithm/compression/name", "top_k")),
            ({"algorithm/name": "choco_sgd", "algorithm/consensus_step": 0.5,
              "algorithm/compression": {"name": "top_k", "ratio": 1.5}},
             ("concord/algorithm/compression/ratio",)),
            ({"algorithm/name": "choco_sgd", "algorithm/compression": {"name": "top_k"}},
             ("concord/algorithm/consensus_step", "missing required parameter")),
            ({"algorithm/name": "choco_sgd", "algorithm/consensus_step": 0.5, "topology/name": "one_peer_exponential"},
             ("choco_sgd", "static topology")),
            ({"algorithm/name": "dsgd", "topology/name": "directed_random"},
             ("dsgd", "doubly-stochastic", "column-stochastic", "push_sum_sgd")),
            ({"algorithm/name": "push_pull", "topology/name": "random_one_peer_exponential"},
             ("push_pull", "drawn anew")),
        ]
        for changes, fragments in cases:
            with self.subTest(changes=changes):
                r = concord(d, "run", write_deck(d, base_deck(**changes)))
                self.assert_one_error(r, *fragments)
                self.assertFalse(os.path.exists(os.path.join(d, "run.h5")))


class Refusals(RunTestCase):
    def test_checkpoint_does_not_match_deck(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 30}))
        self.run_ok(d, "run", name)
        before = snapshot_dir(d)
        for path, value in (("agents", 6), ("algorithm/step_size", 0.07), ("topology/name", "exponential")):
            r = concord(d, "run", name, "--restart", "run.checkpoint.h5",
                        *sets(**{path: value, "algorithm/iterations": 60}))
            self.assertEqual(r.returncode, BAD_INPUT, r.stdout + r.stderr)
            self.assertIn("does not match the deck", r.stderr)
            self.assertIn("concord/" + path, r.stderr)
            self.assertEqual(snapshot_dir(d), before, "a refused restart changed files")
        # Fewer iterations than the checkpoint has done is refused as well.
        r = concord(d, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"algorithm/iterations": 20}))
        self.assertEqual(r.returncode, BAD_INPUT, r.stdout + r.stderr)
        self.assertIn("concord/algorithm/iterations", r.stderr)
        self.assertEqual(snapshot_dir(d), before)

    def test_overwrite(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 30}))
        self.run_ok(d, "run", name)
        before = snapshot_dir(d)
        r = concord(d, "run", name, *sets(**{"algorithm/step_size": 0.01}), ranks=2)
        line = self.assert_one_error(r, "run.h5", "concord/output/overwrite")
        self.assertIn("exists", line)
        self.assertEqual(snapshot_dir(d), before, "the refused run changed files")
        self.assertNotIn("iter ", r.stdout)
        # Only the checkpoint exists: still refused, naming it.
        os.remove(os.path.join(d, "run.h5"))
        r = concord(d, "run", name)
        self.assert_one_error(r, "run.checkpoint.h5", "concord/output/overwrite")
        self.assertFalse(os.path.exists(os.path.join(d, "run.h5")))
        # Allowed with overwrite: the new run's files replace the old.
        self.run_ok(d, "run", name, *sets(**{"algorithm/step_size": 0.01, "output/overwrite": True}))
        t = read_trajectory(os.path.join(d, "run.h5"))
        self.assertIn("step_size: 0.01", t["attrs"]["deck"])
        self.assertEqual(len(t["columns"]["iteration"]), 4)

    def test_bad_decks(self):
        cases = [
            ("misspelled key", base_deck(**{"algorithm/step_sise": 0.1}), 2,
             ["concord/algorithm/step_sise", "step_size"]),
            ("unknown topology", base_deck(**{"topology/name": "rign"}), 1, ["concord/topology/name", "'ring'"]),
            ("unknown algorithm", base_deck(**{"algorithm/name": "gradient_trackin"}), 1, ["'gradient_tracking'"]),
            ("two top-level keys", to_yaml(base_deck()) + "other:\n  seed: 1\n", 1, ["exactly one top-level", "other"]),
            ("wrong type", base_deck(**{"agents": "eight"}), 1, ["concord/agents", "integer"]),
            ("missing required", base_deck(**{"algorithm/step_size": None}), 1, ["concord/algorithm/step_size", "required"]),
            ("not applicable", base_deck(**{"algorithm/period": 5}), 1, ["concord/algorithm/period", "does not apply"]),
        ]
        for label, deck, ranks, fragments in cases:
            with self.subTest(label):
                d = self.tmpdir()
                name = write_deck(d, deck)
                line = self.assert_one_error(concord(d, "run", name, ranks=ranks), *fragments)
                self.assertEqual(os.listdir(d), [name], "%s: files were created" % label)
                if label == "misspelled key":
                    self.assertIn("did you mean 'step_size'", line)
        # --set typo, and --check: validation only, nothing written.
        d = self.tmpdir()
        name = write_deck(d, base_deck())
        self.assert_one_error(concord(d, "run", name, "--set", "concord/algorithm/stepsize=0.1"),
                              "concord/algorithm/stepsize", "step_size")
        r = self.run_ok(d, "run", name, "--check")
        self.assertIn("valid", r.stdout)
        self.assertEqual(os.listdir(d), [name])

    def check_divergence(self, every, outputs, pattern):
        """A diverging run stops with `pattern` (groups: what, iteration) and keeps a good checkpoint."""
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/step_size": 50.0, "algorithm/iterations": 2000,
                                          "output/checkpoint_every": every, **outputs}))
        r = concord(d, "run", name)
        self.assertEqual(r.returncode, DIVERGED, r.stdout + r.stderr)
        m = re.search(pattern, r.stderr)
        self.assertIsNotNone(m, r.stderr)
        what, diverged = m.group(1), int(m.group(2))
        self.assertLess(diverged, 2000)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        t = read_trajectory(os.path.join(d, "run.h5"))
        it = [int(k) for k in t["columns"]["iteration"]]
        log_every = outputs["output/log_every"]
        self.assertEqual(it, list(range(0, diverged, log_every)))
        for column in ("consensus_error", "loss", "grad_norm_sq"):
            self.assertTrue(np.all(np.isfinite(t["columns"][column])), column)
        want = (diverged - 1) // every * every
        self.assertGreater(want, 0, "the run diverged before its first checkpoint: make the test diverge later")
        c = read_checkpoint(os.path.join(d, "run.checkpoint.h5"))
        self.assertEqual(as_int(c["attrs"]["iteration"]), want)
        self.assertTrue(np.all(np.isfinite(c["state"]["x"])))
        self.assertIn("last good checkpoint is run.checkpoint.h5 (iteration %d)" % want, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "run.checkpoint.h5.tmp")))
        # The same deck restarted from it diverges again at the same iteration, on another rank
        # count; with checkpoints now going elsewhere, the last good one is still the restart file.
        r = concord(d, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"output/checkpoint_file": "b.h5"}),
                    ranks=2)
        self.assertEqual(r.returncode, DIVERGED, r.stdout + r.stderr)
        self.assertIn("%s at iteration %d" % (what, diverged), r.stderr)
        self.assertIn("last good checkpoint is run.checkpoint.h5 (iteration %d)" % want, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "b.h5")))
        self.assertEqual([int(k) for k in read_trajectory(os.path.join(d, "run.h5"))["columns"]["iteration"]], it)
        return what

    def test_diverging_metrics_stop_the_run(self):
        # Records every iteration: the loss overflows (models huge but finite) before any model
        # entry does, and that already stops the run.
        what = self.check_divergence(4, {"output/log_every": 1},
                                     r"diverged: (the (?:loss|consensus_error|grad_norm_sq) is \S+) at iteration (\d+)")
        self.assertRegex(what, r"(inf|nan)$")

    def test_diverging_models_name_the_agent(self):
        # Records rarely, models checked every iteration: the first non-finite model is named.
        what = self.check_divergence(4, {"output/log_every": 1000, "output/check_finite_every": 1},
                                     r"diverged: (agent \d+'s model is not finite \(NaN or Inf\)) at iteration (\d+)")
        self.assertTrue(0 <= int(re.search(r"\d+", what).group(0)) < 8)


# ---------------------------------------------------------------------------------------------
# 6. SIGTERM: a checkpoint, exit 75, and a restart bit-identical to an uninterrupted run
# ---------------------------------------------------------------------------------------------
class HostIsa(RunTestCase):
    """CONCORD_HOST_ISA caps the host kernels' vector extension: the same trajectory bits under every
    cap (the circulant mixing kernel and the grouped reproducible sum need AVX-512, the row-block
    mixing kernel AVX2, the MLP's agent-lanes kernels take 8, 4 or 1 agents per vector), and a bad
    value is refused before any work."""

    def run_with(self, d, name, isa):
        env = dict(os.environ)
        env.pop("CONCORD_HOST_ISA", None)
        if isa:
            env["CONCORD_HOST_ISA"] = isa
        return subprocess.run(command(["run", name, *sets(**{"output/overwrite": True})], 1), cwd=d,
                              capture_output=True, text=True, timeout=180, env=env)

    def test_same_bits_under_every_cap(self):
        mlp = {"agents": 11, "problem/name": "mlp", "problem/hidden": [9], "problem/data": {
                   "source": "synthetic", "samples": 400, "features": 13, "classes": 3},
               "algorithm/name": "dsgd", "algorithm/batch_size": 6, "algorithm/step_size": 0.1,
               "algorithm/iterations": 60}
        for label, changes in (("dsgd, exponential", {"algorithm/name": "dsgd", "topology/name": "exponential"}),
                               ("psgd, 16 coordinates", {"algorithm/name": "psgd",
                                                         "problem/data/dimension": 16}),
                               # the agent-lanes MLP kernels: 8 + 3, 2 x 4 + 3 and 11 x 1 agents
                               ("mlp minibatch, 11 agents", mlp)):
            with self.subTest(label):
                d = self.tmpdir()
                name = write_deck(d, base_deck(**changes))
                runs = {}
                for isa in ("", "avx2", "sse2"):
                    r = self.run_with(d, name, isa)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    runs[isa] = read_trajectory(os.path.join(d, "run.h5"))
                for isa in ("avx2", "sse2"):
                    self.assert_same_trajectory(runs[""], runs[isa], "%s, CONCORD_HOST_ISA=%s" % (label, isa))

    def test_bad_value_is_refused(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck())
        line = self.assert_one_error(self.run_with(d, name, "avx1024"), "CONCORD_HOST_ISA", "avx1024", "sse2, avx2, avx512")
        self.assertNotIn("Traceback", line)
        self.assertEqual(os.listdir(d), [name])


class Interrupt(RunTestCase):
    LONG = 5_000_000

    def interrupt(self, d, name, ranks, extra=()):
        """Starts a long run; sends SIGTERM about a second after its first progress line (printed
        once the trajectory exists and the first record is written, just before the loop)."""
        proc = subprocess.Popen(command(["run", name, *extra], ranks), cwd=d, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        out, err, started = [], [], threading.Event()

        def read_stdout():
            for line in proc.stdout:
                out.append(line)
                if line.startswith("iter "):
                    started.set()
            started.set()  # the run ended: stop waiting

        def read_stderr():
            err.extend(proc.stderr)

        readers = [threading.Thread(target=read_stdout, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
        for t in readers:
            t.start()
        try:
            self.assertTrue(started.wait(120), "no progress line after 120 s")
            self.assertIsNone(proc.poll(), "the run ended early:\n" + "".join(out + err))
            self.assertTrue(os.path.exists(os.path.join(d, "run.h5")))
            time.sleep(1.0)
            self.assertIsNone(proc.poll(), "the run ended before it was interrupted")
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for t in readers:
                t.join(timeout=10)
        return proc.returncode, "".join(out), "".join(err)

    def check(self, ranks, restart_ranks):
        # A record every iteration: the interrupted iteration has one, which must survive the
        # interruption and the restart (the trajectories are compared record for record). The
        # outputs are chosen with --set: the printed continuation must keep them.
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": self.LONG, "output/log_every": 1,
                                          "algorithm/batch_size": 5, "output/file": "deck-default.h5"}))
        outputs = sets(**{"output/file": "run.h5", "output/checkpoint_file": "run.checkpoint.h5"})
        rc, out, err = self.interrupt(d, name, ranks, outputs)
        if ranks == 1:
            self.assertEqual(rc, INTERRUPTED, out + err)
        # Under mpiexec, hydra forwards SIGTERM to the ranks, which checkpoint and exit 75, but
        # mpiexec's own exit status then reflects the signal it got (often 0 or 143), not the
        # ranks' 75: check the message and the checkpoint instead.
        m = re.search(r"interrupted by SIGTERM after iteration (\d+); checkpoint written to run\.checkpoint\.h5", err)
        self.assertIsNotNone(m, "rc %s\n%s\n%s" % (rc, out, err))
        k = int(m.group(1))
        c = read_checkpoint(os.path.join(d, "run.checkpoint.h5"))
        self.assertEqual(as_int(c["attrs"]["iteration"]), k)
        self.assertGreater(k, 0)
        self.assertLess(k, self.LONG)
        # The printed continuation is the whole command: pasted as it is, it continues the same files.
        hint = re.search(r"Continue with: (.*)$", err, re.M)
        self.assertIsNotNone(hint, err)
        continuation = shlex.split(hint.group(1))
        self.assertEqual(continuation, ["concord", "run", name, *outputs, "--restart", "run.checkpoint.h5"])
        self.assertFalse(os.path.exists(os.path.join(d, "deck-default.h5")))

        total = k + 100
        r = self.run_ok(d, *continuation[1:], *sets(**{"algorithm/iterations": total}), ranks=restart_ranks)
        self.assertFalse(os.path.exists(os.path.join(d, "deck-default.h5")), "the continuation wrote another file")
        self.assertIn("restarting from run.checkpoint.h5", r.stdout)
        reference = self.tmpdir()
        self.run_ok(reference, "run", write_deck(reference, base_deck(**{
            "algorithm/iterations": total, "output/log_every": 1, "algorithm/batch_size": 5})))
        want, got = (read_checkpoint(os.path.join(x, "run.checkpoint.h5")) for x in (reference, d))
        self.assertEqual(as_int(got["attrs"]["iteration"]), total)
        for s in want["state"]:
            self.assert_bits_equal(want["state"][s], got["state"][s], "interrupted at %d, /state/%s" % (k, s))
        self.assert_same_trajectory(read_trajectory(os.path.join(reference, "run.h5")),
                                    read_trajectory(os.path.join(d, "run.h5")), "interrupted at %d" % k)

    def test_sigterm_one_rank(self):
        self.check(1, 1)

    def test_sigterm_two_ranks_via_mpiexec(self):
        self.check(2, 1)


# ---------------------------------------------------------------------------------------------
# 7. Restarts never continue a trajectory that does not reach the checkpoint
# ---------------------------------------------------------------------------------------------
class RestartTrajectory(RunTestCase):
    def first_run(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 40, "output/log_every": 10}))
        self.run_ok(d, "run", name)
        return d, name

    def test_lost_record_is_refused(self):
        """A record lost in a crash (the checkpoint's own iteration): the restart refuses with one
        line and changes nothing, instead of finishing with records [0, 10, 20, 30, 50, 60]."""
        d, name = self.first_run()
        with h5py.File(os.path.join(d, "run.h5"), "r+") as f:
            for column in f["trajectory"]:
                f["trajectory"][column].resize((4,))
        before = snapshot_dir(d)
        r = concord(d, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"algorithm/iterations": 60}))
        self.assert_one_error(r, "run.h5", "does not reach the checkpoint", "iteration 40", "iteration 30",
                              "--new-trajectory")
        self.assertEqual(snapshot_dir(d), before, "a refused restart changed files")
        # Explicitly into a new trajectory: it starts at the checkpoint's iteration.
        r = self.run_ok(d, "run", name, "--restart", "run.checkpoint.h5", "--new-trajectory",
                        *sets(**{"algorithm/iterations": 60, "output/file": "continued.h5"}))
        self.assertIn("a new trajectory continued.h5 holds the checkpoint's 5 records (iterations 0 to 40)", r.stdout)
        # Nothing lost: the records the damaged file lacked come from the checkpoint.
        t = read_trajectory(os.path.join(d, "continued.h5"))
        self.assertEqual(list(t["columns"]["iteration"]), [0, 10, 20, 30, 40, 50, 60])
        reference = self.tmpdir()
        self.run_ok(reference, "run", write_deck(reference, base_deck(**{"algorithm/iterations": 60,
                                                                          "output/log_every": 10})))
        self.assert_same_trajectory(read_trajectory(os.path.join(reference, "run.h5")), t, "rebuilt from the checkpoint")

    def test_missing_trajectory_is_refused(self):
        d, name = self.first_run()
        os.remove(os.path.join(d, "run.h5"))
        before = snapshot_dir(d)
        r = concord(d, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"algorithm/iterations": 60}))
        self.assert_one_error(r, "trajectory run.h5 does not exist", "--new-trajectory", "up to iteration 40")
        self.assertEqual(snapshot_dir(d), before)
        # --new-trajectory never replaces an existing file without overwrite.
        shutil.copy(os.path.join(d, "run.checkpoint.h5"), os.path.join(d, "other.h5"))
        r = concord(d, "run", name, "--restart", "run.checkpoint.h5", "--new-trajectory",
                    *sets(**{"algorithm/iterations": 60, "output/file": "other.h5"}))
        self.assert_one_error(r, "other.h5 exists", "--new-trajectory")
        r = concord(d, "run", name, "--new-trajectory")
        self.assert_one_error(r, "--new-trajectory applies to a restart only")

    def test_time_columns_only_when_measured(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 20, "output/time_phases": False}))
        self.run_ok(d, "run", name)
        self.assertFalse(TIME_COLUMNS & set(read_trajectory(os.path.join(d, "run.h5"))["columns"]))
        self.run_ok(d, "run", name, *sets(**{"output/time_phases": True, "output/file": "timed.h5"}))
        t = read_trajectory(os.path.join(d, "timed.h5"))
        self.assertEqual(TIME_COLUMNS & set(t["columns"]), TIME_COLUMNS)
        self.assertTrue(np.all(t["columns"]["time_compute"][1:] > 0), t["columns"]["time_compute"])

    def test_thread_count_by_work_and_override(self):
        """A tiny deck runs on one thread whatever OMP_NUM_THREADS says (concord/parallel/threads: 0);
        a count in the deck is obeyed up to the pool; the trajectories are bit-identical."""
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 30, "output/snapshot_every": 10}))
        env = dict(os.environ, OMP_NUM_THREADS="2")
        runs = {}
        for label, extra in (("auto", []), ("two", ["--set", "concord/parallel/threads=2"]),
                             ("many", ["--set", "concord/parallel/threads=64"])):
            r = subprocess.run([CONCORD, "run", name, "--set", "concord/output/file=%s.h5" % label, *extra], cwd=d,
                               capture_output=True, text=True, timeout=300, env=env)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            line = next(l for l in r.stdout.splitlines() if l.strip().startswith("threads:"))
            runs[label] = (line, read_trajectory(os.path.join(d, "%s.h5" % label)))
        # 8 agents x 6 coordinates x 20 samples per step: far below the single-thread threshold.
        self.assertIn("1 of 2 per rank (automatic: 960 multiply-adds per step, below 65536)", runs["auto"][0])
        self.assertIn("2 of 2 per rank (concord/parallel/threads: 2)", runs["two"][0])
        self.assertIn("2 of 2 per rank (concord/parallel/threads: 64)", runs["many"][0])
        for label in ("two", "many"):
            self.assert_same_trajectory(runs["auto"][1], runs[label][1], "automatic vs " + label)

    def test_time_metrics_and_a_rate_without_them(self):
        """time_metrics is each record's evaluation time; the progress rate leaves it out. The deck makes
        the evaluation (f and its gradient at the average over 8 x 20000 samples) far dearer than the
        iterations (minibatches of 1 sample), so a rate that counted it would be several times lower."""
        d = self.tmpdir()
        iterations = 200
        deck = base_deck(**{"algorithm/name": "dsgd", "algorithm/step_size": 0.01, "algorithm/iterations": iterations,
                            "algorithm/batch_size": 1, "problem/data/samples_per_agent": 20000,
                            "problem/data/dimension": 10, "output/log_every": 2})
        name = write_deck(d, deck)
        t0 = time.monotonic()
        r = self.run_ok(d, "run", name)
        wall = time.monotonic() - t0
        t = read_trajectory(os.path.join(d, "run.h5"))
        self.assertEqual(TIME_COLUMNS & set(t["columns"]), TIME_COLUMNS)
        metrics = t["columns"]["time_metrics"]
        self.assertEqual(len(metrics), iterations // 2 + 1)
        self.assertTrue(np.all(metrics > 0), metrics)  # every record, the first one too
        self.assertLess(metrics.sum(), wall)
        # The last progress line: "... | R it/s  ETA 0:00"; the done line gives the evaluation's share.
        last = [l for l in r.stdout.splitlines() if l.startswith("iter ")][-1]
        m = re.search(r"\| (\d+) it/s  ETA (\S+)  \| compute \S+ \S+ comm \S+ \S+ per it$", last)
        self.assertIsNotNone(m, last)
        rate = float(m.group(1))
        self.assertEqual(m.group(2), "0:00")
        self.assertRegex(r.stdout, r"done: %d iterations in \S+ \([0-9.]+ s, of which [0-9.]+ s evaluating the records\)"
                         % iterations)
        # The iterations proper took iterations / rate seconds: at least their measured compute and
        # communication phases, and well below the evaluation (a rate counting it would be below
        # iterations / sum(time_metrics)).
        it = t["columns"]["iteration"]
        phases = np.sum((t["columns"]["time_compute"][1:] + t["columns"]["time_comm"][1:]) * np.diff(it))
        self.assertGreaterEqual(iterations / rate, 0.9 * phases, (rate, phases))
        self.assertGreater(rate * metrics.sum() / iterations, 2.0,
                           "the rate %s it/s counts the evaluation (%.3f s for %d iterations)" % (rate, metrics.sum(), iterations))


# ---------------------------------------------------------------------------------------------
# 8. Values typed as text: lists separated by spaces are refused, never merged
# ---------------------------------------------------------------------------------------------
class TextValues(RunTestCase):
    def test_space_separated_hops(self):
        d = self.tmpdir()
        deck = base_deck(**{"topology/name": "equi_static", "topology/hops": "1 3", "algorithm/iterations": 10})
        name = write_deck(d, deck)
        for args in (["run", name], ["run", name, "--set", "concord/topology/hops=2 1"],
                     ["run", name, "--set", "concord/topology/hops=[1 3]"]):
            r = concord(d, *args)
            self.assert_one_error(r, "concord/topology")
        r = concord(d, "run", name)
        self.assertIn("has a space inside", r.stderr)
        # The list forms agree with each other.
        runs = []
        for value in ("1,3", "[1, 3]", " 1 , 3 "):
            r = self.run_ok(d, "run", name, "--set", "concord/topology/hops=" + value,
                            "--set", "concord/output/overwrite=true")
            runs.append(read_trajectory(os.path.join(d, "run.h5")))
        for other in runs[1:]:
            self.assert_same_trajectory(runs[0], other, "hops written as lists")

    def test_numbers_with_spaces_are_not_numbers(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck())
        r = concord(d, "run", name, "--set", "concord/agents=1 6")
        self.assert_one_error(r, "concord/agents", "expected an integer")
        r = concord(d, "run", name, "--set", "concord/algorithm/step_size=0.05abc")
        self.assert_one_error(r, "concord/algorithm/step_size", "expected a real number")


# ---------------------------------------------------------------------------------------------
# 9. concord summary: trajectories and checkpoints, algorithm variants, JSON, unreadable files
# ---------------------------------------------------------------------------------------------
class Summary(RunTestCase):
    def test_glob_with_checkpoints_and_variants(self):
        d = self.tmpdir()
        for variant in ("atc", "cta"):
            name = write_deck(d, base_deck(**{"algorithm/name": "dsgd", "algorithm/variant": variant,
                                              "algorithm/iterations": 20, "output/file": "run-%s.h5" % variant}),
                              variant + ".yaml")
            self.run_ok(d, "run", name)
        files = sorted(f for f in os.listdir(d) if f.startswith("run-") and f.endswith(".h5"))
        self.assertEqual(len(files), 4, files)  # two trajectories, two checkpoints (the docs' glob)
        r = self.run_ok(d, "summary", *files)
        rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
        self.assertEqual(sorted(rows), files)
        for variant in ("atc", "cta"):
            self.assertIn("trajectory", rows["run-%s.h5" % variant])
            self.assertIn("dsgd (%s)" % variant, rows["run-%s.h5" % variant])
            self.assertIn("checkpoint", rows["run-%s.checkpoint.h5" % variant])
            self.assertIn("dsgd (%s)" % variant, rows["run-%s.checkpoint.h5" % variant])
        j = json.loads(self.run_ok(d, "summary", "--json", *files).stdout)
        self.assertEqual([x["file"] for x in j], files)
        t = read_trajectory(os.path.join(d, "run-atc.h5"))
        atc = j[files.index("run-atc.h5")]
        self.assertEqual((atc["kind"], atc["algorithm"], atc["iteration"], atc["records"]), ("trajectory", "dsgd (atc)", 20, 3))
        self.assertEqual(atc["last"]["loss"], float(t["columns"]["loss"][-1]))
        c = j[files.index("run-atc.checkpoint.h5")]
        self.assertEqual((c["kind"], c["iteration"], c["agents"]), ("checkpoint", 20, 8))

    def test_timing_csv_and_progress_split(self):
        """--timing totals are the trajectory's time columns weighted by the iterations between
        records; --csv prints the same numbers in full precision; --json carries them too; progress
        lines show the compute / communication split."""
        import csv
        import io
        d = self.tmpdir()
        deck = base_deck(**{"algorithm/name": "dsgd", "algorithm/iterations": 60, "output/log_every": 15,
                            "output/progress_every": 15})
        r = self.run_ok(d, "run", write_deck(d, deck), ranks=2)
        progress = [l for l in r.stdout.splitlines() if l.startswith("iter ")]
        self.assertRegex(progress[-1], r"\| compute [0-9.]+ (ns|µs|ms|s) comm [0-9.]+ (ns|µs|ms|s) per it$")
        self.assertNotIn("compute", progress[0])  # iteration 0: no iterations timed yet
        t = read_trajectory(os.path.join(d, "run.h5"))["columns"]
        it = t["iteration"]
        compute = float(np.sum(t["time_compute"][1:] * np.diff(it)))
        comm = float(np.sum(t["time_comm"][1:] * np.diff(it)))
        metrics = float(np.sum(t["time_metrics"]))
        elapsed = float(t["time_elapsed"][-1])
        rows = list(csv.DictReader(io.StringIO(self.run_ok(d, "summary", "--timing", "--csv", "run.h5").stdout)))
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual((row["file"], row["ranks"], row["agents"], row["iter"]), ("run.h5", "2", "8", "60"))
        self.assertAlmostEqual(float(row["compute ms/it"]), 1e3 * compute / 60, delta=1e-12)
        self.assertAlmostEqual(float(row["comm ms/it"]), 1e3 * comm / 60, delta=1e-12)
        self.assertAlmostEqual(float(row["metrics s"]), metrics, delta=1e-15)
        self.assertEqual(float(row["elapsed s"]), elapsed)
        self.assertAlmostEqual(float(row["it/s"]), 60 / elapsed, delta=1e-9 * 60 / elapsed)
        self.assertAlmostEqual(float(row["comm %"]), 100 * comm / (compute + comm), delta=1e-9)
        self.assertEqual(float(row["bytes/agent"]), float(t["bytes_sent"][-1]))
        j = json.loads(self.run_ok(d, "summary", "--json", "run.h5").stdout)[0]
        self.assertEqual(j["ranks"], 2)
        self.assertEqual(j["timing"]["iterations"], 60)
        self.assertEqual(j["timing"]["elapsed_s"], elapsed)
        self.assertAlmostEqual(j["timing"]["compute_s"], compute, delta=1e-12)
        # The aligned table has the same columns; the plain table as CSV has the last record exactly.
        table = self.run_ok(d, "summary", "--timing", "run.h5").stdout.splitlines()
        self.assertTrue(table[0].startswith("file") and "it/s" in table[0] and "comm ms/it" in table[0], table)
        plain = list(csv.DictReader(io.StringIO(self.run_ok(d, "summary", "--csv", "run.h5", "run.checkpoint.h5").stdout)))
        self.assertEqual([p["kind"] for p in plain], ["trajectory", "checkpoint"])
        self.assertEqual(float(plain[0]["loss"]), float(t["loss"][-1]))
        self.assertEqual(plain[1]["loss"], "")  # a checkpoint has no metrics
        # --csv and --json exclude each other.
        self.assertEqual(concord(d, "summary", "--csv", "--json", "run.h5").returncode != 0, True)

    def test_unreadable_file_does_not_stop_the_others(self):
        d = self.tmpdir()
        self.run_ok(d, "run", write_deck(d, base_deck(**{"algorithm/iterations": 10})))
        with open(os.path.join(d, "notes.h5"), "w") as f:
            f.write("not HDF5")
        r = concord(d, "summary", "notes.h5", "run.h5", "run.checkpoint.h5")
        self.assertEqual(r.returncode, BAD_INPUT, r.stdout + r.stderr)
        self.assertEqual([l.split()[0] for l in r.stdout.splitlines()[1:]], ["run.h5", "run.checkpoint.h5"])
        self.assertEqual(len(r.stderr.strip().splitlines()), 2, r.stderr)
        self.assertIn("notes.h5", r.stderr)


class Plot(RunTestCase):
    """concord plot: figures from trajectories through the Python package (matplotlib)."""

    def test_figures_and_refusals(self):
        d = self.tmpdir()
        for name in ("dsgd", "gradient_tracking"):
            self.run_ok(d, "run", write_deck(d, base_deck(**{"algorithm/name": name, "algorithm/iterations": 40,
                                                             "output/file": name + ".h5"}), name + ".yaml"))
        for args, output, magic in ((["--x", "iteration"], "a.png", b"\x89PNG"),
                                    (["--x", "time", "--y", "loss"], "b.pdf", b"%PDF"),
                                    (["--x", "bytes", "--y", "consensus_error", "--y", "loss"], "c.svg", b"<?xml")):
            r = self.run_ok(d, "plot", "dsgd.h5", "gradient_tracking.h5", *args, "--output", output)
            self.assertIn("wrote " + output, r.stdout)
            with open(os.path.join(d, output), "rb") as f:
                self.assertEqual(f.read(len(magic)), magic, output)
        before = snapshot_dir(d)
        for args, fragments in ((["dsgd.h5", "--y", "accuracy"], ("dsgd.h5", "no column 'accuracy'", "loss")),
                                (["missing.h5"], ("missing.h5", "no such file")),
                                (["dsgd.yaml"], ("dsgd.yaml", "not a Concord trajectory")),
                                (["dsgd.h5", "--output", "fig.jpg"], ("--output", ".png"))):
            with self.subTest(args=args):
                r = concord(d, "plot", *args)
                self.assert_one_error(r, *fragments)
        self.assertEqual(snapshot_dir(d), before, "a refused plot wrote files")
        self.assertIn("--x", concord(d, "plot", "--help").stdout)


class Study(RunTestCase):
    """concord study: cells run, resumed and tabulated; the table against the cells' trajectories."""

    def write_study(self, d, body, deck=None, name="study.yaml"):
        write_deck(d, deck or base_deck(**{"algorithm/iterations": 60}), "base.yaml")
        with open(os.path.join(d, name), "w") as f:
            f.write("study:\n  deck: base.yaml\n" + body)
        return name

    def study(self, d, *args):
        r = subprocess.run([CONCORD, "study", *args], cwd=d, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, MPIEXEC=MPIEXEC))
        return r

    def study_ok(self, d, *args):
        r = self.study(d, *args)
        self.assertEqual(r.returncode, 0, f"concord study {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    @staticmethod
    def csv_rows(path):
        import csv
        with open(path) as f:
            return list(csv.DictReader(f))

    def test_strong_study_matches_trajectories_and_resumes(self):
        from concord.files import read_study
        d = self.tmpdir()
        self.write_study(d, "  ranks: [1, 2]\n  sweep: { concord/agents: [8, 16] }\n"
                            "  target: { column: distance_to_solution, at_most: 0.5 }\n")
        r = self.study_ok(d, "study.yaml")
        self.assertEqual(r.stdout.count(" done in "), 4, r.stdout)
        table = read_study(os.path.join(d, "study"))
        c, attrs = table["columns"], table["attrs"]
        self.assertEqual(list(c["ranks"]), [1, 2, 1, 2])
        self.assertEqual(list(c["agents"]), [8, 8, 16, 16])
        self.assertEqual(list(c["status"]), ["done"] * 4)
        self.assertEqual(attrs["mode"], "strong")
        rows = self.csv_rows(os.path.join(d, "study", "results.csv"))
        self.assertEqual([row["cell"] for row in rows], list(c["cell"]))
        alpha, beta = attrs["alpha_s"], attrs["beta_s_per_byte"]
        self.assertGreater(alpha, 0)
        self.assertGreater(beta, 0)
        for i, name in enumerate(c["cell"]):
            t = read_trajectory(os.path.join(d, "study", "cells", name, "trajectory.h5"))
            cols, its = t["columns"], t["iteration"]
            self.assertEqual(as_int(t["attrs"]["ranks"]), c["ranks"][i], name)
            self.assertEqual(as_int(t["attrs"]["agents"]), c["agents"][i], name)
            n = int(its[-1] - its[0])
            steps = np.diff(its, prepend=its[0]).astype(float)
            expect = {"iterations": n, "elapsed_s": cols["time_elapsed"][-1],
                      "time_per_iteration_s": cols["time_elapsed"][-1] / n,
                      "compute_per_iteration_s": float(np.sum(cols["time_compute"] * steps)) / n,
                      "comm_per_iteration_s": float(np.sum(cols["time_comm"] * steps)) / n,
                      "metrics_s": float(np.sum(cols["time_metrics"])),
                      "bytes_per_agent": cols["bytes_sent"][-1],
                      "final_distance_to_solution": cols["distance_to_solution"][-1]}
            reached = np.flatnonzero(cols["distance_to_solution"] <= 0.5)
            self.assertTrue(len(reached), name)
            expect["target_iteration"] = int(its[reached[0]])
            expect["target_time_s"] = cols["time_elapsed"][reached[0]]
            S = 8.0 * 6  # one model of dimension 6 per message
            expect["projected_exchange_s_256"] = 2 * (alpha + S * beta)  # the ring's degree
            expect["projected_allreduce_s_10000"] = 2 * 9999 * (alpha + S * beta / 10000)
            for key, value in expect.items():
                self.assertAlmostEqual(float(c[key][i]), float(value), delta=1e-12 * max(1.0, abs(float(value))),
                                       msg=f"{name}: {key}")
                self.assertAlmostEqual(float(rows[i][key]), float(value), delta=1e-12 * max(1.0, abs(float(value))),
                                       msg=f"{name}: {key} in results.csv")
        for first, second in ((0, 1), (2, 3)):  # strong scaling against 1 rank
            speedup = c["time_per_iteration_s"][first] / c["time_per_iteration_s"][second]
            self.assertAlmostEqual(c["speedup"][second], speedup, delta=1e-12)
            self.assertAlmostEqual(c["efficiency"][second], speedup / 2, delta=1e-12)
            self.assertEqual(c["speedup"][first], 1.0)
            # the rank count does not change the run
            self.assertEqual(c["final_distance_to_solution"][first], c["final_distance_to_solution"][second])

        # resume: a deleted cell runs again, and only it
        cells = os.path.join(d, "study", "cells")
        kept = {name: digest(os.path.join(cells, name, "result.json")) for name in c["cell"][1:]}
        shutil.rmtree(os.path.join(cells, c["cell"][0]))
        r = self.study_ok(d, "study.yaml")
        self.assertIn("3 of 4 cells already finished", r.stdout)
        self.assertEqual(r.stdout.count(" done in "), 1, r.stdout)
        self.assertEqual({name: digest(os.path.join(cells, name, "result.json")) for name in kept}, kept)
        again = read_study(os.path.join(d, "study"))["columns"]
        self.assertEqual(list(again["status"]), ["done"] * 4)
        self.assertEqual(list(again["elapsed_s"][1:]), list(c["elapsed_s"][1:]))
        # a cell stopped after its run but before its result continues from its checkpoint
        os.remove(os.path.join(cells, c["cell"][3], "result.json"))
        self.assertIn("interrupted", self.study_ok(d, "study.yaml", "--list").stdout.splitlines()[3])
        r = self.study_ok(d, "study.yaml")
        self.assertIn("continuing from its checkpoint", r.stdout)
        self.assertEqual(list(read_study(os.path.join(d, "study"))["columns"]["status"]), ["done"] * 4)
        # a finished cell whose deck changed is refused, not rerun over
        self.write_study(d, "  ranks: [1, 2]\n  sweep: { concord/agents: [8, 16] }\n"
                            "  set: { concord/algorithm/step_size: 0.01 }\n")
        self.assert_one_error(self.study(d, "study.yaml"), "cell 0", "ran with another deck", "delete")
        # the scaling figure
        r = self.run_ok(d, "plot", "study/results.h5", "--output", "scaling.png")
        with open(os.path.join(d, "scaling.png"), "rb") as f:
            self.assertEqual(f.read(4), b"\x89PNG")

    def test_weak_scaling_and_grid(self):
        from concord.files import read_study
        d = self.tmpdir()
        self.write_study(d, "  mode: weak\n  ranks: [1, 2]\n  projection: []\n", name="weak.yaml")
        self.study_ok(d, "weak.yaml")
        c = read_study(os.path.join(d, "weak"))["columns"]
        self.assertEqual(list(c["agents"]), [8, 16])  # the deck's 8 agents, times the ranks
        ratio = c["time_per_iteration_s"][0] / c["time_per_iteration_s"][1]
        self.assertAlmostEqual(c["efficiency"][1], ratio, delta=1e-12)
        self.assertAlmostEqual(c["speedup"][1], 2 * ratio, delta=1e-12)
        self.assertNotIn("projected_exchange_s_256", c)
        self.write_study(d, "  mode: grid\n  projection: []\n  cases:\n    - { concord/algorithm/name: dsgd }\n"
                            "    - { concord/algorithm/name: gradient_tracking, concord/topology/name: exponential }\n"
                            "  set: { concord/algorithm/iterations: 400 }\n"
                            "  target: { column: distance_to_solution, at_most: 1.0e-6 }\n", name="grid.yaml")
        self.study_ok(d, "grid.yaml")
        c = read_study(os.path.join(d, "grid"))["columns"]
        self.assertEqual(list(c["algorithm.name"]), ["dsgd", "gradient_tracking"])
        self.assertEqual(list(c["topology.name"]), ["", "exponential"])  # the first case keeps the deck's
        self.assertEqual(list(c["topology"]), ["ring", "exponential"])
        self.assertNotIn("speedup", c)
        # DSGD stalls away from x* on heterogeneous data: it never reaches the target, GT does
        self.assertTrue(np.isnan(c["target_iteration"][0]) if c["target_iteration"].dtype.kind == "f"
                        else c["target_iteration"][0] == "")
        self.assertGreater(float(c["target_iteration"][1]), 0)

    def test_refusals_before_any_run(self):
        d = self.tmpdir()
        cases = [("  rank: [1]\n", ("study/rank", "unknown key", "ranks")),
                 ("  mode: fast\n", ("study/mode", "strong, weak, grid")),
                 ("  ranks: [0, 2]\n", ("study/ranks", ">= 1")),
                 ("  sweep: { concord/agentz: [8, 16] }\n", ("cell 0", "concord/agentz", "agents")),
                 ("  sweep: { concord/algorithm/step_size: [0.1, -1.0] }\n", ("cell 1", "step_size")),
                 ("  set: { concord/output/file: x.h5 }\n", ("concord/output/file", "set by the study")),
                 ("  sweep: { concord/agents: 8 }\n", ("study/sweep/concord/agents", "list")),
                 ("  target: { column: loss }\n", ("study/target", "at_most")),
                 ("  cases: [{ concord/agents: 8 }]\n  sweep: { concord/agents: [8, 16] }\n",
                  ("study/cases[0]/concord/agents", "also swept")),
                 ("  cases: [{ concord/agents: 8 }, { concord/agents: 8 }]\n", ("study/cases", "the same")),
                 ("  cases: [concord/agents]\n", ("study/cases", "maps")),
                 ("  mode: weak\n  ranks: [3, 2]\n", ("weak_keys", "8 x 2 / 3", "not an integer")),
                 ("  ranks: [99999999999999999999]\n", ("study/ranks", "2147483647")),  # no silent truncation
                 ("  mpiexec: /nonexistent/mpiexec\n", ("study/mpiexec", "cannot run")),
                 ("  directory: /proc/nope\n", ("study/directory", "cannot create"))]
        for body, fragments in cases:
            with self.subTest(body=body):
                self.write_study(d, body)
                self.assert_one_error(self.study(d, "study.yaml"), *fragments)
                self.assertFalse(os.path.exists(os.path.join(d, "study")), "a refused study wrote files")
        self.assert_one_error(self.study(d, "nothing.yaml"), "nothing.yaml", "no such file")

    def test_a_launcher_that_starts_another_world_is_caught(self):
        """A launcher that ignores -n (one process instead of 2) fails the cell, not the table."""
        d = self.tmpdir()
        fake = os.path.join(d, "fake-mpiexec")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\nshift 2\nexec "$@"\n')
        os.chmod(fake, 0o755)
        self.write_study(d, f"  ranks: [2]\n  projection: []\n  mpiexec: {fake}\n")
        r = self.study(d, "study.yaml")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("asked for 2 ranks but its run had 1", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "study", "cells", "ranks2", "result.json")))

    def test_sigterm_stops_the_cell_at_a_checkpoint_and_the_study_continues(self):
        d = self.tmpdir()
        self.write_study(d, "  projection: []\n  set: { concord/algorithm/iterations: 400000, "
                            "concord/output/log_every: 1000 }\n")
        p = subprocess.Popen([CONCORD, "study", "study.yaml"], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, MPIEXEC=MPIEXEC))
        log = os.path.join(d, "study", "cells", "ranks1", "run.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (os.path.exists(log) and "iter " in open(log).read()):
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)  # to `concord study`, which passes it on to the running cell
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, INTERRUPTED, out + err)
        self.assertIn("was interrupted and wrote its checkpoint", err)
        self.assertIn("interrupted by SIGTERM", open(log).read())
        r = self.study_ok(d, "study.yaml")
        self.assertIn("continuing from its checkpoint", r.stdout)
        from concord.files import read_study
        c = read_study(os.path.join(d, "study"))["columns"]
        self.assertEqual(list(c["status"]), ["done"])
        t = read_trajectory(os.path.join(d, "study", "cells", "ranks1", "trajectory.h5"))
        self.assertEqual(int(t["iteration"][-1]), 400000)

    def test_reference_is_documented(self):
        r = self.study(tempfile.gettempdir(), "--reference")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(SOURCE_DIR, "docs", "studies.md")) as f:
            self.assertIn(r.stdout, f.read(), "docs/studies.md: the study keys' table differs from "
                          "`concord study --reference`; paste its output")


# ---------------------------------------------------------------------------------------------
# 10. XML decks in the usual Teuchos wrapper; D2 advice; oversubscription
# ---------------------------------------------------------------------------------------------
class DeckForms(RunTestCase):
    def test_shipped_xml_deck_equals_yaml_deck(self):
        d = self.tmpdir()
        yaml_deck, xml_deck = (os.path.join(SOURCE_DIR, "inputs", "quickstart." + ext) for ext in ("yaml", "xml"))
        a = self.run_ok(d, "deck", yaml_deck).stdout
        b = self.run_ok(d, "deck", xml_deck).stdout
        self.assertEqual(a, b)
        small = sets(**{"algorithm/iterations": 20})
        self.run_ok(d, "run", yaml_deck, *small, *sets(**{"output/file": "y.h5"}))
        self.run_ok(d, "run", xml_deck, *small, *sets(**{"output/file": "x.h5"}))
        self.assert_same_trajectory(read_trajectory(os.path.join(d, "y.h5")), read_trajectory(os.path.join(d, "x.h5")),
                                    "quickstart.yaml vs quickstart.xml")

    def test_xml_wrapper_forms(self):
        d = self.tmpdir()
        inner = to_xml(base_deck()["concord"], indent=2)
        for top in ('<ParameterList name="ANONYMOUS">', "<ParameterList>"):
            write_deck(d, top + "\n" + inner + "</ParameterList>\n", "w.xml")
            self.run_ok(d, "deck", "w.xml")
        write_deck(d, '<ParameterList name="ANONYMOUS">\n' + inner + to_xml({"x": 1}, "other", 2) + "</ParameterList>\n",
                   "two.xml")
        self.assert_one_error(concord(d, "deck", "two.xml"), "exactly one", "concord")

    def test_d2_advice_names_what_exists(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/name": "d2"}))  # ring of 8 agents: lambda_min = -1/3
        line = self.assert_one_error(concord(d, "run", name), "d2", "exact_diffusion", "odd number of agents")
        self.assertNotIn("self-weight", line)
        for fix in ({"concord/agents": 7}, {"concord/algorithm/name": "exact_diffusion"},
                    {"concord/topology/name": "complete"}):
            (path, value), = fix.items()
            self.run_ok(d, "run", name, "--set", "%s=%s" % (path, value), "--set", "concord/output/overwrite=true",
                        "--set", "concord/algorithm/iterations=10")

    def test_oversubscription_warning(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 10}))
        r = self.run_ok(d, "run", name)
        self.assertNotIn("oversubscribed", r.stderr)
        cores = len(os.sched_getaffinity(0))
        env = dict(os.environ, OMP_NUM_THREADS=str(cores))
        # The deck is tiny: left automatic, each rank would run on one thread and not oversubscribe.
        r = subprocess.run(command(["run", name, "--set", "concord/output/overwrite=true",
                                    "--set", "concord/parallel/threads=%d" % cores], 2), cwd=d,
                           capture_output=True, text=True, timeout=300, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: 2 ranks x %d thread" % cores, r.stderr)
        self.assertIn("oversubscribed", r.stderr)


# ---------------------------------------------------------------------------------------------
# 11. Damaged checkpoints and unusable outputs: one line and status 2, never a crash
# ---------------------------------------------------------------------------------------------
class CheckpointIntegrity(RunTestCase):
    def first_run(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 40, "algorithm/batch_size": 4}))
        self.run_ok(d, "run", name)
        return d, name

    def test_byte_flips_are_refused_or_harmless(self):
        d, name = self.first_run()
        reference = self.tmpdir()
        self.run_ok(reference, "run", write_deck(reference, base_deck(**{"algorithm/iterations": 60,
                                                                          "algorithm/batch_size": 4})))
        want = read_checkpoint(os.path.join(reference, "run.checkpoint.h5"))["state"]
        with open(os.path.join(d, "run.checkpoint.h5"), "rb") as f:
            original = f.read()
        rng = np.random.default_rng(7)
        refused = 0
        for trial in range(40):
            damaged = bytearray(original)
            position = int(rng.integers(len(damaged)))
            damaged[position] ^= 1 << int(rng.integers(8))
            w = os.path.join(self.tmpdir(), "w")
            shutil.copytree(d, w)
            with open(os.path.join(w, "run.checkpoint.h5"), "wb") as f:
                f.write(bytes(damaged))
            r = concord(w, "run", name, "--restart", "run.checkpoint.h5", *sets(**{"algorithm/iterations": 60}))
            what = "byte %d of %d flipped" % (position, len(damaged))
            self.assertIn(r.returncode, (0, BAD_INPUT), what + ": " + r.stderr)
            if r.returncode == BAD_INPUT:
                refused += 1
                self.assertEqual(len([l for l in r.stderr.splitlines() if l.strip()]), 1, what + ": " + r.stderr)
                continue
            # Accepted: the flip hit bytes that carry nothing; the run is the uninterrupted one.
            got = read_checkpoint(os.path.join(w, "run.checkpoint.h5"))["state"]
            for s_ in want:
                self.assert_bits_equal(want[s_], got[s_], what)
        self.assertGreater(refused, 10)

    def test_state_change_fails_the_checksum(self):
        d, name = self.first_run()
        with h5py.File(os.path.join(d, "run.checkpoint.h5"), "r+") as f:
            f["state/x"][3, 2] = np.nextafter(f["state/x"][3, 2], 1e300)
        self.assert_one_error(concord(d, "run", name, "--restart", "run.checkpoint.h5"),
                              "state 'x' does not match its checksum")

    def test_header_attributes_out_of_range(self):
        for attribute, value, fragment in (("iteration", -5, "must be >= 0"), ("agents", 2**33 + 16, "allowed 1.."),
                                           ("dimension", 0, "allowed 1..")):
            d, name = self.first_run()
            with h5py.File(os.path.join(d, "run.checkpoint.h5"), "r+") as f:
                f.attrs[attribute] = np.int64(value)
            self.assert_one_error(concord(d, "run", name, "--restart", "run.checkpoint.h5"), attribute, fragment)
        d, name = self.first_run()
        with h5py.File(os.path.join(d, "run.checkpoint.h5"), "r+") as f:
            f.attrs["iteration"] = np.int64(30)  # in range, but not what the checksum covers
        self.assert_one_error(concord(d, "run", name, "--restart", "run.checkpoint.h5"), "does not match its checksum")

    def test_outputs_that_are_not_files(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck(**{"algorithm/iterations": 10, "output/overwrite": True}))
        os.mkdir(os.path.join(d, "folder.h5"))
        for path, fragment in (("/dev/null", "not a regular file"), ("folder.h5", "is a directory")):
            r = concord(d, "run", name, "--set", "concord/output/file=" + path)
            self.assert_one_error(r, "concord/output/file", fragment)
            self.assertEqual(r.stdout, "", "refused after work had started")
        r = concord(d, "run", name, "--set", "concord/output/checkpoint_file=/dev/null")
        self.assert_one_error(r, "concord/output/checkpoint_file", "not a regular file")

    def test_divergence_before_the_first_checkpoint(self):
        d = self.tmpdir()
        for every, fragment in ((1000, "no checkpoint was written yet (the first was due at iteration 1000)"),
                                (0, "set concord/output/checkpoint_every to keep one")):
            name = write_deck(d, base_deck(**{"algorithm/step_size": 50.0, "algorithm/iterations": 2000,
                                              "output/checkpoint_every": every, "output/overwrite": True}))
            r = concord(d, "run", name)
            self.assertEqual(r.returncode, DIVERGED, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(fragment, r.stderr)

    def test_runs_that_cannot_fit_in_memory(self):
        d = self.tmpdir()
        name = write_deck(d, base_deck())
        for override, item in (("concord/agents=1000000000", "concord/"),
                               ("concord/problem/data/samples_per_agent=1000000000",
                                "concord/problem/data/samples_per_agent x dimension:")):
            r = concord(d, "run", name, "--set", override)
            self.assert_one_error(r, item, "GiB per process", "more than this process may use")
            self.assertEqual(r.stdout, "", "refused after work had started")

    def test_full_disk_keeps_the_last_checkpoint(self):
        """A real full disk (a 1 MiB tmpfs; needs root): exit 1 with one line, the checkpoint intact."""
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        d = tempfile.mkdtemp(prefix="concord-full-")
        self.addCleanup(shutil.rmtree, d, True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", d])
        name = write_deck(d, base_deck(**{"algorithm/iterations": 2000, "output/snapshot_every": 5,
                                          "output/checkpoint_every": 20, "problem/data/dimension": 200}))
        r = concord(d, "run", name)
        self.assertEqual(r.returncode, 1, r.stdout[-500:] + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("No space left on device", lines[0])
        c = read_checkpoint(os.path.join(d, "run.checkpoint.h5"))
        self.assertGreater(as_int(c["attrs"]["iteration"]), 0)
        self.assertFalse(os.path.exists(os.path.join(d, "run.checkpoint.h5.tmp")))


if __name__ == "__main__":
    unittest.main()
