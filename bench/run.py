"""The province-scale benchmark in one run: `make bench`, or

    .venv/bin/python -m bench.run [--database gridlink_synthetic] [--only a,b,c,d]

(a) assigning a million matters from stored points, against the floor (one
    set-based PostGIS join) and the naive way (one ORM query per point);
(b) address text → grid on one core, with the variants people write;
(c) /api/v1/locate under a bounded local load, as ratios to a trivial endpoint;
(d) a serving worker's peak resident memory with the province's gazetteer;
(e) the peak memory of a boundary import, command and upload page, on the nastiest
    files the limits accept (its own throwaway database: `python -m bench.limits`);
(i) a liaison's 我的事项 (home page) on a worked copy of the province, as ratios to a
    trivial endpoint (`python -m bench.my_matters`);
(j) recording an outcome with a 5 MB photo, server time, against the same form
    without it (its own throwaway database: `python -m bench.outcome_photo`);
(k) the matter list with a million matters for an admin, a court officer and a town
    liaison, against the list as Flask-Admin makes it by default, in the same run
    (two copies of the worked province: `python -m bench.matter_list`);
(l) the committee maps' first view and moves in headless Chromium, against the naive
    folium map of every village in the same run (a copy of the worked province, its
    shapes kept when it has them: `python -m bench.committee_map --keep-shapes`).

The synthetic province is built first (`gridlink seed synthetic`, about three
minutes) when its database is missing. (a) rolls back; (c) leaves one revoked API token.
`--json FILE` also writes every figure. Figures of a full run: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time

from bench import (
    assign,
    committee_map,
    geocode,
    limits,
    matter_list,
    my_matters,
    outcome_photo,
    serve,
)
from bench.common import engine_for, ensure_province, load_average, machine, synthetic_url

GOALS = {"a": "ours ≤ 1.0× the floor", "b": "≥ 100,000 addresses/s on one core",
         "c": "locate p50 and p99 ≤ 2× a trivial endpoint", "d": "≤ 1 GB per worker",
         "e": f"≤ {limits.GOAL_MB} MB per import",
         "i": f"我的事项 p50 and p99 ≤ {my_matters.GOAL:g}× a trivial endpoint",
         "j": f"an outcome with a 5 MB photo ≤ {outcome_photo.GOAL_S:g} s on the server",
         "k": f"the matter list ≥ {matter_list.FASTER:g}× faster than Flask-Admin's default "
              f"and ≤ {matter_list.NEAR_TRIVIAL:g}× a trivial endpoint, at p50",
         "l": "the maps' first view ≤ 1 MB, ≥ 100× smaller and ≥ 10× faster to draw than "
              "the naive map; each move ≤ 150 KB"}


def summary(results: dict, info: dict) -> list[str]:
    rows = [("machine", ", ".join(f"{k} {v}" for k, v in info.items()))]
    if "a" in results:
        a = results["a"]
        floor, ours, naive = a["floor"]["seconds"], a["ours"]["seconds"], a["naive"]["seconds"]
        join = a["ours"]["steps"]["ranked"]
        rows += [
            *((f"(a) floor, {way}", f"{f['seconds']:.2f} s for {a['points']:,} points "
                                     f"({f['plan']})") for way, f in a["floors"].items()),
            ("(a) floor: the faster of those", f"{floor:.2f} s ({a['floor']['way']})"),
            ("(a) ours: assign_stored_points", f"{ours:.1f} s = {ours / floor:.1f}× the floor "
                                               f"for {a['matters']:,} matters"),
            ("(a)   of which locating (ranked)", f"{join:.2f} s = {join / floor:.2f}× the floor "
                                                 f"({a['ours']['plan']})"),
            ("(a)   of which writing", f"{ours - join:.1f} s (assignments, addresses, states)"),
            ("(a) naive: ORM query per point", f"{naive:.0f} s = {naive / floor:.0f}× the floor "
                                               f"(extrapolated from {a['naive']['sample']:,})"),
            ("(a) ours agrees with the floor", f"{a['check']['addresses_differing_from_floor']} "
                                               "addresses differ"),
        ]
    if "b" in results:
        b = results["b"]
        rows += [("(b) address text → grid, 1 core", f"{b['per_second']:,.0f} addresses/s"),
                 ("(b) outcomes", ", ".join(f"{k} {v:.2%}" for k, v in b["shares"].items()))]
    if "c" in results:
        c = results["c"]
        me = c["endpoints"]["me"]
        rows.append(("(c) /api/v1/me (trivial)", f"p50 {me['p50_ms']:.1f} ms, "
                                                 f"p99 {me['p99_ms']:.1f} ms"))
        for name in ("locate address", "locate lon/lat"):
            e = c["endpoints"][name]
            rows.append((f"(c) {name}", f"p50 {e['p50_ms']:.1f} ms ({e['p50_ratio']:.2f}×), "
                                        f"p99 {e['p99_ms']:.1f} ms ({e['p99_ratio']:.2f}×)"))
        rows.append(("(d) worker peak memory (VmHWM)",
                     f"{c['memory']['peak_worker_hwm_mb']:.0f} MB"))
    if "e" in results:
        rows += limits.summary(results["e"])
    if "i" in results:
        rows += my_matters.summary(results["i"])
    if "j" in results:
        rows += outcome_photo.summary(results["j"])
    if "k" in results:
        rows += matter_list.summary(results["k"])
    if "l" in results:
        rows += committee_map.summary(results["l"])
    rows.append(("load average (1, 5, 15 min)", load_average()))
    width = max(len(k) for k, _ in rows)
    return [f"{k:<{width}}  {v}" for k, v in rows]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="gridlink_synthetic",
                        help="the synthetic province's own database (built if missing)")
    parser.add_argument("--only", default="a,b,c,d,e,i,j,k,l", help="parts to run, e.g. a,b")
    parser.add_argument("--addresses", type=int, default=200_000, help="(b) how many")
    parser.add_argument("--requests", type=int, default=2000, help="(c) per endpoint")
    parser.add_argument("--concurrency", type=int, default=4, help="(c) clients")
    parser.add_argument("--json", dest="json_path", help="write every figure here too")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    results, info = {}, {}
    if "e" in parts:  # first: it needs no province, only its own throwaway database
        results["e"] = limits.run()
    if "j" in parts:  # its own throwaway database too
        results["j"] = outcome_photo.run()
    if not parts & {"a", "b", "c", "d", "i", "k", "l"}:
        return _finish(results, info, parts, args.json_path)
    url = synthetic_url(args.database)
    ensure_province(url)
    engine = engine_for(url)
    info = machine(engine)
    print(f"benchmark on {args.database}, {time.strftime('%Y-%m-%d %H:%M')}, load average "
          f"{load_average()}")
    # (a) comes last: a million rows written and rolled back leave autovacuum and the
    # checkpointer busy for minutes, which would slow whatever ran next.
    if parts & {"c", "d"}:
        results["c"] = serve.run(engine, url, concurrency=args.concurrency,
                                 count=args.requests)
    if "i" in parts:
        results["i"] = my_matters.run(concurrency=args.concurrency)
    if "k" in parts:  # after (i), which makes the worked copy it copies
        results["k"] = matter_list.run(concurrency=args.concurrency)
    if "l" in parts:  # after (i) too: its copy is made from the worked province
        results["l"] = committee_map.run(skip_naive=False, keep_shapes=True)
    if "b" in parts:
        results["b"] = geocode.run(engine, count=args.addresses)
    if "a" in parts:
        results["a"] = assign.run(engine)
    engine.dispose()
    _finish(results, info, parts, args.json_path)


def _finish(results: dict, info: dict, parts: set, json_path: str | None) -> None:
    print("\nsummary (goals: " + "; ".join(f"({k}) {v}" for k, v in GOALS.items()
                                          if k in parts) + ")")
    for line in summary(results, info):
        print(line)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"machine": info, "results": results}, f, ensure_ascii=False, indent=1,
                      default=str)


if __name__ == "__main__":
    main()
