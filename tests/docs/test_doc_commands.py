#!/usr/bin/env python3
"""The documentation's shell commands and Python snippets, run as they are written.

Every command of the ```bash blocks of README.md and docs/*.md, the concrete `concord ...` lines of
the README's command synopsis (```text lines starting with `concord `) and every ```python block
(with this interpreter when it has h5py, else Debian's /usr/bin/python3) is run in a scratch directory holding a copy of
inputs/, with `build/bin/concord` there (and `concord` on PATH) being the executable under test.
Each document gets its own directory and its commands run in the order written, so a block may use
the files an earlier command wrote. A command passes when it exits with status 0 (or the status
listed in EXPECTED_STATUS).

Commands that cannot run here are listed in SKIPPED with the reason; every other command runs, so a
command added to the docs is checked by default. A rule of SKIPPED or EXPECTED_FAILURES that matches
no command is an error (the list stays exact). Commands of EXPECTED_FAILURES are known to fail
because of the program: they must fail (with the output shown); when one succeeds the test says so
(remove its mark), and fails with --strict.

`mpiexec` is allowed with at most MAX_RANKS ranks (the examples must run on a 2-core machine:
MPICH busy-polls, oversubscribed runs are orders of magnitude slower). The commands run with the
caller's environment minus OMP_* (as in a fresh shell), with HYDRA_IFACE=lo as in every test.

  python3 tests/docs/test_doc_commands.py --concord build/bin/concord [--keep] [--list] [--strict]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_RANKS = 2
TIMEOUT = 600

# (pattern searched in the command, reason): commands that are not run.
SKIPPED = [
    (r"^\./scripts/build\.sh\b", "installs Debian packages, builds the dependencies and Concord: the build under test"),
    (r"^\./scripts/test\.sh\b", "runs the whole test suite, this test included"),
    (r"^\./scripts/validate\.sh\b", "calls scripts/build.sh first; ctest validation_quick runs the same suite (--quick)"),
    (r"(^|[\s;&|])sbatch\s", "needs a Slurm cluster; ctest slurm submits the batch scripts to a private one"),
    (r"^ctest --test-dir build -L slurm\b", "is ctest slurm itself (root, a private Slurm cluster, about 90 s)"),
    (r"^python3 tests/slurm/test_slurm\.py\b", "is ctest slurm itself (root, a private Slurm cluster, about 90 s)"),
    (r"^scripts/build-cuda\.sh\b", "builds Kokkos with CUDA and the CUDA flavour (over an hour on 2 cores)"),
    (r"^scripts/gpu-check\.sh\b", "needs the CUDA build (--bundle builds it) and a GPU machine"),
    (r"^rsync .*gpu-host", "copies to a GPU machine"),
]

# (pattern, reason): commands that fail today because of the program, not the docs.
EXPECTED_FAILURES = [
]

# (pattern, status): commands documented to exit with a status other than 0.
EXPECTED_STATUS = [
]

# README synopsis lines with placeholders (DECK, FILE..., PATH=VALUE) or optional parts
# ([--json]) are a grammar, not commands.
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b|\[--")


class Command:
    def __init__(self, doc, line, text, origin):
        self.doc, self.line, self.text, self.origin = doc, line, text, origin

    def where(self):
        return f"{self.doc}:{self.line}"


def complete(text):
    """True when bash can parse `text` on its own (no open loop, quote or continuation)."""
    r = subprocess.run(["bash", "-n", "-c", text], capture_output=True, text=True)
    return r.returncode == 0


def fenced_blocks(markdown):
    """(language, first line number of the body, body lines) of every fenced code block."""
    blocks, lines, i = [], markdown.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+)\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, language, start, body = m.group(2), m.group(3), i + 2, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        blocks.append((language, start, body))
        i += 1
    return blocks


def shell_commands(doc, start, body):
    """The commands of a bash block: logical lines (backslash continuations joined), merged with the
    following lines while bash cannot parse them alone (a multi-line loop)."""
    commands, pending, first = [], "", None
    for offset, raw in enumerate(body):
        if first is None:
            if not raw.strip() or raw.strip().startswith("#"):
                continue
            first = start + offset
        pending += raw + "\n"
        if raw.rstrip().endswith("\\") or not complete(pending):
            continue
        commands.append(Command(doc, first, pending.strip(), "bash"))
        pending, first = "", None
    if pending.strip():
        commands.append(Command(doc, first, pending.strip(), "bash"))  # runs, and fails with bash's message
    return commands


def synopsis_commands(doc, start, body):
    """Concrete `concord ...` lines of a ```text synopsis: the part before the description (two or
    more spaces), each alternative of `a | b` separately; lines with placeholders are left out."""
    commands = []
    for offset, raw in enumerate(body):
        if not raw.startswith("concord "):
            continue
        usage = re.split(r"\s{2,}", raw.strip())[0]
        for alternative in usage.split(" | "):
            if not PLACEHOLDER.search(alternative):
                commands.append(Command(doc, start + offset, alternative.strip(), "synopsis"))
    return commands


def collect(source):
    docs = [source / "README.md"] + sorted((source / "docs").glob("*.md"))
    commands = []
    for path in docs:
        doc = str(path.relative_to(source))
        for language, start, body in fenced_blocks(path.read_text()):
            if language in ("bash", "sh", "shell"):
                commands += shell_commands(doc, start, body)
            elif language == "text" and doc == "README.md":
                commands += synopsis_commands(doc, start, body)
            elif language == "python":
                commands.append(Command(doc, start, "\n".join(body), "python"))
    return commands


def rule_for(rules, text):
    for rule in rules:
        if re.search(rule[0], text, re.M):
            return rule
    return None


def ranks_of(text):
    """Rank counts given to mpiexec/mpirun/srun in the command."""
    return [int(m.group(2)) for m in re.finditer(r"\b(mpiexec(?:\.\w+)?|mpirun|srun)\b[^;&|]*?\s(?:-n|-np|--ntasks)[\s=](\d+)", text)]


def scratch_for(doc, source, concord, root):
    """A directory with a copy of inputs/, build/bin/concord and bin/concord (on PATH) -> concord."""
    d = root / re.sub(r"[^\w.-]", "_", doc)
    d.mkdir()
    shutil.copytree(source / "inputs", d / "inputs")
    for link in (d / "build" / "bin" / "concord", d / ".bin" / "concord"):
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(concord)
    return d


def environment(scratch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    env["PATH"] = f"{scratch / '.bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["HYDRA_IFACE"] = env.get("HYDRA_IFACE", "lo")
    # `import concord` in the Python snippets: the package as the docs say to reach it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2] / "python"),
                                                     env.get("PYTHONPATH", "")) if p)
    env.pop("CONCORD", None)
    return env


def snippet_python():
    """This interpreter when it has h5py, else Debian's (python3-h5py), as the docs assume."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and subprocess.run([candidate, "-c", "import h5py"], capture_output=True).returncode == 0:
            return candidate
    return sys.executable  # the snippets then fail, saying h5py is missing


def tail(text, lines=30):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def main():
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concord", default=os.environ.get("CONCORD", str(here.parents[1] / "build" / "bin" / "concord")))
    p.add_argument("--source-dir", default=str(here.parents[1]))
    p.add_argument("--keep", action="store_true", help="keep the scratch directories")
    p.add_argument("--list", action="store_true", help="list the commands and what would be done, run nothing")
    p.add_argument("--strict", action="store_true", help="an expected failure that succeeds fails the test")
    args = p.parse_args()
    source = Path(args.source_dir).resolve()
    concord = Path(args.concord).resolve()
    if not os.access(concord, os.X_OK):
        print(f"FAILED: {concord} is not an executable (build Concord first)", file=sys.stderr)
        return 1

    commands = collect(source)
    problems = []
    if not commands:
        problems.append("no commands found in README.md and docs/*.md")
    used = set()
    plan = []
    for c in commands:
        skip = rule_for(SKIPPED, c.text)
        xfail = rule_for(EXPECTED_FAILURES, c.text)
        expected = rule_for(EXPECTED_STATUS, c.text)
        for rule in (skip, xfail, expected):
            if rule:
                used.add(rule[0])
        too_many = [n for n in ranks_of(c.text) if n > MAX_RANKS]
        if too_many and not skip:
            problems.append(f"{c.where()}: `{c.text}` starts {max(too_many)} ranks; the docs' examples must run "
                            f"on a {MAX_RANKS}-core machine (at most {MAX_RANKS} ranks)")
        plan.append((c, skip, xfail, expected))
    for rule in SKIPPED + EXPECTED_FAILURES + EXPECTED_STATUS:
        if rule[0] not in used:
            problems.append(f"the rule {rule[0]!r} matches no documented command: remove it")

    if args.list:
        for c, skip, xfail, expected in plan:
            what = f"skip ({skip[1]})" if skip else f"expected failure ({xfail[1]})" if xfail else \
                f"run, status {expected[1] if expected else 0}"
            print(f"{c.where():28} {what}\n    {c.text}")
        for problem in problems:
            print(f"PROBLEM: {problem}")
        return 1 if problems else 0

    python = snippet_python()
    root = Path(tempfile.mkdtemp(prefix="concord-docs-"))
    scratch = {}
    counts = {"pass": 0, "fail": 0, "skip": 0, "xfail": 0, "xpass": 0}
    t0 = time.monotonic()
    for c, skip, xfail, expected in plan:
        label = f"{c.where()}: " + ("python block" if c.origin == "python" else c.text)
        if skip:
            counts["skip"] += 1
            print(f"SKIP  {label}\n      ({skip[1]})", flush=True)
            continue
        if c.doc not in scratch:
            scratch[c.doc] = scratch_for(c.doc, source, concord, root)
        d = scratch[c.doc]
        t = time.monotonic()
        try:
            run = [python, "-c", c.text] if c.origin == "python" else ["bash", "-o", "pipefail", "-c", c.text]
            r = subprocess.run(run, cwd=d, env=environment(d),
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
            status, output = r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            status = None
            output = f"(timed out after {TIMEOUT} s)\n" + ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        seconds = time.monotonic() - t
        want = expected[1] if expected else 0
        ok = status == want
        if xfail:
            if ok:
                counts["xpass"] += 1
                print(f"XPASS {label} ({seconds:.1f} s)\n      succeeds now: remove its EXPECTED_FAILURES mark "
                      f"({xfail[1]})", flush=True)
                if args.strict:
                    problems.append(f"{label} is marked as an expected failure but succeeds")
            else:
                counts["xfail"] += 1
                print(f"XFAIL {label} (status {status}, {seconds:.1f} s)\n      ({xfail[1]})\n"
                      + "\n".join("      | " + line for line in tail(output, 12).splitlines()), flush=True)
            continue
        if ok:
            counts["pass"] += 1
            print(f"PASS  {label} ({seconds:.1f} s)", flush=True)
        else:
            counts["fail"] += 1
            print(f"FAIL  {label}\n      exit status {status}, documented {want} ({seconds:.1f} s); output:\n"
                  + "\n".join("      | " + line for line in tail(output).splitlines()), flush=True)
            problems.append(f"{label} exited {status} (want {want})")
    if counts["pass"] == 0:
        problems.append("no documented command ran")
    print(f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['xfail']} expected failures, "
          f"{counts['xpass']} unexpectedly passing, {counts['skip']} skipped ({time.monotonic() - t0:.0f} s)")
    if problems:
        print("FAILED:\n  - " + "\n  - ".join(problems), file=sys.stderr)
    if args.keep or problems:
        print(f"scratch directories kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
