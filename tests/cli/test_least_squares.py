"""Least squares with fewer samples than unknowns, end to end through `concord run`: the run
starts (x* is the minimum-norm minimiser, said in the problem description), its x* agrees with
numpy's independent `lstsq` / `pinv`, gradient tracking from x0 = 0 converges to it, and every
trajectory and snapshot is bit-identical for 1, 2 and 4 ranks and for 1 and 2 OpenMP threads.

Run by ctest (test `least_squares`) with CONCORD, MPIEXEC and SOURCE_DIR in the environment,
under an interpreter that has h5py and numpy (Debian's /usr/bin/python3)."""
import os
import subprocess
import tempfile
import unittest

import h5py
import numpy as np

CONCORD = os.environ.get("CONCORD", "build/bin/concord")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec.mpich")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

AGENTS, PER_AGENT, DIMENSION = 4, 5, 40
ITERATIONS = 2000  # the converging run (one rank)
SHORT = 100        # the runs compared across rank and thread counts
TIME_COLUMNS = {"time_compute", "time_comm", "time_metrics", "time_elapsed"}

DECK = """concord:
  seed: 1
  agents: {agents}
  topology: {{ name: ring }}
  problem:
    name: least_squares
    data: {{ source: hdf5, file: data.h5 }}
  algorithm: {{ name: gradient_tracking, step_size: 0.06, iterations: {iterations} }}
  output: {{ file: run.h5, log_every: {log_every}, snapshot_every: {log_every} }}
"""


def run(cwd, *args, ranks=1, threads=1, timeout=300):
    cmd = [CONCORD, "run", *args] if ranks == 1 else [MPIEXEC, "-n", str(ranks), CONCORD, "run", *args]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="false")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def problem_line(stdout):
    return next(line for line in stdout.splitlines() if line.startswith("problem:"))


def read(path):
    with h5py.File(path, "r") as f:
        t = f["trajectory"]
        columns = {name: t[name][:] for name in t if name not in TIME_COLUMNS}
        return columns, f["snapshots/x"][:], str(f.attrs["problem"])


class UnderDeterminedLeastSquares(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(7)
        samples = AGENTS * PER_AGENT
        cls.A = rng.standard_normal((samples, DIMENSION))
        cls.b = rng.standard_normal(samples)
        # Every agent holds PER_AGENT rows, so f(x) = (1 / (2 N)) ||A x - b||^2 and x* = A^+ b.
        cls.x_star = np.linalg.lstsq(cls.A, cls.b, rcond=None)[0]
        assert np.allclose(cls.x_star, np.linalg.pinv(cls.A) @ cls.b, rtol=0, atol=1e-12)
        cls.tmp = tempfile.TemporaryDirectory()
        with h5py.File(os.path.join(cls.tmp.name, "data.h5"), "w") as f:
            f["features"] = cls.A
            f["targets"] = cls.b
            f["owner"] = np.repeat(np.arange(AGENTS), PER_AGENT)
        cls.outputs = {}
        for ranks, threads, iterations in ((1, 1, ITERATIONS), (1, 1, SHORT), (2, 1, SHORT), (4, 1, SHORT), (1, 2, SHORT)):
            work = os.path.join(cls.tmp.name, "p%d_t%d_k%d" % (ranks, threads, iterations))
            os.mkdir(work)
            os.symlink(os.path.join(cls.tmp.name, "data.h5"), os.path.join(work, "data.h5"))
            with open(os.path.join(work, "deck.yaml"), "w") as f:
                f.write(DECK.format(agents=AGENTS, iterations=iterations, log_every=min(iterations, 100) // 2))
            cls.outputs[(ranks, threads, iterations)] = (run(work, "deck.yaml", ranks=ranks, threads=threads), work)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def result(self, ranks=1, threads=1, iterations=ITERATIONS):
        done, work = self.outputs[(ranks, threads, iterations)]
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done, read(os.path.join(work, "run.h5"))

    def test_runs_and_says_x_star_is_the_minimum_norm_solution(self):
        done, (_, _, problem) = self.result()
        rank = np.linalg.matrix_rank(self.A)
        self.assertEqual(rank, AGENTS * PER_AGENT)
        for text in (problem_line(done.stdout), problem):
            self.assertIn("x* is the minimum-norm minimiser", text)
            self.assertIn("rank %d of %d" % (rank, DIMENSION), text)

    def test_x_star_is_numpys_minimum_norm_solution(self):
        _, (columns, snapshots, _) = self.result()
        distance = columns["distance_to_solution"]
        # At iteration 0 every agent is at x0 = 0: the distance is ||x*||.
        self.assertEqual(columns["iteration"][0], 0)
        self.assertAlmostEqual(distance[0] / np.linalg.norm(self.x_star), 1.0, delta=1e-12)
        # Gradient tracking from 0 stays in the row space of A and converges to A^+ b; the reported
        # distance to Concord's x* vanishes with it, so x* = A^+ b to within the two.
        x_bar = snapshots[-1].mean(axis=0)
        self.assertLess(np.abs(x_bar - self.x_star).max(), 1e-11)
        self.assertLess(distance[-1], 1e-11)
        self.assertLess(columns["consensus_error"][-1], 1e-24)
        self.assertLess(columns["loss"][-1], 1e-24)  # fewer samples than unknowns: b is interpolated
        self.assertGreater(distance[0], 0.5)

    def test_bit_identical_for_any_number_of_ranks_and_threads(self):
        _, (reference, snapshots, _) = self.result(iterations=SHORT)
        self.assertEqual(snapshots.shape, (3, AGENTS, DIMENSION))  # iterations 0, 50 and 100
        for ranks, threads in ((2, 1), (4, 1), (1, 2)):
            _, (columns, other, _) = self.result(ranks, threads, SHORT)
            label = "%d ranks, %d threads" % (ranks, threads)
            self.assertEqual(sorted(columns), sorted(reference), label)
            for name in reference:
                self.assertEqual(columns[name].tobytes(), reference[name].tobytes(), label + ": " + name)
            self.assertEqual(other.tobytes(), snapshots.tobytes(), label + ": snapshots")


class UnderDeterminedSyntheticDeck(unittest.TestCase):
    def test_quickstart_with_fewer_samples_than_unknowns(self):
        with tempfile.TemporaryDirectory() as work:
            deck = os.path.join(SOURCE_DIR, "inputs", "quickstart.yaml")
            done = run(work, deck, "--set", "concord/agents=6", "--set", "concord/problem/data/samples_per_agent=2",
                       "--set", "concord/problem/data/dimension=40",
                       "--set", "concord/algorithm/name=gradient_tracking",
                       "--set", "concord/algorithm/step_size=0.02",
                       "--set", "concord/algorithm/iterations=1500",
                       "--set", "concord/output/file=run.h5", "--set", "concord/output/checkpoint_every=0")
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            # 6 agents x 2 samples: rank 12 of 40.
            self.assertIn("x* is the minimum-norm minimiser (the normal matrix has rank 12 of 40)",
                          problem_line(done.stdout))
            columns, _, _ = read_without_snapshots(os.path.join(work, "run.h5"))
            self.assertGreater(columns["distance_to_solution"][0], 1.0)
            self.assertLess(columns["distance_to_solution"][-1], 1e-9)


def read_without_snapshots(path):
    with h5py.File(path, "r") as f:
        t = f["trajectory"]
        return {name: t[name][:] for name in t}, None, str(f.attrs["problem"])


if __name__ == "__main__":
    unittest.main()
