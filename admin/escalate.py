"""The escalation ladder's two faces: the periodic task the worker runs every minute,
and `gridlink escalate --once`, the same pass by hand (models.escalation: the worker's
in parts at once, run_pass_in_parts; by hand in one transaction, run_pass).

Every worker (`gridlink worker`, the one `gridlink serve` starts, docker-compose's
`worker` service) runs procrastinate's periodic deferrer: each minute's tick is
deferred once however many workers run (procrastinate_periodic_defers has one row per
task and tick), and the queueing lock keeps at most one pass waiting, so a slow pass
never piles up a queue of them. A worker that was down defers the last tick it missed
on start; the pass itself reads the matters' state, so catching up sends nothing twice.
"""

from __future__ import annotations

import logging
import os

import click
from flask.cli import with_appcontext

from admin.jobs import _flask_app, tasks
from models import clock, db
from models.escalation import run_pass, run_pass_in_parts, shows_urgent
from models.jobs import QUEUE

log = logging.getLogger(__name__)
# Standard cron; a sixth field counts seconds (tests run a tick every few seconds).
CRON = os.environ.get("GRIDLINK_ESCALATION_CRON") or "* * * * *"


@tasks.periodic(cron=CRON, periodic_id="ladder")
@tasks.task(name="escalate", queue=QUEUE, queueing_lock="escalate")
def escalate_task(timestamp: int) -> None:
    """One pass of the ladder, as of the app's clock (not the tick's time), in parts
    at once (models.escalation.run_pass_in_parts)."""
    with _flask_app().app_context():
        counts = run_pass_in_parts(db.engine, clock.now())
    if counts.changed:
        log.info("escalation pass (tick %s): %s", timestamp, summary(counts))


def summary(counts) -> str:
    return (f"{counts.reminded} reminded, {counts.to_town} to town centres, "
            f"{counts.to_committee} to county committees, {counts.notified} notifications")


@click.command("escalate", help="The escalation ladder: reminders, then the town centre, "
               "then the county committee (the worker runs it every minute).")
@click.option("--once", is_flag=True, help="Run one pass now and say what it did.")
@with_appcontext
def escalate(once):
    if not once:
        raise click.UsageError("the worker runs the ladder every minute; "
                               "--once runs one pass now")
    counts = run_pass(db.session, clock.now())
    db.session.commit()
    click.echo(f"reminders to liaisons:          {counts.reminded}")
    click.echo(f"escalated to town centres:      {counts.to_town}")
    click.echo(f"escalated to county committees: {counts.to_committee}")
    click.echo(f"notifications written:          {counts.notified}")


def init_app(app) -> None:
    """Pages ask `shows_urgent(matter)` for the 紧急协助 mark, wherever a matter shows."""
    app.add_template_global(shows_urgent, "shows_urgent")
