"""`gridlink matters import`: a spreadsheet of court matters checked row by row (a dry
run), and with --commit the good rows filed in one transaction (admin.matter_intake,
the same as the upload page). From the command line any court may be named.

`gridlink matters step`: one step of a matter's life as a named account, under the
same rules as the matter's page (models.workflow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from admin.i18n import DEFAULT_LOCALE, LOCALES
from models import db
from models.grids import N_


@click.group("matters", help="Court matters: bulk filing from a spreadsheet, and the "
             "steps of a matter's life.")
def matters_cli():
    from admin.cli import as_cli_user

    as_cli_user()


@matters_cli.command("import", help="Check a spreadsheet of matters (.xlsx, or .csv in UTF-8 "
                     "or GBK; the columns of the upload page's template) and report every "
                     "bad row with its column. Writes nothing without --commit; with it, "
                     "files the good rows (bad ones are left out) and locates them. Rows "
                     "already filed are never filed twice. Exits 1 when a row is bad.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--commit", is_flag=True, help="File the good rows.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per bad row, then a "
              "summary object.")
@click.option("--lang", type=click.Choice(list(LOCALES)), default=DEFAULT_LOCALE,
              show_default=True, help="Language of the reasons.")
@with_appcontext
def matters_import(path, commit, as_json, lang):
    from admin import matter_intake
    from admin.matter_intake import IntakeError, prepare, say
    from admin.matter_intake import commit as commit_rows

    with force_locale(lang):
        try:
            if Path(path).stat().st_size > matter_intake.MAX_FILE:  # not read at all
                raise IntakeError(N_("The file is larger than %(mb)d MB: split it."),
                                  mb=matter_intake.MAX_FILE // 2**20)
            report = prepare(db.session, Path(path).read_bytes(), Path(path).name)
        except IntakeError as e:
            raise click.ClickException(_(e.template, **e.params)) from e
        outcome = "dry run: nothing written (add --commit to file the new rows)"
        if commit:
            states = commit_rows(db.session, report)
            db.session.commit()
            outcome = (f"filed {sum(states.values())} new matters: "
                       f"{states['assigned']} assigned, {states['review']} awaiting review, "
                       f"{states['manual']} awaiting manual location")
        _print(report, as_json, outcome, lambda p: say(p, _))
    if report.counts()["bad"]:
        sys.exit(1)


def _print(report, as_json: bool, outcome: str, reason) -> None:
    counts = report.counts()
    if as_json:
        for row in report.bad:
            for problem in row.problems:
                click.echo(json.dumps({"row": row.line, "column": problem.column,
                                       "reason": reason(problem)}, ensure_ascii=False))
        summary = {**counts, "committed": report.outcome is not None}
        if report.outcome is not None:
            summary["states"] = {s: report.outcome[s] for s in ("assigned", "review", "manual")}
        click.echo(json.dumps(summary, ensure_ascii=False))
        click.echo(outcome, err=True)
        return
    click.echo(f"{report.filename}: {counts['rows']} rows, {counts['good']} good, "
               f"{counts['bad']} bad, {counts['duplicates']} already filed or repeated, "
               f"{counts['new']} new")
    for row in report.bad:
        for problem in row.problems:
            click.echo(f"row {row.line}\t{problem.column}\t{reason(problem)}")
    for row in report.rows:
        if row.status == "repeat":
            click.echo(f"row {row.line}\trepeats row {row.repeats}: filed once")
    click.echo(outcome)


@matters_cli.command("step", help="Take one step of a matter's life as an account (the "
                     "same rules as its page: who may take it, from which state), e.g. "
                     "`gridlink matters step ID accept --as demo_liaison`. Steps: "
                     "accept, dispatch, return, fail, cancel, chase, escalate, confirm, "
                     "send_back, take, redispatch, urgent, note, reassign. Prints what "
                     "happened, or the refusal (exit code 1).")
@click.argument("matter_id")
@click.argument("step")
@click.option("--as", "username", required=True, help="The account taking the step.")
@click.option("--reason", help="A reason code (fail: not_found, refused, "
              "whereabouts_unknown, no_property, other; cancel: settled, performed, "
              "filed_in_error, other).")
@click.option("--note", help="Words of one's own (required for return, send_back, "
              "redispatch and the reason other).")
@click.option("--worker", help="dispatch: the grid worker's account (its roster person); "
              "without it the liaison keeps the matter.")
@click.option("--grid", "grid_code", help="redispatch, reassign: the code of the grid it "
              "goes to.")
@click.option("--version", type=int, help="Refuse the step if the matter is no longer "
              "at this version.")
@click.option("--lang", type=click.Choice(list(LOCALES)), default=DEFAULT_LOCALE,
              show_default=True, help="Language of what is printed.")
@with_appcontext
def matters_step(matter_id, step, username, reason, note, worker, grid_code, version, lang):
    import uuid

    from sqlalchemy import select

    from admin.views.matter_formatters import label, say
    from models import Grid, User, workflow
    from models.matters import STATE_LABELS

    with force_locale(lang):
        session = db.session
        actor = session.scalar(select(User).where(User.username == username,
                                                  User.active.is_(True)))
        if actor is None:
            raise click.ClickException(f"no active account {username!r}")
        person = None
        if worker:
            account = session.scalar(select(User).where(User.username == worker))
            if account is None or account.person is None:
                _refuse(f"{worker!r} is no account of a person on the roster")
            person = account.person
        grid = session.scalar(Grid.current().where(Grid.code == grid_code)) if grid_code \
            else None
        try:
            key = uuid.UUID(matter_id)
        except ValueError:
            _refuse(_("No such matter."))
        try:
            matter = workflow.begin(session, key, actor, version=version)
            row = workflow.take_step(session, matter, actor, step, reason=reason, note=note,
                                     worker=person, grid=grid)
        except workflow.StepError as e:
            session.rollback()
            _refuse(say(e))
        session.commit()
        click.echo(f"{matter.case_number}: {_(row.label)} "
                   f"({label(STATE_LABELS, row.from_state)} → "
                   f"{label(STATE_LABELS, row.to_state)}), version {matter.version}")


def _refuse(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
