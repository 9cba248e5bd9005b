"""`gridlink report annual`: the assessment statistics of a year as a workbook."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.statistics_excel import annual_workbook
from models import Grid, GridLevel, Role, db
from models.access import Scope
from models.statistics import Period, statistics


@click.group("report", help="Reports for the committees' assessment (考核).")
def report_cli():
    pass


def _county(value: str) -> str:
    """A county by its 6-digit code (or 12-digit) or its name: its 6-digit prefix."""
    grid = db.session.scalars(Grid.current().where(
        Grid.level == GridLevel.county,
        (Grid.code == value.ljust(12, "0")) | (Grid.name == value))).first()
    if grid is None:
        raise click.BadParameter(f"no county {value!r} (give its code or its name)",
                                 param_hint="--county")
    return grid.code[:6]


@report_cli.command("annual", help="Write a year's assessment statistics to a workbook: per "
                    "county, town and court (by type and by month), one sheet per table, "
                    "Chinese headers, totals that add up. The whole city, or one county.")
@click.option("--year", type=int, required=True, help="The year (matters filed in it).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The .xlsx file to write.")
@click.option("--county", default=None, help="Only this county (code or name), as its "
              "committee sees it.")
@with_appcontext
def annual(year: int, out: Path, county: str | None):
    scope = (Scope(Role.committee, _county(county)) if county else Scope(Role.admin))
    try:
        period = Period(year)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--year") from e
    stats = statistics(db.session, scope, period)
    out.write_bytes(annual_workbook(stats))
    click.echo(f"{out}: {stats.area_name} {period.label}, {stats.court_total.asked} matters "
               f"asked for, {stats.total.received} received by the grids, "
               f"{stats.total.completed} completed")
