"""The demo's geocoder figures: how each kind of spelling comes out, on the Yunfu demo.

    .venv/bin/python -m bench.spellings

Reads the application's database (the demo must be loaded: `make run` does it),
draws the 39,000 spellings of seeds/demo_spellings.py and prints, for the names
alone (Gazetteer.parse) and with the standard addresses (geo.locate), the share
of each outcome by kind of spelling, then a few wrong and unmatched examples.
tests/test_geocoder_variants.py holds the floors these figures sit above.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from geo.gazetteer import Gazetteer
from geo.locate import resolve_texts
from models.database import database_url
from seeds.demo_spellings import (
    AMBIGUOUS_WITHOUT,
    OK,
    TOWN_ONLY,
    UNMATCHED,
    WRONG,
    corpus_of,
    demo_villages,
    examples,
    parsed_outcome,
    share,
    tally,
)


def report(corpus, parsed, resolved) -> list[str]:
    lines = []
    for label, outcomes in (("names", parsed), ("with standard addresses", resolved)):
        by = tally(corpus, outcomes)
        total = by["all", "all"]
        n = sum(total.values())
        lines.append(f"\n{label}: {n} spellings: " + ", ".join(
            f"{k} {v} ({v / n:.2%})" for k, v in total.most_common()))
        for key in sorted(k for k in by if k[0] != "all"):
            c = by[key]
            lines.append(f"  {key[0]:22} {key[1]:12} {sum(c.values()):6}  right "
                         f"{share(c):.2%}  "
                         + ", ".join(f"{k} {v}" for k, v in c.most_common() if k != OK))
    lines.append("\nwrong (standard addresses):")
    lines += [f"  {e}" for e in examples(corpus, resolved, {WRONG}, 8)]
    determinable = [i for i, (_, fitting) in enumerate(corpus) if len(fitting) == 1]
    lines.append("\nunmatched (determinable):")
    lines += [f"  {e}" for e in examples([corpus[i] for i in determinable],
                                         [parsed[i] for i in determinable],
                                         {UNMATCHED, AMBIGUOUS_WITHOUT, TOWN_ONLY}, 12)]
    return lines


def main() -> None:
    engine = create_engine(database_url())
    with Session(engine) as session:
        villages = demo_villages(session)
        if not villages:
            raise SystemExit("no villages in the database: load the demo (gridlink seed demo)")
        gaz = Gazetteer.load(session)
        corpus = corpus_of(villages)
        started = time.perf_counter()
        parsed = [parsed_outcome(gaz.parse(v.text), v.code, fitting) for v, fitting in corpus]
        parse_seconds = time.perf_counter() - started
        answers = resolve_texts(session, gaz, [v.text for v, _ in corpus])
        resolved = [parsed_outcome(p, v.code, fitting)
                    for p, (v, fitting) in zip(answers, corpus, strict=True)]
        session.rollback()
    engine.dispose()
    print(f"{len(villages)} villages, {len(corpus):,} spellings, "
          f"names read in {parse_seconds:.1f} s")
    print("\n".join(report(corpus, parsed, resolved)))


if __name__ == "__main__":
    main()
