"""The `gridlink` command line. Every command is also on app.cli, so tests run
them with Flask's CLI runner against the test database."""

from __future__ import annotations

import getpass
import os
import secrets
import subprocess
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from admin.cli_evidence import evidence_cli
from admin.cli_grids_import import grids_import
from admin.cli_locate import locate
from admin.cli_matters import matters_cli
from admin.cli_report import report_cli
from admin.escalate import escalate
from admin.secret_key import SecretKeyError
from models import clock, db
from models.audit import Actor, set_actor
from models.database import ClusterError, database_url, embedded, outside_database


def as_cli_user() -> None:
    """Changes made from the command line are audited as cli:<system user>."""
    set_actor(Actor(f"cli:{getpass.getuser()}", None, "localhost"))


@click.group("db", help="The database: embedded PostGIS control and migrations.")
def db_cli():
    pass


@db_cli.command("start", help="Start the embedded PostGIS under var/ (creating it if needed).")
def db_start():
    if os.environ.get("DATABASE_URL"):
        click.echo("DATABASE_URL is set: using that database, not starting the embedded one")
        return
    cluster = embedded()
    try:
        port = cluster.start()
        cluster.ensure_database()
    except ClusterError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"embedded PostGIS running on 127.0.0.1:{port} ({cluster.data_dir})")


@db_cli.command("stop", help="Stop the embedded PostGIS.")
def db_stop():
    cluster = embedded()
    try:
        cluster.stop()
    except ClusterError as e:
        raise click.ClickException(str(e)) from e
    click.echo("embedded PostGIS stopped")


@db_cli.command("status", help="Say whether the embedded PostGIS is running (exit 1 if not).")
def db_status():
    if os.environ.get("DATABASE_URL"):
        click.echo("DATABASE_URL is set: the embedded PostGIS is not used")
        return
    cluster = embedded()
    if cluster.running():
        click.echo(f"running on 127.0.0.1:{cluster.port()} ({cluster.data_dir})")
    else:
        click.echo("not running (start it with `gridlink db start`)")
        sys.exit(1)


@db_cli.command("url", help="Print the SQLAlchemy URL of the database in use.")
def db_url():
    try:
        click.echo(database_url())
    except ClusterError as e:
        raise click.ClickException(str(e)) from e


def owner_url() -> str:
    """The owner's connection (migrations): OWNER_DATABASE_URI in the config (tests),
    else DATABASE_URL or the embedded cluster as postgres."""
    return current_app.config.get("OWNER_DATABASE_URI") or database_url()


@db_cli.command("upgrade", help="Apply the migrations up to the newest, as the owner; "
                "the app's role gets the password of GRIDLINK_APP_DATABASE_URL.")
@with_appcontext
def db_upgrade():
    from sqlalchemy import create_engine, make_url

    from models.migrate import set_app_role_password, upgrade

    engine = create_engine(owner_url())
    try:
        upgrade(engine)
        app_url = os.environ.get("GRIDLINK_APP_DATABASE_URL")
        if app_url and make_url(app_url).password:
            set_app_role_password(engine, make_url(app_url))
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    finally:
        engine.dispose()
    click.echo("database is at the newest migration")


@db_cli.command("rebuild-areas", help="Make the area read model (matter_areas) again from "
                "the assignments and the matters; its triggers keep it, this repairs it.")
@with_appcontext
def db_rebuild_areas():
    from models.areas import rebuild

    written = rebuild(db.session)
    db.session.commit()
    click.echo(f"matter_areas rebuilt: {written} rows (one per current assignment)")


@click.group("seed", help="Load demonstration data.")
def seed_cli():
    as_cli_user()


@seed_cli.command("demo", help="Load the Yunfu demo (deterministic; skipped when grids exist).")
@with_appcontext
def seed_demo():
    from seeds.demo import load_demo

    report = load_demo(db.session)
    db.session.commit()
    click.echo(report)


@seed_cli.command("calendar", help="Add China's official holidays and adjusted working days "
                  "(seeds/calendar_cn.py: 2026) to the holiday calendar; days an admin "
                  "entered are kept.")
@with_appcontext
def seed_calendar():
    from seeds.calendar_cn import load_official_calendar

    added = load_official_calendar(db.session)
    db.session.commit()
    click.echo(f"{added} calendar days added")


@seed_cli.command("synthetic", help="Build the synthetic province for the benchmark (bench/) "
                  "in a database of its own on the same server.")
@click.option("--towns", default=1600, show_default=True, type=click.IntRange(1))
@click.option("--villages", default=26000, show_default=True, type=click.IntRange(1))
@click.option("--microgrids", default=200000, show_default=True, type=click.IntRange(1))
@click.option("--matters", default=1_000_000, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--database", default="gridlink_synthetic", show_default=True,
              help="Its own database; never the one the application uses.")
@with_appcontext
def seed_synthetic(towns, villages, microgrids, matters, seed, database):
    from seeds.synthetic_province import load_province, synthetic_url

    try:
        url = synthetic_url(owner_url(), database)  # a new database: the owner's work
        report = load_province(url.render_as_string(hide_password=False),
                               towns=towns, villages=villages, microgrids=microgrids,
                               matters=matters, seed=seed, log=click.echo)
    except (RuntimeError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    counts = ", ".join(f"{name} {n:,}" for name, n in report["counts"].items())
    click.echo(f"synthetic province in {database}: {counts}")
    click.echo(f"mean village vertices {report['mean_village_vertices']}, "
               f"{report['total_seconds']} s, peak memory {report['peak_rss_mb']} MB")


@click.group("grids", help="Grids: import, export, topology checks, versions.")
def grids_cli():
    as_cli_user()


grids_cli.add_command(grids_import)


@grids_cli.command("export", help="Write current grids as an RFC 7946 GeoJSON FeatureCollection.")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--level", type=click.Choice(["county", "town", "village", "microgrid"]),
              help="Only this level (default: all).")
@with_appcontext
def grids_export(path, level):
    from geo.export import write_geojson

    with open(path, "w", encoding="utf-8") as f:
        n = write_geojson(db.session, f, level)
    click.echo(f"wrote {n} features to {path}")


@grids_cli.command("check", help="Topology checks of the current grids: validity, inside "
                   "the parent, sibling overlaps, gaps, slivers. Exit 1 if anything is found.")
@click.option("--tolerance", default=1.0, show_default=True, type=float,
              help="Metres: spills and overlaps/gaps smaller than this are ignored.")
@click.option("--under", default="", help="Only grids whose code starts with this.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per problem.")
@with_appcontext
def grids_check(tolerance, under, as_json):
    from geo.topology import check

    problems = check(db.session, under, tolerance)
    for problem in problems:
        click.echo(problem.as_json() if as_json else problem.line())
    if not as_json:
        click.echo(f"{len(problems)} problems" if problems else "no problems found")
    if problems:
        sys.exit(1)


@grids_cli.command("diff", help="What changed between two boundary generations.")
@click.option("--from", "old", required=True, type=int, help="Generation number.")
@click.option("--to", "new", required=True, type=int, help="Generation number.")
@with_appcontext
def grids_diff(old, new):
    from geo.versions import diff, matters_moved

    try:
        changes = diff(db.session, old, new)
    except LookupError as e:
        raise click.ClickException(str(e)) from e
    for change in changes:
        click.echo(change.line())
    click.echo(f"{len(changes)} grids differ between generations {old} and {new}")
    moved = matters_moved(db.session, new)
    for matter in moved:
        click.echo(matter.line())
    click.echo(f"{len(moved)} open matters lie in another grid under generation {new}")


@grids_cli.command("at", help="Which grids covered a point on a day (past boundaries too).")
@click.option("--lonlat", required=True, help="LON,LAT in WGS84.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Default: today.")
@with_appcontext
def grids_at(lonlat, day):
    from geo.versions import grids_at_point

    try:
        lon, lat = (float(v) for v in lonlat.split(","))
    except ValueError as e:
        raise click.ClickException(f"--lonlat wants LON,LAT, not {lonlat!r}") from e
    found = grids_at_point(db.session, lon, lat, day.date() if day else None)
    if not found:
        click.echo("no grid covered that point on that day")
    for grid in found:
        click.echo(f"{grid.level.value:9} {grid.code} {grid.name} "
                   f"(generations {grid.generation_low}–{grid.generation_high or 'now'})")


# Heavy work runs as background jobs (admin/jobs.py: a large spreadsheet's confirm, a
# large boundary file's check and write). The slowest request left is the report of a
# spreadsheet at the documented maximum (20,000 rows): 9 s on a quiet machine, 32 s on
# a busy one (bench/intake.py) — past gunicorn's default of 30 s, hence this margin.
WORKER_TIMEOUT = 120


@click.group("maps", help="The committee maps.")
def maps_cli():
    as_cli_user()


@maps_cli.command("refresh", help="Rebuild the maps' precomputed shapes (county and town "
                  "unions, simplified per zoom) from the current boundaries, and count "
                  "every area's matters again (the worker does that every minute).")
@click.option("--counts", "counts_only", is_flag=True,
              help="Only count the matters again; keep the shapes.")
@with_appcontext
def maps_refresh(counts_only):
    from geo.map_counts import refresh_map_counts
    from geo.map_shapes import refresh_map_shapes

    if not counts_only:
        counts = refresh_map_shapes(db.session)
        db.session.commit()
        click.echo(f"map shapes rebuilt: {counts['county']} counties, {counts['town']} "
                   f"towns, {counts['village']} villages")
    areas = refresh_map_counts(db.session, clock.now())
    db.session.commit()
    click.echo(f"matters counted again for {areas} areas")


@click.command("serve", help="Serve the admin (gunicorn; --dev for Flask's reloading server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--timeout", default=WORKER_TIMEOUT, show_default=True, type=click.IntRange(1),
              help="Seconds a request may run before gunicorn restarts its worker.")
@click.option("--dev", is_flag=True, help="Flask's development server with reloading.")
@click.option("--jobs/--no-jobs", default=True, show_default=True,
              help="Run the background-job worker beside the server (`gridlink worker`); "
                   "--no-jobs where it runs as a service of its own.")
@with_appcontext
def serve(host, port, workers, timeout, dev, jobs):
    # The workers connect as the app's role, like this process.
    os.environ.setdefault("GRIDLINK_APP_DATABASE_URL",
                          db.engine.url.render_as_string(hide_password=False))
    if jobs:
        # In the same process group: Ctrl-C stops both; it also stops if this one dies.
        subprocess.Popen([sys.executable, "-c", "from admin.cli import main; main()",
                          "worker", "--exit-with-parent"])
    if dev:
        current_app.run(host=host, port=port, debug=True)
        return
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                               "--timeout", str(timeout), "--bind", f"{host}:{port}",
                               "--access-logfile", "-", "admin.wsgi:app"])


@click.command("worker", help="Run the background jobs (procrastinate's queue in the "
               "database) until stopped.")
@click.option("--once", is_flag=True, help="Do the jobs waiting now, then stop.")
@click.option("--exit-with-parent", is_flag=True, hidden=True)
@with_appcontext
def worker(once, exit_with_parent):
    import logging

    from admin.jobs import runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s "
                        "%(name)s: %(message)s")
    if exit_with_parent:
        _exit_with_parent()
    jobs = runner(db.engine.url.render_as_string(hide_password=False),
                  current_app._get_current_object())
    jobs.run_worker(wait=not once)


def _exit_with_parent() -> None:
    """Stop (gracefully, as on Ctrl-C) when the process that started us is gone."""
    import signal
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


@click.group("audit", help="The audit trail.")
def audit_cli():
    as_cli_user()


@audit_cli.command("verify", help="Check that no audit record was altered or removed.")
@with_appcontext
def audit_verify():
    from models import AuditHead
    from models.audit import verify

    problems = verify(db.session)
    head = db.session.get(AuditHead, 1)
    if problems:
        for problem in problems:
            click.echo(f"BROKEN: {problem}", err=True)
        sys.exit(1)
    if head is None:
        click.echo("the audit trail is empty")
    else:
        # Keep this line somewhere outside the database: it also proves the tail.
        click.echo(f"audit trail intact: {head.seq} records, head {head.hash}")


@click.group("users", help="Accounts.")
def users_cli():
    as_cli_user()


@users_cli.command("ensure-admin", help="Make sure an administrator exists: from "
                   "GRIDLINK_ADMIN_USER/GRIDLINK_ADMIN_PASSWORD, else with a one-time password.")
@with_appcontext
def users_ensure_admin():
    from sqlalchemy import select

    from models import Role, User
    from models.accounts import PasswordRejected

    username = os.environ.get("GRIDLINK_ADMIN_USER")
    password = os.environ.get("GRIDLINK_ADMIN_PASSWORD")
    if username and password:
        if db.session.scalar(select(User).where(User.username == username)):
            click.echo(f"administrator {username} exists")
            return
        user = User(username=username, display_name=username, role=Role.admin, active=True)
        try:
            user.set_password(password)
        except PasswordRejected as e:
            raise click.ClickException(f"GRIDLINK_ADMIN_PASSWORD: {e}") from e
        db.session.add(user)
        db.session.commit()
        click.echo(f"created administrator {username}")
        return
    admins = db.session.scalars(select(User).where(User.role == Role.admin,
                                                   User.active.is_(True))).all()
    if admins:
        click.echo("administrators: " + ", ".join(a.username for a in admins))
        return
    one_time = secrets.token_urlsafe(9) + "7a"
    user = User(username="admin", display_name="admin", role=Role.admin, active=True,
                must_change_password=True)
    user.set_password(one_time)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created administrator 'admin' with the one-time password {one_time} "
               "(to be changed at first sign-in)")


@users_cli.command("sign-out", help="End every session of these accounts, on every device.")
@click.argument("usernames", nargs=-1, required=True)
@with_appcontext
def users_sign_out(usernames):
    from sqlalchemy import select

    from models import User

    users = db.session.scalars(select(User).where(User.username.in_(usernames))).all()
    unknown = set(usernames) - {u.username for u in users}
    if unknown:
        raise click.ClickException("no account named " + ", ".join(sorted(unknown)))
    for user in users:
        user.end_sessions()
    db.session.commit()
    click.echo(f"signed out everywhere: {', '.join(u.username for u in users)}")


@click.group("tokens", help="API tokens of court systems.")
def tokens_cli():
    as_cli_user()


@tokens_cli.command("issue", help="Issue a token for a court; prints it once.")
@click.argument("court_name")
@click.option("--label", required=True, help="What system uses it.")
@with_appcontext
def tokens_issue(court_name, label):
    from sqlalchemy import select

    from models import ApiToken, Court

    court = db.session.scalar(select(Court).where(Court.name == court_name))
    if court is None:
        raise click.ClickException(f"no court named {court_name!r}")
    token = ApiToken(court=court, label=label)
    secret = token.new_secret()
    db.session.add(token)
    db.session.commit()
    click.echo(secret)


@tokens_cli.command("revoke", help="Revoke a token by its first characters (glk_…).")
@click.argument("prefix")
@with_appcontext
def tokens_revoke(prefix):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from models import ApiToken

    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == prefix[:12]))
    if token is None:
        raise click.ClickException(f"no token starting {prefix!r}")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.session.commit()
    click.echo(f"revoked {token.prefix}… ({token.label})")


COMMANDS = [db_cli, seed_cli, grids_cli, matters_cli, locate, audit_cli, users_cli, tokens_cli,
            maps_cli, serve, worker, report_cli, escalate, evidence_cli]


def init_app(app):
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app():
    """The app for the console script: with no DATABASE_URL, the embedded PostGIS is
    started on demand, so `gridlink seed demo` works after a reboot too."""
    from admin import create_app

    if not outside_database():
        cluster = embedded()
        if not cluster.running():
            click.echo(f"starting embedded PostGIS in {cluster.data_dir}", err=True)
            cluster.start()
        cluster.ensure_database()
    try:
        return create_app()
    except SecretKeyError as e:
        raise click.ClickException(str(e)) from e


main = FlaskGroup(name="gridlink", create_app=_create_app, add_default_commands=False,
                  add_version_option=False, load_dotenv=False, set_debug_flag=False,
                  help="gridlink: grid–court enforcement linkage back office.")
for _command in COMMANDS:
    main.add_command(_command)
