"""`gridlink locate --batch` on the Yunfu demo: addresses a second through the command.

    .venv/bin/python -m bench.locate_batch [--lines 195000] [--repeat 3]

Reads the application's database (the demo must be loaded: `make run` does it) and
writes the demo's spellings (seeds/demo_spellings.py, repeated to --lines) to a
file. Then, pinned to one core:

- the reader alone: Gazetteer.parse over the lines (the ceiling);
- the baseline, in this process: the contract objects as dicts (geo.locate's
  locate_texts, liaisons filled in) and json.dumps of each, as the command wrote
  them before its text was put together from fragments;
- ours: the command itself, `gridlink locate --batch FILE`, run on the file and on
  a one-line file; its marginal rate is lines / (difference of the two times), so
  start-up (imports, the index) is left out. Its output must equal the baseline's,
  byte for byte;
- ours with no line repeated: the file repeats each spelling (--lines over the
  corpus), and the command answers a repeated line once per batch. So it is run
  again on the file with each repeat indented (k spaces before the k-th repeat):
  every line differs, the text read is the same, so are the answers (the input is
  given without its spaces): its rate when nothing repeats.

Each time is the best of --repeat runs (the runs taking turns): on a shared machine
the shortest run is the one least slowed by the others.

Goal: at least 60,000 addresses a second through the command, same answers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench.common import GRIDLINK, load_average
from bench.geocode import one_core
from geo.gazetteer import Gazetteer
from geo.locate import locate_texts
from models.database import database_url
from seeds.demo_spellings import corpus_of, demo_villages

GOAL = 60_000
CHUNK = 5000  # as admin.cli_locate


def _run(path: Path, cpu: int) -> tuple[float, float, bytes]:
    """Wall and CPU seconds of one `gridlink locate --batch`, and what it wrote."""
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run([*GRIDLINK, "locate", "--batch", str(path)], capture_output=True,
                          check=True, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    wall = time.perf_counter() - started
    after = os.times()
    cpu_seconds = (after.children_user - before.children_user
                   + after.children_system - before.children_system)
    return wall, cpu_seconds, done.stdout


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.locate_batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=195_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    engine = create_engine(database_url())
    with Session(engine) as session:
        villages = demo_villages(session)
        if not villages:
            raise SystemExit("no villages in the database: load the demo (gridlink seed demo)")
        spellings = [v.text for v, _ in corpus_of(villages)]
        lines = (spellings * (args.lines // len(spellings) + 1))[:args.lines]
        gaz = Gazetteer.load(session)
        reader = dicts = float("inf")
        with one_core() as cpu:
            for _ in range(args.repeat):
                started = time.perf_counter()
                for line in lines:
                    gaz.parse(line)
                reader = min(reader, time.perf_counter() - started)
                started = time.perf_counter()
                baseline = "".join(
                    "\n".join(json.dumps(a, ensure_ascii=False)
                              for a in locate_texts(session, lines[i:i + CHUNK])) + "\n"
                    for i in range(0, len(lines), CHUNK)).encode()
                dicts = min(dicts, time.perf_counter() - started)
        session.rollback()
    engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        big, one, each = Path(tmp, "lines.txt"), Path(tmp, "one.txt"), Path(tmp, "each.txt")
        big.write_text("\n".join(lines) + "\n", encoding="utf-8")
        one.write_text(lines[0] + "\n", encoding="utf-8")
        each.write_text("".join(" " * (i // len(spellings)) + line + "\n"
                                for i, line in enumerate(lines)), encoding="utf-8")
        _run(one, cpu)  # warm the disk cache and the database
        best = {path: (float("inf"), float("inf")) for path in (one, big, each)}
        written = {}
        for _ in range(args.repeat):
            for path in (one, big, each):
                wall, cpu_seconds, written[path] = _run(path, cpu)
                best[path] = (min(best[path][0], wall), min(best[path][1], cpu_seconds))
        (small_wall, small_cpu), (big_wall, big_cpu), (each_wall, each_cpu) = best.values()
        written, written_each = written[big], written[each]
    n = len(lines) - 1
    ours_wall, ours_cpu = n / (big_wall - small_wall), n / max(1e-9, big_cpu - small_cpu)
    each_rate, each_cpu_rate = n / (each_wall - small_wall), n / max(1e-9, each_cpu - small_cpu)
    rows = [
        ("lines", f"{len(lines):,} ({len(spellings):,} spellings of {len(villages)} villages)"),
        ("reader alone (Gazetteer.parse)", f"{len(lines) / reader:,.0f} addresses/s"),
        ("baseline: dicts + json.dumps", f"{len(lines) / dicts:,.0f} addresses/s"),
        ("ours: gridlink locate --batch", f"{ours_wall:,.0f} addresses/s marginal "
                                          f"(CPU {ours_cpu:,.0f}/s; start-up {small_wall:.1f} s)"),
        ("ours, no line repeated", f"{each_rate:,.0f} addresses/s marginal "
                                   f"(CPU {each_cpu_rate:,.0f}/s)"),
        ("ours ÷ baseline", f"{ours_wall / (len(lines) / dicts):.2f}× "
                            f"(no line repeated: {each_rate / (len(lines) / dicts):.2f}×)"),
        ("same answers as the baseline", "yes, byte for byte" if written == baseline
         == written_each else "NO: the outputs differ"),
        ("goal", f"≥ {GOAL:,}/s: {'met' if ours_wall >= GOAL else 'not met'}, "
                 f"{'met' if each_rate >= GOAL else 'not met'} with no line repeated"),
        ("runs", f"best of {args.repeat}"),
        ("load average (1, 5, 15 min)", load_average()),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))


if __name__ == "__main__":
    main()
