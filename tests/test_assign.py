"""Filing a matter routes it to the right liaison, or queues it for a person."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from geo.assign import (
    RoutingError,
    assign_stored_points,
    file_matter,
    pick_grid,
    reroute,
    return_matter,
)
from models import (
    Assignment,
    AuditRecord,
    Court,
    Grid,
    Matter,
    MatterState,
    Precedence,
    RosterEntry,
    RosterRole,
    TransitionError,
)
from models.filing import AddressInput, FilingError, MatterInput, build_matter, check
from models.identity import id_check_character

HOUSEHOLD = "云城区云城街道丰收村委会三组"  # a village with one name in the city
HABITUAL = "新兴县新城镇下坪社区"
TWO_TOWNS_NAME = "云安区高村镇高村"  # 高村镇 has two villages called 高村


def person_id(seq: str = "123") -> str:
    first = f"44530219800101{seq}"
    return first + id_check_character(first)


@pytest.fixture
def court(session):
    return session.scalar(select(Court).where(Court.name == "云浮市云城区人民法院"))


def filing(court, **changes) -> MatterInput:
    data = MatterInput(
        court=court, officer_name="李明", case_number="（2026）粤5302执100号",
        matter_type="find_property", request={"property_kinds": ["house", "income"]},
        credentials=["enforcement_basis", "work_id"], debtor_kind="person",
        debtor_name="张三", debtor_id_number=person_id(), debtor_phones=["13800138000"],
        addresses=[AddressInput("household", HOUSEHOLD), AddressInput("habitual", HABITUAL)])
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def grid(session, code_or_name) -> Grid:
    column = Grid.code if code_or_name.isdigit() else Grid.name
    return session.scalar(Grid.current().where(column == code_or_name))


def liaison_of(session, g: Grid):
    return session.scalar(RosterEntry.current().where(
        RosterEntry.grid_id == g.id, RosterEntry.role == RosterRole.liaison)).person


def test_a_property_matter_goes_to_the_household_village_with_its_liaison(session, court):
    matter, created = file_matter(session, filing(court))
    assert created and matter.state is MatterState.assigned
    primary = matter.primary_assignment
    assert primary.grid.name == "丰收村" and primary.method == "division"
    assert primary.liaison == liaison_of(session, primary.grid)
    assert primary.county_code == "445302" and matter.county_code == court.county_code
    assert primary.generation_id == session.scalar(text("SELECT max(id) FROM generations"))
    # The habitual residence lies in another grid: it assists.
    assert [a.grid.name for a in matter.co_assignments] == ["下坪社区"]


def test_service_of_documents_looks_at_the_habitual_residence_first(session, court):
    matter, _ = file_matter(session, filing(
        court, matter_type="service", credentials=[],
        request={"document_kinds": ["judgment"], "method": "direct"}))
    assert matter.primary_assignment.grid.name == "下坪社区"


def test_admins_change_the_precedence_in_one_place(session, court):
    row = session.get(Precedence, "find_property")
    row.kinds = ["habitual", "household", "residence", "other"]
    session.flush()
    matter, _ = file_matter(session, filing(court))
    assert matter.primary_assignment.grid.name == "下坪社区"


def test_filing_the_same_matter_twice_creates_nothing(session, court):
    before = session.scalar(select(func.count()).select_from(Matter))  # the demo's year
    first, _ = file_matter(session, filing(court))
    again, created = file_matter(session, filing(court, case_number="(2026)粤5302执100号"))
    assert not created and again.id == first.id
    assert session.scalar(select(func.count()).select_from(Matter)) == before + 1


def test_the_same_filing_twice_in_one_batch_is_built_once(session, court):
    first, created = build_matter(session, filing(court))
    second, again = build_matter(session, filing(court, debtor_phones=["13900139000"]))
    assert created and not again and second is first
    other, created_other = build_matter(session, filing(court, case_number="（2026）粤5302执101号"))
    assert created_other and other.debtor is first.debtor  # one debtor, two matters
    session.flush()


def test_an_ambiguous_village_waits_in_the_review_queue_with_its_candidates(session, court):
    matter, _ = file_matter(session, filing(
        court, addresses=[AddressInput("household", TWO_TOWNS_NAME)]))
    assert matter.state is MatterState.review and matter.assignments == []
    assert "exists in 2 places" in matter.queue_message
    codes = [c["code"] for c in matter.addresses[0].candidates]
    assert len(codes) == 2 and all(grid(session, c).name == "高村" for c in codes)

    chosen = grid(session, codes[1])
    assignment = pick_grid(session, matter, chosen, method="candidate")
    assert matter.state is MatterState.assigned and assignment.grid == chosen
    assert assignment.method == "candidate" and assignment.liaison == liaison_of(session, chosen)


def test_a_village_mistyped_by_one_letter_waits_for_review_with_the_near_name(session,
                                                                             court):
    """平砂村 for 车岗镇's 平沙村: offered, not guessed, and not the town either."""
    matter, _ = file_matter(session, filing(
        court, addresses=[AddressInput("household", "新兴县车岗镇平砂村三组")]))
    assert matter.state is MatterState.review and matter.assignments == []
    assert "similar name" in matter.queue_message
    assert [grid(session, c["code"]).name for c in matter.addresses[0].candidates] == ["平沙村"]


def test_nothing_recognisable_waits_in_the_manual_queue(session, court):
    matter, _ = file_matter(session, filing(
        court, addresses=[AddressInput("household", "火星殖民地一号基地")]))
    assert matter.state is MatterState.manual
    assert "no place name was recognised" in matter.queue_message
    assert matter.addresses[0].status == "unmatched"


def test_a_point_given_with_the_address_is_located_in_its_polygon(session, court):
    target = grid(session, "丰收村")
    lon, lat = session.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                      func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                               .where(Grid.id == target.id)).one()
    matter, _ = file_matter(session, filing(
        court, addresses=[AddressInput("household", None, lon, lat)]))
    assert matter.primary_assignment.grid == target
    assert matter.primary_assignment.method == "point"


def test_the_grid_returns_a_matter_with_a_reason_and_court_staff_reroute_it(session, court):
    matter, _ = file_matter(session, filing(court))
    with pytest.raises(RoutingError, match="say why"):
        return_matter(session, matter, " ")
    return_matter(session, matter, "该户已迁出本村")
    assert matter.state is MatterState.returned and matter.primary_assignment is None
    ended = [a for a in matter.assignments if a.ended_at is not None]
    assert ended[0].end_reason == "该户已迁出本村"
    assert "该户已迁出本村" in matter.queue_message

    other = grid(session, "下坪社区")
    new = reroute(session, matter, other, "经核实现居下坪社区")
    assert matter.state is MatterState.assigned and new.method == "reroute"
    with pytest.raises(RoutingError, match="already with"):
        reroute(session, matter, other, "再改一次")
    actions = session.scalars(select(AuditRecord.action).where(
        AuditRecord.entity == "assignment")).all()
    assert "update" in actions  # the ended assignment, with its reason


def test_a_matter_moves_only_as_the_state_machine_allows(session, court):
    matter, _ = file_matter(session, filing(court))
    with pytest.raises(TransitionError, match="cannot become"):
        matter.move_to(MatterState.paid)
    with pytest.raises(RoutingError, match="waiting in a queue"):
        pick_grid(session, matter, grid(session, "下坪社区"))


def test_only_town_and_village_grids_take_matters(session, court):
    matter, _ = file_matter(session, filing(
        court, addresses=[AddressInput("household", TWO_TOWNS_NAME)]))
    with pytest.raises(RoutingError, match="town or village"):
        pick_grid(session, matter, grid(session, "云城区"))


@pytest.mark.parametrize("change, field", [
    ({"case_number": "2026执100"}, "case_number"),
    ({"debtor_id_number": "445302198001011231"}, "debtor_id_number"),
    ({"credentials": ["work_id"]}, "credentials"),
    ({"request": {}}, "request.property_kinds"),
    ({"request": {"property_kinds": ["yacht"]}}, "request.property_kinds"),
    ({"addresses": []}, "addresses"),
    ({"addresses": [AddressInput("household", None, 22.9, 112.1)]}, "addresses.0"),
    ({"deadline": date.today() - timedelta(days=1)}, "deadline"),
    ({"matter_type": "arrest"}, "matter_type"),
    ({"debtor_phones": ["12345"]}, "debtor_phones"),
])
def test_each_problem_names_its_field(court, change, field):
    assert field in [e.field for e in check(filing(court, **change))]


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_an_empty_case_number_is_required_not_malformed(court, blank):
    (error,) = [e for e in check(filing(court, case_number=blank)) if e.field == "case_number"]
    assert error.template == "the case number is required"


def test_a_bad_filing_writes_nothing(session, court):
    before = session.scalar(select(func.count()).select_from(Matter))
    with pytest.raises(FilingError) as caught:
        file_matter(session, filing(court, case_number="bad", credentials=[]))
    assert {e.field for e in caught.value.errors} == {"case_number", "credentials"}
    assert session.scalar(select(func.count()).select_from(Matter)) == before


def test_stored_points_are_assigned_set_based(session, court):
    """The bulk path: matters loaded with points, assigned by one join."""
    target = grid(session, "丰收村")
    inside = session.execute(select(func.ST_X(func.ST_PointOnSurface(Grid.geom)),
                                    func.ST_Y(func.ST_PointOnSurface(Grid.geom)))
                             .where(Grid.id == target.id)).one()
    edge_pair = session.execute(text("""
        SELECT ST_X(p), ST_Y(p), a.code, b.code FROM (
          SELECT a.code AS ac, b.code AS bc,
                 ST_PointN(ST_GeometryN(ST_LineMerge(
                   ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))), 1), 2) AS p
          FROM grids a JOIN grids b ON a.level = 'village' AND b.level = 'village'
           AND a.generation_high IS NULL AND b.generation_high IS NULL AND a.code < b.code
           AND a.code LIKE '445302001%' AND b.code LIKE '445302001%'
           AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0
          LIMIT 1) t
        JOIN grids a ON a.code = t.ac AND a.generation_high IS NULL
        JOIN grids b ON b.code = t.bc AND b.generation_high IS NULL""")).one()
    outside = (100.0, 20.0)
    matters = []
    for i, (lon, lat) in enumerate([inside, edge_pair[:2], outside]):
        data = filing(court, case_number=f"（2026）粤5302执{200 + i}号",
                      addresses=[AddressInput("household", None, lon, lat)])
        matter, _ = build_matter(session, data)
        matters.append(matter)
    session.flush()
    counts = assign_stored_points(session)
    assert counts["assigned"] == 2 and counts["manual"] == 1
    for matter in matters:
        session.refresh(matter)
    assert matters[0].primary_assignment.grid == target
    edge = matters[1].primary_assignment
    assert edge.grid.code == min(edge_pair[2:]) and edge.confidence == 0.9
    assert matters[2].state is MatterState.manual
    assert session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.matter_id.in_([m.id for m in matters]))) == 2
