"""(b) Address text → grid on one core, over the province's gazetteer.

The index is loaded from the synthetic database the way the server loads it
(geo.gazetteer.Gazetteer.load). The addresses are drawn by
seeds.address_variants — every way the matters' addresses are written: with or
without province and city, full, short and office names, groups, house numbers,
full-width digits, Chinese numerals, stray spaces — each for a known village,
so every answer is scored: right, ambiguous (a person picks), unmatched (a
person places it), town only (right town, village not told), or wrong (the
worst outcome).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.common import memory_kb, stopwatch
from geo.gazetteer import Gazetteer
from seeds.address_variants import address_variants

_VILLAGES_SQL = text("""
    SELECT v.code, v.name, t.name, c.name, a.alias
    FROM grids v
    JOIN grids t ON t.id = v.parent_id
    JOIN grids c ON c.id = t.parent_id
    LEFT JOIN place_aliases a ON a.code = left(v.code, 4) AND a.alias LIKE '%市'
    WHERE v.level = 'village' AND v.generation_high IS NULL
    ORDER BY v.code""")
OUTCOMES = ("right", "town only", "ambiguous", "unmatched", "wrong")


@contextmanager
def one_core():
    """Pin this process to one CPU (the last) so the figure is per core."""
    allowed = os.sched_getaffinity(0)
    cpu = max(allowed)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, allowed)


def addresses(session: Session, count: int, seed: int = 2026) -> list[tuple[str, str]]:
    """(written address, true village code) pairs, villages drawn uniformly."""
    villages = session.execute(_VILLAGES_SQL).all()
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        code, village, town, county, city = villages[rng.randrange(len(villages))]
        pairs.append((address_variants(rng, county, town, village, city=city), code))
    return pairs


def score(parsed, true_code: str) -> str:
    if parsed.status == "ambiguous":
        return "ambiguous"
    if parsed.status != "matched":
        return "unmatched"
    code = parsed.places[0].code
    if code == true_code:
        return "right"
    if parsed.places[0].level == "town" and true_code.startswith(code[:9]):
        return "town only"
    return "wrong"


def run(engine, count: int = 200_000, log=print) -> dict:
    with one_core() as cpu:
        return _run(engine, count, cpu, log)


def _run(engine, count: int, cpu: int, log) -> dict:
    before = memory_kb()["VmRSS"]
    with Session(engine) as session:
        with stopwatch() as build:
            gaz = Gazetteer.load(session)
        pairs = addresses(session, count)
    index_mb = (memory_kb()["VmRSS"] - before) / 1024
    log(f"(b) gazetteer: {len(gaz.places):,} places, {len(gaz.forms):,} written forms, "
        f"loaded in {build():.1f} s; {len(pairs):,} addresses, on CPU {cpu}")
    parse = gaz.parse
    texts = [a for a, _ in pairs]
    parse(texts[0])
    with stopwatch() as t:
        results = [parse(a) for a in texts]
    outcomes = Counter(score(p, code) for p, (_, code) in zip(results, pairs, strict=True))
    wrong = [(a, p.places[0].code, code) for p, (a, code) in zip(results, pairs, strict=True)
             if score(p, code) == "wrong"][:5]
    result = {"addresses": len(pairs), "seconds": t(), "per_second": len(pairs) / t(),
              "shares": {k: outcomes[k] / len(pairs) for k in OUTCOMES},
              "counts": {k: outcomes[k] for k in OUTCOMES}, "wrong_examples": wrong,
              "load_seconds": build(), "forms": len(gaz.forms), "rss_growth_mb": index_mb}
    log(f"    {result['per_second']:,.0f} addresses per second; "
        + ", ".join(f"{k} {v:.2%}" for k, v in result["shares"].items()))
    for example in wrong:
        log(f"    wrong: {example}")
    return result
