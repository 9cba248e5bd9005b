"""A year of demo matters: about 3,000 requests from every court of the demo, filed
over the last twelve months and located like any filing (models.filing, geo.assign),
so that every list, queue and map of a fresh `make run` has something true to show.

Deterministic for a given day: the same seed gives the same matters, debtors,
addresses and dates, counted back from `today`. The debtors are invented (names
from seeds.people, ID numbers valid in form only, phones that cannot ring);
case numbers follow each court's code. Most addresses name a village of the
court's county, as courts write them; a few name a village that two towns share
(the review queue) or no place at all (the manual queue), some give a second
address (co-assisting grids).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import Court, CourtKind, Grid, GridLevel, Matter, clock
from models.bulk import write_new_matters
from models.filing import AddressInput, MatterInput, build_matter, prefetched
from models.identity import id_check_character
from models.matter_types import (
    DEFAULT_DEADLINE_DAYS,
    REQUIRED_CREDENTIALS,
    WITHDRAWAL_NEEDS,
    MatterType,
)
from seeds.people import PeopleMaker

SEED = 2027
MATTERS = 3_000
DAYS = 365
# How often courts ask for each kind of help (enforcement practice: service and
# finding property first).
TYPE_WEIGHTS = {
    MatterType.service: 34, MatterType.find_property: 22, MatterType.locate_debtor: 16,
    MatterType.investigation: 12, MatterType.witness: 6, MatterType.other: 6,
    MatterType.legal_education: 4,
}
# Requests in the shape the filing form gives them, one per type (choices vary).
REQUESTS = {
    MatterType.service: lambda r, day: {
        "document_kinds": r.sample(["judgment", "ruling", "notice", "order"], r.randint(1, 2)),
        "method": r.choice(["direct", "direct", "lodged", "missing_certificate"])},
    MatterType.locate_debtor: lambda r, day: {
        "clues_sought": r.sample(["address", "employer", "phone"], r.randint(1, 3))},
    MatterType.find_property: lambda r, day: {
        "property_kinds": r.sample(["house", "land", "vehicle", "income"], r.randint(1, 3))},
    MatterType.investigation: lambda r, day: {
        "subjects": r.sample(["income", "dividends"], r.randint(1, 2)),
        "withdrawal": r.random() < 0.3},
    MatterType.witness: lambda r, day: {
        "participation": r.choice(["take_part", "witness"]),
        "scheduled_on": (day + timedelta(days=r.randint(3, 10))).isoformat()},
    MatterType.other: lambda r, day: {"purpose": r.choice(["mediation", "risk"])},
    MatterType.legal_education: lambda r, day: {
        "direction": "court_to_village",
        "topic": r.choice(["拒不执行判决、裁定罪", "失信被执行人联合惩戒", "执行和解",
                           "农村土地承包经营权执行"]),
        "scheduled_on": (day + timedelta(days=r.randint(7, 25))).isoformat()},
}
NO_PLACE = ("外出务工，地址不详", "原住址已拆迁", "流动摆摊，居无定所")
QUEUED_DAYS = 45
# The demo's case numbers run from here (a busy court's numbering), clear of the small
# numbers people type when they try the forms.
CASE_FROM = 20_000
OFFICERS = ("陈志强", "李伟明", "黄海燕", "梁文杰", "林国华", "张丽珍", "罗建平", "何俊辉")


def load_demo_matters(session: Session, today: date | None = None,
                      since: date | None = None) -> list[Matter]:
    """File the year's matters (located, written set-based); flush, never commit.
    Returns them (written and let go of: read them again by id). `since`: nothing
    filed before (the demo's boundaries and fees start then)."""
    today = today or date.today()
    days = min(DAYS, (today - since).days) if since else DAYS
    rng, maker = random.Random(SEED), PeopleMaker(random.Random(SEED + 1))
    courts = session.scalars(select(Court).order_by(Court.kind, Court.name)).all()
    villages = _villages(session)
    shared = _shared_names(villages)
    numbers: Counter = Counter()
    inputs = []
    for _ in range(MATTERS):
        court = _pick_court(rng, courts)
        county = court.county_code if court.kind is not CourtKind.intermediate \
            else rng.choice(sorted(villages))
        day = today - timedelta(days=int(days * rng.random() ** 1.3))  # more of late
        kind = rng.choices(list(TYPE_WEIGHTS), weights=TYPE_WEIGHTS.values())[0]
        numbers[(court.case_code, day.year)] += 1
        serial = numbers[(court.case_code, day.year)] + CASE_FROM
        case = f"（{day.year}）{court.case_code}执{serial}号"
        inputs.append((day, _input(rng, maker, court, county, kind, case, day,
                                   villages[county], shared.get(county, []),
                                   (today - day).days < QUEUED_DAYS)))
    inputs += _showcase(rng, maker, courts, today, numbers)
    matters = []
    latest = clock.now() - timedelta(minutes=10)
    with prefetched(session, [data for _, data in inputs]):
        for day, data in inputs:
            matter, created = build_matter(session, data)
            if created:  # filed that day (the form refuses a deadline already past)
                # In office hours of its day, and never later than now: loaded
                # before 17:00 in Beijing, today's filings are the morning's.
                matter.created_at = min(datetime.combine(day, time(1), UTC) + timedelta(
                    minutes=rng.randint(0, 480)), latest)
                matter.deadline = day + timedelta(days=2 if matter.urgency.value == "urgent"
                                                  else DEFAULT_DEADLINE_DAYS[matter.matter_type])
                matters.append(matter)
        from geo.assign import assign_many

        assign_many(session, matters, flush=False)
        for matter in matters:
            for assignment in matter.assignments:
                assignment.created_at = matter.created_at
        write_new_matters(session, matters)
    fix_deadlines_as_filed(session)
    return matters


def fix_deadlines_as_filed(session: Session) -> int:
    """Each assigned matter's deadlines as the rules (models.deadlines) fixed them when
    it was assigned, on its filing day — not today, when the demo is loaded: so that
    today some are overdue and some due soon. Set-based: one UPDATE."""
    return session.execute(text("""
        UPDATE matters m SET (accept_due_at, finish_due_at) = (
            SELECT g.accept_due, g.finish_due
            FROM gridlink_deadlines(a.created_at, m.matter_type, m.urgency) g)
        FROM assignments a
        WHERE a.matter_id = m.id AND a.role = 'primary' AND a.ended_at IS NULL""")).rowcount


# The demo accounts' own grid (星岩社区, 云城区's court): recent matters at every step
# of the grid's work, so that the liaison, the grid worker and the court officer each
# find something to do on a fresh start. (seeds.demo_life takes each to its step.)
SHOWCASE_PLACE = ("云城区", "云城街道", "星岩社区")
SHOWCASE_COURT = "云浮市云城区人民法院"
SHOWCASE = (  # days ago, type, the step it stops after (demo_life.SHOWCASE_STOPS)
    (1, MatterType.service, None), (2, MatterType.locate_debtor, None),
    (3, MatterType.find_property, "accept"), (4, MatterType.investigation, "dispatch"),
    (21, MatterType.service, "dispatch"), (6, MatterType.witness, "finish"),
    (9, MatterType.other, "sign"), (12, MatterType.legal_education, "confirm"),
)


def _showcase(rng, maker, courts, today, numbers) -> list[tuple]:
    court = next(c for c in courts if c.name == SHOWCASE_COURT)
    out = []
    for ago, kind, _ in SHOWCASE:
        day = today - timedelta(days=ago)
        numbers[(court.case_code, day.year)] += 1
        serial = numbers[(court.case_code, day.year)] + CASE_FROM
        case = f"（{day.year}）{court.case_code}执{serial}号"
        data = _input(rng, maker, court, court.county_code, kind, case, day,
                      [SHOWCASE_PLACE], [], False)
        data.addresses = data.addresses[:1]  # one grid: 星岩社区's
        out.append((day, data))
    return out


def showcase_stops(matters: list[Matter]) -> dict:
    """Matter id → the step its life stops after, for the showcase matters (filed
    last, in SHOWCASE's order)."""
    shown = matters[-len(SHOWCASE):]
    return {m.id: stop or "filed" for m, (_, _, stop) in zip(shown, SHOWCASE, strict=True)}


def _pick_court(rng: random.Random, courts: list[Court]) -> Court:
    """Base courts ask most; tribunals a share each; the intermediate court a little."""
    weights = [{CourtKind.base: 8, CourtKind.tribunal: 2, CourtKind.intermediate: 1}[c.kind]
               for c in courts]
    return rng.choices(courts, weights=weights)[0]


def _input(rng, maker, court, county, kind, case, day, places, shared,
           recent: bool) -> MatterInput:
    county_name, town, village = rng.choice(places)
    # Only the last weeks' filings still wait in the queues; older ones were placed.
    roll = rng.random() if recent else 1.0
    if roll < 0.03 and shared:  # a village two towns share: the review queue
        text = f"云浮市{county_name}{rng.choice(shared)}"
    elif roll < 0.05:  # no place at all: the manual queue
        text = rng.choice(NO_PLACE)
    else:
        text = f"云浮市{county_name}{town}{village}{rng.randint(1, 12)}组"
    addresses = [AddressInput("household", text)]
    if rng.random() < 0.12:  # lives elsewhere in the county: a co-assisting grid
        c2, t2, v2 = rng.choice(places)
        addresses.append(AddressInput("habitual", f"云浮市{c2}{t2}{v2}"))
    person = rng.random() < 0.9
    request = REQUESTS[kind](rng, day)
    credentials = sorted({min(need).value for need in REQUIRED_CREDENTIALS[kind]}
                         | ({WITHDRAWAL_NEEDS.value} if request.get("withdrawal") else set()))
    urgent = rng.random() < 0.06
    return MatterInput(
        court=court, officer_name=rng.choice(OFFICERS), officer_phone=maker.phone(),
        case_number=case, matter_type=kind.value,
        debtor_kind="person" if person else "organisation",
        debtor_name=maker.name() if person else _company(rng, village),
        debtor_id_number=_id_number(rng, county) if person else None,
        debtor_phones=[maker.phone()] if rng.random() < 0.7 else [],
        addresses=addresses, request=request, credentials=credentials,
        urgency="urgent" if urgent else "normal",  # the deadline: set after the filing
        bounty=rng.random() < 0.04)


def _company(rng: random.Random, village: str) -> str:
    trade = rng.choice(["石材", "建材", "农业", "物流"])
    return f"云浮市{village[:2]}{rng.choice('华兴达盛')}{trade}有限公司"


def _id_number(rng: random.Random, county: str) -> str:
    born = date(1960, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
    first17 = f"{county}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_character(first17)


def _villages(session: Session) -> dict[str, list[tuple[str, str, str]]]:
    """County adcode → (county name, town name, village name) of every current village."""
    county = Grid.__table__.alias("county")
    town = Grid.__table__.alias("town")
    rows = session.execute(
        select(county.c.code, county.c.name, town.c.name, Grid.name)
        .join(town, town.c.id == Grid.parent_id).join(county, county.c.id == town.c.parent_id)
        .where(Grid.level == GridLevel.village, Grid.generation_high.is_(None))
        .order_by(Grid.code)).all()
    out: dict = {}
    for code, county_name, town_name, village in rows:
        out.setdefault(code[:6], []).append((county_name, town_name, village))
    return out


def _shared_names(villages: dict) -> dict[str, list[str]]:
    """Per county, village names that more than one of its towns has."""
    out = {}
    for county, places in villages.items():
        towns_of = Counter(v for _, _, v in places)
        out[county] = sorted(v for v, n in towns_of.items() if n > 1)
    return out


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Matter))
