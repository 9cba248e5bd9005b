"""Data and its rules: grids and their boundary versions, courts, the liaison roster."""

from models.addresses import AddressPoint
from models.base import Base, db
from models.courts import Court, CourtKind, court_grids
from models.grids import Generation, Grid, GridCodeError, GridLevel
from models.roster import Person, RosterEntry, RosterRole

__all__ = [
    "AddressPoint",
    "Base",
    "Court",
    "CourtKind",
    "Generation",
    "Grid",
    "GridCodeError",
    "GridLevel",
    "Person",
    "RosterEntry",
    "RosterRole",
    "court_grids",
    "db",
]
