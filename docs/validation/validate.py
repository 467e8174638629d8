#!/usr/bin/python3
"""Concord's validation suite: every claim of the founding lecture reproduced from Concord's own
runs. Each item runs its decks (docs/validation/decks), reads the HDF5 outputs, draws its figure
into docs/validation/figures and records its measured figures and verdicts in
docs/validation/results/<item>.json; docs/validation.md discusses them.

  docs/validation/validate.py [ITEM...] [--quick] [--concord PATH] [--work DIR]

--quick runs every item at small sizes into WORK (figures and results there too, nothing in
docs/ is touched): the test suite's smoke run. Exit status 1 when a verdict is not reproduced,
2 when a run fails.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import shutil
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True

import common  # noqa: E402

ITEMS = ["consensus", "rho", "finite_time", "heterogeneity", "transient", "speedup", "fashion_mnist",
         "communication", "compression", "directed", "asynchrony"]


def main() -> int:
    root = HERE.parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="*", metavar="ITEM", help=f"items to run (default all): {', '.join(ITEMS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, outputs under --work only")
    parser.add_argument("--concord", default=str(root / "build" / "bin" / "concord"), help="the concord executable")
    parser.add_argument("--work", default=None, help="scratch folder (default build/validation, or build/validation-quick)")
    args = parser.parse_args()
    for item in args.items:
        if item not in ITEMS:
            parser.error(f"unknown item '{item}'; the items are: {', '.join(ITEMS)}")
    items = args.items or ITEMS
    concord = pathlib.Path(args.concord).resolve()
    if not concord.is_file():
        parser.error(f"--concord {concord}: no such executable (build first: scripts/build.sh)")
    work = pathlib.Path(args.work or root / "build" / ("validation-quick" if args.quick else "validation")).resolve()
    figures = work / "figures" if args.quick else HERE / "figures"
    results = work / "results" if args.quick else HERE / "results"
    for d in (work, figures, results):
        d.mkdir(parents=True, exist_ok=True)

    total = time.monotonic()
    failed, broken = [], []
    for item in items:
        module = importlib.import_module(f"items.{item}")
        item_work = work / item
        shutil.rmtree(item_work, ignore_errors=True)
        item_work.mkdir(parents=True)
        ctx = common.Context(concord=concord, work=item_work, figures=figures, quick=args.quick,
                             build=concord.parent.parent)
        print(f"== {item}: {module.TITLE}", flush=True)
        t0 = time.monotonic()
        try:
            measured = module.run(ctx)
        except (common.ValidationError, OSError) as e:
            print(f"validate: {item}: {e}", file=sys.stderr, flush=True)
            broken.append(item)
            continue
        seconds = time.monotonic() - t0
        record = {"item": item, "title": module.TITLE, "quick": args.quick, "seconds": round(seconds, 1),
                  "runs": ctx.runs, "checks": ctx.checks, "measured": measured}
        tmp = results / f".{item}.json.tmp"
        tmp.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
        tmp.replace(results / f"{item}.json")
        bad = [c for c in ctx.checks if not c["reproduced"]]
        if bad:
            failed.append(item)
        print(f"   {item}: {len(ctx.checks) - len(bad)}/{len(ctx.checks)} verdicts reproduced, {ctx.runs} runs, "
              f"{seconds:.0f} s", flush=True)
    print(f"validate: {len(items)} items in {time.monotonic() - total:.0f} s; figures in {figures}, results in {results}")
    if broken:
        print(f"validate: runs failed in: {', '.join(broken)}", file=sys.stderr)
        return 2
    if failed:
        print(f"validate: verdicts not reproduced in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
