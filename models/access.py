"""What each account may see and do: the one place where scope is decided.

Every page, API call, export, list filter, lookup and map layer asks a Scope
built from the signed-in account (or an API token) and applies its filters in
SQL, so what is out of scope is never loaded, let alone shown.

  admin          everything
  committee      its county (a city committee: the whole city), read-only, but
                 reviews its towns' liaison lists (models.directory); of the
                 matters, only those of its county escalated to it (level 2) or
                 called urgent by the court, masked, to re-assign and note
                 (models.escalation); its area's matters counted and summarised,
                 masked, on the committee maps (matters_on_maps)
  town centre    its town and the town's villages, read-only, but submits
                 the town's liaison list; the matters of its town's grids, masked
                 (it takes escalated ones and re-dispatches: models.workflow)
  court staff    the whole city's grids and roster (to find who answers for a
                 place) and approved liaison lists, read-only; matters, as below
  liaison        their grid and what lies inside it (a town liaison: the villages),
                 and the matters assigned there, which they may return ("not ours")
  grid worker    their grid and the matters assigned there
  (the later steps of a matter — who accepts, dispatches, confirms — are
  models.workflow's, which asks this scope and the roster)

Courts and matters: who reads, who acts. A people's tribunal is a branch of its
base court (派出法庭), so a base court and its tribunals are one court for its
matters: its staff read them and act on them (file, re-route, work the queues,
cancel, confirm, and every later step). The intermediate court supervises the
courts under it, as an enforcement command centre does: its staff READ the
matters of every base court and tribunal of the city, but ACT only on the
matters the intermediate court itself filed. Only the filing court acts on a
matter. `Scope.matters()` is the reading filter, `Scope.matters_to_act_on()` the
acting one; every page, API call and command that changes a matter loads it
through the second.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import any_, false, func, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from models.accounts import Role
from models.areas import MatterArea, in_area
from models.courts import Court, CourtKind
from models.grids import Grid
from models.matters import Matter
from models.roster import RosterEntry

# What each role may do with each kind of record: "r" read, "w" also change.
# "generations" stands for the boundaries' own record: versions, replaced boundaries
# and the topology report — for those who keep and watch the boundaries.
PERMISSIONS: dict[Role, dict[str, str]] = {
    Role.admin: {"grids": "rw", "roster": "rw", "courts": "rw", "people": "rw",
                 "addresses": "rw", "generations": "r", "accounts": "rw", "tokens": "rw",
                 "audit": "r", "directory": "rw", "matters": "rw", "routing": "rw",
                 "precedence": "rw", "aliases": "rw", "maps": "r"},
    Role.committee: {"grids": "r", "roster": "r", "courts": "r", "generations": "r",
                     "directory": "rw", "matters": "r", "maps": "r"},
    Role.town_centre: {"grids": "r", "roster": "r", "courts": "r", "directory": "rw",
                       "matters": "r"},
    Role.court_staff: {"grids": "r", "roster": "r", "courts": "r", "directory": "r",
                       "matters": "rw", "routing": "rw", "maps": "r"},
    Role.liaison: {"grids": "r", "roster": "r", "courts": "r", "matters": "r", "returns": "w"},
    Role.grid_worker: {"grids": "r", "roster": "r", "courts": "r", "matters": "r"},
}

# Who may have a masked phone number shown in full (each showing is audited).
MAY_REVEAL_PHONES = {Role.admin, Role.court_staff, Role.town_centre, Role.liaison}
# Phone numbers in bulk — an export, a whole list on one page — rather than one at a
# time through the audited 显示: only admins, who keep the roster, and a town centre,
# which collects and reports its own town's liaisons and grid workers (its scope holds
# nothing else). Court staff and liaisons look a number up when they need it; everyone
# else gets lists with numbers masked.
MAY_EXPORT_PHONES = {Role.admin, Role.town_centre}
# Who may have a debtor's ID number and phones shown in full on a matter they read
# (each showing audited): the court that asked, and the grid's people who must find
# and call the debtor. Committees and town centres see matters masked.
MAY_REVEAL_DEBTOR = {Role.admin, Role.court_staff, Role.liaison, Role.grid_worker}

# How many leading code digits identify an area of each level.
_PREFIX = {"county": 6, "town": 9, "village": 12, "microgrid": 15}


# A court's conditions, made once per court: an aliased subquery took a third of a
# millisecond to build, on every page a court officer opens (expressions are immutable,
# so one serves every request).
@functools.lru_cache(maxsize=512)
def _courts_read(court_id) -> ColumnElement[bool]:
    below = aliased(Court)
    under = select(below.id).where(below.parent_id == court_id)
    return (Court.id == court_id) | Court.id.in_(under) | Court.parent_id.in_(under)


@functools.lru_cache(maxsize=512)
def _court_matters(court_id) -> ColumnElement[bool]:
    return Matter.court_id.in_(select(Court.id).where(_courts_read(court_id)))


@dataclass(frozen=True)
class Scope:
    role: Role | None
    area_code: str | None = None  # the grid the account answers for; None: the city
    court_id: object = None

    @classmethod
    def of(cls, user) -> Scope:
        """The scope of an account, of an API token (its court's staff), or of nobody."""
        if hasattr(user, "token_hash"):  # an ApiToken
            return cls(Role.court_staff, None, user.court_id)
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(None)
        area = user.grid.code if user.grid is not None else None
        prefix = area[:_PREFIX[user.grid.level.value]] if area else None
        return cls(user.role, prefix, user.court_id)

    def may(self, what: str, how: str = "r") -> bool:
        if what == "matters" and self.role is Role.committee and self.area_code is None:
            return False  # the ladder stops at the county: the city committee reads none
        return self.role is not None and how in PERMISSIONS[self.role].get(what, "")

    @property
    def sees_whole_city(self) -> bool:
        return self.role in (Role.admin, Role.court_staff) or (
            self.role is Role.committee and self.area_code is None)

    def grids(self, grid=Grid) -> ColumnElement[bool]:
        """Filter on a Grid (or an alias of it): the grids in scope."""
        if self.role is None:
            return false()
        if self.sees_whole_city:
            return true()
        if self.area_code is None:
            return false()
        return grid.code.startswith(self.area_code)

    def roster(self) -> ColumnElement[bool]:
        if self.sees_whole_city:
            return true() if self.role else false()
        return RosterEntry.grid_id.in_(select(Grid.id).where(self.grids()))

    def courts(self) -> ColumnElement[bool]:
        return true() if self.may("courts") else false()

    def people(self) -> ColumnElement[bool]:
        return true() if self.may("people") else false()

    def courts_read(self) -> ColumnElement[bool]:
        """Filter on Court: the courts whose matters court staff read — their own,
        the courts under it, and those courts' tribunals."""
        if self.court_id is None:
            return false()
        return _courts_read(self.court_id)

    def courts_acting(self) -> ColumnElement[bool]:
        """Filter on Court: the courts court staff act for — their own and its
        tribunals (never the base courts under an intermediate court)."""
        if self.court_id is None:
            return false()
        return (Court.id == self.court_id) | (
            (Court.parent_id == self.court_id) & (Court.kind == CourtKind.tribunal))

    def matters(self) -> ColumnElement[bool]:
        """Filter on Matter, for reading: the matters of the courts staff read
        (courts_read), or those currently assigned to a grid in the account's area."""
        if not self.may("matters"):
            return false()
        if self.role is Role.admin:
            return true()
        if self.role is Role.court_staff:
            return _court_matters(self.court_id) if self.court_id is not None else false()
        if self.role is Role.committee:
            return self._matters_of_area() & (
                (Matter.escalation_level >= 2) | Matter.urgent_at.is_not(None))
        return self._matters_of_area()

    def matters_are_the_areas(self) -> bool:
        """Whether the matters read are exactly the area's rows of models.areas (a
        grid's people, a town centre), so that a list may be read from them alone; a
        county committee reads only some of its area's."""
        return (self.may("matters") and self.area_code is not None
                and self.role in (Role.liaison, Role.grid_worker, Role.town_centre))

    def matters_to_act_on(self) -> ColumnElement[bool]:
        """Filter on Matter, for changing one: court staff only their own court's
        (courts_acting); a grid's people those assigned to their grid, as they read."""
        if not self.may("matters"):
            return false()
        if self.role is Role.admin:
            return true()
        if self.role is Role.court_staff:
            return Matter.court_id.in_(select(Court.id).where(self.courts_acting()))
        if self.role is Role.committee:
            return self.matters()
        return self._matters_of_area()

    def matters_on_maps(self) -> ColumnElement[bool]:
        """Filter on Matter for the committee maps (counts, clusters, summaries): a
        committee its area's matters (a city committee the city's), though it reads no
        matter page; court staff their courts' matters, as they read them (court
        presidents bring these maps to the committee's meetings); admins all."""
        if not self.may("maps"):
            return false()
        if self.role is Role.court_staff:
            return self.matters()
        if self.role is Role.admin or self.sees_whole_city:
            return true()
        return self._matters_of_area()

    def _matters_of_area(self) -> ColumnElement[bool]:
        if self.area_code is None:
            return false()
        # The area's rows of models.areas (one per current assignment to its grids),
        # as an array made once: the planner then looks the area's matters up by key.
        # As a semi-join, a page sorted by filing time with a window count walked the
        # whole table's created_at index probing each matter (2.4 s for a town at
        # province scale); by key it reads the town's 3,293 matters once.
        return Matter.id == any_(func.array(
            select(MatterArea.matter_id).where(in_area(self.area_code)).scalar_subquery()))

    def may_reveal_phone(self) -> bool:
        return self.role in MAY_REVEAL_PHONES

    def may_export_phones(self) -> bool:
        return self.role in MAY_EXPORT_PHONES

    def may_reveal_debtor(self) -> bool:
        return self.role in MAY_REVEAL_DEBTOR

