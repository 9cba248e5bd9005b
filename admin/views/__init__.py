"""Flask-Admin views, mounted under /admin/."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, redirect
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin.auth import AuthView
from admin.headers import csp_nonce
from admin.views.accounts import ApiTokenView, UserView
from admin.views.audit import AuditView
from admin.views.committee_maps import DensityMapView, OpenMattersMapView
from admin.views.deadlines import CalendarDayView, DeadlineRuleView
from admin.views.directory import DirectoryView
from admin.views.fees import FeeRuleView, FeeTotalsView, LedgerView, StatementView
from admin.views.formatters import local_time
from admin.views.grids import GenerationView, GridHistoryView, GridView
from admin.views.home import HomeView
from admin.views.imports import ImportView
from admin.views.inbox import InboxView, bell
from admin.views.jobs import JobView
from admin.views.legal_advice import AdviceView, MyAdviceView
from admin.views.locate import LocateView
from admin.views.matter_form import FilingView
from admin.views.matter_import import MatterImportView
from admin.views.matters import MatterView
from admin.views.people import AddressPointView, CourtView, PersonView, RosterEntryView
from admin.views.precedence import PlaceAliasView, PrecedenceView
from admin.views.queues import QueueView
from admin.views.risk_reports import RiskView
from admin.views.statistics import OverdueView, StatisticsView
from admin.views.topology import TopologyView
from models import (
    AddressPoint,
    ApiToken,
    AuditRecord,
    CalendarDay,
    Court,
    DeadlineRule,
    FeeRule,
    Generation,
    Grid,
    LedgerLine,
    Matter,
    MatterState,
    Person,
    PlaceAlias,
    Precedence,
    RosterEntry,
    Statement,
    User,
    db,
)


def init_app(app: Flask) -> None:
    admin = Admin(
        app,
        name=_l("Gridlink"),
        index_view=HomeView(name=_l("Dashboard"), url="/admin"),
        theme=Bootstrap4Theme(swatch="cerulean", base_template="gridlink/master.html",
                              fluid=True),
        csp_nonce_generator=csp_nonce,
    )
    grids, people = _l("Grids"), _l("Courts and roster")
    admin.add_view(LocateView(name=_l("Find a grid"), category=grids, endpoint="locate"))
    admin.add_view(GridView(Grid, db, name=_l("Divisions and grids"), category=grids,
                            endpoint="grid"))
    admin.add_view(GridHistoryView(Grid, db, name=_l("Boundary history"), category=grids,
                                   endpoint="grid_history"))
    admin.add_view(TopologyView(name=_l("Topology check"), category=grids, endpoint="topology"))
    admin.add_view(ImportView(name=_l("Import boundaries"), category=grids, endpoint="import"))
    admin.add_view(GenerationView(Generation, db, name=_l("Boundary generations"),
                                  category=grids, endpoint="generation"))
    admin.add_view(AddressPointView(AddressPoint, db, name=_l("Standard addresses"),
                                    category=grids, endpoint="address"))
    admin.add_view(PlaceAliasView(PlaceAlias, db, name=_l("Place aliases"), category=grids,
                                  endpoint="alias"))
    admin.add_view(CourtView(Court, db, name=_l("Courts"), category=people, endpoint="court"))
    admin.add_view(RosterEntryView(RosterEntry, db, name=_l("Liaison roster"), category=people,
                                   endpoint="roster"))
    admin.add_view(PersonView(Person, db, name=_l("People"), category=people,
                              endpoint="person"))
    admin.add_view(DirectoryView(name=_l("Liaison list submissions"), category=people,
                                 endpoint="directory"))
    admin.add_view(MatterView(Matter, db, name=_l("Court matters"), category=_l("Matters"),
                              endpoint="matter"))
    admin.add_view(FilingView(name=_l("File a matter"), category=_l("Matters"),
                              endpoint="filing"))
    admin.add_view(QueueView((MatterState.review, MatterState.returned),
                             name=_l("Review queue"), category=_l("Matters"),
                             endpoint="review_queue"))
    admin.add_view(QueueView((MatterState.manual,), name=_l("Manual location queue"),
                             category=_l("Matters"), endpoint="manual_queue"))
    admin.add_view(MatterImportView(name=_l("Import matters"), category=_l("Matters"),
                                    endpoint="matter_import"))
    admin.add_view(PrecedenceView(Precedence, db, name=_l("Address precedence"),
                                  category=_l("Matters"), endpoint="precedence"))
    # Grid-side requests (models.requests): each menu entry only for the roles it serves.
    admin.add_view(RiskView(name=_l("Risk reports"), category=_l("Matters"), endpoint="risk"))
    admin.add_view(AdviceView(name=_l("Legal advice"), endpoint="advice"))
    admin.add_view(MyAdviceView(name=_l("Legal advice"), endpoint="my_advice",
                                url="/admin/my-advice"))
    maps = _l("Maps")
    admin.add_view(OpenMattersMapView(name=_l("Open matters map"), category=maps,
                                      endpoint="open_map", url="/admin/maps/open"))
    admin.add_view(DensityMapView(name=_l("Completion density map"), category=maps,
                                  endpoint="density_map", url="/admin/maps/density"))
    fees = _l("Labour fees")
    admin.add_view(StatementView(Statement, db, name=_l("Statements"), category=fees,
                                 endpoint="statement"))
    admin.add_view(LedgerView(LedgerLine, db, name=_l("Fee ledger"), category=fees,
                              endpoint="ledger"))
    admin.add_view(FeeRuleView(FeeRule, db, name=_l("Fee table"), category=fees,
                               endpoint="fee_rule"))
    admin.add_view(FeeTotalsView(name=_l("Fee totals"), category=fees, endpoint="fee_totals"))
    # The committee's pages (admins too): the assessment and what is overdue, its area's.
    committee = _l("Statistics")
    admin.add_view(StatisticsView(name=_l("Assessment statistics"), category=committee,
                                  endpoint="statistics"))
    admin.add_view(OverdueView(name=_l("Overdue matters"), category=committee,
                               endpoint="overdue"))
    # Deadlines by the rules (models.deadlines): the rule table and the holiday calendar.
    deadlines = _l("Deadlines")
    admin.add_view(DeadlineRuleView(DeadlineRule, db, name=_l("Deadline rules"),
                                    category=deadlines, endpoint="deadline_rule"))
    admin.add_view(CalendarDayView(CalendarDay, db, name=_l("Holiday calendar"),
                                   category=deadlines, endpoint="calendar"))
    system = _l("System")
    admin.add_view(UserView(User, db, name=_l("Accounts"), category=system,
                            endpoint="account"))
    admin.add_view(ApiTokenView(ApiToken, db, name=_l("API tokens"), category=system,
                                endpoint="token"))
    admin.add_view(AuditView(AuditRecord, db, name=_l("Audit trail"), category=system,
                             endpoint="audit"))
    # Under 联动事项: what court staff start there (a large import), an admin's boundary
    # files besides.
    admin.add_view(JobView(name=_l("Background jobs"), category=_l("Matters"),
                           endpoint="jobs"))
    admin.add_view(AuthView(name=_l("Sign in"), endpoint="auth", url="/admin/auth"))
    admin.add_view(InboxView(name=_l("Notifications"), endpoint="inbox", url="/admin/inbox"))

    app.add_template_filter(local_time, "local_time")
    app.add_template_global(bell, "gridlink_bell")

    @app.route("/")
    def root():
        return redirect("/admin/")

    icon = (Path(app.static_folder) / "gridlink" / "favicon.ico").read_bytes()

    @app.route("/favicon.ico")
    def favicon():
        """Browsers ask for it on every page: answer (from memory: no file left open when
        a browser hangs up), and let them keep it a week."""
        response = Response(icon, mimetype="image/vnd.microsoft.icon")
        response.cache_control.public, response.cache_control.max_age = True, 7 * 24 * 3600
        return response
