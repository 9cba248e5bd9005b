"""The geocoder against addresses written the many ways people write them.

Safety first: for every spelling the answer is `matched` with exactly the right
grid, `ambiguous` with the right grid among the candidates, or `unmatched`. A
match to any other grid is the worst outcome and must never happen. (A match to
the right village's own town is counted apart as "town only": coarse, not wrong.)

The corpus (seeds/demo_spellings.py) is generated, deterministically, from the
grids in the database (all 975 villages of seeds/yunfu-divisions.tsv): province
and city or not, county, town and village in full, short or office form (罗定/罗定市,
河口/河口街道/河口街道办事处/河口镇, 城北/城北村/城北村委会/城北村民委员会,
星岩/星岩社区/星岩居委会/星岩居民委员会), a villagers' group or a house number after
the village (三组, 第3村民小组, 十二队, 12号, １２号, 12-3号), a landmark (旁边小卖部),
a label in front (户籍地：, 住址:, 现住), stray spaces and punctuation (，、- · and the
full-width space), full-width digits.

Each spelling also carries what a careful reader can tell from it: the villages
that fit every name written, in its role (the county, the town, the village).
One → the geocoder should say which (coverage floors below); several → it must
say ambiguous, never pick one of them silently. The figures behind the floors:
`python -m bench.spellings`.

The corpus is parsed by Gazetteer.parse (pure Python) and then, once more,
through geo.locate.resolve_texts, which adds the standard addresses (road +
number) from the database. Specific cases and the adversarial finds follow; each
wrong match ever found is a test here, so it cannot come back.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.gazetteer import Gazetteer
from geo.locate import locate_point, locate_points, locate_text, locate_texts, resolve_texts
from models import db
from seeds.demo import read_divisions
from seeds.demo_names import village_name
from seeds.demo_spellings import (
    AMBIGUOUS,
    AMBIGUOUS_WITHOUT,
    OK,
    SILENT_PICK,
    WRONG,
    Variant,
    Village,
    corpus_of,
    demo_villages,
    examples,
    parsed_outcome,
    share,
    tally,
    town_forms,
    village_forms,
)

# -- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reading(app):
    """A read-only session on the committed demo, for the module's corpus."""
    with app.app_context():
        engine = db.engine
    with Session(engine) as s:
        yield s
        s.rollback()


@pytest.fixture(scope="module")
def gaz(reading) -> Gazetteer:
    """Built from the database rows (grids, aliases, roads), as the app builds it."""
    return Gazetteer.load(reading)


@pytest.fixture(scope="module")
def villages(reading) -> list[Village]:
    return demo_villages(reading)


@pytest.fixture(scope="module")
def corpus(villages) -> list[tuple[Variant, list[str]]]:
    return corpus_of(villages)


@pytest.fixture(scope="module")
def parsed(gaz, corpus) -> list[str]:
    return [parsed_outcome(gaz.parse(v.text), v.code, fitting) for v, fitting in corpus]


@pytest.fixture(scope="module")
def resolved(reading, gaz, corpus) -> list[str]:
    """The same corpus through geo.locate: standard addresses looked up in one query."""
    answers = resolve_texts(reading, gaz, [v.text for v, _ in corpus])
    return [parsed_outcome(p, v.code, fitting) for p, (v, fitting) in zip(answers, corpus,
                                                                           strict=True)]


# -- the demo is all there ----------------------------------------------------------------

def test_every_village_of_the_tsv_is_a_grid(villages):
    names, tree = read_divisions()
    expected = Counter((names[a], t, village_name(v)) for a in tree for t in tree[a]
                       for v in tree[a][t])
    assert Counter((v.county, v.town, v.name) for v in villages) == expected
    assert len(villages) == 975


# -- the corpus: safety, then coverage ----------------------------------------------------

def test_no_spelling_is_matched_to_another_grid_by_the_names(corpus, parsed):
    """Gazetteer.parse alone: today 0 wrong of 39,000 spellings."""
    assert len(corpus) >= 39_000
    assert examples(corpus, parsed, {WRONG}) == []


def test_a_name_that_fits_several_villages_is_never_picked_silently(corpus, parsed):
    """Several villages fit what is written (古田村 without its town; 高村镇高村; 郁南历洞历洞,
    where 历洞 is both 历洞村 and 历洞社区 of 历洞镇): never `matched`. Today: none."""
    assert examples(corpus, parsed, {SILENT_PICK}) == []


def test_coverage_floors_of_the_names(corpus, parsed):
    """Of the spellings where exactly one village fits what is written, matched right
    (today, 39,000 spellings; the floors sit just under today's figures):

    - county + town + village, each in any form: 99.25 % (the issue's floor is 99.0 %). The
      rest: 0.72 % ambiguous, mostly 思劳思劳 / 高峰高峰 (the short name of both a 村 and a
      社区 of the town), and a few town only (镇安镇安 written without 社区).
    - town + village, no county: 99.8 %;  county + village, no town: 99.5 %;
    - the village alone in a full or office form, a name found once in the city: 100 %;
      alone in its short form (城北, 星岩): 0 % by design (too weak to route on: ambiguous).
    """
    by = tally(corpus, parsed)
    floors = {"county+town+village": 0.99, "town+village": 0.985, "county+village": 0.99,
              "village alone": 0.995}
    for k, floor in floors.items():
        assert share(by[k, "determinable"]) >= floor, (k, by[k, "determinable"])
        assert share(by[k, "determinable"], AMBIGUOUS_WITHOUT) < 0.005, (k, by[k, "determinable"])
    short = by["village alone, short", "determinable"]
    assert short[OK] + short[AMBIGUOUS] == sum(short.values())


def test_no_spelling_is_matched_to_another_grid_at_all(corpus, resolved):
    """geo.locate on the whole corpus: a road name inside the town's or village's name
    (双东街道 → 双东街, 通门 + 街坊村 → 通门街) is not a standard address."""
    assert examples(corpus, resolved, {WRONG}) == []


def test_an_ambiguous_answer_lists_the_right_grid_or_none(corpus, parsed):
    assert examples(corpus, parsed, {AMBIGUOUS_WITHOUT}) == []


# -- standard addresses and points through SQL --------------------------------------------

def test_every_standard_address_finds_the_village_it_lies_in(session):
    rows = session.execute(text("""
        SELECT a.road, a.number, c.name, min(g.code)
        FROM address_points a
        JOIN grids c ON c.code = a.county_code || '000000' AND c.generation_high IS NULL
        JOIN grids g ON g.level = 'village' AND g.generation_high IS NULL
         AND ST_Covers(g.geom, a.geom)
        GROUP BY a.road, a.number, c.name ORDER BY 3, 1, 2""")).all()
    assert len(rows) > 1000
    answers = locate_texts(session, [f"{county}{road}{number}" for road, number, county, _ in rows])
    bad = [(a["input"], a["status"], a["grid"] and a["grid"]["code"], code)
           for a, (*_, code) in zip(answers, rows, strict=True)
           if not (a["status"] == "matched" and a["grid"]["code"] == code
                   and a["method"] == "address_point")]
    assert bad == []


def test_a_point_inside_each_village_finds_it(session):
    rows = session.execute(text("""
        SELECT code, ST_X(p), ST_Y(p) FROM (
          SELECT code, ST_PointOnSurface(geom) AS p FROM grids
          WHERE level = 'village' AND generation_high IS NULL) q ORDER BY code""")).all()
    answers = locate_points(session, [(x, y) for _, x, y in rows])
    assert [(a["status"], a["grid"]["code"]) for a in answers] == [("matched", c)
                                                                   for c, *_ in rows]


def test_a_point_on_a_shared_edge_goes_to_the_lowest_code_flagged(session):
    """A vertex inside the boundary two villages share (not an end: no third village)."""
    a, b, x, y = session.execute(text("""
        SELECT a.code, b.code, ST_X(p), ST_Y(p) FROM (
          SELECT a.code AS ac, b.code AS bc,
                 (ST_Dump(ST_LineMerge(ST_CollectionExtract(
                     ST_Intersection(a.geom, b.geom), 2)))).geom AS line
          FROM grids a JOIN grids b ON a.code < b.code AND a.geom && b.geom
           AND ST_Intersects(a.geom, b.geom)
          WHERE a.level = 'village' AND b.level = 'village'
            AND a.generation_high IS NULL AND b.generation_high IS NULL
            AND a.code LIKE '445302001%' AND b.code LIKE '445302001%') e
        JOIN grids a ON a.code = e.ac AND a.generation_high IS NULL
        JOIN grids b ON b.code = e.bc AND b.generation_high IS NULL
        CROSS JOIN LATERAL ST_PointN(e.line, 2) AS p
        WHERE ST_NPoints(e.line) >= 3
        ORDER BY a.code, b.code LIMIT 1""")).one()
    answer = locate_point(session, x, y)
    assert answer["status"] == "matched" and answer["grid"]["code"] == a
    assert answer["flags"] == ["shared_edge"]
    assert [c["code"] for c in answer["candidates"]] == [a, b]


@pytest.mark.parametrize("lon, lat", [(113.2644, 23.1291), (112.9389, 28.2282), (0.0, 0.0),
                                      (112.0, 30.0)])
def test_a_point_outside_the_city_is_unmatched(session, lon, lat):
    answer = locate_point(session, lon, lat)
    assert answer["status"] == "unmatched" and answer["grid"] is None and answer["reason"]


# -- specific cases -----------------------------------------------------------------------

NAMES, TREE = read_divisions()
PLACES = [(NAMES[a], t, village_name(v)) for a in TREE for t in TREE[a] for v in TREE[a][t]]
TOWNS_OF: dict[str, list[tuple[str, str]]] = defaultdict(list)
for _county, _town, _village in PLACES:
    TOWNS_OF[_village].append((_county, _town))
TOWN_WRITTEN_IN = Counter(form for town in {(c, t) for c, t, _ in PLACES}
                          for form in town_forms(town[1]))
TOWN_WRITTEN_IN = {t: TOWN_WRITTEN_IN[t] for _, t, _ in PLACES}
DUPLICATED = sorted(name for name, towns in TOWNS_OF.items()
                    if len({t for t in towns}) > 1)


def codes_of(answer: dict) -> list[str]:
    return [c["code"] for c in answer["candidates"]]


def grid_code(session, *path: str) -> list[str]:
    """The codes of the villages (or town) with this county › town › village path."""
    return list(session.scalars(text("""
        SELECT g.code FROM grids g JOIN grids t ON t.id = g.parent_id
        JOIN grids c ON c.id = t.parent_id
        WHERE g.generation_high IS NULL AND c.name = :c AND t.name = :t AND g.name = :v
        ORDER BY g.code"""), {"c": path[0], "t": path[1], "v": path[2]}))


def test_fifty_village_names_exist_in_two_towns():
    assert len(DUPLICATED) == 50


@pytest.mark.parametrize("name", DUPLICATED)
def test_a_duplicated_name_without_its_town_is_ambiguous(session, name):
    expected = sorted(c for county, town in set(TOWNS_OF[name])
                      for c in grid_code(session, county, town, name))
    for written in (name, name + "三组", "云浮市" + name, "广东省云浮市" + name + "12号"):
        answer = locate_text(session, written)
        assert answer["status"] == "ambiguous", (written, answer)
        assert set(expected) <= set(codes_of(answer)), written
        # nothing else but a town of that name (高村 is also 高村镇 written short)
        assert all(c in expected or c.endswith("000") for c in codes_of(answer)), written


@pytest.mark.parametrize("name", DUPLICATED)
def test_a_duplicated_name_with_its_town_is_matched(session, name):
    for county, town in sorted(set(TOWNS_OF[name])):
        codes = grid_code(session, county, town, name)
        if len(codes) > 1:
            continue  # 高村镇's two 高村: test_gaocun_of_gaocun_town_is_ambiguous
        for written in (county + town + name, town + name + "五组", f"{county} {town}，{name}"):
            if county not in written and (TOWN_WRITTEN_IN[town] > 1 or town == "河口街道"):
                continue  # 太平镇: 新兴县's and 罗定市's; 河口镇: 郁南县's, or 河口街道 as 镇;
                # 河口街道: test_hekou_street_is_not_hekou_town
            answer = locate_text(session, written)
            assert answer["status"] == "matched", (written, answer)
            assert answer["grid"]["code"] == codes[0], written


@pytest.mark.parametrize("written", ["河口街道河口社区五组", "河口街道办事处河口居委会"])
def test_hekou_street_is_not_hekou_town(session, written):
    answer = locate_text(session, written)
    assert answer["status"] == "matched", answer["reason"]
    assert answer["grid"]["path"] == ["云城区", "河口街道", "河口社区"]


@pytest.mark.parametrize("written", ["云安区高村镇高村", "高村镇高村", "云安高村镇高村三组"])
def test_gaocun_of_gaocun_town_is_ambiguous(session, written):
    """高村镇 really has two divisions named 高村."""
    answer = locate_text(session, written)
    assert answer["status"] == "ambiguous"
    assert sorted(codes_of(answer)) == grid_code(session, "云安区", "高村镇", "高村")


def test_the_old_name_yunan_county_works(session):
    for county, town, village in PLACES:
        if county == "云安区" and TOWNS_OF[village] == [(county, town)]:
            break
    meant = grid_code(session, county, town, village)[0]
    for written in (f"云安县{town}{village}", f"广东省云浮市云安县{town}{village}三组",
                    f"云安县{village}"):
        answer = locate_text(session, written)
        assert answer["status"] == "matched" and answer["grid"]["code"] == meant, written
    assert locate_text(session, "云安县")["status"] == "unmatched"  # a county alone


@pytest.mark.parametrize("written", [
    "广州市天河区城北村", "广东省广州市越秀区", "湖南省长沙市岳麓区城北村", "湖南邵阳新兴县",
    "广西壮族自治区梧州市", "深圳市南山区", "北京市朝阳区"])
def test_an_address_outside_the_served_area_is_unmatched_with_the_reason(session, written):
    answer = locate_text(session, written)
    assert answer["status"] == "unmatched" and answer["grid"] is None
    assert "outside the served area" in answer["reason"]


@pytest.mark.parametrize("written", ["火星", "火星基地一号", "", "   ", "12号", "五组",
                                     "旁边小卖部"])
def test_nothing_recognisable_is_unmatched_with_the_reason(session, written):
    answer = locate_text(session, written)
    assert answer["status"] == "unmatched" and answer["reason"]


def test_a_village_under_the_wrong_town_is_never_matched(gaz, villages):
    """The full name of a village (城北村, 城北村委会) written under a town it is not in: never
    matched, neither to that village nor to another, nor to the town written. (Written
    short, 云城街道古田, it falls back to the town: xfail test below.)"""
    forms_in_town: dict[str, set[str]] = defaultdict(set)
    towns = {}
    for v in villages:
        forms_in_town[v.code[:9]].update(village_forms(v.name))
        towns[v.code[:9]] = (v.county, v.town)
    rng = random.Random(7)
    bad = []
    for v in villages:
        if len(v.name) == 2 and v.name.endswith("村"):
            continue  # 高村村委会 is not read at all: test_..._one_character_stem below
        full = [f for f in village_forms(v.name) if f != v.name.removesuffix("村")
                and f != v.name.removesuffix("社区")]
        foreign = sorted(t for t in towns if not forms_in_town[t] & set(village_forms(v.name)))
        for t in rng.sample(foreign, 3):
            county, town = towns[t]
            for form in full:
                written = f"{county}{town}{form}三组"
                p = gaz.parse(written)
                if p.status == "matched":
                    bad.append((written, p.places[0].path))
    assert bad == []


def test_a_standard_address_in_another_town_than_written_is_ambiguous(session):
    """The road and number lie in one town's community, the text names another town: the
    two disagree → ambiguous with both, never one of them."""
    found = session.scalar(text("""
        SELECT g.code FROM address_points a JOIN grids g ON g.level = 'village'
         AND g.generation_high IS NULL AND ST_Covers(g.geom, a.geom)
        WHERE a.road = '星岩路' AND a.number = '5号'"""))
    assert found == grid_code(session, "云城区", "云城街道", "星岩社区")[0]
    for written in ("云城区河口街道星岩路5号", "云城区安塘街道星岩路5号三楼"):
        answer = locate_text(session, written)
        assert answer["status"] == "ambiguous", answer
        assert found in codes_of(answer), written


@pytest.mark.parametrize("written", ["云城区云城街道城北村星岩路5号",
                                     "云城区云城街道星岩路5号城北村",
                                     "云城街道城北村委会星岩路5号"])
def test_a_standard_address_in_another_village_than_written_is_ambiguous(session, written):
    answer = locate_text(session, written)  # 星岩路5号 lies in 星岩社区, not in 城北村
    assert answer["status"] == "ambiguous", answer["grid"]


@pytest.mark.parametrize("written, not_meant", [
    ("云城区云城街道城北路8号", "城北村"), ("云城区云城街道城北街8号", "城北村"),
    ("云城区云城街道城西路3号", "城西村"), ("罗定市附城街道太平路8号", "太平村"),
    ("新兴县东成镇云河街5号", "云河村"), ("云城街道鹏石路", "鹏石村")])
def test_a_short_name_followed_by_a_road_is_not_the_village(session, written, not_meant):
    answer = locate_text(session, written)
    assert not (answer["status"] == "matched" and answer["grid"]["name"] == not_meant), answer


# -- adversarial: wrong matches found, now fixed ---------------------------------------------

def wrong_match(session, written: str, meant: str | None) -> dict:
    """Assert the safe property; `meant` is the code a person reads, None when the text does
    not tell (the village is not named): then no village may be matched."""
    answer = locate_text(session, written)
    if answer["status"] == "matched":
        got = answer["grid"]
        if meant is None:
            assert got["level"] != "village", (written, got["path"])
        else:
            assert got["code"] in (meant, meant[:9] + "000"), (written, got["path"])
    elif answer["status"] == "ambiguous" and meant is not None:
        assert meant in codes_of(answer), (written, answer)
    return answer


@pytest.mark.parametrize("written", [
    "新兴县东成镇第三村民小组", "新兴县东成镇新屋第三村民小组12号", "东成镇第十三村民小组",
    "第三村民小组", "户籍地：第三村民小组5号",
    "新兴县车岗镇第四村民小组", "新兴县车岗第十四村民小组5号"])
def test_a_group_number_is_not_a_village(session, written):
    wrong_match(session, written, None)


@pytest.mark.parametrize("written", ["城东路5号", "城东街3号", "城北路5号", "河口路3号",
                                     "广东省云浮市城南街7号"])
def test_a_road_in_several_counties_without_the_county_is_ambiguous(session, written):
    answer = locate_text(session, written)
    assert answer["status"] == "ambiguous", (written, answer["grid"], answer["flags"])


@pytest.mark.parametrize("written, path", [
    ("罗定市双东街道大同村委会12号", ("罗定市", "双东镇街道", "大同村")),
    ("罗定市双东街道办事处白荷村5号", ("罗定市", "双东镇街道", "白荷村")),
    ("郁南县通门街坊村12号", ("郁南县", "通门镇", "街坊村")),
    ("罗定市附城街太平村5号", ("罗定市", "附城街道", "太平村")),
    ("云城区河口街红阳村8号", ("云城区", "河口街道", "红阳村"))])
def test_a_road_inside_a_name_is_not_a_standard_address(session, written, path):
    wrong_match(session, written, grid_code(session, *path)[0])


@pytest.mark.parametrize("written", ["新兴县六祖桥亭社区", "新兴县大江桥亭社区5号",
                                     "罗定太平道村12号", "新兴东成里江村三组", "郁南连滩里城村"])
def test_a_village_under_a_short_town_it_is_not_in_is_not_matched(session, written):
    answer = locate_text(session, written)
    assert answer["status"] != "matched", (written, answer["grid"]["path"])


@pytest.mark.parametrize("written, path", [
    ("罗定市罗城街道城东区12号", ("罗定市", "罗城街道", "城东社区")),
    ("罗定市罗城街道城东区屋社区旁边", ("罗定市", "罗城街道", "城东社区"))])
def test_a_name_is_not_read_across_a_skipped_name(session, written, path):
    wrong_match(session, written, grid_code(session, *path)[0])


@pytest.mark.parametrize("written", ["罗定市素龙街道中村路5号", "云城区高峰街道新村路3号",
                                     "郁南县平台镇中村街8号"])
def test_a_two_character_village_followed_by_a_road_is_not_the_village(session, written):
    wrong_match(session, written, None)


def test_a_standard_address_after_the_village_that_disagrees_is_ambiguous(session):
    answer = locate_text(session, "云城区云城街道城北村星岩路5号")
    assert answer["status"] == "ambiguous", answer["grid"]


@pytest.mark.parametrize("written", ["岑溪城北村", "信宜城北村委会三组", "德庆城北村"])
def test_a_neighbouring_county_without_suffix_is_not_ignored(session, written):
    answer = locate_text(session, written)
    assert answer["status"] != "matched", answer["grid"]["path"]


def test_a_town_with_a_missing_character_does_not_give_another_village(session):
    meant = grid_code(session, "罗定市", "生江镇", "安全村")[0]
    wrong_match(session, "罗定市生镇安全村三组", meant)


@pytest.mark.parametrize("written", ["罗定市船步镇高村村委会三组", "新兴县水台镇稔村村民委员会",
                                     "郁南县同乐林场高村村委三组"])
def test_a_one_character_stem_village_under_the_wrong_town_is_not_matched(session, written):
    answer = locate_text(session, written)
    assert answer["status"] != "matched", answer["grid"]["path"]


@pytest.mark.parametrize("written", ["云城区云城街道古田三组", "罗定市罗镜镇城北5号",
                                     "新兴县东成镇星岩"])
def test_a_short_village_name_under_the_wrong_town_is_not_matched(session, written):
    answer = locate_text(session, written)
    assert answer["status"] != "matched", answer["grid"]["path"]


@pytest.mark.parametrize("written, town", [
    ("新兴县水台林场", "云浮市国有水台林场"), ("新兴县国有水台林场三队", "云浮市国有水台林场"),
    ("新兴县水台林场虚拟生活区", "云浮市国有水台林场"),
    ("新兴县良洞迳林场", "广东省西江林业局良洞迳林场"),
    ("新兴县西江林业局良洞迳林场三队", "广东省西江林业局良洞迳林场")])
def test_a_forestry_centre_without_its_prefix_is_not_the_town_named_like_it(session, written,
                                                                          town):
    wrong_match(session, written, grid_code(session, "新兴县", town, town + "虚拟生活区")[0])


# -- adversarial: finds of the variant hunt (every village, many spellings) -----------------

@pytest.mark.parametrize("written", ["云安六都镇六都村民小组", "云城区前锋镇前锋村民小组",
                                     "新兴县天堂华荣社区村民小组", "罗定市第十四村民小组"])
def test_a_group_named_like_a_village_is_not_the_village(session, written):
    """X村民小组 is the villagers' group named X (六都村民小组), never the village 六都村."""
    wrong_match(session, written, None)


def test_group_text_after_a_short_village_is_not_another_village(session):
    answer = locate_text(session, "云城区云城街道大坎第三村民小组")
    assert answer["grid"]["path"] == ["云城区", "云城街道", "大坎村"], answer


@pytest.mark.parametrize("written", ["苍梧云城街道星岩社区", "高要区河口街道红阳村5号",
                                     "信宜罗镜镇城北村", "阳春新兴县东成镇三村", "封开都城镇"])
def test_a_neighbouring_county_in_front_is_outside(session, written):
    answer = locate_text(session, written)
    assert answer["status"] == "unmatched" and "outside the served area" in answer["reason"]


@pytest.mark.parametrize("written", ["高州云城街道星岩社区", "某某云城街道南山社区五组"])
def test_an_unknown_name_in_front_is_not_ignored(session, written):
    assert locate_text(session, written)["status"] != "matched"


@pytest.mark.parametrize("written, path", [
    ("云城区安塘街赤村村委青桐街2号", ("云城区", "安塘街道", "赤村")),
    ("罗定市素龙街上宁村委会十二队2号", ("罗定市", "素龙街道", "上宁村")),
    ("云城区河口街云坑村12号", ("云城区", "河口街道", "云坑村"))])
def test_a_street_written_like_its_road_is_the_street(session, written, path):
    """安塘街 is 安塘街道 written short, and a road of 安塘社区: with a village after it, the
    street; only with a house number right after it, the road."""
    wrong_match(session, written, grid_code(session, *path)[0])


@pytest.mark.parametrize("written", ["云安富林水东路4号", "云安区富林东路12号"])
def test_a_short_village_name_ending_like_a_road_with_a_number_is_not_matched(session, written):
    """东路 (东路村) in 水东路4号 is part of a road name: never matched to 东路村."""
    wrong_match(session, written, None)


@pytest.mark.parametrize("written", ["罗定市江镇安全村77号", "罗定市生镇安全村委会十一组"])
def test_a_town_missing_a_character_leaves_the_village_among_the_candidates(session, written):
    wrong_match(session, written, grid_code(session, "罗定市", "生江镇", "安全村")[0])


@pytest.mark.parametrize("written, path", [
    ("河口郁南龙溪村委会", ("郁南县", "河口镇", "龙溪村")),
    ("镇安镇安居委会", ("云安区", "镇安镇", "镇安社区")),
    ("广东省太平镇安村民委10组", ("罗定市", "太平镇", "镇安村")),
    ("罗定市双东街道大同村", ("罗定市", "双东镇街道", "大同村")),
    ("郁南县通门街坊村12号", ("郁南县", "通门镇", "街坊村"))])
def test_names_in_an_unusual_order_or_sharing_a_letter_are_read(session, written, path):
    answer = locate_text(session, written)
    assert answer["status"] == "matched", answer["reason"]
    assert answer["grid"]["code"] == grid_code(session, *path)[0]


@pytest.mark.parametrize("written", ["城北村委会罗镜镇", "云城区云城街道古田村三组",
                                     "罗定市罗镜镇城北村委会", "新兴县大江桥亭社区"])
def test_a_village_with_a_town_it_is_not_in_before_or_after_is_not_matched(session, written):
    answer = locate_text(session, written)
    assert answer["status"] == "ambiguous", answer
    assert "is not in" in answer["reason"]


def test_a_road_in_several_counties_lists_each_point(session):
    answer = locate_text(session, "城东路5号")
    assert answer["status"] == "ambiguous" and answer["flags"] == []
    assert {c["path"][0] for c in answer["candidates"]} == {"新兴县", "郁南县", "罗定市"}
