"""`gridlink locate`: the contract object as JSON, one per line, in the input's order,
for the server's operator (phones in full)."""

import json
import re

import pytest
from sqlalchemy import func, select, text

import admin.cli_locate
from geo.gcj02 import wgs84_to_gcj02
from models import Grid

XINGYAN = "445302001003"
XINGYAN_ADDRESS = "云浮市云城区云城街道星岩社区"
GAOCUN = "云安区高村镇高村"
FULL = re.compile(r"\d{11}")
CONTRACT_KEYS = {"input", "status", "grid", "liaison", "method", "confidence", "candidates",
                 "reason", "reason_template", "reason_params", "flags"}


def point_in(session, code: str) -> tuple[float, float]:
    point = func.ST_PointOnSurface(Grid.geom)
    return session.execute(select(func.ST_X(point), func.ST_Y(point))
                           .where(Grid.code == code, Grid.generation_high.is_(None))).one()


def answers(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_an_address(runner):
    result = runner.invoke(args=["locate", XINGYAN_ADDRESS])
    answer, = answers(result)
    assert set(answer) == CONTRACT_KEYS
    assert answer["status"] == "matched" and answer["grid"]["code"] == XINGYAN
    assert answer["grid"]["path"] == ["云城区", "云城街道", "星岩社区"]
    assert FULL.fullmatch(answer["liaison"]["phone"])  # the operator sees it in full
    assert "星岩社区" in result.output  # Chinese as it is, not \\u escapes


def test_an_ambiguous_address_exits_0_with_its_candidates(runner):
    answer, = answers(runner.invoke(args=["locate", GAOCUN]))
    assert answer["status"] == "ambiguous" and len(answer["candidates"]) == 2


def test_an_unknown_address_exits_0_unmatched(runner):
    answer, = answers(runner.invoke(args=["locate", "火星基地一号"]))
    assert answer["status"] == "unmatched" and answer["reason"]


def test_a_point(runner, session):
    lon, lat = point_in(session, XINGYAN)
    answer, = answers(runner.invoke(args=["locate", "--lonlat", f"{lon},{lat}"]))
    assert answer["grid"]["code"] == XINGYAN and answer["method"] == "point"


def test_a_gcj02_point(runner, session):
    lon, lat = (float(v) for v in wgs84_to_gcj02(*point_in(session, XINGYAN)))
    answer, = answers(runner.invoke(args=["locate", "--lonlat", f"{lon},{lat}",
                                          "--crs", "gcj02"]))
    assert answer["grid"]["code"] == XINGYAN


@pytest.mark.parametrize("args", [
    [], ["--lonlat", "112,22.9", "星岩社区"], ["--lonlat", "east,north"],
    ["--lonlat", "112,95"], ["--points", "星岩社区"], ["--lonlat", "112,22.9", "--crs", "bd09"],
])
def test_wrong_usage_exits_2(runner, args):
    result = runner.invoke(args=["locate", *args])
    assert result.exit_code == 2, result.output


def test_a_batch_answers_line_by_line_blank_lines_included(runner, tmp_path):
    lines = [XINGYAN_ADDRESS, "", GAOCUN, "   ", "火星基地一号", XINGYAN_ADDRESS]
    batch = tmp_path / "addresses.txt"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = answers(runner.invoke(args=["locate", "--batch", str(batch)]))
    assert len(found) == len(lines)
    assert [a["input"] for a in found] == lines
    assert all(set(a) == CONTRACT_KEYS for a in found)
    assert [a["status"] for a in found] == [
        "matched", "unmatched", "ambiguous", "unmatched", "unmatched", "matched"]
    assert found[1]["reason"] == "The line is empty."


def test_a_batch_from_stdin_with_windows_line_ends_and_a_bom(runner):
    text = "\ufeff" + XINGYAN_ADDRESS + "\r\n" + GAOCUN + "\r\n"
    found = answers(runner.invoke(args=["locate", "--batch", "-"], input=text.encode("utf-8")))
    assert [a["input"] for a in found] == [XINGYAN_ADDRESS, GAOCUN]
    assert found[0]["grid"]["code"] == XINGYAN


def test_a_batch_of_points(runner, session, tmp_path):
    luoding = session.scalar(select(Grid.code).where(Grid.code.startswith("445381"),
                                                     Grid.level == "village").order_by(Grid.code))
    (lon1, lat1), (lon2, lat2) = point_in(session, XINGYAN), point_in(session, luoding)
    lines = [f"{lon1},{lat1}", "", "not a point", f"{lon2}, {lat2}", "200,10"]
    batch = tmp_path / "points.csv"
    batch.write_text("\n".join(lines), encoding="utf-8")
    found = answers(runner.invoke(args=["locate", "--batch", str(batch), "--points"]))
    assert len(found) == len(lines)
    assert found[0]["grid"]["code"] == XINGYAN and found[3]["grid"]["code"] == luoding
    assert [a["status"] for a in found[1:3]] == ["unmatched", "unmatched"]
    assert found[2]["reason"] == "not a point is not LON,LAT."
    assert found[2]["reason_template"] == "%(text)s is not LON,LAT."
    assert "out of range" in found[4]["reason"]


def test_a_batch_goes_to_the_geocoder_in_chunks(runner, session, tmp_path, monkeypatch):
    calls = []
    real = admin.cli_locate.locate_text_lines

    def counting(session, texts, *rest):
        calls.append(len(texts))
        return real(session, texts, *rest)

    monkeypatch.setattr(admin.cli_locate, "locate_text_lines", counting)
    monkeypatch.setattr(admin.cli_locate, "CHUNK", 3)
    lines = [XINGYAN_ADDRESS, GAOCUN, "", "火星基地一号", "新兴县车岗镇平砂村", "城东路5号",
             "云城街道丰盛村"]
    batch = tmp_path / "addresses.txt"
    batch.write_text("\n".join(lines), encoding="utf-8")
    result = runner.invoke(args=["locate", "--batch", str(batch)])
    found = answers(result)
    assert calls == [2, 3, 1]  # the blank line is answered without asking
    assert [a["input"] for a in found] == lines
    # Chunk after chunk, places and liaisons written once: still the contract's JSON.
    from geo.locate import locate_texts
    written = result.output.splitlines()
    assert [written[i] for i in (0, 1, 3, 4, 5, 6)] == [
        json.dumps(a, ensure_ascii=False) for a in locate_texts(session, lines[:2] + lines[3:])]


def test_a_line_repeated_in_a_batch_is_asked_once_and_answered_the_same(
        runner, tmp_path, monkeypatch):
    calls = []
    real = admin.cli_locate.locate_text_lines

    def counting(session, texts, *rest):
        calls.append(list(texts))
        return real(session, texts, *rest)

    monkeypatch.setattr(admin.cli_locate, "locate_text_lines", counting)
    monkeypatch.setattr(admin.cli_locate, "CHUNK", 3)
    lines = [XINGYAN_ADDRESS, XINGYAN_ADDRESS, GAOCUN, "", GAOCUN, " " + GAOCUN, "",
             XINGYAN_ADDRESS, "火星基地一号"]
    batch = tmp_path / "addresses.txt"
    batch.write_text("\n".join(lines), encoding="utf-8")
    remembered = runner.invoke(args=["locate", "--batch", str(batch)])
    # Twice in a chunk, or again in a later one: asked once. " 高村" is another line.
    assert calls == [[XINGYAN_ADDRESS, GAOCUN], [GAOCUN], ["火星基地一号"]]
    # The memo is bounded: past MEMO_LIMIT lines, a line is asked again.
    monkeypatch.setattr(admin.cli_locate, "MEMO_LIMIT", 1)
    calls.clear()
    bounded = runner.invoke(args=["locate", "--batch", str(batch)])
    assert calls == [[XINGYAN_ADDRESS, GAOCUN], [GAOCUN, GAOCUN], ["火星基地一号"]]
    # The same text as when every line is asked on its own.
    monkeypatch.setattr(admin.cli_locate, "CHUNK", 1)
    monkeypatch.setattr(admin.cli_locate, "MEMO_LIMIT", 0)
    calls.clear()
    alone = runner.invoke(args=["locate", "--batch", str(batch)])
    assert len(calls) == 7
    assert remembered.output == bounded.output == alone.output
    assert [a["input"] for a in answers(remembered)] == [line.strip() or line for line in lines]


def test_the_batch_text_is_the_contract_objects_json(session):
    """The batch writes its JSON from fragments (geo.locate.json_lines): over the
    demo's spellings, standard addresses, a shared edge and points outside, the text
    is exactly json.dumps of the contract objects that the API and the page answer."""
    from geo.locate import locate_point_lines, locate_points, locate_text_lines, locate_texts
    from seeds.demo_spellings import corpus_of, demo_villages
    roads = [f"{county}{road}{number}" for road, number, county in session.execute(text("""
        SELECT a.road, a.number, c.name FROM address_points a
        JOIN grids c ON c.code = a.county_code || '000000' AND c.generation_high IS NULL
        ORDER BY a.road, a.number LIMIT 300"""))]
    texts = [v.text for v, _ in corpus_of(demo_villages(session))[::7]] + roads + [
        GAOCUN, "火星基地一号", "新兴县车岗镇平砂村", "城东路5号", '引号"\\斜杠\t'] + [
        "云城街道丰盛村"]
    dumped = [json.dumps(a, ensure_ascii=False) for a in locate_texts(session, texts)]
    assert [line.decode() for line in locate_text_lines(session, texts)] == dumped
    assert len({json.loads(d)["status"] for d in dumped}) == 3
    edge = session.execute(text("""
        SELECT ST_X(p), ST_Y(p) FROM (
          SELECT (ST_Dump(ST_LineMerge(ST_CollectionExtract(
                     ST_Intersection(a.geom, b.geom), 2)))).geom AS line
          FROM grids a JOIN grids b ON a.code < b.code AND a.geom && b.geom
           AND ST_Intersects(a.geom, b.geom)
          WHERE a.level = 'village' AND b.level = 'village'
            AND a.generation_high IS NULL AND b.generation_high IS NULL
            AND a.code LIKE '445302001%' AND b.code LIKE '445302001%') e
        CROSS JOIN LATERAL ST_PointN(e.line, 2) AS p
        WHERE ST_NPoints(e.line) >= 3 LIMIT 1""")).one()
    points = [point_in(session, XINGYAN), tuple(edge), (0.0, 0.0)]
    dumped = [json.dumps(a, ensure_ascii=False) for a in locate_points(session, points)]
    assert [line.decode() for line in locate_point_lines(session, points)] == dumped
    assert "shared_edge" in dumped[1]


def test_a_batch_follows_the_index_when_a_grid_is_renamed_while_it_runs(
        runner, session, tmp_path, monkeypatch):
    """Answers are remembered for the batch only while the index stays the same."""
    village = session.scalar(Grid.current().where(Grid.name == "丰收村"))
    calls = []
    real = admin.cli_locate.locate_text_lines

    def renaming(s, texts, *rest):
        calls.append(texts)
        if len(calls) == 2:
            village.name = "丰盛村"
            session.flush()
        return real(s, texts, *rest)

    monkeypatch.setattr(admin.cli_locate, "locate_text_lines", renaming)
    monkeypatch.setattr(admin.cli_locate, "CHUNK", 1)
    lines = ["云城街道丰收村", XINGYAN_ADDRESS, "云城街道丰收村", "云城街道丰盛村"]
    batch = tmp_path / "addresses.txt"
    batch.write_text("\n".join(lines), encoding="utf-8")
    first, _, again, written = answers(runner.invoke(args=["locate", "--batch", str(batch)]))
    assert first["status"] == "matched" and first["grid"]["name"] == "丰收村"
    assert len(calls) == 4  # asked again under the new index
    assert again["status"] == "ambiguous" and "village_not_recognised" in again["flags"]
    # The grid written anew from the new index, not as the batch first wrote it.
    assert written["grid"]["code"] == village.code
    assert written["grid"]["name"] == "丰盛村" and written["grid"]["path"][-1] == "丰盛村"
