#!/usr/bin/env python3
"""Every C++ and CMake code block of the documentation is compiled code.

Each ```cpp (or ```c++) and ```cmake block of README.md and docs/**/*.md must be identical to a
marked region of a file under examples/, which the install_consumer test builds against the
installed package and runs. A region is marked by a line holding only a comment with its name in
brackets, `// [name]` in C++ and `# [name]` in CMake, before and after it. The same name may mark
several pieces of one file (the #include lines at the top and the statements inside main); the
region is the pieces in order, each with its common indentation removed and without the marker
lines of other regions. Regions of .cpp/.hpp files match cpp blocks, those of CMakeLists.txt and
*.cmake files cmake blocks.

Errors: a block that matches no region (the closest region is shown as a diff), an unpaired
marker, and a region that no document quotes (a stale marker).

  python3 tests/docs/test_doc_snippets.py [--source-dir DIR]   # check the repository
  python3 tests/docs/test_doc_snippets.py --self-test          # the checker catches a drifted block
"""
import argparse
import difflib
import re
import sys
import tempfile
import textwrap
from pathlib import Path

FENCE = re.compile(r"^(\s*)```\s*([A-Za-z0-9+_-]*)\s*$")
LANGUAGES = {"cpp": "cpp", "c++": "cpp", "cmake": "cmake"}
MARKER = re.compile(r"^\s*(?://|#)\s*\[([A-Za-z0-9_.-]+)\]\s*$")


def example_language(path):
    if path.name == "CMakeLists.txt" or path.suffix == ".cmake":
        return "cmake"
    if path.suffix in (".cpp", ".hpp", ".h", ".cc"):
        return "cpp"
    return None


def normalise(lines):
    """Lines without trailing blanks, leading and trailing empty lines dropped."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def doc_blocks(path, root):
    """(language, text, 'file:line') of every cpp/cmake block of a Markdown file."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, tag, start = len(m.group(1)), m.group(2).lower(), i + 1
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        if tag in LANGUAGES:
            blocks.append((LANGUAGES[tag], normalise(body), f"{path.relative_to(root)}:{start}"))
    return blocks


def example_regions(examples, root, errors):
    """{(language, name): (text, 'file')} of every marked region under examples/."""
    regions = {}
    for path in sorted(examples.rglob("*")):
        language = example_language(path) if path.is_file() else None
        if language is None:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        markers = [(n, MARKER.match(line).group(1)) for n, line in enumerate(lines) if MARKER.match(line)]
        for name in dict.fromkeys(name for _, name in markers):
            at = [n for n, other in markers if other == name]
            where = f"{path.relative_to(root)}"
            if len(at) % 2:
                errors.append(f"{where}:{at[-1] + 1}: marker [{name}] has no closing marker")
                continue
            pieces = []
            for begin, end in zip(at[0::2], at[1::2]):
                piece = [line for line in lines[begin + 1:end] if not MARKER.match(line)]
                pieces.append(textwrap.dedent("\n".join(piece)))
            key = (language, name)
            if key in regions:
                errors.append(f"{where}: region [{name}] is also marked in {regions[key][1]}")
                continue
            regions[key] = (normalise("\n".join(pieces).split("\n")), where)
    return regions


def check(root):
    """The list of errors for the repository (or test tree) at root."""
    root = Path(root)
    errors = []
    regions = example_regions(root / "examples", root, errors)
    documents = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    quoted = set()
    count = 0
    for document in documents:
        if not document.is_file():
            continue
        for language, text, where in doc_blocks(document, root):
            count += 1
            matches = [key for key, (region, _) in regions.items() if key[0] == language and region == text]
            if matches:
                quoted.update(matches)
                continue
            candidates = [(difflib.SequenceMatcher(None, region, text).ratio(), key)
                          for key, (region, _) in regions.items() if key[0] == language]
            message = f"{where}: this {language} block is no marked region of examples/"
            if candidates:
                _, key = max(candidates)
                region, file = regions[key]
                diff = difflib.unified_diff(region.split("\n"), text.split("\n"), f"{file} [{key[1]}]", where,
                                            lineterm="")
                message += f"; the closest, {file} [{key[1]}], differs:\n" + "\n".join(diff)
            errors.append(message)
    for key, (_, file) in sorted(regions.items()):
        if key not in quoted:
            errors.append(f"{file}: region [{key[1]}] is quoted by no document (remove its markers)")
    return errors, count, len(regions)


def self_test():
    """The checker accepts a quoted region and reports each kind of error."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "examples").mkdir()
        (root / "docs").mkdir()
        (root / "examples" / "a.cpp").write_text(textwrap.dedent("""\
            // [one]
            #include <a.hpp>
            // [one]
            int main() {
              // [one]
              // [two]
              int x = 1;
              // [two]
              return x - 1;
              // [one]
            }
            // [open]
            """))
        (root / "examples" / "CMakeLists.txt").write_text("# [build]\nfind_package(Concord)\n# [build]\n")
        good = "```cpp\n#include <a.hpp>\nint x = 1;\nreturn x - 1;\n```\n"
        drifted = "```cpp\nint x = 2;\n```\n"
        (root / "README.md").write_text("# A\n\n" + good + "\n```cmake\nfind_package(Concord)\n```\n")
        (root / "docs" / "b.md").write_text("text\n\n" + drifted + "\n```cmake\nint x = 1;\n```\n")
        errors, count, regions = check(root)
        expected = [
            "examples/a.cpp:12: marker [open] has no closing marker",
            "docs/b.md:3: this cpp block is no marked region of examples/; the closest, examples/a.cpp [two]",
            "docs/b.md:7: this cmake block is no marked region of examples/",
            "examples/a.cpp: region [two] is quoted by no document",
        ]
        ok = count == 4 and regions == 3 and len(errors) == len(expected)
        for want in expected:
            ok = ok and any(error.startswith(want) for error in errors)
        ok = ok and any("-int x = 1;\n+int x = 2;" in error for error in errors)
        (root / "docs" / "b.md").write_text("```cpp\n  int x = 1;\n```\n")  # the indentation counts
        errors, _, _ = check(root)
        ok = ok and any(error.startswith("docs/b.md:1: this cpp block") for error in errors)
        (root / "docs" / "b.md").write_text("  ```cpp\n  int x = 1;\n  ```\n")  # an indented fence's own indent does not
        (root / "examples" / "a.cpp").write_text((root / "examples" / "a.cpp").read_text().replace("// [open]\n", ""))
        errors, _, _ = check(root)
        ok = ok and errors == []
    print("self-test:", "the checker reports every drifted block and bad marker" if ok else "FAILED")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-dir", default=Path(__file__).resolve().parents[2], type=Path)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return 0 if self_test() else 1
    errors, count, regions = check(args.source_dir)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s) in {count} code blocks and {regions} regions of examples/", file=sys.stderr)
        return 1
    print(f"{count} code blocks of README.md and docs/ are marked regions of examples/ ({regions} regions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
