"""`gridlink grids import`: a boundary file checked feature by feature (a dry run),
and with --commit written as one new boundary generation (geo.importer)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from models import GridLevel, db


@click.command("import", help="Check a boundary file (GeoJSON, zipped Shapefile, GeoPackage, "
               "KML) against the grids and print a report per feature. Writes nothing "
               "without --commit; exits 1 when a feature was rejected, unless --commit "
               "--keep-good wrote the others.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--level", type=click.Choice([level.value for level in GridLevel]),
              help="Level of every feature (default: from each code).")
@click.option("--crs", type=click.Choice(["wgs84", "cgcs2000", "gcj02"]), default="wgs84",
              show_default=True, help="What the lon/lat are: gcj02 for boundaries drawn on "
              "AMap/Tencent maps (converted to WGS84).")
@click.option("--code-field",
              help="Field with the division code (default: code, adcode, 区划代码).")
@click.option("--name-field", help="Field with the name (default: name, 名称).")
@click.option("--parent-field", help="Field with the parent's code (default: parent_code; "
              "without one, the parent is the grid holding most of the feature).")
@click.option("--layer", help="Layer of a GeoPackage or zip (default: the first).")
@click.option("--encoding", help="Text encoding of a Shapefile without .cpg, e.g. GBK.")
@click.option("--commit", is_flag=True, help="Write the features as a new generation.")
@click.option("--keep-good", is_flag=True, help="With --commit: write the good features even "
              "though others were rejected.")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]),
              help="When the new boundaries take effect (default: today).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feature, then a "
              "summary object.")
@click.option("--accept-topology", is_flag=True, help="With --commit: write even though the "
              "result overlaps, leaves gaps or spills (recorded in the audit trail).")
@with_appcontext
def grids_import(path, level, crs, code_field, name_field, parent_field, layer, encoding,
                 commit, keep_good, valid_from, as_json, accept_topology):
    from geo.importer import (
        ImportOptions,
        ImportRefused,
        commit_import,
        prepare_import,
        topology_after,
    )
    from geo.map_shapes import request_map_refresh
    from models.audit import append

    options = ImportOptions(level=GridLevel(level) if level else None, crs=crs,
                            code_field=code_field, name_field=name_field,
                            parent_field=parent_field, layer=layer, encoding=encoding)
    try:
        report = prepare_import(db.session, path, options)
    except ImportRefused as e:
        raise click.ClickException(str(e)) from e
    # The grids as they would be after writing: checked like `gridlink grids check`.
    problems = topology_after(db.session, report)
    outcome = "dry run: nothing written (add --commit to write)"
    refused_anyway = report.rejected and not keep_good  # commit_import says why, below
    if commit and problems and not accept_topology and not refused_anyway:
        _print(report, as_json, "nothing written: the result would break the tiling "
               "(fix the file, or --accept-topology)", problems)
        sys.exit(1)
    if commit:
        try:
            generation = commit_import(db.session, report, keep_good,
                                       valid_from.date() if valid_from else None)
        except ImportRefused as e:
            db.session.rollback()
            _print(report, as_json, str(e), problems)
            sys.exit(1)
        if generation and problems:
            append(db.session.connection(), "topology_override", "generation",
                   str(generation.id), after={"problems": [p.line() for p in problems]})
        if generation:
            request_map_refresh(db.session)  # the committee maps' shapes, by a job
        db.session.commit()
        outcome = (f"written as generation {generation}" if generation
                   else "nothing to write: every good feature is unchanged")
    _print(report, as_json, outcome, problems)
    if report.rejected and not (commit and keep_good):
        sys.exit(1)


def _print(report, as_json: bool, outcome: str, problems) -> None:
    if as_json:
        for line in report.json_lines():
            click.echo(line)
        for problem in problems:
            click.echo(problem.as_json())
        click.echo(outcome, err=True)
        return
    for note in report.notes:
        click.echo(f"note: {note}")
    for row in report.rows:
        click.echo(row.line())
    click.echo(report.summary())
    if problems:
        click.echo(f"topology after the import: {len(problems)} problems")
        for problem in problems:
            click.echo("  " + problem.line())
    click.echo(outcome)
