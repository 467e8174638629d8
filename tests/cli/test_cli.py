"""Tests of the `concord` executable: JSON against independent computations, errors, exit codes.

Run by ctest with CONCORD (the executable) and MPIEXEC in the environment; stdlib only."""
import json
import math
import os
import re
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
                      "Teuchos:", "BLAS:", "CUDA:", "NCCL:", "Native build:"]:
            self.assertIn(label, r.stdout)

    def test_compare_table(self):
        r = run("compare", "--agents", "16", "ring", "base:k=3", "one_peer_hypercube")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[4:]}
        self.assertEqual(rows["base:k=3"][-1], "yes")
        self.assertEqual(rows["ring"][-1], "no")
        self.assertEqual(rows["one_peer_hypercube"][1], "4")


class CommandLine(unittest.TestCase):
    """Values typed as text, the catalogue as JSON, one default seed, help."""

    def test_lists_separated_by_spaces_are_refused_not_merged(self):
        for value in ("1 3", "2 1", "[1 3]", "1,,3", "1,"):
            r = run("topology", "equi_static", "--agents", "8", "--param", "hops=" + value)
            self.assertEqual(r.returncode, 2, value + ": " + r.stdout)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("hops=" + value, r.stderr)
        # The accepted forms of the same list give the same graph, with two hops (degree 2).
        graphs = [topology_json("equi_static", 8, "--param", "hops=" + v)["rounds"] for v in ("1,3", "[1, 3]", " 1 , 3")]
        self.assertEqual(graphs[0], graphs[1])
        self.assertEqual(graphs[0], graphs[2])
        self.assertEqual(topology_json("equi_static", 8, "--param", "hops=1,3")["max_degree"], 2)

    def test_compare_refuses_a_key_given_twice(self):
        r = run("compare", "-n", "12", "base:k=2:k=3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("k given twice", r.stderr)
        self.assertEqual(r.stdout, "")  # refused before any row

    def test_compare_reports_undefined_rows_and_goes_on(self):
        r = run("compare", "-n", "12", "ring", "one_peer_hypercube", "base:k=2")
        self.assertEqual(r.returncode, 2)
        rows = {line.split()[0]: line for line in r.stdout.splitlines()[4:]}
        self.assertEqual(list(rows), ["ring", "one_peer_hypercube", "base:k=2"])
        self.assertIn("undefined", rows["one_peer_hypercube"])
        self.assertIn("power of two", rows["one_peer_hypercube"])
        self.assertTrue(rows["base:k=2"].endswith("yes"), rows["base:k=2"])
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("1 of 3", r.stderr)

    def test_list_marks_only_required_parameters(self):
        out = run("topology", "--list").stdout
        blocks = {b.split()[0]: b for b in ("\n" + out).split("\n") if b and not b.startswith(" ")}
        text = out.split("\nequi_static")[1].split("\nu_equi_static")[0]
        self.assertIn("hops=<int list>", text)
        self.assertNotIn("[required]", text)
        geometric = out.split("\ngeometric")[1].split("\nexponential")[0]
        self.assertIn("radius=<real>  connection radius in (0, sqrt(2)] [required]", geometric)
        self.assertTrue(blocks)
        # equi_static runs without hops (M = auto), as --list says.
        self.assertEqual(run("topology", "equi_static", "--agents", "8").returncode, 0)

    def test_list_json_is_the_catalogue(self):
        r = run("topology", "--list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        catalogue = json.loads(r.stdout)
        names = [t["name"] for t in catalogue["topologies"]]
        self.assertEqual(names, [line.split()[0] for line in run("topology", "--list").stdout.splitlines()
                                 if line and not line.startswith(" ")])
        equi = next(t for t in catalogue["topologies"] if t["name"] == "equi_static")
        hops = next(p for p in equi["parameters"] if p["key"] == "hops")
        self.assertEqual((hops["type"], hops["required"], hops["default"]), ("int list", False, None))
        base = next(t for t in catalogue["topologies"] if t["name"] == "base")
        self.assertEqual(base["parameters"][0]["default"], "1")
        self.assertTrue(equi["uses_seed"])
        self.assertEqual(equi["defined_for"], "n >= 2")

    def test_one_default_seed(self):
        catalogue = json.loads(run("topology", "--list", "--json").stdout)
        deck_seed = re.search(r"\| `seed` \| integer \| `(\d+)`", run("deck", "--reference").stdout)
        self.assertIsNotNone(deck_seed)
        self.assertEqual(catalogue["default_seed"], int(deck_seed.group(1)))
        default = topology_json("erdos_renyi", 16, "--param", "p=0.3")
        self.assertEqual(default["seed"], int(deck_seed.group(1)))
        self.assertEqual(default["rounds"], topology_json("erdos_renyi", 16, "--param", "p=0.3", "--seed",
                                                          deck_seed.group(1))["rounds"])
        self.assertIn(", seed %s" % deck_seed.group(1), run("compare", "-n", "8", "ring").stdout)

    def test_deck_list_is_the_catalogues(self):
        # Every algorithm, problem and data source the deck accepts is listed with its parameters,
        # and the defaults shown are the deck reference's: both come from the catalogues.
        listing = run("deck", "--list").stdout
        reference = run("deck", "--reference").stdout
        for section, key in (("algorithm", "name"), ("problem", "name"), ("data", "source")):
            rows = reference.split("## `concord/" + ("problem/data" if section == "data" else section) + "`")[1]
            allowed = re.search(r"\| `%s` \| word \| [^|]*\| ([^|]*) \|" % key, rows).group(1).strip()
            for name in allowed.split(", "):
                self.assertRegex(listing, r"(?m)^  %s +\S" % re.escape(name), section)
        self.assertIn("parameters: variant = atc", listing)
        self.assertIn("step_size (required), schedule = constant, decay_every = 1000", listing)
        self.assertIn("hidden = [32], activation = relu", listing)
        self.assertRegex(reference, r"\| `decay_every` \| integer \| `1000` \|")

    def test_info_json(self):
        r = run("info", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertTrue(info["Kokkos"].startswith("5."))
        self.assertTrue(info["MPI"].startswith("MPICH"))
        # CONCORD_NATIVE: "yes (-march=native: <cpu>; ...)" or "no (portable)".
        self.assertRegex(info["Native build"], r"^(yes \(-march=native: \S+; .*\)|no \(portable\))$")
        # The problems' products: OpenBLAS and the kernel it chose for this CPU.
        self.assertRegex(info["BLAS"], r"^OpenBLAS \d+\.\d+\.\d+ .*\(\w+ kernels\); problem kernels: .*"
                                       r"MLP minibatches on agent lanes, (8 agents|4 agents|1 agent) per vector$")
        self.assertEqual(set(info), {line.split(":")[0] for line in run("info").stdout.splitlines()})

    def test_help_is_concords_own(self):
        for args in (["--help"], ["run", "--help"], ["topology", "--help"], ["summary", "--help"]):
            r = run(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("Kokkos command line arguments", r.stdout)
            self.assertNotIn("--kokkos-num-threads=INT", r.stdout)
            self.assertTrue(r.stdout.split("\n")[0].strip(), r.stdout[:200])
        self.assertTrue(run("run", "--help").stdout.startswith("Run an input deck"))
        self.assertIn("--kokkos-help", run("--help").stdout)
        r = run("--kokkos-help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--kokkos-num-threads", r.stdout)
        # Kokkos options still reach Kokkos.
        r = run("--kokkos-num-threads=1", "topology", "ring", "--agents", "4")
        self.assertEqual(r.returncode, 0, r.stderr)


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
