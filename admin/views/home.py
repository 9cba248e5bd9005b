"""The first page after signing in: what each role needs first.

- a grid's liaison or worker: their grid and its open matters, nearest deadline
  first, overdue and due-soon marked;
- court staff: the matters waiting for the court (returned by a grid, or for a
  person to place them) and the open matters past their deadline;
- admins, committees and town centres: what the system holds, per county; a town
  centre also the matters escalated to it.
"""

from __future__ import annotations

from flask_admin import AdminIndexView, expose
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from admin.auth import current_scope
from admin.views import phone
from admin.views.deadline_marks import due_html
from admin.views.deadline_marks import marks as request_marks
from admin.views.grids import LEVEL_LABELS
from admin.views.legal_advice import HOME_LISTED, home_requests
from admin.views.matter_formatters import grid_path, label
from admin.views.secure import refuse
from models import (
    AddressPoint,
    Assignment,
    Court,
    Grid,
    GridLevel,
    Matter,
    RosterEntry,
    RosterRole,
    db,
    my_matters,
)
from models.accounts import Role
from models.deadlines import Marks
from models.matter_types import MATTER_TYPE_LABELS
from models.matters import (
    OPEN_STATES,
    STATE_LABELS,
    WAITING_FOR_A_PERSON,
    MatterState,
)
from models.requests import ASKERS, ask_refusal

LISTED = 50  # matters shown in each list of a home page
ON_A_PHONE = 20  # cards on 我的事项: the nearest; "all matters" lists the rest


def county_table(scope) -> list[dict]:
    """One row per county: towns, villages, liaisons and workers now in post, within
    the account's scope. Set-based on purpose: one query per measure for the whole
    city, not per county."""
    session = db.session
    grids = Grid.current().where(scope.grids(Grid)).subquery()
    level_counts = session.execute(
        select(grids.c.county_code, grids.c.level, func.count())
        .group_by(grids.c.county_code, grids.c.level)
    ).all()
    current = RosterEntry.current().subquery()
    roster_counts = session.execute(
        select(Grid.county_code, current.c.role, func.count())
        .join(current, current.c.grid_id == Grid.id).where(scope.grids(Grid))
        .group_by(Grid.county_code, current.c.role)
    ).all()
    counties = session.scalars(
        Grid.current().where(Grid.level == GridLevel.county).order_by(Grid.code)
    ).all()  # names for the rows; a row shows only counts in scope
    in_scope = {code for code, _, _ in level_counts}
    rows = {c.county_code: {"county": c, "town": 0, "village": 0, "microgrid": 0,
                            "liaison": 0, "grid_worker": 0}
            for c in counties if c.county_code in in_scope}
    for county_code, level, n in level_counts:
        if county_code in rows and level is not GridLevel.county:
            rows[county_code][level.value] = n
    for county_code, role, n in roster_counts:
        if county_code in rows:
            rows[county_code][RosterRole(role).value] = n
    return list(rows.values())


class HomeView(AdminIndexView):
    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        scope = current_scope()
        if scope.role in (Role.liaison, Role.grid_worker):
            return self._grid_home(scope)
        if scope.role is Role.court_staff:
            return self._court_home(scope)
        return self._overview(scope)

    def _grid_home(self, scope):
        """A grid's people on their phones (我的事项): their grid, the counts of all its
        open matters, the nearest as cards, outside the admin's heavy frame, its text
        kept (admin.views.phone)."""
        marks = request_marks()  # one moment and calendar lookup for the whole page
        asks = scope.role in ASKERS and ask_refusal(current_user) is None
        page = my_matters.grid_page(
            db.session, scope.area_code, ON_A_PHONE, marks,
            advice_grid=current_user.grid_id if asks else None, advice_limit=HOME_LISTED)
        grid = current_user.grid
        return phone.my_matters_page(
            self, self.render, cards=page.cards, counts=page.counts, marks=marks,
            advice=home_requests(scope, page.advice).get("advice"),
            context=lambda: {"grid": grid, "grid_path": grid_path(grid),
                             "person_id": current_user.person_id, "may_ask_advice": asks})

    def _court_home(self, scope):
        """Court staff: what waits for the court, and what is overdue."""
        marks = request_marks()  # one moment and calendar lookup for the whole page
        waiting = self._matters(scope.matters_to_act_on(),
                                Matter.state.in_(WAITING_FOR_A_PERSON))
        overdue = self._matters(scope.matters(), Matter.state.in_(OPEN_STATES),
                                my_matters.due_on() < marks.now)
        return self.render("gridlink/home_matters.html", home="court",
                           court=current_user.court,
                           lists=[{"id": "gridlink-waiting", "title": "waiting", "rows": waiting},
                                  {"id": "gridlink-overdue", "title": "overdue", "rows": overdue}],
                           counts=self._court_counts(scope, marks),
                           **_labels(marks), **home_requests(scope))

    @staticmethod
    def _court_counts(scope, marks: Marks) -> dict:
        """All that waits and all that is overdue, counted in SQL (the lists show the
        first LISTED of each)."""
        waiting = db.session.scalar(select(func.count()).select_from(Matter).where(
            scope.matters_to_act_on(), Matter.state.in_(WAITING_FOR_A_PERSON)))
        return {"waiting": waiting,
                "overdue": my_matters.open_counts(db.session, scope.matters(), marks)["overdue"]}

    @staticmethod
    def _matters(*conditions) -> list[Matter]:
        return db.session.scalars(
            select(Matter).where(*conditions)
            .options(joinedload(Matter.court),
                     joinedload(Matter.assignments).joinedload(Assignment.grid))
            .order_by(my_matters.due_on().asc().nulls_last(), Matter.created_at)
            .limit(LISTED)).unique().all()

    def _overview(self, scope):
        session = db.session
        by_level = dict(session.execute(
            select(Grid.level, func.count())
            .where(Grid.generation_high.is_(None), scope.grids(Grid)).group_by(Grid.level)
        ).all())
        totals = {
            "levels": {level: by_level.get(level, 0) for level in GridLevel},
            "courts": session.scalar(select(func.count()).select_from(Court)
                                     .where(scope.courts())),
            "addresses": session.scalar(select(func.count()).select_from(AddressPoint))
            if scope.may("addresses") else None,
        }
        # A town or village scope is best shown by its villages; wider ones by towns.
        map_level = "village" if scope.area_code and len(scope.area_code) > 6 else "town"
        # A town centre takes the matters escalated to it (models.workflow: take), and
        # hears of the court's urgent calls; a county committee reads only the matters
        # the ladder or an urgent call brought to it (models.escalation).
        escalated = None
        if scope.role is Role.town_centre:
            escalated = self._matters(scope.matters(), (
                Matter.state == MatterState.escalated) | (
                Matter.urgent_at.is_not(None) & (Matter.state == MatterState.assigned)))
        elif scope.role is Role.committee and scope.area_code:
            escalated = self._matters(scope.matters(), Matter.state.in_(OPEN_STATES))
        return self.render("gridlink/home.html", totals=totals, counties=county_table(scope),
                           level_labels=LEVEL_LABELS, map_level=map_level,
                           escalated=escalated, due_html=due_html,
                           committee_home=scope.role is Role.committee)


def _labels(marks: Marks) -> dict:
    return {"types": MATTER_TYPE_LABELS, "states": STATE_LABELS, "label": label,
            "marks": marks, "due_at": my_matters.due_at, "due_mark": my_matters.due_mark,
            "due_html": due_html}
