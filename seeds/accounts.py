"""One demo account per role, all with the same documented password.

FOR THE DEMO ONLY: anyone who reads the README can sign in with these.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Court, Grid, Role, RosterEntry, RosterRole, User
from models.accounts import PUBLISHED_DEMO_PASSWORD as DEMO_PASSWORD

# username, display name, role, court name, grid (county, town, village names)
DEMO_ACCOUNTS = [
    ("demo_admin", "系统管理员（演示）", Role.admin, None, None),
    ("demo_city_committee", "市委政法委（演示）", Role.committee, None, None),
    ("demo_yuncheng_committee", "云城区委政法委（演示）", Role.committee, None, ("云城区",)),
    ("demo_town_centre", "云城街道微网格中心（演示）", Role.town_centre, None,
     ("云城区", "云城街道")),
    ("demo_court_yuncheng", "云城区法院执行干警（演示）", Role.court_staff,
     "云浮市云城区人民法院", None),
    ("demo_court_city", "市中院执行干警（演示）", Role.court_staff, "云浮市中级人民法院", None),
    ("demo_tribunal", "腰古法庭干警（演示）", Role.court_staff,
     "云浮市云城区人民法院腰古人民法庭", None),
    ("demo_town_liaison", "云城街道网格长（演示）", Role.liaison, None, ("云城区", "云城街道")),
    ("demo_liaison", "星岩社区网格长（演示）", Role.liaison, None,
     ("云城区", "云城街道", "星岩社区")),
    ("demo_worker", "星岩社区网格员（演示）", Role.grid_worker, None,
     ("云城区", "云城街道", "星岩社区")),
]


def find_grid(session: Session, path: tuple[str, ...]) -> Grid:
    parent = None
    for name in path:
        query = Grid.current().where(Grid.name == name)
        query = query.where(Grid.parent_id == parent.id) if parent else \
            query.where(Grid.parent_id.is_(None))
        parent = session.scalars(query).one()
    return parent


def roster_person(session: Session, grid: Grid, role: Role):
    """The person on the grid's roster a liaison's or grid worker's account stands for:
    the liaison, or the first grid worker."""
    if role not in (Role.liaison, Role.grid_worker):
        return None
    return session.scalar(RosterEntry.current().with_only_columns(RosterEntry.person_id).where(
        RosterEntry.grid_id == grid.id, RosterEntry.role == RosterRole(role.value))
        .order_by(RosterEntry.id).limit(1))


def load_demo_accounts(session: Session) -> int:
    made = 0
    for username, name, role, court_name, grid_path in DEMO_ACCOUNTS:
        if session.scalar(select(User).where(User.username == username)):
            continue
        user = User(username=username, display_name=name, role=role, active=True,
                    must_change_password=False)
        if court_name:
            user.court = session.scalars(select(Court).where(Court.name == court_name)).one()
        if grid_path:
            user.grid = find_grid(session, grid_path)
            user.person_id = roster_person(session, user.grid, role)
        user.set_password(DEMO_PASSWORD, demo_account=True)
        session.add(user)
        made += 1
    session.flush()
    return made


def link_demo_people(session: Session) -> int:
    """Demo accounts made before accounts named their roster person (migration 0008)
    get it now, so that the demo's liaison and grid worker can take their steps."""
    linked = 0
    for username, *_ in DEMO_ACCOUNTS:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None and user.person_id is None and user.grid is not None:
            user.person_id = roster_person(session, user.grid, user.role)
            linked += user.person_id is not None
    session.flush()
    return linked
