"""`gridlink evidence sweep`: evidence uploaded with an outcome form that was never
saved (models.evidence.sweep), removed after a day, saying what went."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("evidence", help="Evidence files of outcomes.")
def evidence_cli():
    pass


@evidence_cli.command("sweep", help="Remove evidence no outcome names (a form never saved) "
                                    "uploaded more than H hours ago, and its files unless "
                                    "evidence in use shares them. Default: "
                                    "GRIDLINK_EVIDENCE_SWEEP_HOURS, else 24.")
@click.option("--older-than", "hours", type=click.FloatRange(min=0), metavar="H",
              help="Age in hours.")
@with_appcontext
def sweep_command(hours):
    from admin.outcome_files import sweep_unsaved

    swept = sweep_unsaved(hours)
    for r in swept.records:
        click.echo(f"removed evidence {r['id']} of matter {r['matter_id']}: {r['name']} "
                   f"({r['kind']}, {r['size']:,} bytes, uploaded {r['uploaded_at']})")
    for path in swept.files:
        click.echo(f"deleted file {path}")
    kept = len(swept.hashes) - len({p.split("/")[-1].split(".")[0] for p in swept.files})
    click.echo(f"{len(swept.records)} evidence records older than "
               f"{swept.cutoff.isoformat(timespec='seconds')} removed, "
               f"{len(swept.files)} files deleted"
               + (f", {kept} kept (shared with evidence in use, or uploaded again)"
                  if kept else ""))
