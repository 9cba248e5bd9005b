"""The dashboard: what the system holds, per county, at a glance."""

from __future__ import annotations

from flask_admin import AdminIndexView, expose
from flask_login import current_user
from sqlalchemy import func, select

from admin.auth import current_scope
from admin.views.grids import LEVEL_LABELS
from admin.views.secure import refuse
from models import AddressPoint, Court, Grid, GridLevel, RosterEntry, RosterRole, db


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
        session, scope = db.session, current_scope()
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
        return self.render("gridlink/home.html", totals=totals, counties=county_table(scope),
                           level_labels=LEVEL_LABELS, map_level=map_level)
