"""The name index: built from whatever grids and aliases the database holds."""

import pytest
from sqlalchemy import select

from geo.gazetteer import Gazetteer, gazetteer
from geo.locate import locate_text
from geo.reading import _one_edit
from models import Grid, PlaceAlias

# A literal gazetteer: one county, two towns, and a village name found in both.
COUNTY, EAST, WEST = "441801000000", "441801101000", "441801102000"
ROWS = [
    (None, COUNTY, "甲县", "county", None),
    (None, EAST, "东岭镇", "town", COUNTY),
    (None, WEST, "西岭街道", "town", COUNTY),
    (None, "441801101201", "新塘村", "village", EAST),
    (None, "441801102201", "新塘村", "village", WEST),
    (None, "441801102001", "西岭社区", "village", WEST),
    (None, "441801101202", "三合村", "village", EAST),
]
INDEX = Gazetteer.build(ROWS, aliases=[("某省", "44"), ("乙县", COUNTY)],
                        roads=[("东岭路", "441801")])


@pytest.mark.parametrize("address, code", [
    ("甲县东岭镇新塘村", "441801101201"),
    ("某省甲县西岭街道办事处新塘村委会第三村民小组", "441801102201"),
    ("甲 县 东岭 新塘村民委员会 3组 12号", "441801101201"),
    ("西岭新塘村", "441801102201"),
    ("西岭居委会", "441801102001"),
    ("西岭社区居民委员会", "441801102001"),
    ("三合村十二队", "441801101202"),
    ("乙县东岭镇三合村", "441801101202"),  # the old county name, an alias
    ("户籍地：甲县东岭镇", EAST),
])
def test_written_forms_find_their_grid(address, code):
    parsed = INDEX.parse(address)
    assert parsed.status == "matched", parsed.reason
    assert parsed.place.code == code


@pytest.mark.parametrize("address, says", [
    ("甲县新塘村", "exists in 2 places"),
    ("东岭镇西岭社区", "is not in"),
    ("三合", "short name"),
    ("丙县新塘村", "was not recognised"),
])
def test_what_cannot_be_told_apart_is_ambiguous(address, says):
    parsed = INDEX.parse(address)
    assert parsed.status == "ambiguous" and says in parsed.reason % parsed.params


@pytest.mark.parametrize("address, says", [
    ("广州市天河区", "outside the served area"),
    ("月球背面", "no place name"),
    ("甲县", "only the county"),
])
def test_what_is_not_here_is_unmatched(address, says):
    parsed = INDEX.parse(address)
    assert parsed.status == "unmatched" and says in parsed.reason % parsed.params


@pytest.mark.parametrize("address, offered", [
    ("甲县东岭镇三和村二组", ["441801101202"]),  # one letter changed
    ("东岭镇新村", []),  # a one-letter name is too far from too many: the town answers
    ("西岭街道新糖村", ["441801102201"]),  # only the villages of the town written
])
def test_a_village_mistyped_by_one_letter_is_offered_never_guessed(address, offered):
    parsed = INDEX.parse(address)
    assert "village_not_recognised" in parsed.flags
    if offered:
        assert parsed.status == "ambiguous" and [p.code for p in parsed.places] == offered
        assert "similar name" in parsed.reason % parsed.params
    else:
        assert parsed.status == "matched" and parsed.place.level == "town"


@pytest.mark.parametrize("a, b, near", [
    ("平新村", "平鑫村", True), ("平新村", "平新新村", True), ("大平岗村", "平岗村", True),
    ("平新村", "平新村", False), ("平新村", "新平村", False), ("平新村", "平鑫社区", False),
])
def test_one_letter_away(a, b, near):
    assert _one_edit(a, b) is near and _one_edit(b, a) is near


def test_a_road_is_not_taken_for_a_village():
    parsed = INDEX.parse("甲县东岭路8号")
    assert parsed.road == "东岭路" and parsed.details == {"number": "8号"}
    assert parsed.status == "unmatched"  # only the county; geo.locate looks the number up


def test_groups_and_numbers_are_read_after_the_village():
    assert INDEX.parse("甲县东岭镇三合村第十二村民小组１２－３号").details == {
        "group": 12, "number": "12-3号"}


def test_an_alias_added_by_an_admin_is_used_at_once(session):
    village = session.scalar(Grid.current().where(Grid.name == "丰收村"))
    assert locate_text(session, "老丰收大队")["status"] != "matched"
    session.add(PlaceAlias(alias="老丰收大队", code=village.code, note="旧称"))
    session.flush()
    after = locate_text(session, "老丰收大队")
    assert after["status"] == "matched" and after["grid"]["code"] == village.code


def test_a_renamed_grid_is_found_by_its_new_name(session):
    village = session.scalar(Grid.current().where(Grid.name == "丰收村"))
    old_index = gazetteer(session)
    village.name = "丰盛村"
    session.flush()
    assert gazetteer(session) is not old_index
    assert locate_text(session, "云城街道丰盛村")["grid"]["code"] == village.code
    old_name = locate_text(session, "云城街道丰收村")  # one letter from the new name
    assert old_name["status"] == "ambiguous" and "village_not_recognised" in old_name["flags"]
    assert [c["code"] for c in old_name["candidates"]] == [village.code]


def test_the_index_is_shared_while_nothing_changes(session):
    assert gazetteer(session) is gazetteer(session)
    assert session.scalar(select(PlaceAlias.alias).where(PlaceAlias.code == "4453"))


def test_clean_drops_the_noise_as_if_normalized_first():
    """geo.normalize.clean drops the noise before NFKC when it can: the same text as
    NFKC first, over letters that combine, compose or widen around the noise."""
    import random
    import unicodedata

    from geo.normalize import _DASH, _DROP, clean

    def reference(text):
        return _DASH.sub("-", _DROP.sub("", unicodedata.normalize("NFKC", text)))

    letters = ("，：。、 \u3000…·<>=,.:（）＊Ａａ１２号村镇e\u0301\u0316\u0300\u0338\u1100\u1161"
               "\u11a8가ｶﾞ\uff9e①㈠")
    rng = random.Random(14)
    for _ in range(20_000):
        text = "".join(rng.choices(letters, k=rng.randint(1, 8)))
        # clean also drops stray dashes and a leading label: none can come from here.
        assert clean(text) == reference(text).replace("-", ""), ascii(text)
    assert clean("户籍地：云城区<\u0338，星岩社区") == "云城区≮星岩社区"
