"""The committee's pages: 考核统计 (the assessment dashboard, with charts and its
workbook) and 超期事项 (the overdue list, sortable, exported to Excel).

Both read models.statistics, which scopes every query in SQL to the account's area:
admins and the city committee the whole city, a county committee its county. The
chart library (Chart.js, vendored in admin/static/vendor/chartjs) is loaded by the
dashboard only; the figures reach it as JSON in the page, drawn by
gridlink/statistics.js (no inline script: the page's CSP).
"""

from __future__ import annotations

from collections import defaultdict

from flask import Response, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _

from admin.auth import current_scope
from admin.errors import whole_number
from admin.statistics_excel import annual_workbook, overdue_workbook
from admin.views.matter_formatters import label
from admin.views.matter_pdf import attachment_name
from admin.views.secure import refuse
from models import clock, db
from models.audit import append
from models.matter_types import MATTER_TYPE_LABELS, MatterType
from models.matters import STATE_LABELS, MatterState
from models.statistics import (
    ESCALATION_LABELS,
    OVERDUE_SORTS,
    PARTS,
    READERS,
    Period,
    area_name,
    area_prefix,
    overdue,
    statistics,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = 100
EXPORT_LIMIT = 50_000


class CommitteeView(BaseView):
    def is_accessible(self):
        return current_scope().role in READERS

    def inaccessible_callback(self, name, **kwargs):
        return refuse()


def _period() -> Period:
    """The period asked for (?year=&part=), else this year; nonsense falls back."""
    year = request.args.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else clock.today().year
    part = request.args.get("part", "")
    return Period(year, part if part in PARTS else "")


def part_choices() -> list[tuple[str, str]]:
    return ([("", _("Whole year"))] + [(f"Q{q}", _("Quarter %(n)d", n=q)) for q in range(1, 5)]
            + [(f"{m:02d}", _("Month %(n)d", n=m)) for m in range(1, 13)])


def _type_label(value) -> str:
    try:
        return label(MATTER_TYPE_LABELS, MatterType(value))
    except ValueError:
        return str(value)


def _charts(stats) -> dict:
    """What the charts draw: small sums of the tables' rows (the tables are the truth)."""
    months: dict = defaultdict(lambda: [0, 0])
    for row in stats.courts_by_month:
        months[f"{row.key:%Y-%m}"][0] += row.asked
        months[f"{row.key:%Y-%m}"][1] += row.completed
    courts: dict = defaultdict(lambda: [0, 0])
    types: dict = defaultdict(int)
    for row in stats.courts_by_type:
        courts[row.court][0] += row.asked
        courts[row.court][1] += row.completed
        types[_type_label(row.key)] += row.asked
    areas = stats.counties if stats.area is None else stats.towns
    return {
        "texts": {"asked": _("Asked for"), "completed": _("Closed as completed"),
                  "completion": _("Completion rate (%)"), "on_time": _("On-time rate (%)")},
        "months": {"labels": sorted(months), "asked": [months[m][0] for m in sorted(months)],
                   "completed": [months[m][1] for m in sorted(months)]},
        "areas": {"labels": [a.name for a in areas],
                  "completion": [round(100 * a.completion_rate, 1) if a.received else None
                                 for a in areas],
                  "on_time": [round(100 * a.on_time_rate, 1) if a.completed else None
                              for a in areas]},
        "courts": {"labels": list(courts), "asked": [v[0] for v in courts.values()],
                   "completed": [v[1] for v in courts.values()]},
        "types": {"labels": list(types), "asked": list(types.values())},
    }


class StatisticsView(CommitteeView):
    """考核统计: the period's figures per county, town and court, as charts and tables."""

    @expose("/")
    def index(self):
        period = _period()
        stats = statistics(db.session, current_scope(), period)
        this_year = clock.today().year
        return self.render("gridlink/statistics.html", stats=stats, period=period,
                           years=range(this_year, this_year - 6, -1),
                           parts=part_choices(), charts=_charts(stats),
                           type_label=_type_label)

    @expose("/excel/")
    def excel(self):
        period = _period()
        stats = statistics(db.session, current_scope(), period)
        data = annual_workbook(stats)
        append(db.session.connection(), "export", "statistics", None,
               after={"period": period.label, "area": stats.area or "city"})
        db.session.commit()
        response = Response(data, mimetype=XLSX)
        response.headers["Content-Disposition"] = attachment_name(
            f"执行联动考核统计-{stats.area_name}-{period.label}.xlsx", "attachment",
            "statistics.xlsx")
        return response


def _sorting() -> tuple[str, bool]:
    sort = request.args.get("sort", "days_overdue")
    sort = sort if sort in OVERDUE_SORTS else "days_overdue"
    return sort, request.args.get("desc", "1") != "0"


class OverdueView(CommitteeView):
    """超期事项: open matters past their due moment in the area, without debtors."""

    @expose("/")
    def index(self):
        sort, descending = _sorting()
        page = whole_number("page", default=0, most=10_000)
        total, rows = overdue(db.session, current_scope(), sort=sort, descending=descending,
                              limit=PAGE, offset=page * PAGE)

        def sort_url(column):
            flip = not descending if column == sort else column == "days_overdue"
            return url_for(".index", sort=column, desc=int(flip))

        return self.render("gridlink/overdue.html", rows=rows, total=total, page=page,
                           pages=(total + PAGE - 1) // PAGE, sort=sort, descending=descending,
                           sort_url=sort_url, escalation=lambda n: label(
                               ESCALATION_LABELS, n) if n in ESCALATION_LABELS else str(n),
                           state=lambda s: label(STATE_LABELS, MatterState(s)),
                           area=area_name(db.session, area_prefix(current_scope())),
                           today=clock.today().isoformat())

    @expose("/excel/")
    def excel(self):
        sort, descending = _sorting()
        scope = current_scope()
        total, rows = overdue(db.session, scope, sort=sort, descending=descending,
                              limit=EXPORT_LIMIT)
        name = area_name(db.session, area_prefix(scope))
        data = overdue_workbook(name, rows, clock.today())
        append(db.session.connection(), "export", "overdue", None,
               after={"rows": len(rows), "of": total})
        db.session.commit()
        response = Response(data, mimetype=XLSX)
        response.headers["Content-Disposition"] = attachment_name(
            f"超期联动事项-{name}-{clock.today():%Y%m%d}.xlsx", "attachment", "overdue.xlsx")
        return response
