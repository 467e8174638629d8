"""Hostile decks through `concord run --check`: each is refused before any work with exit status 2
and exactly one line on stderr, naming the deck (and the line and key where known), quickly and
without echoing a long value. The in-process deck fuzzer (tests/fuzz) covers many more inputs;
these are the nastiest of them, as a user meets them.

Run by ctest (test `hostile_decks`) with CONCORD (the executable) in the environment."""
import os
import subprocess
import tempfile
import time
import unittest

CONCORD = os.environ.get("CONCORD", "build/bin/concord")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BAD_INPUT = 2


def quickstart():
    with open(os.path.join(SOURCE_DIR, "inputs", "quickstart.yaml")) as f:
        return f.read()


def deep_xml(depth):
    return ('<ParameterList name="concord">\n' + '<ParameterList name="a">\n' * depth
            + "</ParameterList>\n" * depth + "</ParameterList>\n")


def folded_value(lines):
    """A string value folded over `lines` lines (a YAML block scalar)."""
    return "concord:\n  agents: 4\n  output:\n    file: >\n" + ("      " + "x" * 60 + "\n") * lines


# name, deck text, what the one line must contain
CASES = [
    ("lenient.xml", '<ParameterList name="concord">\n  <Parameter name="agents" type="int" value="4"/>\n'
     '  <ParameterList name="algorithm">\n    <Parameter name="step_size" type="double" value="0.05abc"/>\n'
     "  </ParameterList>\n</ParameterList>\n",
     "line 4: concord/algorithm/step_size: '0.05abc' is not a finite real number"),
    ("duplicate.xml", '<ParameterList name="concord">\n  <Parameter name="agents" type="int" value="4"/>\n'
     '  <Parameter name="agents" type="int" value="8"/>\n</ParameterList>\n',
     "line 3: concord/agents: given twice in one list (first at line 2)"),
    ("narrow.xml", '<ParameterList name="concord">\n  <Parameter name="agents" type="int" value="4294967297"/>\n'
     "</ParameterList>\n", "line 2: concord/agents: '4294967297' does not fit type \"int\""),
    ("deep.xml", deep_xml(20000), "line 17: elements nested 17 deep"),
    ("duplicate.yaml", quickstart().replace("  agents: 16\n", "  agents: 16\n  agents: 4294967297\n"),
     "concord/agents: given twice in one list"),
    ("tilde.yaml", "concord: ~\n", "line 1: concord: expected a parameter list"),
    ("deep.yaml", "concord:\n  a: " + "{b: " * 500 + "1" + "}" * 500 + "\n", "line 2: lists nested 17 deep"),
    ("huge.yaml", "concord:\n  agents: 4\n  output: {file: \"" + "x" * 1000000 + "\"}\n",
     "line 3: a line longer than 4096 characters"),
    ("folded.yaml", folded_value(2000), "a value longer than 4096 characters"),
    ("big.yaml", "concord:\n" + "#" * (2 << 20) + "\n", "bytes; a deck is at most 1048576 bytes"),
    ("syntax.yaml", "concord:\n  agents: \"4\n", "line 3: not valid YAML"),
    ("tag.yaml", "concord:\n  agents: !!int 4294967297\n", "line 2: a YAML tag"),
    ("binary.yaml", "concord:\n  agents: 4\x00\x01\n", "line 2: column 12: a control character"),
]


class HostileDecks(unittest.TestCase):
    def check(self, name, text, expected, *extra):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, name)
            with open(path, "w", newline="") as f:
                f.write(text)
            start = time.monotonic()
            r = subprocess.run([CONCORD, "run", name, "--check", *extra], cwd=d, capture_output=True, text=True,
                               timeout=60, errors="replace")
            seconds = time.monotonic() - start
        lines = r.stderr.splitlines()
        self.assertEqual(r.returncode, BAD_INPUT, f"{name}: {r.stderr[:500]}")
        self.assertEqual(len(lines), 1, f"{name}: {r.stderr[:2000]}")
        self.assertTrue(lines[0].startswith("concord: error: "), lines[0])
        self.assertIn(expected, lines[0])
        # Short: a hostile value is quoted in 60 characters; the rest is the message and at most the
        # list of allowed names (the topology catalogue's 22 names are the longest, about 330).
        self.assertLess(len(lines[0]), 600, lines[0])
        self.assertNotIn(".cpp", lines[0])
        self.assertNotIn("Throw", lines[0])
        self.assertLess(seconds, 20, f"{name}: {seconds:.1f} s")
        return lines[0]

    def test_refused_with_one_line(self):
        for name, text, expected in CASES:
            with self.subTest(deck=name):
                line = self.check(name, text, expected)
                if not name.startswith("big"):
                    self.assertIn(name + ": ", line)

    def test_integer_overrides_never_narrow(self):
        for path, value in (("concord/agents", "4294967297"), ("concord/agents", "2147483648"),
                            ("concord/problem/data/dimension", "4294967298")):
            with self.subTest(set=f"{path}={value}"):
                self.check("deck.yaml", quickstart(), f"{path}: {value} is out of range; allowed: >= 1, <= 2147483647",
                           "--set", f"{path}={value}")

    def test_long_override_value_is_quoted_short(self):
        line = self.check("deck.yaml", quickstart(), "concord/topology/name: unknown value 'yyyyyyyy",
                          "--set", "concord/topology/name=" + "y" * 3000)
        self.assertIn("y" * 60 + "...'", line)
        self.assertNotIn("y" * 61, line)


if __name__ == "__main__":
    unittest.main()
