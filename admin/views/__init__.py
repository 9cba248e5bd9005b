"""Flask-Admin views, mounted under /admin/."""

from __future__ import annotations

from flask import Flask, redirect
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin.views.grids import GenerationView, GridHistoryView, GridView
from admin.views.home import HomeView
from admin.views.people import AddressPointView, CourtView, PersonView, RosterEntryView
from models import AddressPoint, Court, Generation, Grid, Person, RosterEntry, db


def init_app(app: Flask) -> None:
    admin = Admin(
        app,
        name=_l("Gridlink"),
        index_view=HomeView(name=_l("Dashboard"), url="/admin"),
        theme=Bootstrap4Theme(swatch="cerulean", base_template="gridlink/master.html"),
    )
    grids, people = _l("Grids"), _l("Courts and roster")
    admin.add_view(GridView(Grid, db, name=_l("Divisions and grids"), category=grids,
                            endpoint="grid"))
    admin.add_view(GridHistoryView(Grid, db, name=_l("Boundary history"), category=grids,
                                   endpoint="grid_history"))
    admin.add_view(GenerationView(Generation, db, name=_l("Boundary generations"),
                                  category=grids, endpoint="generation"))
    admin.add_view(AddressPointView(AddressPoint, db, name=_l("Standard addresses"),
                                    category=grids, endpoint="address"))
    admin.add_view(CourtView(Court, db, name=_l("Courts"), category=people, endpoint="court"))
    admin.add_view(RosterEntryView(RosterEntry, db, name=_l("Liaison roster"), category=people,
                                   endpoint="roster"))
    admin.add_view(PersonView(Person, db, name=_l("People"), category=people,
                              endpoint="person"))

    @app.route("/")
    def root():
        return redirect("/admin/")
