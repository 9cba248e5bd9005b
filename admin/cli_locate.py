"""`gridlink locate`: which grid answers for an address or a point, as JSON.

For the server's operator: the answer is the geocoder's own, for the whole city,
phone numbers in full. A batch reads one address (or LON,LAT with --points) per
line and writes one JSON object per line, in the same order: a blank or unreadable
line gets an "unmatched" object saying why, so output line N answers input line N.
Lines go to the geocoder in chunks, so a file of 100,000 lines is a few set-based
lookups rather than 100,000 queries; a line repeated in the file is asked once. The
output is UTF-8, whatever the terminal's encoding, as JSON text exchanged should be.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice

import click
from flask.cli import with_appcontext

from admin.api import EMPTY_ADDRESS, LOCATE_CRS, unmatched
from geo.gazetteer import gazetteer
from geo.gcj02 import gcj02_to_wgs84
from geo.locate import (
    BatchText,
    locate_point,
    locate_point_lines,
    locate_text,
    locate_text_lines,
)
from models import db
from models.grids import N_

CHUNK = 5000
# Answers kept for lines repeated later in a batch (under a kilobyte each).
MEMO_LIMIT = 100_000
EMPTY_LINE = N_("The line is empty.")
NOT_LONLAT = N_("%(text)s is not LON,LAT.")
OUT_OF_RANGE = N_("%(text)s is out of range: longitude −180 to 180, latitude −90 to 90.")


class NotAPoint(ValueError):
    def __init__(self, template: str, text: str):
        self.template, self.text = template, text
        super().__init__(template % {"text": text})


def parse_lonlat(text: str, crs: str = "wgs84") -> tuple[float, float]:
    """"LON,LAT" (WGS84, or GCJ-02 converted) → (lon, lat); NotAPoint saying why not."""
    parts = text.replace("，", ",").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise NotAPoint(NOT_LONLAT, text) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # also refuses nan
        raise NotAPoint(OUT_OF_RANGE, text)
    if crs == "gcj02":
        lon, lat = (float(v) for v in gcj02_to_wgs84(lon, lat))
    return lon, lat


def _located(session, lines: list[str], points: bool, crs: str,
             memo: dict[str, bytes], writer: BatchText) -> list[bytes]:
    """One chunk, as JSON lines: the lines that can be asked go to the geocoder at
    once; the others keep their place with the reason they were not asked. A line
    answered before in the batch (memo) is not asked again, nor twice in one chunk."""
    answers: list[bytes | None] = [None] * len(lines)
    asked, where, again = [], {}, []  # where: each line asked → its place in the chunk
    known = memo.get
    for i, line in enumerate(lines):
        answer = known(line)
        if answer is not None:
            answers[i] = answer
            continue
        if line in where:
            again.append((i, line))
            continue
        text = line.strip()
        if not text:
            answers[i] = _remember(memo, line, _json(unmatched(line, EMPTY_LINE)).encode())
            continue
        if points:
            try:
                text = parse_lonlat(text, crs)
            except NotAPoint as e:
                answers[i] = _remember(memo, line, _json(unmatched(
                    line, e.template, text=e.text)).encode())
                continue
        asked.append(text)
        where[line] = i
    if asked:
        rebuilt = writer.rebuilt
        found = (locate_point_lines if points else locate_text_lines)(session, asked, writer)
        for i, answer in zip(where.values(), found, strict=True):
            answers[i] = answer
        if writer.rebuilt != rebuilt:  # the index changed (a grid renamed): ask again
            memo.clear()
        memo.update(islice(zip(where, found, strict=True), max(0, MEMO_LIMIT - len(memo))))
    for i, line in again:
        answers[i] = answers[where[line]]
    return answers


def _remember(memo: dict[str, bytes], line: str, answer: bytes) -> bytes:
    if len(memo) < MEMO_LIMIT:
        memo[line] = answer
    return answer


def locate_lines(session, lines: Iterable[str], points: bool = False,
                 crs: str = "wgs84") -> Iterator[list[bytes]]:
    """One JSON answer per line (UTF-8), in order, CHUNK lines at a time. A line is
    answered once per batch, while the index stays the same: the same text means the
    same place, and a grid's liaison is read once per batch (geo.locate.BatchText)."""
    memo: dict[str, bytes] = {}
    writer = BatchText(session)
    lines = iter(lines)
    while batch := [line.rstrip("\r\n") for line in islice(lines, CHUNK)]:
        yield _located(session, batch, points, crs, memo, writer)


def _json(answer: dict) -> str:
    return json.dumps(answer, ensure_ascii=False)


@click.command("locate", help="Which grid answers for an address, a point (--lonlat) or "
               "every line of a file (--batch): JSON, one object per line, phones in full.")
@click.argument("address", required=False)
@click.option("--lonlat", help="LON,LAT (WGS84 unless --crs).")
@click.option("--batch", type=click.File("r", encoding="utf-8-sig", lazy=False),
              help="A file with one address per line (LON,LAT with --points); - for stdin.")
@click.option("--points", is_flag=True, help="The --batch file holds LON,LAT lines.")
@click.option("--crs", type=click.Choice(LOCATE_CRS), default="wgs84", show_default=True,
              help="Coordinates of --lonlat and --points (gcj02: AMap, Tencent).")
@with_appcontext
def locate(address, lonlat, batch, points, crs):
    given = [name for name, value in (("ADDRESS", address), ("--lonlat", lonlat),
                                      ("--batch", batch)) if value is not None]
    if len(given) != 1:
        raise click.UsageError("give one of ADDRESS, --lonlat LON,LAT or --batch FILE")
    if points and batch is None:
        raise click.UsageError("--points goes with --batch")
    session = db.session
    if batch is not None:
        # The index is a few million long-lived objects; a batch makes garbage fast, and
        # each full collection would walk the index again: set it aside from the
        # collector first (a fifth more addresses a second, bench/locate_batch.py).
        gazetteer(session)
        gc.collect()
        gc.freeze()
        out = sys.stdout.buffer
        for answers in locate_lines(session, batch, points, crs):
            out.write(b"\n".join(answers) + b"\n")  # one write per chunk, UTF-8 as JSON is
        return
    if lonlat is not None:
        try:
            lon, lat = parse_lonlat(lonlat, crs)
        except NotAPoint as e:
            raise click.BadParameter(str(e), param_hint="--lonlat") from None
        click.echo(_json(locate_point(session, lon, lat)))
        return
    click.echo(_json(locate_text(session, address.strip()) if address.strip()
                     else unmatched(address, EMPTY_ADDRESS)))
