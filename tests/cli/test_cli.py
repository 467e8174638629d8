"""Tests of the `concord` executable: JSON against independent computations, errors, exit codes.

Run by ctest with CONCORD (the executable) and MPIEXEC in the environment; stdlib only."""
import json
import math
import os
import subprocess
import unittest

CONCORD = os.environ.get("CONCORD", "build/bin/concord")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec.mpich")


def run(*args, ranks=None):
    cmd = [CONCORD, *args] if ranks is None else [MPIEXEC, "-n", str(ranks), CONCORD, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def topology_json(name, n, *extra):
    r = run("topology", name, "--agents", str(n), "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def dense(round_, n):
    w = [[0.0] * n for _ in range(n)]
    for i, j, v in round_["entries"]:
        w[i][j] = v
    return w


def mix(w, x):
    return [sum(w[i][j] * x[j] for j in range(len(x))) for i in range(len(x))]


class TopologyJson(unittest.TestCase):
    def test_ring_lecture_first_step(self):
        d = topology_json("ring", 5)
        self.assertEqual(d["agents"], 5)
        self.assertEqual(d["period"], 1)
        w = dense(d["rounds"][0], 5)
        x1 = mix(w, [0, 1, 2, 3, 4])
        for got, want in zip(x1, [5 / 3, 1, 2, 3, 7 / 3]):
            self.assertAlmostEqual(got, want, places=15)
        # Full double precision: the weights are exactly the double nearest 1/3.
        self.assertEqual(w[0][1], 1 / 3)
        # rho of the 5-ring: max |1 + 2 cos(2 pi k / 5)| / 3 over k = 1..4.
        rho = max(abs(1 + 2 * math.cos(2 * math.pi * k / 5)) / 3 for k in range(1, 5))
        self.assertAlmostEqual(d["rho"][0], rho, places=12)
        self.assertTrue(d["doubly_stochastic"])
        self.assertFalse(d["finite_time"])

    def test_exponential_lecture_first_step_and_theorem(self):
        d = topology_json("exponential", 5)
        x1 = mix(dense(d["rounds"][0], 5), [0, 1, 2, 3, 4])
        self.assertEqual(x1, [1.75, 1.5, 2.5, 2.25, 2.0])
        d = topology_json("exponential", 16)
        self.assertAlmostEqual(d["rho"][0], 1 - 2 / (4 + 1), places=10)
        self.assertEqual(d["max_degree"], 4)

    def test_every_entry_listed_with_diagonal(self):
        d = topology_json("grid", 6, "--param", "rows=2")
        w = dense(d["rounds"][0], 6)
        for i in range(6):
            self.assertGreater(w[i][i], 0)
            self.assertAlmostEqual(sum(w[i]), 1.0, places=14)
            self.assertAlmostEqual(sum(w[j][i] for j in range(6)), 1.0, places=14)

    def test_one_peer_exponential_finite_time(self):
        d = topology_json("one_peer_exponential", 8)
        self.assertEqual(d["period"], 3)
        self.assertTrue(d["finite_time"])
        self.assertLess(d["period_rho"], 1e-12)
        # Independent check: apply the three rounds to a vector, get its mean everywhere.
        x = [float(i * i) for i in range(8)]
        for rnd in d["rounds"]:
            x = mix(dense(rnd, 8), x)
        for v in x:
            self.assertAlmostEqual(v, sum(i * i for i in range(8)) / 8, places=12)
        self.assertFalse(topology_json("one_peer_exponential", 6)["finite_time"])

    def test_base_graph(self):
        d = topology_json("base", 12, "--param", "k=2")
        self.assertEqual(d["period"], 3)
        self.assertTrue(d["finite_time"])
        self.assertLessEqual(d["max_degree"], 2)
        self.assertTrue(d["symmetric"])

    def test_seed_changes_random_graphs_only(self):
        a = topology_json("erdos_renyi", 12, "--param", "p=0.4", "--seed", "1")
        b = topology_json("erdos_renyi", 12, "--param", "p=0.4", "--seed", "1")
        c = topology_json("erdos_renyi", 12, "--param", "p=0.4", "--seed", "2")
        self.assertEqual(a["rounds"], b["rounds"])
        self.assertNotEqual(a["rounds"], c["rounds"])

    def test_json_printed_once_under_mpi(self):
        r = run("topology", "ring", "--agents", "4", "--json", ranks=2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.strip().splitlines()), 1)
        json.loads(r.stdout)


class OtherOutputs(unittest.TestCase):
    def test_summary(self):
        r = run("topology", "base", "--agents", "5", "--param", "k=1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rounds (period)    5", r.stdout)
        self.assertIn("finite-time        yes", r.stdout)

    def test_dot(self):
        r = run("topology", "ring", "--agents", "4", "--dot")
        self.assertTrue(r.stdout.startswith("graph"), r.stdout)
        self.assertIn("0 -- 1", r.stdout)
        self.assertIn("0 -- 3", r.stdout)
        r = run("topology", "exponential", "--agents", "4", "--dot")
        self.assertTrue(r.stdout.startswith("digraph"))
        self.assertIn("1 -> 0", r.stdout)  # agent 0 receives from agent 1

    def test_list_names_every_topology(self):
        r = run("topology", "--list")
        self.assertEqual(r.returncode, 0)
        for name in ["ring", "grid", "torus", "erdos_renyi", "geometric", "exponential", "one_peer_exponential",
                     "one_peer_hypercube", "hyper_hypercube", "simple_base", "base", "equi_static",
                     "u_equi_static", "od_equi_dyn", "ou_equi_dyn", "star", "complete", "file"]:
            self.assertIn("\n" + name, "\n" + r.stdout)

    def test_info(self):
        r = run("info")
        self.assertEqual(r.returncode, 0, r.stderr)
        for label in ["Concord:", "Kokkos:            5.", "Execution spaces:", "MPI:               MPICH", "HDF5:",
                      "Teuchos:", "CUDA:", "NCCL:"]:
            self.assertIn(label, r.stdout)

    def test_compare_table(self):
        r = run("compare", "--agents", "16", "ring", "base:k=3", "one_peer_hypercube")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[4:]}
        self.assertEqual(rows["base:k=3"][-1], "yes")
        self.assertEqual(rows["ring"][-1], "no")
        self.assertEqual(rows["one_peer_hypercube"][1], "4")


class Errors(unittest.TestCase):
    def assert_error(self, args, *fragments):
        r = run(*args)
        self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("concord: error: "), lines[0])
        for f in fragments:
            self.assertIn(f, lines[0])
        self.assertEqual(r.stdout, "")

    def test_bad_inputs(self):
        self.assert_error(["topology", "rign", "--agents", "4"], "unknown topology 'rign'", "allowed: ring")
        self.assert_error(["topology", "ring"], "--agents N is required")
        self.assert_error(["topology", "one_peer_hypercube", "--agents", "12"], "power of two")
        self.assert_error(["topology", "hyper_hypercube", "--agents", "14", "--param", "k=2"], "prime factor")
        self.assert_error(["topology", "base", "--agents", "8", "--param", "k=0"], "k=0", "allowed >= 1")
        self.assert_error(["topology", "base", "--agents", "8", "--param", "q=1"], "unknown parameter", "allowed: k")
        self.assert_error(["topology", "base", "--agents", "8", "--param", "k"], "KEY=VALUE")
        self.assert_error(["topology", "grid", "--agents", "12", "--param", "rows=5"], "rows x cols")
        self.assert_error(["topology", "file", "--agents", "3", "--param", "path=/nonexistent.mtx"], "no such file")
        self.assert_error(["topology", "ring", "--agents", "4", "--json", "--dot"], "excludes")
        self.assert_error(["topology", "ring", "--agents", "four"], "agents")
        self.assert_error(["frobnicate"])


if __name__ == "__main__":
    unittest.main()
